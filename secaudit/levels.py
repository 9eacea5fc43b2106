"""Security levels (cấp độ): the minimum level a system must have, and whether its approval holds.

An under-classified system escapes the requirements it should meet, so the tool works the level out
from the inventory instead of trusting the proposal. Both rule sets — NĐ 331/2026 Đ11–16 (from
19/8/2026) and NĐ 85/2016 before it — are data (``checklists/_level-rules-*.yaml``) evaluated with
the three-valued condition language of :mod:`secaudit.conditions`; this module holds no criterion.

* :func:`suggest` applies the rule book in force on a date (with the NĐ 331 Đ39.1 transition) and
  returns every criterion that fired, the minimum level, the highest level still possible while some
  attribute is unknown, and for each such attribute what each answer would give.
* :func:`review` checks an approval against the same data: the authority of NĐ 331 Đ18 (who must
  appraise and approve each level), the time limits of Đ23–24, the quy chế-before-approval rule of
  Đ30.7, the transition deadlines of Đ39, and the approved level against the minimum.
* :func:`level_rows`, :func:`sheet_data`, :func:`baseline_level` serve ``level list``, the
  determination sheet and the level baselines (``checklists/cap-do-*.yaml``) of the assessment.

NĐ 85/2016 is not in ``shared/legal``: every one of its criteria is marked ``unverified`` in the data
with its secondary source, and whatever relies on one says so.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic import ValidationError as PydanticError

from . import clock, conditions, yamlio
from .content import Effective
from .errors import InputError, NotFoundError, ValidationError
from .models import (
    VALUE_LABELS,
    AssignedBy,
    BodyKind,
    DossierState,
    InfraScope,
    NsConsequence,
    RestrictedSector,
    SecurityHarm,
    Strict,
    System,
)
from .resources import data_dir

RULEBOOK_PREFIX = "_level-rules-"
BODIES_FILE = "_level-bodies.yaml"
Severity = Literal["loi", "canh-bao", "thong-tin"]
SEVERITY_LABELS = {"loi": "LỖI", "canh-bao": "CẢNH BÁO", "thong-tin": "THÔNG TIN"}
#: Checklists whose system items hold the level dossier's documents as evidence.
DOSSIER_CHECKLISTS = ("cap-do-nd331", "cap-do-tt12")

# -- the attributes the level rules may read --------------------------------------------------------
_ICS = ("none", "IV", "III", "II", "I", "dac-biet")
#: attribute -> (Vietnamese description, domain: "bool" | "int" | tuple of allowed values)
ATTRIBUTES: dict[str, tuple[str, Any]] = {
    "system.online_service": ("cung cấp dịch vụ trực tuyến", "bool"),
    "system.admin_procedures": ("giải quyết thủ tục hành chính", "bool"),
    "system.public_service_stage": ("mức độ dịch vụ công trực tuyến cao nhất (0 = không có)", (0, 1, 2, 3, 4)),
    "system.conditional_business": ("dịch vụ thuộc ngành, nghề kinh doanh có điều kiện", "bool"),
    "system.users": ("số người sử dụng", "int"),
    "system.data_subjects_basic": ("số chủ thể dữ liệu cá nhân cơ bản", "int"),
    "system.data_subjects_sensitive": ("số chủ thể dữ liệu cá nhân nhạy cảm", "int"),
    "system.state_secrets": ("xử lý thông tin bí mật nhà nước", "bool"),
    "system.national_security_impact": ("phục vụ quốc phòng, an ninh; bị phá hoại sẽ tổn hại ANQG", "bool"),
    "system.industrial_control_grade": ("hệ thống điều khiển công nghiệp: cấp công trình", _ICS),
    "system.infrastructure_scope": ("phạm vi hạ tầng thông tin dùng chung", tuple(s.value for s in InfraScope)),
    "system.national_egov_247": ("HTTT quốc gia phục vụ Chính phủ điện tử, vận hành 24/7", "bool"),
    "system.runs_247": ("yêu cầu vận hành 24/7, không chấp nhận ngừng ngoài kế hoạch", "bool"),
    "system.ns_works": ("điều khiển hoặc phục vụ chỉ đạo, điều hành công trình quan trọng liên quan đến ANQG",
                        "bool"),
    "system.ns_telecom_works": ("phục vụ công trình viễn thông quan trọng liên quan đến ANQG", "bool"),
    "system.ns_sector": ("thuộc lĩnh vực tại khoản 2 Điều 9 Luật An ninh mạng", "bool"),
    "system.ns_consequence": ("hậu quả khi bị sự cố theo Đ16.3.a–g", tuple(c.value for c in NsConsequence)),
    "system.restricted_sector": ("lĩnh vực quân sự, quốc phòng, cơ yếu", tuple(s.value for s in RestrictedSector)),
    "system.private_info": ("xử lý thông tin riêng, thông tin cá nhân (level.private_info)", "bool"),
    "system.security_harm": ("mức tổn hại ANQG khi bị phá hoại (level.security_harm)",
                             tuple(s.value for s in SecurityHarm)),
    "system.national_data_store": ("lưu trữ tập trung dữ liệu đặc biệt quan trọng (level.national_data_store)",
                                   "bool"),
    "system.international_link": ("hạ tầng quốc gia kết nối với quốc tế (level.international_link)", "bool"),
    "system.ns_important": ("chủ quản khai đáp ứng tiêu chí Đ16, không nêu khoản (level.ns_important)", "bool"),
    "system.assigned_level": ("cấp độ do Thủ tướng quyết định / theo đánh giá rủi ro (level.assigned_level)",
                              (1, 2, 3, 4, 5)),
    "system.assigned_by": ("căn cứ cấp độ ấn định (level.assigned_by)", tuple(s.value for s in AssignedBy)),
}
_SYSTEM_FIELDS = ("online_service", "admin_procedures", "public_service_stage", "conditional_business", "users",
                  "data_subjects_basic", "data_subjects_sensitive", "state_secrets", "national_security_impact",
                  "industrial_control_grade", "infrastructure_scope", "national_egov_247", "runs_247", "ns_works",
                  "ns_telecom_works", "ns_sector", "ns_consequence", "restricted_sector")
_LEVEL_FIELDS = ("private_info", "security_harm", "national_data_store", "international_link", "ns_important",
                 "assigned_level", "assigned_by")
_BOOL_ATTRS = {a for a, (_, d) in ATTRIBUTES.items() if d == "bool"}
_LABEL_SETS = {
    "system.industrial_control_grade": "IcsGrade", "system.infrastructure_scope": "InfraScope",
    "system.restricted_sector": "RestrictedSector", "system.security_harm": "SecurityHarm",
    "system.assigned_by": "AssignedBy", "system.ns_consequence": "NsConsequence",
}


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


# -- facts ------------------------------------------------------------------------------------------
Facts = dict[str, Any]


def facts_of(system: System) -> Facts:
    """The rule attributes of a system model (enums as their codes, ``None`` = unknown)."""
    out: Facts = {}
    for name in _SYSTEM_FIELDS:
        out[f"system.{name}"] = _plain(getattr(system, name))
    for name in _LEVEL_FIELDS:
        out[f"system.{name}"] = _plain(getattr(system.level, name))
    out["go_live"] = system.go_live
    out["project_start"] = system.level.project_start
    return out


def facts_of_row(row: Mapping[str, Any]) -> Facts:
    """The same facts from a ``systems`` table row (booleans stored as 0/1, dates as ISO text)."""
    out: Facts = {}
    for name in (*_SYSTEM_FIELDS, *_LEVEL_FIELDS):
        attr = f"system.{name}"
        value = row.get(name)
        out[attr] = bool(value) if attr in _BOOL_ATTRS and value is not None else value
    out["go_live"] = _date(row.get("go_live"))
    out["project_start"] = _date(row.get("project_start"))
    return out


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# -- determination -----------------------------------------------------------------------------------
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


def _evaluate(book: RuleBook, facts: Facts) -> tuple[list[Criterion], int, int, bool | None]:
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
    criteria, floor, ceiling, ns = _evaluate(book, facts)
    alternatives: list[Alternative] = []
    if ceiling > floor:
        wanted: list[str] = []
        for c in criteria:
            if c.value is None and not c.assumed and (c.rule.level or 0) > floor:
                wanted.extend(a for a in c.unknown if a not in wanted)
        for attr in wanted:
            options = []
            for label, value in _candidates(attr, book):
                _, f2, c2, _ = _evaluate(book, {**facts, attr: value})
                options.append(Option(label, value, f2, c2))
            alternatives.append(Alternative(attr, ATTRIBUTES[attr][0], options))
    return Suggestion(book, as_of, floor, ceiling, criteria, alternatives, ns, note, transition)


def _candidates(attr: str, book: RuleBook) -> list[tuple[str, Any]]:
    domain = ATTRIBUTES[attr][1]
    if domain == "bool":
        return [("có", True), ("không", False)]
    if isinstance(domain, tuple):
        labels = VALUE_LABELS.get(_LABEL_SETS.get(attr, ""), {})
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
            label = f"từ {_num(low)} trở lên"
        elif high == low:
            label = _num(low)
        else:
            label = f"từ {_num(low)} đến {_num(high)}"
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


def _num(value: int) -> str:
    return f"{value:,}".replace(",", ".")


# -- authority and approval checks --------------------------------------------------------------------
@dataclass
class Flag:
    """A problem or notice about a system's level and its approval."""

    code: str
    severity: Severity
    message: str
    en: str
    ref: str | None = None
    due: dt.date | None = None  # the deadline the flag is about, when it has one

    def text(self) -> str:
        return f"[{SEVERITY_LABELS[self.severity]}] {self.message}" + (f" ({self.ref})" if self.ref else "")


