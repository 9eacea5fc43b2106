"""The province roll-up's data: every agency of a province against the KH 04 tasks, worst first.

The renderer (``reporting.rollup``) and the non-compliant list (``reporting.noncompliant``) read one plain
data structure, :class:`ProvinceData`, made by :func:`assemble` from

- the task columns (:class:`TaskColumn`, the top-level items of ``kh04-bcdtw``), and
- one :class:`AgencyRow` per agency, each with one :class:`Cell` per task column.

:func:`build_province` fills the rows from the workspace's own assessment (one workspace for the whole
province, as in the demo). A caller that holds what the agencies *submitted* (the services layer, from
the bundles kept in ``exchange``) fills the same rows itself — the claim, the inspector's verification,
their agreement, the latest submission's date and whether it came late — and calls :func:`assemble`;
the renderer then shows a "Nộp báo cáo" column and a contradictions count because those fields are set.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any, TypedDict

from secaudit.errors import InputError, NotFoundError
from secaudit.inventory import records as inventory
from secaudit.reporting.assessment import evaluate_agency
from secaudit.reporting.data import SEVERITIES, check_lang, current_scans, iso, nfc, open_findings, version
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.requirements.results import Status
from secaudit.store.workspace import Workspace

#: The checklist whose top-level tasks form the columns of the province matrix.
MATRIX_CHECKLIST = "kh04-bcdtw"
#: Every status a cell can be counted in, in the order the totals, the legend and the chart's bars use.
#: A cell with no result at all (``status`` None) is counted as ``chua-danh-gia``.
COUNT_ORDER = ("dat", "mien-tru", "khong-ap-dung", "chua-danh-gia", "loi", "chua-dat")
#: Agency classes (exclusive, for the agency chart): the worst thing about the agency decides.
AGENCY_CLASSES = ("overdue", "not_met", "pending", "met")
#: How a claim and the inspector's verification compare (issue 16).
AGREEMENTS = ("khop", "mau-thuan", "chua-kiem-chung")
#: The issuer when the workspace knows none: every field empty (the documents leave lines to fill in).
UNKNOWN_ISSUER: dict[str, Any] = {"name": None, "parent": None, "place": None, "province": None, "symbol": None,
                                  "signer": None, "recipients": []}


class TaskColumn(TypedDict):
    """One KH 04 task: a column of the matrix."""

    id: str  #: item id in ``kh04-bcdtw`` (``t1-lo-hong``)
    short: str  #: short title, the column heading
    title: str  #: full title (in the report language when the checklist has it)
    deadline: str | None  #: ISO date


@dataclass
class Cell:
    """One agency × task.

    ``status`` is what the roll-up counts: the inspector's verification when there is one, else the
    agency's claim, else the workspace's own assessment; None when nothing is known (counted as
    ``chua-danh-gia``). ``claim``, ``verification`` and ``agreement`` are set only for a roll-up built from
    submissions; ``agreement`` is one of :data:`AGREEMENTS`.
    """

    status: str | None
    overdue: bool = False
    claim: str | None = None
    verification: str | None = None
    agreement: str | None = None

    @property
    def counted(self) -> str:
        """The one status this cell is counted in."""
        return self.status or Status.NOT_ASSESSED.value

    @property
    def met(self) -> bool:
        return self.status is not None and Status(self.status).met

    @property
    def contradiction(self) -> bool:
        return self.agreement == "mau-thuan"

    @property
    def weight(self) -> int:
        """Sort key of a cell: contradiction 4, overdue 3, not met 2, not yet decided 1, met or n/a 0."""
        if self.contradiction:
            return 4
        if self.overdue:
            return 3
        if self.met:
            return 0
        return 2 if self.status in (Status.FAIL.value, Status.ERROR.value) else 1


@dataclass
class AgencyRow:
    """One agency: a row of the matrix. ``cells`` follow the task columns one for one.

    ``submitted`` (date of the latest accepted submission) and ``late`` (whether it, or its absence,
    missed the reporting duty's deadline) are None in a roll-up built from the workspace itself.
    """

    code: str
    name: str
    cells: list[Cell]
    kind: str = ""
    systems: int = 0
    critical: int = 0
    approved: int = 0
    findings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    contact: str | None = None
    submitted: str | None = None  #: ISO date
    late: bool | None = None
    rank: int = 0

    @property
    def overdue(self) -> int:
        return sum(1 for c in self.cells if c.overdue)

    @property
    def not_met(self) -> int:
        return sum(1 for c in self.cells if not c.met)

    @property
    def met(self) -> bool:
        return self.not_met == 0

    @property
    def contradictions(self) -> int:
        return sum(1 for c in self.cells if c.contradiction)

    @property
    def open_findings(self) -> int:
        return sum(self.findings.values())

    @property
    def overdue_tasks(self) -> list[int]:
        """Numbers (1-based, the matrix's columns) of the overdue tasks."""
        return [i for i, c in enumerate(self.cells, 1) if c.overdue]

    @property
    def open_tasks(self) -> list[int]:
        """Numbers of the tasks not met that are not overdue (not yet due, or never due)."""
        return [i for i, c in enumerate(self.cells, 1) if not c.met and not c.overdue]

    @property
    def klass(self) -> str:
        """One of :data:`AGENCY_CLASSES`: overdue, else not met (a task CHƯA ĐẠT or LỖI), else pending, else met."""
        if self.overdue:
            return "overdue"
        if any(c.status in (Status.FAIL.value, Status.ERROR.value) for c in self.cells):
            return "not_met"
        return "met" if self.met else "pending"


@dataclass
class ProvinceData:
    """The province roll-up: agencies × KH 04 tasks, worst first, with totals.

    ``source`` says where the rows came from: ``workspace`` (the workspace's own assessment) or
    ``submissions`` (what the agencies sent, with the inspector's verification). ``issuer`` is the body
    issuing the roll-up (name, parent, place, province, symbol, signer, recipients); its ``name`` is None
    when the workspace does not know it, and the header then leaves blank lines to fill in by hand.
    """

    lang: str
    as_of: dt.date
    generator: str
    province: str
    profile: dict[str, Any]
    issuer: dict[str, Any]
    tasks: list[TaskColumn]
    agencies: list[AgencyRow]
    totals: dict[str, Any]
    source: str = "workspace"

    @property
    def count_order(self) -> tuple[str, ...]:
        """The statuses the totals count, in display order (:data:`COUNT_ORDER`)."""
        return COUNT_ORDER

    @property
    def has_submissions(self) -> bool:
        return any(a.submitted is not None or a.late is not None for a in self.agencies)

    @property
    def has_claims(self) -> bool:
        return any(c.agreement is not None for a in self.agencies for c in a.cells)

    @property
    def non_compliant(self) -> list[AgencyRow]:
        """Agencies with an overdue or unmet task, in roll-up order (what 3130/UBND-VX asks to publish)."""
        return [a for a in self.agencies if not a.met or a.overdue]


def provinces(ws: Workspace) -> list[str]:
    """Province names present in the workspace, sorted."""
    return sorted({unicodedata.normalize("NFC", r[0]) for r in ws.db.execute("select province from agencies")})


def task_columns(library: Library, profile: ResolvedProfile, lang: str = "vi") -> list[TaskColumn]:
    """The KH 04 tasks the profile keeps, in checklist order."""
    if MATRIX_CHECKLIST not in profile.checklists:
        raise InputError(f"Hồ sơ '{profile.id}' không gồm {MATRIX_CHECKLIST}",
                         en=f"profile '{profile.id}' does not include {MATRIX_CHECKLIST}")
    checklist = library.checklist(MATRIX_CHECKLIST)
    columns = [i for i in checklist.items if i.parent is None and f"{MATRIX_CHECKLIST}:{i.id}" not in profile.excluded]
    return [TaskColumn(id=i.id, short=i.short or i.title, deadline=iso(i.deadline),
                       title=i.title_en if lang == "en" and i.title_en else i.title) for i in columns]


def assemble(
    tasks: list[TaskColumn], rows: list[AgencyRow], *, lang: str, as_of: dt.date, province: str,
    issuer: dict[str, Any] | None, profile: dict[str, Any] | None = None, source: str = "workspace",
) -> ProvinceData:
    """Order the rows (contradictions, then overdue, then unmet first), rank them and count the totals.

    The rows are ranked in place (``rank``); pass copies (``dataclasses.replace``) to keep the originals.
    """
    check_lang(lang)
    for row in rows:
        if len(row.cells) != len(tasks):
            raise InputError(f"Cơ quan {row.code}: {len(row.cells)} ô cho {len(tasks)} nhiệm vụ",
                             en=f"agency {row.code}: {len(row.cells)} cells for {len(tasks)} tasks")
    rows = sorted(rows, key=lambda a: (-a.contradictions, -a.overdue, a.met, -a.not_met, -a.open_findings,
                                       a.name, a.code))
    for rank, row in enumerate(rows, 1):
        row.rank = rank
    per_task = []
    for i, task in enumerate(tasks):
        counts = dict.fromkeys(COUNT_ORDER, 0)
        for row in rows:
            counts[row.cells[i].counted] += 1
        per_task.append({
            "id": task["id"], "counts": counts, "overdue": sum(1 for r in rows if r.cells[i].overdue),
            "contradictions": sum(1 for r in rows if r.cells[i].contradiction),
            # three coarse groups (the web dashboard reads them): they partition the cells
            "met": counts["dat"] + counts["mien-tru"], "not_applicable": counts["khong-ap-dung"],
            "not_met": counts["chua-dat"] + counts["loi"] + counts["chua-danh-gia"],
        })
    classes = dict.fromkeys(AGENCY_CLASSES, 0)
    for row in rows:
        classes[row.klass] += 1
    totals = {
        "agencies": len(rows), "compliant": classes["met"], "classes": classes,
        "with_overdue": sum(1 for a in rows if a.overdue), "overdue_cells": sum(a.overdue for a in rows),
        "contradictions": sum(a.contradictions for a in rows),
        "late": sum(1 for a in rows if a.late), "submitted": sum(1 for a in rows if a.submitted),
        "systems": sum(a.systems for a in rows), "critical": sum(a.critical for a in rows),
        "approved": sum(a.approved for a in rows),
        "findings": {s: sum(a.findings.get(s, 0) for a in rows) for s in SEVERITIES},
        "open_findings": sum(a.open_findings for a in rows),
        "per_task": per_task,
    }
    for row in rows:
        row.name = nfc(row.name)
        row.contact = nfc(row.contact)
    return ProvinceData(
        lang=lang, as_of=as_of, generator=version(), province=nfc(province),
        profile=profile or {"id": "", "title": ""}, issuer=nfc(issuer) if issuer else dict(UNKNOWN_ISSUER),
        tasks=nfc(tasks),
        agencies=rows, totals=totals, source=source,
    )


def build_province(
    ws: Workspace, library: Library, province: str | None, *, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi", issuer: dict[str, Any] | None = None,
) -> ProvinceData:
    """Evaluate every agency of ``province`` (all agencies when ``None``) for the roll-up matrix.

    The issuer is ``issuer`` when given, else the workspace's police agency (kind ``cong-an``) if it
    holds one, else unknown (None).
    """
    check_lang(lang)
    known = provinces(ws)
    if province is not None:
        wanted = unicodedata.normalize("NFC", province).strip().casefold()
        match = [p for p in known if p.casefold() == wanted]
        if not match:
            raise NotFoundError(
                f"Không có cơ quan nào thuộc tỉnh '{province}' (có: {', '.join(known) or 'không có'})",
                en=f"no agency in province '{province}' (known: {', '.join(known) or 'none'})",
            )
        selected = match
    else:
        selected = known
    if not selected:
        raise NotFoundError("Workspace chưa có cơ quan nào", en="the workspace has no agencies")
    codes = [r[0] for r in ws.db.execute(
        f"select code from agencies where province in ({','.join('?' * len(selected))}) order by position, code",
        selected)]
    tasks = task_columns(library, profile, lang)
    # only the matrix's checklist is evaluated: its items refer to no other checklist, and the rest of the
    # profile (KH 92A, the level baselines) would triple the cost of a province without changing a cell
    matrix_only = dataclasses.replace(profile, checklists=[MATRIX_CHECKLIST])

    rows = []
    police: dict[str, Any] | None = None
    for code in codes:
        agency = inventory.get_agency(ws, code)
        assessment = evaluate_agency(ws, library, code, as_of=as_of, profile=matrix_only)
        by_id = {r.item: r for r in assessment.results if r.checklist == MATRIX_CHECKLIST and r.system is None}
        cells = []
        for task in tasks:
            res = by_id.get(task["id"])
            cells.append(Cell(status=res.status.value, overdue=res.overdue) if res else Cell(status=None))
        current = current_scans(ws, code, [s.code for s in agency.systems], as_of)
        severities = dict.fromkeys(SEVERITIES, 0)
        for f in open_findings(ws, current):
            severities[f["severity"]] = severities.get(f["severity"], 0) + 1
        rows.append(AgencyRow(
            code=code, name=agency.name, kind=agency.kind.value, systems=len(agency.systems),
            critical=sum(1 for s in agency.systems if s.critical),
            approved=sum(1 for s in agency.systems if s.level.approved), cells=cells, findings=severities,
            contact=agency.security_contact.name if agency.security_contact else None,
        ))
        if police is None and agency.kind.value == "cong-an":
            police = agency.model_dump(mode="json", exclude={"systems"})
    return assemble(tasks, rows, lang=lang, as_of=as_of, province=", ".join(selected), issuer=issuer or police,
                    profile={"id": profile.id, "title": profile.title})
