"""Running one ``secaudit scan`` command: a batch of nmap processes over an agency's declared hosts.

Everything that can be refused is refused before nmap is located or any row is written. Every
process is its own scan row with its own XML; the rows of one command share a ``batch``. Ctrl-C,
SIGTERM and SIGHUP end the running processes, keep what they wrote and mark those scans
``interrupted``; each row names its owning process so a scan killed outright is recognised later.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secaudit import clock
from secaudit.errors import InputError, InvalidTargetError
from secaudit.inventory.targets import check_width
from secaudit.scanning.nmap_run import NmapRun, nmap_version, run_nmap
from secaudit.scanning.owners import PENDING, owner
from secaudit.scanning.plan import DeclaredHost, Group, declared_hosts, plan_groups, with_servicedb
from secaudit.scanning.profiles import load_rule_set, load_scan_profile
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, now

if TYPE_CHECKING:  # recording (and the XML reader under it) is imported while nmap runs: see _execute
    from secaudit.scanning.record import ScanOutcome
    from secaudit.scanning.rules import ScanRule
    from secaudit.scanning.scope import Scope

__all__ = ["MAX_JOBS", "NOT_RUN", "Runner", "ScanBatch", "ScanProgress", "scan_agency"]

NOT_RUN = "chưa quét: lần quét bị ngắt trước khi tới nhóm này / not scanned: interrupted before this group ran"
MAX_JOBS = 8
#: How often the progress display is refreshed while nmap is silent.
PROGRESS_EVERY = 0.5


@dataclass
class ScanProgress:
    """A progress snapshot for a display: hosts done / total, processes done / total, elapsed time."""

    agency: str
    hosts_done: int
    hosts_total: int
    groups_done: int
    groups_total: int
    elapsed: float
    percent: float | None = None
    task: str | None = None


@dataclass
class ScanBatch:
    """The scan rows one ``secaudit scan`` command produced."""

    batch: str
    scans: list[ScanOutcome]
    interrupted: bool = False

    @property
    def scan_id(self) -> int:
        """The first scan's id (the only one when the agency was scanned in one process)."""
        return self.scans[0].scan_id

    @property
    def status(self) -> str:
        statuses = {s.status for s in self.scans}
        return "complete" if statuses == {"complete"} else next(
            (s for s in ("interrupted", "timed-out", "failed", "incomplete") if s in statuses), "incomplete")

    @property
    def hosts(self) -> dict[str, str]:
        return {a: st for s in self.scans for a, st in s.hosts.items()}

    @property
    def open_ports(self) -> int:
        return sum(s.open_ports for s in self.scans)

    @property
    def findings(self) -> int:
        return sum(s.findings for s in self.scans)

    @property
    def error(self) -> str | None:
        return "; ".join(s.error for s in self.scans if s.error) or None


Runner = Callable[[list[str]], NmapRun]
#: Signals that end a scan the way Ctrl-C does (a service manager, a closed terminal).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_HOST_END = b"</host>"
_TASK_RE = re.compile(rb'<taskprogress task="([^"]{1,80})" time="\d+" percent="([0-9.]{1,6})"')