def infer_body(name: str | None, bodies: list[BodySpec]) -> BodySpec | None:
    """The first body kind whose pattern occurs in ``name`` (case-insensitive, NFC)."""
    if not name:
        return None
    text = unicodedata.normalize("NFC", name).casefold()
    for spec in bodies:
        if any(unicodedata.normalize("NFC", p).casefold() in text for p in spec.patterns):
            return spec
    return None


def body_kind(declared: BodyKind | None, name: str | None, bodies: list[BodySpec]) -> tuple[str | None, str]:
    """(kind, how): how is 'khai-bao' (declared), 'suy-ra' (inferred from the name), 'khong-ro' or 'thieu'."""
    if declared is not None:
        return declared.value, "khai-bao"
    if not name:
        return None, "thieu"
    spec = infer_body(name, bodies)
    return (spec.kind.value, "suy-ra") if spec else (None, "khong-ro")


def _kind_label(kind: str | None) -> str:
    return VALUE_LABELS["BodyKind"].get(kind or "", kind or "không rõ")


def working_days(start: dt.date, end: dt.date) -> int:
    """Monday–Friday days after ``start`` up to and including ``end`` (holidays are not subtracted)."""
    if end <= start:
        return 0
    days = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days += 1
    return days


def review(system: System, suggestion: Suggestion, *, as_of: dt.date, rules: RuleSet | None = None) -> list[Flag]:
    """Every flag about ``system``'s level: missing or low approval, authority, time limits, quy chế, transition."""
    rules = rules or load_rules()
    lvl = system.level
    flags: list[Flag] = []
    unverified: list[Rule] = []
    current = suggestion.book
    if lvl.approved is None:
        state = VALUE_LABELS["DossierState"].get(lvl.dossier_state.value, lvl.dossier_state.value)
        flags.append(Flag(
            "chua-phe-duyet", "loi",
            f"Chưa có quyết định phê duyệt cấp độ (hồ sơ: {state}); cấp độ tối thiểu theo tiêu chí: "
            f"{suggestion.range_text()}",
            f"no level approval decision (dossier: {lvl.dossier_state.value}); minimum level {suggestion.range_text()}",
            _duty_ref(current),
        ))
        if lvl.proposed is not None and lvl.proposed < suggestion.level:
            flags.append(Flag(
                "de-xuat-thap", "loi",
                f"Cấp độ đề xuất {lvl.proposed} thấp hơn cấp độ tối thiểu {suggestion.level} ({_why(suggestion)})",
                f"proposed level {lvl.proposed} is below the minimum {suggestion.level}",
                "NĐ 331/2026 Đ8.2" if current.id == "nd331" else None,
            ))
        if lvl.expected_approval is not None and lvl.expected_approval < as_of:
            flags.append(Flag("qua-du-kien", "canh-bao",
                              f"Đã quá thời điểm dự kiến phê duyệt {lvl.expected_approval:%d/%m/%Y}",
                              f"planned approval date {lvl.expected_approval} has passed"))
        flags.extend(_pending_time_limits(system, suggestion, as_of, rules))
    else:
        kept = _kept_level(system, as_of, rules)
        judged = suggestion
        if kept is not None and kept.book.id != suggestion.book.id:
            # the old approval stays valid: judge it by the rules it was made under, not today's
            judged = suggest(facts_of(system), as_of=as_of, rules=rules, book=kept.book)
            unverified = [r for r in judged.unverified if r not in suggestion.unverified]
        flags.extend(_approval_flags(system, judged, rules, kept))
        if kept is not None:
            flags.extend(_kept_flags(system, suggestion, judged, kept, as_of))
    flags.extend(_transition_flags(system, suggestion, as_of, rules))
    if suggestion.ns_important:
        flags.append(Flag(
            "anqg", "thong-tin",
            "Có căn cứ đề nghị đưa vào Danh mục hệ thống thông tin quan trọng về an ninh quốc gia; thủ tục như "
            "cấp độ 5", "grounds to list as important to national security; level-5 procedure",
            "NĐ 331/2026 Đ16, Đ17, Đ20.4",
        ))
    unverified = [*suggestion.unverified, *unverified]
    if unverified:
        ids = ", ".join(r.id for r in unverified)
        flags.append(Flag(
            "chua-kiem-chung", "thong-tin",
            f"Kết luận dựa trên tiêu chí chưa kiểm chứng với văn bản gốc ({ids}); nguồn thứ cấp: "
            f"{'; '.join(sorted({s.split(' — ')[0] for r in unverified for s in r.secondary_source}))}",
            f"relies on criteria not checked against the official text: {ids}",
        ))
    return flags


