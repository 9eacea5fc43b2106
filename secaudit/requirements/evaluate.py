"""The evaluator: the one place where a status is decided.

It never prints and never guesses: an unknown attribute, a missing answer, missing evidence, a stale
or incomplete scan each leave a reason in the result, and observed scan findings that contradict an
attested "đạt" win. What it needs from layers above requirements (the level the rules give a
system, and whether the latest scan covered every declared host) arrives as ``Collaborators``,
so requirements imports neither the level engine nor the scanner.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from secaudit.errors import NotFoundError
from secaudit.requirements import conditions
from secaudit.requirements.content import EVIDENCE_KINDS, Checklist, Item, Library, ReportingDuty, ResolvedProfile
from secaudit.requirements.results import (
    LABELS,
    ROLLUP_ORDER,
    AgencyAssessment,
    ReportDue,
    Result,
    Status,
    rollup,
)
from secaudit.store.workspace import Workspace, split_refs

#: The level the level baselines apply to a system row as of a day (approved, else certain suggestion).
LevelOf = Callable[[Mapping[str, Any], dt.date], int | None]
#: Why scan batch ``scan_ids`` started at ``started`` does not vouch for every declared host of a system.
ScanGaps = Callable[[Workspace, str, str, list[int], str], list[str]]


@dataclass(frozen=True)
class Collaborators:
    """What the evaluation reads from the level engine and the scan records, passed in by the caller.

    ``secaudit.reporting.assessment.collaborators()`` gives the real ones.
    """

    level_of: LevelOf
    scan_gaps: ScanGaps


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
    using: Collaborators
    # what the scan records said, asked once per agency: (question, scan ids, system) -> answer
    asked: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)


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
    agency: conditions.Lookup, system: dict[str, Any], has_hosts: bool, as_of: dt.date, *, level_of: LevelOf
) -> conditions.Lookup:
    level: list[int | None] = []

    def lookup(attr: str) -> Any:
        if attr.startswith("agency."):
            return agency(attr)
        name = attr.removeprefix("system.")
        if name == "level":  # approved, else the rules' suggested level when certain (secaudit.levels)
            if not level:  # asked by every level-baseline item: decided once per system and day
                level.append(level_of(system, as_of))
            return level[0]
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


def keyed(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Rows grouped by (checklist, item, system), the key answers, waivers and evidence share."""
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


