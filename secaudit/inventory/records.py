"""Inventory in and out: agency YAML (or Excel) files ↔ the workspace database, and edits by hand.

One YAML file per agency (the ``Agency`` model), or one workbook for many (``secaudit.xlsx``).
Import validates everything first and writes all agencies in one transaction, so a bad file
anywhere leaves the store exactly as it was. Export writes files that import back to the same rows
and export again byte for byte. Edits from the command line (add, edit, remove an agency or a
system) go through the same models and the same writer, and every change — import or edit — appends
an audit-log entry in the same transaction, with what changed, so the log tells the story of the
inventory and not only that something happened.

It runs past 500 lines because reading, writing and editing share one row mapping and one writer;
splitting them would put the two halves of that mapping in different files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, NotFoundError, ValidationError
from secaudit.inventory import fields
from secaudit.inventory.models import Agency, Host, System
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace, dumps, now

_BOOL_FIELDS = {
    "critical", "admin_procedures", "online_service", "conditional_business", "state_secrets",
    "national_security_impact", "national_egov_247",
}
_LEVEL_COLUMNS = {
    "proposed": "level_proposed", "approved": "level_approved", "dossier_state": "dossier_state",
    "decision_number": "decision_number", "decision_date": "decision_date", "appraised_by": "appraised_by",
    "approved_by": "approved_by", "regulation_date": "regulation_date",
    # v0005 (secaudit.levels): dossier tracking and determination inputs, same names as the model keys
    **{key: key for key in (
        "appraised_by_kind", "approved_by_kind", "submitted_date", "appraised_date", "regulation_number",
        "expected_approval", "project_start", "private_info", "security_harm", "national_data_store",
        "international_link", "ns_important", "assigned_level", "assigned_by",
    )},
}
_JSON_AGENCY_COLUMNS = ("security_contact", "signer", "recipients")
XLSX_SUFFIXES = (".xlsx", ".xlsm")


# -- reading files -----------------------------------------------------------------------------
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


def load_path(path: Path) -> list[Agency]:
    """Agencies from a YAML file, a folder of YAML files, or an Excel workbook (by its suffix)."""
    if path.suffix.lower() in XLSX_SUFFIXES:
        from secaudit.inventory import xlsx

        return xlsx.read_workbook(path)
    return load_agencies(inventory_files(path))


def import_path(ws: Workspace, path: Path, *, actor: str) -> ImportSummary:
    """Validate everything under ``path`` (YAML or XLSX), then import it in one transaction."""
    return import_agencies(ws, load_path(path), actor=actor, source=str(path))


# -- writing -----------------------------------------------------------------------------------
@dataclass
class ImportSummary:
    """What an import changed."""

    agencies: list[str]
    systems: int
    hosts: int


def import_agencies(ws: Workspace, agencies: list[Agency], *, actor: str, source: str) -> ImportSummary:
    """Replace each given agency's inventory with the new one, all in one transaction.

    Answers, evidence, waivers and scans are kept; they refer to agencies and systems by code.
    Each agency's log entry records the hash of what was imported and which systems were added,
    removed or changed.
    """
    systems = hosts = 0
    with ws.transaction():
        for agency in agencies:
            before = get_agency(ws, agency.code) if ws.agency_exists(agency.code) else None
            _write_agency(ws, agency)
            systems += len(agency.systems)
            hosts += sum(len(s.hosts) for s in agency.systems)
            detail: dict[str, Any] = {"source": source, "sha256": document_hash(agency),
                                      "systems": [s.code for s in agency.systems]}
            detail.update(_system_changes(before, agency))
            auditlog.append(ws, actor=actor, action="inventory.import", agency=agency.code, subject=source,
                            detail=detail)
    return ImportSummary([a.code for a in agencies], systems, hosts)


def _system_changes(before: Agency | None, after: Agency) -> dict[str, list[str]]:
    old = {s.code: s for s in before.systems} if before else {}
    new = {s.code: s for s in after.systems}
    return {
        "added": [c for c in new if c not in old],
        "removed": [c for c in old if c not in new],
        "changed": [c for c in new if c in old and old[c] != new[c]],
    }


def document_hash(agency: Agency) -> str:
    """SHA-256 of the agency's canonical JSON: names exactly what an import or edit stored."""
    return hashlib.sha256(dumps(agency.model_dump(mode="json")).encode("utf-8")).hexdigest()


