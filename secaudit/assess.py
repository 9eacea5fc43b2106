"""Assessment: record answers and evaluate every applicable requirement for an agency.

The evaluator is the one place where a status is decided. It never prints and never guesses:
an unknown attribute, a missing answer, missing evidence, a stale or incomplete scan each leave
a reason in the result, and observed scan findings that contradict an attested "đạt" win.

Answers come three ways, all through ``record_answer`` (one transaction, one log entry each):
an answers file (``import_answers``; ``answers_template`` writes one to fill in), one answer at a
time for scripts (``set_answer``), and the interactive walk (``walk_steps`` + sessions), which
saves after every answer and keeps a bookmark so a stopped walk resumes at the next item.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticError

from . import auditlog, clock, conditions, yamlio
from .content import EVIDENCE_KINDS, UNCLASSIFIED, Checklist, Item, Library, ReportingDuty, ResolvedProfile
from .errors import InputError, NotFoundError, ValidationError
from .models import Strict
from .store import Workspace, dumps, now


class Status(StrEnum):
    """Outcome of one requirement for one agency or system."""

    PASS = "dat"
    FAIL = "chua-dat"
    NOT_APPLICABLE = "khong-ap-dung"
    NOT_ASSESSED = "chua-danh-gia"
    WAIVED = "mien-tru"
    ERROR = "loi"

    @property
    def met(self) -> bool:
        """Whether this status satisfies a requirement (for exit codes and roll-ups)."""
        return self in (Status.PASS, Status.NOT_APPLICABLE, Status.WAIVED)


LABELS = {
    "vi": {
        Status.PASS: "ĐẠT", Status.FAIL: "CHƯA ĐẠT", Status.NOT_APPLICABLE: "KHÔNG ÁP DỤNG",
        Status.NOT_ASSESSED: "CHƯA ĐÁNH GIÁ", Status.WAIVED: "MIỄN TRỪ", Status.ERROR: "LỖI",
    },
    "en": {
        Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NOT_APPLICABLE: "NOT APPLICABLE",
        Status.NOT_ASSESSED: "NOT ASSESSED", Status.WAIVED: "WAIVED", Status.ERROR: "ERROR",
    },
}

# Aggregation precedence: the first status present among the parts decides the whole.
_ROLLUP_ORDER = (Status.FAIL, Status.ERROR, Status.NOT_ASSESSED)


@dataclass
class Result:
    """The evaluated state of one item for one agency (``system`` None) or one system."""

    checklist: str
    item: str
    agency: str
    system: str | None
    status: Status
    reasons: list[str] = field(default_factory=list)
    deadline: dt.date | None = None
    overdue: bool = False
    note: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    applicable: bool | None = True  # what the applicability condition said (None: unknown)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``status --format json`` and bundles."""
        return {
            "checklist": self.checklist, "item": self.item, "agency": self.agency, "system": self.system,
            "status": self.status.value, "overdue": self.overdue, "applicable": self.applicable,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "reasons": self.reasons, "note": self.note,
            "evidence": [e["sha256"] for e in self.evidence], "findings": [f["id"] for f in self.findings],
        }