def _duty_ref(book: RuleBook) -> str:
    return "NĐ 331/2026 Đ31.2.a" if book.id == "nd331" else "TT 12/2022 Đ12.1.a"


def _why(suggestion: Suggestion) -> str:
    parts = [f"{c.rule.ref}: {c.rule.title}" for c in suggestion.deciding]
    return "; ".join(parts) if parts else "mức tối thiểu"


@dataclass
class Kept:
    """An approval made under the old regime that the law keeps valid, and the new measures' deadline."""

    book: RuleBook  # the rule book it was made under
    ref: str  # the article that keeps it
    measures_due: dt.date
    transition: bool  # kept by NĐ 331 Đ39.1 (system under construction), else by Luật 116/2025 Đ45.1


def _kept_level(system: System, as_of: dt.date, rules: RuleSet) -> Kept | None:
    """Whether ``system``'s approval was made under the old regime and stays valid on ``as_of``.

    Luật 116/2025 Đ45.1: a level determined under the old law (decision before the Law's entry into
    force) is kept. NĐ 331/2026 Đ39.1: a system under construction approved under NĐ 85/2016 within the
    six months. Either way the new measures are due 12 months after the Law's entry into force.
    """
    decided = system.level.decision_date
    if decided is None:
        return None
    facts = facts_of(system)
    for book in rules.books.values():
        tr = book.transition
        if tr is not None and as_of >= tr.construction_before and decided <= tr.approval_due \
                and in_transition(facts, tr):
            return Kept(rules.books[tr.rulebook], book.cite(tr.ref), tr.measures_due, True)
    for book in rules.books.values():
        keep = book.keeps_level
        if keep is not None and decided < keep.decided_before <= as_of:
            return Kept(rules.books[keep.rulebook], book.cite(keep.ref, keep.doc), keep.measures_due, False)
    return None


def _kept_flags(system: System, current: Suggestion, judged: Suggestion, kept: Kept, as_of: dt.date) -> list[Flag]:
    lvl = system.level
    assert lvl.approved is not None and lvl.decision_date is not None
    flags: list[Flag] = []
    approved = lvl.approved
    decision = f"QĐ {lvl.decision_number}, ngày {lvl.decision_date:%d/%m/%Y}"
    if judged is not current and approved >= judged.level and (current.level, current.ceiling) != (approved,) * 2:
        flags.append(Flag(
            "giu-cap-do", "thong-tin",
            f"Cấp độ {approved} phê duyệt theo {kept.book.cite('').strip()} ({decision}) tiếp tục được giữ; tiêu chí "
            f"{current.book.cite('').strip()} hiện cho cấp độ {current.range_text()} — không phải lỗi",
            f"level {approved} approved under the old regime is kept; the current criteria give "
            f"{current.range_text()}", kept.ref,
        ))
    if not kept.transition:  # under construction: the Đ39.1 flags below carry the same deadline
        late = as_of > kept.measures_due
        flags.append(Flag(
            "bien-phap-luat-moi", "loi" if late else "canh-bao",
            f"Cấp độ {approved} xác định theo quy định cũ ({decision}) được giữ; phải bảo đảm điều kiện, tiêu "
            f"chuẩn, biện pháp bảo vệ an ninh mạng tương ứng với cấp độ {approved} theo Luật An ninh mạng "
            f"116/2025 (bộ tiêu chí cap-do-nd331) trước hết ngày {kept.measures_due:%d/%m/%Y} (12 tháng kể từ "
            "ngày Luật có hiệu lực, 01/07/2026)" + (" — đã quá hạn" if late else ""),
            f"level {approved} kept; the new law's measures for it are due by {kept.measures_due}"
            + (" — overdue" if late else ""), kept.ref, kept.measures_due,
        ))
    return flags


