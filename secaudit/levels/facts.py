"""A system's facts: the rule attributes read from the inventory model or from a workspace row.

``None`` means unknown, never "no": the determination keeps unknowns open instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from secaudit.inventory.models import System
from secaudit.levels.attributes import BOOL_ATTRS, LEVEL_FIELDS, SYSTEM_FIELDS

Facts = dict[str, Any]


def facts_of(system: System) -> Facts:
    """The rule attributes of a system model (enums as their codes, ``None`` = unknown)."""
    out: Facts = {}
    for name in SYSTEM_FIELDS:
        out[f"system.{name}"] = _plain(getattr(system, name))
    for name in LEVEL_FIELDS:
        out[f"system.{name}"] = _plain(getattr(system.level, name))
    out["go_live"] = system.go_live
    out["project_start"] = system.level.project_start
    return out


def facts_of_row(row: Mapping[str, Any]) -> Facts:
    """The same facts from a ``systems`` table row (booleans stored as 0/1, dates as ISO text)."""
    out: Facts = {}
    for name in (*SYSTEM_FIELDS, *LEVEL_FIELDS):
        attr = f"system.{name}"
        value = row.get(name)
        out[attr] = bool(value) if attr in BOOL_ATTRS and value is not None else value
    out["go_live"] = _date(row.get("go_live"))
    out["project_start"] = _date(row.get("project_start"))
    return out


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
