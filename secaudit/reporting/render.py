"""Rendering: the jinja2 environment, HTML pages with inline SVG charts, and PDF/A-3b via weasyprint.

``render_html`` fills a template with autoescaping on; ``render_pdf`` hands that HTML to weasyprint
as PDF/A-3b, embedding the attachments it is given, with a URL fetcher that serves only the report's
own asset folders, so nothing in an inventory or in a scanned server's banner can make the renderer
read a file or open a connection. weasyprint is imported only inside ``render_pdf``. This module
knows nothing of the machine-readable exports: the caller (``documents``) picks the format.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import unicodedata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from secaudit import yamlio
from secaudit.errors import InputError, RenderError
from secaudit.reporting.data import SEVERITIES, STATUS_ORDER, ReportData, version
from secaudit.reporting.province import ProvinceData
from secaudit.requirements.results import LABELS
from secaudit.resources import data_dir
from secaudit.text import visible, visible_html

PDF_VARIANT = "pdf/a-3b"
STATUS_COLOURS = {
    "dat": "#2e7d32", "chua-dat": "#c62828", "loi": "#6a1b9a", "chua-danh-gia": "#ef8f00",
    "mien-tru": "#1565c0", "khong-ap-dung": "#9e9e9e",
}
SEVERITY_COLOURS = {"nghiem-trong": "#7f0000", "cao": "#c62828", "trung-binh": "#ef8f00", "thap": "#9e9d24"}
SVG_FONT = "Liberation Serif, Times New Roman, serif"  # inline SVG does not inherit the page's CSS fonts
#: Files a template folder may serve to the PDF renderer (fonts, stylesheets, images).
ASSET_SUFFIXES = frozenset({".ttf", ".otf", ".woff", ".woff2", ".css", ".svg", ".png", ".jpg", ".jpeg"})


# -- charts -------------------------------------------------------------------------------------
def bar_chart(rows: list[tuple[str, int, str]], *, width: int = 460, bar: int = 16, label_width: int = 170) -> Markup:
    """A small horizontal bar chart as inline SVG (labels escaped; no scripts, no external references)."""
    top = max([v for _, v, _ in rows] + [1])
    gap = 6
    height = len(rows) * (bar + gap) + gap
    room = width - label_width - 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}"'
             f' viewBox="0 0 {width} {height}" role="img" font-family="{SVG_FONT}">']
    for i, (label, value, colour) in enumerate(rows):
        y = gap + i * (bar + gap)
        length = round(room * value / top) if value else 0
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar - 3}" text-anchor="end" font-size="11">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar}" fill="{escape(colour)}"/>'
            f'<text x="{label_width + length + 4}" y="{y + bar - 4}" font-size="11">{int(value)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_chart(rows: list[tuple[str, list[tuple[int, str]]]], *, width: int = 560, bar: int = 16,
                  label_width: int = 250) -> Markup:
    """Horizontal stacked bars (one row per label; segments are (value, colour)) as inline SVG."""
    top = max([sum(v for v, _ in segs) for _, segs in rows] + [1])
    gap = 6
    height = len(rows) * (bar + gap) + gap
    room = width - label_width - 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}"'
             f' viewBox="0 0 {width} {height}" role="img" font-family="{SVG_FONT}">']
    for i, (label, segments) in enumerate(rows):
        y = gap + i * (bar + gap)
        parts.append(f'<text x="{label_width - 6}" y="{y + bar - 4}" text-anchor="end" font-size="11">'
                     f'{escape(label)}</text>')
        x = float(label_width)
        for value, colour in segments:
            if not value:
                continue
            length = room * value / top
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar}" fill="{escape(colour)}"/>'
                         f'<text x="{x + length / 2:.1f}" y="{y + bar - 4}" text-anchor="middle" font-size="10"'
                         f' fill="#fff">{int(value)}</text>')
            x += length
    parts.append("</svg>")
    return Markup("".join(parts))


# -- rendering ----------------------------------------------------------------------------------
def _environment(template_dir: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise InputError(f"Không có thư mục mẫu {template_dir}", en="template folder not found",
                             where=str(template_dir))
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(data_dir("reports"))))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, finalize=_shown,
    )
    env.filters["vndate"] = _vndate
    env.filters["vndatetime"] = _vndatetime
    return env


def _shown(value: Any) -> Any:
    """Every ``{{ … }}`` output: bidi overrides and other invisible characters shown as <U+XXXX>."""
    if isinstance(value, Markup):
        return Markup(visible_html(value))
    return visible(value) if isinstance(value, str) else value


def _vndate(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def _vndatetime(value: Any) -> str:
    """ISO timestamps as dd/mm/yyyy HH:MM:SS UTC (what the scans recorded)."""
    if not value:
        return ""
    stamp = dt.datetime.fromisoformat(str(value))
    suffix = " UTC" if stamp.utcoffset() == dt.timedelta(0) else (stamp.strftime(" %z") if stamp.tzinfo else "")
    return stamp.strftime("%d/%m/%Y %H:%M:%S") + suffix


def _source(env: jinja2.Environment, name: str) -> str:
    return env.loader.get_source(env, name)[0]  # type: ignore[union-attr]


def _labels(env: jinja2.Environment, lang: str) -> tuple[dict[str, Any], dict[str, Any]]:
    strings = yamlio.loads(_source(env, "strings.yaml"), "strings.yaml").data
    if lang not in strings:
        raise RenderError(f"strings.yaml thiếu ngôn ngữ '{lang}'", en=f"strings.yaml has no '{lang}' section")
    labels = {"status": {s.value: text for s, text in LABELS[lang].items()}}
    return strings[lang], labels


def _render(env: jinja2.Environment, template: str, **context: Any) -> bytes:
    try:
        html = env.get_template(template).render(css=_source(env, "style.css"), **context)
    except jinja2.TemplateError as exc:
        raise RenderError(f"Lỗi mẫu báo cáo: {exc}", en=f"report template error: {exc}") from exc
    return unicodedata.normalize("NFC", html).encode("utf-8")


def _prepare(template_dir: Path | None, lang: str) -> tuple[jinja2.Environment, dict[str, Any], dict[str, Any]]:
    env = _environment(template_dir)
    try:
        strings, labels = _labels(env, lang)
    except jinja2.TemplateError as exc:
        raise RenderError(f"Lỗi mẫu báo cáo: {exc}", en=f"report template error: {exc}") from exc
    return env, strings, labels


def render_template(template: str, data: Any, *, lang: str, template_dir: Path | None = None,
                    **context: Any) -> bytes:
    """Render any report template (level sheet, yearly report…) with the shared environment and labels.

    The template sees ``r`` (the data), ``T`` (strings for ``lang``), ``L`` (status labels) and ``css``.
    """
    env, strings, labels = _prepare(template_dir, lang)
    return _render(env, template, r=data, T=strings, L=labels, **context)


def render_html(data: ReportData, *, template: str = "agency.html.j2", template_dir: Path | None = None) -> bytes:
    """The agency report as one self-contained HTML document (CSS and charts inline, no scripts)."""
    env, t, labels = _prepare(template_dir, data.lang)
    statuses = [(labels["status"][s], data.summary["statuses"][s], STATUS_COLOURS[s]) for s in STATUS_ORDER]
    severities = [(t["severity"][s], data.summary["findings_by_severity"][s], SEVERITY_COLOURS[s])
                  for s in SEVERITIES]
    charts = {"statuses": bar_chart(statuses), "severities": bar_chart(severities)}
    return _render(env, template, r=data, T=t, L=labels, charts=charts)


def render_province_html(data: ProvinceData, *, interactive: bool = True, template_dir: Path | None = None) -> bytes:
    """The roll-up page; ``interactive`` adds the inline sort/filter script (never in the PDF path)."""
    env, strings, labels = _prepare(template_dir, data.lang)
    rows = []
    for task, counts in zip(data.tasks, data.totals["per_task"], strict=True):
        rows.append((task["short"], [(counts["met"], STATUS_COLOURS["dat"]), (counts["not_met"], "#ef8f00"),
                                     (counts["overdue"], STATUS_COLOURS["chua-dat"]),
                                     (counts["not_applicable"], STATUS_COLOURS["khong-ap-dung"])]))
    totals = data.totals
    charts = {
        "tasks": stacked_chart(rows),
        "agencies": bar_chart([
            (strings["compliant"], totals["compliant"], STATUS_COLOURS["dat"]),
            (strings["non_compliant"], totals["agencies"] - totals["compliant"], "#ef8f00"),
            (strings["with_overdue"], totals["with_overdue"], STATUS_COLOURS["chua-dat"]),
        ]),
    }
    script = unicodedata.normalize("NFC", _source(env, "province.js")) if interactive else ""
    csp_hash = Markup("'sha256-" + _b64(hashlib.sha256(script.encode("utf-8")).digest()) + "'") if script else ""
    return _render(env, "province.html.j2", p=data, T=strings, L=labels, charts=charts, script=Markup(script),
                   csp_hash=csp_hash, colours=STATUS_COLOURS)


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")


class _AssetFetcher:
    """A weasyprint URL fetcher that serves only files inside the report's asset folders.

    Anything else — ``http(s)://``, ``data:``, ``file://`` outside those folders, or a path that
    escapes them through ``..`` or a symlink — is refused and remembered, and the render then fails.
    """

    def __init__(self, roots: list[Path]) -> None:
        from weasyprint.urls import URLFetcher, URLFetcherResponse

        self.roots = [r.resolve() for r in roots]
        self.blocked: list[str] = []
        outer = self

        class Fetcher(URLFetcher):
            def fetch(self, url: str, headers: Any = None) -> Any:
                path = outer.allowed(url)
                if path is None:
                    outer.blocked.append(url[:200])
                    raise ValueError(f"secaudit: blocked resource {url[:200]}")
                media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": media})

        self.fetcher = Fetcher()

    def allowed(self, url: str) -> Path | None:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query:
            return None
        path = Path(unquote(parts.path)).resolve()
        if path.suffix.lower() not in ASSET_SUFFIXES or not path.is_file():
            return None
        return path if any(path.is_relative_to(root) for root in self.roots) else None


def asset_roots(template_dir: Path | None) -> list[Path]:
    """Folders the PDF renderer may read assets from: the override folder, then the packaged one."""
    return [*([Path(template_dir)] if template_dir else []), data_dir("reports")]


def render_pdf(html: bytes, *, title: str, author: str, as_of: dt.date, variant: str | None = PDF_VARIANT,
               attachments: list[tuple[str, bytes, str, str]] | None = None, template_dir: Path | None = None,
               lang: str = "vi") -> bytes:
    """Render HTML to PDF (PDF/A-3b by default) with fixed metadata; any refused fetch is an error."""
    import weasyprint
    from weasyprint import Attachment

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    roots = asset_roots(template_dir)
    guard = _AssetFetcher(roots)
    stamp = dt.datetime.combine(as_of, dt.time(0, 0), dt.UTC)
    doc = weasyprint.HTML(string=html.decode("utf-8"), base_url=roots[0].resolve().as_uri() + "/",
                          url_fetcher=guard.fetcher)
    options: dict[str, Any] = {}
    if variant:
        options["pdf_variant"] = variant
    if attachments:
        options["attachments"] = [
            Attachment(string=data, name=name, description=desc, url_fetcher=guard.fetcher, created=stamp,
                       modified=stamp, relationship=rel)
            for name, data, desc, rel in attachments
        ]
    rendered = doc.render()
    rendered.metadata.title = title
    rendered.metadata.authors = [author]
    rendered.metadata.created = stamp.isoformat()
    rendered.metadata.modified = stamp.isoformat()
    rendered.metadata.lang = lang
    rendered.metadata.generator = version()
    pdf = rendered.write_pdf(**options)
    if guard.blocked:
        raise RenderError(
            f"Báo cáo đã cố tải tài nguyên ngoài: {guard.blocked[:3]}", en="report tried to fetch external resources"
        )
    return bytes(pdf)

