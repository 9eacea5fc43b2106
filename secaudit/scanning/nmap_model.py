"""What nmap observed, as the XML reader hands it over: scan, hosts, ports, script output.

Every string is capped (:data:`MAX_TEXT`): banners and page titles are attacker-controlled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = [
    "ANSWERING_STATES", "MAX_NSE_DEPTH", "MAX_TEXT", "HostResult", "HostState", "PortResult", "ScanResult",
    "ScriptOutput", "cap", "epoch", "text",
]

#: Every string taken from the XML is cut to this many characters (reports and the database stay bounded).
MAX_TEXT = 4096
#: Deepest NSE ``<table>`` nesting we follow; deeper content is dropped (real scripts use < 6).
MAX_NSE_DEPTH = 32

HostState = Literal["up", "down", "unknown"]
# Port states that prove something answered at the address (a TCP connect or an RST).
ANSWERING_STATES = frozenset({"open", "closed", "unfiltered"})


def cap(value: str | None) -> str | None:
    if value is None:
        return None
    return value[:MAX_TEXT]


def text(value: str | None) -> str:
    return (value or "")[:MAX_TEXT]


def epoch(value: str | None) -> datetime | None:
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
