"""The level a system's level baselines (``checklists/cap-do-*.yaml``) apply in the assessment.

Offered to the assessment as a function it is given, so that the requirements do not depend on the
level rules.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from secaudit import clock
from secaudit.levels.attributes import LEVEL_FIELDS, SYSTEM_FIELDS
from secaudit.levels.determine import choose_book, evaluate_book
from secaudit.levels.facts import facts_of_row
from secaudit.levels.rules import load_rules


def baseline_level(row: Mapping[str, Any], as_of: dt.date | None = None) -> int | None:
    """The level the level baselines apply: approved, else the suggested one when it is certain.

    ``None`` (unknown) when nothing is approved and missing facts leave a range: the items that depend
    on the level then say the level is unknown instead of being skipped (under-classification must not
    make requirements disappear).
    """
    approved = row.get("level_approved")
    if approved:
        return int(approved)
    key = tuple(row.get(name) for name in _ROW_KEY)  # cheap: the lookup runs once per item and system
    return _certain_level(key, as_of or clock.today())


_ROW_KEY = (*SYSTEM_FIELDS, *LEVEL_FIELDS, "go_live", "project_start")


@functools.lru_cache(maxsize=4096)
def _certain_level(key: tuple[Any, ...], as_of: dt.date) -> int | None:
    # the floor and ceiling of ``suggest`` without its walk through every answer of each unknown
    # attribute (which only explains the range and was most of the cost of a province roll-up)
    facts = facts_of_row(dict(zip(_ROW_KEY, key, strict=True)))
    book, _, _ = choose_book(load_rules(), facts, as_of)
    _, floor, ceiling, _ = evaluate_book(book, facts)
    return floor if floor == ceiling else None