def _approval_flags(system: System, suggestion: Suggestion, rules: RuleSet, kept: Kept | None = None) -> list[Flag]:
    lvl = system.level
    assert lvl.approved is not None and lvl.decision_date is not None
    flags: list[Flag] = []
    approved = lvl.approved
    if approved < suggestion.level:
        ref = "NĐ 331/2026 Đ8.2, Đ25" if suggestion.book.id == "nd331" else None
        if kept is not None and suggestion.book is kept.book:
            ref = kept.ref
        flags.append(Flag(
            "thap-hon-tieu-chi", "loi",
            f"Cấp độ được phê duyệt {approved} thấp hơn cấp độ tối thiểu {suggestion.level} theo "
            f"{suggestion.book.cite('').strip()} ({_why(suggestion)}); cần xác định lại cấp độ",
            f"approved level {approved} is below the minimum level {suggestion.level}", ref,
        ))
    elif approved < suggestion.ceiling:
        attrs = ", ".join(a.attr for a in suggestion.alternatives)
        flags.append(Flag(
            "co-the-thap-hon", "canh-bao",
            f"Cấp độ được phê duyệt {approved} có thể thấp hơn yêu cầu (có thể đến cấp độ {suggestion.ceiling}) — "
            f"cần khai báo: {attrs}",
            f"approved level {approved} may be too low (up to {suggestion.ceiling}); declare {attrs}",
        ))
    book = rules.in_force(lvl.decision_date)
    flags.extend(_authority_flags(system, book, rules, suggestion.ns_important))
    if book.regulation is not None:
        ref = book.cite(book.regulation.ref, book.regulation.doc)
        if lvl.regulation_date is None:
            flags.append(Flag("chua-ro-quy-che", "canh-bao",
                              "Chưa khai báo ngày ban hành quy chế bảo đảm an ninh mạng của hệ thống",
                              "the date of the system's security regulation is not declared", ref))
        elif lvl.regulation_date > lvl.decision_date:
            flags.append(Flag(
                "quy-che-sau-phe-duyet", "loi",
                f"Quy chế ban hành ngày {lvl.regulation_date:%d/%m/%Y}, sau quyết định phê duyệt cấp độ ngày "
                f"{lvl.decision_date:%d/%m/%Y}: quy chế phải ban hành trước khi hồ sơ được phê duyệt",
                "the security regulation was issued after the level approval", ref,
            ))
    flags.extend(_elapsed_time_limits(system, book))
    return flags


def _authority_flags(system: System, book: RuleBook, rules: RuleSet, ns_important: bool | None = False) -> list[Flag]:
    lvl = system.level
    approved = lvl.approved or 0
    entry = book.authority_for(approved, system.restricted_sector.value, ns_important)
    if entry is None:
        return []
    flags: list[Flag] = []
    caveat = " (thẩm quyền theo NĐ 85/2016: chưa kiểm chứng với văn bản gốc)" if entry.unverified else ""
    ref = book.cite(entry.ref)
    required_from = book.appraisal_required_from_level.level if book.appraisal_required_from_level else None
    for role, declared, name, allowed in (
        ("tham-dinh", lvl.appraised_by_kind, lvl.appraised_by, entry.appraise),
        ("phe-duyet", lvl.approved_by_kind, lvl.approved_by, entry.approvers(approved)),
    ):
        if not allowed:
            continue
        word = "thẩm định" if role == "tham-dinh" else "phê duyệt"
        expected = " hoặc ".join(_kind_label(k.value) for k in allowed)
        kind, how = body_kind(declared, name, rules.bodies)
        if how == "thieu":
            severe = role == "phe-duyet" or (required_from is not None and approved >= required_from) or approved >= 4
            flags.append(Flag(
                f"thieu-{role}", "loi" if severe else "canh-bao",
                f"Cấp độ {approved}: không có thông tin cơ quan {word} (phải là {expected}){caveat}",
                f"level {approved}: no {'appraising' if role == 'tham-dinh' else 'approving'} body recorded",
                ref,
            ))
            continue
        if kind is None:
            flags.append(Flag(
                f"khong-ro-{role}", "loi" if approved >= 4 else "canh-bao",
                f"Cấp độ {approved} phải do {expected} {word}; không nhận ra loại cơ quan từ '{name}' — khai "
                f"level.{'appraised' if role == 'tham-dinh' else 'approved'}_by_kind{caveat}",
                f"level {approved} must be {'appraised' if role == 'tham-dinh' else 'approved'} by {expected}; "
                f"cannot tell the kind of '{name}'", ref,
            ))
            continue
        if kind not in {k.value for k in allowed}:
            inferred = " (suy ra từ tên)" if how == "suy-ra" else ""
            flags.append(Flag(
                f"sai-tham-quyen-{role}", "loi",
                f"Cấp độ {approved} phải do {expected} {word}; hồ sơ ghi '{name}' — {_kind_label(kind)}{inferred}"
                f"{caveat}",
                f"level {approved} must be {'appraised' if role == 'tham-dinh' else 'approved'} by {expected}, "
                f"not {kind}", ref,
            ))
    return flags


def _limits(book: RuleBook, step: str, level: int) -> list[TimeLimit]:
    return [t for t in book.time_limits if t.step == step and level in t.levels]


