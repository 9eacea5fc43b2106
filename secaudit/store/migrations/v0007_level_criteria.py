"""Level criteria the first columns could not express (NĐ 331 Đ14.2, Đ15.4, Đ16; NĐ 85/2016 public services).

``admin_procedures`` used to stand both for "handles administrative procedures" (NĐ 331 Đ13.2.b) and,
combined with ``online_service``, for "online public services of stage 3–4" (the NĐ 85/2016 level-3
rule). The second meaning now has its own column, ``public_service_stage``. Existing rows keep NULL
there: the stage was never declared, so it is unknown — the tool then shows both possible NĐ 85 levels
and asks for it instead of guessing. The other columns hold the 24/7 requirement of Đ14.2, the works
important to national security of Đ15.4 and Đ16.1, and the sub-criteria of Đ16.2–16.3.
"""

from __future__ import annotations

from typing import Any

VERSION = 7

COLUMNS: dict[str, type] = {
    "public_service_stage": int,
    "runs_247": int,
    "ns_works": int,
    "ns_telecom_works": int,
    "ns_sector": int,
    "ns_consequence": str,
}


def upgrade(db: Any) -> None:
    """Add the columns to ``systems`` (skipping any that already exist)."""
    existing = set(db["systems"].columns_dict)
    for name, kind in COLUMNS.items():
        if name not in existing:
            db["systems"].add_column(name, kind)
