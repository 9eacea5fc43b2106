"""Scan history: what each scan covered and under which authority, and findings followed over time.

- ``scans`` gains the facts an inspector needs to trust a scan later: the batch it belongs to (one
  ``secaudit scan`` command may run several nmap processes, one scan row each), where it came
  from (``nmap`` run here or ``import`` of a file made elsewhere), the secaudit command and the
  authorised scope it ran under, the day its results stop proving anything (``fresh_until``, from
  the scan profile), nmap's exit code and stderr, and what it covered (ports, scripts, ``-sV``)
  so that a finding missing from a later scan is only called fixed when that scan looked again.
- ``scan_ports.method``: whether nmap's service name was probed (``-sV``) or guessed from the port.
- ``finding_tracks``: one row per finding identity (rule, system, address, port) with first seen,
  last seen and resolved; ``findings`` rows of each scan point at their track.
"""

from __future__ import annotations

from typing import Any

VERSION = 2


def upgrade(db: Any) -> None:
    """Add the scan provenance columns and the ``finding_tracks`` table."""
    for column, kind in (("batch", str), ("source", str), ("command", str), ("scope", str),
                         ("fresh_until", str), ("returncode", int), ("stderr", str), ("coverage", str)):
        db["scans"].add_column(column, kind)
    db["scans"].create_index(["agency", "started"])
    db["scan_hosts"].create_index(["system", "address"])
    db["scan_ports"].add_column("method", str)
    db["findings"].add_column("fkey", str)
    db["findings"].add_column("track_id", int)
    db["finding_tracks"].create(
        {
            "id": int, "agency": str, "system": str, "address": str, "port": int, "rule": str, "fkey": str,
            "bears_on": str, "severity": str, "title": str, "detail": str, "status": str,
            "first_seen": str, "first_scan": int, "last_seen": str, "last_scan": int,
            "resolved_at": str, "resolved_scan": int, "reopened": int,
        },
        pk="id", not_null={"agency", "system", "address", "rule", "fkey", "status", "first_seen", "first_scan"},
    )
    db["finding_tracks"].create_index(["agency", "system", "fkey"], unique=True)
    db["finding_tracks"].create_index(["agency", "status"])
