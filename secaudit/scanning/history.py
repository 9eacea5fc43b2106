"""Reading scan history: the scan list, the latest scans for a report, findings over time, diffs."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, NotFoundError
from secaudit.scanning.nmap_xml import HostResult, PortResult, ScriptOutput
from secaudit.scanning.owners import reap_abandoned
from secaudit.scanning.profiles import load_rules
from secaudit.scanning.rules import Coverage, rechecked
from secaudit.store.workspace import Workspace, split_refs

__all__ = ["FINDING_STATUSES", "diff_scans", "latest_scans", "list_findings", "open_findings", "scan_rows"]


def scan_rows(ws: Workspace, agency: str | None = None) -> list[dict[str, Any]]:
    """Every scan (newest last) with its counts, for ``scan list``; abandoned scans are marked first."""
    reap_abandoned(ws)
    sql = ("select s.id, s.agency, s.system, s.profile, s.source, s.status, s.started, s.finished, s.nmap_version,"
           " s.operator, s.xml_sha256, (select count(distinct fkey) from findings f where f.scan_id = s.id)"
           " as findings from scans s")
    params: list[Any] = []
    if agency:
        sql += " where s.agency = ?"
        params.append(agency)
    return list(ws.db.query(sql + " order by s.id", params))


def latest_scans(ws: Workspace, agency: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Scans of ``agency`` started on or before ``as_of``, newest first: the scan rows only (``argv`` as a
    list). What a scan saw is read for the scans that count (``reporting.data``), not for every old one."""
    reap_abandoned(ws)
    scans = list(ws.db.query(
        "select * from scans where agency = ? and date(started) <= ? order by started desc, id desc",
        [agency, as_of.isoformat()]))
    for scan in scans:
        scan["argv"] = json.loads(scan["argv"] or "[]")
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
            entry["refs"] += [ref for ref in split_refs(f["bears_on"]) if ref not in entry["refs"]]
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
