"""Answering requirements item by item from a form (the served app's assessment pages).

The same steps as the CLI's grouped walk (``requirements.walk``): an item that applies per system
is answered once for all the agency's systems with per-system exceptions; each answer is recorded
by ``requirements.answers.record_answer`` and each uploaded file is stored and linked to the answer
by ``requirements.evidence.add`` (what ``evidence add --for`` does), all in one transaction. What a
"đạt" still needs to count is read from the item's evidence rules and the profile, not re-judged.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from secaudit.errors import InputError, NotFoundError
from secaudit.services.workspace import Where, actor_name, library, open_workspace

ANSWER_STATUSES = ("dat", "chua-dat", "khong-ap-dung")
#: What a browser may upload as evidence: documents, spreadsheets, images, text, archives of logs.
ALLOWED_SUFFIXES = {
    ".pdf": "application/pdf", ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text", ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".txt": "text/plain",
    ".csv": "text/csv", ".log": "text/plain", ".xml": "application/xml", ".json": "application/json",
    ".zip": "application/zip",
}
#: The first bytes each kind of file must start with (a wrong type renamed .pdf is refused).
MAGIC = {".pdf": (b"%PDF-",), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",),
         ".jpeg": (b"\xff\xd8\xff",), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",), ".odt": (b"PK\x03\x04",),
         ".ods": (b"PK\x03\x04",), ".zip": (b"PK\x03\x04",), ".doc": (b"\xd0\xcf\x11\xe0",),
         ".xls": (b"\xd0\xcf\x11\xe0",)}
_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_name(raw: str) -> tuple[str, bool]:
    """A file name a person gave, made harmless: its last path part only, without control or format
    characters (bidi overrides…) and without characters a file system or a header would misread.
    Returns the name and whether anything was changed."""
    name = unicodedata.normalize("NFC", raw or "")
    base = re.split(r"[\\/]", name)[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    kept = _UNSAFE.sub("_", kept).strip(" .")
    kept = re.sub(r"_+", "_", kept)
    if not kept or kept.startswith("."):
        kept = "tep" + (kept if kept.startswith(".") else "")
    kept = kept[:120]
    return kept, kept != name


def check_upload(name: str, head: bytes, size: int, limit: int) -> str | None:
    """Why an uploaded file is refused (Vietnamese), or None when it may be stored."""
    suffix = Path(name).suffix.lower()
    if size == 0:
        return f"Tệp '{name}' rỗng (0 byte): không lưu tệp rỗng làm minh chứng."
    if size > limit:
        return f"Tệp '{name}' quá lớn ({size:,} byte; tối đa {limit:,} byte).".replace(",", ".")
    if suffix not in ALLOWED_SUFFIXES:
        return (f"Tệp '{name}' có loại không được nhận ({suffix or 'không có đuôi'}); nhận: "
                + ", ".join(sorted(ALLOWED_SUFFIXES)) + ".")
    if suffix in MAGIC and not any(head.startswith(m) for m in MAGIC[suffix]):
        return f"Nội dung tệp '{name}' không phải là tệp {suffix} thật (đuôi tệp không khớp nội dung)."
    if suffix in (".txt", ".csv", ".log", ".xml", ".json") and b"\x00" in head:
        return f"Tệp '{name}' không phải văn bản thuần (có byte 0)."
    return None


def media_type(name: str) -> str:
    return ALLOWED_SUFFIXES.get(Path(name).suffix.lower(), "application/octet-stream")


def _kinds(codes: Sequence[str], lang: str) -> list[dict[str, str]]:
    from secaudit.requirements.content import EVIDENCE_KINDS

    index = 0 if lang == "vi" else 1
    return [{"code": c, "label": EVIDENCE_KINDS.get(c, (c, c))[index]} for c in codes]


def _needs(item: Any, attestation_ok: bool, lang: str) -> str:
    """What a 'đạt' for this item needs to count, in words (from the item's evidence rules)."""
    kinds = ", ".join(k["label"] for k in _kinds(item.evidence.documents, lang))
    if attestation_ok and item.evidence.attestation:
        if lang == "en":
            return f"A “met” counts on your word with a note; better with a file ({kinds or 'any document'})."
        return (f"“Đạt” được tính theo tự khai nếu có ghi chú; nên kèm tệp minh chứng"
                f" ({kinds or 'tài liệu bất kỳ'}).")
    if lang == "en":
        return f"A “met” counts only with at least one file of the kind: {kinds or 'any document'}."
    return f"“Đạt” chỉ được tính khi có ít nhất một tệp minh chứng loại: {kinds or 'tài liệu bất kỳ'}."


def _steps(ws: Any, agency: str, as_of: dt.date, profile: str) -> tuple[Any, Any, list[Any]]:
    from secaudit.reporting.assessment import walk_steps
    from secaudit.requirements.walk import group_steps

    lib = library()
    resolved = lib.resolve_profile(profile)
    steps = walk_steps(ws, lib, agency, system=None, as_of=as_of, profile=resolved)
    return lib, resolved, group_steps(steps)


def _group_doc(group: Any, lib: Any, resolved: Any, lang: str) -> dict[str, Any]:
    item, checklist = group.item, group.checklist
    parent = next((i for i in checklist.items if i.id == item.parent), None) if item.parent else None
    en = lang == "en"
    targets = []
    for step in group.steps:
        answer = step.answer or {}
        targets.append({
            "system": step.system, "status": step.result.status.value, "overdue": step.result.overdue,
            "answer": answer.get("status"), "note": answer.get("note"), "effective": answer.get("effective"),
            "reasons": [r.split(" / ")[0] if not en else r.split(" / ")[-1] for r in step.result.reasons],
            "evidence": [{"name": e.get("original_name"), "sha256": e["sha256"], "kind": e.get("kind"),
                          "expires": e.get("expires")} for e in step.evidence],
        })
    return {
        "ref": f"{checklist.id}:{item.id}", "checklist": checklist.id,
        "checklist_title": (checklist.title_en or checklist.title) if en else checklist.title,
        "item": item.id, "short": item.short or item.title,
        "title": (item.title_en or item.title) if en else item.title,
        "guidance": (item.guidance_en or item.guidance) if en else item.guidance,
        "task": ((parent.short or parent.title) if parent else None), "scope": item.scope,
        "systems": group.systems, "documents": _kinds(item.evidence.documents, lang),
        "needs": _needs(item, bool(resolved.vars.get("attestation_ok")), lang),
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "basis": [b.cite(lib.registry) for b in item.basis],
        "targets": targets,
    }


def assessment_items(where: Where, agency: str, *, as_of: dt.date, lang: str = "vi",
                     profile: str = "tu-danh-gia") -> dict[str, Any]:
    """Every item the agency answers, grouped by checklist, each with its per-system state."""
    ws = open_workspace(where)
    ws.require_agency(agency)
    lib, resolved, groups = _steps(ws, agency, as_of, profile)
    checklists: list[dict[str, Any]] = []
    for group in groups:
        doc = _group_doc(group, lib, resolved, lang)
        if not checklists or checklists[-1]["id"] != doc["checklist"]:
            checklists.append({"id": doc["checklist"], "title": doc["checklist_title"], "items": []})
        checklists[-1]["items"].append(doc)
    return {"agency": agency, "as_of": as_of.isoformat(), "checklists": checklists}


def _item_group(ws: Any, agency: str, ref: str, as_of: dt.date, profile: str) -> tuple[Any, Any, Any]:
    """The library, resolved profile and grouped steps of the item ``ref`` (CHECKLIST:ITEM) the agency answers."""
    lib, resolved, groups = _steps(ws, agency, as_of, profile)
    group = next((g for g in groups if f"{g.checklist.id}:{g.item.id}" == ref), None)
    if group is None:
        raise NotFoundError(f"Cơ quan không phải trả lời mục {ref}", en=f"no item {ref} to answer")
    return lib, resolved, group


def assessment_item(where: Where, agency: str, ref: str, *, as_of: dt.date, lang: str = "vi",
                    profile: str = "tu-danh-gia") -> dict[str, Any]:
    """One item's form data: its state per system, what a 'đạt' needs, its waivers, the size limit."""
    ws = open_workspace(where)
    ws.require_agency(agency)
    lib, resolved, group = _item_group(ws, agency, ref, as_of, profile)
    doc = _group_doc(group, lib, resolved, lang)
    doc["waivers"] = list(ws.db.query(
        "select id, system, reason, approved_by, until, created_at, actor from waivers where agency = ?"
        " and checklist = ? and item = ? order by id", [agency, group.checklist.id, group.item.id]))
    doc["system_names"] = {r["code"]: r["name"] for r in ws.db.query(
        "select code, name from systems where agency = ?", [agency])}
    doc["limit"] = ws.evidence_max_bytes()
    doc["kinds"] = _kinds([k for k in _all_kinds() if k != "ket-qua-quet"], lang)
    doc["default_kind"] = _default_kind(group.item)
    return doc


def _all_kinds() -> list[str]:
    from secaudit.requirements.content import EVIDENCE_KINDS

    return list(EVIDENCE_KINDS)


def _default_kind(item: Any) -> str:
    from secaudit.requirements.walk import default_evidence_kind

    return default_evidence_kind(item)


def parse_date(text: str | None, label: str) -> dt.date | None:
    """A dd/mm/yyyy date from a form field (empty: None); Vietnamese error naming the field."""
    text = (text or "").strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    try:
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{label}: ngày '{text}' không hợp lệ; viết dd/mm/yyyy",
                         en=f"{label}: invalid date; use dd/mm/yyyy") from None


