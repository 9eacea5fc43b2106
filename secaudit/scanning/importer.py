"""Importing an nmap XML file made elsewhere as a scan of one system, with the same checks as a live scan.

Every host in the file must be declared for the system (or lie in an authorised scope); a file
that covers anything else is refused whole. The file is read streaming.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, InvalidTargetError, NotFoundError, OutOfScopeError, ScanError
from secaudit.scanning.nmap_argv import port_set
from secaudit.scanning.nmap_xml import iter_hosts
from secaudit.scanning.owners import PENDING
from secaudit.scanning.plan import declared_hosts
from secaudit.scanning.profiles import load_rules, load_scan_profile
from secaudit.scanning.record import Recorder, ScanOutcome, add_evidence_ref, inserted_id
from secaudit.scanning.rules import Coverage
from secaudit.scanning.scope import load_scope
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, now

__all__ = ["import_scan"]


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
        scan_id = inserted_id(db.table("scans").insert({
            "agency": agency, "system": system, "profile": profile.id, "status": "running", "started": now(),
            "argv": dumps([]), "operator": actor, "targets": dumps([h.address for h in hosts]),
            "batch": uuid.uuid4().hex[:12], "source": "import", "command": dumps(command) if command else None,
        }))
        for host in hosts:
            db.table("scan_hosts").insert({"scan_id": scan_id, "system": host.system, "address": host.address,
                                     "declared": 1, "state": "unknown", "reason": PENDING})
        recorder: Recorder | None = None
        try:
            for observed in stream:
                if recorder is None:
                    started = stream.result.started or clock.now()
                    coverage = _imported_coverage(stream.result.args, stream.result.scanned_ports)
                    recorder = Recorder(db, scan_id, agency, hosts, rules, coverage, started, scope)
                recorder.add(observed)  # read to the end: a refusal states the exact count
        except ScanError as exc:
            raise ScanError(exc.message, en=exc.en, where=str(path)) from None
        result = stream.result
        started_at = result.started or clock.now()
        if recorder is None:
            recorder = Recorder(db, scan_id, agency, hosts, rules,
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
        add_evidence_ref(db, sha, scan_id, agency, started_at.date(), actor)
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
