"""Agency role: which named agency a provincial letter gives a duty to (``models.Agency.role``).

Seed 000 (Công văn …/UBND-VX, 5/2026) asks Sở Khoa học và Công nghệ, and no other sở, to report to
UBND tỉnh before 27/5/2026; ``kind`` cannot tell that sở from the others. Existing agencies get
``none``, the model's default: a role is only ever declared, never guessed.
"""

from __future__ import annotations

from typing import Any

VERSION = 8


def upgrade(db: Any) -> None:
    """Add ``agencies.role`` (``none`` for the agencies already stored)."""
    if "role" not in db["agencies"].columns_dict:
        db["agencies"].add_column("role", str)
    db.execute("update agencies set role = 'none' where role is null")
