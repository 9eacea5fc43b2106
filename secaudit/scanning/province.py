"""Scanning many agencies in one planned pass (``secaudit scan --all`` / ``--agency A --agency B``).

Every agency is planned as its own ``scan AGENCY`` would be (see :func:`plan_province`); agencies
whose command lines differ only in their targets share one nmap process. Each agency still gets
its own scan rows, recorded from its own part of the process's XML: the header nmap wrote, the
``<host>`` elements of the hosts that agency declared (byte for byte) and nmap's closing
statistics. The whole XML is kept too and named in the audit log, so the slice can be checked
against what nmap wrote. The findings per agency are therefore those of separate runs.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.errors import InputError, InvalidTargetError
from secaudit.inventory.targets import check_width
from secaudit.scanning.batch import (
    MAX_JOBS,
    PROGRESS_EVERY,
    Runner,
    ScanBatch,
    insert_running,
    record_group,
    run_stamp,
    stop_on_signals,
)
from secaudit.scanning.nmap_run import NmapRun, nmap_version, run_nmap
from secaudit.scanning.plan import DeclaredHost, Pass, declared_hosts, plan_province, with_servicedb
from secaudit.scanning.profiles import load_rule_set, load_scan_profile
from secaudit.scanning.record import ScanOutcome
from secaudit.scanning.rules import ScanRule
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

__all__ = ["AgencyProgress", "ProvinceScan", "host_spans", "scan_province", "split_xml"]

_HOST_START = re.compile(rb"<host[\s>]")
_HOST_END = b"</host>"
_ADDRESS = re.compile(rb'<address addr="([^"]{1,100})" addrtype="ipv[46]"')
_USER_NAME = re.compile(rb'<hostname name="([^"]{1,300})" type="user"')


@dataclass
class AgencyProgress:
    """One agency's progress in a province pass: hosts seen in nmap's output so far, and whether all are."""

    agency: str
    hosts_done: int
    hosts_total: int
    agencies_done: int
    agencies_total: int
    elapsed: float
    finished: bool = False


@dataclass
class ProvinceScan:
    """What one province pass produced: each agency's scan rows, in the order asked."""

    batch: str
    agencies: dict[str, ScanBatch]
    processes: int
    skipped: list[str] = field(default_factory=list)  # agencies with no declared host (``--all`` only)
    interrupted: bool = False
    xml: dict[int, str] = field(default_factory=dict)  # process number -> sha256 of its whole XML

    @property
    def status(self) -> str:
        statuses = {b.status for b in self.agencies.values()}
        return "complete" if statuses == {"complete"} else next(
            (s for s in ("interrupted", "timed-out", "failed", "incomplete") if s in statuses), "incomplete")


def host_spans(xml: bytes, start: int = 0) -> tuple[list[tuple[int, int]], int]:
    """The byte ranges of the complete ``<host>`` elements of nmap XML from ``start``, and where reading stopped.

    ``<hostnames>`` and ``<hosthint>`` do not count; a host element nmap had not finished writing
    is left out (its start is returned as the place to read on from).
    """
    spans: list[tuple[int, int]] = []
    at = start
    while True:
        match = _HOST_START.search(xml, at)
        if match is None:
            return spans, max(at, len(xml) - 8)
        end = xml.find(_HOST_END, match.start())
        if end < 0:
            return spans, match.start()
        spans.append((match.start(), end + len(_HOST_END)))
        at = end + len(_HOST_END)


class _Owners:
    """Which declared hosts a ``<host>`` element reports on, matched the way the recorder matches them."""

    def __init__(self, keyed: list[tuple[Any, DeclaredHost]]) -> None:
        self.by_value: dict[str, list[Any]] = {}
        self.networks: list[tuple[Any, Any]] = []
        for key, host in keyed:
            if host.target.kind == "cidr":
                self.networks.append((ipaddress.ip_network(host.target.value), key))
            else:
                self.by_value.setdefault(host.target.value, []).append(key)

    def of(self, element: bytes) -> list[Any]:
        found: list[Any] = []
        addresses = [m.decode("utf-8", "replace") for m in _ADDRESS.findall(element)]
        names = [m.decode("utf-8", "replace").lower().rstrip(".") for m in _USER_NAME.findall(element)]
        for value in [*addresses, *names]:
            found += [k for k in self.by_value.get(value, []) if k not in found]
        for address in addresses if self.networks else []:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                continue
            found += [k for net, k in self.networks if ip.version == net.version and ip in net and k not in found]
        return found


