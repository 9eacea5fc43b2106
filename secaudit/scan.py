"""Scanning an agency's declared hosts as evidence, and following what scans find over time.

Targets come only from the inventory, plus — when an operator hands in an authorised scope file —
the targets that file lists (each parsed and checked before nmap is even looked for). nmap runs
with an allow-listed argument list built from a scan profile; its raw XML is stored in the
evidence store and what it observed is written as rows. A declared host that nmap could not
reach, that timed out or on which nothing answered is *unknown* — never a pass. Observations
become findings through the rules in ``checklists/_scan-rules.yaml``, each naming the requirement
it bears on, and each finding is tracked across scans (first seen, last seen, resolved) — but
only a scan that really looked again can resolve one.

One ``scan`` command may run several nmap processes (``jobs``): IPv4 and IPv6 targets never
share a process, and with ``jobs > 1`` each system (or a share of a large one) gets its own.
Every process is its own scan row with its own XML; the rows of one command share a ``batch``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticError

from . import auditlog, clock, yamlio
from .errors import InputError, InvalidTargetError, NotFoundError, OutOfScopeError, ScanError, ValidationError
from .models import Strict
from .resources import data_dir
from .scanner import (
    HostResult,
    NmapRun,
    PortResult,
    ScanResult,
    ScriptOutput,
    Target,
    build_argv,
    check_width,
    cidr_size,
    compress_ports,
    iter_hosts,
    nmap_version,
    parse_target,
    parse_xml,
    port_set,
    run_nmap,
    top_ports,
    validate_options,
    validate_ports,
)
from .scanner.nmap import NMAP_SERVICES_FILES
from .scanner.rules import Coverage, HostView, Observation, ScanRule, ScanRules, evaluate, rechecked
from .scanner.scope import Scope, load_scope
from .store import Workspace, dumps, now

RULES_FILE = "_scan-rules.yaml"
PENDING = "lần quét chưa hoàn tất (bị ngắt?) / scan not finished (interrupted?)"
NOT_RUN = "chưa quét: lần quét bị ngắt trước khi tới nhóm này / not scanned: interrupted before this group ran"
MAX_JOBS = 8
#: How often the progress display is refreshed while nmap is silent.
PROGRESS_EVERY = 0.5
STATS_EVERY = "--stats-every=2s"
_STDERR_KEEP = 4000


# -- profiles and rules -------------------------------------------------------------------------
class ScanSettings(Strict):
    """The ``scan:`` part of a scan profile: which ports, which allow-listed nmap options, how long results count."""

    ports: str | None = Field(default=None, description="danh sách cổng (22,80,8000-8100)")
    top_ports: int | None = Field(default=None, ge=1, le=65535, description="N cổng phổ biến nhất theo nmap")
    options: list[str] = Field(default_factory=list, description="tuỳ chọn nmap trong danh sách cho phép")
    freshness_days: int = Field(default=30, ge=1, le=3650, description="kết quả quét còn giá trị chứng minh (ngày)")
    timeout_seconds: int = Field(default=1800, ge=10, le=86400, description="giới hạn thời gian một tiến trình nmap")
    max_prefix_v4: int = Field(default=24, ge=8, le=32, description="dải IPv4 rộng hơn /N cần --allow-large")
    max_prefix_v6: int = Field(default=120, ge=32, le=128, description="dải IPv6 rộng hơn /N cần --allow-large")

    @model_validator(mode="after")
    def _some_ports(self) -> ScanSettings:
        if self.ports is None and self.top_ports is None:
            raise ValueError("cần 'ports' hoặc 'top_ports' / needs 'ports' or 'top_ports'")
        return self


class ScanProfile(Strict):
    """A named scan profile from ``profiles/<id>.yaml`` (or a file the operator names)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    title: str
    title_en: str | None = None
    description: str | None = None
    scan: ScanSettings

    def port_spec(self) -> str:
        """The profile's own ports (top ports written out, plus the explicit list)."""
        numbers: set[int] = set()
        if self.scan.top_ports:
            numbers |= port_set(top_ports(self.scan.top_ports))
        if self.scan.ports:
            numbers |= port_set(self.scan.ports)
        return compress_ports(numbers)


def load_scan_profile(ref: str) -> ScanProfile:
    """A scan profile by id (``profiles/<id>.yaml``) or by path to a YAML file; options are checked up front."""
    if ref.endswith((".yaml", ".yml")) or os.sep in ref:
        path = Path(ref)
        if not path.is_file():
            raise NotFoundError(f"Không có tệp hồ sơ quét {ref}", en=f"no scan profile file {ref}", where=ref)
    else:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", ref):
            raise NotFoundError(f"Không có hồ sơ quét '{ref[:80]}'", en=f"no scan profile {ref[:80]!r}")
        path = data_dir("profiles") / f"{ref}.yaml"
        if not path.is_file():
            raise NotFoundError(f"Không có hồ sơ quét '{ref}'", en=f"no scan profile '{ref}'")
    located = yamlio.load(path)
    if isinstance(located.data, dict) and "scan" not in located.data:
        raise NotFoundError(f"'{ref}' là hồ sơ đánh giá, không phải hồ sơ quét", en=f"'{ref}' is not a scan profile",
                            where=str(path))
    try:
        profile = ScanProfile.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    try:
        if profile.scan.ports is not None:
            validate_ports(profile.scan.ports)
        validate_options(profile.scan.options)
        if any(o == STATS_EVERY.split("=")[0] or o.startswith("--stats-every") for o in profile.scan.options):
            raise InvalidTargetError("--stats-every do secaudit tự thêm khi hiện tiến độ",
                                     en="--stats-every is added by secaudit itself for the progress display")
    except InvalidTargetError as exc:
        raise InvalidTargetError(exc.message, en=exc.en, where=located.where(("scan", "options"))) from None
    return profile


def load_rules(path: Path | None = None, *, full_check: bool = True) -> list[ScanRule]:
    """The scan rules, each ``bears_on`` checked against the shipped checklists (see :func:`load_rule_set`)."""
    return load_rule_set(path, full_check=full_check).rules


def load_rule_set(path: Path | None = None, *, full_check: bool = True) -> ScanRules:
    """The rules file: the rules, each ``bears_on`` checked, and what declared services call for.

    ``full_check`` loads every checklist and resolves each reference (what ``checklist validate``
    and the tests do); scans use the light check — the item id must be declared in that
    checklist's file — because loading all checklists costs more than a quick scan of a host.
    """
    path = path or data_dir("checklists") / RULES_FILE
    located = yamlio.load(path)
    try:
        rule_set = ScanRules.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    rules = rule_set.rules
    problems: list[tuple[str, str]] = []
    resolve = _full_resolver() if full_check else _light_resolver()
    for index, rule in enumerate(rules):
        for ref_index, ref in enumerate(rule.bears_on):
            problem = resolve(ref)
            if problem:
                where = located.where(("rules", index, "bears_on", ref_index))
                problems.append((where, f"bears_on '{ref}': {problem}"))
    if problems:
        raise ValidationError(problems, en="scan rules refer to unknown requirements")
    return rule_set


