"""The level rule books as validated data: criteria, authority, time limits, transition, bodies.

Both regimes — NĐ 331/2026 Đ11–16 (from 19/8/2026) and NĐ 85/2016 before it — live in
``checklists/_level-rules-*.yaml`` and are read with the three-valued condition language of
:mod:`secaudit.requirements.conditions`; no criterion is written in code. NĐ 85/2016 is not in
``shared/legal``: each of its criteria is marked ``unverified`` with its secondary source.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, NotFoundError, ValidationError
from secaudit.inventory.models import BodyKind, RestrictedSector, Strict
from secaudit.levels.attributes import ATTRIBUTES
from secaudit.requirements import conditions
from secaudit.requirements.content import Effective
from secaudit.resources import data_dir

RULEBOOK_PREFIX = "_level-rules-"
BODIES_FILE = "_level-bodies.yaml"


# -- the data files --------------------------------------------------------------------------------
class Rule(Strict):
    """One criterion: when its condition holds, the system is at least ``level`` (or NS-important)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    level: int | None = Field(default=None, ge=1, le=5)
    effect: Literal["level", "ns-important"] = "level"
    ref: str
    title: str
    title_en: str | None = None
    quote: str | None = None
    note: str | None = None
    when: dict[str, Any]
    assume_if_unknown: bool = False  # unknown counts as "not met", and the result says it assumed so
    unverified: bool = False
    secondary_source: list[str] = Field(default_factory=list)
    corroborated_by: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.effect == "level") != (self.level is not None):
            raise ValueError("'level' là bắt buộc khi và chỉ khi effect = level / 'level' goes with effect 'level'")
        if self.unverified and not self.secondary_source:
            raise ValueError("tiêu chí chưa kiểm chứng phải ghi secondary_source / unverified needs a secondary_source")
        check_condition(self.when, path="when")
        return self


class Citation(Strict):
    """A legal reference used by a check (quy chế before approval, appraisal required, …)."""

    doc: str | None = None  # registry id; defaults to the rule book's document
    ref: str
    quote: str | None = None
    note: str | None = None
    level: int | None = Field(default=None, ge=1, le=5)
    unverified: bool = False
    secondary_source: list[str] = Field(default_factory=list)


class Authority(Strict):
    """Who appraises and who approves a level (NĐ 331 Đ18); the first entry matching level and sector wins."""

    id: str
    ref: str
    levels: list[int]
    sectors: list[RestrictedSector] | None = None
    ns_important: bool | None = None  # only for systems (not) important to national security (Đ20.4)
    appraise: list[BodyKind]
    approve: list[BodyKind] = Field(default_factory=list)
    approve_by_level: dict[int, list[BodyKind]] = Field(default_factory=dict)
    quote: str | None = None
    note: str | None = None
    unverified: bool = False
    secondary_source: list[str] = Field(default_factory=list)
    corroborated_by: str | None = None

    def approvers(self, level: int) -> list[BodyKind]:
        return self.approve_by_level.get(level, self.approve)


class TimeLimit(Strict):
    """A legal time limit in working days (NĐ 331 Đ23.3, Đ24.2)."""

    id: str
    ref: str
    step: Literal["appraisal", "approval"]
    levels: list[int]
    working_days: int = Field(ge=1)
    quote: str | None = None


class Transition(Strict):
    """Systems under construction before a date keep the old rules for a while (NĐ 331 Đ39.1)."""

    id: str
    ref: str
    construction_before: dt.date
    rulebook: str
    approval_due: dt.date
    measures_due: dt.date
    quote: str | None = None
    note: str | None = None


class KeepsLevel(Strict):
    """A level set under the old law stays valid; the new measures are due by a date (Luật 116/2025 Đ45.1)."""

    doc: str
    ref: str
    decided_before: dt.date
    rulebook: str
    measures_due: dt.date
    quote: str | None = None
    note: str | None = None


class RuleBook(Strict):
    """One regime's level rules."""

    id: str
    title: str
    title_en: str | None = None
    document: str
    effective: Effective
    verified: bool
    note: str | None = None
    sources: list[str] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)
    ns_from_level: Citation | None = None
    authority: list[Authority] = Field(default_factory=list)
    time_limits: list[TimeLimit] = Field(default_factory=list)
    regulation: Citation | None = None
    appraisal_required_from_level: Citation | None = None
    transition: Transition | None = None
    keeps_level: KeepsLevel | None = None

    def authority_for(self, level: int, sector: str, ns_important: bool | None = False) -> Authority | None:
        """The first entry for the level and sector; entries tied to NS importance need it known."""
        for entry in self.authority:
            if entry.ns_important is not None and entry.ns_important is not ns_important:
                continue
            if level in entry.levels and (entry.sectors is None or sector in entry.sectors):
                return entry
        return None

    def cite(self, ref: str, doc: str | None = None) -> str:
        return f"{_DOC_NAMES.get(doc or self.document, doc or self.document)} {ref}"


class BodySpec(Strict):
    """How to recognise a kind of body from the name written in the inventory."""

    kind: BodyKind
    label: str
    patterns: list[str] = Field(min_length=1)
    note: str | None = None