@dataclass
class ReportDue:
    """The next progress report an agency owes under a reporting duty (KH 92A IV.1)."""

    checklist: str
    duty: str
    title: str
    every: str
    due_before: dt.date  # the report must arrive before this day
    days_left: int  # whole days from the evaluation day to the last day allowed (due_before - 1)
    recipient: str | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``status --format json``."""
        return {
            "checklist": self.checklist, "duty": self.duty, "title": self.title, "every": self.every,
            "due_before": self.due_before.isoformat(), "days_left": self.days_left, "recipient": self.recipient,
            "basis": self.basis,
        }


@dataclass
class AgencyAssessment:
    """Everything evaluated for one agency as of one date: item rows and per-system details."""

    agency: str
    as_of: dt.date
    profile: str
    checklists: list[str]
    results: list[Result]  # agency-level rows (system-scope items rolled up), one per item
    system_results: list[Result]  # per-system rows for system-scope items
    reports: list[ReportDue] = field(default_factory=list)  # next reports due, soonest first

    @property
    def met(self) -> bool:
        """True when every applicable item is met and nothing is overdue (else ``status`` exits 3)."""
        return all(r.status.met and not r.overdue for r in self.results)


def rollup(statuses: Iterable[Status]) -> Status:
    """Combine the statuses of several systems (or sub-items) into one."""
    parts = list(statuses)
    if not parts or all(s is Status.NOT_APPLICABLE for s in parts):
        return Status.NOT_APPLICABLE
    for status in _ROLLUP_ORDER:
        if status in parts:
            return status
    relevant = [s for s in parts if s is not Status.NOT_APPLICABLE]
    return Status.WAIVED if all(s is Status.WAIVED for s in relevant) else Status.PASS


# -- answers ------------------------------------------------------------------------------------
AnswerStatus = Literal["dat", "chua-dat", "khong-ap-dung"]
ANSWER_STATUSES = ("dat", "chua-dat", "khong-ap-dung")


class EvidenceFile(Strict):
    """An evidence file in an answers file, with what it is and when it counts."""

    file: str
    kind: str | None = None
    effective: dt.date | None = None
    expires: dt.date | None = None


class AnswerEntry(Strict):
    """One answer in an answers file (``status: null`` = not answered yet, skipped on import)."""

    item: str
    checklist: str | None = None  # defaults to the file's ``checklist``
    system: str | None = None
    status: AnswerStatus | None = None
    note: str | None = None
    effective: dt.date | None = None  # the day the answered facts hold from
    evidence: list[str | EvidenceFile] = Field(default_factory=list)
    evidence_kind: str | None = None  # default kind for plain file names
    expires: dt.date | None = None  # default expiry for plain file names


class AnswersFile(Strict):
    """An answers file: which agency (and default checklist), then the answers."""

    agency: str
    checklist: str | None = None
    answers: list[AnswerEntry] = Field(default_factory=list)


@dataclass
class Evidence:
    """An evidence file to record: where it is, what it is, and when it counts."""

    path: Path
    kind: str | None = None
    effective: dt.date | None = None
    expires: dt.date | None = None


@dataclass
class ImportSummary:
    """What ``import_answers`` did."""

    recorded: int
    skipped: int
    evidence: int


def load_answers(path: Path) -> tuple[AnswersFile, yamlio.Located]:
    """Parse an answers file strictly (``file:line`` on every problem)."""
    located = yamlio.load(path)
    try:
        return AnswersFile.model_validate(located.data), located
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise


def _kind_problem(kind: str | None) -> str | None:
    if kind is None or kind in EVIDENCE_KINDS:
        return None
    return f"loại minh chứng không biết '{kind}' / unknown evidence kind; cho phép: {', '.join(EVIDENCE_KINDS)}"


def _target_problems(
    library: Library, systems: set[str], checklist_id: str | None, item_id: str, system: str | None
) -> tuple[Item | None, list[str]]:
    """Check that an answer names a real item, and a system exactly when the item is per system."""
    if checklist_id is None:
        return None, ["cần 'checklist' (ở đầu tệp hoặc trong câu trả lời) / which checklist?"]
    try:
        item = library.checklist(checklist_id).item(item_id)
    except NotFoundError as exc:
        return None, [exc.message]
    problems = []
    if item.scope == "system" and system is None:
        problems.append(f"{item.id}: mục theo hệ thống, cần 'system' / system-scope item needs 'system'")
    if item.scope == "agency" and system is not None:
        problems.append(f"{item.id}: mục theo cơ quan, bỏ 'system' / agency-scope item takes no 'system'")
    if system is not None and system not in systems:
        problems.append(f"không có hệ thống '{system}' / unknown system '{system}'")
    return item, problems


def _system_codes(ws: Workspace, agency: str) -> set[str]:
    return {r[0] for r in ws.db.execute("select code from systems where agency = ?", [agency]).fetchall()}


def import_answers(
    ws: Workspace, library: Library, path: Path, *, agency: str, actor: str
) -> ImportSummary:
    """Record every answer in ``path`` for ``agency`` in one transaction (all or nothing)."""
    answers, located = load_answers(path)
    if answers.agency != agency:
        raise InputError(
            f"Tệp trả lời dành cho '{answers.agency}', không phải '{agency}'",
            en=f"answers file is for agency '{answers.agency}'", where=located.where(("agency",)),
        )
    ws.require_agency(agency)
    if answers.checklist is not None:
        try:
            library.checklist(answers.checklist)
        except NotFoundError as exc:
            raise ValidationError([(located.where(("checklist",)), exc.message)]) from None
    systems = _system_codes(ws, agency)
    problems: list[tuple[str, str]] = []
    todo: list[tuple[str, AnswerEntry, list[Evidence]]] = []
    seen: dict[tuple[str, str, str], int] = {}
    skipped = 0
    for i, entry in enumerate(answers.answers):
        where = located.where(("answers", i))
        checklist_id = entry.checklist or answers.checklist
        _, found = _target_problems(library, systems, checklist_id, entry.item, entry.system)
        problems.extend((where, p) for p in found)
        key = (checklist_id or "", entry.item, entry.system or "")
        if key in seen:
            problems.append((where, f"{entry.item}: trả lời hai lần (xem mục {seen[key] + 1}) / answered twice"))
        seen[key] = i
        if (kind_problem := _kind_problem(entry.evidence_kind)) is not None:
            problems.append((located.where(("answers", i, "evidence_kind")), kind_problem))
        files: list[Evidence] = []
        for j, ev in enumerate(entry.evidence):
            spec = ev if isinstance(ev, EvidenceFile) else EvidenceFile(file=ev)
            candidate = (path.parent / spec.file).resolve()
            if not candidate.is_file():
                problems.append((located.where(("answers", i, "evidence", j)),
                                 f"không thấy tệp minh chứng '{spec.file}' / evidence file not found"))
            if (kind_problem := _kind_problem(spec.kind)) is not None:
                problems.append((located.where(("answers", i, "evidence", j)), kind_problem))
            files.append(Evidence(candidate, spec.kind or entry.evidence_kind, spec.effective or entry.effective,
                                  spec.expires or entry.expires))
        if entry.status is None:
            if entry.evidence:
                problems.append((where, f"{entry.item}: có minh chứng nhưng chưa có 'status'"
                                        " / evidence without status"))
            skipped += 1
            continue
        todo.append((checklist_id or "", entry, files))
    if problems:
        raise ValidationError(problems, en="answers file does not validate")
    files_count = 0
    with ws.transaction():
        for checklist_id, entry, files in todo:
            assert entry.status is not None
            record_answer(
                ws, agency=agency, system=entry.system, checklist=checklist_id, item=entry.item,
                status=entry.status, note=entry.note, files=files, actor=actor, effective=entry.effective,
                source=str(path),
            )
            files_count += len(files)
    return ImportSummary(len(todo), skipped, files_count)


def set_answer(
    ws: Workspace, library: Library, *, agency: str, ref: str, system: str | None, status: str,
    note: str | None, evidence: list[Evidence], actor: str, effective: dt.date | None = None, source: str = "cli",
) -> None:
    """Record one answer for ``checklist:item`` after checking the item, system, status and files."""
    ws.require_agency(agency)
    checklist, item = library.resolve_ref(ref)
    if system is not None:
        ws.system_id(agency, system)
    _, problems = _target_problems(library, _system_codes(ws, agency), checklist.id, item.id, system)
    if status not in ANSWER_STATUSES:
        problems.append(f"trạng thái không hợp lệ '{status}' (dat | chua-dat | khong-ap-dung) / invalid status")
    for ev in evidence:
        if (kind_problem := _kind_problem(ev.kind)) is not None:
            problems.append(kind_problem)
        if not ev.path.is_file():
            problems.append(f"không thấy tệp minh chứng '{ev.path}' / evidence file not found")
    if problems:
        raise InputError("; ".join(problems), en="answer not recorded")
    record_answer(ws, agency=agency, system=system, checklist=checklist.id, item=item.id, status=status,
                  note=note, files=evidence, actor=actor, effective=effective, source=source)


def record_answer(
    ws: Workspace, *, agency: str, system: str | None, checklist: str, item: str, status: str,
    note: str | None, files: list[Path] | list[Evidence], actor: str, kind: str | None = None,
    effective: dt.date | None = None, expires: dt.date | None = None, source: str = "cli",
) -> None:
    """Store (or replace) one answer with its evidence files, and log it, in one transaction.

    ``effective`` is the day the answer holds from (an undated answer holds at any evaluation date;
    a dated one only from that day, and a recurring duty counts from it). Evidence files take
    ``kind``, ``expires`` and ``effective`` (else today) as defaults. The same file attached twice
    to the same item keeps one reference (its kind and dates updated).
    """
    if status not in ANSWER_STATUSES:
        raise InputError(f"Trạng thái không hợp lệ: {status}", en=f"invalid status {status!r}")
    day = effective or clock.today()
    dated = effective.isoformat() if effective else None
    items = [f if isinstance(f, Evidence) else Evidence(f, kind, None, expires) for f in files]
    hashes = []
    with ws.transaction() as db:
        for ev in items:
            digest = ws.store_file(ev.path)
            hashes.append(digest)
            ref = {
                "kind": ev.kind or UNCLASSIFIED, "effective": (ev.effective or day).isoformat(),
                "expires": ev.expires.isoformat() if ev.expires else None, "added_at": now(), "actor": actor,
                "original_name": ev.path.name,
            }
            existing = db.execute(
                "select id from evidence_refs where sha256 = ? and agency = ? and system = ? and checklist = ?"
                " and item = ?", [digest, agency, system or "", checklist, item]).fetchone()
            if existing:
                db.table("evidence_refs").update(existing[0], ref)
            else:
                db.table("evidence_refs").insert({"sha256": digest, "agency": agency, "system": system or "",
                                            "checklist": checklist, "item": item, **ref})
        db.execute(
            "insert into answers (agency, system, checklist, item, status, note, evidence, answered_at, actor,"
            " effective) values (?,?,?,?,?,?,?,?,?,?) on conflict(agency, system, checklist, item) do update set"
            " status=excluded.status, note=excluded.note, evidence=excluded.evidence,"
            " answered_at=excluded.answered_at, actor=excluded.actor, effective=excluded.effective",
            [agency, system or "", checklist, item, status, note, dumps(hashes), now(), actor, dated],
        )
        auditlog.append(
            ws, actor=actor, action="answer.set", agency=agency, subject=f"{checklist}:{item}:{system or ''}",
            detail={"status": status, "note": note, "evidence": hashes, "effective": dated, "source": source},
        )


def list_answers(ws: Workspace, agency: str) -> list[dict[str, Any]]:
    """The recorded answers of an agency, with how many evidence files each item has."""
    ws.require_agency(agency)
    return list(ws.db.query(
        "select a.checklist, a.item, a.system, a.status, a.effective, a.note, a.answered_at, a.actor,"
        " (select count(*) from evidence_refs r where r.agency = a.agency and r.system = a.system"
        "  and r.checklist = a.checklist and r.item = a.item) as evidence"
        " from answers a where a.agency = ? order by a.checklist, a.item, a.system", [agency]))


# -- evaluation ---------------------------------------------------------------------------------
@dataclass
class _Context:
    ws: Workspace
    agency: dict[str, Any]
    systems: list[dict[str, Any]]
    as_of: dt.date
    vars: dict[str, Any]
    answers: dict[tuple[str, str, str], dict[str, Any]]
    waivers: dict[tuple[str, str, str], list[dict[str, Any]]]
    evidence: dict[tuple[str, str, str], list[dict[str, Any]]]
    scans: dict[str, dict[str, Any] | None]  # system code ('' = the agency's latest scan) -> scan
    findings: dict[str, list[dict[str, Any]]]
    has_hosts: dict[str, bool]


def _agency_lookup(agency: dict[str, Any], systems: list[dict[str, Any]]) -> conditions.Lookup:
    def lookup(attr: str) -> Any:
        if attr == "agency.kind":
            return agency["kind"]
        if attr == "agency.role":  # a workspace from before v0008 stores no role: the model default
            return agency.get("role") or "none"
        if attr == "agency.private_data_centre":
            return None if agency["private_data_centre"] is None else bool(agency["private_data_centre"])
        if attr == "agency.has_critical_system":
            # no system declared says nothing about which systems the agency runs: unknown, not "no"
            flags = [s["critical"] for s in systems]
            if any(f == 1 for f in flags):
                return True
            return None if not flags or any(f is None for f in flags) else False
        raise KeyError(attr)

    return lookup


def _system_lookup(
    agency: conditions.Lookup, system: dict[str, Any], has_hosts: bool, as_of: dt.date
) -> conditions.Lookup:
    def lookup(attr: str) -> Any:
        if attr.startswith("agency."):
            return agency(attr)
        name = attr.removeprefix("system.")
        if name == "level":  # approved, else the rules' suggested level when certain (secaudit.levels)
            from .levels import baseline_level

            return baseline_level(system, as_of)
        if name == "level_approved":
            return system["level_approved"]
        if name == "has_hosts":
            return has_hosts
        value = system[name]
        if name in ("critical", "admin_procedures", "online_service", "conditional_business", "state_secrets",
                    "national_security_impact", "national_egov_247") and value is not None:
            return bool(value)
        return value

    return lookup


def _keyed(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault((row["checklist"], row["item"], row["system"] or ""), []).append(row)
    return out


def latest_scan(ws: Workspace, agency: str, system: str | None, as_of: dt.date) -> dict[str, Any] | None:
    """The newest scan command (batch) started on or before ``as_of`` that covered ``system``.

    One ``scan`` command may run several nmap processes (IPv4 and IPv6 apart, ``--jobs``); their
    rows share a ``batch``. The batch counts as one observation: complete only if every row is,
    fresh until the earliest ``fresh_until`` of its rows.
    """
    where = "agency = ? and date(started) <= ?"
    params: list[Any] = [agency, as_of.isoformat()]
    if system is not None:
        where += " and (system = ? or system = '') and id in (select scan_id from scan_hosts where system = ?)"
        params += [system, system]
    newest = ws.db.execute(f"select coalesce(batch, id) from scans where {where} order by started desc, id desc"
                           " limit 1", params).fetchone()
    if newest is None:
        return None
    rows = ws.db.execute(
        f"select id, status, started, finished, fresh_until from scans where {where} and coalesce(batch, id) = ?"
        " order by id", [*params, newest[0]]).fetchall()
    return {
        "ids": [r[0] for r in rows], "id": ", #".join(str(r[0]) for r in rows),
        "status": "complete" if all(r[1] == "complete" for r in rows) else
        next(r[1] for r in rows if r[1] != "complete"),
        "started": min(r[2] for r in rows), "finished": max((r[3] or "") for r in rows) or None,
        "fresh_until": min((r[4] for r in rows if r[4]), default=None),
    }


def _load_context(ws: Workspace, agency: str, as_of: dt.date, variables: dict[str, Any]) -> _Context:
    arow = ws.db.execute("select * from agencies where code = ?", [agency]).fetchone()
    if arow is None:
        raise NotFoundError(f"Không có cơ quan '{agency}'", en=f"no agency '{agency}'")
    cols = [d[0] for d in ws.db.execute("select * from agencies limit 0").description]
    systems = list(ws.db.query("select * from systems where agency = ? order by position, code", [agency]))
    answers = {
        (r["checklist"], r["item"], r["system"]): r
        for r in ws.db.query("select * from answers where agency = ?", [agency])
    }
    waivers = _keyed(ws.db.query("select * from waivers where agency = ? order by until desc", [agency]))
    evidence = _keyed(ws.db.query(
        "select r.*, e.size from evidence_refs r join evidence e on e.sha256 = r.sha256 where r.agency = ?"
        " order by r.id", [agency]))
    scans: dict[str, dict[str, Any] | None] = {}
    findings: dict[str, list[dict[str, Any]]] = {}
    for code in ["", *(s["code"] for s in systems)]:
        scan = latest_scan(ws, agency, code or None, as_of)
        scans[code] = scan
        if scan is None:
            continue
        marks = ",".join("?" * len(scan["ids"]))
        sql, params = f"select * from findings where scan_id in ({marks})", list(scan["ids"])
        if code:
            sql, params = sql + " and system = ?", [*params, code]
        findings[code] = list(ws.db.query(sql + " order by id", params))
    host_counts = {r[0]: r[1] for r in ws.db.execute(
        "select system_id, count(*) from hosts group by system_id").fetchall()}
    has_hosts = {s["code"]: host_counts.get(s["id"], 0) > 0 for s in systems}
    has_hosts[""] = any(has_hosts.values())
    return _Context(ws, dict(zip(cols, arow, strict=True)), systems, as_of, variables, answers, waivers, evidence,
                    scans, findings, has_hosts)


def evaluate_agency(
    ws: Workspace, library: Library, agency: str, *, as_of: dt.date, profile: ResolvedProfile
) -> AgencyAssessment:
    """Evaluate every item of the profile's checklists in force on ``as_of`` for ``agency``."""
    ctx = _load_context(ws, agency, as_of, profile.vars)
    agency_lookup = _agency_lookup(ctx.agency, ctx.systems)
    system_lookups = [
        (s["code"], _system_lookup(agency_lookup, s, ctx.has_hosts[s["code"]], ctx.as_of)) for s in ctx.systems
    ]
    results: list[Result] = []
    system_results: list[Result] = []
    used: list[str] = []
    reports: list[ReportDue] = []
    for cid in profile.checklists:
        checklist = library.checklist(cid)
        if not checklist.effective.covers(as_of):
            continue
        used.append(cid)
        reports.extend(_reports_due(library, checklist, agency_lookup, system_lookups, as_of))
        memo: dict[tuple[str, str | None], Result] = {}

        def run(item: Item, system: str | None, lookup: conditions.Lookup, checklist: Checklist = checklist,
                memo: dict[tuple[str, str | None], Result] = memo) -> Result:
            key = (item.id, system)
            if key not in memo:
                memo[key] = _evaluate_item(ctx, checklist, item, system, lookup, run_child=run,
                                           system_lookups=system_lookups, agency_lookup=agency_lookup)
            return memo[key]

        for item in checklist.items:
            if f"{cid}:{item.id}" in profile.excluded:
                continue
            if item.scope == "agency":
                results.append(run(item, None, agency_lookup))
                continue
            per_system = [run(item, code, lookup) for code, lookup in system_lookups]
            system_results.extend(per_system)
            results.append(_rollup_result(checklist, item, agency, per_system, as_of))
    reports.sort(key=lambda r: (r.due_before, r.checklist, r.duty))
    return AgencyAssessment(agency, as_of, profile.id, used, results, system_results, reports)