def _elapsed_time_limits(system: System, book: RuleBook) -> list[Flag]:
    lvl = system.level
    level = lvl.approved or 0
    flags: list[Flag] = []
    for limit in _limits(book, "appraisal", level):
        if lvl.submitted_date and lvl.appraised_date:
            used = working_days(lvl.submitted_date, lvl.appraised_date)
            if used > limit.working_days:
                flags.append(Flag("tham-dinh-qua-han", "canh-bao",
                                  f"Thẩm định mất {used} ngày làm việc, quá thời hạn {limit.working_days} ngày",
                                  f"appraisal took {used} working days, limit {limit.working_days}",
                                  book.cite(limit.ref)))
    for limit in _limits(book, "approval", level):
        start = lvl.appraised_date
        if start and lvl.decision_date:
            used = working_days(start, lvl.decision_date)
            if used > limit.working_days:
                flags.append(Flag("phe-duyet-qua-han", "canh-bao",
                                  f"Phê duyệt sau {used} ngày làm việc kể từ ý kiến thẩm định, quá thời hạn "
                                  f"{limit.working_days} ngày", f"approval took {used} working days",
                                  book.cite(limit.ref)))
    return flags


def _pending_time_limits(system: System, suggestion: Suggestion, as_of: dt.date, rules: RuleSet) -> list[Flag]:
    lvl = system.level
    level = lvl.proposed or suggestion.level
    flags: list[Flag] = []
    if lvl.dossier_state is DossierState.SUBMITTED and lvl.submitted_date:
        book = rules.in_force(lvl.submitted_date)
        for limit in _limits(book, "appraisal", level):
            used = working_days(lvl.submitted_date, as_of)
            if used > limit.working_days:
                flags.append(Flag("cho-tham-dinh-qua-han", "canh-bao",
                                  f"Hồ sơ nộp ngày {lvl.submitted_date:%d/%m/%Y}, đã {used} ngày làm việc chưa có ý "
                                  f"kiến thẩm định (thời hạn {limit.working_days} ngày)",
                                  f"appraisal pending for {used} working days", book.cite(limit.ref)))
    if lvl.dossier_state is DossierState.APPRAISED and lvl.appraised_date:
        book = rules.in_force(lvl.appraised_date)
        for limit in _limits(book, "approval", level):
            used = working_days(lvl.appraised_date, as_of)
            if used > limit.working_days:
                flags.append(Flag("cho-phe-duyet-qua-han", "canh-bao",
                                  f"Đã thẩm định ngày {lvl.appraised_date:%d/%m/%Y}, {used} ngày làm việc chưa phê "
                                  f"duyệt (thời hạn {limit.working_days} ngày)",
                                  f"approval pending for {used} working days", book.cite(limit.ref)))
    return flags


def _transition_flags(system: System, suggestion: Suggestion, as_of: dt.date, rules: RuleSet) -> list[Flag]:
    flags: list[Flag] = []
    for book in rules.books.values():
        tr = book.transition
        if tr is None or as_of < tr.construction_before:
            continue
        facts = facts_of(system)
        inside = in_transition(facts, tr)
        ref = book.cite(tr.ref)
        if inside is None:
            if as_of <= tr.measures_due:  # afterwards the transition changes nothing
                needed = "go_live" if facts.get("go_live") is None else "level.project_start"
                flags.append(Flag("chuyen-tiep-chua-ro", "canh-bao",
                                  "Trạng thái chuyển tiếp: chưa rõ — chưa biết hệ thống có đang đầu tư, xây dựng "
                                  f"trước {tr.construction_before:%d/%m/%Y} không "
                                  f"({transition_dates_needed(facts, tr)})",
                                  f"transition state unknown: declare {needed}", ref))
            continue
        if not inside:
            continue
        approved_in_time = system.level.decision_date is not None and system.level.decision_date <= tr.approval_due
        if not approved_in_time:
            late = as_of > tr.approval_due
            flags.append(Flag(
                "chuyen-tiep-qua-han" if late else "chuyen-tiep", "loi" if late else "canh-bao",
                f"Hệ thống đang đầu tư, xây dựng trước {tr.construction_before:%d/%m/%Y}: phải hoàn thành thẩm "
                f"định, phê duyệt cấp độ theo NĐ 85/2016 trước hết ngày {tr.approval_due:%d/%m/%Y}"
                + (" — đã quá hạn" if late else ""),
                f"transition: approval under ND 85/2016 due by {tr.approval_due}", ref,
            ))
        late = as_of > tr.measures_due
        flags.append(Flag(
            "chuyen-tiep-bien-phap", "loi" if late else "canh-bao",
            f"Phải bảo đảm điều kiện, tiêu chuẩn, biện pháp bảo vệ an ninh mạng tương ứng với cấp độ theo NĐ "
            f"331/2026 trước hết ngày {tr.measures_due:%d/%m/%Y} (xem bộ tiêu chí cap-do-nd331)"
            + (" — đã quá hạn" if late else ""),
            f"transition: NĐ 331 measures due by {tr.measures_due}", ref, tr.measures_due,
        ))
    return flags


# -- services over a workspace ------------------------------------------------------------------------
@dataclass
class Assessed:
    """A system with its suggestion and flags (what ``level suggest``/``list``/``sheet`` show)."""

    agency: str
    system: System
    suggestion: Suggestion
    flags: list[Flag]
    dossier_files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.flags if f.severity == "loi")


def find_system(ws: Any, code: str, agency: str | None = None) -> tuple[str, System]:
    """Resolve a system code (unique across the workspace, or within ``agency``) to its model."""
    from . import inventory

    if agency is not None:
        return agency, inventory.get_system(ws, agency, code)
    owners = [r[0] for r in ws.db.execute("select agency from systems where code = ? order by agency", [code])]
    if not owners:
        raise NotFoundError(f"Không có hệ thống '{code}'", en=f"no system '{code}'")
    if len(owners) > 1:
        raise InputError(f"Mã hệ thống '{code}' có ở nhiều cơ quan ({', '.join(owners)}): dùng --agency",
                         en=f"system code '{code}' exists in several agencies; use --agency")
    return owners[0], inventory.get_system(ws, owners[0], code)