def _write_agency(ws: Workspace, agency: Agency) -> None:
    """Make the stored agency equal ``agency``: upsert it, keep ids of systems that stay, replace hosts."""
    db = ws.db
    existing = {r[0]: r[1] for r in db.execute("select code, id from systems where agency = ?", [agency.code])}
    row = db.execute("select position from agencies where code = ?", [agency.code]).fetchone()
    if row is not None:
        position = row[0]
    else:
        top = db.execute("select max(position) from agencies").fetchone()[0]
        position = 0 if top is None else top + 1
    arow = _agency_row(agency)
    arow["position"] = position
    cols = list(arow)
    db.execute(
        f"insert into agencies ({', '.join(cols)}) values ({', '.join('?' * len(cols))})"
        f" on conflict(code) do update set {', '.join(f'{c} = excluded.{c}' for c in cols if c != 'code')}",
        [arow[c] for c in cols],
    )
    declared = _declared_times(db, agency.code)
    db.execute("delete from hosts where system_id in (select id from systems where agency = ?)", [agency.code])
    keep = {s.code for s in agency.systems}
    gone = [(sid,) for code, sid in existing.items() if code not in keep]
    if gone:
        db.conn.executemany("delete from systems where id = ?", gone)
    host_rows: list[tuple[Any, ...]] = []
    for spos, system in enumerate(agency.systems):
        srow = _system_row(agency.code, system)
        srow["position"] = spos
        scols = list(srow)
        if system.code in existing:
            sid = existing[system.code]
            db.execute(f"update systems set {', '.join(f'{c} = ?' for c in scols)} where id = ?",
                       [*(srow[c] for c in scols), sid])
        else:
            cursor = db.execute(
                f"insert into systems ({', '.join(scols)}) values ({', '.join('?' * len(scols))})",
                [srow[c] for c in scols],
            )
            sid = cursor.lastrowid
        for hpos, host in enumerate(system.hosts):
            ports = dumps([p.model_dump(mode="json") for p in host.ports])
            host_rows.append((sid, host.address, ports, int(host.public_web), host.note, hpos,
                              _declared_at(declared.get((system.code, host.address)), ports)))
    if host_rows:
        db.conn.executemany(
            "insert into hosts (system_id, address, ports, public_web, note, position, declared_at)"
            " values (?,?,?,?,?,?,?)", host_rows
        )


