"""The agency report as JSON: the report's own data, documented and stable.

The document is ``ReportData`` as plain JSON: statuses, severities and kinds as codes (not labels),
dates as ISO text, lists in the order the report prints them, keys sorted, UTF-8 without escapes.
``SCHEMA`` is its JSON Schema (draft 2020-12), kept next to the code that writes it so tests catch
any drift; docs/report-json.md explains the fields.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secaudit.reporting.data import ReportData

SCHEMA_ID = "secaudit.report/1"

STATUS = {"enum": ["dat", "chua-dat", "khong-ap-dung", "chua-danh-gia", "mien-tru", "loi"]}
SEVERITY = {"enum": ["nghiem-trong", "cao", "trung-binh", "thap"]}
DATE = {"type": ["string", "null"], "pattern": r"^\d{4}-\d{2}-\d{2}$"}
TEXT = {"type": ["string", "null"]}
SHA = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required if required is not None else list(props),
            "additionalProperties": False}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_RESULT = _obj({
    "checklist": {"type": "string"}, "item": {"type": "string"}, "short": {"type": "string"}, "status": STATUS,
    "overdue": {"type": "boolean"}, "deadline": DATE, "reasons": _list({"type": "string"}),
})
_PERSON = {"type": ["object", "null"]}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "secaudit agency report",
    **_obj({
        "schema": {"const": SCHEMA_ID},
        "generator": {"type": "string"},
        "lang": {"enum": ["vi", "en"]},
        "as_of": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        "profile": _obj({"id": {"type": "string"}, "title": {"type": "string"}}),
        "agency": {"type": "object", "required": ["code", "name", "kind", "province", "recipients"],
                   "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
                                  "role": {"type": "string"}, "parent": TEXT, "province": {"type": "string"},
                                  "place": TEXT, "symbol": TEXT,
                                  "private_data_centre": {"type": ["boolean", "null"]},
                                  "security_contact": _PERSON, "signer": _PERSON,
                                  "recipients": _list({"type": "string"})},
                   "additionalProperties": False},
        "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
        "summary": _obj({
            "tasks": _list(_obj({"checklist": {"type": "string"}, "id": {"type": "string"},
                                 "short": {"type": "string"}, "status": STATUS, "deadline": DATE,
                                 "overdue": {"type": "boolean"}})),
            "statuses": {"type": "object", "propertyNames": STATUS, "additionalProperties": {"type": "integer"}},
            "levels": _list({"type": "object", "required": ["level", "total"],
                             "properties": {"level": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
                                            "total": {"type": "integer"}},
                             "additionalProperties": {"type": "integer"}}),
            "findings_by_severity": {"type": "object", "propertyNames": SEVERITY,
                                     "additionalProperties": {"type": "integer"}},
        }),
        "checklists": _list(_obj({
            "id": {"type": "string"}, "title": {"type": "string"}, "document": {"type": "string"},
            "document_kind": TEXT, "document_date": DATE,
            "items": _list(_obj({
                "id": {"type": "string"}, "parent": TEXT, "title": {"type": "string"}, "short": {"type": "string"},
                "scope": {"enum": ["agency", "system"]}, "basis": _list({"type": "string"}), "status": STATUS,
                "overdue": {"type": "boolean"}, "deadline": DATE, "reasons": _list({"type": "string"}),
                "systems": _list(_obj({"code": {"type": "string"}, "status": STATUS, "overdue": {"type": "boolean"},
                                       "reasons": _list({"type": "string"})})),
            })),
        })),
        "systems": _list(_obj({
            "code": {"type": "string"}, "name": {"type": "string"}, "purpose": TEXT, "sector": TEXT, "owner": TEXT,
            "operator": TEXT, "critical": {"type": ["boolean", "null"]}, "restricted_sector": {"type": "string"},
            "admin_procedures": {"type": ["boolean", "null"]}, "online_service": {"type": ["boolean", "null"]},
            "users": {"type": ["integer", "null"]}, "data_subjects_basic": {"type": ["integer", "null"]},
            "data_subjects_sensitive": {"type": ["integer", "null"]}, "infrastructure_scope": TEXT, "hosting": TEXT,
            "go_live": DATE, "level": {"type": "object"},
            "suggested_level": {"anyOf": [{"type": "null"}, _obj({
                "level": {"type": "integer"}, "ceiling": {"type": "integer"}, "range": {"type": "string"},
                "certain": {"type": "boolean"}, "rules": {"type": "string"}, "reasons": _list({"type": "string"}),
                "flags": _list({"type": "string"})})]},
            "hosts": _list(_obj({"address": {"type": "string"}, "ports": _list({"type": "integer"}),
                                 "public_web": {"type": "boolean"}})),
            "scan_id": {"type": ["integer", "null"]}, "results": _list(_RESULT),
            "not_applicable": {"type": "integer"},
        })),
        "findings": _list(_obj({
            "scan_id": {"type": "integer"}, "system": {"type": "string"}, "address": {"type": "string"},
            "port": {"type": ["integer", "null"]}, "rule": {"type": "string"}, "severity": SEVERITY,
            "bears_on": _list({"type": "string"}), "title": TEXT, "detail": TEXT,
        })),
        "scans": _list(_obj({
            "id": {"type": "integer"}, "system": TEXT, "profile": TEXT, "status": {"type": "string"},
            "started": {"type": "string"}, "finished": TEXT, "argv": _list({"type": "string"}),
            "nmap_version": TEXT, "operator": TEXT, "xml_sha256": {"anyOf": [SHA, {"type": "null"}]}, "error": TEXT,
            "current": {"type": "boolean"},
            "hosts": _list(_obj({
                "system": TEXT, "address": {"type": "string"}, "state": {"type": "string"}, "reason": TEXT,
                "open_ports": _list(_obj({
                    "port": {"type": "integer"}, "protocol": {"type": "string"}, "service": TEXT, "product": TEXT,
                    "version": TEXT, "tunnel": TEXT,
                    "observed": _list(_obj({"script": {"type": "string"}, "output": {"type": "string"}})),
                })),
            })),
        })),
        "evidence": _list(_obj({
            "original_name": {"type": "string"}, "kind": {"type": "string"}, "checklist": TEXT, "item": TEXT,
            "system": TEXT, "effective": DATE, "expires": DATE, "sha256": SHA, "size": {"type": "integer"},
            "media_type": TEXT, "added_at": {"type": "string"}, "actor": TEXT,
        })),
        "waivers": _list(_obj({
            "checklist": {"type": "string"}, "item": {"type": "string"}, "system": TEXT, "reason": {"type": "string"},
            "approved_by": {"type": "string"}, "until": {"type": "string"}, "created_at": TEXT,
            "active": {"type": "boolean"},
        })),
        "remaining": _list(_obj({
            "checklist": {"type": "string"}, "id": {"type": "string"}, "short": {"type": "string"}, "system": TEXT,
            "status": STATUS, "deadline": DATE, "overdue": {"type": "boolean"}, "owner": TEXT, "reason": TEXT,
        })),
        "manifest_sha256": SHA,
    }),
}


def document(data: ReportData) -> dict[str, Any]:
    """The report as a JSON-ready dict (see ``SCHEMA`` and docs/report-json.md)."""
    return {
        "schema": SCHEMA_ID,
        "generator": data.generator,
        "lang": data.lang,
        "as_of": data.as_of.isoformat(),
        "profile": data.profile,
        "agency": data.agency,
        "counts": data.counts,
        "summary": data.summary,
        "checklists": data.checklists,
        "systems": data.systems,
        "findings": data.findings,
        "scans": data.scans,
        "evidence": data.evidence,
        "waivers": data.waivers,
        "remaining": data.remaining,
        "manifest_sha256": data.manifest_sha256,
    }


def dumps(doc: Any) -> bytes:
    """Canonical JSON text: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def render(data: ReportData) -> bytes:
    """The report as JSON bytes."""
    return dumps(document(data))