def assess_system(ws: Any, agency: str, system: System, *, as_of: dt.date, rules: RuleSet | None = None) -> Assessed:
    """Suggestion, flags and the dossier's evidence files for one system."""
    rules = rules or load_rules()
    suggestion = suggest(facts_of(system), as_of=as_of, rules=rules)
    flags = review(system, suggestion, as_of=as_of, rules=rules)
    marks = ",".join("?" * len(DOSSIER_CHECKLISTS))
    files = [dict(r) for r in ws.db.query(
        f"select original_name, kind, effective, sha256, checklist, item from evidence_refs where agency = ? and"
        f" system = ? and checklist in ({marks}) and date(added_at) <= ? order by effective, original_name",
        [agency, system.code, *DOSSIER_CHECKLISTS, as_of.isoformat()])]
    return Assessed(agency, system, suggestion, flags, files)


def assess_all(ws: Any, *, as_of: dt.date, agency: str | None = None, rules: RuleSet | None = None) -> list[Assessed]:
    """Every system of the workspace (or of ``agency``), in inventory order."""
    from . import inventory

    rules = rules or load_rules()
    codes = [agency] if agency else inventory.agency_codes(ws)
    if agency:
        ws.require_agency(agency)
    out = []
    for code in codes:
        for system in inventory.get_agency(ws, code).systems:
            out.append(assess_system(ws, code, system, as_of=as_of, rules=rules))
    return out


def level_rows(assessed: list[Assessed]) -> list[dict[str, Any]]:
    """Flat rows for ``level list``: suggested vs approved, dossier state, flags."""
    rows = []
    for a in assessed:
        lvl = a.system.level
        rows.append({
            "agency": a.agency, "system": a.system.code, "name": a.system.name,
            "regime": a.suggestion.book.id, "suggested": a.suggestion.range_text(),
            "suggested_min": a.suggestion.level, "suggested_max": a.suggestion.ceiling,
            "certain": a.suggestion.certain, "proposed": lvl.proposed, "approved": lvl.approved,
            "dossier_state": lvl.dossier_state.value, "decision_number": lvl.decision_number,
            "decision_date": lvl.decision_date.isoformat() if lvl.decision_date else None,
            "dossier_files": len(a.dossier_files),
            "flags": [f.code for f in a.flags if f.severity != "thong-tin"],
            "due": _earliest_due(a.flags),
            "errors": a.errors,
        })
    return rows


def _earliest_due(flags: list[Flag]) -> str | None:
    due = min((f.due for f in flags if f.due), default=None)
    return due.isoformat() if due else None


def suggestion_document(a: Assessed) -> dict[str, Any]:
    """A JSON-ready account of one system's determination and flags."""
    s = a.suggestion
    return {
        "agency": a.agency, "system": a.system.code, "as_of": s.as_of.isoformat(), "regime": s.book.id,
        "regime_verified": s.book.verified, "regime_note": s.regime_note,
        "level": s.level, "max_level": s.ceiling, "certain": s.certain, "ns_important": s.ns_important,
        "criteria": [
            {"rule": c.rule.id, "ref": s.book.cite(c.rule.ref), "level": c.rule.level, "effect": c.rule.effect,
             "title": c.rule.title, "result": c.value, "unknown": c.unknown, "assumed_not_met": c.assumed,
             "unverified": c.rule.unverified}
            for c in s.criteria
        ],
        "unknown": [
            {"attribute": alt.attr, "description": alt.description,
             "options": [{"answer": o.label, "value": o.value, "level": o.level, "max_level": o.ceiling}
                         for o in alt.options]}
            for alt in s.alternatives
        ],
        "unverified_rules": [r.id for r in s.unverified],
        "flags": [{"code": f.code, "severity": f.severity, "message": f.message, "en": f.en, "ref": f.ref,
                   "due": f.due.isoformat() if f.due else None} for f in a.flags],
        "approved": a.system.level.approved, "proposed": a.system.level.proposed,
        "dossier_state": a.system.level.dossier_state.value,
    }


def suggestions_json(assessed: list[Assessed]) -> bytes:
    return (json.dumps([suggestion_document(a) for a in assessed], ensure_ascii=False, indent=2) + "\n").encode()


def suggestion_text(a: Assessed) -> str:
    """Human-readable determination for the terminal (Vietnamese)."""
    s = a.suggestion
    lines = [f"{a.agency}/{a.system.code} — {a.system.name}",
             f"  Chế độ áp dụng ngày {s.as_of:%d/%m/%Y}: {s.book.title}"]
    if s.regime_note:
        lines.append(f"  ! {s.regime_note}")
    head = f"  Cấp độ tối thiểu đề xuất: {s.level}"
    if not s.certain:
        head += f" (chưa chắc chắn: có thể đến cấp độ {s.ceiling} tùy thông tin còn thiếu)"
    lines.append(head)
    lines.append("  Tiêu chí thỏa:")
    for c in s.fired:
        tag = " [chưa kiểm chứng]" if c.rule.unverified else ""
        lvl = f"cấp độ {c.rule.level}" if c.rule.level else "quan trọng về ANQG"
        lines.append(f"    - {lvl}: {s.book.cite(c.rule.ref)} — {c.rule.title} [{c.rule.id}]{tag}")
    if not s.fired:
        lines.append("    (không tiêu chí nào thỏa chắc chắn; cấp độ 1 là mức thấp nhất)")
    if s.alternatives:
        lines.append("  Thông tin còn thiếu và cấp độ theo từng câu trả lời:")
        joint = []
        for alt in s.alternatives:
            if not alt.decisive:
                joint.append(alt.attr)
                continue
            opts = "; ".join(f"{o.label} → {o.range_text()}" for o in alt.options)
            lines.append(f"    - {alt.attr} ({alt.description}): {opts}")
        if joint:
            lines.append("    - cũng cần khai báo (chỉ quyết định khi kết hợp với thuộc tính khác): "
                         + ", ".join(joint))
    relevant = [c for c in s.assumed if (c.rule.level or 6) > s.level]
    if relevant:
        refs = ", ".join(c.rule.ref for c in relevant)
        needs = sorted({a for c in relevant for a in c.unknown})
        lines.append(f"  Giả định không thỏa vì chưa khai báo: {refs} (khai {', '.join(needs)} nếu có)")
    if s.unverified:
        lines.append("  Lưu ý: kết luận dựa trên tiêu chí NĐ 85/2016 chưa kiểm chứng với văn bản gốc: "
                     + ", ".join(r.id for r in s.unverified))
    own = a.system.level
    lines.append(f"  Đề xuất: {own.proposed or '—'}; phê duyệt: {own.approved or '—'}"
                 + (f" (QĐ {own.decision_number}, {own.decision_date:%d/%m/%Y})" if own.decision_date else ""))
    if a.flags:
        lines.append("  Cảnh báo:")
        lines.extend(f"    - {f.text()}" for f in a.flags)
    return "\n".join(lines) + "\n"