def scan_agency(
    ws: Workspace, agency: str, *, system: str | None = None, profile_id: str = "nhanh", actor: str,
    runner: Runner | None = None, scope_file: Path | None = None, allow_large: bool = False, jobs: int = 1,
    syn: bool = False, progress: Callable[[ScanProgress], None] | None = None,
    nmap_binary: str | list[str] = "nmap", command: dict[str, Any] | None = None, today: dt.date | None = None,
) -> ScanBatch:
    """Scan the declared hosts of ``agency`` (or one system) and record everything as evidence.

    Everything that can be refused is refused before nmap is located or any row is written:
    the profile's options, every target, range widths, the scope file. Ctrl-C (SIGINT), SIGTERM or
    SIGHUP ends the running nmap processes, keeps what they wrote and marks those scans
    ``interrupted``.
    """
    if not 1 <= jobs <= MAX_JOBS:
        raise InputError(f"--jobs phải từ 1 đến {MAX_JOBS}", en=f"--jobs must be between 1 and {MAX_JOBS}")
    today = today or clock.today()
    profile = load_scan_profile(profile_id)
    hosts = declared_hosts(ws, agency, system)
    settings = profile.scan
    for host in hosts:
        try:
            check_width(host.target, settings.max_prefix_v4, settings.max_prefix_v6, allow_large=allow_large)
        except InvalidTargetError as exc:
            raise InvalidTargetError(exc.message + " — dùng --allow-large nếu thật sự cần",
                                     en=(exc.en or "") + " — use --allow-large if this is intended",
                                     where=f"{agency}/{host.system}: {host.address}") from None
    scope: Scope | None = None
    if scope_file is not None:
        from secaudit.scanning.scope import load_scope

        scope = load_scope(scope_file, today=today, agency=agency, allow_large=allow_large,
                           max_prefix_v4=settings.max_prefix_v4, max_prefix_v6=settings.max_prefix_v6)
        known = {h.target.value for h in hosts}
        hosts += [DeclaredHost("", str(t), t, set(), False, declared=False) for t in scope.targets
                  if t.value not in known]
    if not hosts:
        raise InputError(f"Cơ quan '{agency}' chưa khai báo máy chủ nào để quét", en="no declared hosts to scan")
    rule_set = load_rule_set(full_check=False)
    groups = plan_groups(hosts, profile, rule_set, jobs=jobs, syn=syn, progress=progress is not None,
                         nmap_binary=nmap_binary)
    rules = rule_set.rules
    version = nmap_version(nmap_binary)
    datadir = Path(tempfile.mkdtemp(prefix="secaudit-nmap-")) if any(g.names for g in groups) else None
    for group in groups:
        if group.names and datadir is not None:
            group.argv = with_servicedb(ws, datadir, group.argv, group.coverage.ports or frozenset(), group.names)
    try:
        scope_json = None
        if scope is not None:
            scope_json = dumps(scope.summary(ws.store_file(Path(scope.path), media_type="application/yaml")))
        batch, started, fresh_until, owned_by = run_stamp(settings.freshness_days)
        stop = threading.Event()
        with stop_on_signals(stop):
            with ws.transaction() as db:
                for group in groups:
                    insert_running(db, group, agency=agency, profile=profile.id, started=started, version=version,
                                   actor=actor, batch=batch, command=command, fresh_until=fresh_until,
                                   owned_by=owned_by, scope_json=scope_json)
                auditlog.append(ws, actor=actor, action="scan.start", agency=agency, subject=f"batch-{batch}",
                                detail={"scans": [g.scan_id for g in groups], "profile": profile.id,
                                        "scope": scope_json})
            outcomes, interrupted = _execute(ws, agency, groups, rules, actor=actor, runner=runner, jobs=jobs,
                                             timeout=settings.timeout_seconds, progress=progress, stop=stop)
    finally:
        if datadir is not None:
            shutil.rmtree(datadir, ignore_errors=True)
    return ScanBatch(batch, outcomes, interrupted)


def run_stamp(freshness_days: int) -> tuple[str, str, str, dict[str, Any]]:
    """What every scan row of one run shares: batch id, start, "fresh until" day and the owning process."""
    started = now()
    fresh_until = (dt.date.fromisoformat(started[:10]) + dt.timedelta(days=freshness_days)).isoformat()
    return uuid.uuid4().hex[:12], started, fresh_until, owner()