def split_xml(xml: bytes, owners: Callable[[bytes], list[Any]]) -> dict[Any, bytes]:
    """Cut nmap XML into one document per owner: the header, that owner's ``<host>`` elements, the trailer.

    Header (everything before the first host) and trailer (everything after the last complete
    host: post-scan output, ``<runstats>``) are nmap's own bytes, so a slice of a finished run is a
    finished document and a slice of an interrupted run is as incomplete as the whole. Output with
    no complete host is given whole to every owner asked about.
    """
    spans, _ = host_spans(xml)
    if not spans:
        return {}
    head, tail = xml[:spans[0][0]], xml[spans[-1][1]:]
    parts: dict[Any, list[bytes]] = {}
    for start, end in spans:
        element = xml[start:end]
        for key in owners(element):
            parts.setdefault(key, []).append(element)
    return {key: head + b"\n".join(elements) + tail for key, elements in parts.items()}


def _agencies(ws: Workspace, agencies: list[str] | None) -> tuple[dict[str, list[DeclaredHost]], list[str]]:
    if agencies:
        chosen = list(dict.fromkeys(agencies))
        for code in chosen:
            ws.require_agency(code)
    else:
        chosen = [r[0] for r in ws.db.execute("select code from agencies order by position, code")]
    hosts: dict[str, list[DeclaredHost]] = {}
    skipped: list[str] = []
    for code in chosen:
        found = declared_hosts(ws, code)
        if found:
            hosts[code] = found
        elif agencies:
            raise InputError(f"Cơ quan '{code}' chưa khai báo máy chủ nào để quét",
                             en=f"agency '{code}' has no declared hosts to scan")
        else:
            skipped.append(code)
    if not hosts:
        raise InputError("Không cơ quan nào khai báo máy chủ để quét", en="no agency has declared hosts to scan")
    return hosts, skipped


def scan_province(
    ws: Workspace, agencies: list[str] | None = None, *, profile_id: str = "nhanh", actor: str,
    runner: Runner | None = None, allow_large: bool = False, jobs: int = 1, syn: bool = False,
    progress: Callable[[AgencyProgress], None] | None = None, stats: bool = False,
    nmap_binary: str | list[str] = "nmap", command: dict[str, Any] | None = None,
) -> ProvinceScan:
    """Scan the declared hosts of ``agencies`` (every agency when None) in one planned pass.

    The checks are those of ``scan AGENCY``, all made before nmap is located or a row is written:
    the profile, every declared target, range widths (``allow_large``). At most ``jobs`` nmap
    processes run at once. ``progress`` hears of each agency as nmap reports its hosts;
    ``stats`` adds nmap's periodic statistics (for a terminal display). Ctrl-C, SIGTERM or SIGHUP
    end the processes; whatever they wrote is recorded (those scans ``interrupted``).
    """
    if not 1 <= jobs <= MAX_JOBS:
        raise InputError(f"--jobs phải từ 1 đến {MAX_JOBS}", en=f"--jobs must be between 1 and {MAX_JOBS}")
    profile = load_scan_profile(profile_id)
    settings = profile.scan
    hosts_by_agency, skipped = _agencies(ws, agencies)
    for agency, hosts in hosts_by_agency.items():
        for host in hosts:
            try:
                check_width(host.target, settings.max_prefix_v4, settings.max_prefix_v6, allow_large=allow_large)
            except InvalidTargetError as exc:
                raise InvalidTargetError(exc.message + " — dùng --allow-large nếu thật sự cần",
                                         en=(exc.en or "") + " — use --allow-large if this is intended",
                                         where=f"{agency}/{host.system}: {host.address}") from None
    rule_set = load_rule_set(full_check=False)
    passes = plan_province(hosts_by_agency, profile, rule_set, syn=syn, progress=stats, nmap_binary=nmap_binary)
    version = nmap_version(nmap_binary)
    datadir = Path(tempfile.mkdtemp(prefix="secaudit-nmap-")) if any(p.group.names for p in passes) else None
    try:
        for one in passes:
            # Each agency's own targets, before the pass's command line is shared out: an agency's scan
            # rows (and so its bundle) name only its own hosts, never the other agencies' in the process.
            own_targets = [_targets(unit.group.argv) for unit in one.units]
            if one.group.names and datadir is not None:
                one.group.argv = with_servicedb(ws, datadir, one.group.argv, one.group.coverage.ports or frozenset(),
                                                one.group.names)
            for unit, targets in zip(one.units, own_targets, strict=True):
                unit.group.argv = _options(one.group.argv) + targets
        batch, started, fresh_until, owned_by = run_stamp(settings.freshness_days)
        stop = threading.Event()
        with stop_on_signals(stop):
            with ws.transaction() as db:
                for one in passes:
                    for unit in one.units:
                        insert_running(db, unit.group, agency=unit.agency, profile=profile.id, started=started,
                                       version=version, actor=actor, batch=batch, command=command,
                                       fresh_until=fresh_until, owned_by=owned_by)
                for agency in hosts_by_agency:
                    auditlog.append(ws, actor=actor, action="scan.start", agency=agency, subject=f"batch-{batch}",
                                    detail={"scans": [u.group.scan_id for p in passes for u in p.units
                                                      if u.agency == agency],
                                            "profile": profile.id, "province": True})
            outcomes, interrupted, shas = _execute(
                ws, passes, rule_set.rules, hosts_by_agency, actor=actor, runner=runner, jobs=jobs,
                timeout=settings.timeout_seconds, progress=progress, stop=stop)
    finally:
        if datadir is not None:
            shutil.rmtree(datadir, ignore_errors=True)
    out: dict[str, ScanBatch] = {}
    for one in passes:
        for unit in one.units:
            out.setdefault(unit.agency, ScanBatch(batch, [], interrupted)).scans.append(outcomes[unit.group.scan_id])
    ordered = {a: out[a] for a in hosts_by_agency}
    return ProvinceScan(batch, ordered, len(passes), skipped, interrupted, shas)