def _reports_due(
    library: Library, checklist: Checklist, agency_lookup: conditions.Lookup,
    system_lookups: list[tuple[str, conditions.Lookup]], as_of: dt.date,
) -> list[ReportDue]:
    """The next report of each reporting duty of ``checklist`` that applies to the agency."""
    out = []
    for duty in checklist.reporting:
        applies = conditions.evaluate(duty.applies_if, agency_lookup, [lk for _, lk in system_lookups])
        if applies.value is False:
            continue
        out.append(_report_due(library, checklist.id, duty, as_of))
    return out


def _report_due(library: Library, checklist_id: str, duty: ReportingDuty, as_of: dt.date) -> ReportDue:
    due = duty.next_due(as_of)
    return ReportDue(checklist_id, duty.id, duty.title, duty.every, due, (due - as_of).days - 1, duty.recipient,
                     "; ".join(b.cite(library.registry) for b in duty.basis))


def _rollup_result(checklist: Checklist, item: Item, agency: str, parts: list[Result], as_of: dt.date) -> Result:
    status = rollup(p.status for p in parts)
    reasons = []
    order = {s: i for i, s in enumerate(_ROLLUP_ORDER)}
    for part in sorted(parts, key=lambda p: order.get(p.status, len(order))):  # the deciding parts first
        if part.status is not Status.NOT_APPLICABLE and not part.status.met:
            reasons.append(f"{part.system}: {LABELS['vi'][part.status]}"
                           + (f" — {part.reasons[0]}" if part.reasons else ""))
    if not parts:
        reasons.append("cơ quan chưa khai báo hệ thống nào / no systems declared")
    applicable: bool | None = False
    if any(p.applicable for p in parts):
        applicable = True
    elif any(p.applicable is None for p in parts):
        applicable = None
    return Result(checklist.id, item.id, agency, None, status, reasons, item.deadline,
                  _overdue(item.deadline, status, as_of) or any(p.overdue for p in parts), applicable=applicable)


