"""Assessment: record answers and evaluate every applicable requirement for an agency.

The evaluator is the one place where a status is decided. It never prints and never guesses:
an unknown attribute, a missing answer, missing evidence, a stale or incomplete scan each leave
a reason in the result, and observed scan findings that contradict an attested "đạt" win.
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

from . import auditlog, conditions, yamlio
from .content import Checklist, Item, Library, ResolvedProfile
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "checklist": self.checklist, "item": self.item, "agency": self.agency, "system": self.system,
            "status": self.status.value, "overdue": self.overdue,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "reasons": self.reasons, "note": self.note,
            "evidence": [e["sha256"] for e in self.evidence], "findings": [f["id"] for f in self.findings],
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

    @property
    def met(self) -> bool:
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


class AnswerEntry(Strict):
    """One answer in an answers file."""

    item: str
    system: str | None = None
    status: AnswerStatus
    note: str | None = None
    evidence: list[str] = Field(default_factory=list)
    evidence_kind: str | None = None
    effective: dt.date | None = None
    expires: dt.date | None = None


class AnswersFile(Strict):
    """An answers file: which agency and checklist, then the answers."""

    agency: str
    checklist: str
    answers: list[AnswerEntry]


def load_answers(path: Path) -> AnswersFile:
    located = yamlio.load(path)
    try:
        return AnswersFile.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise


def import_answers(
    ws: Workspace, library: Library, path: Path, *, agency: str, actor: str
) -> int:
    """Record every answer in ``path`` for ``agency`` in one transaction; returns how many."""
    answers = load_answers(path)
    located = yamlio.load(path)
    if answers.agency != agency:
        raise InputError(
            f"Tệp trả lời dành cho '{answers.agency}', không phải '{agency}'",
            en=f"answers file is for agency '{answers.agency}'", where=f"{path}:{located.lines.get(('agency',), 1)}",
        )
    ws.require_agency(agency)
    checklist = library.checklist(answers.checklist)
    systems = {r[0] for r in ws.db.execute("select code from systems where agency = ?", [agency]).fetchall()}
    problems: list[tuple[str, str]] = []
    resolved: list[tuple[AnswerEntry, list[Path]]] = []
    for i, entry in enumerate(answers.answers):
        where = located.where(("answers", i))
        try:
            item = checklist.item(entry.item)
        except NotFoundError as exc:
            problems.append((where, exc.message))
            continue
        if item.scope == "system" and entry.system is None:
            problems.append((where, f"{item.id}: mục theo hệ thống, cần 'system' / system-scope item needs 'system'"))
        if item.scope == "agency" and entry.system is not None:
            problems.append((where, f"{item.id}: mục theo cơ quan, bỏ 'system' / agency-scope item takes no 'system'"))
        if entry.system is not None and entry.system not in systems:
            problems.append((where, f"không có hệ thống '{entry.system}' / unknown system"))
        files = []
        for j, name in enumerate(entry.evidence):
            candidate = (path.parent / name).resolve()
            if not candidate.is_file():
                problems.append((located.where(("answers", i, "evidence", j)), f"không thấy tệp minh chứng '{name}'"))
            files.append(candidate)
        resolved.append((entry, files))
    if problems:
        raise ValidationError(problems, en="answers file does not validate")
    count = 0
    with ws.transaction():
        for entry, files in resolved:
            record_answer(
                ws, agency=agency, system=entry.system, checklist=checklist.id, item=entry.item,
                status=entry.status, note=entry.note, files=files, actor=actor, kind=entry.evidence_kind,
                effective=entry.effective, expires=entry.expires, source=str(path),
            )
            count += 1
    return count


def record_answer(
    ws: Workspace, *, agency: str, system: str | None, checklist: str, item: str, status: str,
    note: str | None, files: list[Path], actor: str, kind: str | None = None,
    effective: dt.date | None = None, expires: dt.date | None = None, source: str = "cli",
) -> None:
    """Store (or replace) one answer with its evidence files, and log it."""
    if status not in {s.value for s in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE)}:
        raise InputError(f"Trạng thái không hợp lệ: {status}", en=f"invalid status {status!r}")
    hashes = []
    with ws.transaction() as db:
        for file in files:
            digest = ws.store_file(file)
            hashes.append(digest)
            db["evidence_refs"].insert(
                {
                    "sha256": digest, "original_name": file.name, "agency": agency, "system": system or "",
                    "checklist": checklist, "item": item, "kind": kind or "tai-lieu",
                    "effective": (effective or dt.date.today()).isoformat(),
                    "expires": expires.isoformat() if expires else None, "added_at": now(), "actor": actor,
                }
            )
        db.execute(
            "insert into answers (agency, system, checklist, item, status, note, evidence, answered_at, actor)"
            " values (?,?,?,?,?,?,?,?,?) on conflict(agency, system, checklist, item) do update set"
            " status=excluded.status, note=excluded.note, evidence=excluded.evidence,"
            " answered_at=excluded.answered_at, actor=excluded.actor",
            [agency, system or "", checklist, item, status, note, dumps(hashes), now(), actor],
        )
        auditlog.append(
            ws, actor=actor, action="answer.set", agency=agency, subject=f"{checklist}:{item}:{system or ''}",
            detail={"status": status, "note": note, "evidence": hashes, "source": source},
        )


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
    scans: dict[str, dict[str, Any] | None]
    findings: dict[str, list[dict[str, Any]]]


def _agency_lookup(agency: dict[str, Any], systems: list[dict[str, Any]]) -> conditions.Lookup:
    def lookup(attr: str) -> Any:
        if attr == "agency.kind":
            return agency["kind"]
        if attr == "agency.private_data_centre":
            return None if agency["private_data_centre"] is None else bool(agency["private_data_centre"])
        if attr == "agency.has_critical_system":
            flags = [s["critical"] for s in systems]
            if any(f == 1 for f in flags):
                return True
            return None if any(f is None for f in flags) else False
        raise KeyError(attr)

    return lookup


def _system_lookup(agency: conditions.Lookup, system: dict[str, Any], has_hosts: bool) -> conditions.Lookup:
    def lookup(attr: str) -> Any:
        if attr.startswith("agency."):
            return agency(attr)
        name = attr.removeprefix("system.")
        if name == "level":
            return system["level_approved"] or system["level_proposed"]
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
    for system in systems:
        scan = ws.db.execute(
            "select id, status, started, finished from scans where agency = ? and (system = ? or system = '')"
            " and id in (select scan_id from scan_hosts where system = ?) and date(started) <= ?"
            " order by started desc, id desc limit 1",
            [agency, system["code"], system["code"], as_of.isoformat()],
        ).fetchone()
        if scan is None:
            scans[system["code"]] = None
            continue
        scans[system["code"]] = {"id": scan[0], "status": scan[1], "started": scan[2], "finished": scan[3]}
        findings[system["code"]] = list(ws.db.query(
            "select * from findings where scan_id = ? and system = ? order by id", [scan[0], system["code"]]))
    return _Context(ws, dict(zip(cols, arow, strict=True)), systems, as_of, variables, answers, waivers, evidence,
                    scans, findings)


def evaluate_agency(
    ws: Workspace, library: Library, agency: str, *, as_of: dt.date, profile: ResolvedProfile
) -> AgencyAssessment:
    """Evaluate every item of the profile's checklists in force on ``as_of`` for ``agency``."""
    ctx = _load_context(ws, agency, as_of, profile.vars)
    agency_lookup = _agency_lookup(ctx.agency, ctx.systems)
    host_counts = {r[0]: r[1] for r in ws.db.execute(
        "select system_id, count(*) from hosts group by system_id").fetchall()}
    system_lookups = [
        (s["code"], _system_lookup(agency_lookup, s, host_counts.get(s["id"], 0) > 0)) for s in ctx.systems
    ]
    results: list[Result] = []
    system_results: list[Result] = []
    used: list[str] = []
    for cid in profile.checklists:
        checklist = library.checklist(cid)
        if not checklist.effective.covers(as_of):
            continue
        used.append(cid)
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
    return AgencyAssessment(agency, as_of, profile.id, used, results, system_results)


