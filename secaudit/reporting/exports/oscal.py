"""The agency report as an OSCAL assessment-results document (NIST OSCAL JSON).

Mapping (docs/report-json.md, "OSCAL"): one ``result`` per report; each requirement of the profile is a
reviewed control ``<checklist>.<item>`` and has one ``finding`` whose target status is *satisfied* when
secaudit's status is met (ĐẠT, KHÔNG ÁP DỤNG, MIỄN TRỪ) and *not-satisfied* otherwise, with the exact
secaudit status, deadline and overdue flag as properties. Observations record each scan (method TEST),
each open scan finding, and each evidence document (method EXAMINE); evidence files and raw scan XML are
back-matter resources carrying their SHA-256. Systems are local components. UUIDs are version-5 UUIDs
derived from the agency, the as-of date and the object's identity, so the same data give the same
document. Free text is Markdown in OSCAL, so untrusted text is escaped before it goes into markup fields.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from secaudit.reporting.exports.json_export import dumps
from secaudit.requirements.results import one_language

if TYPE_CHECKING:
    from secaudit.reporting.data import ReportData

OSCAL_VERSION = "1.2.3"
NS = "urn:secaudit:oscal"
#: Root of every UUID secaudit derives for OSCAL (itself uuid5 of the URL namespace and our name).
UUID_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "urn:secaudit:oscal:uuid")
MET = {"dat", "khong-ap-dung", "mien-tru"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&!|])")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(UUID_ROOT, "\x1f".join(str(p) for p in parts)))


def _md(text: Any) -> str:
    """Untrusted text made literal in OSCAL markup (CommonMark backslash escapes)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def _line(text: Any) -> str:
    """A markup-line value: one line, escaped, never empty."""
    return _md(" ".join(str(text).split())) or "-"


def _value(text: Any) -> str:
    """A plain OSCAL string: non-empty, no surrounding whitespace."""
    return " ".join(str(text).split()) or "-"


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": _value(value)}


def _stamp(value: str | None, day: str) -> str:
    """An OSCAL date-time with zone: recorded times keep theirs, bare dates become midnight UTC."""
    if not value:
        return f"{day}T00:00:00Z"
    if len(value) == 10:
        return f"{value}T00:00:00Z"
    return value.replace("+00:00", "Z")