def _overdue(deadline: dt.date | None, status: Status, as_of: dt.date) -> bool:
    return deadline is not None and as_of > deadline and not status.met


def _evaluate_item(
    ctx: _Context, checklist: Checklist, item: Item, system: str | None, lookup: conditions.Lookup, *,
    run_child: Any, system_lookups: list[tuple[str, conditions.Lookup]], agency_lookup: conditions.Lookup,
) -> Result:
    result = Result(checklist.id, item.id, ctx.agency["code"], system, Status.NOT_ASSESSED, deadline=item.deadline)
    applies = conditions.evaluate(item.applies_if, lookup, [lk for _, lk in system_lookups])
    result.applicable = applies.value
    if applies.value is False:
        result.status = Status.NOT_APPLICABLE
        result.reasons.append("không thuộc đối tượng áp dụng / not applicable")
        return result
    if applies.value is None:
        names = ", ".join(sorted(applies.unknown))
        result.reasons.append(f"chưa đủ thông tin để xác định áp dụng: {names} / applicability unknown: {names}")
        result.overdue = _overdue(item.deadline, result.status, ctx.as_of)
        return result

    key = (checklist.id, item.id, system or "")
    waiver = _active_waiver(ctx, key, result)
    if waiver is not None:
        result.status = Status.WAIVED
        result.reasons.append(
            f"miễn trừ đến {waiver['until']}, người duyệt {waiver['approved_by']}: {waiver['reason']}")
        return result
    expired_waiver = bool(ctx.waivers.get(key))

    children = checklist.children(item.id)
    answer = _answer_in_force(ctx, key, result)
    result.note = answer["note"] if answer else None
    result.evidence = _valid_evidence(ctx, key, result)

    if children:
        parts = [run_child(child, system, lookup) for child in children]
        result.status = rollup(p.status for p in parts)
        for part in parts:
            if not part.status.met:
                result.reasons.append(f"mục con {part.item}: {LABELS['vi'][part.status]}")
        if answer and answer["status"] == Status.FAIL.value:
            result.status = Status.FAIL
            result.reasons.append("cơ quan tự đánh giá: chưa đạt / self-assessed as not met")
    elif answer is None:
        result.reasons.append("chưa có câu trả lời / no answer recorded")
    else:
        _judge_answer(ctx, item, answer, result)

    if expired_waiver and result.status is Status.NOT_ASSESSED:
        # a waiver admits the item is not met; once it lapses, nothing says otherwise
        result.status = Status.FAIL
    if item.evidence.scan and result.status is not Status.NOT_APPLICABLE:
        _apply_scan(ctx, system, result)
    if item.recurrence and result.status is Status.PASS and answer:
        months = item.recurrence.months
        level = lookup("system.level") if item.scope == "system" else None
        if item.recurrence.by_level and level in item.recurrence.by_level:
            months = item.recurrence.by_level[level]
        last = dt.date.fromisoformat((answer.get("effective") or answer["answered_at"])[:10])
        due = _add_months(last, months)
        if due < ctx.as_of:
            result.status = Status.FAIL
            result.overdue = True
            result.reasons.insert(
                0, f"đã quá hạn thực hiện lại định kỳ ({months} tháng kể từ {last}, hạn {due}) / recurrence lapsed")
    result.overdue = result.overdue or _overdue(item.deadline, result.status, ctx.as_of)
    return result


