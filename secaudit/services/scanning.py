"""Scanning operations: scan an agency, import an nmap XML, list scans and findings, compare scans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from secaudit.services.workspace import Where, actor_name, open_workspace


def scan_agency(where: Where, agency: str, *, system: str | None = None, profile: str = "nhanh",
                actor: str | None = None, scope_file: Path | None = None, allow_large: bool = False,
                jobs: int = 1, syn: bool = False, progress: Callable[[Any], None] | None = None,
                command: dict[str, Any] | None = None) -> Any:
    """Scan an agency's declared hosts with nmap and store the results as evidence."""
    from secaudit.scanning import batch

    return batch.scan_agency(open_workspace(where), agency, system=system, profile_id=profile,
                             actor=actor_name(actor), scope_file=scope_file, allow_large=allow_large, jobs=jobs,
                             syn=syn, progress=progress, command=command)


def scan_province(where: Where, agencies: list[str] | None = None, *, profile: str = "nhanh",
                  actor: str | None = None, allow_large: bool = False, jobs: int = 1, syn: bool = False,
                  progress: Callable[[Any], None] | None = None, command: dict[str, Any] | None = None) -> Any:
    """Scan several agencies' (or every agency's) declared hosts in one planned pass."""
    from secaudit.scanning import province

    return province.scan_province(open_workspace(where), agencies, profile_id=profile, actor=actor_name(actor),
                                  allow_large=allow_large, jobs=jobs, syn=syn, progress=progress, command=command)


def import_scan(where: Where, xml_file: Path, *, system: str, agency: str | None = None, actor: str | None = None,
                scope_file: Path | None = None, profile: str = "nhanh",
                command: dict[str, Any] | None = None) -> Any:
    """Import an nmap XML made elsewhere, checked like a scan run here."""
    from secaudit.scanning import importer

    return importer.import_scan(open_workspace(where), xml_file, system=system, agency=agency,
                                actor=actor_name(actor), scope_file=scope_file, profile_id=profile, command=command)


def diff_scans(where: Where, scan_a: int, scan_b: int) -> list[dict[str, Any]]:
    from secaudit.scanning import history

    return history.diff_scans(open_workspace(where), scan_a, scan_b)


def list_scans(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    from secaudit.scanning import history

    return history.scan_rows(open_workspace(where), agency)


def list_findings(where: Where, *, agency: str | None = None, system: str | None = None,
                  status: str = "open") -> list[dict[str, Any]]:
    from secaudit.scanning import history

    return history.list_findings(open_workspace(where), agency=agency, system=system, status=status)
