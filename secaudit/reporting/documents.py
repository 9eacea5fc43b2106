"""A report in the format the caller asks for: the one call the faces make.

The agency report comes as pdf, html (``render``) or xlsx, json, oscal (``exports``), all from the
same ``ReportData``; the province roll-up as pdf or html. Formatters return bytes; the CLI writes them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from secaudit.errors import InputError
from secaudit.reporting import exports
from secaudit.reporting.data import build_report, pdf_attachments
from secaudit.reporting.province import build_province
from secaudit.reporting.render import render_html, render_pdf, render_province_html
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.store.workspace import Workspace

FORMATS = ("pdf", "html", "xlsx", "json", "oscal")
PROVINCE_FORMATS = ("pdf", "html")


def render_agency(
    ws: Workspace, library: Library, agency: str, *, fmt: str, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi", template_dir: Path | None = None,
) -> bytes:
    """The agency report in ``fmt`` (pdf, html, xlsx, json, oscal), as bytes."""
    if fmt not in FORMATS:
        raise InputError(f"Định dạng không hỗ trợ: {fmt}", en=f"unsupported format {fmt!r}")
    data = build_report(ws, library, agency, as_of=as_of, profile=profile, lang=lang)
    if fmt in exports.FORMATS:
        return exports.render(fmt, data)
    html = render_html(data, template_dir=template_dir)
    if fmt == "html":
        return html
    title = ("Báo cáo an ninh mạng" if lang == "vi" else "Cyber-security report") + f" — {data.agency['name']}"
    return render_pdf(html, title=title, author=data.agency["name"], as_of=as_of,
                      attachments=pdf_attachments(ws, data), template_dir=template_dir, lang=lang)


def render_province(
    ws: Workspace, library: Library, province: str | None, *, fmt: str, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi", template_dir: Path | None = None,
) -> bytes:
    """The province roll-up as a self-contained interactive HTML page or a PDF/A-3b (no script)."""
    if fmt not in PROVINCE_FORMATS:
        raise InputError(f"Báo cáo tỉnh chỉ có dạng pdf hoặc html, không có {fmt}",
                         en=f"the province roll-up is pdf or html, not {fmt}")
    data = build_province(ws, library, province, as_of=as_of, profile=profile, lang=lang)
    if fmt == "html":
        return render_province_html(data, interactive=True, template_dir=template_dir)
    html = render_province_html(data, interactive=False, template_dir=template_dir)
    title = ("Tổng hợp an ninh mạng" if lang == "vi" else "Cyber-security roll-up") + f" — {data.province}"
    return render_pdf(html, title=title, author=data.issuer["name"], as_of=as_of, template_dir=template_dir,
                      lang=lang)
