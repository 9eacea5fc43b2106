"""Read nmap's XML as untrusted evidence: safely, streaming, and tolerant of a file cut short.

Scan files are stored and may later be re-imported from elsewhere, so they go through defusedxml
only. The parser streams, so a /16 sweep does not need its whole tree in memory, and it survives
a truncated file (nmap killed mid-scan) by returning what was complete, marked incomplete.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from secaudit.errors import ScanError

__all__ = [
    "MAX_TEXT",
    "HostResult",
    "HostStream",
    "PortResult",
    "ScanResult",
    "ScriptOutput",
    "iter_hosts",
    "load_xml",
    "parse_xml",
]

#: Every string taken from the XML is cut to this many characters; banners and page titles are
#: attacker-controlled and must not be able to bloat reports or the database.
MAX_TEXT = 4096
#: Deepest NSE ``<table>`` nesting we follow; deeper content is dropped (real scripts use < 6).
MAX_NSE_DEPTH = 32

HostState = Literal["up", "down", "unknown"]
# Port states that prove something answered at the address (a TCP connect or an RST).
_ANSWERING_STATES = frozenset({"open", "closed", "unfiltered"})
# expat error codes that mean "the input stopped early" rather than "the input is wrong".
_TRUNCATION_CODES = frozenset({3, 5, 6})  # no element found, unclosed token, partial character


def _cap(value: str | None) -> str | None:
    if value is None:
        return None
    return value[:MAX_TEXT]


def _text(value: str | None) -> str:
    return (value or "")[:MAX_TEXT]


def _epoch(value: str | None) -> datetime | None:
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(slots=True)
class ScriptOutput:
    """One NSE script result: its human-readable ``output`` and its structured ``data``.

    ``data`` mirrors NSE's ``<table>``/``<elem>`` tree: a table whose children carry ``key``
    attributes becomes a ``dict``, one without keys a ``list`` (mixed tables: unkeyed items get
    keys ``"1"``, ``"2"``… like Lua array slots), an ``<elem>`` a ``str``, an empty table ``[]``.
    ``None`` when the script produced only text. All values stay strings, as NSE wrote them.
    """

    id: str
    output: str
    data: Any = None


@dataclass(slots=True)
class PortResult:
    """One scanned TCP port as nmap saw it.

    ``method`` is nmap's service detection method: ``"table"`` means the ``service`` name is only
    a guess from the port number, ``"probed"`` means ``-sV`` really talked to it.
    """

    port: int
    protocol: str
    state: str
    reason: str
    service: str | None = None
    product: str | None = None
    version: str | None = None
    extrainfo: str | None = None
    tunnel: str | None = None
    method: str | None = None
    scripts: dict[str, ScriptOutput] = field(default_factory=dict)


@dataclass(slots=True)
class HostResult:
    """One host element of the scan.

    ``state`` is our judgement, stricter than nmap's: a host nmap marked ``timedout`` is
    ``"unknown"`` (its results were discarded), and a host that is "up" only because we told
    nmap to assume so (``-Pn``, reason ``user-set``) stays ``"unknown"`` unless some port
    actually answered (open or closed). ``nmap_state`` keeps what nmap itself said.
    ``extraports`` counts ports nmap summarised instead of listing, by state.
    """

    address: str
    addrtype: str
    hostnames: list[str]
    state: HostState
    reason: str
    timed_out: bool
    ports: list[PortResult]
    nmap_state: str = ""
    extraports: dict[str, int] = field(default_factory=dict)

    @property
    def open_ports(self) -> list[PortResult]:
        """The ports in state ``open``."""
        return [p for p in self.ports if p.state == "open"]

    def port(self, number: int, protocol: str = "tcp") -> PortResult | None:
        """The result for one port, if nmap listed it individually."""
        for p in self.ports:
            if p.port == number and p.protocol == protocol:
                return p
        return None


@dataclass(slots=True)
class ScanResult:
    """A parsed nmap XML document.

    ``complete`` is true only for well-formed XML that ends with
    ``<runstats><finished exit="success">``; otherwise ``error`` says why (truncation position,
    nmap's own error message, …) and ``hosts`` holds the hosts that were fully written.
    """

    nmap_version: str | None = None
    args: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    complete: bool = False
    error: str | None = None
    hosts: list[HostResult] = field(default_factory=list)
    #: The TCP port list nmap says it scanned (``<scaninfo services=…>``), when the file has it.
    scanned_ports: str | None = None

    def host_map(self) -> dict[str, HostResult]:
        """Hosts keyed by address (a later element for the same address wins)."""
        return {host.address: host for host in self.hosts}


def _nse_value(node: Element, depth: int) -> Any:
    if node.tag == "elem":
        return _text(node.text)
    if depth >= MAX_NSE_DEPTH:
        return []
    items = [(child.get("key"), _nse_value(child, depth + 1)) for child in node if child.tag in ("elem", "table")]
    if not items:
        return []
    if all(key is None for key, _ in items):
        return [value for _, value in items]
    result: dict[str, Any] = {}
    index = 0
    for key, value in items:
        if key is None:
            index += 1
            key = str(index)
        result[_text(key)] = value
    return result


def _script(elem: Element) -> ScriptOutput:
    data = _nse_value(elem, 0) if any(c.tag in ("elem", "table") for c in elem) else None
    return ScriptOutput(id=_text(elem.get("id")), output=_text(elem.get("output")), data=data)


def _port(elem: Element) -> PortResult | None:
    portid = elem.get("portid", "")
    if not portid.isdigit() or len(portid) > 5 or int(portid) > 65535:
        return None
    state: Element | None = None
    service: Element | None = None
    scripts: dict[str, ScriptOutput] = {}
    for child in elem:  # one pass over the children instead of a path search per kind (a sweep has many)
        tag = child.tag
        if tag == "script":
            out = _script(child)
            scripts[out.id] = out
        elif tag == "state":
            if state is None:
                state = child
        elif tag == "service" and service is None:
            service = child
    svc = service.attrib if service is not None else {}
    return PortResult(
        port=int(portid),
        protocol=_text(elem.get("protocol")),
        state=_text(state.get("state")) if state is not None else "unknown",
        reason=_text(state.get("reason")) if state is not None else "",
        service=_cap(svc.get("name")),
        product=_cap(svc.get("product")),
        version=_cap(svc.get("version")),
        extrainfo=_cap(svc.get("extrainfo")),
        tunnel=_cap(svc.get("tunnel")),
        method=_cap(svc.get("method")),
        scripts=scripts,
    )


def _host(elem: Element) -> HostResult:
    status: Element | None = None
    addresses: list[Element] = []
    port_elems: list[Element] = []
    extra_elems: list[Element] = []
    name_elems: list[Element] = []
    for child in elem:  # one pass over the children instead of a path search per kind
        tag = child.tag
        if tag == "ports":
            for sub in child:
                if sub.tag == "port":
                    port_elems.append(sub)
                elif sub.tag == "extraports":
                    extra_elems.append(sub)
        elif tag == "address":
            addresses.append(child)
        elif tag == "status":
            if status is None:
                status = child
        elif tag == "hostnames":
            name_elems += [sub for sub in child if sub.tag == "hostname"]
    nmap_state = _text(status.get("state")) if status is not None else ""
    reason = _text(status.get("reason")) if status is not None else ""
    chosen = next((a for a in addresses if a.get("addrtype") in ("ipv4", "ipv6")), None)
    if chosen is None and addresses:
        chosen = addresses[0]
    ports = [p for p in (_port(e) for e in port_elems) if p is not None]
    extraports: dict[str, int] = {}
    for extra in extra_elems:
        count = extra.get("count", "")
        if count.isdigit() and len(count) <= 6:
            key = _text(extra.get("state"))
            extraports[key] = extraports.get(key, 0) + int(count)
    timed_out = elem.get("timedout") == "true"
    answered = any(p.state in _ANSWERING_STATES for p in ports) or any(extraports.get(s) for s in _ANSWERING_STATES)
    state: HostState
    if timed_out:
        state = "unknown"
    elif nmap_state == "down":
        state = "down"
    elif nmap_state == "up" and (reason != "user-set" or answered):
        state = "up"
    else:
        state = "unknown"
    return HostResult(
        address=_text(chosen.get("addr")) if chosen is not None else "",
        addrtype=_text(chosen.get("addrtype")) if chosen is not None else "",
        hostnames=[_text(h.get("name")) for h in name_elems],
        state=state,
        reason=reason,
        timed_out=timed_out,
        ports=ports,
        nmap_state=nmap_state,
        extraports=extraports,
    )


class _HeadRecorder:
    """File wrapper that remembers the first bytes read, to tell "nmap XML cut short" from junk."""

    HEAD = 1024

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(self.head) < self.HEAD:
            self.head += data[: self.HEAD - len(self.head)]
        return data

    def looks_like_nmap(self) -> bool:
        head = self.head.lstrip()
        return head.startswith((b"<?xml", b"<!DOCTYPE nmaprun", b"<nmaprun")) and b"nmaprun" in head


class HostStream(Iterator[HostResult]):
    """Iterate over the hosts of an nmap XML file without building the whole tree.

    Each ``<host>`` is converted and then dropped from memory, so a file with tens of thousands
    of hosts costs about one host's worth of elements. :attr:`result` carries the scan-level
    data (version, args, times, ``complete``, ``error``); it is final once iteration ends, and
    its ``hosts`` list stays empty (the hosts are what you iterated over).

    Truncated or malformed XML after the ``<nmaprun>`` start ends the iteration quietly with
    ``result.error`` set (so does nmap output cut off before ``<nmaprun>`` was complete: no
    hosts, ``complete=False``). Input that is not nmap XML at all, or that declares entities,
    raises :class:`ScanError` from the iteration.
    """

    def __init__(self, source: IO[bytes] | str | os.PathLike[str]) -> None:
        self.result = ScanResult()
        self._events = self._generate(source)

    def __iter__(self) -> HostStream:
        return self

    def __next__(self) -> HostResult:
        return next(self._events)

    def _generate(self, source: IO[bytes] | str | os.PathLike[str]) -> Iterator[HostResult]:
        result = self.result
        root: Element | None = None
        depth = 0
        closed = False
        exit_status: str | None = None
        nmap_error: str | None = None
        opened: IO[bytes] | None = None
        if isinstance(source, (str, os.PathLike)):
            try:
                opened = open(source, "rb")  # closed in the finally below
            except OSError as exc:
                raise ScanError(
                    f"Không đọc được tệp XML: {exc.strerror or exc}",
                    en=f"Cannot read XML file: {exc.strerror or exc}",
                ) from exc
            source = opened
        reader = _HeadRecorder(source)
        try:
            events: Iterable[tuple[str, Element]] = SafeET.iterparse(
                reader,
                events=("start", "end"),
                forbid_dtd=False,
                forbid_entities=True,
                forbid_external=True,
            )
            for event, elem in events:
                if event == "start":
                    if depth == 0:
                        if elem.tag != "nmaprun":
                            tag = _text(elem.tag)[:40]
                            raise ScanError(
                                f"Không phải tệp XML của nmap (phần tử gốc {tag!r})",
                                en=f"Not an nmap XML file (root element {tag!r})",
                            )
                        root = elem
                        result.nmap_version = _cap(elem.get("version"))
                        result.args = _cap(elem.get("args"))
                        result.started = _epoch(elem.get("start"))
                    depth += 1
                    continue
                depth -= 1
                if depth == 1 and root is not None:
                    if elem.tag == "host":
                        host = _host(elem)
                        root.clear()
                        yield host
                        continue
                    if elem.tag == "scaninfo" and elem.get("protocol") == "tcp":
                        result.scanned_ports = _cap(elem.get("services"))
                    if elem.tag == "runstats":
                        finished = elem.find("finished")
                        if finished is not None:
                            result.finished = _epoch(finished.get("time"))
                            nmap_error = _cap(finished.get("errormsg"))
                            # Older nmap writes <finished> without exit=: finished, unless it says why not.
                            exit_status = finished.get("exit") or ("error" if nmap_error else "success")
                    root.clear()
                elif depth == 0:
                    closed = True
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            truncated = getattr(exc, "code", None) in _TRUNCATION_CODES
            if root is None and not (truncated and reader.looks_like_nmap()):
                raise ScanError(
                    f"Không đọc được XML của nmap: {exc}",
                    en=f"Cannot read nmap XML: {exc}",
                ) from exc
            kind = "truncated" if truncated else "malformed"
            result.error = f"{kind} XML at line {line}, column {column}"
        except DefusedXmlException as exc:
            raise ScanError(
                "XML của nmap chứa khai báo thực thể (entity) hoặc tham chiếu ngoài — từ chối đọc",
                en="nmap XML declares entities or external references — refused",
            ) from exc
        except OSError as exc:
            raise ScanError(f"Không đọc được tệp XML: {exc}", en=f"Cannot read XML file: {exc}") from exc
        finally:
            if opened is not None:
                opened.close()
        if root is None and result.error is None:
            raise ScanError("Không có dữ liệu XML của nmap", en="No nmap XML data")
        if result.error is None:
            if not closed:
                result.error = "XML ends before </nmaprun>"
            elif exit_status is None:
                result.error = "nmap did not record a finished status (scan incomplete)"
            elif exit_status != "success":
                status = _text(exit_status)[:40]
                result.error = f"nmap reported exit={status}: {nmap_error or 'no message'}"
        result.complete = result.error is None


def iter_hosts(source: IO[bytes] | str | os.PathLike[str]) -> HostStream:
    """Stream the hosts of an nmap XML file object or path; see :class:`HostStream`."""
    return HostStream(source)


def parse_xml(data: bytes) -> ScanResult:
    """Parse nmap XML held in memory into a :class:`ScanResult` (hosts included).

    A truncated document returns what was complete with ``complete=False``; input that is not
    nmap XML, or that tries entity tricks, raises :class:`ScanError`.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ScanError("Dữ liệu XML phải là bytes", en="XML data must be bytes")
    if not bytes(data).strip():
        raise ScanError("nmap không xuất ra dữ liệu XML nào", en="nmap produced no XML output")
    stream = HostStream(io.BytesIO(bytes(data)))
    hosts = list(stream)
    stream.result.hosts = hosts
    return stream.result


def load_xml(path: str | Path) -> ScanResult:
    """Parse an nmap XML file from disk (streamed; hosts collected into the result)."""
    stream = HostStream(os.fspath(path))
    hosts = list(stream)
    stream.result.hosts = hosts
    return stream.result
