"""Answers and waivers: what an agency declares, recorded with its evidence and logged.

Answers come three ways, all through ``record_answer`` (one transaction, one log entry each): an
answers file (``import_answers``; ``templates.answers_template`` writes one to fill in), one answer
at a time for scripts (``set_answer``), and the interactive walk (``walk``). Waivers are recorded
here too: like an answer, a waiver is a declaration the evaluator later weighs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticError

from secaudit import clock, yamlio
from secaudit.errors import InputError, NotFoundError, ValidationError, os_reason
from secaudit.inventory.models import Strict
from secaudit.requirements.content import EVIDENCE_KINDS, UNCLASSIFIED, Item, Library
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, now

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
    unchanged: int = 0  # rows already stored exactly as written (Excel import leaves them alone)


def load_answers(path: Path) -> tuple[AnswersFile, yamlio.Located]:
    """Parse an answers file strictly (``file:line`` on every problem)."""
    located = yamlio.load(path)
    try:
        return AnswersFile.model_validate(located.data), located
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise


def kind_problem(kind: str | None) -> str | None:
    """Why ``kind`` is not an evidence kind the checklists know (None when it is, or is not given)."""
    if kind is None or kind in EVIDENCE_KINDS:
        return None
    return f"loại minh chứng không biết '{kind}' / unknown evidence kind; cho phép: {', '.join(EVIDENCE_KINDS)}"


def readable_name(name: str) -> str:
    """A name from the file system as text the store can keep: bytes that are not UTF-8 (a name made
    with a legacy encoding, which Python carries as lone surrogates) become U+FFFD, instead of failing
    the database write."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            raw = name.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = name.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")


def _shown(name: str, width: int = 80) -> str:
    """A file name as a message may show it: control and format characters escaped, cut short."""
    shown = "".join(ch if ch.isprintable() else f"<U+{ord(ch):04X}>" for ch in name)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def evidence_problem(path: Path, name: str, *, max_bytes: int | None = None, hint: str = "") -> str | None:
    """Why the evidence file ``name`` (found at ``path``) cannot be stored, or None when it can.

    Checked before anything is written, so that a name the file system refuses (a NUL, a name too
    long for it), a missing or special file (a folder, a device) and a file over the store's limit
    are reported at their line or cell, never as an ``OSError`` half-way through an import.
    ``hint`` is added to the "not found" message (where the name was looked for).
    """
    shown = _shown(name)
    if not name.strip():
        return "tên tệp minh chứng trống / empty evidence file name"
    if "\x00" in name:
        return f"tên tệp minh chứng '{shown}' có ký tự NUL / evidence file name contains a NUL character"
    try:
        if not path.is_file():
            if path.exists():
                return (f"'{shown}' không phải một tệp (thư mục, thiết bị hay ống dẫn) / evidence must be"
                        " a regular file")
            return f"không thấy tệp minh chứng '{shown}'{hint} / evidence file not found"
        size = path.stat().st_size
    except OSError as exc:
        reason = os_reason(exc)
        return f"không đọc được tệp minh chứng '{shown}': {reason} / cannot read the evidence file ({exc.strerror})"
    if max_bytes is not None and size > max_bytes:
        return (f"tệp minh chứng '{shown}' lớn hơn giới hạn {max_bytes} byte của kho minh chứng ({size} byte)"
                " / evidence file exceeds the size limit")
    return None


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
    limit = ws.evidence_max_bytes()
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
        if (problem := kind_problem(entry.evidence_kind)) is not None:
            problems.append((located.where(("answers", i, "evidence_kind")), problem))
        files: list[Evidence] = []
        for j, ev in enumerate(entry.evidence):
            spec = ev if isinstance(ev, EvidenceFile) else EvidenceFile(file=ev)
            candidate = path.parent / spec.file
            if (problem := evidence_problem(candidate, spec.file, max_bytes=limit)) is not None:
                problems.append((located.where(("answers", i, "evidence", j)), problem))
            else:
                candidate = candidate.resolve()
            if (problem := kind_problem(spec.kind)) is not None:
                problems.append((located.where(("answers", i, "evidence", j)), problem))
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
                source=readable_name(str(path)),
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
        if (problem := kind_problem(ev.kind)) is not None:
            problems.append(problem)
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
                "original_name": readable_name(ev.path.name),
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

