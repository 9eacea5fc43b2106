"""Who runs a scan (``scans.owner_pid``, ``owner_start``, ``owner_host``).

A scan row is written ``running`` before nmap starts and finished when it ends. A process killed
outright (SIGKILL, power loss) never finishes its rows; with the owner recorded, a later command
can see that the process is gone (``os.kill(pid, 0)``, and the start time from ``/proc`` to tell a
reused pid) and mark the scan interrupted instead of showing it running forever. Rows from before
have no owner; one of them still ``running`` is treated as abandoned.
"""

from __future__ import annotations

from typing import Any

VERSION = 11


def upgrade(db: Any) -> None:
    """Add the owner columns to ``scans``."""
    table = db["scans"]
    table.add_column("owner_pid", int)
    table.add_column("owner_start", str)
    table.add_column("owner_host", str)
