"""The level determination sheet (phiếu xác định cấp độ) as plain data.

Drawn by :mod:`secaudit.reporting.level_sheet`; the level package computes and never renders.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from secaudit.inventory.models import VALUE_LABELS, System
from secaudit.levels.attributes import ATTRIBUTES, LABEL_SETS
from secaudit.levels.determine import Criterion, number_text
from secaudit.levels.facts import facts_of
from secaudit.levels.listing import assess_system
from secaudit.levels.review import SEVERITY_LABELS, body_kind, kind_label
from secaudit.levels.rules import RuleSet, load_rules


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
        return number_text(value)
    labels = VALUE_LABELS.get(LABEL_SETS.get(attr, ""), {})
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
    from secaudit import __version__
    from secaudit.inventory import records as inventory

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
        {"label": "Cơ quan thẩm định", "value": f"{lvl.appraised_by or '—'} ({kind_label(appraised_kind)}; "
                                               f"{how[appraised_how]})"},
        {"label": "Cấp phê duyệt", "value": f"{lvl.approved_by or '—'} ({kind_label(approved_kind)}; "
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
