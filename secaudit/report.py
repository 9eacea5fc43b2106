"""Evidence reports: one data model, one template set, five formats.

``build_report`` gathers everything an agency report shows into plain, language-neutral data
(statuses as codes, dates as ISO text, lists in a fixed order), so the jinja2 templates only display
it and every export (XLSX, JSON, OSCAL in ``secaudit.exports``) reads the same facts. ``build_province``
does the same for the province roll-up. ``render_html`` fills a template with autoescaping on;
``render_pdf`` hands that HTML to weasyprint as PDF/A-3b, embedding the evidence manifest and the raw
scan XML, with a URL fetcher that serves only the report's own asset folders, so nothing in an
inventory or in a scanned server's banner can make the renderer read a file or open a connection.
Formatters return bytes; the CLI writes them. The same workspace and as-of date give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from . import assess, inventory, scan, yamlio
from .content import Library, ResolvedProfile
from .errors import InputError, NotFoundError, RenderError
from .models import DossierState
from .resources import data_dir
from .store import Workspace
from .text import visible, visible_html

FORMATS = ("pdf", "html", "xlsx", "json", "oscal")
PROVINCE_FORMATS = ("pdf", "html")
LANGS = ("vi", "en")
PDF_VARIANT = "pdf/a-3b"
#: The checklist whose top-level tasks form the columns of the province matrix.
MATRIX_CHECKLIST = "kh04-bcdtw"
SEVERITIES = ("nghiem-trong", "cao", "trung-binh", "thap")
#: Display order of statuses: what needs attention first.
STATUS_ORDER = ("chua-dat", "loi", "chua-danh-gia", "mien-tru", "dat", "khong-ap-dung")
STATUS_COLOURS = {
    "dat": "#2e7d32", "chua-dat": "#c62828", "loi": "#6a1b9a", "chua-danh-gia": "#ef8f00",
    "mien-tru": "#1565c0", "khong-ap-dung": "#9e9e9e",
}
SEVERITY_COLOURS = {"nghiem-trong": "#7f0000", "cao": "#c62828", "trung-binh": "#ef8f00", "thap": "#9e9d24"}
#: NSE script outputs worth showing in the report (always as escaped text, shortened).
OBSERVED_SCRIPTS = ("http-title", "http-server-header", "banner", "http-headers")
MAX_OBSERVATION = 240
SVG_FONT = "Liberation Serif, Times New Roman, serif"  # inline SVG does not inherit the page's CSS fonts
#: Files a template folder may serve to the PDF renderer (fonts, stylesheets, images).
ASSET_SUFFIXES = frozenset({".ttf", ".otf", ".woff", ".woff2", ".css", ".svg", ".png", ".jpg", ".jpeg"})
MANIFEST_NAME = "evidence-manifest.json"
MANIFEST_SCHEMA = "secaudit.evidence-manifest/1"

_log = logging.getLogger(__name__)


@dataclass
class ReportData:
    """Everything one agency report shows, language-neutral apart from titles (see docs/report-json.md)."""

    lang: str
    as_of: dt.date
    generator: str
    agency: dict[str, Any]
    profile: dict[str, Any]
    summary: dict[str, Any]
    checklists: list[dict[str, Any]]
    systems: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    scans: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    waivers: list[dict[str, Any]]
    remaining: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    manifest_sha256: str = ""
    evidence_register: list[dict[str, Any]] = field(default_factory=list)  # section V.1: one row per stored file


@dataclass
class ProvinceData:
    """The province roll-up: agencies × KH 04 tasks, worst first, with totals."""

    lang: str
    as_of: dt.date
    generator: str
    province: str
    profile: dict[str, Any]
    issuer: dict[str, Any]
    tasks: list[dict[str, Any]]
    agencies: list[dict[str, Any]]
    totals: dict[str, Any]


# -- helpers ------------------------------------------------------------------------------------
def _nfc(value: Any) -> Any:
    """NFC-normalise every string in a nested structure (inventories arrive in NFC and NFD alike)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    return value


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise InputError(f"Ngôn ngữ không hỗ trợ: {lang}", en=f"unsupported language {lang!r} (vi, en)")