def answer_item(where: Where, agency: str, ref: str, *, answers: Mapping[str | None, str], note: str | None,
                effective: dt.date | None, expires: dt.date | None, files: Sequence[Path], kind: str | None,
                as_of: dt.date, actor: str | None = None, profile: str = "tu-danh-gia") -> list[dict[str, Any]]:
    """Record the answers of one item (target -> status; None the agency) and link each file to each
    answered target, all or nothing; returns the targets' evaluation afterwards."""
    from secaudit.reporting.assessment import evaluate_agency
    from secaudit.requirements import answers as answer_rules
    from secaudit.requirements import evidence

    ws = open_workspace(where)
    ws.require_agency(agency)
    lib, resolved, group = _item_group(ws, agency, ref, as_of, profile)
    targets = {s.system for s in group.steps}
    unknown = [t for t in answers if t not in targets]
    if unknown:
        raise InputError(f"Mục {ref} không áp dụng cho: {', '.join(str(t) for t in unknown)}",
                         en="answer for a target the item does not apply to")
    if not answers:
        raise InputError("Chưa chọn kết quả nào để lưu", en="no answer chosen")
    for status in answers.values():
        if status not in ANSWER_STATUSES:
            raise InputError(f"Kết quả không hợp lệ: {status}", en="invalid status")
    if kind is not None and (problem := answer_rules.kind_problem(kind)) is not None:
        raise InputError(problem)
    if expires is not None and effective is not None and expires < effective:
        raise InputError("Ngày hết hiệu lực trước ngày có hiệu lực", en="expiry before the effective date")
    who = actor_name(actor)
    with ws.transaction():
        for target, status in answers.items():
            answer_rules.record_answer(ws, agency=agency, system=target, checklist=group.checklist.id,
                                       item=group.item.id, status=status, note=note or None, files=[],
                                       actor=who, effective=effective, source="web")
            for path in files:
                evidence.add(ws, path, actor=who, agency=agency, system=target, kind=kind, item=ref,
                             effective=effective, expires=expires)
    result = evaluate_agency(ws, lib, agency, as_of=as_of, profile=resolved)
    rows = [*result.results, *result.system_results]
    return [{"system": r.system, "status": r.status.value, "reasons": r.reasons} for r in rows
            if (r.checklist, r.item) == (group.checklist.id, group.item.id) and r.system in answers]


