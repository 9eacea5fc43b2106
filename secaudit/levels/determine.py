"""Determination: the minimum level the rule book in force gives a system's facts.

An under-classified system escapes the requirements it should meet, so the level is worked out from
the inventory instead of trusting the proposal. :func:`suggest` returns every criterion that fired,
the minimum level, the highest level still possible while some attribute is unknown, and for each
such attribute what each answer would give; it applies the NĐ 331 Đ39.1 transition when choosing
the rule book.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from secaudit.inventory.models import VALUE_LABELS
from secaudit.levels.attributes import ATTRIBUTES, LABEL_SETS
from secaudit.levels.facts import Facts
from secaudit.levels.rules import Rule, RuleBook, RuleSet, Transition, load_rules
from secaudit.requirements import conditions


@dataclass
class Criterion:
    """One rule's outcome for one system."""

    rule: Rule
    value: bool | None
    unknown: list[str] = field(default_factory=list)
    assumed: bool = False  # unknown but counted as not met (assume_if_unknown)


@dataclass
class Option:
    """One answer to an unknown attribute and the levels it would give."""

    label: str
    value: Any
    level: int
    ceiling: int

    def range_text(self) -> str:
        return str(self.level) if self.level == self.ceiling else f"{self.level}–{self.ceiling}"


@dataclass
class Alternative:
    """An unknown attribute that could change the level, with what each answer would give."""

    attr: str
    description: str
    options: list[Option]

    @property
    def decisive(self) -> bool:
        """Whether the answer alone changes the outcome (otherwise it only matters with other answers)."""
        return len({(o.level, o.ceiling) for o in self.options}) > 1


@dataclass
class Suggestion:
    """The outcome of the level rules for one system on one date."""

    book: RuleBook
    as_of: dt.date
    level: int  # the minimum level the known facts establish (1 when no criterion fired)
    ceiling: int  # the highest level still possible while some attribute is unknown
    criteria: list[Criterion]
    alternatives: list[Alternative]
    ns_important: bool | None
    regime_note: str | None = None
    transition: bool | None = False  # in the Đ39.1 transition (None: cannot tell)

    @property
    def certain(self) -> bool:
        return self.level == self.ceiling

    @property
    def fired(self) -> list[Criterion]:
        return [c for c in self.criteria if c.value]

    @property
    def deciding(self) -> list[Criterion]:
        """The fired criteria of the highest level: the reason for the minimum."""
        return [c for c in self.fired if c.rule.effect == "level" and c.rule.level == self.level]

    @property
    def open(self) -> list[Criterion]:
        return [c for c in self.criteria if c.value is None and not c.assumed]

    @property
    def assumed(self) -> list[Criterion]:
        return [c for c in self.criteria if c.assumed]

    @property
    def unverified(self) -> list[Rule]:
        """Fired criteria whose wording is not checked against the official text."""
        return [c.rule for c in self.fired if c.rule.unverified]

    def range_text(self) -> str:
        return str(self.level) if self.certain else f"{self.level}–{self.ceiling}"


def _lookup(facts: Facts) -> conditions.Lookup:
    def lookup(attr: str) -> Any:
        return facts.get(attr)

    return lookup


def evaluate_book(book: RuleBook, facts: Facts) -> tuple[list[Criterion], int, int, bool | None]:
    lookup = _lookup(facts)
    criteria: list[Criterion] = []
    for rule in book.rules:
        outcome = conditions.evaluate(rule.when, lookup)
        assumed = outcome.value is None and rule.assume_if_unknown
        criteria.append(Criterion(rule, outcome.value, sorted(outcome.unknown), assumed))
    levels = [c.rule.level for c in criteria if c.value and c.rule.level]
    floor = max(levels, default=1)
    possible = [c.rule.level for c in criteria if c.value is None and not c.assumed and c.rule.level]
    ceiling = max([floor, *possible])
    ns: bool | None = False
    if any(c.value and c.rule.effect == "ns-important" for c in criteria):
        ns = True
    elif book.ns_from_level and floor >= (book.ns_from_level.level or 5):
        ns = True
    elif any(c.value is None and not c.assumed and c.rule.effect == "ns-important" for c in criteria):
        ns = None
    return criteria, floor, ceiling, ns