def _answer_in_force(ctx: _Context, key: tuple[str, str, str], result: Result) -> dict[str, Any] | None:
    answer = ctx.answers.get(key)
    if answer and answer.get("effective") and dt.date.fromisoformat(answer["effective"]) > ctx.as_of:
        result.reasons.append(f"câu trả lời chỉ có hiệu lực từ {answer['effective']}, sau ngày đánh giá"
                              f" / the answer holds only from {answer['effective']}")
        return None
    return answer


def _active_waiver(ctx: _Context, key: tuple[str, str, str], result: Result) -> dict[str, Any] | None:
    for waiver in ctx.waivers.get(key, []):
        until = dt.date.fromisoformat(waiver["until"])
        if until >= ctx.as_of:
            return waiver
        result.reasons.append(f"miễn trừ đã hết hạn ngày {until} / waiver expired on {until}")
        return None
    return None


def _valid_evidence(ctx: _Context, key: tuple[str, str, str], result: Result) -> list[dict[str, Any]]:
    valid = []
    for ref in ctx.evidence.get(key, []):
        if ref["expires"] and dt.date.fromisoformat(ref["expires"]) < ctx.as_of:
            result.reasons.append(f"minh chứng '{ref['original_name']}' đã hết hiệu lực ngày {ref['expires']}")
            continue
        if ref["effective"] and dt.date.fromisoformat(ref["effective"]) > ctx.as_of:
            continue
        valid.append(ref)
    return valid


NO_DOCUMENTS = "khai báo đạt nhưng thiếu tài liệu minh chứng / claimed met without document evidence"


def kinds_text(kinds: Iterable[str]) -> str:
    """Evidence kinds as Vietnamese labels, for reasons and prompts."""
    return ", ".join(EVIDENCE_KINDS.get(k, (k, k))[0] for k in kinds)


