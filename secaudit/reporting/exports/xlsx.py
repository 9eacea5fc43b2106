"""The agency report as an Excel workbook, the format Vietnamese offices work in.

Sheets: summary, systems, requirements (agency rows and per-system rows), findings, evidence, scans and
waivers, each with a bold frozen header row and an autofilter. Every text cell is written as a string,
never as a formula, so a server banner such as ``=HYPERLINK(…)`` stays text. The workbook is
reproducible: document properties carry the as-of date and the zip members a fixed timestamp.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import TYPE_CHECKING, Any

from secaudit.requirements.results import LABELS, one_language
from secaudit.text import visible

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from secaudit.reporting.data import ReportData

SHEETS = {
    "vi": {"summary": "Tổng hợp", "systems": "Hệ thống", "requirements": "Yêu cầu", "findings": "Phát hiện",
           "evidence": "Minh chứng", "scans": "Lần quét", "waivers": "Miễn trừ"},
    "en": {"summary": "Summary", "systems": "Systems", "requirements": "Requirements", "findings": "Findings",
           "evidence": "Evidence", "scans": "Scans", "waivers": "Waivers"},
}
HEAD = {
    "vi": {
        "field": "Nội dung", "value": "Giá trị", "agency": "Cơ quan", "code": "Mã", "as_of": "Số liệu đến ngày",
        "profile": "Hồ sơ đánh giá", "generator": "Công cụ", "manifest": "SHA-256 bảng kê minh chứng",
        "checklist": "Bộ tiêu chí", "item": "Mục", "bears_on": "Yêu cầu liên quan", "parent": "Mục cha",
        "task": "Nhiệm vụ / yêu cầu",
        "scope": "Phạm vi", "basis": "Căn cứ", "deadline": "Thời hạn", "status": "Mã kết quả",
        "status_label": "Kết quả", "overdue": "Quá hạn", "reasons": "Ghi chú", "system": "Hệ thống",
        "name": "Tên", "critical": "Trọng yếu", "owner": "Chủ quản", "operator": "Đơn vị vận hành",
        "hosting": "Nơi đặt", "proposed": "Cấp độ đề xuất", "approved": "Cấp độ phê duyệt",
        "suggested": "Cấp độ theo tiêu chí", "dossier": "Hồ sơ cấp độ", "decision": "Số quyết định",
        "decision_date": "Ngày quyết định", "hosts": "Địa chỉ khai báo", "scan": "Lần quét",
        "address": "Địa chỉ", "port": "Cổng", "severity": "Mức độ", "rule": "Quy tắc", "title": "Phát hiện",
        "detail": "Chi tiết", "file": "Tệp", "kind": "Loại", "effective": "Hiệu lực", "expires": "Hết hạn",
        "sha256": "SHA-256", "size": "Kích thước", "started": "Bắt đầu", "finished": "Kết thúc",
        "scan_status": "Trạng thái", "argv": "Lệnh", "nmap": "Phiên bản nmap", "operator_scan": "Người quét",
        "reason": "Lý do", "approver": "Người phê duyệt", "until": "Đến ngày", "active": "Còn hiệu lực",
        "level": "Cấp độ", "total": "Tổng", "count": "Số lượng", "yes": "Có", "no": "Không",
    },
    "en": {
        "field": "Field", "value": "Value", "agency": "Agency", "code": "Code", "as_of": "Data as of",
        "profile": "Profile", "generator": "Generator", "manifest": "SHA-256 of the evidence manifest",
        "checklist": "Checklist", "item": "Item", "bears_on": "Requirements concerned", "parent": "Parent",
        "task": "Task / requirement",
        "scope": "Scope", "basis": "Legal basis", "deadline": "Deadline", "status": "Status code",
        "status_label": "Result", "overdue": "Overdue", "reasons": "Notes", "system": "System",
        "name": "Name", "critical": "Critical", "owner": "Owner", "operator": "Operator",
        "hosting": "Hosting", "proposed": "Proposed level", "approved": "Approved level",
        "suggested": "Level by the criteria", "dossier": "Level dossier", "decision": "Decision number",
        "decision_date": "Decision date", "hosts": "Declared addresses", "scan": "Scan",
        "address": "Address", "port": "Port", "severity": "Severity", "rule": "Rule", "title": "Finding",
        "detail": "Detail", "file": "File", "kind": "Kind", "effective": "Effective", "expires": "Expires",
        "sha256": "SHA-256", "size": "Size", "started": "Started", "finished": "Finished",
        "scan_status": "Status", "argv": "Command", "nmap": "nmap version", "operator_scan": "Operator",
        "reason": "Reason", "approver": "Approved by", "until": "Until", "active": "Active",
        "level": "Level", "total": "Total", "count": "Count", "yes": "Yes", "no": "No",
    },
}
DATE_FORMAT = "DD/MM/YYYY"
#: Labels of the coded values the workbook shows (the code itself stays only in the explicit code columns:
#: "Mã", "Mục", "Mã kết quả", "Quy tắc"), Vietnamese first.
VALUES: dict[str, dict[str, dict[str, str]]] = {
    "vi": {
        "counts": {"systems": "Số hệ thống thông tin", "critical": "Số hệ thống trọng yếu",
                   "approved": "Số hệ thống đã phê duyệt cấp độ", "findings": "Số phát hiện chưa khắc phục",
                   "evidence": "Số tệp minh chứng", "scans": "Số lần quét", "overdue_tasks": "Số nhiệm vụ quá hạn",
                   "remaining": "Số nội dung còn tồn tại"},
        "severity": {"nghiem-trong": "Nghiêm trọng", "cao": "Cao", "trung-binh": "Trung bình", "thap": "Thấp"},
        "dossier": {"chua-lap": "Chưa lập hồ sơ", "da-lap": "Đã lập hồ sơ", "da-trinh-tham-dinh": "Đã trình thẩm định",
                    "da-tham-dinh": "Đã thẩm định", "da-phe-duyet": "Đã phê duyệt"},
        "hosting": {"trung-tam-du-lieu-rieng": "Trung tâm dữ liệu riêng của cơ quan",
                    "trung-tam-du-lieu-tinh": "Trung tâm dữ liệu tỉnh", "dien-toan-dam-may": "Điện toán đám mây",
                    "nha-cung-cap": "Hạ tầng của nhà cung cấp", "tai-co-quan": "Phòng máy chủ tại cơ quan"},
        "scope": {"agency": "Cơ quan", "system": "Từng hệ thống"},
        "scan_status": {"complete": "Hoàn tất", "incomplete": "Không hoàn tất"},
        "level": {"none": "Chưa xác định", "n": "Cấp độ {n}"},
    },
    "en": {
        "counts": {"systems": "Information systems", "critical": "Critical systems",
                   "approved": "Systems with an approved level", "findings": "Open findings",
                   "evidence": "Evidence files", "scans": "Scans", "overdue_tasks": "Overdue tasks",
                   "remaining": "Open items"},
        "severity": {"nghiem-trong": "Critical", "cao": "High", "trung-binh": "Medium", "thap": "Low"},
        "dossier": {"chua-lap": "No dossier", "da-lap": "Dossier drafted",
                    "da-trinh-tham-dinh": "Submitted for appraisal", "da-tham-dinh": "Appraised",
                    "da-phe-duyet": "Approved"},
        "hosting": {"trung-tam-du-lieu-rieng": "The agency's own data centre",
                    "trung-tam-du-lieu-tinh": "Provincial data centre", "dien-toan-dam-may": "Cloud",
                    "nha-cung-cap": "Vendor infrastructure", "tai-co-quan": "Server room at the agency"},
        "scope": {"agency": "Agency", "system": "Each system"},
        "scan_status": {"complete": "Complete", "incomplete": "Incomplete"},
        "level": {"none": "Not determined", "n": "Level {n}"},
    },
}


def _label(table: dict[str, str], value: Any) -> Any:
    """The label of a coded value (unknown codes and empty values pass through unchanged)."""
    return table.get(value, value) if isinstance(value, str) else value


def _evidence_kind(kind: str | None, lang: str) -> str | None:
    from secaudit.requirements.content import EVIDENCE_KINDS

    if kind in EVIDENCE_KINDS:
        vi, en = EVIDENCE_KINDS[kind]
        return vi[:1].upper() + vi[1:] if lang == "vi" else en[:1].upper() + en[1:]
    return kind


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


def _put(ws: Worksheet, row: int, values: list[Any]) -> None:
    """Write one row; text is always stored as text (never a formula), dates as Excel dates."""
    for col, value in enumerate(values, 1):
        cell = ws.cell(row=row, column=col)
        if isinstance(value, str):
            cell.value = visible(value)  # a bidi override in a name must not reorder what Excel shows
            cell.data_type = "s"
        elif isinstance(value, dt.date):
            cell.value = value
            cell.number_format = DATE_FORMAT
        else:
            cell.value = value


def _table(ws: Worksheet, headers: list[str], rows: list[list[Any]], *, widths: list[int] | None = None,
           start: int = 1) -> int:
    """A header row (bold, frozen, filterable when at the top) and its rows; returns the next free row."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    _put(ws, start, headers)
    for col in range(1, len(headers) + 1):
        ws.cell(row=start, column=col).font = Font(bold=True)
    for i, values in enumerate(rows, start + 1):
        _put(ws, i, values)
        for col in range(1, len(values) + 1):
            ws.cell(row=i, column=col).alignment = Alignment(vertical="top", wrap_text=True)
    if start == 1:
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(1, len(rows) + 1)}"
    for col, width in enumerate(widths or [], 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    return start + len(rows) + 2


def render(data: ReportData) -> bytes:
    """The workbook as bytes."""
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    lang = data.lang
    h = HEAD[lang]
    v = VALUES[lang]
    status = {s.value: text for s, text in LABELS[lang].items()}
    yes = {True: h["yes"], False: h["no"], None: ""}
    wb = Workbook()
    names = SHEETS[lang]

    ws = wb.active
    ws.title = names["summary"]
    facts = [
        [h["agency"], data.agency["name"]], [h["code"], data.agency["code"]], [h["as_of"], data.as_of],
        [h["profile"], data.profile["title"]], [h["generator"], data.generator],
        [h["manifest"], data.manifest_sha256],
        *[[v["counts"].get(key, key), value] for key, value in data.counts.items()],
    ]
    row = _table(ws, [h["field"], h["value"]], facts, widths=[34, 60, 14, 14, 16, 10])
    checklists = {c["id"]: c["title"] for c in data.checklists}
    tasks = [[checklists.get(t["checklist"], t["checklist"]), t["id"], t["short"], _date(t["deadline"]),
              status[t["status"]], yes[t["overdue"]]]
             for t in data.summary["tasks"]]
    row = _table(ws, [h["checklist"], h["item"], h["task"], h["deadline"], h["status_label"], h["overdue"]], tasks,
                 start=row)
    states = [k for k in data.summary["levels"][0] if k not in ("level", "total")]
    levels = [[v["level"]["n"].format(n=r["level"]) if r["level"] else v["level"]["none"], r["total"],
               *(r[k] for k in states)] for r in data.summary["levels"]]
    row = _table(ws, [h["level"], h["total"], *(_label(v["dossier"], k) for k in states)], levels, start=row)
    _table(ws, [h["severity"], h["count"]],
           [[_label(v["severity"], k), n] for k, n in data.summary["findings_by_severity"].items()], start=row)

    ws = wb.create_sheet(names["systems"])
    _table(ws, [h["code"], h["name"], h["critical"], h["owner"], h["operator"], h["hosting"], h["proposed"],
                h["approved"], h["suggested"], h["dossier"], h["decision"], h["decision_date"], h["hosts"], h["scan"]],
           [[s["code"], s["name"], yes[s["critical"]], s["owner"], s["operator"], _label(v["hosting"], s["hosting"]),
             s["level"]["proposed"], s["level"]["approved"],
             (s["suggested_level"] or {}).get("range"), _label(v["dossier"], s["level"]["dossier_state"]),
             s["level"]["decision_number"],
             _date(s["level"]["decision_date"]), "\n".join(h["address"] for h in s["hosts"]), s["scan_id"]]
            for s in data.systems],
           widths=[22, 44, 10, 28, 28, 22, 10, 10, 10, 18, 16, 12, 22, 8])

    ws = wb.create_sheet(names["requirements"])
    rows = []
    for cl in data.checklists:
        for it in cl["items"]:
            rows.append([cl["id"], it["id"], it["parent"], "", it["title"], _label(v["scope"], it["scope"]),
                         "; ".join(it["basis"]),
                         _date(it["deadline"]), it["status"], status[it["status"]], yes[it["overdue"]],
                         "\n".join(it["reasons"])])
            for part in it["systems"]:
                rows.append([cl["id"], it["id"], it["parent"], part["code"], it["short"],
                             _label(v["scope"], it["scope"]), "",
                             _date(it["deadline"]), part["status"], status[part["status"]], yes[part["overdue"]],
                             "\n".join(part["reasons"])])
    _table(ws, [h["checklist"], h["item"], h["parent"], h["system"], h["task"], h["scope"], h["basis"], h["deadline"],
                h["status"], h["status_label"], h["overdue"], h["reasons"]], rows,
           widths=[16, 18, 16, 20, 60, 9, 40, 12, 14, 16, 9, 70])

    ws = wb.create_sheet(names["findings"])
    _table(ws, [h["system"], h["address"], h["port"], h["severity"], h["rule"], h["title"], h["detail"], h["bears_on"],
                h["scan"]],
           [[f["system"], f["address"], f["port"], _label(v["severity"], f["severity"]), f["rule"], f["title"],
             one_language(f["detail"] or "", lang),
             "\n".join(f["bears_on"]), f["scan_id"]] for f in data.findings],
           widths=[20, 16, 8, 12, 24, 50, 30, 34, 8])

    ws = wb.create_sheet(names["evidence"])
    _table(ws, [h["file"], h["kind"], h["checklist"], h["item"], h["system"], h["effective"], h["expires"], h["sha256"],
                h["size"]],
           [[e["original_name"], _evidence_kind(e["kind"], lang), e["checklist"], e["item"], e["system"],
             _date(e["effective"]),
             _date(e["expires"]), e["sha256"], e["size"]] for e in data.evidence],
           widths=[36, 14, 16, 18, 20, 12, 12, 68, 10])

    ws = wb.create_sheet(names["scans"])
    _table(ws, [h["scan"], h["system"], h["started"], h["finished"], h["scan_status"], h["argv"], h["nmap"],
                h["operator_scan"], h["sha256"]],
           [[s["id"], s["system"], s["started"], s["finished"], _label(v["scan_status"], s["status"]),
             " ".join(s["argv"]), s["nmap_version"],
             s["operator"], s["xml_sha256"]] for s in data.scans],
           widths=[8, 20, 26, 26, 12, 80, 10, 16, 68])

    ws = wb.create_sheet(names["waivers"])
    _table(ws, [h["checklist"], h["item"], h["system"], h["reason"], h["approver"], h["until"], h["active"]],
           [[w["checklist"], w["item"], w["system"], w["reason"], w["approved_by"], _date(w["until"]),
             yes[w["active"]]] for w in data.waivers],
           widths=[16, 18, 20, 50, 30, 12, 10])

    stamp = dt.datetime.combine(data.as_of, dt.time(0, 0))
    wb.properties.creator = data.generator
    wb.properties.title = visible(data.agency["name"])
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.lastModifiedBy = data.generator
    raw = io.BytesIO()
    archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)
    ExcelWriter(wb, archive).save()  # writes every part and closes the archive
    return _fixed_zip(raw.getvalue(), data.as_of)


def _fixed_zip(blob: bytes, day: dt.date) -> bytes:
    """Re-pack the workbook with one fixed timestamp on every member (zip stores local write times)."""
    out = io.BytesIO()
    stamp = (max(day.year, 1980), day.month, day.day, 0, 0, 0)
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


#: Public names of the helpers, for the other workbooks of the reporting package (``noncompliant``).
put_row = _put
write_table = _table
fixed_zip = _fixed_zip

__all__ = ["SHEETS", "fixed_zip", "put_row", "render", "write_table"]