def _version() -> str:
    from . import __version__

    return f"secaudit {__version__}"


def _suggest_level(system: Any, as_of: dt.date, lang: str) -> dict[str, Any] | None:
    """The level the rules give for ``system`` (``secaudit.levels``), with the review flags of its approval.

    The levels module is optional for the report: without it the report shows the proposed and
    approved levels only and says that no level was computed.
    """
    try:
        from . import levels
    except ImportError:
        return None
    suggestion = levels.suggest(levels.facts_of(system), as_of=as_of)
    en = lang == "en"
    reasons = [f"{(c.rule.title_en if en and c.rule.title_en else c.rule.title)} ({suggestion.book.cite(c.rule.ref)})"
               + (" — chưa kiểm chứng / unverified" if c.rule.unverified else "")
               for c in suggestion.deciding]
    flags = [f.en if en else f.message for f in levels.review(system, suggestion, as_of=as_of)]
    return {"level": suggestion.level, "ceiling": suggestion.ceiling, "range": suggestion.range_text(),
            "certain": suggestion.certain, "rules": suggestion.book.id, "reasons": reasons, "flags": flags}


# -- the agency report --------------------------------------------------------------------------
def build_report(
    ws: Workspace, library: Library, agency_code: str, *, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi",
) -> ReportData:
    """Collect the report's data for ``agency_code`` as of ``as_of`` under ``profile``."""
    _check_lang(lang)
    agency = inventory.get_agency(ws, agency_code)
    assessment = assess.evaluate_agency(ws, library, agency_code, as_of=as_of, profile=profile)
    per_item: dict[tuple[str, str], list[assess.Result]] = {}
    per_system: dict[str, list[assess.Result]] = {}
    for res in assessment.system_results:
        per_item.setdefault((res.checklist, res.item), []).append(res)
        per_system.setdefault(res.system or "", []).append(res)
    operators = {s.code: s.operator or s.owner for s in agency.systems}
    contact = agency.security_contact.name if agency.security_contact else None

    checklists: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    remaining: list[dict[str, Any]] = []
    status_counts = dict.fromkeys(STATUS_ORDER, 0)
    for cid in assessment.checklists:
        checklist = library.checklist(cid)
        rows = []
        for res in (r for r in assessment.results if r.checklist == cid):
            item = checklist.item(res.item)
            title = item.title_en if lang == "en" and item.title_en else item.title
            short = item.short or title
            row = {
                "id": item.id, "parent": item.parent, "title": title, "short": short, "scope": item.scope,
                "basis": [b.cite(library.registry) for b in item.basis], "status": res.status.value,
                "overdue": res.overdue, "deadline": _iso(res.deadline), "reasons": list(res.reasons),
                "systems": [
                    {"code": r.system, "status": r.status.value, "overdue": r.overdue, "reasons": list(r.reasons)}
                    for r in per_item.get((cid, item.id), []) if r.status is not assess.Status.NOT_APPLICABLE
                ],
            }
            rows.append(row)
            status_counts[res.status.value] += 1
            if item.parent is None:
                tasks.append({"checklist": cid, "id": item.id, "short": short, "status": res.status.value,
                              "deadline": _iso(res.deadline), "overdue": res.overdue})
            if checklist.children(item.id):
                continue  # the leaves say what remains; a parent only rolls them up
            if item.scope == "system":
                for part in per_item.get((cid, item.id), []):
                    if not part.status.met or part.overdue:
                        remaining.append(_remaining(cid, item.id, short, part, operators.get(part.system or "")
                                                    or contact))
            elif not res.status.met or res.overdue:
                remaining.append(_remaining(cid, item.id, short, res, contact))
        document = library.registry.get(checklist.document)
        checklists.append({
            "id": cid, "title": checklist.title_en if lang == "en" and checklist.title_en else checklist.title,
            "document": document.number if document else checklist.document,
            "document_kind": document.kind if document else None,
            "document_date": _iso(document.date) if document else None, "items": rows,
        })
    remaining.sort(key=lambda r: (not r["overdue"], r["deadline"] or "9999-12-31", r["checklist"], r["id"],
                                  r["system"] or ""))

    shorts = {(c["id"], it["id"]): it["short"] for c in checklists for it in c["items"]}
    scans_all = scan.latest_scans(ws, agency_code, as_of)
    current = _current_scans(ws, agency_code, [s.code for s in agency.systems], as_of)
    findings = _open_findings(ws, current)
    systems = []
    for system in agency.systems:
        results = [
            {"checklist": r.checklist, "item": r.item, "short": shorts.get((r.checklist, r.item), r.item),
             "status": r.status.value, "overdue": r.overdue,
             "deadline": _iso(r.deadline), "reasons": list(r.reasons)}
            for r in per_system.get(system.code, []) if r.status is not assess.Status.NOT_APPLICABLE
        ]
        systems.append({
            "code": system.code, "name": system.name, "purpose": system.purpose, "sector": system.sector,
            "owner": system.owner, "operator": system.operator, "critical": system.critical,
            "restricted_sector": system.restricted_sector.value, "admin_procedures": system.admin_procedures,
            "online_service": system.online_service, "users": system.users,
            "data_subjects_basic": system.data_subjects_basic,
            "data_subjects_sensitive": system.data_subjects_sensitive,
            "infrastructure_scope": system.infrastructure_scope.value if system.infrastructure_scope else None,
            "hosting": system.hosting.value if system.hosting else None, "go_live": _iso(system.go_live),
            "level": system.level.model_dump(mode="json"),
            "suggested_level": _suggest_level(system, as_of, lang),
            "hosts": [{"address": h.address, "ports": [p.port for p in h.ports], "public_web": h.public_web}
                      for h in system.hosts],
            "scan_id": current[system.code][0] if system.code in current else None,
            "results": results,
            "not_applicable": sum(1 for r in per_system.get(system.code, [])
                                  if r.status is assess.Status.NOT_APPLICABLE),
        })

    scans = []
    current_ids = {scan_id for ids in current.values() for scan_id in ids}
    for s in sorted(scans_all, key=lambda s: (s["started"], s["id"])):
        scans.append({
            "id": s["id"], "system": s["system"] or None, "profile": s["profile"], "status": s["status"],
            "started": s["started"], "finished": s["finished"], "argv": s["argv"], "nmap_version": s["nmap_version"],
            "operator": s["operator"], "xml_sha256": s["xml_sha256"], "error": s["error"],
            "current": s["id"] in current_ids,
            "hosts": _scan_hosts(ws, s["id"]) if s["id"] in current_ids else [],
        })
    evidence = [dict(r) for r in ws.db.query(
        "select r.original_name, r.kind, r.checklist, r.item, r.system, r.effective, r.expires, r.sha256, e.size,"
        " e.media_type, r.added_at, r.actor from evidence_refs r join evidence e on e.sha256 = r.sha256"
        " where r.agency = ? and (r.effective is null or r.effective <= ?) order by r.effective, r.original_name, r.id",
        [agency_code, as_of.isoformat()])]
    for e in evidence:
        e["system"] = e["system"] or None
        e["checklist"] = e["checklist"] or None
        e["item"] = e["item"] or None
    register = _evidence_register(ws, agency_code, evidence)
    waivers = [
        {"checklist": w["checklist"], "item": w["item"], "system": w["system"] or None, "reason": w["reason"],
         "approved_by": w["approved_by"], "until": w["until"], "created_at": w["created_at"],
         "active": dt.date.fromisoformat(w["until"]) >= as_of}
        for w in ws.db.query("select * from waivers where agency = ? order by until, checklist, item, id",
                             [agency_code])
    ]

    severities = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        severities[f["severity"]] = severities.get(f["severity"], 0) + 1
    summary = {
        "tasks": tasks, "statuses": status_counts, "levels": _level_table(agency.systems),
        "findings_by_severity": severities,
    }
    counts = {
        "systems": len(agency.systems),
        "critical": sum(1 for s in agency.systems if s.critical),
        "approved": sum(1 for s in agency.systems if s.level.approved),
        "findings": len(findings),
        "evidence": len(register),
        "scans": len(scans),
        "overdue_tasks": sum(1 for t in tasks if t["overdue"]),
        "remaining": len(remaining),
    }
    data = ReportData(
        lang=lang, as_of=as_of, generator=_version(),
        agency=_nfc(agency.model_dump(mode="json", exclude={"systems"})),
        profile={"id": profile.id, "title": profile.title}, summary=_nfc(summary), checklists=_nfc(checklists),
        systems=_nfc(systems), findings=_nfc(findings), scans=_nfc(scans), evidence=_nfc(evidence),
        waivers=_nfc(waivers), remaining=_nfc(remaining), counts=counts, evidence_register=_nfc(register),
    )
    data.manifest_sha256 = hashlib.sha256(manifest_json(data)).hexdigest()
    return data


