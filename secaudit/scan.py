"""Scanning an agency's declared hosts as evidence.

Targets come only from the inventory (each parsed and validated before nmap is even looked
for), nmap runs with an allow-listed argument list, its raw XML is stored in the evidence store,
and what it observed is written as rows. A declared host that nmap could not reach, that timed out
or on which nothing answered is *unknown* — never a pass. Observations become findings through the
rules in ``checklists/_scan-rules.yaml``; each finding names the requirement it bears on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticError

from . import auditlog, yamlio
from .errors import InputError, NotFoundError, ScanError, ValidationError
from .models import Strict
from .resources import data_dir
from .scanner import (
    HostResult,
    NmapRun,
    ScanResult,
    Target,
    build_argv,
    nmap_version,
    parse_target,
    parse_xml,
    run_nmap,
)
from .store import Workspace, dumps, now

RULES_FILE = "_scan-rules.yaml"
PENDING = "lần quét chưa hoàn tất (bị ngắt?) / scan not finished (interrupted?)"


class ScanSettings(Strict):
    """The ``scan:`` part of a scan profile."""

    ports: str
    options: list[str] = Field(default_factory=list)
    freshness_days: int = Field(default=30, ge=1, le=3650)
    timeout_seconds: int = Field(default=1800, ge=10)


class ScanProfile(Strict):
    """A named scan profile from ``profiles/<id>.yaml``."""

    id: str
    title: str
    title_en: str | None = None
    scan: ScanSettings


class ScanRule(Strict):
    """A rule turning observations into findings: which check, how severe, which requirement."""

    id: str
    title: str
    title_en: str | None = None
    severity: Literal["thap", "trung-binh", "cao", "nghiem-trong"]
    check: Literal["undeclared_port", "declared_port_missing", "risky_service"]
    bears_on: list[str] = Field(min_length=1)  # "checklist:item"
    ports: list[int] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)


class ScanRules(Strict):
    rules: list[ScanRule]


def load_scan_profile(profile_id: str) -> ScanProfile:
    path = data_dir("profiles") / f"{profile_id}.yaml"
    if not path.is_file():
        raise NotFoundError(f"Không có hồ sơ quét '{profile_id}'", en=f"no scan profile '{profile_id}'")
    located = yamlio.load(path)
    try:
        profile = ScanProfile.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    build_argv([], ports=profile.scan.ports, options=profile.scan.options)  # allow-list check up front
    return profile


def load_rules() -> list[ScanRule]:
    path = data_dir("checklists") / RULES_FILE
    located = yamlio.load(path)
    try:
        return ScanRules.model_validate(located.data).rules
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise


@dataclass
class DeclaredHost:
    """A host as the inventory declares it, with its validated target."""

    system: str
    address: str
    target: Target
    ports: set[int]
    public_web: bool


@dataclass
class ScanOutcome:
    """What one scan produced, for the CLI to summarise."""

    scan_id: int
    status: str
    hosts: dict[str, str] = field(default_factory=dict)  # address -> state
    open_ports: int = 0
    findings: int = 0
    error: str | None = None


def declared_hosts(ws: Workspace, agency: str, system: str | None = None) -> list[DeclaredHost]:
    """Every declared host of the agency (or of one system), each target re-validated."""
    ws.require_agency(agency)
    sql = ("select s.code, h.address, h.ports, h.public_web from hosts h join systems s on s.id = h.system_id"
           " where s.agency = ?")
    params: list[Any] = [agency]
    if system:
        ws.system_id(agency, system)
        sql += " and s.code = ?"
        params.append(system)
    out = []
    for code, address, ports, public_web in ws.db.execute(sql + " order by s.position, h.position", params):
        target = parse_target(address)
        declared = {int(p["port"]) for p in json.loads(ports or "[]") if p.get("protocol", "tcp") == "tcp"}
        if target.port:
            declared.add(target.port)
        out.append(DeclaredHost(code, address, target, declared, bool(public_web)))
    return out


Runner = Callable[[list[str]], NmapRun]


def scan_agency(
    ws: Workspace, agency: str, *, system: str | None = None, profile_id: str = "nhanh", actor: str,
    runner: Runner | None = None,
) -> ScanOutcome:
    """Scan the declared hosts of ``agency`` (or one system) and record everything as evidence."""
    profile = load_scan_profile(profile_id)
    rules = load_rules()
    hosts = declared_hosts(ws, agency, system)
    if not hosts:
        raise InputError(
            f"Cơ quan '{agency}' chưa khai báo máy chủ nào để quét", en="no declared hosts to scan"
        )
    ports = _port_list(profile.scan.ports, hosts)
    targets = list(dict.fromkeys(h.target for h in hosts))
    argv = build_argv(targets, ports=ports, options=profile.scan.options)
    version = nmap_version()
    started = now()
    with ws.transaction() as db:
        scan_id = int(db["scans"].insert({
            "agency": agency, "system": system or "", "profile": profile.id, "status": "running",
            "started": started, "argv": dumps(argv), "nmap_version": version, "operator": actor,
            "targets": dumps([h.address for h in hosts]),
        }).last_pk)
        for host in hosts:  # pending until the run is recorded: an interrupted scan shows unknown hosts
            db["scan_hosts"].insert({"scan_id": scan_id, "system": host.system, "address": host.address,
                                     "declared": 1, "state": "unknown", "reason": PENDING})
    run = (runner or (lambda a: run_nmap(a, timeout=profile.scan.timeout_seconds)))(argv)
    return record_run(ws, scan_id, agency, hosts, run, rules, actor=actor)


def _port_list(profile_ports: str, hosts: list[DeclaredHost]) -> str:
    extra = sorted({p for h in hosts for p in h.ports})
    return ",".join([profile_ports, *(str(p) for p in extra)]) if extra else profile_ports


def record_run(
    ws: Workspace, scan_id: int, agency: str, hosts: list[DeclaredHost], run: NmapRun, rules: list[ScanRule],
    *, actor: str,
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
    with ws.transaction() as db:
        db["scans"].update(scan_id, {
            "status": status, "finished": run.finished.replace(microsecond=0).isoformat(),
            "xml_sha256": xml_sha, "error": error,
        })
        if xml_sha:
            db["evidence_refs"].insert({
                "sha256": xml_sha, "original_name": f"scan-{scan_id}.xml", "agency": agency, "system": "",
                "checklist": "", "item": "", "kind": "ket-qua-quet", "effective": run.started.date().isoformat(),
                "expires": None, "added_at": now(), "actor": actor,
            })
        for host in hosts:
            observed = _match_host(result, host) if result else None
            state, reason = _host_state(observed, result is not None)
            outcome.hosts[host.address] = state
            hid = _host_row(db, scan_id, host)
            db["scan_hosts"].update(hid, {"state": state, "reason": reason})
            if observed is None:
                continue
            for port in observed.ports:
                db["scan_ports"].insert({
                    "scan_host_id": hid, "port": port.port, "protocol": port.protocol, "state": port.state,
                    "service": port.service, "product": port.product, "version": port.version,
                    "tunnel": port.tunnel,
                    "scripts": dumps({k: {"output": v.output, "data": v.data} for k, v in port.scripts.items()}),
                })
                outcome.open_ports += port.state == "open"
            if state != "up":
                continue
            for finding in _apply_rules(rules, host, observed):
                checklist, _, item = finding.pop("bears_on").partition(":")
                db["findings"].insert({"scan_id": scan_id, "agency": agency, "system": host.system,
                                       "checklist": checklist, "item": item, **finding})
                outcome.findings += 1
        auditlog.append(ws, actor=actor, action="scan.run", agency=agency, subject=f"scan-{scan_id}",
                        detail={"status": status, "xml_sha256": xml_sha, "hosts": outcome.hosts})
    return outcome


def _host_row(db: Any, scan_id: int, host: DeclaredHost) -> int:
    row = db.execute("select id from scan_hosts where scan_id = ? and system = ? and address = ?",
                     [scan_id, host.system, host.address]).fetchone()
    if row is not None:
        return int(row[0])
    return int(db["scan_hosts"].insert({"scan_id": scan_id, "system": host.system, "address": host.address,
                                        "declared": 1, "state": "unknown", "reason": PENDING}).last_pk)


def _match_host(result: ScanResult, host: DeclaredHost) -> HostResult | None:
    by_address = result.host_map()
    if host.target.value in by_address:
        return by_address[host.target.value]
    for candidate in result.hosts:
        if host.target.value in candidate.hostnames:
            return candidate
    return None


def _host_state(observed: HostResult | None, parsed: bool) -> tuple[str, str]:
    if not parsed:
        return "unknown", "không đọc được kết quả nmap / nmap output unreadable"
    if observed is None:
        return "unknown", "máy chủ không có trong kết quả nmap (quét dở hoặc không phân giải được tên)"
    if observed.timed_out:
        return "unknown", "hết thời gian quét máy chủ (host timeout)"
    if observed.state != "up":
        return "unknown", f"máy chủ không phản hồi ({observed.reason or observed.state})"
    if not any(p.state == "open" for p in observed.ports):
        return "unknown", "không cổng nào mở: không kiểm chứng được dịch vụ đã khai báo / no open port answered"
    return "up", observed.reason or ""


def _apply_rules(rules: list[ScanRule], host: DeclaredHost, observed: HostResult) -> list[dict[str, Any]]:
    open_ports = {p.port: p for p in observed.ports if p.state == "open" and p.protocol == "tcp"}
    found: list[dict[str, Any]] = []
    for rule in rules:
        hits: list[tuple[int | None, str]] = []
        if rule.check == "undeclared_port":
            hits = [(n, f"{p.service or '?'} {p.product or ''}".strip()) for n, p in open_ports.items()
                    if n not in host.ports]
        elif rule.check == "declared_port_missing":
            hits = [(n, "") for n in sorted(host.ports) if n not in open_ports]
        elif rule.check == "risky_service":
            hits = [(n, p.service or "") for n, p in open_ports.items()
                    if n in rule.ports or (p.service or "") in rule.services]
        for port, detail in hits:
            for ref in rule.bears_on:
                found.append({"address": host.address, "port": port, "rule": rule.id, "severity": rule.severity,
                              "title": rule.title, "detail": detail, "bears_on": ref})
    return found


def scan_rows(ws: Workspace, agency: str | None = None) -> list[dict[str, Any]]:
    sql = "select id, agency, system, profile, status, started, finished, nmap_version, operator, xml_sha256 from scans"
    params: list[Any] = []
    if agency:
        sql += " where agency = ?"
        params.append(agency)
    return list(ws.db.query(sql + " order by id", params))


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


__all__ = ["ScanOutcome", "ValidationError", "declared_hosts", "latest_scans", "load_rules", "load_scan_profile",
           "record_run", "scan_agency", "scan_rows"]
