"""Level tracking: the dossier dates, body kinds and determination inputs of ``models.Level``.

The security-level rules (``secaudit.levels``) need a few facts the first schema did not keep: who
appraised and approved (as a kind, so authority can be checked against NĐ 331 Đ18), when the dossier
was submitted and appraised (the Đ23–24 time limits), the quy chế decision number and the planned
approval date (Mẫu 08), when the project started (Đ39 transition), and the inputs of Đ11–16 that no
System attribute holds. Every column is nullable: NULL is "unknown", as everywhere in the inventory.
"""

from __future__ import annotations

from typing import Any

VERSION = 5

COLUMNS: dict[str, type] = {
    "appraised_by_kind": str,
    "approved_by_kind": str,
    "submitted_date": str,
    "appraised_date": str,
    "regulation_number": str,
    "expected_approval": str,
    "project_start": str,
    "private_info": int,
    "security_harm": str,
    "national_data_store": int,
    "international_link": int,
    "ns_important": int,
    "assigned_level": int,
    "assigned_by": str,
}


def upgrade(db: Any) -> None:
    """Add the level columns to ``systems`` (skipping any that already exist)."""
    existing = set(db["systems"].columns_dict)
    for name, kind in COLUMNS.items():
        if name not in existing:
            db["systems"].add_column(name, kind)