def _judge_answer(ctx: _Context, item: Item, answer: dict[str, Any], result: Result) -> None:
    status = Status(answer["status"])
    if status is Status.NOT_APPLICABLE:
        result.status = Status.NOT_APPLICABLE
        result.reasons.append("cơ quan khai báo không áp dụng" + (f": {answer['note']}" if answer["note"] else ""))
        return
    if status is Status.FAIL:
        result.status = Status.FAIL
        result.reasons.append("cơ quan tự đánh giá: chưa đạt / self-assessed as not met")
        return
    expected = item.evidence.documents
    fitting = [e for e in result.evidence if not expected or e["kind"] in expected]
    if ctx.vars.get("require_documents"):
        if fitting:
            result.status = Status.PASS
            return
        result.status = Status.FAIL
        if result.evidence:
            result.reasons.append(f"minh chứng hiện có không thuộc loại yêu cầu (cần: {kinds_text(expected)})"
                                  " / evidence is not of an expected kind")
        else:
            result.reasons.append(NO_DOCUMENTS)
        return
    if result.evidence:
        result.status = Status.PASS
        if not fitting:
            result.reasons.append(f"cảnh báo: minh chứng không thuộc loại mong đợi ({kinds_text(expected)})"
                                  " / warning: evidence of an unexpected kind")
        return
    if not (ctx.vars.get("attestation_ok") and item.evidence.attestation):
        result.status = Status.FAIL
        result.reasons.append(NO_DOCUMENTS)
        return
    result.status = Status.PASS
    result.reasons.append("đạt theo tự khai báo, chưa có tài liệu minh chứng (cảnh báo) / attested, no documents")


def _apply_scan(ctx: _Context, system: str | None, result: Result) -> None:
    """Weigh the latest scan (of the system, or of the agency for agency-scope items) against the answer.

    A finding bearing on the item makes it fail whatever was attested. Under a profile that
    requires documents (inspection) a "đạt" also needs a complete scan no older than
    ``scan_max_age_days``; otherwise a missing or stale scan only leaves a reason.
    """
    code = system or ""
    scan = ctx.scans.get(code)
    max_age = int(ctx.vars.get("scan_max_age_days", 90))
    strict = bool(ctx.vars.get("require_documents"))
    if scan is None:
        if not ctx.has_hosts.get(code, False):
            message = "chưa khai báo địa chỉ máy chủ để quét kiểm chứng / no declared hosts to scan"
        else:
            message = "chưa có kết quả quét để kiểm chứng / no scan evidence"
        if strict and result.status is Status.PASS:
            result.status = Status.FAIL
            result.reasons.append(message)
        elif result.status is Status.PASS and system is not None and (agency_scan := ctx.scans.get("")) is not None:
            # the agency was scanned, but never these hosts (declared since): not verified, never "đạt"
            from .scan import unverified

            gaps = unverified(ctx.ws, ctx.agency["code"], system, list(agency_scan["ids"]), agency_scan["started"])
            result.reasons += gaps or [f"{message}: chưa kiểm chứng / not verified"]
            result.status = Status.NOT_ASSESSED
        elif result.status is Status.PASS:
            result.reasons.append(f"cảnh báo: {message}")
        return
    started = dt.date.fromisoformat(scan["started"][:10])
    age = (ctx.as_of - started).days
    expired = scan["fresh_until"] is not None and ctx.as_of.isoformat() > scan["fresh_until"][:10]
    if age > max_age or expired:
        result.reasons.append(f"kết quả quét ngày {started} đã cũ hơn {max_age} ngày, không còn giá trị chứng minh"
                              f" / the scan of {started} is older than {max_age} days")
        if strict and result.status is Status.PASS:
            result.status = Status.FAIL
        return
    relevant = [f for f in ctx.findings.get(code, [])
                if f["checklist"] == result.checklist and f["item"] == result.item]
    if relevant:
        result.findings = relevant
        was = result.status
        result.status = Status.FAIL
        titles = "; ".join(f"{f['address']}:{f['port']} {f['title']}" if f["port"] else f"{f['address']} {f['title']}"
                           for f in relevant[:5])
        prefix = "mâu thuẫn với khai báo đạt — " if was is Status.PASS else ""
        result.reasons.insert(0, f"{prefix}lần quét #{scan['id']} ngày {started} phát hiện {len(relevant)} vấn đề:"
                                 f" {titles}")
    if scan["status"] != "complete":
        result.reasons.append(f"lần quét #{scan['id']} không hoàn tất ({scan['status']}): chưa kiểm chứng đầy đủ")
        if result.status is Status.PASS:
            result.status = Status.NOT_ASSESSED
    marks = ",".join("?" * len(scan["ids"]))
    sql, params = f"select address from scan_hosts where scan_id in ({marks}) and state = 'unknown'", list(scan["ids"])
    if system is not None:
        sql, params = sql + " and system = ?", [*params, system]
    unknown = ctx.ws.db.execute(sql, params).fetchall()
    if unknown:
        addresses = ", ".join(r[0] for r in unknown)
        result.reasons.append(f"không xác định được trạng thái máy chủ: {addresses} / host state unknown")
        if result.status is Status.PASS:
            result.status = Status.NOT_ASSESSED
    if system is not None:
        from .scan import unverified  # scan reads the inventory and rules; imported late to keep assess light

        gaps = unverified(ctx.ws, ctx.agency["code"], system, list(scan["ids"]), scan["started"])
        result.reasons += gaps
        if gaps and result.status is Status.PASS:
            result.status = Status.NOT_ASSESSED


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for candidate in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# -- waivers ------------------------------------------------------------------------------------
def add_waiver(
    ws: Workspace, library: Library, *, agency: str, system: str | None, ref: str, reason: str,
    approved_by: str, until: dt.date, actor: str,
) -> int:
    """Record a waiver for ``checklist:item`` (system-scoped when ``system`` is given)."""
    ws.require_agency(agency)
    checklist, item = library.resolve_ref(ref)
    if item.scope == "system" and system is None:
        raise InputError(f"{ref} là mục theo hệ thống: cần --system", en="system-scope item needs --system")
    if item.scope == "agency" and system is not None:
        raise InputError(f"{ref} là mục theo cơ quan: bỏ --system", en="agency-scope item takes no --system")
    if system is not None:
        ws.system_id(agency, system)
    if not reason.strip() or not approved_by.strip():
        raise InputError("Cần lý do và người phê duyệt", en="a waiver needs a reason and an approver")
    with ws.transaction() as db:
        wid = db.table("waivers").insert({
            "agency": agency, "system": system or "", "checklist": checklist.id, "item": item.id,
            "reason": reason, "approved_by": approved_by, "until": until.isoformat(), "created_at": now(),
            "actor": actor,
        }).last_pk
        auditlog.append(ws, actor=actor, action="waiver.add", agency=agency, subject=ref,
                        detail={"system": system, "until": until.isoformat(), "approved_by": approved_by,
                                "reason": reason})
    return int(wid or 0)


