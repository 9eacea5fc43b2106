"""Assessment sessions and dated answers.

- ``answers.effective``: the day the answered facts hold from (the assessment or decision date).
  An answer dated after the evaluation day does not count yet, and a recurring duty (a yearly
  review) is due again counted from this day rather than from when someone typed it in.
- ``assess_sessions``: where an interactive ``secaudit assess`` walk stands, so that a walk that
  was stopped (``q``, Ctrl-C, a closed terminal) resumes at the next item. It is a bookmark, not
  evidence: the answers themselves go to ``answers`` and the change log as before.
"""

from __future__ import annotations

from typing import Any

VERSION = 6


def upgrade(db: Any) -> None:
    """Add ``answers.effective`` and the ``assess_sessions`` table."""
    db["answers"].add_column("effective", str)
    db["assess_sessions"].create(
        {
            "id": int, "agency": str, "system": str, "profile": str, "as_of": str, "started": str,
            "updated": str, "finished": str, "cursor": str, "answered": int, "skipped": int, "actor": str,
        },
        pk="id", not_null={"agency", "system", "profile", "started"},
        foreign_keys=[("agency", "agencies", "code")],
    )
    db["assess_sessions"].create_index(["agency", "system"])
