"""Evidence reports: one data model, one template set, HTML and PDF.

``build_report`` gathers everything a report shows into plain data (no template logic needed
beyond loops); ``render_html`` fills the jinja2 template with autoescaping on; ``render_pdf`` hands
that HTML to weasyprint with a URL fetcher that refuses every fetch, so nothing in an inventory or a
scanned server's banner can make the renderer read a file or open a connection. Formatters return
bytes; the CLI writes them.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from . import assess, inventory, scan, yamlio
from .content import Library, ResolvedProfile
from .errors import RenderError
from .resources import data_dir
from .store import Workspace

SEVERITY_LABELS = {
    "vi": {"nghiem-trong": "Nghiêm trọng", "cao": "Cao", "trung-binh": "Trung bình", "thap": "Thấp"},
    "en": {"nghiem-trong": "Critical", "cao": "High", "trung-binh": "Medium", "thap": "Low"},
}
HOST_STATE_LABELS = {
    "vi": {"up": "Hoạt động", "unknown": "Không xác định"},
    "en": {"up": "Up", "unknown": "Unknown"},
}


@dataclass
class ReportData:
    """Everything one agency report shows."""

    lang: str
    as_of: dt.date
    agency: dict[str, Any]
    profile: dict[str, Any]
    checklists: list[dict[str, Any]]
    systems: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    scans: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    remaining: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    generator: str = ""


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


def build_report(
    ws: Workspace, library: Library, agency_code: str, *, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi",
) -> ReportData:
    """Collect the report's data for ``agency_code`` as of ``as_of`` under ``profile``."""
    from . import __version__

    agency = inventory.get_agency(ws, agency_code)
    assessment = assess.evaluate_agency(ws, library, agency_code, as_of=as_of, profile=profile)
    labels = assess.LABELS[lang]
    by_item: dict[tuple[str, str], list[assess.Result]] = {}
    for res in assessment.system_results:
        by_item.setdefault((res.checklist, res.item), []).append(res)

    checklists = []
    remaining = []
    for cid in assessment.checklists:
        checklist = library.checklist(cid)
        rows = []
        for res in (r for r in assessment.results if r.checklist == cid):
            item = checklist.item(res.item)
            row = {
                "id": item.id, "title": item.title_en if lang == "en" and item.title_en else item.title,
                "short": item.short or item.title, "sub": item.parent is not None,
                "basis": "; ".join(b.cite(library.registry) for b in item.basis),
                "status": res.status.value, "status_label": labels[res.status], "overdue": res.overdue,
                "deadline": res.deadline, "reasons": res.reasons, "scope": item.scope,
                "systems": [
                    {"code": r.system, "status": r.status.value, "status_label": labels[r.status],
                     "reasons": r.reasons}
                    for r in by_item.get((cid, item.id), []) if r.status.value != "khong-ap-dung"
                ],
            }
            rows.append(row)
            if not res.status.met:
                remaining.append({"checklist": cid, "id": item.id, "title": row["title"], "deadline": res.deadline,
                                  "overdue": res.overdue, "status_label": row["status_label"],
                                  "owner": agency.security_contact.name if agency.security_contact else None})
        checklists.append({"id": cid, "title": checklist.title, "document": library.registry[checklist.document]
                           .number if checklist.document in library.registry else checklist.document,
                           "items": rows})

    systems = []
    for system in agency.systems:
        systems.append({
            "code": system.code, "name": system.name, "critical": system.critical,
            "restricted_sector": system.restricted_sector.value, "hosting": system.hosting.value if system.hosting
            else None, "level": system.level.model_dump(mode="json"),
            "hosts": [{"address": h.address, "ports": [p.port for p in h.ports]} for h in system.hosts],
        })

    evidence = list(ws.db.query(
        "select r.original_name, r.kind, r.effective, r.expires, r.item, r.system, r.sha256, e.size"
        " from evidence_refs r join evidence e on e.sha256 = r.sha256 where r.agency = ? and date(r.added_at) <= ?"
        " order by r.effective, r.original_name", [agency_code, as_of.isoformat()]))
    scans = scan.latest_scans(ws, agency_code, as_of)
    for s in scans:
        for h in s["hosts"]:
            h["state_label"] = HOST_STATE_LABELS[lang].get(h["state"], h["state"])
        for f in s["findings"]:
            f["severity_label"] = SEVERITY_LABELS[lang][f["severity"]]
    waivers = list(ws.db.query("select * from waivers where agency = ? order by until", [agency_code]))
    for w in waivers:
        w["active"] = dt.date.fromisoformat(w["until"]) >= as_of
    counts = {
        "systems": len(agency.systems),
        "approved": sum(1 for s in agency.systems if s.level.approved),
        "critical": sum(1 for s in agency.systems if s.critical),
        "findings": sum(len(s["findings"]) for s in scans[:1]),
    }
    data = ReportData(
        lang=lang, as_of=as_of, agency=_nfc(agency.model_dump(mode="json", exclude={"systems"})),
        profile={"id": profile.id, "title": profile.title}, checklists=_nfc(checklists), systems=_nfc(systems),
        evidence=_nfc(evidence), scans=_nfc(scans), waivers=_nfc(waivers), remaining=_nfc(remaining),
        counts=counts, generator=f"secaudit {__version__}",
    )
    return data


