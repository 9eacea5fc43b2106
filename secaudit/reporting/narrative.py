"""The report's narrative: what an officer writes once per report period, and sentences in its place.

An agency report's body has four parts an official signs (NĐ 30/2020 layout): I. kết quả chung,
II. tồn tại, hạn chế và nguyên nhân, III. kế hoạch khắc phục, IV. kiến nghị, đề xuất. The facts of
each part come from the assessment; the words around them come from ``report_notes`` (migration
v0012), written with ``secaudit report note AGENCY --section …``. A section nobody wrote gets
sentences generated from the facts, so every report reads as a document, never as an empty form.

A note belongs to a period: a year (``2026``), one report day (``22/11/2026``) or a range
(``01/07/2026-31/12/2026``). A report as of day D uses, per section, the note of the narrowest
period containing D, the latest written when two cover the same span. Notes are never edited in
place: writing again adds a row, and every write is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from secaudit import clock
from secaudit.errors import InputError
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

#: Sections an officer may write, in the order of the body.
SECTIONS = ("danh-gia", "ton-tai", "nguyen-nhan", "ke-hoach", "kien-nghi")
SECTION_TITLES = {
    "danh-gia": ("Đánh giá chung (mục I)", "Overall assessment (part I)"),
    "ton-tai": ("Tồn tại, hạn chế (mục II.1)", "Shortcomings (part II.1)"),
    "nguyen-nhan": ("Nguyên nhân (mục II.2)", "Causes (part II.2)"),
    "ke-hoach": ("Kế hoạch khắc phục (mục III)", "Remediation plan (part III)"),
    "kien-nghi": ("Kiến nghị, đề xuất (mục IV)", "Proposals (part IV)"),
}
MAX_NOTE_CHARS = 20_000
_DAY = r"(\d{1,2})/(\d{1,2})/(\d{4})"


@dataclass(frozen=True)
class Period:
    """The span a note covers (both ends included) and how the officer wrote it."""

    start: dt.date
    end: dt.date
    label: str


def parse_period(text: str | None, *, today: dt.date | None = None) -> Period:
    """``YYYY``, ``dd/mm/yyyy`` or ``dd/mm/yyyy-dd/mm/yyyy``; none: the current year."""
    if text is None or not text.strip():
        year = (today or clock.today()).year
        return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), str(year))
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{4}", raw):
            year = int(raw)
            return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), raw)
        one = re.fullmatch(_DAY, raw)
        if one:
            day = dt.date(int(one[3]), int(one[2]), int(one[1]))
            return Period(day, day, raw)
        span = re.fullmatch(_DAY + r"\s*-\s*" + _DAY, raw)
        if span:
            start = dt.date(int(span[3]), int(span[2]), int(span[1]))
            end = dt.date(int(span[6]), int(span[5]), int(span[4]))
            if end >= start:
                return Period(start, end, raw)
    except ValueError:
        pass
    raise InputError(
        f"Kỳ báo cáo không hợp lệ: {raw!r} (dạng 2026, 22/11/2026 hoặc 01/07/2026-31/12/2026)",
        en="period must be YYYY, dd/mm/yyyy or dd/mm/yyyy-dd/mm/yyyy",
    )


def check_section(section: str) -> None:
    """Refuse a section name the body has no place for."""
    if section not in SECTIONS:
        raise InputError(f"Mục không hợp lệ: {section} (chọn: {', '.join(SECTIONS)})",
                         en=f"unknown section {section!r}")


def clean_text(text: str) -> str:
    """A note as stored: NFC, no control characters, line ends normalised, trimmed; empty is an error."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text if ch == "\n" or ch == "\t" or unicodedata.category(ch) != "Cc").strip()
    if not text:
        raise InputError("Nội dung ghi chú trống", en="the note is empty")
    if len(text) > MAX_NOTE_CHARS:
        raise InputError(f"Nội dung ghi chú quá dài ({len(text)} ký tự, tối đa {MAX_NOTE_CHARS})",
                         en=f"note too long ({len(text)} characters, at most {MAX_NOTE_CHARS})")
    return text