class _Tally:
    """Per-agency count of declared hosts seen in the processes' output, fed by the reader threads."""

    def __init__(self, passes: list[Pass], hosts_by_agency: dict[str, list[DeclaredHost]],
                 progress: Callable[[AgencyProgress], None] | None) -> None:
        self.lock = threading.Lock()
        self.progress = progress
        self.started = time.monotonic()
        self.total = {a: len(h) for a, h in hosts_by_agency.items()}
        self.seen: dict[str, set[int]] = {a: set() for a in hosts_by_agency}
        self.finished: list[str] = []
        self.owners = [_Owners([((u.agency, id(h)), h) for u in p.units for h in u.group.hosts]) for p in passes]

    def _report(self, agency: str, ended: bool = False) -> None:
        done = len(self.seen[agency])
        finished = (ended or done >= self.total[agency]) and agency not in self.finished
        if finished:
            self.finished.append(agency)
        if self.progress is not None:
            self.progress(AgencyProgress(agency, min(done, self.total[agency]), self.total[agency],
                                         len(self.finished), len(self.total), time.monotonic() - self.started,
                                         finished))

    def watch(self, number: int) -> Callable[[bytes], None]:
        buffer = bytearray()
        at = 0

        def on_output(chunk: bytes) -> None:
            nonlocal buffer, at
            buffer += chunk
            spans, at = host_spans(bytes(buffer), at)
            touched: list[str] = []
            with self.lock:
                for start, end in spans:
                    for agency, key in self.owners[number].of(bytes(buffer[start:end])):
                        self.seen[agency].add(key)
                        if agency not in touched:
                            touched.append(agency)
                for agency in touched:
                    self._report(agency)
            if at > (1 << 20):
                del buffer[:at]
                at = 0

        return on_output

    def close(self, agencies: list[str]) -> None:
        """The processes of these agencies are recorded: each is done, with what nmap reported of it."""
        with self.lock:
            for agency in agencies:
                if agency not in self.finished:
                    self._report(agency, ended=True)