# -- for other modules --------------------------------------------------------------------------------
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


_ROW_KEY = (*_SYSTEM_FIELDS, *_LEVEL_FIELDS, "go_live", "project_start")


@functools.lru_cache(maxsize=4096)
def _certain_level(key: tuple[Any, ...], as_of: dt.date) -> int | None:
    suggestion = suggest(facts_of_row(dict(zip(_ROW_KEY, key, strict=True))), as_of=as_of)
    return suggestion.level if suggestion.certain else None


def suggest_for_report(ws: Any, library: Any, agency: str, system: str, *, as_of: dt.date) -> dict[str, Any]:
    """The suggestion as plain data for the agency report (``secaudit.report``)."""
    from . import inventory

    a = assess_system(ws, agency, inventory.get_system(ws, agency, system), as_of=as_of)
    s = a.suggestion
    reasons = [f"{s.book.cite(c.rule.ref)}: {c.rule.title}" for c in s.deciding]
    if not s.certain:
        reasons.append(f"có thể đến cấp độ {s.ceiling}: cần khai báo "
                       + ", ".join(alt.attr for alt in s.alternatives))
    if s.unverified:
        reasons.append("dựa trên tiêu chí NĐ 85/2016 chưa kiểm chứng")
    return {"level": s.level, "max_level": s.ceiling, "certain": s.certain, "regime": s.book.id,
            "reasons": reasons, "flags": [f.text() for f in a.flags if f.severity != "thong-tin"]}


# -- the determination sheet (phiếu xác định cấp độ) --------------------------------------------------
@dataclass
class SheetData:
    """Everything the level determination sheet shows (plain data for the template)."""

    agency: dict[str, Any]
    as_of: dt.date
    system: dict[str, Any]
    facts: list[dict[str, str]]
    regime: dict[str, Any]
    level: int
    ceiling: int
    certain: bool
    criteria: list[dict[str, Any]]
    alternatives: list[dict[str, Any]]
    reasoning: list[str]
    approval: list[dict[str, str]]
    flags: list[dict[str, str]]
    dossier_files: list[dict[str, Any]]
    generator: str
    lang: str = "vi"


def _shown(attr: str, value: Any) -> str:
    if value is None:
        return "Chưa rõ (chưa khai báo)"
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, int):
        return _num(value)
    labels = VALUE_LABELS.get(_LABEL_SETS.get(attr, ""), {})
    return labels.get(str(value), str(value))


def _result_label(c: Criterion) -> str:
    if c.value is True:
        return "Thỏa"
    if c.value is False:
        return "Không thỏa"
    if c.assumed:
        return "Coi như không thỏa (chưa khai báo: " + ", ".join(c.unknown) + ")"
    return "Chưa xác định (thiếu: " + ", ".join(c.unknown) + ")"


