"""Who runs a scan, and recognising scans whose process died (SIGKILL, power loss).

Kept apart from the recorder so that opening a workspace — which every command does, and which
marks abandoned scans — needs only the store, not the scan rules and the nmap parser.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

PENDING = "lần quét chưa hoàn tất (bị ngắt?) / scan not finished (interrupted?)"
ABANDONED = ("lần quét bị bỏ dở: tiến trình quét đã dừng đột ngột (bị kill?) trước khi ghi kết quả"
             " / scan abandoned: the scanning process died before recording its results")


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from ``/proc``; None where unreadable."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # the name in parentheses may contain spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


def owner() -> dict[str, Any]:
    """Who is running a scan, stored in its row so a later command can tell a scan that died.

    The pid alone is not enough (pids are reused); its start time from ``/proc`` and the host name
    pin it down.
    """
    stat = _proc_stat(os.getpid())
    return {"owner_pid": os.getpid(), "owner_start": stat[1] if stat else None, "owner_host": socket.gethostname()}


def owner_alive(pid: int | None, start: str | None, host: str | None) -> bool | None:
    """Whether the process that owns a ``running`` scan still runs; None when this machine cannot tell."""
    if host and host != socket.gethostname():
        return None
    if not isinstance(pid, int) or pid <= 0:
        return False  # a row from before owners were recorded, or nonsense: nobody can be running it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to someone else
    except OSError:
        return None
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    if state in ("Z", "X"):
        return False
    return not (start and started != start)  # same pid, other start time: the pid was reused


def reap_abandoned(ws: Workspace, *, actor: str = "secaudit") -> list[int]:
    """Mark ``running`` scans whose process is gone as ``interrupted`` (abandoned); returns their ids.

    A scan killed outright (SIGKILL, power loss) cannot record its own end; without this its row
    would read "running" forever and its pending hosts would look like a scan still in progress.
    """
    rows = ws.db.execute("select id, agency, owner_pid, owner_start, owner_host from scans"
                         " where status = 'running'").fetchall()
    dead = [r for r in rows if owner_alive(r[2], r[3], r[4]) is False]
    if not dead:
        return []
    reaped: list[int] = []
    with ws.transaction() as db:
        for scan_id, agency, pid, _, _ in dead:
            changed = db.execute("update scans set status = 'interrupted', error = ?"
                                 " where id = ? and status = 'running'", [ABANDONED, scan_id]).rowcount
            if not changed:
                continue  # recorded meanwhile
            db.execute("update scan_hosts set reason = ? where scan_id = ? and reason = ?",
                       [ABANDONED, scan_id, PENDING])
            auditlog.append(ws, actor=actor, action="scan.abandoned", agency=agency, subject=f"scan-{scan_id}",
                            detail={"status": "interrupted", "owner_pid": pid})
            reaped.append(scan_id)
    return reaped
