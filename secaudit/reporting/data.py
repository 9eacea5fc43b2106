"""The agency report's data: one language-neutral model that every format reads.

``build_report`` gathers everything an agency report shows into plain data (statuses as codes,
dates as ISO text, lists in a fixed order), so the jinja2 templates only display it and every export
(XLSX, JSON, OSCAL in ``secaudit.reporting.exports``) reads the same facts. The evidence manifest
embedded in the PDF is built from the same data. The same workspace and as-of date give the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from secaudit.errors import InputError, RenderError
from secaudit.inventory import records as inventory
from secaudit.inventory.models import DossierState
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.requirements.evaluate import latest_scan
from secaudit.requirements.results import Result, Status
from secaudit.scanning import history as scan
from secaudit.store.workspace import Workspace, split_refs

LANGS = ("vi", "en")
SEVERITIES = ("nghiem-trong", "cao", "trung-binh", "thap")
#: Display order of statuses: what needs attention first.
STATUS_ORDER = ("chua-dat", "loi", "chua-danh-gia", "mien-tru", "dat", "khong-ap-dung")
#: NSE script outputs worth showing in the report (always as escaped text, shortened).
OBSERVED_SCRIPTS = ("http-title", "http-server-header", "banner", "http-headers")
MAX_OBSERVATION = 240
MANIFEST_NAME = "evidence-manifest.json"
MANIFEST_SCHEMA = "secaudit.evidence-manifest/1"


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
    evidence_register: list[dict[str, Any]] = field(default_factory=list)  # Annex II: one row per stored file
    #: What the signed document shows beyond the facts above (``annex_model``): names for codes, the
    #: Annex I rows per system, the body's per-system shortcomings, distinct scan problems.
    names: dict[str, Any] = field(default_factory=dict)
    annex: dict[str, Any] = field(default_factory=dict)
    #: Texts the officer wrote for this report period (``narrative``), by section.
    notes: dict[str, str] = field(default_factory=dict)
    #: Whether the PDF carries the evidence documents themselves (``--no-embed-evidence`` turns it off).
    embed_evidence: bool = True



# -- helpers ------------------------------------------------------------------------------------
def nfc(value: Any) -> Any:
    """NFC-normalise every string in a nested structure (inventories arrive in NFC and NFD alike)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc(v) for v in value]
    return value


def iso(value: dt.date | None) -> str | None:
    """A date as ISO text for the data (None stays None)."""
    return value.isoformat() if value else None


def check_lang(lang: str) -> None:
    """Refuse a report language the templates have no strings for."""
    if lang not in LANGS:
        raise InputError(f"Ngôn ngữ không hỗ trợ: {lang}", en=f"unsupported language {lang!r} (vi, en)")


def version() -> str:
    """The generator named in every document and its metadata."""
    from secaudit import __version__

    return f"secaudit {__version__}"