def document(data: ReportData) -> dict[str, Any]:
    """The OSCAL ``assessment-results`` document as a dict."""
    code = data.agency["code"]
    day = data.as_of.isoformat()
    key = (code, day, data.profile["id"])
    agency_party = _uuid("party", code)
    plan = _uuid(*key, "plan")
    components = {s["code"]: _uuid("component", code, s["code"]) for s in data.systems}
    names = {s["code"]: s["name"] for s in data.systems}
    resources: list[dict[str, Any]] = [{
        "uuid": plan, "title": _line(f"secaudit profile {data.profile['id']}: {data.profile['title']}"),
        "description": _md("The assessment plan: the secaudit profile and the checklists it selects ("
                           + ", ".join(c["id"] for c in data.checklists) + ")."),
        "props": [_prop("profile", data.profile["id"])],
    }]
    blob_resources: dict[str, str] = {}

    def blob(sha: str, title: str, media: str | None) -> str:
        if sha not in blob_resources:
            rid = _uuid("resource", sha)
            blob_resources[sha] = rid
            rlink: dict[str, Any] = {"href": f"evidence/{sha[:2]}/{sha}",
                                     "hashes": [{"algorithm": "SHA-256", "value": sha}]}
            if media:
                rlink["media-type"] = media
            resources.append({"uuid": rid, "title": _line(title), "rlinks": [rlink]})
        return blob_resources[sha]

    observations: list[dict[str, Any]] = []
    by_requirement: dict[str, list[str]] = {}
    for s in data.scans:
        oid = _uuid(*key, "scan", s["id"])
        covered = sorted({h["system"] for h in s["hosts"] if h["system"] in components}
                         | ({s["system"]} if s["system"] in components else set()))
        obs: dict[str, Any] = {
            "uuid": oid, "title": _line(f"nmap scan #{s['id']} ({s['status']})"),
            "description": _md(f"Active scan by {s['operator']} with nmap {s['nmap_version']}: "
                               + " ".join(s["argv"])),
            "props": [_prop("scan-id", s["id"]), _prop("scan-status", s["status"]),
                      _prop("nmap-version", s["nmap_version"] or "unknown")],
            "methods": ["TEST"], "types": ["discovery"],
            "collected": _stamp(s["started"], day),
        }
        if covered:
            obs["subjects"] = [{"subject-uuid": components[c], "type": "component", "title": _line(names[c])}
                               for c in covered]
        if s["xml_sha256"]:
            rid = blob(s["xml_sha256"], f"scan-{s['id']}.xml (raw nmap XML)", "application/xml")
            obs["relevant-evidence"] = [{"href": f"#{rid}", "description": _md(f"Raw nmap XML of scan #{s['id']}, "
                                                                               f"SHA-256 {s['xml_sha256']}")}]
        observations.append(obs)
    for i, f in enumerate(data.findings):
        oid = _uuid(*key, "scan-finding", f["scan_id"], f["system"], f["address"], f["port"], f["rule"], i)
        where = f"{f['address']}:{f['port']}" if f["port"] else f["address"]
        detail = f": {one_language(f['detail'], 'en')}" if f["detail"] else ""
        obs = {
            "uuid": oid, "title": _line(f"{f['title'] or f['rule']} ({where})"),
            "description": _md(f"{f['title'] or f['rule']} at {where}{detail}"),
            "props": [_prop("severity", f["severity"]), _prop("rule", f["rule"]), _prop("scan-id", f["scan_id"])],
            "methods": ["TEST"], "types": ["finding"],
            "collected": _stamp(next((s["started"] for s in data.scans if s["id"] == f["scan_id"]), None), day),
        }
        if f["system"] in components:
            obs["subjects"] = [{"subject-uuid": components[f["system"]], "type": "component",
                                "title": _line(names[f["system"]])}]
        observations.append(obs)
        for ref in f["bears_on"]:  # one observation per problem, related to each requirement it bears on
            checklist, _, item = ref.partition(":")
            if checklist and item:
                by_requirement.setdefault(f"{checklist}.{item}", []).append(oid)
    for e in data.evidence:
        if e["kind"] == "ket-qua-quet":
            continue  # the scan's own observation carries its XML
        oid = _uuid(*key, "evidence", e["sha256"], e["checklist"], e["item"], e["system"], e["original_name"])
        rid = blob(e["sha256"], e["original_name"], e["media_type"])
        obs = {
            "uuid": oid, "title": _line(f"{e['original_name']} ({e['kind']})"),
            "description": _md(f"Evidence document {e['original_name']} of kind {e['kind']}"
                               + (f" for {e['checklist']}:{e['item']}" if e["item"] else "")
                               + (f", system {e['system']}" if e["system"] else "") + "."),
            "props": [_prop("evidence-kind", e["kind"]), _prop("sha256", e["sha256"])],
            "methods": ["EXAMINE"], "types": ["control-objective"],
            "relevant-evidence": [{"href": f"#{rid}",
                                   "description": _md(f"{e['original_name']}, SHA-256 {e['sha256']}")}],
            "collected": _stamp(e["added_at"], day),
        }
        if e["expires"]:
            obs["expires"] = f"{e['expires']}T23:59:59Z"
        if e["system"] in components:
            obs["subjects"] = [{"subject-uuid": components[e["system"]], "type": "component",
                                "title": _line(names[e["system"]])}]
        observations.append(obs)
        if e["checklist"] and e["item"]:
            by_requirement.setdefault(f"{e['checklist']}.{e['item']}", []).append(oid)

    findings: list[dict[str, Any]] = []
    controls: list[dict[str, str]] = []
    for cl in data.checklists:
        for it in cl["items"]:
            control = f"{cl['id']}.{it['id']}"
            controls.append({"control-id": control})
            met = it["status"] in MET
            reason = "pass" if it["status"] == "dat" else ("fail" if it["status"] == "chua-dat" else "other")
            props = [_prop("status", it["status"]), _prop("overdue", "true" if it["overdue"] else "false"),
                     _prop("scope", it["scope"])]
            if it["deadline"]:
                props.append(_prop("deadline", it["deadline"]))
            for part in it["systems"]:
                props.append(_prop("system-status", f"{part['code']}={part['status']}"))
            lines = [f"{it['title']}", *(f"- {r}" for r in it["reasons"])]
            finding: dict[str, Any] = {
                "uuid": _uuid(*key, "finding", control),
                "title": _line(f"{cl['id']}:{it['id']} — {it['short']}"),
                "description": "\n\n".join(_md(x) for x in lines),
                "props": props,
                "target": {"type": "objective-id", "target-id": control,
                           "status": {"state": "satisfied" if met else "not-satisfied", "reason": reason}},
            }
            if it["basis"]:
                finding["remarks"] = _md("Legal basis: " + "; ".join(it["basis"]))
            related = by_requirement.get(control, [])
            if related:
                finding["related-observations"] = [{"observation-uuid": o} for o in related]
            findings.append(finding)

    result: dict[str, Any] = {
        "uuid": _uuid(*key, "result"),
        "title": _line(f"secaudit assessment of {data.agency['name']} as of {day}"),
        "description": _md(f"Requirements of {', '.join(c['document'] for c in data.checklists)} evaluated by "
                           f"{data.generator} under profile {data.profile['id']}."),
        "start": f"{day}T00:00:00Z",
        "end": f"{day}T00:00:00Z",
        "props": [_prop("agency-code", code), _prop("profile", data.profile["id"])],
        "reviewed-controls": {"control-selections": [{"include-controls": controls}]} if controls else
        {"control-selections": [{"include-all": {}}]},
        "findings": findings,
    }
    if components:
        result["local-definitions"] = {"components": [
            {"uuid": components[s["code"]], "type": "system", "title": _line(s["name"]),
             "description": _md(s["purpose"] or s["name"]),
             "props": [_prop("system-code", s["code"]),
                       *([_prop("level-approved", s["level"]["approved"])] if s["level"]["approved"] else []),
                       *([_prop("level-proposed", s["level"]["proposed"])] if s["level"]["proposed"] else [])],
             "status": {"state": "operational"}}
            for s in data.systems]}
    if observations:
        result["observations"] = observations
    if not findings:
        del result["findings"]
    return {"assessment-results": {
        "uuid": _uuid(*key, "assessment-results"),
        "metadata": {
            "title": _line(f"Báo cáo an ninh mạng — {data.agency['name']} — {day}"),
            "last-modified": f"{day}T00:00:00Z",
            "version": _value(data.generator),
            "oscal-version": OSCAL_VERSION,
            "props": [_prop("agency-code", code), _prop("manifest-sha256", data.manifest_sha256)],
            "parties": [{"uuid": agency_party, "type": "organization", "name": _value(data.agency["name"]),
                         "props": [_prop("agency-code", code)]}],
        },
        "import-ap": {"href": f"#{plan}"},
        "results": [result],
        "back-matter": {"resources": resources},
    }}


def render(data: ReportData) -> bytes:
    """The OSCAL assessment-results document as canonical JSON bytes."""
    return dumps(document(data))
