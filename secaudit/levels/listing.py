"""The levels of a workspace's systems: suggestion, flags and dossier files per system, as rows,
JSON or terminal text (what ``level suggest`` and ``level list`` show).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from secaudit.errors import InputError, NotFoundError
from secaudit.inventory.models import System
from secaudit.levels.determine import Suggestion, suggest
from secaudit.levels.facts import facts_of
from secaudit.levels.review import Flag, review
from secaudit.levels.rules import RuleSet, load_rules

#: Checklists whose system items hold the level dossier's documents as evidence.
DOSSIER_CHECKLISTS = ("cap-do-nd331", "cap-do-tt12")


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
    from secaudit.inventory import records as inventory

    if agency is not None:
        return agency, inventory.get_system(ws, agency, code)
    owners = [r[0] for r in ws.db.execute("select agency from systems where code = ? order by agency", [code])]
    if not owners:
        raise NotFoundError(f"Không có hệ thống '{code}'", en=f"no system '{code}'")
    if len(owners) > 1:
        raise InputError(f"Mã hệ thống '{code}' có ở nhiều cơ quan ({', '.join(owners)}): dùng --agency",
                         en=f"system code '{code}' exists in several agencies; use --agency")
    return owners[0], inventory.get_system(ws, owners[0], code)


def assess_system(ws: Any, agency: str, system: System, *, as_of: dt.date, rules: RuleSet | None = None,
                  dossier_files: list[dict[str, Any]] | None = None) -> Assessed:
    """Suggestion, flags and the dossier's evidence files for one system (``dossier_files`` when already read)."""
    rules = rules or load_rules()
    suggestion = suggest(facts_of(system), as_of=as_of, rules=rules)
    flags = review(system, suggestion, as_of=as_of, rules=rules)
    if dossier_files is None:
        marks = ",".join("?" * len(DOSSIER_CHECKLISTS))
        dossier_files = [dict(r) for r in ws.db.query(
            f"select original_name, kind, effective, sha256, checklist, item from evidence_refs where agency = ? and"
            f" system = ? and checklist in ({marks}) and date(added_at) <= ? order by effective, original_name",
            [agency, system.code, *DOSSIER_CHECKLISTS, as_of.isoformat()])]
    return Assessed(agency, system, suggestion, flags, dossier_files)


def assess_all(ws: Any, *, as_of: dt.date, agency: str | None = None, rules: RuleSet | None = None) -> list[Assessed]:
    """Every system of the workspace (or of ``agency``), in inventory order.

    Read in two queries (systems, dossier files) rather than per agency and per system, and each
    system validated alone: the models carry no hosts, which the level rules do not read.
    """
    from secaudit.inventory.records import drop_none, system_from_row

    rules = rules or load_rules()
    if agency:
        ws.require_agency(agency)
    where, params = ("where s.agency = ?", [agency]) if agency else ("", [])
    marks = ",".join("?" * len(DOSSIER_CHECKLISTS))
    files: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in ws.db.query(
            f"select agency, system, original_name, kind, effective, sha256, checklist, item from evidence_refs"
            f" where checklist in ({marks}) and date(added_at) <= ?{' and agency = ?' if agency else ''}"
            f" order by effective, original_name", [*DOSSIER_CHECKLISTS, as_of.isoformat(), *params]):
        key = (r.pop("agency"), r.pop("system"))
        files.setdefault(key, []).append(r)
    out = []
    for row in ws.db.query(f"select s.* from systems s join agencies a on a.code = s.agency {where}"
                           " order by a.position, a.code, s.position, s.code", params):
        system = System.model_validate(drop_none(system_from_row(row, {})))
        out.append(assess_system(ws, row["agency"], system, as_of=as_of, rules=rules,
                                 dossier_files=files.get((row["agency"], system.code), [])))
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



def suggest_for_report(ws: Any, library: Any, agency: str, system: str, *, as_of: dt.date) -> dict[str, Any]:
    """The suggestion as plain data for the agency report (``secaudit.report``)."""
    from secaudit.inventory import records as inventory

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