def _environment(template_dir: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(data_dir("reports"))))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["vndate"] = _vndate
    return env


def _vndate(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d/%m/%Y")


def render_html(data: ReportData, *, template: str = "agency.html.j2", template_dir: Path | None = None) -> bytes:
    """The report as a self-contained HTML document (CSS inlined, no external resources)."""
    env = _environment(template_dir)
    try:
        css = env.loader.get_source(env, "style.css")[0]  # type: ignore[union-attr]
        strings = yamlio.loads(env.loader.get_source(env, "strings.yaml")[0], "strings.yaml").data  # type: ignore[union-attr]
        html = env.get_template(template).render(r=data, css=css, strings=strings)
    except jinja2.TemplateError as exc:
        raise RenderError(f"Lỗi mẫu báo cáo: {exc}", en=f"report template error: {exc}") from exc
    return unicodedata.normalize("NFC", html).encode("utf-8")


class _NoFetch:
    """A weasyprint URL fetcher that refuses everything and remembers what was asked."""

    def __init__(self) -> None:
        from weasyprint.urls import URLFetcher

        class Fetcher(URLFetcher):
            def fetch(inner, url: str, headers: Any = None) -> Any:  # noqa: N805 - nested on purpose
                self.blocked.append(url)
                raise ValueError(f"secaudit: blocked resource {url[:200]}")

        self.blocked: list[str] = []
        self.fetcher = Fetcher()


def render_pdf(html: bytes, *, title: str, author: str, as_of: dt.date, variant: str | None = None,
               attachments: list[tuple[str, bytes, str]] | None = None) -> bytes:
    """Render HTML to PDF with weasyprint; any attempt to fetch a resource is an error."""
    import weasyprint
    from weasyprint import Attachment

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    guard = _NoFetch()
    doc = weasyprint.HTML(string=html.decode("utf-8"), base_url=None, url_fetcher=guard.fetcher)
    options: dict[str, Any] = {}
    if variant:
        options["pdf_variant"] = variant
    if attachments:
        options["attachments"] = [
            Attachment(string=data, name=name, description=desc, url_fetcher=guard.fetcher)
            for name, data, desc in attachments
        ]
    rendered = doc.render()
    stamp = dt.datetime.combine(as_of, dt.time(0, 0), dt.UTC).isoformat()
    rendered.metadata.title = title
    rendered.metadata.authors = [author]
    rendered.metadata.created = stamp
    rendered.metadata.modified = stamp
    pdf = rendered.write_pdf(**options)
    if guard.blocked:
        raise RenderError(
            f"Báo cáo đã cố tải tài nguyên ngoài: {guard.blocked[:3]}", en="report tried to fetch external resources"
        )
    return bytes(pdf)
