"""The yearly report to Bộ Công an on protecting information systems by level (NĐ 331/2026 Đ35–36).

Each owner reports once a year on data from 15/12 of the previous year to 14/12 of the report year
(Đ35.3), before 25/12 (Đ35.4.b), with the contents listed in Đ36 and laid out as Mẫu số 08. Everything
comes from the workspace: the inventory (systems, operators, levels, decisions, quy chế), the level
rules (:mod:`secaudit.levels`: suggested levels, NS-important candidates, approval flags) and the
assessment of the level baseline checklist (``cap-do-nd331``, or ``cap-do-tt12`` for dates before
19/8/2026) for how far each protection plan is deployed and which systems were assessed. The library
returns data and bytes; the CLI writes them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit import levels
from secaudit.errors import InputError
from secaudit.inventory import records as inventory
from secaudit.inventory.models import DossierState
from secaudit.reporting.assessment import evaluate_agency
from secaudit.reporting.render import render_pdf, render_template
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.requirements.results import LABELS, Result, Status
from secaudit.store.workspace import Workspace

#: Mẫu số 08, column (6): how the approval stands.
STATE_LABELS = {
    DossierState.NONE.value: "Chưa lập hồ sơ",
    DossierState.DRAFTED.value: "Đang dự thảo",
    DossierState.SUBMITTED.value: "Đã gửi thẩm định",
    DossierState.APPRAISED.value: "Đã thẩm định",
    DossierState.APPROVED.value: "Đã được phê duyệt",
}
#: Mẫu số 08, column (10): how far the protection plan is deployed.
DEPLOYMENT_LABELS = {"day-du": "Đã triển khai đầy đủ", "mot-phan": "Đã triển khai một số hạng mục",
                     "chua": "Chưa triển khai"}
NEW_REGIME = dt.date(2026, 8, 19)
MEASURE_PREFIX = "bp-"


@dataclass
class YearlyData:
    """Everything the yearly report shows (plain data; the template only displays it)."""

    year: int
    period_start: dt.date
    period_end: dt.date
    as_of: dt.date  # date of the document
    data_as_of: dt.date  # the day the figures are taken (period end, or earlier for a draft)
    provisional: bool
    agency: dict[str, Any]
    basis: dict[str, str]
    checklist: str
    counts: dict[str, Any]
    systems: list[dict[str, Any]]
    lists: dict[str, list[dict[str, Any]]]
    generator: str
    lang: str = "vi"
    notes: list[str] = field(default_factory=list)


def period(year: int) -> tuple[dt.date, dt.date]:
    """The data period of year ``year``'s report: 15/12 of the previous year to 14/12 (Đ35.3)."""
    return dt.date(year - 1, 12, 15), dt.date(year, 12, 14)