def sheet_data(ws: Any, agency: str, system: System, *, as_of: dt.date, rules: RuleSet | None = None) -> SheetData:
    """Collect the determination sheet of ``system`` as of ``as_of``."""
    from . import __version__, inventory

    rules = rules or load_rules()
    a = assess_system(ws, agency, system, as_of=as_of, rules=rules)
    s = a.suggestion
    facts = facts_of(system)
    fact_rows = [
        {"label": "Mục đích", "value": system.purpose or "Chưa rõ (chưa khai báo)"},
        {"label": "Chủ quản", "value": system.owner or "Chưa rõ (chưa khai báo)"},
        {"label": "Đơn vị vận hành", "value": system.operator or "Chưa rõ (chưa khai báo)"},
        {"label": "Nơi đặt hệ thống", "value": VALUE_LABELS["Hosting"].get(system.hosting.value, system.hosting.value)
         if system.hosting else "Chưa rõ (chưa khai báo)"},
        {"label": "Ngày đưa vào vận hành", "value": f"{system.go_live:%d/%m/%Y}" if system.go_live
         else "Chưa rõ (chưa khai báo)"},
    ]
    for row in fact_rows:
        row["attr"] = ""
    fact_rows += [{"label": desc[0][:1].upper() + desc[0][1:], "attr": attr, "value": _shown(attr, facts.get(attr))}
                  for attr, desc in ATTRIBUTES.items()]
    criteria = []
    for c in s.criteria:
        criteria.append({
            "id": c.rule.id, "level": c.rule.level, "effect": c.rule.effect, "ref": s.book.cite(c.rule.ref),
            "title": c.rule.title, "result": _result_label(c), "fired": bool(c.value), "unknown": c.value is None,
            "unverified": c.rule.unverified, "sources": c.rule.secondary_source,
            "corroborated_by": c.rule.corroborated_by,
        })
    alternatives = [
        {"attr": alt.attr, "description": alt.description, "decisive": alt.decisive,
         "options": [{"label": o.label, "levels": o.range_text()} for o in alt.options]}
        for alt in s.alternatives
    ]
    reasoning: list[str] = []
    if s.regime_note:
        reasoning.append(s.regime_note)
    deciding = "; ".join(f"{s.book.cite(c.rule.ref)} ({c.rule.title})" for c in s.deciding)
    fired_refs = ", ".join(s.book.cite(c.rule.ref) for c in s.fired if c.rule.effect == "level")
    if s.deciding:
        reasoning.append(
            f"Hệ thống thỏa các tiêu chí: {fired_refs}. Cấp độ cao nhất trong các tiêu chí thỏa là cấp độ {s.level}"
            f" ({deciding}); hệ thống đồng thời đáp ứng tiêu chí của nhiều cấp độ thì áp dụng cấp độ cao nhất"
            " (NĐ 331/2026 Đ8.2)."
        )
    else:
        reasoning.append("Không tiêu chí nào được xác định là thỏa từ thông tin đã khai báo; "
                         "cấp độ 1 là mức thấp nhất.")
    if not s.certain:
        needed = ", ".join(alt.attr for alt in s.alternatives)
        reasoning.append(
            f"Chưa đủ thông tin để loại trừ cấp độ cao hơn: tùy thông tin còn thiếu ({needed}), cấp độ có thể đến "
            f"{s.ceiling}. Cần làm rõ trước khi trình thẩm định; bảng cuối phiếu nêu cấp độ theo từng câu trả lời."
        )
    relevant = [c for c in s.assumed if (c.rule.level or 6) > s.level]
    if relevant:
        reasoning.append(
            "Các tiêu chí sau chưa được khai báo và được coi là không thỏa: "
            + "; ".join(f"{s.book.cite(c.rule.ref)} ({c.rule.title})" for c in relevant)
            + ". Nếu hệ thống thuộc một trong các trường hợp này, cần khai báo và xác định lại."
        )
    if s.ns_important:
        reasoning.append("Hệ thống có căn cứ đề nghị đưa vào Danh mục hệ thống thông tin quan trọng về an ninh quốc "
                         "gia (NĐ 331/2026 Đ16, Đ17); trình tự, thủ tục như cấp độ 5 (Đ20.4).")
    if s.unverified:
        reasoning.append(
            "Lưu ý: kết luận dựa trên tiêu chí của NĐ 85/2016/NĐ-CP mà lời văn chưa được đối chiếu với văn bản gốc "
            "(không có trong bộ văn bản của secaudit): " + ", ".join(r.id for r in s.unverified) + "."
        )
    lvl = system.level
    if lvl.proposed is not None and lvl.proposed != s.level:
        reasoning.append(f"Cấp độ đơn vị đề xuất trong danh mục: {lvl.proposed}"
                         + (" — thấp hơn cấp độ tối thiểu theo tiêu chí." if lvl.proposed < s.level else "."))
    appraised_kind, appraised_how = body_kind(lvl.appraised_by_kind, lvl.appraised_by, rules.bodies)
    approved_kind, approved_how = body_kind(lvl.approved_by_kind, lvl.approved_by, rules.bodies)
    how = {"khai-bao": "khai báo", "suy-ra": "suy ra từ tên", "khong-ro": "không nhận ra", "thieu": "chưa khai báo"}
    approval = [
        {"label": "Cấp độ đề xuất", "value": str(lvl.proposed) if lvl.proposed else "Chưa có"},
        {"label": "Tình trạng hồ sơ", "value": VALUE_LABELS["DossierState"][lvl.dossier_state.value]},
        {"label": "Cấp độ được phê duyệt", "value": str(lvl.approved) if lvl.approved else "Chưa phê duyệt"},
        {"label": "Quyết định phê duyệt", "value": f"{lvl.decision_number}, ngày {lvl.decision_date:%d/%m/%Y}"
         if lvl.decision_number and lvl.decision_date else "—"},
        {"label": "Cơ quan thẩm định", "value": f"{lvl.appraised_by or '—'} ({_kind_label(appraised_kind)}; "
                                               f"{how[appraised_how]})"},
        {"label": "Cấp phê duyệt", "value": f"{lvl.approved_by or '—'} ({_kind_label(approved_kind)}; "
                                           f"{how[approved_how]})"},
        {"label": "Quy chế bảo đảm an ninh mạng", "value": " ".join(x for x in (
            lvl.regulation_number or "", f"ngày {lvl.regulation_date:%d/%m/%Y}" if lvl.regulation_date else "") if x)
         or "Chưa khai báo"},
    ]
    ag = inventory.get_agency(ws, agency)
    return SheetData(
        agency=ag.model_dump(mode="json", exclude={"systems"}), as_of=as_of,
        system={"code": system.code, "name": system.name},
        facts=fact_rows,
        regime={"id": s.book.id, "title": s.book.title, "verified": s.book.verified, "note": s.book.note,
                "document": s.book.cite("").strip()},
        level=s.level, ceiling=s.ceiling, certain=s.certain, criteria=criteria, alternatives=alternatives,
        reasoning=reasoning, approval=approval,
        flags=[{"severity": SEVERITY_LABELS[f.severity], "code": f.severity, "message": f.message,
                "ref": f.ref or ""} for f in a.flags],
        dossier_files=a.dossier_files, generator=f"secaudit {__version__}",
    )


def render_sheet(data: SheetData, *, fmt: str, template_dir: Path | None = None) -> bytes:
    """The determination sheet as PDF (PDF/A-3b) or HTML bytes."""
    from . import report

    html = report.render_template("level-sheet.html.j2", data, lang=data.lang, template_dir=template_dir)
    if fmt == "html":
        return html
    if fmt != "pdf":
        raise InputError(f"Định dạng không hỗ trợ: {fmt}", en=f"unsupported format {fmt!r}")
    return report.render_pdf(html, title=f"Phiếu xác định cấp độ — {data.system['name']}",
                             author=data.agency["name"], as_of=data.as_of, template_dir=template_dir)
