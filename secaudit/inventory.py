"""Inventory in and out: agency YAML files ↔ the workspace database.

One YAML file per agency (the ``Agency`` model). Import validates every file first and writes
all of them in one transaction, so a bad file anywhere leaves the store exactly as it was. Export
writes files that import back to the same rows and export again byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from . import auditlog, yamlio
from .errors import InputError, NotFoundError, ValidationError
from .models import Agency, System
from .store import Workspace, dumps

_BOOL_FIELDS = {
    "critical", "admin_procedures", "online_service", "conditional_business", "state_secrets",
    "national_security_impact", "national_egov_247",
}
_LEVEL_COLUMNS = {
    "proposed": "level_proposed", "approved": "level_approved", "dossier_state": "dossier_state",
    "decision_number": "decision_number", "decision_date": "decision_date", "appraised_by": "appraised_by",
    "approved_by": "approved_by", "regulation_date": "regulation_date",
}


def inventory_files(path: Path) -> list[Path]:
    """The YAML files named by ``path``: the file itself, or the ``*.yaml``/``*.yml`` in a folder."""
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise InputError("Thư mục không có tệp YAML nào", en="no YAML files in folder", where=str(path))
        return files
    if not path.exists():
        raise InputError("Không tìm thấy tệp", en="file not found", where=str(path))
    return [path]


def load_agency(path: Path) -> Agency:
    """Parse and validate one agency file; every problem is reported as ``file:line``."""
    located = yamlio.load(path)
    if not isinstance(located.data, dict):
        raise InputError("Tệp kiểm kê phải là một ánh xạ (mapping) ở gốc", en="top level must be a mapping",
                         where=f"{path}:1")
    systems = located.data.get("systems")
    if isinstance(systems, list):
        seen: dict[str, int] = {}
        for i, system in enumerate(systems):
            code = system.get("code") if isinstance(system, dict) else None
            if isinstance(code, str) and code in seen:
                raise ValidationError(
                    [(located.where(("systems", i, "code")),
                      f"mã hệ thống '{code}' bị lặp (đã có ở mục {seen[code] + 1}) / duplicate system code")]
                )
            if isinstance(code, str):
                seen[code] = i
    try:
        return Agency.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise  # unreachable: raise_pydantic always raises


def load_agencies(paths: Iterable[Path]) -> list[Agency]:
    """Load several files; an agency code given twice is an error naming both files."""
    agencies: list[Agency] = []
    origin: dict[str, Path] = {}
    for path in paths:
        agency = load_agency(path)
        if agency.code in origin:
            raise InputError(
                f"Mã cơ quan '{agency.code}' đã có trong {origin[agency.code]}",
                en=f"agency code '{agency.code}' also defined in {origin[agency.code]}", where=f"{path}:1",
            )
        origin[agency.code] = path
        agencies.append(agency)
    return agencies


@dataclass
class ImportSummary:
    """What an import changed."""

    agencies: list[str]
    systems: int
    hosts: int


def import_agencies(ws: Workspace, agencies: list[Agency], *, actor: str, source: str) -> ImportSummary:
    """Replace each given agency's inventory with the new one, all in one transaction.

    Answers, evidence, waivers and scans are kept; they refer to agencies and systems by code.
    """
    systems = hosts = 0
    with ws.transaction() as db:
        for position, agency in enumerate(agencies):
            existing = {r[0]: r[1] for r in db.execute(
                "select code, id from systems where agency = ?", [agency.code]).fetchall()}
            db.execute(
                "delete from hosts where system_id in (select id from systems where agency = ?)", [agency.code]
            )
            row = _agency_row(agency)
            row["position"] = position
            db["agencies"].upsert(row, pk="code")
            keep = {s.code for s in agency.systems}
            for code, sid in existing.items():
                if code not in keep:
                    db.execute("delete from systems where id = ?", [sid])
            for spos, system in enumerate(agency.systems):
                srow = _system_row(agency.code, system)
                srow["position"] = spos
                if system.code in existing:
                    srow["id"] = existing[system.code]
                    db["systems"].update(existing[system.code], srow)
                    sid = existing[system.code]
                else:
                    sid = db["systems"].insert(srow).last_pk
                for hpos, host in enumerate(system.hosts):
                    db["hosts"].insert(
                        {
                            "system_id": sid, "address": host.address,
                            "ports": dumps([p.model_dump(mode="json") for p in host.ports]),
                            "public_web": int(host.public_web), "note": host.note, "position": hpos,
                        }
                    )
                    hosts += 1
                systems += 1
            auditlog.append(
                ws, actor=actor, action="inventory.import", agency=agency.code, subject=source,
                detail={"systems": [s.code for s in agency.systems]},
            )
    return ImportSummary([a.code for a in agencies], systems, hosts)


def _agency_row(agency: Agency) -> dict[str, Any]:
    data = agency.model_dump(mode="json", exclude={"systems"})
    for key in ("security_contact", "signer", "recipients"):
        data[key] = dumps(data[key]) if data[key] is not None else None
    data["private_data_centre"] = _to_int(agency.private_data_centre)
    return data


def _system_row(agency: str, system: System) -> dict[str, Any]:
    data = system.model_dump(mode="json", exclude={"hosts", "level"})
    for key in _BOOL_FIELDS:
        data[key] = _to_int(data[key])
    level = system.level.model_dump(mode="json")
    for key, column in _LEVEL_COLUMNS.items():
        data[column] = level[key]
    data["agency"] = agency
    return data


def _to_int(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _from_int(value: int | None) -> bool | None:
    return None if value is None else bool(value)


# -- reading back ------------------------------------------------------------------------------
def agency_codes(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.db.execute("select code from agencies order by position, code").fetchall()]


def get_agency(ws: Workspace, code: str) -> Agency:
    """Rebuild the validated ``Agency`` model (with systems and hosts) from the store."""
    row = ws.db.execute("select * from agencies where code = ?", [code]).fetchone()
    if row is None:
        raise NotFoundError(f"Không có cơ quan '{code}'", en=f"no agency '{code}'")
    cols = [d[0] for d in ws.db.execute("select * from agencies limit 0").description]
    data = dict(zip(cols, row, strict=True))
    data.pop("position")
    for key in ("security_contact", "signer", "recipients"):
        data[key] = json.loads(data[key]) if data[key] is not None else None
    if data["recipients"] is None:
        data["recipients"] = []
    data["private_data_centre"] = _from_int(data["private_data_centre"])
    data["systems"] = [_system_from_row(ws, srow) for srow in ws.db.query(
        "select * from systems where agency = ? order by position, code", [code])]
    return Agency.model_validate(_drop_none(data))


def _system_from_row(ws: Workspace, row: dict[str, Any]) -> dict[str, Any]:
    data = dict(row)
    sid = data.pop("id")
    data.pop("agency")
    data.pop("position")
    for key in _BOOL_FIELDS:
        data[key] = _from_int(data[key])
    data["level"] = {key: data.pop(column) for key, column in _LEVEL_COLUMNS.items()}
    data["hosts"] = [
        {"address": h["address"], "ports": json.loads(h["ports"] or "[]"),
         "public_web": bool(h["public_web"]), "note": h["note"]}
        for h in ws.db.query("select * from hosts where system_id = ? order by position", [sid])
    ]
    return data


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def agency_document(agency: Agency) -> dict[str, Any]:
    """The agency as a plain mapping for YAML/JSON: unknowns and defaults left out, keys in model order."""
    data = agency.model_dump(exclude_defaults=True)
    data.setdefault("kind", agency.kind)
    for system, model in zip(data.get("systems", []), agency.systems, strict=True):
        system.setdefault("code", model.code)
        system.setdefault("name", model.name)
    return _drop_none(data)


def export_agencies(ws: Workspace, out_dir: Path, codes: list[str] | None = None) -> list[Path]:
    """Write one ``<code>.yaml`` per agency into ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for code in codes or agency_codes(ws):
        path = out_dir / f"{code}.yaml"
        text = yamlio.dumps(agency_document(get_agency(ws, code)))
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def list_systems(ws: Workspace, agency: str | None = None) -> list[dict[str, Any]]:
    """Flat rows for ``system list``: one per system with its level state and host count."""
    sql = (
        "select s.agency, s.code, s.name, s.critical, s.restricted_sector, s.hosting, s.level_proposed,"
        " s.level_approved, s.decision_number, s.decision_date, count(h.id) as hosts"
        " from systems s left join hosts h on h.system_id = s.id"
    )
    params: list[Any] = []
    if agency:
        ws.require_agency(agency)
        sql += " where s.agency = ?"
        params.append(agency)
    sql += " group by s.id order by s.agency, s.position, s.code"
    return list(ws.db.query(sql, params))


def list_agencies(ws: Workspace) -> list[dict[str, Any]]:
    """Flat rows for ``agency list``."""
    return list(ws.db.query(
        "select a.code, a.name, a.kind, a.private_data_centre, count(s.id) as systems"
        " from agencies a left join systems s on s.agency = a.code group by a.code order by a.position, a.code"
    ))


