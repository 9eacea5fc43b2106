"""Security-level operations: suggest, list against approvals, the determination sheet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from secaudit.services.workspace import Where, open_workspace


def suggest_levels(where: Where, system: str | None = None, *, agency: str | None = None,
                   as_of: dt.date) -> list[Any]:
    """The suggested minimum level of one system, or (``system`` None) of every system."""
    from secaudit import levels

    ws = open_workspace(where)
    if system is None:
        return list(levels.assess_all(ws, as_of=as_of, agency=agency))
    code, model = levels.find_system(ws, system, agency)
    return [levels.assess_system(ws, code, model, as_of=as_of)]


def suggestions_json(assessed: list[Any]) -> bytes:
    from secaudit import levels

    return bytes(levels.suggestions_json(assessed))


def suggestion_text(assessed: Any) -> str:
    from secaudit import levels

    return str(levels.suggestion_text(assessed))


def level_list(where: Where, *, agency: str | None = None, as_of: dt.date) -> list[dict[str, Any]]:
    """One row per system: suggested, proposed and approved level, dossier state and flags."""
    from secaudit import levels

    return list(levels.level_rows(levels.assess_all(open_workspace(where), as_of=as_of, agency=agency)))


def level_sheet(where: Where, system: str, *, agency: str | None = None, as_of: dt.date, fmt: str = "pdf",
                template_dir: Path | None = None) -> bytes:
    """The level determination sheet of a system as a PDF or HTML document."""
    from secaudit import levels
    from secaudit.reporting.level_sheet import render_sheet

    ws = open_workspace(where)
    code, model = levels.find_system(ws, system, agency)
    return render_sheet(levels.sheet_data(ws, code, model, as_of=as_of), fmt=fmt, template_dir=template_dir)
