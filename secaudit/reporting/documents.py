"""A report in the format the caller asks for: the one call the faces make.

The agency report comes as pdf, html (``render``), docx (``docx``) or xlsx, json, oscal (``exports``), all from the
same ``ReportData``; the province roll-up is ``rollup``. Formatters return bytes; the CLI writes them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from secaudit.errors import InputError
from secaudit.reporting import exports
from secaudit.reporting.data import build_report, pdf_attachments, set_embedding
from secaudit.reporting.narrative import notes_for
from secaudit.reporting.render import render_html, render_pdf
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.store.workspace import Workspace

FORMATS = ("pdf", "html", "xlsx", "json", "oscal", "docx")


def render_agency(
    ws: Workspace, library: Library, agency: str, *, fmt: str, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi", template_dir: Path | None = None, embed_evidence: bool = True,
) -> bytes:
    """The agency report in ``fmt`` (pdf, html, docx, xlsx, json, oscal), as bytes.

    The PDF carries the evidence documents themselves unless ``embed_evidence`` is False.
    """
    if fmt not in FORMATS:
        raise InputError(f"Định dạng không hỗ trợ: {fmt}", en=f"unsupported format {fmt!r}")
    data = build_report(ws, library, agency, as_of=as_of, profile=profile, lang=lang)
    if fmt in exports.FORMATS:
        return exports.render(fmt, data)
    data.notes = {section: row["text"] for section, row in notes_for(ws, agency, as_of).items()}
    set_embedding(data, embed_evidence and fmt != "docx")  # the HTML is the PDF's text, with its manifest
    if fmt == "docx":
        from secaudit.reporting.docx import render_docx

        return render_docx(data, template_dir=template_dir)
    html = render_html(data, template_dir=template_dir)
    if fmt == "html":
        return html
    title = ("Báo cáo an ninh mạng" if lang == "vi" else "Cyber-security report") + f" — {data.agency['name']}"
    return render_pdf(html, title=title, author=data.agency["name"], as_of=as_of,
                      attachments=pdf_attachments(ws, data), template_dir=template_dir, lang=lang)
