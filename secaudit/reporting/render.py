"""Rendering: the jinja2 environment, HTML pages with inline SVG charts, and PDF/A-3b via weasyprint.

``render_html`` fills a template with autoescaping on; ``render_pdf`` hands that HTML to weasyprint
as PDF/A-3b, embedding the attachments it is given, with a URL fetcher that serves only the report's
own asset folders, so nothing in an inventory or in a scanned server's banner can make the renderer
read a file or open a connection. weasyprint is imported only inside ``render_pdf``. This module
knows nothing of the machine-readable exports: the caller (``documents``) picks the format.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import mimetypes
import re
import unicodedata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from secaudit import clock, yamlio
from secaudit.errors import InputError, RenderError
from secaudit.reporting.data import SEVERITIES, STATUS_ORDER, ReportData, version
from secaudit.requirements.results import LABELS, local_dates, one_language
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


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # a full or read-only disk costs the next run a compile, not the report
            pass


@functools.cache
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (Jinja's per-user cache folder in the temp directory, mode 0700).

    Compiling the agency report's template takes about as long as building its data; a command that renders
    a report runs in a fresh process, so the compiled code is kept on disk, keyed by the template's name and
    the checksum of its source (an edited or overriding template is compiled anew). Jinja refuses a folder
    that another user owns or can write; then, or when the folder cannot be made, nothing is cached.
    """
    try:
        return _TemplateCache()
    except (OSError, RuntimeError):
        return None


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
        trim_blocks=True, lstrip_blocks=True, finalize=_shown, bytecode_cache=_bytecode_cache(),
    )
    env.filters["vndate"] = vndate
    env.filters["vndatetime"] = vndatetime
    env.filters["balanced"] = balanced
    env.filters["port_runs"] = port_runs
    return env


def _shown(value: Any) -> Any:
    """Every ``{{ … }}`` output: bidi overrides and other invisible characters shown as <U+XXXX>."""
    if isinstance(value, Markup):
        return Markup(visible_html(value))
    return visible(value) if isinstance(value, str) else value