def _rollup_result(checklist: Checklist, item: Item, agency: str, parts: list[Result], as_of: dt.date) -> Result:
    status = rollup(p.status for p in parts)
    reasons = []
    for part in parts:
        if part.status is not Status.NOT_APPLICABLE and not part.status.met:
            reasons.append(f"{part.system}: {LABELS['vi'][part.status]}"
                           + (f" — {part.reasons[0]}" if part.reasons else ""))
    if not parts:
        reasons.append("cơ quan chưa khai báo hệ thống nào / no systems declared")
    return Result(checklist.id, item.id, agency, None, status, reasons, item.deadline,
                  _overdue(item.deadline, status, as_of) or any(p.overdue for p in parts))


def _overdue(deadline: dt.date | None, status: Status, as_of: dt.date) -> bool:
    return deadline is not None and as_of > deadline and not status.met


def _evaluate_item(
    ctx: _Context, checklist: Checklist, item: Item, system: str | None, lookup: conditions.Lookup, *,
    run_child: Any, system_lookups: list[tuple[str, conditions.Lookup]], agency_lookup: conditions.Lookup,
) -> Result:
    result = Result(checklist.id, item.id, ctx.agency["code"], system, Status.NOT_ASSESSED, deadline=item.deadline)
    applies = conditions.evaluate(item.applies_if, lookup, [lk for _, lk in system_lookups])
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

    children = checklist.children(item.id)
    answer = ctx.answers.get(key)
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

    if system is not None and item.evidence.scan:
        _apply_scan(ctx, system, result)
    if item.recurrence and result.status is Status.PASS and answer:
        months = item.recurrence.months
        level = lookup("system.level") if item.scope == "system" else None
        if item.recurrence.by_level and level in item.recurrence.by_level:
            months = item.recurrence.by_level[level]
        last = dt.date.fromisoformat(answer["answered_at"][:10])
        due = _add_months(last, months)
        if due < ctx.as_of:
            result.status = Status.FAIL
            result.overdue = True
            result.reasons.append(f"đã quá hạn đánh giá lại định kỳ ({months} tháng, hạn {due}) / recurrence lapsed")
    result.overdue = result.overdue or _overdue(item.deadline, result.status, ctx.as_of)
    return result


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
    documents = [e for e in result.evidence if e["kind"] != "ket-qua-quet"]
    if documents:
        result.status = Status.PASS
        return
    if ctx.vars.get("require_documents") or not (ctx.vars.get("attestation_ok") and item.evidence.attestation):
        result.status = Status.FAIL
        result.reasons.append("khai báo đạt nhưng thiếu tài liệu minh chứng / claimed met without document evidence")
        return
    result.status = Status.PASS
    result.reasons.append("đạt theo tự khai báo, chưa có tài liệu minh chứng (cảnh báo) / attested, no documents")