def _full_resolver() -> Callable[[str], str | None]:
    from .content import Library

    library = Library()

    def resolve(ref: str) -> str | None:
        try:
            library.resolve_ref(ref)
        except (NotFoundError, InputError) as exc:
            return exc.message
        return None

    return resolve


def _light_resolver() -> Callable[[str], str | None]:
    folder = data_dir("checklists")
    ids: dict[str, set[str]] = {}

    def resolve(ref: str) -> str | None:
        checklist, _, item = ref.partition(":")
        if checklist not in ids:
            path = folder / f"{checklist}.yaml"
            text = path.read_text(encoding="utf-8") if re.fullmatch(r"[a-z0-9-]+", checklist) and path.is_file() else ""
            ids[checklist] = set(re.findall(r"^\s*-\s+id:\s*([a-z0-9-]+)\s*$", text, flags=re.MULTILINE))
        if not ids[checklist]:
            return f"không có bộ tiêu chí '{checklist}' / no checklist '{checklist}'"
        return None if item in ids[checklist] else f"không có mục '{item}' / no item '{item}'"

    return resolve


# -- what to scan --------------------------------------------------------------------------------
@dataclass
class DeclaredHost:
    """A host as the inventory declares it (or a target an authorised scope adds), validated."""

    system: str
    address: str
    target: Target
    ports: set[int]
    public_web: bool
    declared: bool = True
    services: dict[int, str] = field(default_factory=dict)  # TCP port -> declared service name
    declared_at: str | None = None  # when the host (with these ports and services) was declared

    @property
    def names(self) -> list[str]:
        return [self.target.value] if self.target.kind == "hostname" else []


def declared_hosts(ws: Workspace, agency: str, system: str | None = None) -> list[DeclaredHost]:
    """Every declared host of the agency (or of one system), each target re-validated."""
    ws.require_agency(agency)
    sql = ("select s.code, h.address, h.ports, h.public_web, h.declared_at from hosts h"
           " join systems s on s.id = h.system_id where s.agency = ?")
    params: list[Any] = [agency]
    if system:
        ws.system_id(agency, system)
        sql += " and s.code = ?"
        params.append(system)
    out = []
    for code, address, ports, public_web, declared_at in ws.db.execute(sql + " order by s.position, h.position",
                                                                       params):
        target = parse_target(address)
        specs = [p for p in json.loads(ports or "[]") if p.get("protocol", "tcp") == "tcp"]
        declared = {int(p["port"]) for p in specs}
        services: dict[int, str] = {}
        if target.port:
            declared.add(target.port)
            scheme = address.split("://", 1)[0].lower() if "://" in address else ""
            if scheme in ("http", "https"):
                services[target.port] = scheme
        services.update({int(p["port"]): str(p["service"]).strip().lower() for p in specs if p.get("service")})
        out.append(DeclaredHost(code, address, target, declared, bool(public_web), services=services,
                                declared_at=declared_at))
    return out


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
class ScanOutcome:
    """What one nmap process (one scan row) produced, for the CLI to summarise."""

    scan_id: int
    status: str
    hosts: dict[str, str] = field(default_factory=dict)  # address -> state
    open_ports: int = 0
    findings: int = 0
    error: str | None = None
    system: str = ""


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


@dataclass
class _Group:
    """One nmap process: its hosts, its command line and what it covers."""

    system: str
    hosts: list[DeclaredHost]
    argv: list[str]
    coverage: Coverage
    total: int
    scan_id: int = 0
    done: int = 0
    percent: float | None = None
    task: str | None = None
    tail: bytes = b""
    names: dict[int, str] = field(default_factory=dict)  # port -> name nmap is told (declared services)


Runner = Callable[[list[str]], NmapRun]
_HOST_END = b"</host>"
_TASK_RE = re.compile(rb'<taskprogress task="([^"]{1,80})" time="\d+" percent="([0-9.]{1,6})"')


def _family(target: Target) -> int:
    return target.ip_version or 4  # host names resolve to IPv4 unless nmap runs with -6


def _plan(hosts: list[DeclaredHost], jobs: int) -> list[list[DeclaredHost]]:
    """Split hosts into nmap processes: never IPv4 with IPv6; with ``jobs > 1`` one process per system.

    A system is never split further: the evaluation reads a system's newest scan, so its hosts
    stay together (only an IPv4/IPv6 mix needs two processes, sharing one batch).
    """
    buckets: dict[tuple[str, int], list[DeclaredHost]] = {}
    for host in hosts:
        key = (host.system if jobs > 1 else "", _family(host.target))
        buckets.setdefault(key, []).append(host)
    return list(buckets.values())


def _declared_needs(rule_set: ScanRules, hosts: list[DeclaredHost]) -> tuple[list[str], dict[int, str]]:
    """Scripts the hosts' declared services call for, and the port names nmap must be told for them.

    When two hosts of one nmap process declare the same port differently, the service listed
    first in the rules file names it (https before http: HTTP scripts also run on "https").
    """
    scripts: list[str] = []
    names: dict[int, tuple[int, str]] = {}
    order = {id(s): i for i, s in enumerate(rule_set.declared_services)}
    for host in hosts:
        for port, name in host.services.items():
            need = rule_set.service(name)
            if need is None:
                continue
            scripts += [x for x in need.scripts if x not in scripts]
            rank = order[id(need)]
            if need.nmap_name and (port not in names or rank < names[port][0]):
                names[port] = (rank, need.nmap_name)
    return scripts, {port: name for port, (_, name) in sorted(names.items())}


def _with_scripts(options: list[str], scripts: list[str]) -> list[str]:
    """``options`` (canonical) with ``scripts`` added to its ``--script=`` list (or a new one)."""
    out = list(options)
    if not scripts:
        return out
    for i, option in enumerate(out):
        if option.startswith("--script="):
            have = option.split("=", 1)[1].split(",")
            out[i] = "--script=" + ",".join([*have, *(x for x in scripts if x not in have)])
            return out
    return [*out, "--script=" + ",".join(scripts)]


def _with_servicedb(
    ws: Workspace, datadir: Path, argv: list[str], ports: frozenset[int], names: dict[int, str],
) -> list[str]:
    """``argv`` with a ``--datadir`` whose services table names each declared port by its declared service.

    nmap's scripts choose ports by service name, and without ``-sV`` the name comes from that
    table. The table given to nmap is the system one cut to the scanned ports, with the declared
    ports renamed; nmap finds every other data file in its usual place. (``--servicedb`` would
    be the direct option, but it implies ``-F``, which nmap refuses next to ``-p``.) nmap would
    also load scripts from that folder, so it is a fresh private temporary one (``datadir``),
    removed after the run, never a folder anyone else can write to. The table is kept in the
    evidence store and the folder is named by its hash, so the stored command line says which
    table was used.
    """
    lines: list[str] = []
    source = next((Path(p) for p in NMAP_SERVICES_FILES if Path(p).is_file()), None)
    if source is not None:
        with source.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split("\t")
                if len(fields) < 2 or line.startswith("#") or not fields[1].endswith("/tcp"):
                    continue
                number = fields[1][:-4]
                if number.isdigit() and int(number) in ports and int(number) not in names:
                    lines.append(line if line.endswith("\n") else line + "\n")
    lines += [f"{name}\t{port}/tcp\t0.000500\t# secaudit: declared in the inventory\n"
              for port, name in sorted(names.items())]
    data = "".join(lines).encode("utf-8")
    sha = ws.store_blob(data, media_type="text/plain")
    folder = datadir / sha
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "nmap-services").write_bytes(data)
    at = argv.index("--")
    return [*argv[:at], f"--datadir={folder}", *argv[at:]]