def insert_running(db: Any, group: Group, *, agency: str, profile: str, started: str, version: str | None, actor: str,
                   batch: str, command: dict[str, Any] | None, fresh_until: str, owned_by: dict[str, Any],
                   scope_json: str | None = None) -> None:
    """Write ``group``'s scan row as *running* before nmap starts, with its hosts pending: until the run is
    recorded, an interrupted scan shows them unknown (``scan AGENCY`` and ``scan --all`` alike)."""
    group.scan_id = int(db.table("scans").insert({
        "agency": agency, "system": group.system, "profile": profile, "status": "running",
        "started": started, "argv": dumps(group.argv), "nmap_version": version, "operator": actor,
        "targets": dumps([h.address for h in group.hosts]), "batch": batch, "source": "nmap",
        "command": dumps(command) if command else None, "scope": scope_json, "fresh_until": fresh_until,
        "coverage": dumps(group.coverage.to_json()), **owned_by,
    }).last_pk)
    for host in group.hosts:
        db.table("scan_hosts").insert({"scan_id": group.scan_id, "system": host.system, "address": host.address,
                                       "declared": int(host.declared), "state": "unknown", "reason": PENDING})


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP set ``stop`` (the scan then ends as on Ctrl-C) instead of killing us.

    Without this the default action ends Python at once: nmap keeps running and the rows stay
    ``running``. Handlers can only be set from the main thread; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _execute(
    ws: Workspace, agency: str, groups: list[Group], rules: list[ScanRule], *, actor: str, runner: Runner | None,
    jobs: int, timeout: float, progress: Callable[[ScanProgress], None] | None, stop: threading.Event,
) -> tuple[list[ScanOutcome], bool]:
    """Run the groups, at most ``jobs`` at a time, recording each one as soon as it ends (main thread only).

    ``stop`` set (by a signal handler or Ctrl-C) ends the running nmap processes and skips the rest.
    """
    lock = threading.Lock()
    clock = time.monotonic()
    nmap_started = threading.Event()  # set on nmap's first output, or when a run ends

    def watch(group: Group) -> Callable[[bytes], None]:
        def on_output(chunk: bytes) -> None:
            nmap_started.set()
            if progress is None:
                return
            data = group.tail + chunk
            with lock:
                group.done += data.count(_HOST_END) - group.tail.count(_HOST_END)
                for match in _TASK_RE.finditer(data):
                    group.task, group.percent = match.group(1).decode("ascii", "replace"), float(match.group(2))
            group.tail = data[-(len(_HOST_END) - 1):]
        return on_output

    def run_one(group: Group) -> NmapRun | None:
        try:
            if stop.is_set():
                return None
            if runner is not None:
                return runner(group.argv)
            return run_nmap(group.argv, timeout=timeout, on_output=watch(group), stop=stop)
        finally:
            nmap_started.set()

    def report(finished: int) -> None:
        if progress is None:
            return
        with lock:
            running = [g for g in groups if g.percent is not None and g.done < g.total]
            percent = sum(g.percent or 0 for g in running) / len(running) if running else None
            progress(ScanProgress(agency, sum(min(g.done, g.total) for g in groups), sum(g.total for g in groups),
                                  finished, len(groups), time.monotonic() - clock, percent,
                                  running[0].task if running else None))

    outcomes: dict[int, ScanOutcome] = {}
    interrupted = False
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nmap") as pool:
        pending: dict[Future[NmapRun | None], Group] = {pool.submit(run_one, g): g for g in groups}
        recording_loaded = False
        results: list[tuple[Group, NmapRun | None, BaseException | None]] = []
        last = 0.0
        while pending or results:
            try:
                if not recording_loaded:
                    # What recording a run needs (the XML reader, the recorder) is imported while nmap runs
                    # rather than before it starts; once it has started, so as not to hold up its start.
                    nmap_started.wait(timeout=PROGRESS_EVERY)
                    importlib.import_module("secaudit.scanning.record")
                    recording_loaded = True
                if pending:
                    done, _ = wait(list(pending), timeout=PROGRESS_EVERY / 2, return_when=FIRST_COMPLETED)
                    for future in done:
                        group = pending.pop(future)
                        error = future.exception()
                        results.append((group, None if error else future.result(), error))
                interrupted = interrupted or stop.is_set()
                while results:
                    group, run, error = results[0]
                    if group.done < group.total and run is not None and not (run.interrupted or run.timed_out):
                        group.done = group.total
                    outcomes[group.scan_id] = record_group(ws, agency, group, run, error, rules, actor=actor,
                                                            stopped=interrupted)
                    results.pop(0)
                if progress is not None and (time.monotonic() - last >= PROGRESS_EVERY or not pending):
                    last = time.monotonic()
                    report(len(outcomes))
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
    return [outcomes[g.scan_id] for g in groups], interrupted


def record_group(
    ws: Workspace, agency: str, group: Group, run: NmapRun | None, error: BaseException | None,
    rules: list[ScanRule], *, actor: str, stopped: bool,
) -> ScanOutcome:
    from secaudit.scanning.record import STDERR_KEEP, ScanOutcome, record_run

    if run is None:
        reason = NOT_RUN if error is None else str(error)[:STDERR_KEEP]
        status = "interrupted" if error is None else "failed"
        with ws.transaction() as db:
            db.table("scans").update(group.scan_id, {"status": status, "finished": now(), "error": reason})
            db.execute("update scan_hosts set reason = ? where scan_id = ?", [reason, group.scan_id])
            auditlog.append(ws, actor=actor, action="scan.run", agency=agency, subject=f"scan-{group.scan_id}",
                            detail={"status": status, "error": reason})
        return ScanOutcome(group.scan_id, status, dict.fromkeys((h.address for h in group.hosts), "unknown"),
                           error=reason, system=group.system)
    if stopped and not run.interrupted and run.returncode != 0:
        run.interrupted = True  # nmap got the terminal's SIGINT itself
    return record_run(ws, group.scan_id, agency, group.hosts, run, rules, actor=actor, coverage=group.coverage)