def set_note(ws: Workspace, agency: str, section: str, text: str, *, period: Period, actor: str) -> dict[str, Any]:
    """Record the officer's text for ``section`` of ``agency``'s report over ``period`` (audit-logged)."""
    ws.require_agency(agency)
    check_section(section)
    body = clean_text(text)
    row: dict[str, Any] = {"agency": agency, "section": section, "period_start": period.start.isoformat(),
           "period_end": period.end.isoformat(), "period_label": period.label, "text": body,
           "actor": actor, "written_at": clock.now_text()}
    with ws.transaction() as db:
        cursor = db.execute(
            f"insert into report_notes ({', '.join(row)}) values ({', '.join('?' * len(row))})", list(row.values()))
        row["id"] = cursor.lastrowid
        auditlog.append(ws, actor=actor, action="report.note", agency=agency, subject=section,
                        detail={"period": period.label, "chars": len(body), "id": row["id"]})
    return row


def notes_for(ws: Workspace, agency: str, day: dt.date) -> dict[str, dict[str, Any]]:
    """Per section, the note in force for a report as of ``day`` (narrowest period, latest written)."""
    found: dict[str, dict[str, Any]] = {}
    if not ws.db["report_notes"].exists():
        return found
    rows = ws.db.query(
        "select * from report_notes where agency = ? and period_start <= ? and period_end >= ?"
        " order by julianday(period_end) - julianday(period_start) desc, written_at, id",
        [agency, day.isoformat(), day.isoformat()])
    for row in rows:
        found[row["section"]] = row  # narrower and later rows come last and win
    return found


# -- the body's words ------------------------------------------------------------------------------
def _listing(items: list[str], t: dict[str, Any], limit: int = 6) -> str:
    shown = "; ".join(items[:limit])
    return shown + (f"; {t['more'].format(n=len(items) - limit)}" if len(items) > limit else "")


def ref_runs(refs: list[str]) -> str:
    """Annex numbers as a reader writes them: three or more in a row as a range ("PL2-01–PL2-40")."""
    runs: list[list[str]] = []
    for ref in refs:
        prefix, _, number = ref.rpartition("-")
        last = runs[-1][-1] if runs else None
        if (last is not None and number.isdigit() and last.rpartition("-")[0] == prefix
                and last.rpartition("-")[2].isdigit() and int(number) == int(last.rpartition("-")[2]) + 1):
            runs[-1].append(ref)
        else:
            runs.append([ref])
    return ", ".join(f"{run[0]}–{run[-1]}" if len(run) >= 3 else ", ".join(run) for run in runs)


def _names(names: list[str], t: dict[str, Any]) -> str:
    """Quoted system names in a sentence: “A”, “B” và “C”."""
    quoted = [f"“{n}”" for n in names]
    return quoted[0] if len(quoted) == 1 else t["and_list"].format(first=", ".join(quoted[:-1]), last=quoted[-1])


