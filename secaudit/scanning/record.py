"""Recording what nmap observed: hosts, ports, findings and how findings move over time.

Used by a live scan and by an import alike, inside one transaction per scan. A declared host that
nmap could not reach, that timed out or on which nothing answered is recorded *unknown* — never a
pass — and a finding is resolved only by a scan that really looked again.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from secaudit.errors import ScanError
from secaudit.inventory.targets import parse_target
from secaudit.scanning.nmap_run import NmapRun
from secaudit.scanning.nmap_xml import HostResult, PortResult, ScanResult, ScriptOutput, parse_xml
from secaudit.scanning.plan import DeclaredHost
from secaudit.scanning.rules import Coverage, HostView, Observation, ScanRule, evaluate, rechecked
from secaudit.scanning.scope import Scope
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, join_refs, now

__all__ = ["STDERR_KEEP", "Recorder", "ScanOutcome", "add_evidence_ref", "inserted_id", "record_run"]


#: How much of nmap's stderr a scan row keeps.
STDERR_KEEP = 4000
#: Finding rows written at once.
_BATCH = 5000


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


class Recorder:
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
        self.up_hosts: dict[tuple[str, str], HostResult] = {}  # only where an open finding may be resolved
        self.up_systems: set[str] = set()
        self.tracked: set[tuple[str, str]] = {(r[0], r[1]) for r in db.execute(
            "select distinct system, address from finding_tracks where agency = ? and status = 'open'", [agency])}
        self.states: dict[str, str] = {}
        self.open_ports = 0
        self.findings = 0
        self.outside: list[str] = []  # the first few undeclared addresses, to name them
        self.outside_count = 0
        self.ranges: dict[int, list[int]] = {}  # id(declared CIDR host) -> [addresses up, addresses seen]
        self._port_rows: list[tuple[Any, ...]] = []
        self._host_rows: list[tuple[Any, ...]] = []
        self._next_host_id: int | None = None

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
        if hid is None:  # batched with the port rows: an import may add tens of thousands of hosts
            if self._next_host_id is None:
                self._next_host_id = int(self.db.execute("select coalesce(max(id), 0) from scan_hosts").fetchone()[0])
            self._next_host_id += 1
            hid = self._next_host_id  # the id SQLite would give: the rows are inserted in this order
            self._host_rows.append((hid, self.scan_id, host.system, address, int(host.declared), state, reason))
            self.host_rows[key] = hid
        else:
            if self._host_rows:
                self.flush()  # the row may still be waiting in the batch
            _update(self.db, "scan_hosts", hid, {"state": state, "reason": reason})
        self.states[address] = state
        self._port_rows += [
            (hid, port.port, port.protocol, port.state, port.service, port.product, port.version, port.tunnel,
             port.method, _scripts_json({k: {"output": v.output, "data": v.data} for k, v in port.scripts.items()}))
            for port in observed.ports]
        if len(self._port_rows) >= 2000:
            self.flush()
        self.open_ports += sum(1 for p in observed.ports if p.state == "open")
        if state != "up":
            return
        self.up_systems.add(host.system)
        if key in self.tracked:
            self.up_hosts[key] = _slim(observed)
        view = HostView(host.system, address, host.ports, host.public_web, host.declared,
                        host.names if host.target.kind == "hostname" else [])
        for obs in evaluate(self.rules, view, observed, as_of=self.as_of):
            self.observations[(host.system, obs.key)] = (obs, address)

    def _set_state(self, host: DeclaredHost, state: str, reason: str) -> None:
        self.flush()  # the batched host rows first: their ids were counted from the table
        hid = self.host_rows.get((host.system, host.address))
        if hid is None:
            self.db.table("scan_hosts").insert({"scan_id": self.scan_id, "system": host.system,
                                                "address": host.address, "declared": int(host.declared),
                                                "state": state, "reason": reason})
            self._next_host_id = None  # a row counted outside the batch: count again from the table
        else:
            _update(self.db, "scan_hosts", hid, {"state": state, "reason": reason})
        self.states.setdefault(host.address, state)

    def flush(self) -> None:
        if self._host_rows:
            self.db.conn.executemany(
                "insert into scan_hosts (id, scan_id, system, address, declared, state, reason)"
                " values (?, ?, ?, ?, ?, ?, ?)", self._host_rows)
            self._host_rows = []
        if self._port_rows:
            self.db.conn.executemany(
                "insert into scan_ports (scan_host_id, port, protocol, state, service, product, version, tunnel,"
                " method, scripts) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._port_rows)
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
                                        self.up_systems, self.coverage, self.rules)


#: :func:`secaudit.store.workspace.dumps` with its encoder built once (the same text; a sweep has tens of
#: thousands of ports).
_scripts_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode


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
    up_hosts: dict[tuple[str, str], HostResult], up_systems: set[str], coverage: Coverage, rules: list[ScanRule],
) -> int:
    """Insert this scan's findings and move their tracks: new, still open, reopened or resolved.

    One ``findings`` row per problem (rule and place), its ``bears_on`` listing the requirements the
    rule names. Returns the number of problems.
    """
    scan = db.execute("select started from scans where id = ?", [scan_id]).fetchone()
    seen_at = scan[0]
    count = 0
    systems = up_systems
    marks = ",".join("?" * len(systems))
    tracks = {(r["system"], r["fkey"]): r for r in db.query(
        f"select * from finding_tracks where agency = ? and system in ({marks})", [agency, *sorted(systems)])
    } if systems else {}
    rows: list[tuple[Any, ...]] = []
    new_tracks: list[tuple[Any, ...]] = []
    next_id = int(db.execute("select coalesce(max(id), 0) from finding_tracks").fetchone()[0]) + 1
    bears_on: dict[str, tuple[str, str]] = {}  # rule id -> (refs as JSON for tracks, refs joined for findings)

    def flush() -> None:  # new tracks and finding rows go in batches: a sweep has hundreds of thousands
        if new_tracks:
            db.conn.executemany(
                "insert into finding_tracks (id, agency, system, address, port, rule, fkey, status, first_seen,"
                " first_scan, reopened, severity, title, detail, bears_on, last_seen, last_scan)"
                " values (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, 0, ?, ?, ?, ?, ?, ?)", new_tracks)
            new_tracks.clear()
        if rows:
            db.conn.executemany(
                "insert into findings (scan_id, agency, system, address, port, rule, severity, bears_on, title,"
                " detail, fkey, track_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            rows.clear()

    for (system, key), (obs, address) in sorted(observations.items()):  # keys are unique: values never compared
        rule = obs.rule
        track = tracks.get((system, key))
        cached = bears_on.get(rule.id)
        if cached is None:
            cached = bears_on[rule.id] = (dumps(rule.bears_on), join_refs(rule.bears_on))
        refs, joined = cached
        if track is None:
            track_id = next_id  # the id SQLite would give: the rows are inserted in this order
            next_id += 1
            new_tracks.append((track_id, agency, system, address, obs.port, rule.id, key, seen_at, scan_id,
                               rule.severity, rule.title, obs.detail, refs, seen_at, scan_id))
        else:
            values = {"severity": rule.severity, "title": rule.title, "detail": obs.detail, "bears_on": refs,
                      "last_seen": seen_at, "last_scan": scan_id}
            track_id = int(track["id"])
            if track["last_scan"] is not None and int(track["last_scan"]) > scan_id:
                values = {}  # an older file imported late: does not move the track backwards
            elif track["status"] == "resolved":
                values.update(status="open", resolved_at=None, resolved_scan=None,
                              reopened=int(track["reopened"] or 0) + 1)
            if values:
                _update(db, "finding_tracks", track_id, values)
        rows.append((scan_id, agency, system, address, obs.port, rule.id, rule.severity, joined, rule.title,
                     obs.detail, key, track_id))
        count += 1
        if len(rows) >= _BATCH:
            flush()
    flush()
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
    timed_out = [h.address or "?" for h in result.hosts if h.timed_out] if result is not None else []
    if timed_out:
        shown = ", ".join(timed_out[:5]) + (" …" if len(timed_out) > 5 else "")
        note = (f"hết thời gian quét máy chủ (--host-timeout): {shown} — chưa quét xong, kết quả không chứng minh"
                f" gì / host timed out: {shown}")
        error = f"{error}; {note}" if error else note
    if run.interrupted:
        status = "interrupted"
    elif run.timed_out:
        status = "timed-out"
    elif result is None or not result.complete or run.returncode != 0 or timed_out:
        status = "incomplete"
    else:
        status = "complete"
    outcome = ScanOutcome(scan_id, status, error=error)
    if coverage is None:
        row = ws.db.execute("select coverage from scans where id = ?", [scan_id]).fetchone()
        coverage = Coverage.from_json(json.loads(row[0]) if row and row[0] else None)
    with ws.transaction() as db:
        recorder = Recorder(db, scan_id, agency, hosts, rules, coverage, run.started)
        for observed in result.hosts if result else []:
            recorder.add(observed)
        recorder.finish(run.unresolved, result is not None)
        db.table("scans").update(scan_id, {
            "status": status, "finished": run.finished.replace(microsecond=0).isoformat(),
            "xml_sha256": xml_sha, "error": error, "returncode": run.returncode,
            "stderr": run.stderr[-STDERR_KEEP:] or None,
        })
        if xml_sha:
            add_evidence_ref(db, xml_sha, scan_id, agency, run.started.date(), actor)
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


def inserted_id(result: Any) -> int:
    """The rowid sqlite-utils reports for an insert."""
    return int(result.last_pk)


def add_evidence_ref(db: Any, sha: str, scan_id: int, agency: str, day: dt.date, actor: str) -> None:
    db.table("evidence_refs").insert({
        "sha256": sha, "original_name": f"scan-{scan_id}.xml", "agency": agency, "system": "",
        "checklist": "", "item": "", "kind": "ket-qua-quet", "effective": day.isoformat(),
        "expires": None, "added_at": now(), "actor": actor,
    })