def _coverage(ports: str, argv: list[str]) -> Coverage:
    """What a built (canonical) nmap command line covers: its ports, scripts and ``-sV``."""
    scripts: set[str] = set()
    for option in argv:
        if option.startswith("--script="):
            scripts.update(option.split("=", 1)[1].split(","))
    return Coverage(port_set(ports), frozenset(scripts), "-sV" in argv)


def scan_agency(
    ws: Workspace, agency: str, *, system: str | None = None, profile_id: str = "nhanh", actor: str,
    runner: Runner | None = None, scope_file: Path | None = None, allow_large: bool = False, jobs: int = 1,
    syn: bool = False, progress: Callable[[ScanProgress], None] | None = None,
    nmap_binary: str | list[str] = "nmap", command: dict[str, Any] | None = None, today: dt.date | None = None,
) -> ScanBatch:
    """Scan the declared hosts of ``agency`` (or one system) and record everything as evidence.

    Everything that can be refused is refused before nmap is located or any row is written:
    the profile's options, every target, range widths, the scope file. Ctrl-C (or SIGINT) ends
    the running nmap processes, keeps what they wrote and marks those scans ``interrupted``.
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
        scope = load_scope(scope_file, today=today, agency=agency, allow_large=allow_large,
                           max_prefix_v4=settings.max_prefix_v4, max_prefix_v6=settings.max_prefix_v6)
        known = {h.target.value for h in hosts}
        hosts += [DeclaredHost("", str(t), t, set(), False, declared=False) for t in scope.targets
                  if t.value not in known]
    if not hosts:
        raise InputError(f"Cơ quan '{agency}' chưa khai báo máy chủ nào để quét", en="no declared hosts to scan")
    rule_set = load_rule_set(full_check=False)
    base_options = validate_options(settings.options)
    base = profile.port_spec()
    groups: list[_Group] = []
    for members in _plan(hosts, jobs):
        ports = compress_ports(port_set(base) | {p for h in members for p in h.ports})
        targets = list(dict.fromkeys(Target(h.target.kind, h.target.value) for h in members))
        scripts, names = _declared_needs(rule_set, members)
        options = _with_scripts(base_options, scripts)
        if syn:
            options.insert(0, "-sS")
        if progress is not None:
            options.append(STATS_EVERY)
        argv = build_argv(targets, ports=ports, options=options, nmap_binary=nmap_binary, privileged=syn)
        systems = {h.system for h in members}
        groups.append(_Group(systems.pop() if len(systems) == 1 else "", members, argv, _coverage(ports, argv),
                             sum(cidr_size(t) for t in targets), names=names))
    rules = rule_set.rules
    version = nmap_version(nmap_binary)
    datadir = Path(tempfile.mkdtemp(prefix="secaudit-nmap-")) if any(g.names for g in groups) else None
    for group in groups:
        if group.names and datadir is not None:
            group.argv = _with_servicedb(ws, datadir, group.argv, group.coverage.ports or frozenset(), group.names)
    try:
        scope_json = None
        if scope is not None:
            scope_json = dumps(scope.summary(ws.store_file(Path(scope.path), media_type="application/yaml")))
        batch = uuid.uuid4().hex[:12]
        started = now()
        fresh_until = (dt.date.fromisoformat(started[:10]) + dt.timedelta(days=settings.freshness_days)).isoformat()
        with ws.transaction() as db:
            for group in groups:
                group.scan_id = _pk(db.table("scans").insert({
                    "agency": agency, "system": group.system, "profile": profile.id, "status": "running",
                    "started": started, "argv": dumps(group.argv), "nmap_version": version, "operator": actor,
                    "targets": dumps([h.address for h in group.hosts]), "batch": batch, "source": "nmap",
                    "command": dumps(command) if command else None, "scope": scope_json, "fresh_until": fresh_until,
                    "coverage": dumps(group.coverage.to_json()),
                }))
                for host in group.hosts:  # pending until the run is recorded: an interrupted scan shows unknown hosts
                    db.table("scan_hosts").insert({"scan_id": group.scan_id, "system": host.system,
                                                   "address": host.address, "declared": int(host.declared),
                                                   "state": "unknown", "reason": PENDING})
            auditlog.append(ws, actor=actor, action="scan.start", agency=agency, subject=f"batch-{batch}",
                            detail={"scans": [g.scan_id for g in groups], "profile": profile.id, "scope": scope_json})
        outcomes, interrupted = _execute(ws, agency, groups, rules, actor=actor, runner=runner, jobs=jobs,
                                         timeout=settings.timeout_seconds, progress=progress)
    finally:
        if datadir is not None:
            shutil.rmtree(datadir, ignore_errors=True)
    return ScanBatch(batch, outcomes, interrupted)


def _execute(
    ws: Workspace, agency: str, groups: list[_Group], rules: list[ScanRule], *, actor: str, runner: Runner | None,
    jobs: int, timeout: float, progress: Callable[[ScanProgress], None] | None,
) -> tuple[list[ScanOutcome], bool]:
    """Run the groups, at most ``jobs`` at a time, recording each one as soon as it ends (main thread only)."""
    stop = threading.Event()
    lock = threading.Lock()
    clock = time.monotonic()

    def watch(group: _Group) -> Callable[[bytes], None]:
        def on_output(chunk: bytes) -> None:
            data = group.tail + chunk
            with lock:
                group.done += data.count(_HOST_END) - group.tail.count(_HOST_END)
                for match in _TASK_RE.finditer(data):
                    group.task, group.percent = match.group(1).decode("ascii", "replace"), float(match.group(2))
            group.tail = data[-(len(_HOST_END) - 1):]
        return on_output

    def run_one(group: _Group) -> NmapRun | None:
        if stop.is_set():
            return None
        if runner is not None:
            return runner(group.argv)
        return run_nmap(group.argv, timeout=timeout, on_output=watch(group) if progress else None, stop=stop)

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
        pending: dict[Future[NmapRun | None], _Group] = {pool.submit(run_one, g): g for g in groups}
        results: list[tuple[_Group, NmapRun | None, BaseException | None]] = []
        last = 0.0
        while pending or results:
            try:
                if pending:
                    done, _ = wait(list(pending), timeout=PROGRESS_EVERY / 2, return_when=FIRST_COMPLETED)
                    for future in done:
                        group = pending.pop(future)
                        error = future.exception()
                        results.append((group, None if error else future.result(), error))
                while results:
                    group, run, error = results[0]
                    if group.done < group.total and run is not None and not (run.interrupted or run.timed_out):
                        group.done = group.total
                    outcomes[group.scan_id] = _record_group(ws, agency, group, run, error, rules, actor=actor,
                                                            stopped=interrupted)
                    results.pop(0)
                if progress is not None and (time.monotonic() - last >= PROGRESS_EVERY or not pending):
                    last = time.monotonic()
                    report(len(outcomes))
            except KeyboardInterrupt:
                interrupted = True
                stop.set()
    return [outcomes[g.scan_id] for g in groups], interrupted


def _record_group(
    ws: Workspace, agency: str, group: _Group, run: NmapRun | None, error: BaseException | None,
    rules: list[ScanRule], *, actor: str, stopped: bool,
) -> ScanOutcome:
    if run is None:
        reason = NOT_RUN if error is None else str(error)[:_STDERR_KEEP]
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


# -- recording -----------------------------------------------------------------------------------
class _Recorder:
    """Writes one scan's hosts, ports and findings as hosts arrive (a scan or a streamed import).

    Must be used inside one transaction. Hosts are matched to declared entries by address, by
    host name, or by CIDR containment; ``add`` returns False for a host nobody declared.
    """

    def __init__(self, db: Any, scan_id: int, agency: str, hosts: list[DeclaredHost], rules: list[ScanRule],
                 coverage: Coverage, as_of: dt.datetime, scope: Scope | None = None) -> None:
        self.db = db
        self.scan_id = scan_id
        self.agency = agency
        self.rules = rules
        self.coverage = coverage
        self.as_of = as_of
        self.scope = scope
        self.by_value: dict[str, list[DeclaredHost]] = {}
        self.networks: list[tuple[Any, DeclaredHost]] = []
        for host in hosts:
            if host.target.kind == "cidr":
                self.networks.append((ipaddress.ip_network(host.target.value), host))
            else:
                self.by_value.setdefault(host.target.value, []).append(host)
        self.host_rows: dict[tuple[str, str], int] = {
            (r[1], r[2]): r[0] for r in db.execute("select id, system, address from scan_hosts where scan_id = ?",
                                                    [scan_id])}
        self.seen_declared: set[int] = set()
        self.observations: dict[tuple[str, str], tuple[Observation, str]] = {}  # (system, key) -> (obs, address)
        self.up_hosts: dict[tuple[str, str], HostResult] = {}
        self.states: dict[str, str] = {}
        self.open_ports = 0
        self.findings = 0
        self.outside: list[str] = []  # the first few undeclared addresses, to name them
        self.outside_count = 0
        self.ranges: dict[int, list[int]] = {}  # id(declared CIDR host) -> [addresses up, addresses seen]
        self._port_rows: list[dict[str, Any]] = []

    def _matches(self, observed: HostResult) -> list[DeclaredHost]:
        found = list(self.by_value.get(observed.address, []))
        for name in observed.hostnames:
            found += [h for h in self.by_value.get(name.lower().rstrip("."), []) if h not in found]
        if self.networks:
            try:
                ip = ipaddress.ip_address(observed.address)
            except ValueError:
                ip = None
            if ip is not None:
                found += [h for net, h in self.networks if ip.version == net.version and ip in net and h not in found]
        return found

    def add(self, observed: HostResult) -> bool:
        matches = self._matches(observed)
        if not matches:
            if self.scope is not None and (self.scope.covers(observed.address)
                                           or any(self.scope.covers(n) for n in observed.hostnames)):
                matches = [DeclaredHost("", observed.address, parse_target(observed.address), set(), False, False)]
            else:
                self.outside_count += 1
                if len(self.outside) < 5:
                    self.outside.append(observed.address or "?")
                return False
        for host in matches:
            self.seen_declared.add(id(host))
            self._record_host(host, observed)
        return True

    def _record_host(self, host: DeclaredHost, observed: HostResult) -> None:
        state, reason = _host_state(observed)
        address = host.address if host.target.kind != "cidr" else observed.address
        if host.target.kind == "cidr":
            tally = self.ranges.setdefault(id(host), [0, 0])
            tally[1] += 1
            if state != "up":
                return  # an unused address in a declared range is not a host anyone declared
            tally[0] += 1
        key = (host.system, address)
        hid = self.host_rows.get(key)
        if hid is None:
            hid = int(self.db.execute(  # plain SQL: an import may add tens of thousands of hosts
                "insert into scan_hosts (scan_id, system, address, declared, state, reason) values (?, ?, ?, ?, ?, ?)",
                [self.scan_id, host.system, address, int(host.declared), state, reason]).lastrowid)
            self.host_rows[key] = hid
        else:
            _update(self.db, "scan_hosts", hid, {"state": state, "reason": reason})
        self.states[address] = state
        rows = [{
            "scan_host_id": hid, "port": port.port, "protocol": port.protocol, "state": port.state,
            "service": port.service, "product": port.product, "version": port.version, "tunnel": port.tunnel,
            "method": port.method,
            "scripts": dumps({k: {"output": v.output, "data": v.data} for k, v in port.scripts.items()}),
        } for port in observed.ports]
        self._port_rows += rows
        if len(self._port_rows) >= 2000:
            self.flush()
        self.open_ports += sum(1 for p in observed.ports if p.state == "open")
        if state != "up":
            return
        self.up_hosts[key] = _slim(observed)
        view = HostView(host.system, address, host.ports, host.public_web, host.declared,
                        host.names if host.target.kind == "hostname" else [])
        for obs in evaluate(self.rules, view, observed, as_of=self.as_of):
            self.observations[(host.system, obs.key)] = (obs, address)

    def _set_state(self, host: DeclaredHost, state: str, reason: str) -> None:
        hid = self.host_rows.get((host.system, host.address))
        if hid is None:
            self.db.table("scan_hosts").insert({"scan_id": self.scan_id, "system": host.system,
                                                "address": host.address, "declared": int(host.declared),
                                                "state": state, "reason": reason})
        else:
            _update(self.db, "scan_hosts", hid, {"state": state, "reason": reason})
        self.states.setdefault(host.address, state)

    def flush(self) -> None:
        if self._port_rows:
            self.db.conn.executemany(
                "insert into scan_ports (scan_host_id, port, protocol, state, service, product, version, tunnel,"
                " method, scripts) values (:scan_host_id, :port, :protocol, :state, :service, :product, :version,"
                " :tunnel, :method, :scripts)", self._port_rows)
            self._port_rows = []

    def finish(self, unresolved: list[str], parsed: bool) -> None:
        """Close the scan: unmatched declared hosts get their reason, findings and tracks are written."""
        self.flush()
        for hosts in [*self.by_value.values(), [h for _, h in self.networks]]:
            for host in hosts:
                up, seen = self.ranges.get(id(host), (0, 0))
                if id(host) in self.seen_declared and not (host.target.kind == "cidr" and not up):
                    if host.target.kind == "cidr":
                        self._set_state(host, "up", f"{up}/{seen} địa chỉ trong dải phản hồi / addresses answered")
                    continue
                if not parsed:
                    reason = "không đọc được kết quả nmap / nmap output unreadable"
                elif host.target.kind == "hostname" and host.target.value in unresolved:
                    reason = "không phân giải được tên miền / host name did not resolve"
                elif host.target.kind == "cidr":
                    reason = "không có địa chỉ nào trong dải phản hồi / no address in the range answered"
                else:
                    reason = "máy chủ không có trong kết quả nmap (quét dở hoặc không phân giải được tên)"
                self._set_state(host, "unknown", reason)
        self.findings = _write_findings(self.db, self.scan_id, self.agency, self.observations, self.up_hosts,
                                        self.coverage, self.rules)


def _slim(observed: HostResult) -> HostResult:
    """A copy keeping only what deciding "rechecked" needs (import keeps one per host in memory)."""
    ports = [PortResult(p.port, p.protocol, p.state, "", method=p.method,
                        scripts={k: ScriptOutput(k, "") for k in p.scripts}) for p in observed.ports]
    return HostResult(observed.address, observed.addrtype, [], observed.state, "", observed.timed_out, ports,
                      observed.nmap_state, dict(observed.extraports))


def _host_state(observed: HostResult) -> tuple[str, str]:
    if observed.timed_out:
        return "unknown", "hết thời gian quét máy chủ (host timeout)"
    if observed.state == "up":
        if not any(p.state == "open" for p in observed.ports):
            return "up", "có phản hồi nhưng không cổng nào mở / answered, no open port"
        return "up", observed.reason or ""
    if observed.state == "down":
        return "unknown", f"máy chủ không phản hồi ({observed.reason or 'down'})"
    return "unknown", ("không có phản hồi nào chứng minh máy chủ tồn tại (mọi cổng bị lọc) / "
                       "no answer proves the host exists (all ports filtered)")


def _write_findings(
    db: Any, scan_id: int, agency: str, observations: dict[tuple[str, str], tuple[Observation, str]],
    up_hosts: dict[tuple[str, str], HostResult], coverage: Coverage, rules: list[ScanRule],
) -> int:
    """Insert this scan's findings and move their tracks: new, still open, reopened or resolved.

    Returns the number of problems found (one per rule and place), not of requirement rows.
    """
    scan = db.execute("select started from scans where id = ?", [scan_id]).fetchone()
    seen_at = scan[0]
    count = 0
    systems = {system for system, _ in up_hosts}
    marks = ",".join("?" * len(systems))
    tracks = {(r["system"], r["fkey"]): r for r in db.query(
        f"select * from finding_tracks where agency = ? and system in ({marks})", [agency, *sorted(systems)])
    } if systems else {}
    rows: list[dict[str, Any]] = []
    for (system, key), (obs, address) in sorted(observations.items(), key=lambda kv: kv[0]):
        rule = obs.rule
        track = tracks.get((system, key))
        values = {"severity": rule.severity, "title": rule.title, "detail": obs.detail,
                  "bears_on": dumps(rule.bears_on), "last_seen": seen_at, "last_scan": scan_id}
        if track is None:
            track_id = _insert(db, "finding_tracks", {
                "agency": agency, "system": system, "address": address, "port": obs.port, "rule": rule.id,
                "fkey": key, "status": "open", "first_seen": seen_at, "first_scan": scan_id, "reopened": 0,
                **values})
        else:
            track_id = int(track["id"])
            if track["last_scan"] is not None and int(track["last_scan"]) > scan_id:
                values = {}  # an older file imported late: does not move the track backwards
            elif track["status"] == "resolved":
                values.update(status="open", resolved_at=None, resolved_scan=None,
                              reopened=int(track["reopened"] or 0) + 1)
            if values:
                _update(db, "finding_tracks", track_id, values)
        for ref in rule.bears_on:
            checklist, _, item = ref.partition(":")
            rows.append({"scan_id": scan_id, "agency": agency, "system": system, "address": address,
                         "port": obs.port, "rule": rule.id, "severity": rule.severity, "checklist": checklist,
                         "item": item, "title": rule.title, "detail": obs.detail, "fkey": key, "track_id": track_id})
        count += 1  # one problem, however many requirements it bears on
    if rows:
        db.conn.executemany(
            "insert into findings (scan_id, agency, system, address, port, rule, severity, checklist, item, title,"
            " detail, fkey, track_id) values (:scan_id, :agency, :system, :address, :port, :rule, :severity,"
            " :checklist, :item, :title, :detail, :fkey, :track_id)", rows)
    checks = {rule.id: rule.check for rule in rules}
    for track in tracks.values():
        if track["status"] != "open" or (track["system"], track["fkey"]) in observations:
            continue
        observed = up_hosts.get((track["system"], track["address"]))
        if observed is None:
            continue
        if int(track["last_scan"] or 0) > scan_id:
            continue
        check = checks.get(track["rule"], "")
        if check and rechecked(check, track["port"], coverage, observed):
            _update(db, "finding_tracks", track["id"], {"status": "resolved", "resolved_at": seen_at,
                                                      "resolved_scan": scan_id})
    return count


def record_run(
    ws: Workspace, scan_id: int, agency: str, hosts: list[DeclaredHost], run: NmapRun, rules: list[ScanRule],
    *, actor: str, coverage: Coverage | None = None,
) -> ScanOutcome:
    """Store the XML, the per-host observations and the findings of one nmap run, atomically."""
    xml_sha = ws.store_blob(run.xml, media_type="application/xml") if run.xml else None
    error: str | None = None
    result: ScanResult | None = None
    if run.xml:
        try:
            result = parse_xml(run.xml)
        except ScanError as exc:
            error = exc.message
    else:
        error = (run.stderr or "nmap không trả về dữ liệu").strip()[:2000]
    if result is not None and result.error:
        error = result.error
    if run.interrupted:
        status = "interrupted"
    elif run.timed_out:
        status = "timed-out"
    elif result is None or not result.complete or run.returncode != 0:
        status = "incomplete"
    else:
        status = "complete"
    outcome = ScanOutcome(scan_id, status, error=error)
    if coverage is None:
        row = ws.db.execute("select coverage from scans where id = ?", [scan_id]).fetchone()
        coverage = Coverage.from_json(json.loads(row[0]) if row and row[0] else None)
    with ws.transaction() as db:
        recorder = _Recorder(db, scan_id, agency, hosts, rules, coverage, run.started)
        for observed in result.hosts if result else []:
            recorder.add(observed)
        recorder.finish(run.unresolved, result is not None)
        db.table("scans").update(scan_id, {
            "status": status, "finished": run.finished.replace(microsecond=0).isoformat(),
            "xml_sha256": xml_sha, "error": error, "returncode": run.returncode,
            "stderr": run.stderr[-_STDERR_KEEP:] or None,
        })
        if xml_sha:
            _evidence_ref(db, xml_sha, scan_id, agency, run.started.date(), actor)
        outcome.hosts = dict(recorder.states)
        outcome.open_ports = recorder.open_ports
        outcome.findings = recorder.findings
        systems = {h.system for h in hosts}
        outcome.system = systems.pop() if len(systems) == 1 else ""
        auditlog.append(ws, actor=actor, action="scan.run", agency=agency, subject=f"scan-{scan_id}",
                        detail={"status": status, "xml_sha256": xml_sha, "hosts": outcome.hosts,
                                "findings": outcome.findings})
    return outcome


def _update(db: Any, table: str, row_id: int, values: dict[str, Any]) -> None:
    """``update table set … where id = ?`` in plain SQL (sqlite-utils re-reads the schema on every call)."""
    if values:
        columns = ", ".join(f"{name} = ?" for name in values)
        db.execute(f"update {table} set {columns} where id = ?", [*values.values(), row_id])


def _insert(db: Any, table: str, values: dict[str, Any]) -> int:
    """``insert into table`` in plain SQL; returns the new row id."""
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    return int(db.execute(f"insert into {table} ({columns}) values ({marks})", list(values.values())).lastrowid)


def _pk(result: Any) -> int:
    """The rowid sqlite-utils reports for an insert."""
    return int(result.last_pk)


def _evidence_ref(db: Any, sha: str, scan_id: int, agency: str, day: dt.date, actor: str) -> None:
    db.table("evidence_refs").insert({
        "sha256": sha, "original_name": f"scan-{scan_id}.xml", "agency": agency, "system": "",
        "checklist": "", "item": "", "kind": "ket-qua-quet", "effective": day.isoformat(),
        "expires": None, "added_at": now(), "actor": actor,
    })


# -- importing a scan made elsewhere ------------------------------------------------------------
def _imported_coverage(args: str | None, scanned_ports: str | None) -> Coverage:
    """What an imported file covered, read from its ``<scaninfo>`` and the nmap command line it records."""
    ports: frozenset[int] | None = None
    if scanned_ports:
        with contextlib.suppress(InvalidTargetError):
            ports = port_set(scanned_ports)
    scripts: set[str] = set()
    tokens = (args or "").split()
    for i, token in enumerate(tokens):
        value = None
        if token.startswith("--script="):
            value = token.split("=", 1)[1]
        elif token == "--script" and i + 1 < len(tokens):
            value = tokens[i + 1]
        if value:
            scripts.update(value.split(","))
    service = any(t in ("-sV", "-A") for t in tokens)
    return Coverage(ports, frozenset(scripts), service)


def import_scan(
    ws: Workspace, path: Path, *, system: str, agency: str | None = None, actor: str, scope_file: Path | None = None,
    profile_id: str = "nhanh", today: dt.date | None = None, command: dict[str, Any] | None = None,
) -> ScanOutcome:
    """Ingest an nmap XML file made elsewhere as a scan of ``system``, with the same checks.

    Every host in the file must be a declared host of the system (or lie in ``scope_file``):
    a file that covers anything else is refused whole, and nothing is stored. The file is read
    streaming, so a sweep of tens of thousands of hosts does not need its tree in memory.
    """
    today = today or clock.today()
    agency = agency or _agency_of_system(ws, system)
    hosts = declared_hosts(ws, agency, system)
    profile = load_scan_profile(profile_id)
    rules = load_rules(full_check=False)
    scope = load_scope(scope_file, today=today, agency=agency, allow_large=True) if scope_file else None
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Không có tệp {path}", en=f"no such file: {path}", where=str(path))
    stream = iter_hosts(path)
    with ws.transaction() as db:
        scan_id = _pk(db.table("scans").insert({
            "agency": agency, "system": system, "profile": profile.id, "status": "running", "started": now(),
            "argv": dumps([]), "operator": actor, "targets": dumps([h.address for h in hosts]),
            "batch": uuid.uuid4().hex[:12], "source": "import", "command": dumps(command) if command else None,
        }))
        for host in hosts:
            db.table("scan_hosts").insert({"scan_id": scan_id, "system": host.system, "address": host.address,
                                     "declared": 1, "state": "unknown", "reason": PENDING})
        recorder: _Recorder | None = None
        try:
            for observed in stream:
                if recorder is None:
                    started = stream.result.started or clock.now()
                    coverage = _imported_coverage(stream.result.args, stream.result.scanned_ports)
                    recorder = _Recorder(db, scan_id, agency, hosts, rules, coverage, started, scope)
                recorder.add(observed)  # read to the end: a refusal states the exact count
        except ScanError as exc:
            raise ScanError(exc.message, en=exc.en, where=str(path)) from None
        result = stream.result
        started_at = result.started or clock.now()
        if recorder is None:
            recorder = _Recorder(db, scan_id, agency, hosts, rules,
                                 _imported_coverage(result.args, result.scanned_ports), started_at, scope)
        if recorder.outside_count:
            shown = ", ".join(recorder.outside) + (" …" if recorder.outside_count > len(recorder.outside) else "")
            raise OutOfScopeError(
                f"Tệp XML có {recorder.outside_count} máy chủ không thuộc hệ thống '{system}' đã khai báo"
                f" (và không nằm trong phạm vi được phép quét): {shown}; không nhập gì",
                en=f"the XML covers {recorder.outside_count} host(s) not declared for system '{system}'"
                   f" nor in an authorised scope: {shown}; nothing imported",
                where=str(path))
        started_iso = started_at.replace(microsecond=0).isoformat()
        db.table("scans").update(scan_id, {"started": started_iso})
        recorder.finish([], True)
        status = "complete" if result.complete else "incomplete"
        sha = ws.store_file(path, media_type="application/xml")
        freshness = profile.scan.freshness_days
        db.table("scans").update(scan_id, {
            "status": status,
            "finished": (result.finished or started_at).replace(microsecond=0).isoformat(),
            "argv": dumps([result.args] if result.args else []), "nmap_version": result.nmap_version,
            "xml_sha256": sha, "error": result.error,
            "fresh_until": (started_at.date() + dt.timedelta(days=freshness)).isoformat(),
            "coverage": dumps(recorder.coverage.to_json()),
            "scope": dumps(scope.summary(ws.store_file(Path(scope.path), media_type="application/yaml")))
            if scope else None,
        })
        _evidence_ref(db, sha, scan_id, agency, started_at.date(), actor)
        outcome = ScanOutcome(scan_id, status, dict(recorder.states), recorder.open_ports, recorder.findings,
                              result.error, system)
        auditlog.append(ws, actor=actor, action="scan.import", agency=agency, subject=f"scan-{scan_id}",
                        detail={"file": path.name, "xml_sha256": sha, "status": status, "findings": recorder.findings,
                                "hosts": len(recorder.states)})
    return outcome


def _agency_of_system(ws: Workspace, system: str) -> str:
    rows = ws.db.execute("select agency from systems where code = ?", [system]).fetchall()
    if not rows:
        raise NotFoundError(f"Không có hệ thống '{system}'", en=f"no system '{system}'")
    if len(rows) > 1:
        raise InputError(f"Nhiều cơ quan có hệ thống '{system}': hãy nêu --agency",
                         en=f"several agencies have a system '{system}': give --agency")
    return str(rows[0][0])


# -- reading history -------------------------------------------------------------------------------
def scan_rows(ws: Workspace, agency: str | None = None) -> list[dict[str, Any]]:
    """Every scan (newest last) with its counts, for ``scan list``."""
    sql = ("select s.id, s.agency, s.system, s.profile, s.source, s.status, s.started, s.finished, s.nmap_version,"
           " s.operator, s.xml_sha256, (select count(distinct fkey) from findings f where f.scan_id = s.id)"
           " as findings from scans s")
    params: list[Any] = []
    if agency:
        sql += " where s.agency = ?"
        params.append(agency)
    return list(ws.db.query(sql + " order by s.id", params))


def latest_scans(ws: Workspace, agency: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Scans of ``agency`` started on or before ``as_of``, newest first, with hosts and findings."""
    scans = list(ws.db.query(
        "select * from scans where agency = ? and date(started) <= ? order by started desc, id desc",
        [agency, as_of.isoformat()]))
    for scan in scans:
        scan["argv"] = json.loads(scan["argv"] or "[]")
        scan["hosts"] = list(ws.db.query("select * from scan_hosts where scan_id = ? order by id", [scan["id"]]))
        for host in scan["hosts"]:
            host["open_ports"] = list(ws.db.query(
                "select port, protocol, service, product, version, tunnel from scan_ports"
                " where scan_host_id = ? and state = 'open' order by port", [host["id"]]))
        scan["findings"] = list(ws.db.query("select * from findings where scan_id = ? order by id", [scan["id"]]))
    return scans