def in_transition(facts: Facts, transition: Transition) -> bool | None:
    """Whether the system was under investment/construction on ``transition.construction_before``."""
    start, live = facts.get("project_start"), facts.get("go_live")
    cutoff = transition.construction_before
    if live is not None and live < cutoff:
        return False  # already operating before the cut-off: an existing system, no transition
    if start is None:
        return None  # neither date tells: unknown, not "outside the transition"
    if start >= cutoff:
        return False
    return True


def transition_dates_needed(facts: Facts, transition: Transition) -> str:
    """Which date(s) to declare so that the Đ39.1 transition can be decided (Vietnamese)."""
    cutoff = f"{transition.construction_before:%d/%m/%Y}"
    if facts.get("go_live") is None:
        return (f"khai go_live — ngày đưa vào vận hành; nếu từ {cutoff} trở đi hoặc chưa vận hành thì khai thêm "
                "level.project_start — ngày bắt đầu đầu tư, xây dựng")
    return f"khai level.project_start — ngày bắt đầu đầu tư, xây dựng (go_live từ {cutoff} trở đi)"


def choose_book(rules: RuleSet, facts: Facts, as_of: dt.date) -> tuple[RuleBook, str | None, bool | None]:
    """The rule book that decides the level on ``as_of``, a note when the transition changes it."""
    book = rules.in_force(as_of)
    if book.transition is None:
        return book, None, False
    tr = book.transition
    inside = in_transition(facts, tr)
    if inside and as_of <= tr.approval_due:
        old = rules.books[tr.rulebook]
        note = (f"Hệ thống đang đầu tư, xây dựng trước {tr.construction_before:%d/%m/%Y}: thẩm định, phê duyệt cấp "
                f"độ theo {old.cite('').strip()} đến hết {tr.approval_due:%d/%m/%Y} ({book.cite(tr.ref)}).")
        return old, note, True
    if inside is None and as_of <= tr.approval_due:
        note = (f"Chưa rõ hệ thống có đang đầu tư, xây dựng trước {tr.construction_before:%d/%m/%Y} không "
                f"({transition_dates_needed(facts, tr)}): nếu có, cấp độ xác định theo "
                f"{rules.books[tr.rulebook].cite('').strip()} ({book.cite(tr.ref)}).")
        return book, note, None
    return book, None, inside


def suggest(facts: Facts, *, as_of: dt.date, rules: RuleSet | None = None, book: RuleBook | None = None) -> Suggestion:
    """Apply the rule book in force on ``as_of`` (or ``book``) to ``facts``."""
    rules = rules or load_rules()
    note: str | None = None
    transition: bool | None = False
    if book is None:
        book, note, transition = choose_book(rules, facts, as_of)
    criteria, floor, ceiling, ns, alternatives = _outcome(book, facts)
    return Suggestion(book, as_of, floor, ceiling, list(criteria), list(alternatives), ns, note, transition)


_Outcome = tuple[list[Criterion], int, int, bool | None, list[Alternative]]


def _work_out(book: RuleBook, facts: Facts) -> _Outcome:
    """The criteria, floor, ceiling, NS flag and — while a range is left — what each unknown answer would give."""
    criteria, floor, ceiling, ns = evaluate_book(book, facts)
    alternatives: list[Alternative] = []
    if ceiling > floor:
        wanted: list[str] = []
        for c in criteria:
            if c.value is None and not c.assumed and (c.rule.level or 0) > floor:
                wanted.extend(a for a in c.unknown if a not in wanted)
        for attr in wanted:
            options = []
            for label, value in _candidates(attr, book):
                _, f2, c2, _ = evaluate_book(book, {**facts, attr: value})
                options.append(Option(label, value, f2, c2))
            alternatives.append(Alternative(attr, ATTRIBUTES[attr][0], options))
    return criteria, floor, ceiling, ns, alternatives


_TESTS: dict[str, Any] = {
    "eq": operator.eq, "ne": operator.ne, "in": lambda a, e: a in e, "not_in": lambda a, e: a not in e,
    "gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt,
}