def _execute(
    ws: Workspace, passes: list[Pass], rules: list[ScanRule], hosts_by_agency: dict[str, list[DeclaredHost]], *,
    actor: str, runner: Runner | None, jobs: int, timeout: float, progress: Callable[[AgencyProgress], None] | None,
    stop: threading.Event,
) -> tuple[dict[int, ScanOutcome], bool, dict[int, str]]:
    """Run the processes, at most ``jobs`` at once; record each agency's share as soon as its process ends."""
    tally = _Tally(passes, hosts_by_agency, progress)
    pending_units = {a: sum(1 for p in passes for u in p.units if u.agency == a) for a in hosts_by_agency}

    def run_one(number: int) -> NmapRun | None:
        if stop.is_set():
            return None
        argv = passes[number].group.argv
        if runner is not None:
            return runner(argv)
        return run_nmap(argv, timeout=timeout, on_output=tally.watch(number) if progress else None, stop=stop)

    outcomes: dict[int, ScanOutcome] = {}
    shas: dict[int, str] = {}
    interrupted = False
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nmap") as pool:
        pending: dict[Future[NmapRun | None], int] = {pool.submit(run_one, i): i for i in range(len(passes))}
        results: list[tuple[int, NmapRun | None, BaseException | None]] = []
        while pending or results:
            try:
                if pending:
                    done, _ = wait(list(pending), timeout=PROGRESS_EVERY, return_when=FIRST_COMPLETED)
                    for future in done:
                        number = pending.pop(future)
                        error = future.exception()
                        results.append((number, None if error else future.result(), error))
                interrupted = interrupted or stop.is_set()
                while results:
                    number, run, error = results[0]
                    shas.update(_record_pass(ws, number, passes[number], run, error, rules, actor=actor,
                                             stopped=interrupted, outcomes=outcomes))
                    results.pop(0)
                    ended = []
                    for unit in passes[number].units:
                        pending_units[unit.agency] -= 1
                        if pending_units[unit.agency] == 0:
                            ended.append(unit.agency)
                    tally.close(ended)
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
    return outcomes, interrupted, shas


def _record_pass(
    ws: Workspace, number: int, one: Pass, run: NmapRun | None, error: BaseException | None, rules: list[ScanRule],
    *, actor: str, stopped: bool, outcomes: dict[int, ScanOutcome],
) -> dict[int, str]:
    """Record each unit of a finished process from its own slice of the XML (the whole XML is kept too)."""
    if run is None or len(one.units) == 1:
        for unit in one.units:
            outcomes[unit.group.scan_id] = record_group(ws, unit.agency, unit.group, run, error, rules,
                                                         actor=actor, stopped=stopped)
        return {}
    sha = ws.store_blob(run.xml, media_type="application/xml") if run.xml else None
    owners = _Owners([(index, h) for index, u in enumerate(one.units) for h in u.group.hosts])
    slices = split_xml(run.xml, owners.of)
    for index, unit in enumerate(one.units):
        xml = _own_args(slices[index] if index in slices else _empty_slice(run.xml), unit.group.argv)
        part = NmapRun(argv=unit.group.argv, xml=xml, stderr=run.stderr, returncode=run.returncode, started=run.started,
                       finished=run.finished, interrupted=run.interrupted, timed_out=run.timed_out)
        outcomes[unit.group.scan_id] = record_group(ws, unit.agency, unit.group, part, None, rules, actor=actor,
                                                     stopped=stopped)
    auditlog.append(ws, actor=actor, action="scan.province", subject=f"process-{number + 1}",
                    detail={"xml_sha256": sha, "argv": run.argv,
                            "scans": {u.agency: u.group.scan_id for u in one.units},
                            "returncode": run.returncode, "interrupted": run.interrupted})
    return {number + 1: sha} if sha else {}


def _options(argv: list[str]) -> list[str]:
    """The command line up to and including ``--`` (targets always follow it: ``nmap_argv``)."""
    return argv[:argv.index("--") + 1]


def _targets(argv: list[str]) -> list[str]:
    return argv[argv.index("--") + 1:]


_ARGS = re.compile(rb'(<nmaprun\b[^>]*?\sargs=")([^"]*)(")')


def _own_args(xml: bytes, argv: list[str]) -> bytes:
    """The slice's ``<nmaprun args=…>`` naming this agency's targets only, like its hosts: the process ran
    over every agency of the pass, and its full command line and XML are kept apart (audit log
    ``scan.province``)."""
    from xml.sax.saxutils import escape

    shown = escape(" ".join(argv), {'"': "&quot;"}).encode("utf-8")
    return _ARGS.sub(lambda m: m[1] + shown + m[3], xml, count=1)


def _empty_slice(xml: bytes) -> bytes:
    """The header and trailer alone: a unit none of whose hosts nmap reported (each is then *unknown*)."""
    spans, _ = host_spans(xml)
    return xml[:spans[0][0]] + xml[spans[-1][1]:] if spans else xml