def waive_item(where: Where, agency: str, ref: str, *, system: str | None, reason: str, approved_by: str,
               until: dt.date | None, actor: str | None = None) -> int:
    """Record a waiver of one item (one system, or the agency) until a date; returns its number."""
    from secaudit.requirements import answers as answer_rules

    if until is None:
        raise InputError("Miễn trừ cần ngày hết hạn (dd/mm/yyyy)", en="a waiver needs an expiry date")
    return int(answer_rules.add_waiver(open_workspace(where), library(), agency=agency, system=system or None,
                                       ref=ref, reason=reason.strip(), approved_by=approved_by.strip(),
                                       until=until, actor=actor_name(actor)))


def evidence_file(where: Where, agency: str, sha256: str) -> tuple[Path, str, str]:
    """A stored file the agency references: (path, a safe download name, its media type).
    NotFoundError when the agency has no reference to it (another agency's file looks missing)."""
    ws = open_workspace(where)
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise NotFoundError("Không có tệp này", en="no such file")
    row = ws.db.execute("select original_name from evidence_refs where agency = ? and sha256 = ? order by id"
                        " limit 1", [agency, sha256]).fetchone()
    if row is None:
        raise NotFoundError("Không có tệp này", en="no such file")
    path = ws.evidence_path(sha256)
    if not path.is_file():
        raise NotFoundError(f"Thiếu tệp minh chứng {sha256}", en="the stored file is missing")
    name, _changed = safe_name(str(row[0] or sha256))
    return path, name, media_type(name)


def report_sections(lang: str = "vi") -> list[tuple[str, str]]:
    """The report parts an officer writes (``report note --section``), in order, with their titles."""
    from secaudit.reporting.narrative import SECTION_TITLES, SECTIONS

    return [(s, SECTION_TITLES[s][0 if lang == "vi" else 1]) for s in SECTIONS]