def _declared_times(db: Any, agency: str) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(system, address) -> (declared_at, ports JSON) of the stored hosts, read before they are rewritten."""
    return {(code, address): (declared_at, ports) for code, address, declared_at, ports in db.execute(
        "select s.code, h.address, h.declared_at, h.ports from hosts h join systems s on s.id = h.system_id"
        " where s.agency = ?", [agency]).fetchall()}


def _declared_at(before: tuple[str | None, str] | None, ports: str) -> str:
    """A host keeps its declaration time unless it is new or declares a port or service it did not."""
    if before is not None and before[0]:
        old = {(p.get("port"), p.get("protocol"), p.get("service")) for p in json.loads(before[1] or "[]")}
        if {(p.get("port"), p.get("protocol"), p.get("service")) for p in json.loads(ports)} <= old:
            return before[0]
    return now()


def _agency_row(agency: Agency) -> dict[str, Any]:
    data = agency.model_dump(mode="json", exclude={"systems"})
    for key in _JSON_AGENCY_COLUMNS:
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
    """Codes of every stored agency, in their stored order."""
    return [r[0] for r in ws.db.execute("select code from agencies order by position, code").fetchall()]


def get_agency(ws: Workspace, code: str) -> Agency:
    """Rebuild the validated ``Agency`` model (with systems and hosts) from the store."""
    cursor = ws.db.execute("select * from agencies where code = ?", [code])
    row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"Không có cơ quan '{code}'", en=f"no agency '{code}'")
    cols = [d[0] for d in cursor.description]
    data = dict(zip(cols, row, strict=True))
    data.pop("position")
    for key in _JSON_AGENCY_COLUMNS:
        data[key] = json.loads(data[key]) if data[key] is not None else None
    if data["recipients"] is None:
        data["recipients"] = []
    data["private_data_centre"] = _from_int(data["private_data_centre"])
    hosts: dict[int, list[dict[str, Any]]] = {}
    for h in ws.db.query(
        "select h.* from hosts h join systems s on s.id = h.system_id where s.agency = ? order by h.system_id,"
        " h.position", [code]
    ):
        hosts.setdefault(h["system_id"], []).append(
            {"address": h["address"], "ports": json.loads(h["ports"] or "[]"), "public_web": bool(h["public_web"]),
             "note": h["note"]})
    data["systems"] = [system_from_row(srow, hosts) for srow in ws.db.query(
        "select * from systems where agency = ? order by position, code", [code])]
    return Agency.model_validate(drop_none(data))


_SYSTEM_KEYS = set(System.model_fields)


def system_from_row(row: dict[str, Any], hosts: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
    data = {k: v for k, v in row.items() if k in _SYSTEM_KEYS}
    for key in _BOOL_FIELDS:
        data[key] = _from_int(data[key])
    data["level"] = {key: row[column] for key, column in _LEVEL_COLUMNS.items()}
    data["hosts"] = hosts.get(row["id"], [])
    return data


def drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def get_system(ws: Workspace, agency: str, code: str) -> System:
    """One stored system as its validated model."""
    for system in get_agency(ws, agency).systems:
        if system.code == code:
            return system
    raise NotFoundError(f"Không có hệ thống '{code}' của cơ quan '{agency}'", en=f"no system '{code}' in '{agency}'")


def agency_document(agency: Agency) -> dict[str, Any]:
    """The agency as a plain mapping for YAML/JSON: unknowns and defaults left out, keys in model order."""
    data = agency.model_dump(exclude_defaults=True)
    data.setdefault("kind", agency.kind)
    for system, model in zip(data.get("systems", []), agency.systems, strict=True):
        system.setdefault("code", model.code)
        system.setdefault("name", model.name)
    return drop_none(data)


def system_document(system: System) -> dict[str, Any]:
    """One system as a plain mapping (the same shape as inside an agency file)."""
    data = system.model_dump(exclude_defaults=True)
    data.setdefault("code", system.code)
    data.setdefault("name", system.name)
    return drop_none(data)


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


def export_xlsx(ws: Workspace, out: Path, codes: list[str] | None = None) -> int:
    """Write the inventory (all agencies, or ``codes``) as one workbook; returns the agency count."""
    from secaudit.inventory import xlsx

    for code in codes or []:
        ws.require_agency(code)
    agencies = [get_agency(ws, code) for code in (codes or agency_codes(ws))]
    xlsx.write_workbook(out, agencies)
    return len(agencies)


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


# -- edits by hand -----------------------------------------------------------------------------
def parse_values(specs: list[fields.FieldSpec], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for what a person entered (keys are dotted field keys); every bad one is reported.

    The location of a problem is the command-line option that carried it (``--level-approved``).
    """
    index = fields.by_key(specs)
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, text in raw.items():
        spec = index.get(key)
        if spec is None:
            problems.append((key, f"trường không tồn tại / no such field '{key}'"))
            continue
        try:
            values[key] = spec.parse(text)
        except ValueError as exc:
            problems.append((spec.option, f"{spec.title}: {exc}"))
    if problems:
        raise ValidationError(problems, en="invalid values")
    return values