def _suggest_level(system: Any, as_of: dt.date, lang: str) -> dict[str, Any] | None:
    """The level the rules give for ``system`` (``secaudit.levels``), with the review flags of its approval."""
    from secaudit import levels

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
    check_lang(lang)
    agency = inventory.get_agency(ws, agency_code)
    assessment = evaluate_agency(ws, library, agency_code, as_of=as_of, profile=profile)
    per_item: dict[tuple[str, str], list[Result]] = {}
    per_system: dict[str, list[Result]] = {}
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
                "overdue": res.overdue, "deadline": iso(res.deadline), "reasons": list(res.reasons),
                "systems": [
                    {"code": r.system, "status": r.status.value, "overdue": r.overdue, "reasons": list(r.reasons)}
                    for r in per_item.get((cid, item.id), []) if r.status is not Status.NOT_APPLICABLE
                ],
            }
            rows.append(row)
            status_counts[res.status.value] += 1
            if item.parent is None:
                tasks.append({"checklist": cid, "id": item.id, "short": short, "status": res.status.value,
                              "deadline": iso(res.deadline), "overdue": res.overdue})
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
            "document_date": iso(document.date) if document else None, "items": rows,
        })
    remaining.sort(key=lambda r: (not r["overdue"], r["deadline"] or "9999-12-31", r["checklist"], r["id"],
                                  r["system"] or ""))

    shorts = {(c["id"], it["id"]): it["short"] for c in checklists for it in c["items"]}
    scans_all = scan.latest_scans(ws, agency_code, as_of)
    current = current_scans(ws, agency_code, [s.code for s in agency.systems], as_of)
    findings = open_findings(ws, current)
    systems = []
    for system in agency.systems:
        results = [
            {"checklist": r.checklist, "item": r.item, "short": shorts.get((r.checklist, r.item), r.item),
             "status": r.status.value, "overdue": r.overdue,
             "deadline": iso(r.deadline), "reasons": list(r.reasons)}
            for r in per_system.get(system.code, []) if r.status is not Status.NOT_APPLICABLE
        ]
        systems.append({
            "code": system.code, "name": system.name, "purpose": system.purpose, "sector": system.sector,
            "owner": system.owner, "operator": system.operator, "critical": system.critical,
            "restricted_sector": system.restricted_sector.value, "admin_procedures": system.admin_procedures,
            "online_service": system.online_service, "users": system.users,
            "data_subjects_basic": system.data_subjects_basic,
            "data_subjects_sensitive": system.data_subjects_sensitive,
            "infrastructure_scope": system.infrastructure_scope.value if system.infrastructure_scope else None,
            "hosting": system.hosting.value if system.hosting else None, "go_live": iso(system.go_live),
            "level": system.level.model_dump(mode="json"),
            "suggested_level": _suggest_level(system, as_of, lang),
            "hosts": [{"address": h.address, "ports": [p.port for p in h.ports], "public_web": h.public_web}
                      for h in system.hosts],
            "scan_id": current[system.code][0] if system.code in current else None,
            "results": results,
            "not_applicable": sum(1 for r in per_system.get(system.code, [])
                                  if r.status is Status.NOT_APPLICABLE),
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
        lang=lang, as_of=as_of, generator=version(),
        agency=nfc(agency.model_dump(mode="json", exclude={"systems"})),
        profile={"id": profile.id, "title": profile.title}, summary=nfc(summary), checklists=nfc(checklists),
        systems=nfc(systems), findings=nfc(findings), scans=nfc(scans), evidence=nfc(evidence),
        waivers=nfc(waivers), remaining=nfc(remaining), counts=counts, evidence_register=nfc(register),
    )
    annex_model(data)
    data.manifest_sha256 = hashlib.sha256(manifest_json(data)).hexdigest()
    return data


def set_embedding(data: ReportData, embed: bool) -> None:
    """Turn the embedding of evidence documents on or off (the manifest and its hash follow)."""
    data.embed_evidence = embed
    data.manifest_sha256 = hashlib.sha256(manifest_json(data)).hexdigest()


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


def _remaining(checklist: str, item: str, short: str, res: Result, owner: str | None) -> dict[str, Any]:
    return {"checklist": checklist, "id": item, "short": short, "system": res.system, "status": res.status.value,
            "deadline": iso(res.deadline), "overdue": res.overdue, "owner": owner,
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


def current_scans(ws: Workspace, agency: str, systems: list[str], as_of: dt.date) -> dict[str, list[int]]:
    """For each system, the scans of the newest scan command on or before ``as_of`` that covered it.

    The same choice as the assessment makes (``requirements.evaluate.latest_scan``), so the report shows the
    observations the statuses were judged on.
    """
    out: dict[str, list[int]] = {}
    for code in systems:
        latest = latest_scan(ws, agency, code, as_of)
        if latest is not None:
            out[code] = list(latest["ids"])
    return out


def open_findings(ws: Workspace, current: dict[str, list[int]]) -> list[dict[str, Any]]:
    """One row per problem (system, host, port, rule), listing every requirement it bears on.

    The store keeps one ``findings`` row per problem and scan; a problem that two scans of one
    batch both saw is listed once (the first scan's row).
    """
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for code, scan_ids in current.items():
        marks = ",".join("?" * len(scan_ids))
        for f in ws.db.query(
            "select scan_id, system, address, port, rule, severity, bears_on, title, detail from findings"
            f" where scan_id in ({marks}) and system = ? order by id", [*scan_ids, code]):
            refs = split_refs(f.pop("bears_on"))
            row = merged.setdefault((f["system"], f["address"], f["port"], f["rule"]), {**f, "bears_on": []})
            row["bears_on"] += [ref for ref in refs if ref not in row["bears_on"]]
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


# -- what the signed document shows: annex numbers, grouped rows, shortcomings --------------------
EVIDENCE_ANNEX = 2  # Phụ lục II is the evidence register; the task table cites "PL2-05"
#: A document larger than this, or past this total, is listed but not embedded in the PDF.
EMBED_MAX_FILE = 20 * 1024 * 1024
EMBED_MAX_TOTAL = 60 * 1024 * 1024
#: Why a requirement is not met, by the words the evaluator writes (Vietnamese half of its reasons).
CAUSES = ("no_answer", "scan", "no_docs", "applicability", "self_not_met", "unverified", "expired", "other")
_CAUSE_WORDS = (
    ("no_answer", ("chưa có câu trả lời",)),
    ("applicability", ("chưa đủ thông tin để xác định áp dụng",)),
    ("self_not_met", ("tự đánh giá: chưa đạt",)),
    ("scan", ("mâu thuẫn với khai báo", "phát hiện")),
    ("no_docs", ("thiếu tài liệu minh chứng", "không thuộc loại yêu cầu", "chưa có tài liệu minh chứng")),
    ("expired", ("hết hạn", "hết hiệu lực")),
    ("unverified", ("chưa kiểm chứng", "không hoàn tất", "chưa được quét")),
)
UNMET = ("chua-dat", "loi")
GROUP_MIN = 3  # rows with the same checklist, result and cause are folded into one when at least this many
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9.\-]+")


def cause_of(reasons: list[str]) -> str:
    """The kind of reason (one of ``CAUSES``) behind a result, for grouping and the causes section."""
    text = unicodedata.normalize("NFC", " ".join(reasons))
    for cause, words in _CAUSE_WORDS:
        if any(w in text for w in words):
            return cause
    return "other"


def checklist_label(title: str) -> str:
    """A checklist's title up to its dash ("Kế hoạch 04-KH/BCĐTW — các nhiệm vụ…" -> "Kế hoạch 04-KH/BCĐTW")."""
    return title.split(" — ")[0].strip()


def _attachment_name(ref: str, name: str) -> str:
    """``PL2-05-<name>`` in plain ASCII ("QĐ phân công.pdf" -> "PL2-05-QD-phan-cong.pdf"): PDF readers and
    the file systems the attachments are saved to all agree on it."""
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    stem = re.sub(r"\.{2,}", ".", _UNSAFE_NAME.sub("-", plain)).strip("-.") or "tai-lieu"
    return f"{ref}-{stem}"[:120]


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return sorted(rows, key=lambda x: (not x["overdue"], rank.get(x["status"], 9), x["order"]))


def _grouped(rows: list[dict[str, Any]], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Annex I rows: unmet and overdue first; many rows alike (checklist, result, cause) folded into one."""
    buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in _ordered(rows):
        buckets.setdefault((row["checklist"], row["status"], row["overdue"], row["cause"]), []).append(row)
    out = []
    for row in _ordered(rows):
        key = (row["checklist"], row["status"], row["overdue"], row["cause"])
        bucket = buckets.get(key)
        if bucket is None:
            continue
        if len(bucket) >= GROUP_MIN:
            del buckets[key]
            out.append({"group": True, "checklist": titles.get(row["checklist"], row["checklist"]),
                        "n": len(bucket), "items": [b["short"] for b in bucket], "status": row["status"],
                        "overdue": row["overdue"], "reasons": row["reasons"][:1], "cause": row["cause"],
                        "deadline": min((b["deadline"] for b in bucket if b["deadline"]), default=None),
                        "common": None})
        else:
            out.append({"group": False, "common": None, **row})
    return out


def _group_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Rows alike in several systems: a group with the same items, or one requirement with the same reasons."""
    if row["group"]:
        return (True, row["checklist"], row["status"], row["overdue"], row["cause"], tuple(row["items"]))
    return (False, row["checklist"], row["item"], row["status"], row["overdue"], tuple(row["reasons"]))


def annex_model(data: ReportData) -> None:
    """Fill ``data.names`` and ``data.annex`` from the facts already in ``data`` (no store access)."""
    names = {"systems": {s["code"]: s["name"] for s in data.systems},
             "items": {f"{c['id']}:{it['id']}": it["short"] for c in data.checklists for it in c["items"]},
             "checklists": {c["id"]: checklist_label(c["title"]) for c in data.checklists}}
    data.names = names
    parents = {(c["id"], it["parent"]) for c in data.checklists for it in c["items"] if it["parent"]}
    order = {(c["id"], it["id"]): n for n, (c, it) in
             enumerate((c, it) for c in data.checklists for it in c["items"])}
    children: dict[tuple[str, str], list[str]] = {}
    for c in data.checklists:
        for it in c["items"]:
            if it["parent"]:
                children.setdefault((c["id"], it["parent"]), []).append(it["id"])

    # Annex II numbers, and which of them are embedded in the PDF (size caps)
    total = 0
    for n, row in enumerate(data.evidence_register, 1):
        row["ref"] = f"PL{EVIDENCE_ANNEX}-{n:02d}"
        fits = row["size"] is not None and row["size"] <= EMBED_MAX_FILE and total + row["size"] <= EMBED_MAX_TOTAL
        row["attachment"] = _attachment_name(row["ref"], row["names"][0] or "") if fits else None
        row["too_big"] = not fits
        total += row["size"] if fits else 0
        used: dict[str, list[str]] = {}  # requirement -> the systems it backs it for (one line per requirement)
        for b in row["backs"]:
            systems = used.setdefault(names["items"].get(f"{b['checklist']}:{b['item']}", b["item"]), [])
            if b["system"] and names["systems"].get(b["system"], b["system"]) not in systems:
                systems.append(names["systems"].get(b["system"], b["system"]))
        row["used_for"] = [{"item": item, "systems": systems} for item, systems in used.items()]

    def descendants(cid: str, item: str) -> set[str]:
        found = {item}
        for child in children.get((cid, item), []):
            found |= descendants(cid, child)
        return found

    task_evidence = {}  # "checklist:item" -> the Annex II numbers of the files backing the task or its sub-items
    for task in data.summary["tasks"]:
        ids = descendants(task["checklist"], task["id"])
        task_evidence[f"{task['checklist']}:{task['id']}"] = [
            row["ref"] for row in data.evidence_register
            if any(b["checklist"] == task["checklist"] and b["item"] in ids for b in row["backs"])]

    def annex_row(cid: str, item: str, status: str, overdue: bool, deadline: str | None,
                  reasons: list[str]) -> dict[str, Any]:
        return {"checklist": cid, "item": item, "short": names["items"].get(f"{cid}:{item}", item),
                "status": status, "overdue": overdue, "deadline": deadline, "reasons": reasons,
                "cause": cause_of(reasons), "order": order.get((cid, item), 0)}

    # Annex I: per system, then the agency-wide items; applicable leaves only
    per_system = {}
    for s in data.systems:
        rows = [annex_row(x["checklist"], x["item"], x["status"], x["overdue"], x["deadline"], x["reasons"])
                for x in s["results"] if (x["checklist"], x["item"]) not in parents]
        per_system[s["code"]] = _grouped(rows, names["checklists"])
    # groups alike in several systems are printed once (Annex I, part A) and referred to from each system
    alike: dict[tuple[Any, ...], list[str]] = {}
    for code, rows in per_system.items():
        for row in rows:
            alike.setdefault(_group_key(row), []).append(code)
    sysno = {s["code"]: n for n, s in enumerate(data.systems, 1)}
    common: list[dict[str, Any]] = []
    numbers: dict[tuple[Any, ...], int] = {}
    for rows in per_system.values():
        for row in rows:
            key = _group_key(row)
            if len(alike[key]) < 2:
                continue
            if key not in numbers:
                numbers[key] = len(common) + 1
                common.append({**row, "no": numbers[key],
                               "systems": [names["systems"].get(c, c) for c in alike[key]],
                               "system_numbers": [sysno[c] for c in alike[key]]})
            row["common"] = numbers[key]
    # the review flags of the systems' levels, each written once with the systems it concerns
    level_notes: list[dict[str, Any]] = []
    level_refs: dict[str, list[int]] = {}
    for s in data.systems:
        for flag in (s["suggested_level"] or {}).get("flags", []):
            note = next((x for x in level_notes if x["text"] == flag), None)
            if note is None:
                note = {"no": len(level_notes) + 1, "text": flag, "system_numbers": [], "systems": []}
                level_notes.append(note)
            note["system_numbers"].append(sysno[s["code"]])
            note["systems"].append(s["name"])
            level_refs.setdefault(s["code"], []).append(note["no"])
    agency_rows = [annex_row(c["id"], it["id"], it["status"], it["overdue"], it["deadline"], it["reasons"])
                   for c in data.checklists for it in c["items"]
                   if it["scope"] != "system" and (c["id"], it["id"]) not in parents
                   and it["status"] != "khong-ap-dung"]

    # Body II and III: what is unmet or overdue, by system (agency-wide last), and its causes
    issues: list[dict[str, Any]] = []
    causes = dict.fromkeys(CAUSES, 0)
    owners = {s["code"]: s["operator"] or s["owner"] for s in data.systems}
    contact = (data.agency.get("security_contact") or {}).get("name")
    for code in [*(s["code"] for s in data.systems), None]:
        mine = [x for x in data.remaining if (x["system"] or None) == code]
        if not mine:
            continue
        unmet: list[str] = []
        unassessed: list[str] = []
        for x in mine:
            target = unmet if x["status"] in UNMET else unassessed if x["status"] == "chua-danh-gia" else None
            if target is not None and x["short"] not in target:
                target.append(x["short"])
            causes[cause_of([x["reason"]] if x["reason"] else [])] += 1
        deadlines = [x["deadline"] for x in mine if x["deadline"]]
        first = min(deadlines, default=None)
        issues.append({
            "system": code, "name": names["systems"].get(code, code) if code else None,
            "not_met": unmet, "not_assessed": unassessed, "overdue": sum(1 for x in mine if x["overdue"]),
            "count": len({x["short"] for x in mine}), "items": list(dict.fromkeys(x["short"] for x in mine)),
            "owner": (owners.get(code) if code else None) or contact or data.agency["name"],
            "deadline": first, "late": bool(first and first < data.as_of.isoformat()),
        })

    problems: dict[tuple[str, str], dict[str, Any]] = {}
    for f in data.findings:
        row = problems.setdefault((f["title"], f["severity"]), {"title": f["title"], "severity": f["severity"],
                                                                 "systems": [], "where": []})
        system = names["systems"].get(f["system"], f["system"])
        if system not in row["systems"]:
            row["systems"].append(system)
        where = f"{f['address']}:{f['port']}" if f["port"] else f["address"]
        if where not in row["where"]:
            row["where"].append(where)

    data.annex = {"task_evidence": task_evidence, "systems": per_system, "common": common,
                  "level_notes": level_notes, "level_refs": level_refs,
                  "agency": _grouped(agency_rows, names["checklists"]), "issues": issues,
                  "causes": {k: v for k, v in causes.items() if v}, "problems": list(problems.values())}


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
        "documents": [
            {"annex_no": e.get("ref"), "names": e["names"], "sha256": e["sha256"], "size": e["size"],
             "media_type": e["media_type"],
             "attachment": e.get("attachment") if data.embed_evidence else None}
            for e in data.evidence_register
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
    if not data.embed_evidence:
        return items
    for row in data.evidence_register:
        if not row.get("attachment"):
            continue
        blob = ws.read_blob(row["sha256"])
        if hashlib.sha256(blob).hexdigest() != row["sha256"]:
            raise RenderError(
                f"Tài liệu minh chứng {row['ref']} ({row['names'][0]}) trong kho không khớp mã SHA-256",
                en=f"evidence {row['ref']} in the store does not match its SHA-256",
            )
        items.append((row["attachment"], blob, f"{row['ref']}: {row['names'][0]} (SHA-256 {row['sha256']})",
                      "Supplement"))
    return items