# -- the interactive walk -----------------------------------------------------------------------
@dataclass
class Step:
    """One question of the walk: an item for the agency or for one system, with what is known now."""

    checklist: Checklist
    item: Item
    system: str | None
    result: Result
    answer: dict[str, Any] | None
    evidence: list[dict[str, Any]]

    @property
    def key(self) -> str:
        """The bookmark key of this step: ``checklist:item:system``."""
        return f"{self.checklist.id}:{self.item.id}:{self.system or ''}"


def walk_steps(
    ws: Workspace, library: Library, agency: str, *, system: str | None, as_of: dt.date, profile: ResolvedProfile,
) -> list[Step]:
    """The items to ask about, in checklist order: applicable (or undecided) items, per system when
    the item is per system. Parent items are not asked: they follow from their sub-items.
    With ``system`` only that system's items are walked."""
    ws.require_agency(agency)
    if system is not None:
        ws.system_id(agency, system)
    assessment = evaluate_agency(ws, library, agency, as_of=as_of, profile=profile)
    by_key = {(r.checklist, r.item, r.system): r for r in [*assessment.results, *assessment.system_results]}
    answers = {(r["checklist"], r["item"], r["system"]): r
               for r in ws.db.query("select * from answers where agency = ?", [agency])}
    evidence = _keyed(ws.db.query("select * from evidence_refs where agency = ? and item != '' order by id",
                                  [agency]))
    codes = [r[0] for r in ws.db.execute(
        "select code from systems where agency = ? order by position, code", [agency]).fetchall()]
    steps = []
    for cid in assessment.checklists:
        checklist = library.checklist(cid)
        for item in checklist.items:
            if f"{cid}:{item.id}" in profile.excluded or checklist.children(item.id):
                continue
            targets: list[str | None]
            if item.scope == "agency":
                targets = [] if system is not None else [None]
            else:
                targets = [system] if system is not None else list(codes)
            for target in targets:
                result = by_key.get((cid, item.id, target))
                if result is None or result.applicable is False:
                    continue
                key = (cid, item.id, target or "")
                steps.append(Step(checklist, item, target, result, answers.get(key), evidence.get(key, [])))
    return steps


@dataclass
class Session:
    """A walk in progress: ``cursor`` is the key of the last step answered or skipped."""

    id: int
    agency: str
    system: str | None
    profile: str
    cursor: str | None
    answered: int
    skipped: int
    resumed: bool


def open_session(
    ws: Workspace, *, agency: str, system: str | None, profile: str, as_of: dt.date, actor: str,
    restart: bool = False,
) -> Session:
    """Resume the unfinished walk of ``agency`` (and ``system``), or start a new one."""
    ws.require_agency(agency)
    row = ws.db.execute(
        "select id, profile, cursor, answered, skipped from assess_sessions where agency = ? and system = ?"
        " and finished is null order by id desc limit 1", [agency, system or ""]).fetchone()
    if row is not None and not restart:
        return Session(row[0], agency, system, row[1], row[2], row[3] or 0, row[4] or 0, resumed=True)
    with ws.transaction() as db:
        if row is not None:
            db.execute("update assess_sessions set finished = ? where id = ?", [now(), row[0]])
        sid = int(db.table("assess_sessions").insert({
            "agency": agency, "system": system or "", "profile": profile, "as_of": as_of.isoformat(),
            "started": now(), "updated": now(), "cursor": None, "answered": 0, "skipped": 0, "actor": actor,
        }).last_pk or 0)
        auditlog.append(ws, actor=actor, action="assess.start", agency=agency, subject=f"session-{sid}",
                        detail={"system": system, "profile": profile, "as_of": as_of.isoformat(),
                                "replaces": row[0] if row else None})
    return Session(sid, agency, system, profile, None, 0, 0, resumed=False)


def resume_index(session: Session, steps: list[Step]) -> int:
    """Where the walk continues: after the bookmarked step (from the start if it is gone)."""
    if session.cursor is None:
        return 0
    for index, step in enumerate(steps):
        if step.key == session.cursor:
            return index + 1
    return 0


def answer_step(
    ws: Workspace, session: Session, step: Step, *, status: str, note: str | None, evidence: list[Evidence],
    actor: str, effective: dt.date | None = None,
) -> None:
    """Save one answer of the walk and move the bookmark past it, together."""
    for ev in evidence:
        if (kind_problem := _kind_problem(ev.kind)) is not None:
            raise InputError(kind_problem)
    with ws.transaction() as db:
        record_answer(ws, agency=session.agency, system=step.system, checklist=step.checklist.id,
                      item=step.item.id, status=status, note=note, files=evidence, actor=actor,
                      effective=effective, source=f"assess session-{session.id}")
        session.answered += 1
        session.cursor = step.key
        db.execute("update assess_sessions set cursor = ?, answered = ?, updated = ? where id = ?",
                   [step.key, session.answered, now(), session.id])


