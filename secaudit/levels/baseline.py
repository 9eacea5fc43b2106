"""The level a system's level baselines (``checklists/cap-do-*.yaml``) apply in the assessment.

Offered to the assessment as a function it is given, so that the requirements do not depend on the
level rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from secaudit import clock
from secaudit.levels.attributes import LEVEL_FIELDS, SYSTEM_FIELDS
from secaudit.levels.determine import choose_book, evaluate_book
from secaudit.levels.facts import facts_of_row
from secaudit.levels.rules import RuleSet, load_rules


def baseline_level(row: Mapping[str, Any], as_of: dt.date | None = None) -> int | None:
    """The level the level baselines apply: approved, else the suggested one when it is certain.

    ``None`` (unknown) when nothing is approved and missing facts leave a range: the items that depend
    on the level then say the level is unknown instead of being skipped (under-classification must not
    make requirements disappear).
    """
    approved = row.get("level_approved")
    if approved:
        return int(approved)
    day = as_of or clock.today()
    values = tuple(row.get(name) for name in _ROW_KEY)
    # the facts as the rules see them (a number by its side of each threshold the rules compare it
    # with, a date by its side of each transition cut-off): systems of a province share few of these
    plan = _plan(load_rules())
    seen = (day, tuple(_side(v, plan.get(name)) for name, v in zip(_ROW_KEY, values, strict=True)))
    if seen not in _LEVELS:
        if len(_LEVELS) >= 4096:
            _LEVELS.clear()
        _LEVELS[seen] = _certain_level(values, day)
    return _LEVELS[seen]


_ROW_KEY = (*SYSTEM_FIELDS, *LEVEL_FIELDS, "go_live", "project_start")
_DATES = ("go_live", "project_start")
#: (day, facts as the rules see them) -> the level (bounded: cleared when full)
_LEVELS: dict[tuple[Any, ...], int | None] = {}


def _side(value: Any, marks: tuple[Any, ...] | None) -> Any:
    """``value`` as its position against ``marks`` (-1, 0, 1 each), or as it is (no marks, unknown, odd type)."""
    if marks is None or value is None or isinstance(value, bool) or value != value:  # value != value: NaN
        return value
    try:
        if marks and isinstance(marks[0], dt.date) and not isinstance(value, dt.date):
            value = dt.date.fromisoformat(str(value)[:10])
        return (_SIDE, *((value > m) - (value < m) for m in marks))
    except (TypeError, ValueError):
        return value


_SIDE = object()  # marks a position tuple, so that it never equals a stored value
_PLANS: dict[int, tuple[RuleSet, dict[str, tuple[Any, ...]]]] = {}


def _plan(rules: RuleSet) -> dict[str, tuple[Any, ...]]:
    """:func:`_make_plan` of ``rules``, made once per rule set."""
    if id(rules) not in _PLANS:
        _PLANS[id(rules)] = (rules, _make_plan(rules))  # the rule set is kept, so its id stays its own
    return _PLANS[id(rules)][1]


def _make_plan(rules: RuleSet) -> dict[str, tuple[Any, ...]]:
    """Row field -> the values the rules compare it with, for the fields only ever compared as numbers
    (``gte``/``gt``/``lte``/``lt``/``eq``/``ne`` with a number) or as dates against transition cut-offs.

    Two values on the same side of every such mark give the same outcome of every comparison (and
    of the transition test), so they give the same level: :func:`_certain_level` is asked once for both.
    """
    marks: dict[str, set[Any]] = {}
    other: set[str] = set()

    def walk(cond: Any) -> None:
        if not isinstance(cond, Mapping):
            return
        if "attr" in cond:
            name = str(cond["attr"]).removeprefix("system.")
            op = next(k for k in cond if k != "attr")
            value = cond[op]
            if op == "known":
                return
            if op in ("gte", "gt", "lte", "lt", "eq", "ne") and isinstance(value, int | float) \
                    and not isinstance(value, bool):
                marks.setdefault(name, set()).add(value)
            else:
                other.add(name)
            return
        for value in cond.values():
            for sub in value if isinstance(value, list) else [value]:
                walk(sub)

    cutoffs: set[dt.date] = set()
    for book in rules.books.values():
        for rule in book.rules:
            walk(rule.when)
        if book.transition is not None:
            cutoffs.add(book.transition.construction_before)
    plan = {name: tuple(sorted(values)) for name, values in marks.items()
            if name not in other and name in (*SYSTEM_FIELDS, *LEVEL_FIELDS)}
    for name in _DATES:
        plan[name] = tuple(sorted(cutoffs))
    return plan


def _certain_level(key: tuple[Any, ...], as_of: dt.date) -> int | None:
    # the floor and ceiling of ``suggest`` without its walk through every answer of each unknown
    # attribute (which only explains the range and was most of the cost of a province roll-up)
    facts = facts_of_row(dict(zip(_ROW_KEY, key, strict=True)))
    book, _, _ = choose_book(load_rules(), facts, as_of)
    _, floor, ceiling, _ = evaluate_book(book, facts)
    return floor if floor == ceiling else None
