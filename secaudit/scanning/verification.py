"""What a scan batch does not vouch for: hosts, ports and services declared but never really looked at.

An evaluation must not call a requirement met on the strength of a scan that never saw the host
(declared since), the port (outside the scanned list) or the service (its checks gave no output).
"""

from __future__ import annotations

import datetime as dt
import json

from secaudit import clock
from secaudit.scanning.plan import declared_hosts
from secaudit.scanning.profiles import shipped_rule_set
from secaudit.scanning.rules import Coverage
from secaudit.store.workspace import Workspace

__all__ = ["unverified"]


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
    rule_set = shipped_rule_set()
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
