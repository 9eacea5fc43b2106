"""Evidence operations: attach a file, list, show, verify the store, the per-file size limit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secaudit.services.workspace import Where, actor_name, open_workspace

if TYPE_CHECKING:
    from secaudit.requirements.evidence import VerifyReport


def add_evidence(where: Where, file: Path, *, actor: str | None = None, agency: str | None = None,
                 system: str | None = None, kind: str | None = None, item: str | None = None,
                 effective: dt.date | None = None, expires: dt.date | None = None,
                 note: str | None = None) -> dict[str, Any]:
    """Store a file by its SHA-256, linked to the answer of ``item`` (``CHECKLIST:ITEM``) when given.

    Returns the reference row; its ``answer`` is the linked answer's status (None: not answered yet).
    ``kind`` defaults to the kind of document the item asks for (unclassified without an item).
    """
    from secaudit.requirements import evidence

    return evidence.add(open_workspace(where), file, actor=actor_name(actor), agency=agency, system=system,
                        kind=kind, effective=effective, expires=expires, item=item, note=note)


def evidence_backs(ref: dict[str, Any]) -> str | None:
    """The requirement a stored file is evidence for (``CHECKLIST:ITEM``), or None."""
    from secaudit.requirements import evidence

    return evidence.backs(ref)


def list_evidence(where: Where, agency: str | None = None, system: str | None = None) -> list[dict[str, Any]]:
    """Stored evidence references, each with ``backs`` (the requirement it proves, or None)."""
    from secaudit.requirements import evidence

    rows = evidence.list_refs(open_workspace(where), agency, system)
    return rows


def list_evidence_files(where: Where, agency: str | None = None,
                        system: str | None = None) -> list[dict[str, Any]]:
    """Stored files, once each per agency, with ``links`` (the requirements each backs; linked first)."""
    from secaudit.requirements import evidence

    return evidence.list_files(open_workspace(where), agency, system)


def show_evidence(where: Where, sha256: str) -> dict[str, Any]:
    """One stored file (by full hash or a prefix of at least 6 characters) and where it is used."""
    from secaudit.requirements import evidence

    return evidence.show(open_workspace(where), sha256)


def verify_evidence(where: Where) -> VerifyReport:
    """Re-hash every stored file; the report lists missing or altered files and strays."""
    from secaudit.requirements import evidence

    return evidence.verify(open_workspace(where))


def evidence_limit(where: Where) -> int:
    """The per-file size limit in bytes."""
    return int(open_workspace(where).evidence_max_bytes())


def set_evidence_limit(where: Where, size: str | None, *, actor: str | None = None) -> int:
    """Set the per-file limit from text such as ``50MB`` (None: back to the default); returns it."""
    from secaudit.requirements import evidence

    return evidence.set_limit(open_workspace(where), None if size is None else evidence.parse_size(size),
                              actor=actor_name(actor))