def parse_host(text: str) -> dict[str, Any]:
    """A host typed on one line: ``ADDRESS | PORTS | WEB CÔNG KHAI | GHI CHÚ`` (trailing parts optional)."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) > 4 or not parts[0]:
        raise ValueError(
            "dạng đúng: 'địa chỉ | cổng | web công khai (có/không) | ghi chú'"
            " / expected 'address | ports | public web (yes/no) | note'"
        )
    specs = fields.by_key(fields.HOST_FIELDS)
    host: dict[str, Any] = {"address": parts[0]}
    for key, value in zip(("ports", "public_web", "note"), parts[1:], strict=False):
        parsed = specs[key].parse(value)
        if parsed is not None:
            host[key] = parsed
    try:
        Host.model_validate(host)
    except PydanticError as exc:
        raise ValueError("; ".join(yamlio.error_message(dict(e)) for e in exc.errors(include_url=False))) from None
    return host


def host_text(host: Any) -> str:
    """The one-line form of a host that ``parse_host`` reads back."""
    data = host.model_dump(mode="json") if hasattr(host, "model_dump") else host
    specs = fields.by_key(fields.HOST_FIELDS)
    parts = [data["address"], specs["ports"].text(data.get("ports") or []),
             specs["public_web"].text(data.get("public_web", False)), data.get("note") or ""]
    while len(parts) > 1 and parts[-1] in ("", fields.NO):
        parts.pop()
    return " | ".join(parts)


def _parse_hosts(hosts: Iterable[Any]) -> list[dict[str, Any]]:
    out, problems = [], []
    for i, host in enumerate(hosts, 1):
        if isinstance(host, str):
            try:
                out.append(parse_host(host))
            except ValueError as exc:
                problems.append((f"--host #{i}", str(exc)))
        else:
            out.append(dict(host))
    if problems:
        raise ValidationError(problems, en="invalid hosts")
    return out


def _validate(model: type[Agency] | type[System], document: dict[str, Any], specs: list[fields.FieldSpec]) -> Any:
    """Validate a document built from flat values; errors name the option of the offending field."""
    try:
        return model.model_validate(document)
    except PydanticError as exc:
        options = {s.key: s.option for s in specs}
        problems = []
        for err in exc.errors(include_url=False):
            loc = [str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
            dotted = ".".join(loc)
            where = options.get(dotted) or (f"--host #{int(loc[1]) + 1}" if loc[:1] == ["hosts"] and len(loc) > 1
                                            else dotted or model.__name__)
            message = yamlio.error_message(dict(err))  # the same Vietnamese / English wording as file imports
            problems.append((where, f"{dotted}: {message}" if dotted and dotted != where else message))
        raise ValidationError(problems, en="the values do not make a valid record") from None


def _agency_flat(agency: Agency) -> dict[str, Any]:
    return fields.flatten(agency.model_dump(mode="python"), fields.AGENCY_FIELDS)


def _system_flat(system: System) -> dict[str, Any]:
    return fields.flatten(system.model_dump(mode="python"), fields.SYSTEM_FIELDS)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [_jsonable(old.get(k)), _jsonable(new.get(k))] for k in new if old.get(k) != new.get(k)}


def _jsonable(value: Any) -> Any:
    return json.loads(dumps(value)) if value is not None else None


def add_agency(ws: Workspace, values: Mapping[str, Any], *, actor: str) -> Agency:
    """Create an agency (no systems yet) from typed field values; refuses an existing code."""
    flat = parse_values(fields.AGENCY_FIELDS, values)
    agency = _validate(Agency, fields.nest(flat), fields.AGENCY_FIELDS)
    with ws.transaction():
        if ws.agency_exists(agency.code):
            raise InputError(f"Đã có cơ quan '{agency.code}'", en=f"agency '{agency.code}' already exists")
        _write_agency(ws, agency)
        auditlog.append(ws, actor=actor, action="agency.add", agency=agency.code, subject=agency.code,
                        detail={"sha256": document_hash(agency), "values": _jsonable(agency_document(agency))})
    return agency


def edit_agency(ws: Workspace, code: str, changes: Mapping[str, Any], *, actor: str) -> Agency:
    """Change some fields of an agency (its systems are kept); the log records old and new values."""
    if "code" in changes and changes["code"] != code:
        raise InputError("Không đổi được mã cơ quan", en="the agency code cannot be changed")
    parsed = parse_values(fields.AGENCY_FIELDS, changes)
    with ws.transaction():
        current = get_agency(ws, code)
        old = _agency_flat(current)
        flat = {**old, **parsed}
        document = fields.nest(flat)
        document["systems"] = [s.model_dump() for s in current.systems]
        agency = _validate(Agency, document, fields.AGENCY_FIELDS)
        _write_agency(ws, agency)
        auditlog.append(ws, actor=actor, action="agency.edit", agency=code, subject=code,
                        detail={"sha256": document_hash(agency), "changes": _changes(old, _agency_flat(agency))})
    return agency


def remove_agency(ws: Workspace, code: str, *, actor: str) -> None:
    """Delete an agency and its systems; refused while answers, waivers, scans or evidence refer to it."""
    with ws.transaction():
        current = get_agency(ws, code)
        refs = {table: ws.db.execute(f"select count(*) from {table} where agency = ?", [code]).fetchone()[0]
                for table in ("answers", "waivers", "scans", "evidence_refs")}
        used = {t: n for t, n in refs.items() if n}
        if used:
            listed = ", ".join(f"{t}: {n}" for t, n in used.items())
            raise InputError(
                f"Cơ quan '{code}' còn dữ liệu đánh giá ({listed}); không xóa để giữ lịch sử",
                en=f"agency '{code}' still has assessment data ({listed}); not removed, to keep the record",
            )
        ws.db.execute("delete from hosts where system_id in (select id from systems where agency = ?)", [code])
        ws.db.execute("delete from systems where agency = ?", [code])
        ws.db.execute("delete from agencies where code = ?", [code])
        auditlog.append(ws, actor=actor, action="agency.remove", agency=code, subject=code,
                        detail={"sha256": document_hash(current), "document": _jsonable(agency_document(current))})


def add_system(ws: Workspace, agency: str, values: Mapping[str, Any], hosts: Iterable[Any] = (), *,
               actor: str) -> System:
    """Add a system to an agency from typed field values and host lines; refuses an existing code."""
    flat = parse_values(fields.SYSTEM_FIELDS, values)
    document = fields.nest(flat)
    document["hosts"] = _parse_hosts(hosts)
    system = _validate(System, document, fields.SYSTEM_FIELDS)
    with ws.transaction():
        current = get_agency(ws, agency)
        if any(s.code == system.code for s in current.systems):
            raise InputError(f"Cơ quan '{agency}' đã có hệ thống '{system.code}'",
                             en=f"agency '{agency}' already has a system '{system.code}'")
        updated = current.model_copy(update={"systems": [*current.systems, system]})
        _write_agency(ws, Agency.model_validate(updated.model_dump()))
        auditlog.append(ws, actor=actor, action="system.add", agency=agency, subject=system.code,
                        detail={"values": _jsonable(system_document(system))})
    return system


def edit_system(ws: Workspace, agency: str, code: str, changes: Mapping[str, Any],
                hosts: Iterable[Any] | None = None, *, actor: str) -> System:
    """Change some fields of a system; ``hosts`` (when given) replaces its host list. Logged as a diff."""
    if "code" in changes and changes["code"] != code:
        raise InputError("Không đổi được mã hệ thống", en="the system code cannot be changed")
    parsed = parse_values(fields.SYSTEM_FIELDS, changes)
    new_hosts = _parse_hosts(hosts) if hosts is not None else None
    with ws.transaction():
        current = get_agency(ws, agency)
        index = next((i for i, s in enumerate(current.systems) if s.code == code), None)
        if index is None:
            raise NotFoundError(f"Không có hệ thống '{code}' của cơ quan '{agency}'",
                                en=f"no system '{code}' in agency '{agency}'")
        before = current.systems[index]
        old = _system_flat(before)
        document = fields.nest({**old, **parsed})
        document["hosts"] = new_hosts if new_hosts is not None else [h.model_dump() for h in before.hosts]
        system = _validate(System, document, fields.SYSTEM_FIELDS)
        systems = list(current.systems)
        systems[index] = system
        _write_agency(ws, current.model_copy(update={"systems": systems}))
        detail: dict[str, Any] = {"changes": _changes(old, _system_flat(system))}
        if system.hosts != before.hosts:
            detail["hosts"] = [[host_text(h) for h in before.hosts], [host_text(h) for h in system.hosts]]
        auditlog.append(ws, actor=actor, action="system.edit", agency=agency, subject=code, detail=detail)
    return system


def remove_system(ws: Workspace, agency: str, code: str, *, actor: str) -> None:
    """Delete one system and its hosts; answers and evidence about it stay (they are history)."""
    with ws.transaction():
        system = get_system(ws, agency, code)
        sid = ws.system_id(agency, code)
        ws.db.execute("delete from hosts where system_id = ?", [sid])
        ws.db.execute("delete from systems where id = ?", [sid])
        auditlog.append(ws, actor=actor, action="system.remove", agency=agency, subject=code,
                        detail={"document": _jsonable(system_document(system))})