FINDING_STATUSES = ("open", "new", "resolved", "all")


def list_findings(
    ws: Workspace, *, agency: str | None = None, system: str | None = None, status: str = "open",
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Findings followed over time: one row per finding identity, with first/last seen and resolution.

    ``new`` = open findings seen in one scan only, which is the newest scan of that host; ``stale``
    marks open findings whose last sighting is past its scan profile's freshness window (they no
    longer prove anything either way until a scan looks again).
    """
    if status not in FINDING_STATUSES:
        raise InputError(f"Trạng thái không hợp lệ: {status}", en=f"invalid status {status!r}")
    today = today or clock.today()
    if agency:
        ws.require_agency(agency)
    sql = ("select t.*, s.fresh_until from finding_tracks t left join scans s on s.id = t.last_scan where 1")
    params: list[Any] = []
    if agency:
        sql += " and t.agency = ?"
        params.append(agency)
    if system:
        sql += " and t.system = ?"
        params.append(system)
    if status in ("open", "new"):
        sql += " and t.status = 'open'"
    elif status == "resolved":
        sql += " and t.status = 'resolved'"
    if status == "new":
        sql += (" and t.first_scan = t.last_scan and t.last_scan = (select max(h.scan_id) from scan_hosts h"
                " join scans s2 on s2.id = h.scan_id where s2.agency = t.agency and h.system = t.system"
                " and h.address = t.address and h.state = 'up')")
    rows = []
    for r in ws.db.query(sql + " order by t.agency, t.system, t.address, t.port, t.rule", params):
        stale = r["status"] == "open" and bool(r["fresh_until"]) and r["fresh_until"] < today.isoformat()
        refs = json.loads(r["bears_on"] or "[]")
        rows.append({
            "id": r["id"], "agency": r["agency"], "system": r["system"], "address": r["address"], "port": r["port"],
            "rule": r["rule"], "severity": r["severity"], "title": r["title"], "detail": r["detail"],
            "status": ("new" if r["first_scan"] == r["last_scan"] and status == "new" else r["status"]),
            "stale": stale, "first_seen": r["first_seen"], "last_seen": r["last_seen"],
            "resolved_at": r["resolved_at"], "first_scan": r["first_scan"], "last_scan": r["last_scan"],
            "resolved_scan": r["resolved_scan"], "reopened": r["reopened"], "bears_on": refs,
        })
    return rows


def open_findings(ws: Workspace, agency: str, system: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Open, still-fresh findings of one system on ``as_of`` (for evaluations that follow tracks, not one scan)."""
    rows = []
    for r in ws.db.query(
        "select t.*, s.fresh_until from finding_tracks t join scans s on s.id = t.last_scan"
        " where t.agency = ? and t.system = ? and date(t.first_seen) <= ?"
        " and (t.status = 'open' or date(t.resolved_at) > ?) and (s.fresh_until is null or s.fresh_until >= ?)",
            [agency, system, as_of.isoformat(), as_of.isoformat(), as_of.isoformat()]):
        for ref in json.loads(r["bears_on"] or "[]"):
            checklist, _, item = ref.partition(":")
            rows.append({"checklist": checklist, "item": item, "system": r["system"], "address": r["address"],
                         "port": r["port"], "title": r["title"], "severity": r["severity"], "rule": r["rule"],
                         "detail": r["detail"], "first_seen": r["first_seen"], "last_seen": r["last_seen"]})
    return rows


