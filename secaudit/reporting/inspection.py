"""The inspection report: Công an tỉnh's "Báo cáo kết quả kiểm tra" about one agency, in the issuer's name.

Why a *báo cáo* (BC) and not a *biên bản* (BB): NĐ 30/2020 Mẫu 1.9 makes a biên bản the record of
a session — start time, place, participants, chair and secretary signing together — and NĐ 331/2026
Đ26.1.d has the inspection team draw one up on site with the system owner. This document is written
afterwards by Công an tỉnh alone, from the agency's submitted bundle and the police's own scans, and
is signed by the police only: a report of results (Phụ lục III NĐ 30, "Báo cáo — BC").

The renderer takes a plain :class:`InspectionReport`, filled by the services layer (this package
must not import ``exchange``); it never reads the workspace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.errors import InputError


@dataclass
class InspectionRow:
    """One KH 04 task × system: the agency's claim and the inspector's verification."""

    task: int
    title: str
    system: str  # the system's name ("" for the agency as a whole)
    claim: str  # status code the agency claimed
    claim_note: str
    claim_date: dt.date | None
    claim_evidence: list[str]  # file names
    verification: str  # status code the inspector found ("chua-danh-gia" when not observed)
    verification_basis: list[str]  # findings / reasons in Vietnamese
    agreement: str  # khop | mau-thuan | chua-kiem-chung
    overdue: bool = False
    deadline: dt.date | None = None


@dataclass
class InspectionReport:
    """Everything the inspection report shows; plain data."""

    issuer: dict[str, Any]  # name, parent, symbol, place, signer{authority, on_behalf_of, title, name}, recipients
    agency: dict[str, Any]  # code, name
    as_of: dt.date
    issued: dt.date
    submission: dict[str, Any]  # id, created (date), as_of (date), signature
    scans: list[dict[str, Any]]  # the inspector's own scans used: id, date, hosts
    contradictions: list[InspectionRow] = field(default_factory=list)
    overdue: list[InspectionRow] = field(default_factory=list)
    agreeing: list[InspectionRow] = field(default_factory=list)
    unverified: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    conclusions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    lang: str = "vi"
    generator: str = ""


def render(data: InspectionReport, *, fmt: str = "pdf", template_dir: Path | None = None) -> bytes:
    """The report as PDF (PDF/A-3b), Word (.docx) or HTML bytes."""
    from secaudit.reporting import render as r  # jinja2 and weasyprint load only when a report is drawn

    if fmt == "docx":
        return render_docx(data, template_dir=template_dir)
    if fmt not in ("pdf", "html"):
        raise InputError(f"Định dạng không hỗ trợ cho báo cáo kiểm tra: {fmt} (dùng pdf, docx hoặc html)",
                         en=f"unsupported format for the inspection report: {fmt!r}")
    html = r.render_template("inspection.html.j2", data, lang=data.lang, template_dir=template_dir)
    if fmt == "html":
        return html
    return r.render_pdf(html, title=f"Báo cáo kết quả kiểm tra — {data.agency['name']}",
                        author=str(data.issuer.get("name") or ""), as_of=data.as_of, template_dir=template_dir)


# -- Word ------------------------------------------------------------------------------------------
_STATUS = {"dat": "ĐẠT", "chua-dat": "CHƯA ĐẠT", "khong-ap-dung": "KHÔNG ÁP DỤNG", "chua-danh-gia": "CHƯA ĐÁNH GIÁ",
           "mien-tru": "MIỄN TRỪ", "loi": "LỖI"}


def _vn(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def render_docx(data: InspectionReport, *, template_dir: Path | None = None) -> bytes:
    """The same report as a Word document (the agency report's NĐ 30 header, signature and table helpers)."""
    from secaudit.reporting.docx import DocxWriter, docx_header, docx_signature
    from secaudit.reporting.render import prepare_env

    _env, t, _labels = prepare_env(template_dir, data.lang)
    a, agency = data.issuer, data.agency["name"]
    w = DocxWriter(data.lang)
    docx_header(w, t, a, data.issued)
    w.para(f"V/v kết quả kiểm tra, đối chiếu việc thực hiện nhiệm vụ bảo đảm an toàn thông tin, an ninh mạng của "
           f"{agency}", size=12, align="left", after=10)
    w.para("BÁO CÁO", bold=True, size=14, align="center", after=0)
    w.para("Kết quả kiểm tra, đối chiếu việc thực hiện các nhiệm vụ bảo đảm an toàn thông tin, an ninh mạng theo "
           f"Kế hoạch 04-KH/BCĐTW của {agency}", bold=True, align="center", after=12)
    sub = data.submission
    scans = ", ".join(f"ngày {_vn(s['date'])} ({s['hosts']} máy chủ)" for s in data.scans)
    signature = f", {sub['signature_text']}" if sub.get("signature_text") else ""
    w.para(f"Căn cứ gói hồ sơ tự đánh giá số {sub['id']} do {agency} lập ngày {_vn(sub['created'])} (số liệu đến "
           f"ngày {_vn(sub['as_of'])}){signature}; "
           + (f"căn cứ kết quả rà quét do {a['name']} tự thực hiện {scans}; " if scans
              else f"{a['name']} chưa tự rà quét hệ thống của cơ quan; ")
           + f"{a['name']} báo cáo kết quả kiểm tra, đối chiếu nội dung cơ quan tự khai với kết quả kiểm tra tính đến "
           f"ngày {_vn(data.as_of)} như sau:", indent=True)
    c = data.counts
    w.heading("I. KẾT QUẢ CHUNG")
    w.table(None, [["Số nội dung đối chiếu (nhiệm vụ × hệ thống)", c.get("total", 0)],
                   ["Cơ quan khai khác kết quả kiểm tra (mâu thuẫn)", c.get("mau-thuan", 0)],
                   ["Quá hạn chưa hoàn thành", c.get("overdue", 0)], ["Khớp với kết quả kiểm tra", c.get("khop", 0)],
                   ["Chưa kiểm chứng (chưa có kết quả kiểm tra riêng)", c.get("chua-kiem-chung", 0)]],
            widths=[120, 45])

    def claim(x: InspectionRow) -> list[Any]:
        out: list[Any] = [(_STATUS.get(x.claim, x.claim),)]
        if x.claim_date:
            out[0] = (f"{_STATUS.get(x.claim, x.claim)} (ngày {_vn(x.claim_date)})",)
        if x.claim_note:
            out.append(x.claim_note)
        if x.claim_evidence:
            out.append("Minh chứng: " + ", ".join(x.claim_evidence))
        return out

    def check(x: InspectionRow) -> list[Any]:
        return [(_STATUS.get(x.verification, x.verification),), *(f"- {b}" for b in x.verification_basis)]

    w.heading("II. NỘI DUNG CƠ QUAN KHAI MÂU THUẪN VỚI KẾT QUẢ KIỂM TRA")
    if data.contradictions:
        w.table(["NV", "Nhiệm vụ", "Hệ thống", "Cơ quan khai", "Kết quả kiểm tra"],
                [[x.task, [x.title] + ([f"quá hạn {_vn(x.deadline)}"] if x.overdue else []), x.system or "Toàn cơ quan",
                  claim(x), check(x)] for x in data.contradictions], widths=[11, 25, 25, 44, 60], size=9)
    else:
        w.para("Không phát hiện nội dung cơ quan khai mâu thuẫn với kết quả kiểm tra.", indent=True)
    w.heading("III. NHIỆM VỤ QUÁ HẠN CHƯA HOÀN THÀNH")
    if data.overdue:
        w.table(["NV", "Nhiệm vụ", "Hệ thống", "Hạn", "Cơ quan khai", "Kết quả kiểm tra"],
                [[x.task, x.title, x.system or "Toàn cơ quan", _vn(x.deadline), claim(x), check(x)]
                 for x in data.overdue], widths=[11, 24, 24, 20, 44, 42], size=9)
    else:
        w.para("Không có nhiệm vụ quá hạn ngoài các nội dung đã nêu tại mục II.", indent=True)
    w.heading("IV. NỘI DUNG KHỚP VÀ NỘI DUNG CHƯA KIỂM CHỨNG")
    if data.agreeing:
        w.table(["NV", "Nhiệm vụ", "Hệ thống", "Cơ quan khai và kết quả kiểm tra"],
                [[x.task, x.title, x.system or "Toàn cơ quan", _STATUS.get(x.verification, x.verification)]
                 for x in data.agreeing], widths=[11, 60, 58, 36], size=9)
    w.para(f"Có {data.unverified} nội dung cơ quan tự khai nhưng {a['name']} chưa có kết quả kiểm tra riêng (chưa "
           "kiểm chứng); các nội dung này không được coi là đạt hay chưa đạt trong báo cáo này.", indent=True)
    w.heading("V. KẾT LUẬN")
    for text in data.conclusions:
        w.para(text, indent=True)
    w.heading("VI. YÊU CẦU, KIẾN NGHỊ")
    for n, text in enumerate(data.requests, 1):
        w.para(f"{n}. {text}", indent=True)
    docx_signature(w, t, a)
    stamp = dt.datetime.combine(data.as_of, dt.time(0, 0))
    return w.save(stamp, str(a.get("name") or ""), f"Báo cáo kết quả kiểm tra — {agency}")
