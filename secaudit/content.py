"""Requirements as data: checklists, profiles and the registry of legal documents.

A checklist encodes one document's requirements (KH 04-KH/BCĐTW, KH 92A/KH-UBND, …): every item
cites its legal basis from the registry (``checklists/_documents.yaml``), says whether it is judged
per agency or per system, when it applies, what evidence it expects and by when. A profile selects
checklists and items and sets the evaluation variables (self-assessment vs police inspection).

Loading is strict: unknown keys, unknown documents, unknown attributes and ids that differ from the
file stem are errors naming ``file:line``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from . import conditions, yamlio
from .errors import NotFoundError, ValidationError
from .models import Strict
from .resources import data_dir

ItemId = str
Severity = Literal["thap", "trung-binh", "cao", "nghiem-trong"]
DOCUMENTS_FILE = "_documents.yaml"


class Document(Strict):
    """A legal or planning document that requirements cite."""

    id: str
    number: str  # e.g. "04-KH/BCĐTW", "331/2026/NĐ-CP"
    kind: str  # Kế hoạch, Nghị định, Thông tư, Công văn, Chỉ thị, TCVN…
    title: str
    issuer: str
    date: dt.date | None = None
    effective: dt.date | None = None
    in_workspace: str | None = None  # where the text is kept (shared/legal, seeds), for reviewers
    note: str | None = None


class Registry(Strict):
    """All documents by id."""

    documents: list[Document]

    def by_id(self) -> dict[str, Document]:
        return {doc.id: doc for doc in self.documents}


class Basis(Strict):
    """A citation: document id plus article/section/task ('Đ13.2.b', 'task 3', 'II.7')."""

    doc: str
    ref: str
    quote: str | None = None  # a short quotation of the source, where helpful to reviewers

    def cite(self, registry: dict[str, Document]) -> str:
        doc = registry.get(self.doc)
        return f"{doc.kind} {doc.number} {self.ref}" if doc else f"{self.doc} {self.ref}"


class Recurrence(Strict):
    """A duty that repeats: every ``months`` months, optionally varying by level."""

    months: int = Field(ge=1, le=60)
    by_level: dict[int, int] | None = None  # level -> months, overrides ``months``


class EvidenceSpec(Strict):
    """What proves an item: document kinds, whether an attestation suffices, scan rules."""

    documents: list[str] = Field(default_factory=list)  # evidence kinds, e.g. "quyet-dinh", "bien-ban"
    attestation: bool = True  # a signed self-declaration with a note counts (self-assessment)
    scan: bool = False  # scan findings bear on this item (contradictions make it fail)


class Item(Strict):
    """One requirement."""

    id: ItemId = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    title: str
    title_en: str | None = None
    short: str | None = None  # short label for tables
    guidance: str | None = None
    guidance_en: str | None = None
    basis: list[Basis] = Field(min_length=1)
    scope: Literal["agency", "system"]
    applies_if: dict[str, Any] | None = None
    evidence: EvidenceSpec = Field(default_factory=EvidenceSpec)
    deadline: dt.date | None = None
    recurrence: Recurrence | None = None
    severity: Severity = "cao"
    parent: ItemId | None = None
    required_result: str | None = None  # "kết quả/sản phẩm" as the source states it

    @model_validator(mode="after")
    def _condition_shape(self) -> Item:
        if self.applies_if is not None:
            conditions.check(self.applies_if, scope=self.scope)
        return self


class Effective(Strict):
    """Dates between which a checklist is the applicable text."""

    from_: dt.date = Field(alias="from")
    until: dt.date | None = None

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.until is None or day <= self.until)


class ReportingDuty(Strict):
    """A reporting cadence (KH 92A IV.1): when progress reports are due."""

    id: str
    title: str
    basis: list[Basis] = Field(min_length=1)
    every: Literal["month", "quarter", "half-year", "year"]
    due_day: int = Field(ge=1, le=31)
    due_month: int | None = Field(default=None, ge=1, le=12)  # for half-year / year
    recipient: str | None = None


class Checklist(Strict):
    """A set of requirements from one document."""

    id: str
    title: str
    title_en: str | None = None
    issuer: str
    document: str  # registry id of the source document
    effective: Effective
    items: list[Item] = Field(min_length=1)
    reporting: list[ReportingDuty] = Field(default_factory=list)

    @field_validator("items")
    @classmethod
    def _unique_ids(cls, items: list[Item]) -> list[Item]:
        ids = [item.id for item in items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"mã mục bị lặp / duplicate item ids: {', '.join(dupes)}")
        known = set(ids)
        for item in items:
            if item.parent is not None and item.parent not in known:
                raise ValueError(f"{item.id}: mục cha '{item.parent}' không tồn tại / unknown parent")
        return items

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFoundError(f"Không có mục '{item_id}' trong {self.id}", en=f"no item '{item_id}' in {self.id}")

    def children(self, item_id: str) -> list[Item]:
        return [item for item in self.items if item.parent == item_id]


class Profile(Strict):
    """A tailoring: which checklists and items, and the evaluation variables."""

    id: str
    title: str
    title_en: str | None = None
    extends: str | None = None
    checklists: list[str] = Field(default_factory=list)
    select: list[str] = Field(default_factory=list)  # "checklist:item" or "!checklist:item"
    vars: dict[str, Any] = Field(default_factory=dict)


PROFILE_VARS: dict[str, Any] = {
    "attestation_ok": True,  # an attested đạt with a note counts without documents
    "require_documents": False,  # every đạt needs document evidence
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
        if self._registry is None:
            path = self.checklist_dir / DOCUMENTS_FILE
            located = yamlio.load(path)
            try:
                self._registry = Registry.model_validate(located.data).by_id()
            except PydanticError as exc:
                yamlio.raise_pydantic(exc, located)
        return self._registry  # type: ignore[return-value]

    # -- checklists -----------------------------------------------------------------------------
    def checklist_paths(self) -> list[Path]:
        return sorted(p for p in self.checklist_dir.glob("*.yaml") if not p.name.startswith("_"))

    def load_checklist(self, path: Path) -> Checklist:
        """Load and validate one checklist file, checking its citations against the registry."""
        located = yamlio.load(path)
        try:
            checklist = Checklist.model_validate(located.data)
        except PydanticError as exc:
            yamlio.raise_pydantic(exc, located)
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
                    problems.append((located.where(("reporting", i, "basis", j)), f"văn bản '{basis.doc}' không có"))
        if problems:
            raise ValidationError(problems, en="checklist does not validate")
        return checklist

    @property
    def checklists(self) -> dict[str, Checklist]:
        if self._checklists is None:
            self._checklists = {p.stem: self.load_checklist(p) for p in self.checklist_paths()}
        return self._checklists

    def checklist(self, checklist_id: str) -> Checklist:
        try:
            return self.checklists[checklist_id]
        except KeyError:
            raise NotFoundError(f"Không có bộ tiêu chí '{checklist_id}'", en=f"no checklist '{checklist_id}'") from None

    # -- profiles -------------------------------------------------------------------------------
    def profile_paths(self) -> list[Path]:
        return sorted(self.profile_dir.glob("*.yaml"))

    def load_profile(self, profile_id: str) -> Profile:
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
        if profile.id != profile_id:
            raise ValidationError([(located.where(("id",)), f"id '{profile.id}' phải trùng tên tệp '{profile_id}'")])
        unknown = set(profile.vars) - set(PROFILE_VARS)
        if unknown:
            raise ValidationError([(located.where(("vars",)), f"biến không biết / unknown vars: {sorted(unknown)}")])
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
                cid, _, iid = ref.partition(":")
                self.checklist(cid).item(iid)
                (excluded.add if negate else excluded.discard)(ref)
            variables.update(profile.vars)
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