def _evidence_register(ws: Workspace, agency: str, evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each stored file once, with every requirement it backs, whatever kind it was given.

    Only the references the scanner itself files for its nmap XML are left out (section V.2 lists
    those scans); a scan result a person attached is a document like any other.
    """
    scan_xml = {r[0] for r in ws.db.execute(
        "select xml_sha256 from scans where agency = ? and xml_sha256 is not null", [agency]).fetchall()}
    files: dict[str, dict[str, Any]] = {}
    for e in evidence:
        if e["item"] is None and e["kind"] == "ket-qua-quet" and e["sha256"] in scan_xml:
            continue
        row = files.setdefault(e["sha256"], {
            "sha256": e["sha256"], "size": e["size"], "media_type": e["media_type"], "names": [], "kinds": [],
            "backs": [], "systems": [], "effective": e["effective"], "expires": [],
        })
        for key, value in (("names", e["original_name"]), ("kinds", e["kind"]), ("systems", e["system"]),
                           ("expires", e["expires"])):
            if value not in row[key]:
                row[key].append(value)
        if e["item"] is not None:
            backs = {"checklist": e["checklist"], "item": e["item"], "system": e["system"]}
            if backs not in row["backs"]:
                row["backs"].append(backs)
        if e["effective"] and (row["effective"] is None or e["effective"] < row["effective"]):
            row["effective"] = e["effective"]
    for row in files.values():
        row["systems"] = [s for s in row["systems"] if s]
        # a file stops counting only when every reference to it has expired
        row["expires"] = None if None in row["expires"] else max(row["expires"], default=None)
    return list(files.values())


def _remaining(checklist: str, item: str, short: str, res: assess.Result, owner: str | None) -> dict[str, Any]:
    return {"checklist": checklist, "id": item, "short": short, "system": res.system, "status": res.status.value,
            "deadline": _iso(res.deadline), "overdue": res.overdue, "owner": owner,
            "reason": res.reasons[0] if res.reasons else None}


def _level_table(systems: list[Any]) -> list[dict[str, Any]]:
    """Systems counted by level (approved, else proposed) and by where the level dossier stands."""
    rows = []
    for level in (1, 2, 3, 4, 5, None):
        row: dict[str, Any] = {"level": level, "total": 0, **{state.value: 0 for state in DossierState}}
        for system in systems:
            if (system.level.approved or system.level.proposed) == level:
                row["total"] += 1
                row[system.level.dossier_state.value] += 1
        rows.append(row)
    return rows


def _current_scans(ws: Workspace, agency: str, systems: list[str], as_of: dt.date) -> dict[str, list[int]]:
    """For each system, the scans of the newest scan command on or before ``as_of`` that covered it.

    The same choice as the assessment makes (``assess.latest_scan``), so the report shows the
    observations the statuses were judged on.
    """
    out: dict[str, list[int]] = {}
    for code in systems:
        latest = assess.latest_scan(ws, agency, code, as_of)
        if latest is not None:
            out[code] = list(latest["ids"])
    return out


def _open_findings(ws: Workspace, current: dict[str, list[int]]) -> list[dict[str, Any]]:
    """One row per problem (system, host, port, rule), listing every requirement it bears on.

    The store keeps one ``findings`` row per requirement; counting those would count one open
    port once for each requirement it touches.
    """
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for code, scan_ids in current.items():
        marks = ",".join("?" * len(scan_ids))
        for f in ws.db.query(
            "select scan_id, system, address, port, rule, severity, checklist, item, title, detail from findings"
            f" where scan_id in ({marks}) and system = ? order by id", [*scan_ids, code]):
            ref = f"{f.pop('checklist')}:{f.pop('item')}"
            row = merged.setdefault((f["system"], f["address"], f["port"], f["rule"]), {**f, "bears_on": []})
            if ref not in row["bears_on"]:
                row["bears_on"].append(ref)
    rows = list(merged.values())
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows.sort(key=lambda f: (rank.get(f["severity"], 9), f["system"], f["address"], f["port"] or 0, f["rule"]))
    return rows


def _scan_hosts(ws: Workspace, scan_id: int) -> list[dict[str, Any]]:
    hosts = []
    for h in ws.db.query("select id, system, address, state, reason from scan_hosts where scan_id = ? order by id",
                         [scan_id]):
        ports = []
        for p in ws.db.query(
            "select port, protocol, service, product, version, tunnel, scripts from scan_ports"
            " where scan_host_id = ? and state = 'open' order by port, protocol", [h["id"]]):
            scripts = json.loads(p.pop("scripts") or "{}")
            p["observed"] = [
                {"script": name, "output": _shorten(str(scripts[name].get("output") or ""))}
                for name in OBSERVED_SCRIPTS if name in scripts
            ]
            ports.append(p)
        hosts.append({"system": h["system"], "address": h["address"], "state": h["state"], "reason": h["reason"],
                      "open_ports": ports})
    return hosts


_NMAP_ESCAPES = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+")
_CONTROL = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")


def _shorten(text: str) -> str:
    """Script output for display: nmap's ``\\xNN`` byte escapes decoded as UTF-8, controls dropped, one line."""
    text = _NMAP_ESCAPES.sub(lambda m: bytes.fromhex(m.group(0).replace("\\x", "")).decode("utf-8", "replace"), text)
    text = " ".join(_CONTROL.sub("", text).split())
    return text if len(text) <= MAX_OBSERVATION else text[: MAX_OBSERVATION - 1] + "…"


# -- evidence manifest and PDF attachments -------------------------------------------------------
def manifest_document(data: ReportData) -> dict[str, Any]:
    """The evidence manifest embedded in the PDF: every file and scan the report relies on, by SHA-256."""
    return {
        "schema": MANIFEST_SCHEMA,
        "generator": data.generator,
        "agency": {"code": data.agency["code"], "name": data.agency["name"]},
        "as_of": data.as_of.isoformat(),
        "profile": data.profile["id"],
        "attachments": [
            {"name": _scan_attachment_name(s), "scan_id": s["id"], "sha256": s["xml_sha256"],
             "media_type": "application/xml"}
            for s in data.scans if s["xml_sha256"]
        ],
        "evidence": [
            {k: e[k] for k in ("original_name", "kind", "checklist", "item", "system", "effective", "expires",
                               "sha256", "size", "media_type")}
            for e in data.evidence
        ],
        "scans": [
            {k: s[k] for k in ("id", "system", "profile", "status", "started", "finished", "argv", "nmap_version",
                               "operator", "xml_sha256")}
            for s in data.scans
        ],
        "waivers": [
            {k: w[k] for k in ("checklist", "item", "system", "reason", "approved_by", "until")} for w in data.waivers
        ],
    }


def manifest_json(data: ReportData) -> bytes:
    """The manifest as canonical JSON bytes (its SHA-256 is printed in the report)."""
    return (json.dumps(manifest_document(data), ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def _scan_attachment_name(s: dict[str, Any]) -> str:
    return f"scan-{s['id']}.xml"


def pdf_attachments(ws: Workspace, data: ReportData) -> list[tuple[str, bytes, str, str]]:
    """(name, bytes, description, relationship) for the PDF: the manifest, then each scan's raw XML.

    Every blob is read back from the evidence store and re-hashed: a store whose file no longer matches
    its name is reported instead of being embedded as if it were the evidence.
    """
    items = [(MANIFEST_NAME, manifest_json(data), "Evidence manifest (JSON): files, scans, waivers, SHA-256",
              "Data")]
    for s in data.scans:
        digest = s["xml_sha256"]
        if not digest:
            continue
        blob = ws.read_blob(digest)
        if hashlib.sha256(blob).hexdigest() != digest:
            raise RenderError(
                f"Tệp kết quả quét #{s['id']} trong kho minh chứng không khớp mã SHA-256 {digest}",
                en=f"scan #{s['id']} XML in the evidence store does not match its SHA-256",
            )
        items.append((_scan_attachment_name(s), blob, f"Raw nmap XML of scan #{s['id']} (SHA-256 {digest})",
                      "Source"))
    return items


# -- the province roll-up -----------------------------------------------------------------------
def provinces(ws: Workspace) -> list[str]:
    """Province names present in the workspace, sorted."""
    return sorted({unicodedata.normalize("NFC", r[0]) for r in ws.db.execute("select province from agencies")})


def build_province(
    ws: Workspace, library: Library, province: str | None, *, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi",
) -> ProvinceData:
    """Evaluate every agency of ``province`` (all agencies when ``None``) for the roll-up matrix."""
    _check_lang(lang)
    known = provinces(ws)
    if province is not None:
        wanted = unicodedata.normalize("NFC", province).strip().casefold()
        match = [p for p in known if p.casefold() == wanted]
        if not match:
            raise NotFoundError(
                f"Không có cơ quan nào thuộc tỉnh '{province}' (có: {', '.join(known) or 'không có'})",
                en=f"no agency in province '{province}' (known: {', '.join(known) or 'none'})",
            )
        selected = match
    else:
        selected = known
    if not selected:
        raise NotFoundError("Workspace chưa có cơ quan nào", en="the workspace has no agencies")
    codes = [r[0] for r in ws.db.execute(
        f"select code from agencies where province in ({','.join('?' * len(selected))}) order by position, code",
        selected)]
    if MATRIX_CHECKLIST not in profile.checklists:
        raise InputError(f"Hồ sơ '{profile.id}' không gồm {MATRIX_CHECKLIST}",
                         en=f"profile '{profile.id}' does not include {MATRIX_CHECKLIST}")
    checklist = library.checklist(MATRIX_CHECKLIST)
    columns = [i for i in checklist.items if i.parent is None and f"{MATRIX_CHECKLIST}:{i.id}" not in profile.excluded]
    tasks: list[dict[str, Any]] = [{"id": i.id, "short": i.short or i.title, "deadline": _iso(i.deadline),
                                    "title": i.title_en if lang == "en" and i.title_en else i.title} for i in columns]

    agencies = []
    issuer: dict[str, Any] | None = None
    for code in codes:
        agency = inventory.get_agency(ws, code)
        assessment = assess.evaluate_agency(ws, library, code, as_of=as_of, profile=profile)
        by_id = {r.item: r for r in assessment.results if r.checklist == MATRIX_CHECKLIST}
        cells: list[dict[str, Any]] = []
        for task in tasks:
            res = by_id.get(task["id"])
            cells.append({"status": res.status.value, "overdue": res.overdue, "weight": _weight(res)} if res else
                         {"status": None, "overdue": False, "weight": 1})
        current = _current_scans(ws, code, [s.code for s in agency.systems], as_of)
        severities = dict.fromkeys(SEVERITIES, 0)
        for f in _open_findings(ws, current):
            severities[f["severity"]] = severities.get(f["severity"], 0) + 1
        overdue = sum(1 for c in cells if c["overdue"])
        not_met = sum(1 for c in cells if c["status"] is not None
                      and not assess.Status(c["status"]).met)
        agencies.append({
            "code": code, "name": agency.name, "kind": agency.kind.value, "systems": len(agency.systems),
            "critical": sum(1 for s in agency.systems if s.critical),
            "approved": sum(1 for s in agency.systems if s.level.approved),
            "cells": cells, "overdue": overdue, "not_met": not_met, "met": not_met == 0,
            "findings": severities, "open_findings": sum(severities.values()),
            "contact": agency.security_contact.name if agency.security_contact else None,
        })
        if issuer is None and agency.kind.value == "cong-an":
            issuer = agency.model_dump(mode="json", exclude={"systems"})
    agencies.sort(key=lambda a: (-a["overdue"], a["met"], -a["not_met"], -a["open_findings"], a["name"], a["code"]))
    for rank, a in enumerate(agencies, 1):
        a["rank"] = rank

    per_task = []
    for i, task in enumerate(tasks):
        counts = {"met": 0, "not_met": 0, "overdue": 0, "not_applicable": 0}
        for a in agencies:
            cell = a["cells"][i]
            if cell["status"] == "khong-ap-dung":
                counts["not_applicable"] += 1
            elif cell["overdue"]:
                counts["overdue"] += 1
            elif cell["status"] is not None and assess.Status(cell["status"]).met:
                counts["met"] += 1
            else:
                counts["not_met"] += 1
        per_task.append({"id": task["id"], **counts})
    totals = {
        "agencies": len(agencies), "compliant": sum(1 for a in agencies if a["met"]),
        "with_overdue": sum(1 for a in agencies if a["overdue"]),
        "systems": sum(a["systems"] for a in agencies), "critical": sum(a["critical"] for a in agencies),
        "approved": sum(a["approved"] for a in agencies),
        "findings": {s: sum(a["findings"][s] for a in agencies) for s in SEVERITIES},
        "per_task": per_task,
    }
    name = ", ".join(selected)
    if issuer is None:
        issuer = {"name": f"Tỉnh {name}" if lang == "vi" else f"{name} province", "parent": None, "place": None,
                  "province": selected[0], "symbol": None, "signer": None, "recipients": []}
    return ProvinceData(
        lang=lang, as_of=as_of, generator=_version(), province=_nfc(name),
        profile={"id": profile.id, "title": profile.title}, issuer=_nfc(issuer), tasks=_nfc(tasks),
        agencies=_nfc(agencies), totals=totals,
    )


def _weight(res: assess.Result) -> int:
    """Sort key of a matrix cell: overdue 3, not met 2, not yet decided 1, met or not applicable 0."""
    if res.overdue:
        return 3
    if res.status.met:
        return 0
    return 2 if res.status is assess.Status.FAIL else 1


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
    labels = {"status": {s.value: text for s, text in assess.LABELS[lang].items()}}
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
    rendered.metadata.generator = _version()
    pdf = rendered.write_pdf(**options)
    if guard.blocked:
        raise RenderError(
            f"Báo cáo đã cố tải tài nguyên ngoài: {guard.blocked[:3]}", en="report tried to fetch external resources"
        )
    return bytes(pdf)


# -- entry points for the CLI -------------------------------------------------------------------
def render_agency(
    ws: Workspace, library: Library, agency: str, *, fmt: str, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi", template_dir: Path | None = None,
) -> bytes:
    """The agency report in ``fmt`` (pdf, html, xlsx, json, oscal), as bytes."""
    if fmt not in FORMATS:
        raise InputError(f"Định dạng không hỗ trợ: {fmt}", en=f"unsupported format {fmt!r}")
    data = build_report(ws, library, agency, as_of=as_of, profile=profile, lang=lang)
    if fmt in ("xlsx", "json", "oscal"):
        from . import exports

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