class Bodies(Strict):
    kinds: list[BodySpec]


_DOC_NAMES = {"nd-331-2026": "NĐ 331/2026", "nd-85-2016": "NĐ 85/2016", "tt-12-2022": "TT 12/2022",
              "luat-116-2025": "Luật 116/2025"}


def check_condition(cond: Any, *, path: str) -> None:
    """Validate a rule condition: the shapes of :mod:`secaudit.conditions`, over :data:`ATTRIBUTES` only."""
    if not isinstance(cond, Mapping):
        raise ValueError(f"{path}: điều kiện phải là ánh xạ / a condition must be a mapping")
    if "attr" in cond:
        ops = [k for k in cond if k != "attr"]
        if len(ops) != 1 or ops[0] not in conditions.OPERATORS:
            raise ValueError(f"{path}: cần đúng một toán tử trong {conditions.OPERATORS} / need one operator")
        if cond["attr"] not in ATTRIBUTES:
            raise ValueError(f"{path}: thuộc tính không biết '{cond['attr']}' / unknown attribute")
        if ops[0] in ("in", "not_in") and not isinstance(cond[ops[0]], list):
            raise ValueError(f"{path}.{ops[0]}: phải là danh sách / must be a list")
        return
    if len(cond) != 1:
        raise ValueError(f"{path}: điều kiện ghép chỉ có một khóa / a compound condition has one key")
    (key, value), = cond.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{path}.{key}: phải là danh sách không rỗng / must be a non-empty list")
        for i, sub in enumerate(value):
            check_condition(sub, path=f"{path}.{key}[{i}]")
    elif key == "not":
        check_condition(value, path=f"{path}.not")
    else:
        raise ValueError(f"{path}: khóa không biết '{key}' / unknown key '{key}'")


@dataclass
class RuleSet:
    """Every rule book (by id) and the body vocabulary."""

    books: dict[str, RuleBook]
    bodies: list[BodySpec]

    def in_force(self, day: dt.date) -> RuleBook:
        """The rule book whose effective period covers ``day`` (the oldest one before any period)."""
        ordered = sorted(self.books.values(), key=lambda b: b.effective.from_)
        for book in ordered:
            if book.effective.covers(day):
                return book
        return ordered[0] if day < ordered[0].effective.from_ else ordered[-1]

    def rule(self, rule_id: str) -> Rule:
        for book in self.books.values():
            for rule in book.rules:
                if rule.id == rule_id:
                    return rule
        raise NotFoundError(f"Không có tiêu chí '{rule_id}'", en=f"no level rule '{rule_id}'")


def load_rules(folder: Path | None = None) -> RuleSet:
    """Load and validate every ``_level-rules-*.yaml`` and the body vocabulary (cached per folder)."""
    return _load_rules(str(folder or data_dir("checklists")))


@functools.lru_cache(maxsize=8)
def _load_rules(folder: str) -> RuleSet:
    root = Path(folder)
    paths = sorted(root.glob(f"{RULEBOOK_PREFIX}*.yaml"))
    if not paths:
        raise InputError("Không có tệp tiêu chí cấp độ", en="no level rule files", where=str(root))
    registry_ids = _registry_ids(root)
    books: dict[str, RuleBook] = {}
    seen: dict[str, str] = {}
    for path in paths:
        located = yamlio.load(path)
        try:
            book = RuleBook.model_validate(located.data)
        except PydanticError as exc:
            yamlio.raise_pydantic(exc, located)
            raise
        problems: list[tuple[str, str]] = []
        stem = path.stem.removeprefix(RULEBOOK_PREFIX)
        if book.id != stem:
            problems.append((located.where(("id",)), f"id '{book.id}' phải trùng tên tệp '{stem}'"))
        if registry_ids is not None and book.document not in registry_ids:
            problems.append((located.where(("document",)), f"văn bản '{book.document}' không có trong danh mục"))
        for i, rule in enumerate(book.rules):
            if rule.id in seen:
                problems.append((located.where(("rules", i, "id")), f"mã tiêu chí '{rule.id}' đã có ở {seen[rule.id]}"))
            seen[rule.id] = path.name
        if problems:
            raise ValidationError(problems, en="level rule file does not validate")
        books[book.id] = book
    for book in books.values():
        if book.keeps_level and book.keeps_level.rulebook not in books:
            raise ValidationError([(f"{root / (RULEBOOK_PREFIX + book.id)}.yaml",
                                    f"keeps_level.rulebook '{book.keeps_level.rulebook}' không tồn tại")])
        if book.transition and book.transition.rulebook not in books:
            raise ValidationError([(f"{root / (RULEBOOK_PREFIX + book.id)}.yaml",
                                    f"transition.rulebook '{book.transition.rulebook}' không tồn tại")])
    bodies_path = root / BODIES_FILE
    located = yamlio.load(bodies_path)
    try:
        bodies = Bodies.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    return RuleSet(books, bodies.kinds)


def _registry_ids(root: Path) -> set[str] | None:
    path = root / "_documents.yaml"
    if not path.is_file():
        return None
    data = yamlio.load(path).data or {}
    return {str(d.get("id")) for d in data.get("documents", []) if isinstance(d, dict)}