@dataclass
class _Compiled:
    """A rule book's distinct comparisons by attribute, and the outcomes already worked out, by their results."""

    book: RuleBook
    by_attr: list[tuple[str, list[tuple[str, Any]], tuple[bool | None, ...]]]
    memo: dict[tuple[Any, ...], _Outcome] = field(default_factory=dict)

    def key(self, facts: Facts) -> tuple[Any, ...]:
        """Each comparison's result (True, False, None = unknown), as :func:`conditions.evaluate` gives it."""
        out: list[Any] = []
        for attr, tests, if_unknown in self.by_attr:
            actual = facts.get(attr)
            if actual is None:
                out.extend(if_unknown)
                continue
            actual = getattr(actual, "value", actual)  # enums compare by their data value
            for op, expected in tests:
                out.append(bool(expected) if op == "known" else _TESTS[op](actual, expected))
        return tuple(out)


_COMPILED: dict[int, _Compiled] = {}
#: Distinct outcomes kept per rule book (a province has a few hundred; the bound only guards memory).
_MEMO_LIMIT = 20_000


def _compiled(book: RuleBook) -> _Compiled:
    entry = _COMPILED.get(id(book))
    if entry is None or entry.book is not book:
        tests: dict[str, dict[str, tuple[str, Any]]] = {}
        for rule in book.rules:
            for atom in _atoms(rule.when):
                op = next(k for k in atom if k != "attr")
                tests.setdefault(atom["attr"], {}).setdefault(f"{op}:{atom[op]!r}", (op, atom[op]))
        by_attr = [(attr, list(found.values()), tuple(not bool(e) if op == "known" else None
                                                      for op, e in found.values()))
                   for attr, found in tests.items()]
        entry = _COMPILED[id(book)] = _Compiled(book, by_attr)
    return entry


def _atoms(cond: Any) -> Iterable[dict[str, Any]]:
    if "attr" in cond:
        yield cond
        return
    for value in cond.values():
        for sub in value if isinstance(value, list) else [value]:
            yield from _atoms(sub)


def _outcome(book: RuleBook, facts: Facts) -> _Outcome:
    """:func:`_work_out`, once per distinct set of comparison results.

    A rule book's conditions are Kleene combinations of comparisons of one attribute with a constant,
    and an unknown comparison always names just its attribute, so everything :func:`_work_out`
    returns — the alternatives too, which replace one attribute's value — depends on the facts only
    through the results of those comparisons. Systems of a province share a few hundred such
    results, so each is worked out once (the province's ``level list`` was dominated by this).
    """
    entry = _compiled(book)
    try:
        key = entry.key(facts)
    except TypeError:
        return _work_out(book, facts)  # the uncached path raises the same error where it belongs
    found = entry.memo.get(key)
    if found is None:
        if len(entry.memo) >= _MEMO_LIMIT:
            entry.memo.clear()
        found = entry.memo[key] = _work_out(book, facts)
    return found


def _candidates(attr: str, book: RuleBook) -> list[tuple[str, Any]]:
    domain = ATTRIBUTES[attr][1]
    if domain == "bool":
        return [("có", True), ("không", False)]
    if isinstance(domain, tuple):
        labels = VALUE_LABELS.get(LABEL_SETS.get(attr, ""), {})
        return [(labels.get(str(v), str(v)), v) for v in domain]
    bounds: set[int] = set()
    for rule in book.rules:
        for op, value in _comparisons(rule.when, attr):
            if op in ("gte", "lt"):
                bounds.add(int(value))
            elif op in ("gt", "lte"):
                bounds.add(int(value) + 1)
            elif op in ("eq", "ne"):
                bounds.update({int(value), int(value) + 1})
    edges = sorted(b for b in bounds if b > 0)
    out: list[tuple[str, Any]] = []
    lows = [0, *edges]
    for i, low in enumerate(lows):
        high = lows[i + 1] - 1 if i + 1 < len(lows) else None
        if high is None:
            label = f"từ {number_text(low)} trở lên"
        elif high == low:
            label = number_text(low)
        else:
            label = f"từ {number_text(low)} đến {number_text(high)}"
        out.append((label, low))
    return out


def _comparisons(cond: Any, attr: str) -> Iterable[tuple[str, Any]]:
    if "attr" in cond:
        if cond["attr"] == attr:
            op = next(k for k in cond if k != "attr")
            yield op, cond[op]
        return
    for value in cond.values():
        for sub in value if isinstance(value, list) else [value]:
            yield from _comparisons(sub, attr)


def number_text(value: int) -> str:
    """Vietnamese thousands separator (1.000.000), as the decrees write counts."""
    return f"{value:,}".replace(",", ".")