def paragraphs(text: str) -> list[str]:
    """A note's paragraphs (blank lines or single line ends separate them)."""
    return [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def build_body(data: Any, t: dict[str, Any], *, vndate: Any) -> dict[str, Any]:
    """The words of parts I–IV for ``data`` (a ``ReportData``): the officer's notes, else sentences.

    ``t`` is the report's strings for its language (``strings.yaml``), ``vndate`` the date formatter.
    Returns plain text and rows; the HTML template and the Word writer lay them out.
    """
    ar = t["ar"]
    notes = data.notes
    plan_id = data.checklists[0]["id"] if data.checklists else None
    tasks = [{**x, "evidence": (refs := data.annex["task_evidence"].get(f"{x['checklist']}:{x['id']}", [])),
              "evidence_text": ref_runs(refs)}
             for x in data.summary["tasks"] if x["checklist"] == plan_id]
    plan = data.names["checklists"].get(data.checklists[0]["id"], "") if data.checklists else ""
    counts = {"met": sum(1 for x in tasks if x["status"] == "dat"),
              "not_met": sum(1 for x in tasks if x["status"] in ("chua-dat", "loi")),
              "not_assessed": sum(1 for x in tasks if x["status"] == "chua-danh-gia")}
    rest = len(tasks) - sum(counts.values())
    assessment = [ar["assess_auto"].format(
        as_of=vndate(data.as_of), agency=data.agency["name"], systems=data.counts["systems"],
        critical=data.counts["critical"], approved=data.counts["approved"], tasks=len(tasks), plan=plan,
        overdue=sum(1 for x in tasks if x["overdue"]),
        other=ar["assess_other"].format(n=rest) if rest else "", **counts)]
    scanned = any(s["current"] for s in data.scans)
    if data.annex["problems"]:
        detail = ", ".join(f"{t['severity'][k].lower()}: {n}" for k, n in data.summary["findings_by_severity"].items()
                           if n)
        assessment.append(ar["findings_auto"].format(n=len(data.findings), detail=detail))
    else:
        assessment.append(ar["findings_none"] if scanned else ar["findings_no_scan"])
    assessment.append(ar["evidence_auto"].format(evidence=data.counts["evidence"], scans=data.counts["scans"]))
    if "danh-gia" in notes:
        assessment += paragraphs(notes["danh-gia"])

    other = []
    for c in data.checklists[1:]:
        top = [it for it in c["items"] if it["parent"] is None and it["status"] != "khong-ap-dung"]
        if not top:
            continue
        other.append({"title": data.names["checklists"][c["id"]], "applicable": len(top),
                      "met": sum(1 for it in top if it["status"] in ("dat", "mien-tru")),
                      "not_met": sum(1 for it in top if it["status"] in ("chua-dat", "loi")),
                      "not_assessed": sum(1 for it in top if it["status"] == "chua-danh-gia"),
                      "overdue": sum(1 for it in top if it["overdue"])})

    if "ton-tai" in notes:
        issues = paragraphs(notes["ton-tai"])
    else:
        # systems in the same situation share one sentence (an agency with 20 alike systems reads 1, not 20)
        alike: dict[str, list[str]] = {}
        agency_parts = None
        for x in data.annex["issues"]:
            parts = []
            if x["not_met"]:
                parts.append(ar["part_not_met"].format(n=len(x["not_met"]), items=_listing(x["not_met"], ar, 5)))
            if x["not_assessed"]:
                parts.append(ar["part_not_assessed"].format(n=len(x["not_assessed"])))
            if x["overdue"]:
                parts.append(ar["part_overdue"].format(n=x["overdue"]))
            if not parts:
                continue
            if x["system"]:
                alike.setdefault("; ".join(parts), []).append(x["name"])
            else:
                agency_parts = "; ".join(parts)
        issues = [(ar["issue_system"].format(name=names[0], parts=parts) if len(names) == 1 else
                   ar["issue_systems"].format(n=len(names), names=_names(names, ar), parts=parts))
                  for parts, names in alike.items()]
        if agency_parts:
            issues.append(ar["issue_agency"].format(parts=agency_parts))
        issues.append(ar["issues_see"] if issues else ar["issues_none"])

    if "nguyen-nhan" in notes:
        causes_intro, causes = None, paragraphs(notes["nguyen-nhan"])
    else:
        causes_intro = ar["causes_intro"] if data.annex["causes"] else None
        causes = [ar["cause"][k].format(n=n) for k, n in data.annex["causes"].items()]

    plan_rows: list[dict[str, str]] = []
    if "ke-hoach" in notes:
        plan_text = paragraphs(notes["ke-hoach"])
    else:
        plan_text = [ar["plan_intro"].format(agency=data.agency["name"])] if data.annex["issues"] else [
            ar["plan_none"]]
        rows: dict[tuple[Any, ...], list[dict[str, Any]]] = {}  # alike systems with one owner: one row
        for x in data.annex["issues"]:
            key = (x["system"] is None, x["count"], tuple(x["items"]), x["owner"], x["deadline"], x["late"])
            rows.setdefault(key if x["system"] else (None, x["name"]), []).append(x)
        for group in rows.values():
            x = group[0]
            items = _listing(x["items"], ar, 3)
            if not x["system"]:
                what = ar["plan_what_agency"].format(n=x["count"], items=items)
            elif len(group) == 1:
                what = ar["plan_what"].format(n=x["count"], name=x["name"], items=items)
            else:
                what = ar["plan_what_systems"].format(n=x["count"], count=len(group),
                                                      names=_names([g["name"] for g in group], ar), items=items)
            if x["deadline"] is None:
                when = ar["plan_no_deadline"]
            elif x["late"]:
                when = ar["plan_overdue"].format(date=vndate(x["deadline"]))
            else:
                when = vndate(x["deadline"])
            plan_rows.append({"what": what, "who": x["owner"], "when": when, "late": x["late"]})

    if "kien-nghi" in notes:
        proposals = paragraphs(notes["kien-nghi"])
    else:
        waiting = sum(1 for s in data.systems if s["level"]["dossier_state"] in ("da-trinh-tham-dinh", "da-tham-dinh"))
        proposals = [ar["proposal_levels"].format(n=waiting)] if waiting else [ar["proposal_none"]]

    return {"assessment": assessment, "tasks": tasks, "plan": plan, "other": other, "issues": issues,
            "causes_intro": causes_intro, "causes": causes, "plan_text": plan_text, "plan_rows": plan_rows,
            "proposals": proposals}
