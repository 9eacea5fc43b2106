"""When each inventory host was declared (``hosts.declared_at``).

A scan proves something about a host only if it ran after the host (with its current ports and
services) was declared: a host added after the last scan was never looked at. Hosts are rewritten
on every inventory change, so the time is kept per (system, address) by the inventory code and
moved forward whenever the host's ports or services change.

Existing hosts are back-filled from the change log: the newest entry that added or changed the
host's system (an import listing it as added or changed, ``system.add``, or a ``system.edit``
whose host list changed that address). Taking the newest such entry can only make a declaration
look later than it was — at worst a scan is asked for again, never a host taken as scanned.
Without any such entry the migration time is used, for the same reason.
"""

from __future__ import annotations

import json
from typing import Any

VERSION = 9


def _address(line: str) -> str:
    return line.split(" | ", 1)[0].strip()


def _touches(action: str, subject: str, detail: dict[str, Any], system: str, address: str) -> bool:
    if action == "inventory.import":
        if "added" in detail or "changed" in detail:
            return system in (detail.get("added") or []) or system in (detail.get("changed") or [])
        return system in (detail.get("systems") or [])
    if subject != system:
        return False
    if action == "system.add":
        return True
    if action == "system.edit":
        hosts = detail.get("hosts")
        if not (isinstance(hosts, list) and len(hosts) == 2):
            return False
        before = sorted(line for line in hosts[0] if _address(line) == address)
        after = sorted(line for line in hosts[1] if _address(line) == address)
        return before != after
    return False


def upgrade(db: Any) -> None:
    """Add ``hosts.declared_at`` and fill it from the change log."""
    from secaudit.store.workspace import now

    db["hosts"].add_column("declared_at", str)
    entries: dict[str, list[tuple[str, str, str, dict[str, Any]]]] = {}
    for ts, action, agency, subject, detail in db.execute(
            "select ts, action, agency, subject, detail from log where action in"
            " ('inventory.import', 'system.add', 'system.edit') order by seq").fetchall():
        try:
            parsed = json.loads(detail or "{}")
        except ValueError:
            parsed = {}
        entries.setdefault(agency or "", []).append((ts, action, subject or "", parsed if isinstance(parsed, dict)
                                                     else {}))
    fallback = now()
    updates = []
    for host_id, agency, system, address in db.execute(
            "select h.id, s.agency, s.code, h.address from hosts h join systems s on s.id = h.system_id").fetchall():
        times = [ts for ts, action, subject, detail in entries.get(agency, [])
                 if _touches(action, subject, detail, system, address)]
        updates.append((max(times) if times else fallback, host_id))
    if updates:
        db.conn.executemany("update hosts set declared_at = ? where id = ?", updates)
