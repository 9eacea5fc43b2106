"""The officer's narrative for an agency report (``report_notes``; issue 15).

One row per text written for one section of one agency's report over one period (a year, a day or
a range, both ends included, as ISO dates). Rows are only added: the newest row of the narrowest
period covering a report's date is the one printed (``secaudit.reporting.narrative``).
"""

from __future__ import annotations

from typing import Any

VERSION = 12


def upgrade(db: Any) -> None:
    """Create ``report_notes``."""
    db["report_notes"].create(
        {"id": int, "agency": str, "section": str, "period_start": str, "period_end": str, "period_label": str,
         "text": str, "actor": str, "written_at": str},
        pk="id", not_null={"agency", "section", "period_start", "period_end", "text", "actor", "written_at"},
    )
    db["report_notes"].create_index(["agency", "section"])
