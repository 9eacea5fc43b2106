"""The tamper-evident change log: list, verify, head."""

from __future__ import annotations

from typing import Any

from secaudit.errors import SecauditError
from secaudit.services.workspace import Where, open_workspace


def log_entries(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    """Every log entry (of one agency when given), oldest first."""
    from secaudit.store import auditlog

    return auditlog.entries(open_workspace(where), agency)


def verify_log(where: Where, expect_head: str | None = None) -> tuple[int, str] | None:
    """Check the hash chain; returns the head (entries, hash) or None for an empty log.

    Raises ``SecauditError`` listing every broken entry.
    """
    from secaudit.store import auditlog

    ws = open_workspace(where)
    problems = auditlog.verify(ws, expect_head)
    if problems:
        raise SecauditError("\n".join(f"mục #{p.seq}: {p.problem}" for p in problems),
                            en="audit log verification failed")
    return log_head(ws)


def log_head(where: Where) -> tuple[int, str] | None:
    """The newest entry's number and hash, or None for an empty log."""
    from secaudit.store import auditlog

    head = auditlog.head(open_workspace(where))
    return (head[0], head[1]) if head else None