def _shipped_rule_set() -> ScanRules:
    """The shipped rules file, read once per change of the file (evaluations ask for it per item)."""
    path = data_dir("checklists") / RULES_FILE
    key = (str(path), path.stat().st_mtime_ns)
    if _RULE_SET_CACHE.get("key") != key:
        _RULE_SET_CACHE.update(key=key, value=load_rule_set(path, full_check=False))
    value: ScanRules = _RULE_SET_CACHE["value"]
    return value


_RULE_SET_CACHE: dict[str, Any] = {}


def _instant(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _when(text: str) -> str:
    """An ISO time as people read it: Vietnam time, to the minute."""
    return _instant(text).astimezone(clock.VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def unverified(ws: Workspace, agency: str, system: str, scan_ids: list[int], started: str) -> list[str]:
    """Why the scan batch ``scan_ids`` (started at ``started``) does not vouch for every declared host of ``system``.

    A host declared (or given new ports or services) after the scan started was never looked
    at; a declared port outside the scanned list was not looked at; a declared service whose
    checks gave no output on its open port was not checked. Each reason names the host and port.
    An empty list means every declared host, port and service was covered.
    """
    if not scan_ids:
        return []
    marks = ",".join("?" * len(scan_ids))
    rows = {(r["system"], r["address"]): r for r in ws.db.query(
        f"select id, system, address, state from scan_hosts where scan_id in ({marks}) order by id", scan_ids)}
    ports: frozenset[int] | None = frozenset()
    for (raw,) in ws.db.execute(f"select coverage from scans where id in ({marks})", scan_ids).fetchall():
        covered = Coverage.from_json(json.loads(raw) if raw else None).ports
        ports = None if ports is None or covered is None else ports | covered
    rule_set = _shipped_rule_set()
    begun = _instant(started)
    reasons: list[str] = []
    for host in declared_hosts(ws, agency, system):
        if host.declared_at and _instant(host.declared_at) > begun:
            listed = ", ".join(str(p) for p in sorted(host.ports))
            where = f"{host.address} (cổng {listed})" if listed else host.address
            reasons.append(f"máy chủ {where} được khai báo lúc {_when(host.declared_at)}, sau lần quét lúc"
                           f" {_when(started)}: chưa được quét, chưa kiểm chứng / host {host.address} was declared"
                           " after the latest scan")
            continue
        if host.target.kind == "cidr":
            continue  # a range is matched address by address; its up/unknown state is judged elsewhere
        row = rows.get((host.system, host.address))
        if row is None:
            reasons.append(f"máy chủ {host.address} không có trong lần quét gần nhất: chưa kiểm chứng"
                           f" / host {host.address} is not in the latest scan")
            continue
        if row["state"] != "up":
            continue  # an unknown host is reported as such
        missing = sorted(p for p in host.ports if ports is not None and p not in ports)
        if missing:
            listed = ", ".join(str(p) for p in missing)
            reasons.append(f"cổng {listed} của {host.address} không nằm trong danh sách cổng đã quét: chưa kiểm chứng"
                           f" / declared port(s) {listed} of {host.address} were not scanned")
        seen = {r["port"]: r for r in ws.db.query(
            "select port, state, scripts from scan_ports where scan_host_id = ? and protocol = 'tcp'", [row["id"]])}
        for port, name in sorted(host.services.items()):
            need = rule_set.service(name)
            if need is None or port in missing:
                continue
            found = seen.get(port)
            if found is None and ports is not None:
                continue  # scanned and not open: the "declared service not answering" finding says so
            if found is not None and found["state"] != "open":
                continue
            scripts = json.loads(found["scripts"] or "{}") if found is not None else {}
            answered = [k for k, v in scripts.items()
                        if isinstance(v, dict) and (str(v.get("output") or "").strip() or v.get("data"))]
            lacking = need.covered(answered)
            if lacking:
                reasons.append(f"dịch vụ '{name}' khai báo tại {host.address}:{port} chưa được kiểm tra"
                               f" (không có kết quả {', '.join(lacking)}): chưa kiểm chứng / declared service"
                               f" '{name}' on {host.address}:{port} was not checked")
    return reasons


def _scan(ws: Workspace, scan_id: int) -> dict[str, Any]:
    row = ws.db.execute("select id from scans where id = ?", [scan_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Không có lần quét #{scan_id}", en=f"no scan #{scan_id}")
    return next(iter(ws.db.query("select * from scans where id = ?", [scan_id])))


def _hosts_of(ws: Workspace, scan_id: int) -> dict[tuple[str, str], HostResult]:
    hosts: dict[tuple[str, str], HostResult] = {}
    for h in ws.db.query("select id, system, address, state from scan_hosts where scan_id = ?", [scan_id]):
        ports = [PortResult(p["port"], p["protocol"], p["state"], "", service=p["service"], product=p["product"],
                            version=p["version"], tunnel=p["tunnel"], method=p["method"],
                            scripts={k: ScriptOutput(k, "") for k in json.loads(p["scripts"] or "{}")})
                 for p in ws.db.query("select * from scan_ports where scan_host_id = ?", [h["id"]])]
        hosts[(h["system"], h["address"])] = HostResult(h["address"], "", [], h["state"], "", False, ports)
    return hosts


def diff_scans(ws: Workspace, scan_a: int, scan_b: int) -> list[dict[str, Any]]:
    """What changed from scan A to scan B: findings new / fixed / changed / not rechecked, ports opened / closed.

    A finding of A that B does not show counts as *fixed* only if B looked again (same host up,
    port scanned, the needed script run); otherwise it is *not rechecked*.
    """
    a, b = _scan(ws, scan_a), _scan(ws, scan_b)
    if a["agency"] != b["agency"]:
        raise InputError(f"Hai lần quét thuộc hai cơ quan khác nhau ({a['agency']}, {b['agency']})",
                         en="the two scans belong to different agencies")
    checks = {r.id: r.check for r in load_rules(full_check=False)}

    def findings(scan_id: int) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for f in ws.db.query("select * from findings where scan_id = ? order by id", [scan_id]):
            key = (f["system"], f["fkey"] or f"{f['rule']}|{f['address']}|{f['port'] or ''}")
            entry = out.setdefault(key, {**f, "refs": []})
            entry["refs"].append(f"{f['checklist']}:{f['item']}")
        return out

    fa, fb = findings(scan_a), findings(scan_b)
    hosts_a, hosts_b = _hosts_of(ws, scan_a), _hosts_of(ws, scan_b)
    coverage_a = Coverage.from_json(json.loads(a["coverage"]) if a["coverage"] else None)
    coverage_b = Coverage.from_json(json.loads(b["coverage"]) if b["coverage"] else None)
    rows: list[dict[str, Any]] = []

    def row(change: str, f: dict[str, Any], other: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"change": change, "system": f["system"], "address": f["address"], "port": f["port"],
                "rule": f["rule"], "severity": f["severity"], "title": f["title"],
                "before": (other or f)["detail"] if change != "new" else None,
                "after": f["detail"] if change not in ("fixed", "not-rechecked") else None,
                "bears_on": ", ".join(f["refs"])}

    for key, f in fb.items():
        if key not in fa:
            rows.append(row("new", f))
        elif (fa[key]["detail"], fa[key]["severity"]) != (f["detail"], f["severity"]):
            rows.append(row("changed", f, fa[key]))
    for key, f in fa.items():
        if key in fb:
            continue
        observed = hosts_b.get((f["system"], f["address"]))
        done = rechecked(checks.get(f["rule"], ""), f["port"], coverage_b, observed) if f["rule"] in checks else False
        rows.append(row("fixed" if done else "not-rechecked", f))
    for key in sorted(set(hosts_a) | set(hosts_b)):
        ha, hb = hosts_a.get(key), hosts_b.get(key)
        if ha is not None and hb is not None and ha.state != hb.state:
            rows.append({"change": "host-state", "system": key[0], "address": key[1], "port": None, "rule": "",
                         "severity": "", "title": "trạng thái máy chủ / host state", "before": ha.state,
                         "after": hb.state, "bears_on": ""})
        if ha is None or hb is None or ha.state != "up" or hb.state != "up":
            continue
        open_a = {p.port: p for p in ha.ports if p.state == "open"}
        open_b = {p.port: p for p in hb.ports if p.state == "open"}
        for port in sorted(set(open_a) ^ set(open_b)):
            opened = port in open_b
            looked = coverage_a if opened else coverage_b  # the scan that does not show it open must have looked
            if looked.ports is not None and port not in looked.ports:
                continue
            p = open_b[port] if opened else open_a[port]
            rows.append({"change": "port-opened" if opened else "port-closed", "system": key[0], "address": key[1],
                         "port": port, "rule": "", "severity": "", "title": p.service or "",
                         "before": None if opened else "open", "after": "open" if opened else None, "bears_on": ""})
    order = {"new": 0, "changed": 1, "fixed": 2, "not-rechecked": 3, "host-state": 4, "port-opened": 5,
             "port-closed": 6}
    rows.sort(key=lambda r: (order[r["change"]], r["system"], r["address"], r["port"] or 0, r["rule"]))
    return rows


__all__ = [
    "FINDING_STATUSES", "DeclaredHost", "ScanBatch", "ScanOutcome", "ScanProfile", "ScanProgress", "ValidationError",
    "declared_hosts", "diff_scans", "import_scan", "latest_scans", "list_findings", "load_rule_set",
    "load_rules", "load_scan_profile", "open_findings", "record_run", "scan_agency", "scan_rows", "unverified",
]
