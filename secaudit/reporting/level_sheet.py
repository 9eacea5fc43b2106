"""Render the level determination sheet (:mod:`secaudit.levels.sheet`) as HTML or PDF/A-3b."""

from __future__ import annotations

from pathlib import Path

from secaudit.errors import InputError
from secaudit.levels.sheet import SheetData


def render_sheet(data: SheetData, *, fmt: str, template_dir: Path | None = None) -> bytes:
    """The determination sheet as PDF (PDF/A-3b) or HTML bytes."""
    from secaudit.reporting import render  # jinja2 and the PDF stack load only when a sheet is drawn

    html = render.render_template("level-sheet.html.j2", data, lang=data.lang, template_dir=template_dir)
    if fmt == "html":
        return html
    if fmt != "pdf":
        raise InputError(f"Định dạng không hỗ trợ: {fmt}", en=f"unsupported format {fmt!r}")
    return render.render_pdf(html, title=f"Phiếu xác định cấp độ — {data.system['name']}",
                             author=data.agency["name"], as_of=data.as_of, template_dir=template_dir)
