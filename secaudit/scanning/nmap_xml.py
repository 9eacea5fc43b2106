"""Read nmap's XML as untrusted evidence: safely, streaming, and tolerant of a file cut short.

Scan files are stored and may later be re-imported from elsewhere, so they go through defusedxml
only. The parser streams, so a /16 sweep does not need its whole tree in memory, and it survives
a truncated file (nmap killed mid-scan) by returning what was complete, marked incomplete.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from secaudit.errors import ScanError, os_reason
from secaudit.scanning.nmap_model import (
    ANSWERING_STATES,
    MAX_NSE_DEPTH,
    MAX_TEXT,
    HostResult,
    HostState,
    PortResult,
    ScanResult,
    ScriptOutput,
)
from secaudit.scanning.nmap_model import cap as _cap
from secaudit.scanning.nmap_model import epoch as _epoch
from secaudit.scanning.nmap_model import text as _text

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

# expat error codes that mean "the input stopped early" rather than "the input is wrong".
_TRUNCATION_CODES = frozenset({3, 5, 6})  # no element found, unclosed token, partial character

# What an element is, given what its parent is: the reader follows only the paths it uses.
_SKIP, _ROOT, _HOST, _HOSTNAMES, _PORTS, _PORT, _NSE, _RUNSTATS, _ELEM = range(9)


class _Nse:
    """An open ``<script>``, ``<table>`` or ``<elem>`` while its children arrive."""

    __slots__ = ("depth", "is_elem", "items", "key", "text")

    def __init__(self, key: str | None, depth: int, is_elem: bool) -> None:
        self.key = key
        self.depth = depth
        self.items: list[tuple[str | None, Any]] = []
        self.text: list[str] = []
        self.is_elem = is_elem

    def value(self) -> Any:
        if self.is_elem:
            return "".join(self.text)[:MAX_TEXT]
        if not self.items:
            return []
        if all(key is None for key, _ in self.items):
            return [value for _, value in self.items]
        result: dict[str, Any] = {}
        index = 0
        for key, value in self.items:
            if key is None:
                index += 1
                key = str(index)
            result[key[:MAX_TEXT]] = value
        return result


class _Reader:
    """expat callbacks that build hosts straight from the events, one host at a time.

    No element tree is built: each callback looks only at where it is (the kind of its parent)
    and keeps what :class:`HostResult` needs. Hosts are handed over in :attr:`done` as they close.
    The parser comes from defusedxml with its guards in place (entity declarations and external
    references raise); only the element and text callbacks are ours.
    """

    def __init__(self, result: ScanResult) -> None:
        self.result = result
        self.parser = SafeET.DefusedXMLParser(forbid_dtd=False, forbid_entities=True, forbid_external=True).parser
        self.parser.DefaultHandlerExpand = None  # only ElementTree's doctype bookkeeping used it
        self.parser.ordered_attributes = False
        self.parser.buffer_text = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = None
        self.kinds: list[int] = []
        self.done: list[HostResult] = []
        self.root_seen = False
        self.closed = False
        self.exit_status: str | None = None
        self.nmap_error: str | None = None
        self._finished: dict[str, str] | None = None
        self._host_attrs: dict[str, str] = {}
        self._status: dict[str, str] | None = None
        self._addresses: list[dict[str, str]] = []
        self._names: list[str] = []
        self._ports: list[PortResult] = []
        self._extra: list[dict[str, str]] = []
        self._port_attrs: dict[str, str] | None = None
        self._state: dict[str, str] | None = None
        self._service: dict[str, str] | None = None
        self._scripts: dict[str, ScriptOutput] = {}
        self._script_attrs: dict[str, str] = {}
        self._nse: list[_Nse] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        kinds = self.kinds
        if not kinds:
            if tag != "nmaprun":
                name = _text(tag)[:40]
                raise ScanError(f"Không phải tệp XML của nmap (phần tử gốc {name!r})",
                                en=f"Not an nmap XML file (root element {name!r})")
            self.root_seen = True
            self.result.nmap_version = _cap(attrs.get("version"))
            self.result.args = _cap(attrs.get("args"))
            self.result.started = _epoch(attrs.get("start"))
            kinds.append(_ROOT)
            return
        parent = kinds[-1]
        kind = _SKIP
        if parent == _NSE:
            if self.parser.CharacterDataHandler is not None:
                self.parser.CharacterDataHandler = None  # an <elem>'s text is what comes before its first child
            if tag == "table" or tag == "elem":
                frame = self._nse[-1]
                if not frame.is_elem:
                    depth = frame.depth + 1
                    child = _Nse(attrs.get("key"), depth, tag == "elem")
                    self._nse.append(child)
                    if tag == "elem":
                        self.parser.CharacterDataHandler = child.text.append
                    kind = _NSE if depth < MAX_NSE_DEPTH or tag == "elem" else _ELEM
        elif parent == _PORT:
            if tag == "script":
                self._script_attrs = attrs
                self._nse = [_Nse(None, 0, False)]
                kind = _NSE
            elif tag == "state":
                if self._state is None:
                    self._state = attrs
            elif tag == "service" and self._service is None:
                self._service = attrs
        elif parent == _PORTS:
            if tag == "port":
                self._port_attrs = attrs
                self._state = self._service = None
                self._scripts = {}
                kind = _PORT
            elif tag == "extraports":
                self._extra.append(attrs)
        elif parent == _HOST:
            if tag == "ports":
                kind = _PORTS
            elif tag == "address":
                self._addresses.append(attrs)
            elif tag == "status":
                if self._status is None:
                    self._status = attrs
            elif tag == "hostnames":
                kind = _HOSTNAMES
        elif parent == _HOSTNAMES:
            if tag == "hostname":
                self._names.append(_text(attrs.get("name")))
        elif parent == _ROOT:
            if tag == "host":
                self._host_attrs = attrs
                self._status = None
                self._addresses, self._names, self._ports, self._extra = [], [], [], []
                kind = _HOST
            elif tag == "scaninfo":
                if attrs.get("protocol") == "tcp":
                    self.result.scanned_ports = _cap(attrs.get("services"))
            elif tag == "runstats":
                self._finished = None
                kind = _RUNSTATS
        elif parent == _RUNSTATS:
            if tag == "finished" and self._finished is None:
                self._finished = attrs
        kinds.append(kind)

    def end(self, tag: str) -> None:
        kind = self.kinds.pop()
        if kind == _SKIP:
            return
        if kind == _NSE or kind == _ELEM:
            self.parser.CharacterDataHandler = None
            frame = self._nse.pop()
            if frame.depth == 0:  # the <script> itself
                attrs = self._script_attrs
                data = frame.value() if frame.items else None
                out = ScriptOutput(id=_text(attrs.get("id")), output=_text(attrs.get("output")), data=data)
                self._scripts[out.id] = out
            else:
                self._nse[-1].items.append((frame.key, [] if kind == _ELEM else frame.value()))
        elif kind == _PORT:
            port = self._port()
            if port is not None:
                self._ports.append(port)
        elif kind == _HOST:
            self.done.append(self._host())
        elif kind == _RUNSTATS:
            finished = self._finished
            if finished is not None:
                self.result.finished = _epoch(finished.get("time"))
                self.nmap_error = _cap(finished.get("errormsg"))
                # Older nmap writes <finished> without exit=: finished, unless it says why not.
                self.exit_status = finished.get("exit") or ("error" if self.nmap_error else "success")
        elif kind == _ROOT:
            self.closed = True

    def _port(self) -> PortResult | None:
        attrs = self._port_attrs or {}
        portid = attrs.get("portid", "")
        if not portid.isdigit() or len(portid) > 5 or int(portid) > 65535:
            return None
        state = self._state
        svc = self._service or {}
        return PortResult(
            port=int(portid),
            protocol=_text(attrs.get("protocol")),
            state=_text(state.get("state")) if state is not None else "unknown",
            reason=_text(state.get("reason")) if state is not None else "",
            service=_cap(svc.get("name")),
            product=_cap(svc.get("product")),
            version=_cap(svc.get("version")),
            extrainfo=_cap(svc.get("extrainfo")),
            tunnel=_cap(svc.get("tunnel")),
            method=_cap(svc.get("method")),
            scripts=self._scripts,
        )

    def _host(self) -> HostResult:
        status = self._status
        nmap_state = _text(status.get("state")) if status is not None else ""
        reason = _text(status.get("reason")) if status is not None else ""
        addresses = self._addresses
        chosen = next((a for a in addresses if a.get("addrtype") in ("ipv4", "ipv6")), None)
        if chosen is None and addresses:
            chosen = addresses[0]
        ports = self._ports
        extraports: dict[str, int] = {}
        for extra in self._extra:
            count = extra.get("count", "")
            if count.isdigit() and len(count) <= 6:
                key = _text(extra.get("state"))
                extraports[key] = extraports.get(key, 0) + int(count)
        timed_out = self._host_attrs.get("timedout") == "true"
        answered = (any(p.state in ANSWERING_STATES for p in ports)
                    or any(extraports.get(s) for s in ANSWERING_STATES))
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
            hostnames=self._names,
            state=state,
            reason=reason,
            timed_out=timed_out,
            ports=ports,
            nmap_state=nmap_state,
            extraports=extraports,
        )


def _looks_like_nmap(head: bytes) -> bool:
    head = head.lstrip()
    return head.startswith((b"<?xml", b"<!DOCTYPE nmaprun", b"<nmaprun")) and b"nmaprun" in head


#: Bytes handed to expat at a time.
_CHUNK = 64 * 1024
_HEAD = 1024


class HostStream(Iterator[HostResult]):
    """Iterate over the hosts of an nmap XML file without building the whole tree.

    Each ``<host>`` is converted as it closes and nothing of it is kept, so a file with tens of
    thousands of hosts costs about one host's worth of memory. :attr:`result` carries the
    scan-level data (version, args, times, ``complete``, ``error``); it is final once iteration
    ends, and its ``hosts`` list stays empty (the hosts are what you iterated over).

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
        opened: IO[bytes] | None = None
        if isinstance(source, (str, os.PathLike)):
            try:
                opened = open(source, "rb")  # closed in the finally below
            except OSError as exc:
                raise ScanError(
                    f"Không đọc được tệp XML: {os_reason(exc)}",
                    en=f"Cannot read XML file: {exc.strerror or exc}",
                ) from exc
            source = opened
        reader = _Reader(result)
        head = b""
        try:
            while True:
                data = source.read(_CHUNK)
                if isinstance(data, str):
                    data = data.encode("utf-8")
                if len(head) < _HEAD:
                    head += data[: _HEAD - len(head)]
                try:
                    reader.parser.Parse(data, not data)
                finally:
                    if reader.done:  # hosts closed before a parse error still count
                        hosts, reader.done = reader.done, []
                        yield from hosts
                if not data:
                    break
        except ExpatError as exc:
            truncated = exc.code in _TRUNCATION_CODES
            if not reader.root_seen and not (truncated and _looks_like_nmap(head)):
                raise ScanError(
                    f"Không đọc được XML của nmap: {exc}",
                    en=f"Cannot read nmap XML: {exc}",
                ) from exc
            kind = "truncated" if truncated else "malformed"
            result.error = f"{kind} XML at line {exc.lineno}, column {exc.offset}"
        except LookupError as exc:  # an encoding expat does not know, named by the XML declaration
            raise ScanError(f"Không đọc được XML của nmap: {exc}", en=f"Cannot read nmap XML: {exc}") from exc
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
        if not reader.root_seen and result.error is None:
            raise ScanError("Không có dữ liệu XML của nmap", en="No nmap XML data")
        if result.error is None:
            if not reader.closed:
                result.error = "XML ends before </nmaprun>"
            elif reader.exit_status is None:
                result.error = "nmap did not record a finished status (scan incomplete)"
            elif reader.exit_status != "success":
                status = _text(reader.exit_status)[:40]
                result.error = f"nmap reported exit={status}: {reader.nmap_error or 'no message'}"
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
