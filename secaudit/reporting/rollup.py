"""The province roll-up as a document: the interactive HTML page and the landscape PDF/A-3b.

Both render ``reports/province.html.j2`` over a :class:`~secaudit.reporting.province.ProvinceData`,
whichever way it was filled (the workspace's own assessment or the agencies' submissions). The charts
use the same colours as the legend and the matrix: one colour per status, and "quá hạn" marked apart,
because an overdue task is also counted under its status.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import unicodedata
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from secaudit.errors import InputError
from secaudit.reporting.province import COUNT_ORDER, ProvinceData, build_province
from secaudit.reporting.render import STATUS_COLOURS, SVG_FONT, bar_chart, render_pdf, render_template
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.resources import data_dir
from secaudit.store.workspace import Workspace

FORMATS = ("pdf", "html")
#: The colour that marks "quá hạn" (the matrix cell's frame, the chart's count, the legend's key).
OVERDUE_COLOUR = "#7f0000"
#: Colours of the agency classes: each the colour of the status that puts an agency in the class.
CLASS_COLOURS = {"overdue": OVERDUE_COLOUR, "not_met": STATUS_COLOURS["chua-dat"],
                 "pending": STATUS_COLOURS["chua-danh-gia"], "met": STATUS_COLOURS["dat"]}


def task_chart(data: ProvinceData, *, width: int = 760, bar: int = 15, label_width: int = 260) -> Markup:
    """One stacked bar per task (agencies by status, in the legend's colours) and its overdue count."""
    gap = 5
    tail = 90
    height = len(data.tasks) * (bar + gap) + gap
    room = width - label_width - tail
    total = max(data.totals["agencies"], 1)
    overdue_text = {"vi": "quá hạn", "en": "overdue"}[data.lang]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}"'
             f' viewBox="0 0 {width} {height}" role="img" font-family="{SVG_FONT}">']
    for i, (task, counts) in enumerate(zip(data.tasks, data.totals["per_task"], strict=True)):
        y = gap + i * (bar + gap)
        label = f"{i + 1}. {task['short']}"
        parts.append(f'<text x="{label_width - 6}" y="{y + bar - 3}" text-anchor="end" font-size="10.5">'
                     f'{escape(label)}</text>')
        x = float(label_width)
        for status in COUNT_ORDER:
            value = counts["counts"][status]
            if not value:
                continue
            length = room * value / total
            parts.append(f'<rect data-s="{status}" x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar}"'
                         f' fill="{STATUS_COLOURS[status]}"/>')
            if length >= 12:
                parts.append(f'<text x="{x + length / 2:.1f}" y="{y + bar - 4}" text-anchor="middle" font-size="9.5"'
                             f' fill="#fff">{int(value)}</text>')
            x += length
        if counts["overdue"]:
            parts.append(f'<text x="{x + 5:.1f}" y="{y + bar - 3}" font-size="10" font-weight="bold"'
                         f' fill="{OVERDUE_COLOUR}">{overdue_text}: {int(counts["overdue"])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def charts(data: ProvinceData, texts: dict[str, Any]) -> dict[str, Markup]:
    """The two charts of section I: agencies by class, tasks by status."""
    names = texts["rollup"]["class"]
    classes = data.totals["classes"]
    agencies = bar_chart([(names[k], classes[k], CLASS_COLOURS[k]) for k in ("overdue", "not_met", "pending", "met")],
                         width=520, label_width=200)
    return {"agencies": agencies, "tasks": task_chart(data)}


def _script(template_dir: Path | None) -> str:
    for folder in ([Path(template_dir)] if template_dir else []) + [data_dir("reports")]:
        path = folder / "province.js"
        if path.is_file():
            return unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    return ""


def strings(lang: str, template_dir: Path | None = None) -> dict[str, Any]:
    """The labels of ``reports/strings.yaml`` for ``lang`` (the override folder's copy first)."""
    from secaudit import yamlio

    for folder in ([Path(template_dir)] if template_dir else []) + [data_dir("reports")]:
        path = folder / "strings.yaml"
        if path.is_file():
            return dict(yamlio.loads(path.read_text(encoding="utf-8"), str(path)).data[lang])
    raise InputError("Không tìm thấy strings.yaml", en="strings.yaml not found")


def render_html(data: ProvinceData, *, interactive: bool = True, template_dir: Path | None = None) -> bytes:
    """The roll-up page; ``interactive`` inlines the filter/sort script (never in the PDF path)."""
    texts = strings(data.lang, template_dir)
    script = _script(template_dir) if interactive else ""
    csp_hash = Markup("'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
                      + "'") if script else ""
    return render_template("province.html.j2", data, lang=data.lang, template_dir=template_dir, p=data,
                           charts=charts(data, texts), script=Markup(script), csp_hash=csp_hash,
                           colours={**STATUS_COLOURS, "qua-han": OVERDUE_COLOUR})


def render_pdf_bytes(data: ProvinceData, *, template_dir: Path | None = None) -> bytes:
    """The roll-up as a landscape A4 PDF/A-3b (no script)."""
    html = render_html(data, interactive=False, template_dir=template_dir)
    title = ("Tổng hợp an ninh mạng" if data.lang == "vi" else "Cyber-security roll-up") + f" — {data.province}"
    author = data.issuer["name"] or data.generator
    return render_pdf(html, title=title, author=author, as_of=data.as_of, template_dir=template_dir, lang=data.lang)


def render(data: ProvinceData, *, fmt: str, template_dir: Path | None = None) -> bytes:
    """The roll-up in ``fmt`` (pdf or html) from data filled by any source."""
    if fmt == "html":
        return render_html(data, template_dir=template_dir)
    if fmt == "pdf":
        return render_pdf_bytes(data, template_dir=template_dir)
    raise InputError(f"Báo cáo tổng hợp chỉ có dạng pdf hoặc html, không có {fmt}",
                     en=f"the province roll-up is pdf or html, not {fmt}")


def render_province(
    ws: Workspace, library: Library, province: str | None, *, fmt: str, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi", template_dir: Path | None = None,
) -> bytes:
    """The roll-up of the workspace's own assessment in ``fmt``."""
    if fmt not in FORMATS:
        raise InputError(f"Báo cáo tổng hợp chỉ có dạng pdf hoặc html, không có {fmt}",
                         en=f"the province roll-up is pdf or html, not {fmt}")
    data = build_province(ws, library, province, as_of=as_of, profile=profile, lang=lang)
    return render(data, fmt=fmt, template_dir=template_dir)


__all__ = ["COUNT_ORDER", "FORMATS", "OVERDUE_COLOUR", "render", "render_html", "render_province"]