def evaluate_step(
    ws: Workspace, library: Library, step: Step, *, agency: str, as_of: dt.date, profile: ResolvedProfile,
) -> Result:
    """The evaluated state of one step now, by the evaluator itself, so the walk can say whether a
    saved answer counts without a second copy of the evidence rules."""
    assessment = evaluate_agency(ws, library, agency, as_of=as_of, profile=profile)
    rows = assessment.system_results if step.system is not None else assessment.results
    for result in rows:
        if (result.checklist, result.item, result.system) == (step.checklist.id, step.item.id, step.system):
            return result
    raise NotFoundError(f"Không còn mục {step.key} trong đánh giá", en=f"{step.key} is no longer evaluated")


def answer_counts(status: str, result: Result) -> bool:
    """Whether the evaluation took a recorded answer as given (``dat`` evaluated ĐẠT, and so on)."""
    return result.status.value == status


def default_evidence_kind(item: Item) -> str:
    """The kind offered first for a file a person attaches: the first document kind the item asks for.

    A scan result is skipped when the item accepts other documents: secaudit's own scans are kept
    apart, so a file attached by hand is far more often a report or minutes than a scan result.
    """
    documents = [k for k in item.evidence.documents if k != "ket-qua-quet"] or list(item.evidence.documents)
    return documents[0] if documents else UNCLASSIFIED


def skip_step(ws: Workspace, session: Session, step: Step) -> None:
    """Leave a step as it is and move the bookmark past it."""
    session.skipped += 1
    session.cursor = step.key
    with ws.transaction() as db:
        db.execute("update assess_sessions set cursor = ?, skipped = ?, updated = ? where id = ?",
                   [step.key, session.skipped, now(), session.id])


def finish_session(ws: Workspace, session: Session, *, actor: str) -> None:
    """Close a walk that reached its end (a stopped walk stays open, to be resumed)."""
    with ws.transaction() as db:
        db.execute("update assess_sessions set finished = ?, updated = ? where id = ?", [now(), now(), session.id])
        auditlog.append(ws, actor=actor, action="assess.finish", agency=session.agency,
                        subject=f"session-{session.id}",
                        detail={"answered": session.answered, "skipped": session.skipped})


# -- the answers template -----------------------------------------------------------------------
def _yaml_str(value: str | None) -> str:
    """A YAML scalar for ``value`` (JSON strings are valid YAML double-quoted scalars)."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def answers_template(
    ws: Workspace, library: Library, agency: str, *, system: str | None, as_of: dt.date, profile: ResolvedProfile,
) -> str:
    """An answers file listing every item to answer, prefilled with the current answers.

    Every entry carries its item's title, legal basis, deadline and expected evidence as comments,
    so the file can be filled in by someone who has not read the checklist. ``status: null`` lines
    are skipped on import, so a half-filled template imports what was filled.
    """
    steps = walk_steps(ws, library, agency, system=system, as_of=as_of, profile=profile)
    name = ws.db.execute("select name from agencies where code = ?", [agency]).fetchone()[0]
    out = [
        f"# Tệp trả lời của {agency} — {name}",
        f"# Mẫu do secaudit tạo, tính đến ngày {as_of.isoformat()}, hồ sơ đánh giá '{profile.id}'.",
        "# Điền cho từng mục:",
        "#   status:    dat | chua-dat | khong-ap-dung   (để null = chưa trả lời, bỏ qua khi nhập)",
        "#   note:      ghi chú, nêu rõ căn cứ tự đánh giá",
        "#   effective: ngày kết quả có hiệu lực (ngày quyết định, ngày đánh giá), dạng YYYY-MM-DD",
        "#   evidence:  tệp minh chứng, đường dẫn tính từ thư mục chứa tệp này; ghi dạng",
        "#              {file: ..., kind: ..., expires: YYYY-MM-DD} để nêu loại và hạn của tệp",
        f"# Nhập: secaudit assess {agency} --answers <tệp này>",
        f"# Answers file for {agency}; fill in status/note/effective/evidence, then import with --answers.",
        f"agency: {agency}",
        "answers:",
    ]
    current = None
    registry = library.registry
    for step in steps:
        if step.checklist.id != current:
            current = step.checklist.id
            out += ["", f"  # ── {current}: {' '.join(step.checklist.title.split())}"]
        item = step.item
        where = f" — hệ thống {step.system}" if step.system else ""
        out.append("")
        out.append(f"  # {item.id}{where}: {' '.join((item.short or item.title).split())}")
        out.append(f"  # Căn cứ: {'; '.join(b.cite(registry) for b in item.basis)}")
        facts = [f"hạn {item.deadline.isoformat()}" if item.deadline else "không có ngày hạn"]
        if item.recurrence:
            facts.append(f"lặp lại mỗi {item.recurrence.months} tháng")
        if item.evidence.documents:
            facts.append(f"minh chứng: {', '.join(item.evidence.documents)}")
        facts.append("tự khai được chấp nhận" if item.evidence.attestation else "cần tài liệu")
        out.append(f"  # {'; '.join(facts)}")
        if step.result.applicable is None:
            out.append(f"  # Chưa rõ có áp dụng không: {step.result.reasons[0] if step.result.reasons else ''}")
        for ref in step.evidence:
            out.append(f"  # Đã có minh chứng: {ref['original_name']} ({ref['kind']}, sha256 {ref['sha256'][:12]})")
        answer = step.answer or {}
        out.append(f"  - checklist: {step.checklist.id}")
        out.append(f"    item: {item.id}")
        if step.system:
            out.append(f"    system: {step.system}")
        out.append(f"    status: {answer.get('status') or 'null'}")
        out.append(f"    note: {_yaml_str(answer.get('note'))}")
        out.append(f"    effective: {answer.get('effective') or 'null'}")
        out.append("    evidence: []")
    if not steps:
        out.append("  []")
    return "\n".join(out) + "\n"


def results_json(assessments: list[AgencyAssessment]) -> bytes:
    """Machine-readable status (stable key order)."""
    doc = [
        {
            "agency": a.agency, "as_of": a.as_of.isoformat(), "profile": a.profile, "checklists": a.checklists,
            "met": a.met, "items": [r.to_dict() for r in a.results],
            "systems": [r.to_dict() for r in a.system_results],
            "reports": [r.to_dict() for r in a.reports],
        }
        for a in assessments
    ]
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