def build_yearly(
    ws: Workspace, library: Library, agency_code: str, *, year: int, as_of: dt.date, profile: ResolvedProfile,
) -> YearlyData:
    """Assemble the yearly report of ``agency_code`` for ``year``, dated ``as_of``."""
    from secaudit import __version__

    start, end = period(year)
    if as_of < start:
        raise InputError(
            f"Ngày lập báo cáo {as_of:%d/%m/%Y} trước kỳ số liệu ({start:%d/%m/%Y}–{end:%d/%m/%Y})",
            en=f"report date {as_of} precedes the data period of {year}",
        )
    day = min(as_of, end)
    agency = inventory.get_agency(ws, agency_code)
    rules = levels.load_rules()
    baseline = "cap-do-nd331" if day >= NEW_REGIME else "cap-do-tt12"
    library.checklist(baseline)  # fail clearly if the checklist is missing
    resolved = dataclasses.replace(profile, checklists=[baseline], excluded=set(profile.excluded))
    assessment = evaluate_agency(ws, library, agency_code, as_of=day, profile=resolved)
    by_system: dict[str, dict[str, Result]] = {}
    for res in assessment.system_results:
        by_system.setdefault(res.system or "", {})[res.item] = res
    checklist = library.checklist(baseline)
    leaves = [i for i in checklist.items if i.scope == "system" and not checklist.children(i.id)]
    measure_tops = [i for i in checklist.items if i.scope == "system" and i.parent is None
                    and i.id.startswith(MEASURE_PREFIX)]
    labels = LABELS["vi"]

    rows: list[dict[str, Any]] = []
    for system in agency.systems:
        a = levels.assess_system(ws, agency_code, system, as_of=day, rules=rules)
        lvl = system.level
        results = by_system.get(system.code, {})
        approved = lvl.approved is not None and lvl.decision_date is not None and lvl.decision_date <= day
        regulation = lvl.regulation_date is not None and lvl.regulation_date <= day
        measures = [results[i.id] for i in leaves if i.id.startswith(MEASURE_PREFIX) and i.id in results
                    and results[i.id].status is not Status.NOT_APPLICABLE]
        met = [r for r in measures if r.status in (Status.PASS, Status.WAIVED)]
        deployment = "day-du" if measures and len(met) == len(measures) else ("mot-phan" if met else "chua")
        checks = []
        pre = results.get("bp-truoc-van-hanh")
        if pre is not None and pre.status is Status.PASS:
            checks.append("Trước khi đưa vào sử dụng")
        periodic = results.get("dg-dinh-ky")
        if periodic is not None and periodic.status is Status.PASS:
            checks.append("Định kỳ")
        complies = results.get("qc-tuan-thu")
        tr = rules.books["nd331"].transition if "nd331" in rules.books else None
        transition = bool(tr and levels.in_transition(levels.facts_of(system), tr))
        rows.append({
            "code": system.code, "name": system.name, "owner": system.owner or agency.name,
            "operator": system.operator, "proposed": lvl.proposed, "suggested": a.suggestion.range_text(),
            "suggested_regime": a.suggestion.book.id, "state": _state(system, approved),
            "approved": lvl.approved if approved else None,
            "decision": ({"number": lvl.decision_number, "date": lvl.decision_date, "by": lvl.approved_by,
                          "in_period": start <= lvl.decision_date <= end} if approved and lvl.decision_date
                         else None),
            "regulation": ({"number": lvl.regulation_number, "date": lvl.regulation_date} if regulation else None),
            "expected_approval": None if approved else lvl.expected_approval,
            "deployment": deployment, "deployment_label": DEPLOYMENT_LABELS[deployment],
            "measures_met": len(met), "measures_total": len(measures),
            "expected_deployment": tr.measures_due if transition and tr else None,
            "checked": checks,
            "complies": None if complies is None else complies.status.value,
            "complies_label": None if complies is None else labels[complies.status],
            "ns_important": bool(a.suggestion.ns_important) or a.suggestion.level == 5,
            "measures": [
                {"id": i.id, "title": i.short or i.title, "status": results[i.id].status.value,
                 "status_label": labels[results[i.id].status]}
                for i in measure_tops if i.id in results
            ],
            "flags": [f.text() for f in a.flags if f.severity != "thong-tin"],
            "assessed": bool(checks),
        })

    pending = [r["expected_approval"] for r in rows if r["approved"] is None and r["expected_approval"]]
    counts = {
        "total": len(rows),
        "classified": sum(1 for r in rows if "–" not in r["suggested"]),
        "dossier": sum(1 for s in agency.systems if s.level.dossier_state is not DossierState.NONE),
        "appraised": sum(1 for s in agency.systems
                         if s.level.dossier_state in (DossierState.APPRAISED, DossierState.APPROVED)),
        "approved": sum(1 for r in rows if r["approved"] is not None),
        "approved_assessed": sum(1 for r in rows if r["approved"] is not None and "Định kỳ" in r["checked"]),
        "expected_completion": max(pending) if pending else None,
    }
    lists = {
        "ns_important": [r for r in rows if r["ns_important"]],
        "approved": [r for r in rows if r["approved"] is not None],
        "deployment": [r for r in rows if r["approved"] is not None],
        "regulation": [r for r in rows if r["regulation"]],
        "complying": [r for r in rows if r["complies"] == Status.PASS.value],
        "assessed": [r for r in rows if r["assessed"]],
        "flags": [r for r in rows if r["flags"]],
    }
    new = day >= NEW_REGIME
    basis = {
        "period": "NĐ 331/2026/NĐ-CP Đ35.3" if new else "TT 12/2022/TT-BTTTT Đ13.3",
        "contents": "NĐ 331/2026/NĐ-CP Đ36, Mẫu số 08" if new else "TT 12/2022/TT-BTTTT Đ14",
        "deadline": "NĐ 331/2026/NĐ-CP Đ35.4.b: trước ngày 25 tháng 12" if new
        else "TT 12/2022/TT-BTTTT Đ13.4.b: trước ngày 25 tháng 12",
        "recipient": "Bộ Công an (lực lượng chuyên trách bảo vệ an ninh mạng)",
    }
    notes = []
    if day < end:
        notes.append(f"Số liệu tạm tính đến ngày {day:%d/%m/%Y}, chưa hết kỳ báo cáo (đến {end:%d/%m/%Y}).")
    if not new:
        notes.append("Ngày chốt số liệu trước 19/8/2026: áp dụng chế độ báo cáo của TT 12/2022/TT-BTTTT.")
    data = YearlyData(
        year=year, period_start=start, period_end=end, as_of=as_of, data_as_of=day, provisional=day < end,
        agency=agency.model_dump(mode="json", exclude={"systems"}), basis=basis, checklist=baseline,
        counts=counts, systems=rows, lists=lists, generator=f"secaudit {__version__}", notes=notes,
    )
    return data


def _state(system: Any, approved_by_then: bool) -> str:
    """Mẫu số 08 column (6) as of the data day: a decision dated later does not count yet."""
    lvl = system.level
    if lvl.dossier_state is DossierState.APPROVED and not approved_by_then:
        return f"Chưa phê duyệt tại ngày chốt số liệu (quyết định ngày {lvl.decision_date:%d/%m/%Y})"
    return STATE_LABELS[lvl.dossier_state.value]


def render_html(data: YearlyData, *, template_dir: Path | None = None) -> bytes:
    """The report as one self-contained HTML document (the shared NĐ 30 header and stylesheet)."""
    return render_template("yearly.html.j2", data, lang=data.lang, template_dir=template_dir)


def render(data: YearlyData, *, fmt: str, template_dir: Path | None = None) -> bytes:
    """The report as ``fmt`` ('pdf' or 'html') bytes."""
    html = render_html(data, template_dir=template_dir)
    if fmt == "html":
        return html
    if fmt != "pdf":
        raise InputError(f"Định dạng không hỗ trợ: {fmt}", en=f"unsupported format {fmt!r}")
    return render_pdf(
        html, title=f"Báo cáo kết quả bảo đảm an ninh mạng hệ thống thông tin năm {data.year} — "
                    f"{data.agency['name']}", author=data.agency["name"], as_of=data.as_of,
        template_dir=template_dir,
    )