def _apply_scan(ctx: _Context, system: str, result: Result) -> None:
    scan = ctx.scans.get(system)
    max_age = int(ctx.vars.get("scan_max_age_days", 90))
    strict = bool(ctx.vars.get("require_documents"))
    if scan is None:
        if strict and result.status is Status.PASS:
            result.status = Status.FAIL
            result.reasons.append("chưa có kết quả quét để kiểm chứng / no scan evidence")
        return
    started = dt.date.fromisoformat(scan["started"][:10])
    age = (ctx.as_of - started).days
    if age > max_age:
        result.reasons.append(f"kết quả quét ngày {started} đã cũ hơn {max_age} ngày, không còn giá trị chứng minh")
        if strict and result.status is Status.PASS:
            result.status = Status.FAIL
        return
    relevant = [f for f in ctx.findings.get(system, [])
                if f["checklist"] == result.checklist and f["item"] == result.item]
    if relevant:
        result.findings = relevant
        was = result.status
        result.status = Status.FAIL
        titles = "; ".join(f"{f['address']}:{f['port']} {f['title']}" if f["port"] else f"{f['address']} {f['title']}"
                           for f in relevant[:5])
        prefix = "mâu thuẫn với khai báo đạt — " if was is Status.PASS else ""
        result.reasons.append(f"{prefix}lần quét #{scan['id']} phát hiện {len(relevant)} vấn đề: {titles}")
    if scan["status"] != "complete":
        result.reasons.append(f"lần quét #{scan['id']} không hoàn tất ({scan['status']}): chưa kiểm chứng đầy đủ")
        if result.status is Status.PASS:
            result.status = Status.NOT_ASSESSED
    unknown = ctx.ws.db.execute(
        "select address from scan_hosts where scan_id = ? and system = ? and state = 'unknown'", [scan["id"], system]
    ).fetchall()
    if unknown:
        addresses = ", ".join(r[0] for r in unknown)
        result.reasons.append(f"không xác định được trạng thái máy chủ: {addresses} / host state unknown")
        if result.status is Status.PASS:
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
    checklist_id, _, item_id = ref.partition(":")
    if not item_id:
        raise InputError(f"Cần dạng 'bộ-tiêu-chí:mục', nhận '{ref}'", en="expected CHECKLIST:ITEM")
    item = library.checklist(checklist_id).item(item_id)
    if item.scope == "system" and system is None:
        raise InputError(f"{ref} là mục theo hệ thống: cần --system", en="system-scope item needs --system")
    if system is not None:
        ws.system_id(agency, system)
    if not reason.strip() or not approved_by.strip():
        raise InputError("Cần lý do và người phê duyệt", en="a waiver needs a reason and an approver")
    with ws.transaction() as db:
        wid = db["waivers"].insert({
            "agency": agency, "system": system or "", "checklist": checklist_id, "item": item_id,
            "reason": reason, "approved_by": approved_by, "until": until.isoformat(), "created_at": now(),
            "actor": actor,
        }).last_pk
        auditlog.append(ws, actor=actor, action="waiver.add", agency=agency, subject=ref,
                        detail={"system": system, "until": until.isoformat(), "approved_by": approved_by,
                                "reason": reason})
    return int(wid)


def results_json(assessments: list[AgencyAssessment]) -> bytes:
    """Machine-readable status (stable key order)."""
    doc = [
        {
            "agency": a.agency, "as_of": a.as_of.isoformat(), "profile": a.profile, "checklists": a.checklists,
            "met": a.met, "items": [r.to_dict() for r in a.results],
            "systems": [r.to_dict() for r in a.system_results],
        }
        for a in assessments
    ]
    return (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