def _load_context(
    ws: Workspace, agency: str, as_of: dt.date, variables: dict[str, Any], using: Collaborators
) -> _Context:
    arow = ws.db.execute("select * from agencies where code = ?", [agency]).fetchone()
    if arow is None:
        raise NotFoundError(f"Không có cơ quan '{agency}'", en=f"no agency '{agency}'")
    cols = [d[0] for d in ws.db.execute("select * from agencies limit 0").description]
    systems = list(ws.db.query("select * from systems where agency = ? order by position, code", [agency]))
    answers = {
        (r["checklist"], r["item"], r["system"]): r
        for r in ws.db.query("select * from answers where agency = ?", [agency])
    }
    waivers = keyed(ws.db.query("select * from waivers where agency = ? order by until desc", [agency]))
    evidence = keyed(ws.db.query(
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
        # one row per problem; ``bears_on`` as the list of requirements it names
        findings[code] = [{**f, "bears_on": split_refs(f["bears_on"])}
                          for f in ws.db.query(sql + " order by id", params)]
    # only this agency's systems (the index on hosts.system_id): a count over the whole table made
    # a province-wide ``status`` quadratic in the number of agencies
    declared = {r[0] for r in ws.db.execute(
        "select distinct h.system_id from hosts h join systems s on s.id = h.system_id where s.agency = ?",
        [agency]).fetchall()}
    has_hosts = {s["code"]: s["id"] in declared for s in systems}
    has_hosts[""] = any(has_hosts.values())
    return _Context(ws, dict(zip(cols, arow, strict=True)), systems, as_of, variables, answers, waivers, evidence,
                    scans, findings, has_hosts, using)


class _Memo:
    """What is worked out once per checklist (and forgotten with it).

    ``children``: the sub-items by parent id, in file order. ``read``: every attribute the conditions
    of the system-scope items read, sorted. ``blank``: the rows of a system with nothing of its own
    (no answer, waiver, evidence or scan) by (day, the values of ``read``): they depend on nothing
    else, so every such system with the same facts gets the same rows, made for the first one and
    copied for the others (a province repeats a few combinations thousands of times).
    """

    LIMIT = 1024  # a province has tens of fact combinations; the bound only keeps odd inputs from growing it

    def __init__(self, checklist: Checklist) -> None:
        self.children: dict[str, list[Item]] = {}
        for item in checklist.items:
            if item.parent is not None:
                self.children.setdefault(item.parent, []).append(item)
        self.read = tuple(sorted({attr for item in checklist.items if item.scope == "system"
                                  for attr in conditions.attributes(item.applies_if)}))
        self.blank: dict[tuple[Any, ...], dict[str, Result]] = {}

    def rows(self, as_of: dt.date, lookup: conditions.Lookup) -> dict[str, Result]:
        """The shared rows (by item) of systems with nothing of their own and the facts of ``lookup``."""
        key = (as_of, tuple((v, type(v)) for v in map(lookup, self.read)))
        found = self.blank.get(key)
        if found is None:
            if len(self.blank) >= self.LIMIT:
                self.blank.clear()
            found = self.blank[key] = {}
        return found


_MEMOS: dict[int, tuple[weakref.ref[Checklist], _Memo]] = {}


def _memo(checklist: Checklist) -> _Memo:
    key = id(checklist)
    known = _MEMOS.get(key)
    if known is not None and known[0]() is checklist:
        return known[1]

    def forget(ref: weakref.ref[Checklist]) -> None:
        if _MEMOS.get(key, (None,))[0] is ref:
            del _MEMOS[key]

    memo = _Memo(checklist)
    _MEMOS[key] = (weakref.ref(checklist, forget), memo)
    return memo


def evaluate_agency(
    ws: Workspace, library: Library, agency: str, *, as_of: dt.date, profile: ResolvedProfile,
    using: Collaborators,
) -> AgencyAssessment:
    """Evaluate every item of the profile's checklists in force on ``as_of`` for ``agency``."""
    ctx = _load_context(ws, agency, as_of, profile.vars, using)
    agency_lookup = _agency_lookup(ctx.agency, ctx.systems)
    system_lookups = [
        (s["code"], _system_lookup(agency_lookup, s, ctx.has_hosts[s["code"]], ctx.as_of,
                                    level_of=using.level_of)) for s in ctx.systems
    ]
    all_systems = [lk for _, lk in system_lookups]
    # (checklist, system) pairs with an answer, waiver or evidence of their own: never shared
    own = {(key[0], key[2] or "") for rows in (ctx.answers, ctx.waivers, ctx.evidence) for key in rows}
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
        memo = _memo(checklist)
        run = _Run(ctx, checklist, memo.children, all_systems, agency_lookup)
        # a system with nothing of its own shares the rows of every system with the same facts: a
        # missing answer, evidence or scan only ever leaves the item not met, whatever the system
        targets = [(code, lookup, None if (cid, code) in own or ctx.scans.get(code) is not None
                    else memo.rows(as_of, lookup)) for code, lookup in system_lookups]

        for item in checklist.items:
            if f"{cid}:{item.id}" in profile.excluded:
                continue
            if item.scope == "agency":
                results.append(run(item, None, agency_lookup))
                continue
            per_system: list[Result] = []
            for code, lookup, shared in targets:
                same = None if shared is None else shared.get(item.id)
                if same is None:
                    same = run(item, code, lookup)
                    if shared is not None:
                        shared[item.id] = same
                    per_system.append(same)
                else:
                    per_system.append(Result(same.checklist, same.item, agency, code, same.status, list(same.reasons),
                                             same.deadline, same.overdue, same.note, [], [], same.applicable))
            system_results.extend(per_system)
            results.append(_rollup_result(checklist, item, agency, per_system, as_of))
    reports.sort(key=lambda r: (r.due_before, r.checklist, r.duty))
    return AgencyAssessment(agency, as_of, profile.id, used, results, system_results, reports)


class _Run:
    """Each item of a checklist evaluated once per system (a parent asks for its sub-items).

    A class, not a closure that passes itself on: nothing here refers back to itself, so an agency's
    results are freed as soon as they are written, without waiting for the cycle collector.
    """

    def __init__(self, ctx: _Context, checklist: Checklist, children: dict[str, list[Item]],
                 all_systems: list[conditions.Lookup], agency_lookup: conditions.Lookup) -> None:
        self.ctx, self.checklist, self.children = ctx, checklist, children
        self.all_systems, self.agency_lookup = all_systems, agency_lookup
        self.memo: dict[tuple[str, str | None], Result] = {}

    def __call__(self, item: Item, system: str | None, lookup: conditions.Lookup) -> Result:
        key = (item.id, system)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = _evaluate_item(
                self.ctx, self.checklist, item, system, lookup, run_child=self, all_systems=self.all_systems,
                agency_lookup=self.agency_lookup, children=self.children.get(item.id, []))
        return found


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


_VI = LABELS["vi"]


def _rollup_result(checklist: Checklist, item: Item, agency: str, parts: list[Result], as_of: dt.date) -> Result:
    status = rollup([p.status for p in parts])
    # the deciding parts first: those neither met nor "không áp dụng" (the statuses of ROLLUP_ORDER), in
    # that order, systems in their order within a status; the statuses before ``status`` are absent
    reasons = [f"{part.system}: {_VI[part.status]} — {part.reasons[0]}" if part.reasons
               else f"{part.system}: {_VI[part.status]}"
               for deciding in ROLLUP_ORDER[ROLLUP_ORDER.index(status):] for part in parts
               if part.status is deciding] if status in ROLLUP_ORDER else []
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
    run_child: Any, all_systems: list[conditions.Lookup], agency_lookup: conditions.Lookup,
    children: list[Item] | None = None,
) -> Result:
    result = Result(checklist.id, item.id, ctx.agency["code"], system, Status.NOT_ASSESSED, deadline=item.deadline)
    applies = conditions.evaluate(item.applies_if, lookup, all_systems)
    result.applicable = applies.value
    if applies.value is False:
        result.status = Status.NOT_APPLICABLE
        result.reasons.append("không thuộc đối tượng áp dụng / not applicable")
        return result
    if applies.value is None:
        names = ", ".join(sorted(applies.unknown))
        facts = ", ".join(f"“{conditions.ATTRIBUTES.get(n, n)}”" for n in sorted(applies.unknown))
        result.reasons.append(f"chưa đủ thông tin để xác định áp dụng: chưa khai báo {facts}"
                              f" / applicability unknown: {names}")
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

    if children is None:
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
            gaps = _scan_gaps(ctx, system, agency_scan)
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
    ref = f"{result.checklist}:{result.item}"
    relevant = [f for f in ctx.findings.get(code, []) if ref in f["bears_on"]]
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
    unknown = _unknown_hosts(ctx, system, scan)
    if unknown:
        addresses = ", ".join(r[0] for r in unknown)
        result.reasons.append(f"không xác định được trạng thái máy chủ: {addresses} / host state unknown")
        if result.status is Status.PASS:
            result.status = Status.NOT_ASSESSED
    if system is not None:
        gaps = _scan_gaps(ctx, system, scan)
        result.reasons += gaps
        if gaps and result.status is Status.PASS:
            result.status = Status.NOT_ASSESSED


def _unknown_hosts(ctx: _Context, system: str | None, scan: dict[str, Any]) -> list[Any]:
    """The hosts of ``system`` (every host for None) whose state the scan could not tell, asked once per agency."""
    key = ("unknown", tuple(scan["ids"]), system)
    if key not in ctx.asked:
        marks = ",".join("?" * len(scan["ids"]))
        sql = f"select address from scan_hosts where scan_id in ({marks}) and state = 'unknown'"
        params = list(scan["ids"])
        if system is not None:
            sql, params = sql + " and system = ?", [*params, system]
        ctx.asked[key] = ctx.ws.db.execute(sql, params).fetchall()
    return ctx.asked[key]


def _scan_gaps(ctx: _Context, system: str, scan: dict[str, Any]) -> list[str]:
    """``Collaborators.scan_gaps`` for the system and scan, asked once per agency (every scan item asks)."""
    key = ("gaps", tuple(scan["ids"]), system, scan["started"])
    if key not in ctx.asked:
        ctx.asked[key] = ctx.using.scan_gaps(ctx.ws, ctx.agency["code"], system, list(scan["ids"]), scan["started"])
    return list(ctx.asked[key])


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` (clamped to the end of a short month; ``date.max`` past year 9999)."""
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    if year > dt.MAXYEAR:  # an answer dated at the calendar's end: its recurrence never lapses
        return dt.date.max
    for candidate in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")