def vndate(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def port_runs(ports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Open ports for display, consecutive ports with the same service and nothing observed in one run.

    ``8000/tcp http nginx 1.18; 8001/tcp http nginx 1.18; …`` reads ``8000–8009/tcp http nginx 1.18``.
    """
    runs: list[dict[str, Any]] = []
    for p in ports:
        what = tuple(p.get(k) for k in ("protocol", "service", "tunnel", "product", "version"))
        last = runs[-1] if runs else None
        if (last is not None and not p.get("observed") and not last["observed"] and last["what"] == what
                and p["port"] == last["last"] + 1):
            last["last"] = p["port"]
        else:
            runs.append({**p, "what": what, "first": p["port"], "last": p["port"]})
    for run in runs:
        run["label"] = str(run["first"]) if run["first"] == run["last"] else f"{run['first']}–{run['last']}"
    return runs


def vndatetime(value: Any) -> str:
    """ISO timestamps (stored in UTC) as dd/mm/yyyy HH:MM in Vietnam local time, the time readers live in."""
    if not value:
        return ""
    stamp = dt.datetime.fromisoformat(str(value))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(clock.VIETNAM).strftime("%d/%m/%Y %H:%M")


# -- one Vietnamese text for readers ------------------------------------------------------------------
#: Old-style tone placement ("hoá", "thuỷ") in the style the NĐ 30/2020 texts use ("hóa", "thủy").
_TONE_MOVES = {"oá": "óa", "oà": "òa", "oả": "ỏa", "oã": "õa", "oạ": "ọa", "oé": "óe", "oè": "òe", "oẻ": "ỏe",
               "oẽ": "õe", "oẹ": "ọe", "uý": "úy", "uỳ": "ùy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy"}
_OLD_TONE = re.compile(r"(?<![qQ])(" + "|".join(_TONE_MOVES) + r")(?!\w)", re.IGNORECASE)
_FIELD = re.compile(r"\b(?:system|agency|host)\.([a-z_]+)\b")
_RAW_ID = re.compile(r"\s*\((?:[a-z0-9]+-)+[a-z0-9]+\)")  # "(nd85-cd3-ha-tang)": a rule's id, not for readers
_SOURCE_TAIL = re.compile(r";\s*nguồn thứ cấp:.*$", re.S)
_SUB_ITEM = re.compile(r"(mục con) ([a-z0-9][a-z0-9.\-]*)")


def spelling(text: str) -> str:
    """Vietnamese text in one tone-placement convention: "hóa", "khóa", "thủy" (as in NĐ 30/2020)."""
    def move(m: re.Match[str]) -> str:
        found = m.group(1)
        new = _TONE_MOVES[found.lower()]
        return "".join(n.upper() if o.isupper() else n for o, n in zip(found, new, strict=True))

    return _OLD_TONE.sub(move, unicodedata.normalize("NFC", text))


def reason_text(text: str, t: dict[str, Any], names: dict[str, Any], lang: str) -> str:
    """An evaluator's reason as a reader's sentence: one language, names instead of codes, local dates.

    The evaluator writes "Vietnamese / English" pairs and names systems, items and inventory fields by
    their codes; a Vietnamese report keeps the Vietnamese half and says what each code stands for.
    """
    text = one_language(text, lang)
    if lang == "vi":
        fields = t["ar"]["field"]
        text = _FIELD.sub(lambda m: fields.get(m.group(1), fields["other"]), text)
        text = _SOURCE_TAIL.sub("", _RAW_ID.sub("", text))
    items = {key.split(":", 1)[1]: short for key, short in names.get("items", {}).items()}
    text = _SUB_ITEM.sub(lambda m: f"{m.group(1)} “{items[m.group(2)]}”" if m.group(2) in items else m.group(0), text)
    for code, label in names.get("checklists", {}).items():
        text = re.sub(rf"(?<![\w.-]){re.escape(code)}(?![\w-])", label, text)
    for code, name in names.get("systems", {}).items():
        text = re.sub(rf"(?<![\w.-]){re.escape(code)}(?![\w-])", f"“{name}”" if lang == "vi" else name, text)
    return local_dates(text)


def balanced(name: str, width: int = 26) -> Markup:
    """An agency name for the header, split between words near its middle when it needs two lines."""
    words = str(name).split()
    if len(name) <= width or len(words) < 2:
        return Markup(escape(name))
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return Markup(escape(" ".join(words[:best])) + Markup("<br>") + escape(" ".join(words[best:])))


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


def prepare_env(template_dir: Path | None, lang: str) -> tuple[jinja2.Environment, dict[str, Any], dict[str, Any]]:
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
    env, strings, labels = prepare_env(template_dir, lang)
    return _render(env, template, r=data, T=strings, L=labels, **context)


def agency_context(data: ReportData, t: dict[str, Any]) -> dict[str, Any]:
    """What the agency report's layouts (HTML and Word) read beside the data: the body's words and helpers."""
    from secaudit.reporting.narrative import build_body
    from secaudit.requirements.content import EVIDENCE_KINDS

    index = 1 if data.lang == "en" else 0
    return {
        "B": build_body(data, t, vndate=vndate),
        "say": lambda text: reason_text(text, t, data.names, data.lang),
        "kinds": {code: pair[index] for code, pair in EVIDENCE_KINDS.items()},
    }


def render_html(data: ReportData, *, template: str = "agency.html.j2", template_dir: Path | None = None) -> bytes:
    """The agency report as one self-contained HTML document (CSS and charts inline, no scripts)."""
    env, t, labels = prepare_env(template_dir, data.lang)
    statuses = [(labels["status"][s], data.summary["statuses"][s], STATUS_COLOURS[s]) for s in STATUS_ORDER]
    severities = [(t["severity"][s], data.summary["findings_by_severity"][s], SEVERITY_COLOURS[s])
                  for s in SEVERITIES]
    charts = {"statuses": bar_chart(statuses), "severities": bar_chart(severities)}
    html = _render(env, template, r=data, T=t, L=labels, charts=charts, **agency_context(data, t))
    return spelling(html.decode("utf-8")).encode("utf-8") if data.lang == "vi" else html


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

