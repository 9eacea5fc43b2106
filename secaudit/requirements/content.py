"""Requirements as data: checklists, profiles and the registry of legal documents.

A checklist encodes one document's requirements (KH 04-KH/BCĐTW, KH 92A/KH-UBND, …): every item
cites its legal basis from the registry (``checklists/_documents.yaml``), says whether it is judged
per agency or per system, when it applies, what evidence it expects and by when. A profile selects
checklists and items and sets the evaluation variables (self-assessment vs police inspection).
A checklist is in force between its effective dates, so an assessment dated before a new text
takes effect is judged by the old one.

Loading is strict: unknown keys, unknown documents, unknown attributes and ids that differ from the
file stem are errors naming ``file:line``. The same models produce the JSON Schema published in
``docs/checklist.schema.json`` (``json_schema``), so the documentation cannot drift from the loader.

It runs past 500 lines because the checklist, profile and registry models are validated together
(items cite documents, profiles select items): one loader, one place for its cross-checks.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, WithJsonSchema, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import NotFoundError, ValidationError
from secaudit.inventory.models import Strict
from secaudit.requirements import conditions
from secaudit.resources import data_dir

ItemId = str
Severity = Literal["thap", "trung-binh", "cao", "nghiem-trong"]
DOCUMENTS_FILE = "_documents.yaml"
SCHEMA_ID = "https://secaudit.invalid/schema/checklist.schema.json"

#: Kinds of evidence document (Vietnamese label, English label). Items list the kinds they expect;
#: ``tai-lieu`` is what a file is when nobody said what it is, and no item may expect it.
EVIDENCE_KINDS: dict[str, tuple[str, str]] = {
    "quyet-dinh": ("quyết định", "decision"),
    "ho-so-cap-do": ("hồ sơ đề xuất cấp độ", "level dossier"),
    "van-ban": ("văn bản (công văn, hướng dẫn, thỏa thuận)", "letter, instruction or agreement"),
    "hop-dong": ("hợp đồng", "contract"),
    "bien-ban": ("biên bản", "minutes"),
    "bao-cao": ("báo cáo", "report"),
    "ket-qua-quet": ("kết quả dò quét", "scan result"),
    "anh-chup": ("ảnh chụp màn hình", "screenshot"),
    "nhat-ky": ("nhật ký, trích xuất log", "log extract"),
    "tai-lieu": ("tài liệu chưa phân loại", "unclassified document"),
}
UNCLASSIFIED = "tai-lieu"

#: A condition in the applicability language (``secaudit.conditions``); its schema is hand-written there.
ConditionData = Annotated[dict[str, Any], WithJsonSchema({"$ref": "#/$defs/Condition"})]


class Document(Strict):
    """A legal or planning document that requirements cite."""

    id: str
    number: str = Field(description="số hiệu, ví dụ '04-KH/BCĐTW', '331/2026/NĐ-CP'")
    kind: str = Field(description="loại văn bản: Kế hoạch, Nghị định, Thông tư, Công văn, Chỉ thị, TCVN…")
    title: str
    issuer: str
    date: dt.date | None = Field(default=None, description="ngày ban hành; để trống nếu nguồn không cho biết")
    effective: dt.date | None = Field(default=None, description="ngày có hiệu lực; để trống nếu không rõ")
    in_workspace: str | None = Field(default=None, description="nơi lưu văn bản để người duyệt đối chiếu")
    note: str | None = None


class Registry(Strict):
    """All documents by id (``checklists/_documents.yaml``)."""

    documents: list[Document]

    def by_id(self) -> dict[str, Document]:
        """Documents keyed by their id."""
        return {doc.id: doc for doc in self.documents}


class Basis(Strict):
    """A citation: document id plus article/section/task ('Đ13.2.b', 'task 3', 'II.7')."""

    doc: str = Field(description="id của văn bản trong danh mục _documents.yaml")
    ref: str = Field(description="điều, khoản, mục, nhiệm vụ, ví dụ 'Đ33.5', 'task 2', 'Phụ lục, mục II, TT 7'")
    quote: str | None = Field(default=None, description="trích nguyên văn ngắn, để người duyệt đối chiếu")

    def cite(self, registry: dict[str, Document]) -> str:
        """'Kind number ref', e.g. 'Nghị định 331/2026/NĐ-CP Đ33.5', as reports and prompts print it."""
        doc = registry.get(self.doc)
        return f"{doc.kind} {doc.number} {self.ref}" if doc else f"{self.doc} {self.ref}"

    def in_force(self, registry: dict[str, Document], day: dt.date) -> bool | None:
        """Whether the cited document is in force on ``day`` (None when its effective date is unknown)."""
        doc = registry.get(self.doc)
        if doc is None or doc.effective is None:
            return None
        return doc.effective <= day


class Recurrence(Strict):
    """A duty that repeats: every ``months`` months, optionally varying by security level."""

    months: int = Field(ge=1, le=60)
    by_level: dict[int, int] | None = Field(default=None, description="cấp độ -> số tháng, thay cho 'months'")

    @field_validator("by_level")
    @classmethod
    def _levels(cls, value: dict[int, int] | None) -> dict[int, int] | None:
        for level, months in (value or {}).items():
            if not 1 <= level <= 5 or not 1 <= months <= 60:
                raise ValueError("by_level: cấp độ 1–5, số tháng 1–60 / levels 1–5, months 1–60")
        return value


class EvidenceSpec(Strict):
    """What proves an item: document kinds, whether an attestation suffices, whether scans bear on it."""

    documents: list[str] = Field(default_factory=list, description="loại tài liệu minh chứng mong đợi")
    attestation: bool = Field(default=True, description="tự khai (có ghi chú) được chấp nhận khi tự đánh giá")
    scan: bool = Field(default=False, description="kết quả quét liên quan: phát hiện trái ngược làm mục không đạt")

    @field_validator("documents")
    @classmethod
    def _known_kinds(cls, kinds: list[str]) -> list[str]:
        allowed = sorted(set(EVIDENCE_KINDS) - {UNCLASSIFIED})
        unknown = [k for k in kinds if k not in allowed]
        if unknown:
            raise ValueError(f"loại minh chứng không biết / unknown evidence kinds {unknown}; cho phép: {allowed}")
        return kinds


class Item(Strict):
    """One requirement."""

    id: ItemId = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    title: str
    title_en: str | None = None
    short: str | None = Field(default=None, description="nhãn ngắn cho bảng")
    guidance: str | None = None
    guidance_en: str | None = None
    basis: list[Basis] = Field(min_length=1)
    scope: Literal["agency", "system"] = Field(description="agency: một kết quả cho cơ quan; system: từng hệ thống")
    applies_if: ConditionData | None = None
    evidence: EvidenceSpec = Field(default_factory=EvidenceSpec)
    deadline: dt.date | None = None
    recurrence: Recurrence | None = None
    severity: Severity = "cao"
    parent: ItemId | None = Field(default=None, description="mục cha: mục cha chỉ đạt khi mọi mục con đạt")
    required_result: str | None = Field(default=None, description="'yêu cầu kết quả' như văn bản nguồn ghi")

    @field_validator("applies_if")
    @classmethod
    def _condition_shape(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
        if value is not None and "scope" in info.data:  # a bad scope is reported on its own
            conditions.check(value, scope=info.data["scope"])
        return value


class Effective(Strict):
    """Dates between which a checklist is the applicable text (both inclusive)."""

    from_: dt.date = Field(alias="from")
    until: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Effective:
        if self.until is not None and self.until < self.from_:
            raise ValueError("'until' phải sau 'from' / 'until' must not precede 'from'")
        return self

    def covers(self, day: dt.date) -> bool:
        """Whether the checklist is the applicable text on ``day``."""
        return self.from_ <= day and (self.until is None or day <= self.until)


class ReportingDuty(Strict):
    """A reporting cadence (KH 92A IV.1): which progress report is due before which day.

    ``every`` names the period a report covers. Monthly reports fall due every month and
    quarterly ones in the last month of each quarter (on ``due_day``); a half-year or a yearly
    report falls due once a year on ``due_day``/``due_month``. "Trước ngày N" is kept as written:
    the report must arrive *before* that day.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    title: str
    title_en: str | None = None
    basis: list[Basis] = Field(min_length=1)
    every: Literal["month", "quarter", "half-year", "year"]
    due_day: int = Field(ge=1, le=31)
    due_month: int | None = Field(default=None, ge=1, le=12, description="tháng đến hạn (kỳ nửa năm, năm)")
    recipient: str | None = None
    applies_if: ConditionData | None = None

    @field_validator("applies_if")
    @classmethod
    def _condition_shape(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            conditions.check(value, scope="agency")
        return value

    @model_validator(mode="after")
    def _shape(self) -> ReportingDuty:
        yearly = self.every in ("half-year", "year")
        if yearly and self.due_month is None:
            raise ValueError(f"{self.id}: kỳ '{self.every}' cần due_month / needs due_month")
        if not yearly and self.due_month is not None:
            raise ValueError(f"{self.id}: kỳ '{self.every}' không dùng due_month / takes no due_month")
        return self

    def due_dates(self, year: int) -> list[dt.date]:
        """Every "before" day of this duty in ``year`` (clamped to the end of short months)."""
        if self.every == "month":
            months = list(range(1, 13))
        elif self.every == "quarter":
            months = [3, 6, 9, 12]
        else:
            months = [self.due_month or 12]
        return [dt.date(year, m, min(self.due_day, calendar.monthrange(year, m)[1])) for m in months]

    def next_due(self, day: dt.date) -> dt.date:
        """The first "before" day after ``day``: on the due day itself that report is already late.

        After the last "before" day of year 9999 (the calendar's end) there is none: ``date.max``,
        i.e. not due within any date the program can write."""
        for year in (day.year, day.year + 1):
            if year > dt.MAXYEAR:
                break
            for due in self.due_dates(year):
                if due > day:
                    return due
        return dt.date.max


def item_structure(items: list[tuple[Any, Any, Any]]) -> list[tuple[int, str, str]]:
    """Problems with ids and parents of (id, parent, scope) rows: (index, field, message) each.

    Ids are unique; a parent exists, has the same scope (a sub-item is judged where its task is),
    and following parents never loops.
    """
    problems: list[tuple[int, str, str]] = []
    first: dict[Any, int] = {}
    for index, (item_id, _, _) in enumerate(items):
        if item_id in first:
            problems.append((index, "id", f"mã mục '{item_id}' bị lặp (mục {first[item_id] + 1}) / duplicate item id"))
        first.setdefault(item_id, index)
    by_id = {row[0]: row for row in items}
    for index, (item_id, parent_id, scope) in enumerate(items):
        if parent_id is None:
            continue
        parent = by_id.get(parent_id)
        if parent is None:
            problems.append((index, "parent", f"{item_id}: mục cha '{parent_id}' không tồn tại / unknown parent"))
            continue
        if parent[2] != scope:
            problems.append((index, "scope",
                             f"{item_id}: phạm vi phải giống mục cha '{parent_id}' / scope must match its parent"))
        seen = {item_id}
        cursor: tuple[Any, Any, Any] | None = parent
        while cursor is not None:
            if cursor[0] in seen:
                problems.append((index, "parent", f"{item_id}: vòng lặp mục cha / parent cycle"))
                break
            seen.add(cursor[0])
            cursor = by_id.get(cursor[1]) if cursor[1] is not None else None
    return problems


class Checklist(Strict):
    """A set of requirements from one document."""

    id: str
    title: str
    title_en: str | None = None
    issuer: str
    document: str = Field(description="id của văn bản nguồn trong danh mục")
    effective: Effective
    items: list[Item] = Field(min_length=1)
    reporting: list[ReportingDuty] = Field(default_factory=list)

    @field_validator("items")
    @classmethod
    def _structure(cls, items: list[Item]) -> list[Item]:
        problems = item_structure([(i.id, i.parent, i.scope) for i in items])
        if problems:
            raise ValueError(problems[0][2])
        return items

    @field_validator("reporting")
    @classmethod
    def _unique_duties(cls, duties: list[ReportingDuty]) -> list[ReportingDuty]:
        ids = [d.id for d in duties]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"mã báo cáo bị lặp / duplicate reporting ids: {', '.join(dupes)}")
        return duties

    def item(self, item_id: str) -> Item:
        """The item with this id (NotFoundError otherwise)."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFoundError(f"Không có mục '{item_id}' trong {self.id}", en=f"no item '{item_id}' in {self.id}")

    def children(self, item_id: str) -> list[Item]:
        """The sub-items of an item, in file order."""
        return [item for item in self.items if item.parent == item_id]


class ProfileVars(Strict):
    """Evaluation variables a profile may set; unset ones come from ``extends`` or the defaults."""

    attestation_ok: bool | None = Field(
        default=None, description="khai báo đạt kèm ghi chú được chấp nhận khi mục cho phép tự khai")
    require_documents: bool | None = Field(
        default=None, description="mọi 'đạt' cần tài liệu minh chứng đúng loại, và kết quả quét khi mục có quét")
    scan_max_age_days: int | None = Field(
        default=None, ge=1, le=3650, description="kết quả quét cũ hơn số ngày này không còn giá trị chứng minh")


class Profile(Strict):
    """A tailoring: which checklists and items, and the evaluation variables."""

    id: str
    title: str
    title_en: str | None = None
    extends: str | None = None
    checklists: list[str] = Field(default_factory=list)
    select: list[str] = Field(
        default_factory=list, description="'checklist:item' để chọn lại, '!checklist:item' để loại bỏ",
    )
    vars: ProfileVars = Field(default_factory=ProfileVars)

    @field_validator("select")
    @classmethod
    def _selection_shape(cls, selections: list[str]) -> list[str]:
        for sel in selections:
            cid, sep, iid = sel.removeprefix("!").partition(":")
            if not (cid and sep and iid):
                raise ValueError(f"lựa chọn '{sel}' phải có dạng '[!]checklist:item' / must be '[!]checklist:item'")
        return selections


PROFILE_VARS: dict[str, Any] = {
    "attestation_ok": True,  # an attested đạt with a note counts without documents
    "require_documents": False,  # every đạt needs document evidence (and scan evidence where scans bear)
    "scan_max_age_days": 90,  # scan evidence older than this proves nothing
}


@dataclass
class ResolvedProfile:
    """A profile with ``extends`` applied: checklists, excluded items and final variables."""

    id: str
    title: str
    chain: list[str]
    checklists: list[str]
    excluded: set[str]
    vars: dict[str, Any]


class Library:
    """The checklists, profiles and document registry from one or more folders."""

    def __init__(self, checklist_dir: Path | None = None, profile_dir: Path | None = None) -> None:
        self.checklist_dir = checklist_dir or data_dir("checklists")
        self.profile_dir = profile_dir or data_dir("profiles")
        self._checklists: dict[str, Checklist] | None = None
        self._registry: dict[str, Document] | None = None

    # -- registry -------------------------------------------------------------------------------
    @property
    def registry(self) -> dict[str, Document]:
        """The document registry, loaded once."""
        if self._registry is None:
            path = self.checklist_dir / DOCUMENTS_FILE
            located = yamlio.load(path)
            try:
                registry = Registry.model_validate(located.data)
            except PydanticError as exc:
                yamlio.raise_pydantic(exc, located)
                raise
            ids = [d.id for d in registry.documents]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                where = located.where(("documents",))
                raise ValidationError([(where, f"văn bản bị lặp / duplicate documents {dupes}")])
            self._registry = registry.by_id()
        return self._registry

    # -- checklists -----------------------------------------------------------------------------
    def checklist_paths(self) -> list[Path]:
        """Checklist files (``_*.yaml`` are registries and rules, not checklists)."""
        return sorted(p for p in self.checklist_dir.glob("*.yaml") if not p.name.startswith("_"))

    def load_checklist(self, path: Path) -> Checklist:
        """Load and validate one checklist file, checking its citations against the registry."""
        located = yamlio.load(path)
        raw = located.data.get("items") if isinstance(located.data, dict) else None
        if isinstance(raw, list) and all(isinstance(i, dict) for i in raw):
            found = item_structure([(i.get("id"), i.get("parent"), i.get("scope")) for i in raw])
            if found:  # reported here, item by item, for precise lines
                raise ValidationError([(located.where(("items", index, key)), message)
                                       for index, key, message in found], en="checklist does not validate")
        try:
            checklist = Checklist.model_validate(located.data)
        except PydanticError as exc:
            yamlio.raise_pydantic(exc, located)
            raise
        problems: list[tuple[str, str]] = []
        if checklist.id != path.stem:
            problems.append((located.where(("id",)), f"id '{checklist.id}' phải trùng tên tệp '{path.stem}'"))
        registry = self.registry
        if checklist.document not in registry:
            problems.append((located.where(("document",)), f"văn bản '{checklist.document}' không có trong danh mục"))
        for i, item in enumerate(checklist.items):
            for j, basis in enumerate(item.basis):
                if basis.doc not in registry:
                    problems.append(
                        (
                            located.where(("items", i, "basis", j, "doc")),
                            f"{item.id}: văn bản '{basis.doc}' không có trong danh mục / unknown document",
                        )
                    )
        for i, duty in enumerate(checklist.reporting):
            for j, basis in enumerate(duty.basis):
                if basis.doc not in registry:
                    problems.append(
                        (
                            located.where(("reporting", i, "basis", j, "doc")),
                            f"{duty.id}: văn bản '{basis.doc}' không có trong danh mục / unknown document",
                        )
                    )
        if problems:
            raise ValidationError(problems, en="checklist does not validate")
        return checklist

    @property
    def checklists(self) -> dict[str, Checklist]:
        """Every checklist by id, loaded and validated once."""
        if self._checklists is None:
            self._checklists = {p.stem: self.load_checklist(p) for p in self.checklist_paths()}
        return self._checklists

    def checklist(self, checklist_id: str) -> Checklist:
        """One checklist by id (NotFoundError otherwise)."""
        try:
            return self.checklists[checklist_id]
        except KeyError:
            raise NotFoundError(f"Không có bộ tiêu chí '{checklist_id}'", en=f"no checklist '{checklist_id}'") from None

    def resolve_ref(self, ref: str) -> tuple[Checklist, Item]:
        """``checklist:item`` -> the checklist and item (NotFoundError otherwise)."""
        checklist_id, sep, item_id = ref.partition(":")
        if not sep or not item_id:
            from secaudit.errors import InputError

            raise InputError(f"Cần dạng 'bộ-tiêu-chí:mục', nhận '{ref}'", en="expected CHECKLIST:ITEM")
        checklist = self.checklist(checklist_id)
        return checklist, checklist.item(item_id)

    # -- profiles -------------------------------------------------------------------------------
    def profile_paths(self) -> list[Path]:
        """Every profile file, assessment and scan profiles alike."""
        return sorted(self.profile_dir.glob("*.yaml"))

    def load_profile(self, profile_id: str) -> Profile:
        """One assessment profile as written (without ``extends`` applied)."""
        path = self.profile_dir / f"{profile_id}.yaml"
        if not path.is_file():
            raise NotFoundError(f"Không có hồ sơ đánh giá '{profile_id}'", en=f"no profile '{profile_id}'")
        located = yamlio.load(path)
        if isinstance(located.data, dict) and "scan" in located.data and "checklists" not in located.data:
            raise NotFoundError(
                f"'{profile_id}' là hồ sơ quét, không phải hồ sơ đánh giá", en=f"'{profile_id}' is a scan profile"
            )
        try:
            profile = Profile.model_validate(located.data)
        except PydanticError as exc:
            yamlio.raise_pydantic(exc, located)
            raise
        if profile.id != profile_id:
            raise ValidationError([(located.where(("id",)), f"id '{profile.id}' phải trùng tên tệp '{profile_id}'")])
        return profile

    def resolve_profile(self, profile_id: str) -> ResolvedProfile:
        """Apply ``extends`` (parent first), selections and variables."""
        chain: list[Profile] = []
        seen: set[str] = set()
        current: str | None = profile_id
        while current is not None:
            if current in seen:
                raise ValidationError([(f"profiles/{current}.yaml", "vòng lặp 'extends' / extends cycle")])
            seen.add(current)
            profile = self.load_profile(current)
            chain.append(profile)
            current = profile.extends
        checklists: list[str] = []
        excluded: set[str] = set()
        variables = dict(PROFILE_VARS)
        for profile in reversed(chain):
            for cid in profile.checklists:
                self.checklist(cid)
                if cid not in checklists:
                    checklists.append(cid)
            for sel in profile.select:
                negate = sel.startswith("!")
                ref = sel.lstrip("!")
                self.resolve_ref(ref)
                (excluded.add if negate else excluded.discard)(ref)
            variables.update(profile.vars.model_dump(exclude_none=True))
        top = chain[0]
        return ResolvedProfile(top.id, top.title, [p.id for p in chain], checklists, excluded, variables)

    def validate_all(self) -> list[str]:
        """Load every checklist and profile; return their ids (raises on the first bad file)."""
        ids = list(self.checklists)
        for path in self.profile_paths():
            located = yamlio.load(path)
            if isinstance(located.data, dict) and "scan" in located.data:
                continue  # scan profiles are validated by the scanner
            ids.append(self.resolve_profile(path.stem).id)
        return ids


def json_schema() -> dict[str, Any]:
    """One JSON Schema for checklist files, assessment profiles and the document registry."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(Checklist, "validation"), (Profile, "validation"), (Registry, "validation")],
        ref_template="#/$defs/{model}",
    )
    defs = dict(top.get("$defs", {}))
    defs.update(conditions.json_schema_defs())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "secaudit: bộ tiêu chí, hồ sơ đánh giá, danh mục văn bản / checklists, profiles, documents",
        "description": (
            "Sinh từ các mô hình pydantic trong secaudit/content.py bằng 'secaudit checklist schema'; đừng sửa tay."
            " / Generated from the pydantic models; do not edit by hand. See docs/checklist-format.md."
        ),
        "oneOf": [{"$ref": "#/$defs/Checklist"}, {"$ref": "#/$defs/Profile"}, {"$ref": "#/$defs/Registry"}],
        "$defs": dict(sorted(defs.items())),
    }
