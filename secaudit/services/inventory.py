"""Inventory operations: import, export, validate, template, schema; agencies and systems."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secaudit.services.workspace import Where, actor_name, open_workspace

if TYPE_CHECKING:
    from secaudit.inventory.fields import FieldSpec
    from secaudit.inventory.models import Agency, System
    from secaudit.inventory.records import ImportSummary


def field_specs(kind: str) -> list[FieldSpec]:
    """The flat field catalogue of an ``agency`` or a ``system`` (for options, prompts, sheets)."""
    from secaudit.inventory import fields

    return {"agency": fields.AGENCY_FIELDS, "system": fields.SYSTEM_FIELDS}[kind]


def import_inventory(where: Where, path: Path, *, actor: str | None = None) -> ImportSummary:
    """Import a YAML file, a folder of them or an .xlsx workbook, all or nothing."""
    from secaudit.inventory import records

    return records.import_path(open_workspace(where), path, actor=actor_name(actor))


def export_inventory(where: Where, out: Path, fmt: str | None = None,
                     agencies: Iterable[str] = ()) -> tuple[str, int]:
    """Write the inventory as YAML files (one per agency) or one workbook; returns (format, count).

    The format defaults to the extension of ``out``; the count is agencies (xlsx) or files (yaml).
    """
    from secaudit.inventory import records

    ws = open_workspace(where)
    codes = list(agencies)
    fmt = fmt or ("xlsx" if out.suffix.lower() == ".xlsx" else "yaml")
    if fmt == "xlsx":
        return fmt, records.export_xlsx(ws, out, codes or None)
    for code in codes:
        ws.require_agency(code)
    return fmt, len(records.export_agencies(ws, out, codes or None))


def validate_inventory(path: Path) -> list[Agency]:
    """The agencies a YAML file, folder or workbook holds, validated, without writing anything."""
    from secaudit.inventory import records

    return records.load_path(path)


def write_template(out: Path) -> None:
    """Write the empty inventory workbook to fill in."""
    from secaudit.inventory import xlsx

    xlsx.write_workbook(out, [])


def inventory_schema() -> str:
    """The JSON Schema of one agency's inventory file, as text."""
    from secaudit.inventory import schema

    return schema.schema_text()


# -- agencies -------------------------------------------------------------------------------------
def list_agencies(where: Where) -> list[dict[str, Any]]:
    from secaudit.inventory import records

    return records.list_agencies(open_workspace(where))


def add_agency(where: Where, values: Mapping[str, Any], *, actor: str | None = None) -> Agency:
    """Add an agency from field texts by dotted key (``code`` included)."""
    from secaudit.inventory import records

    return records.add_agency(open_workspace(where), values, actor=actor_name(actor))


def agency_document(where: Where, code: str) -> dict[str, Any]:
    """An agency with its systems, as the inventory file would hold it."""
    from secaudit.inventory import records

    return records.agency_document(records.get_agency(open_workspace(where), code))


def agency_values(where: Where, code: str) -> dict[str, Any]:
    """An agency's current field values by dotted key (what an edit starts from)."""
    from secaudit.inventory import fields, records

    return fields.flatten(records.get_agency(open_workspace(where), code).model_dump(), field_specs("agency"))


def edit_agency(where: Where, code: str, changes: Mapping[str, Any], *, actor: str | None = None) -> Agency:
    from secaudit.inventory import records

    return records.edit_agency(open_workspace(where), code, changes, actor=actor_name(actor))


def check_agency(where: Where, code: str) -> None:
    """Raise ``NotFoundError`` unless the agency exists."""
    open_workspace(where).require_agency(code)


def remove_agency(where: Where, code: str, *, actor: str | None = None) -> None:
    from secaudit.inventory import records

    records.remove_agency(open_workspace(where), code, actor=actor_name(actor))


# -- systems --------------------------------------------------------------------------------------
def list_systems(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    from secaudit.inventory import records

    return records.list_systems(open_workspace(where), agency)


def parse_host(text: str) -> dict[str, Any]:
    """One declared host from ``'ADDR | PORTS | WEB | NOTE'``."""
    from secaudit.inventory import records

    return records.parse_host(text)


def host_text(host: Any) -> str:
    """A declared host back as ``'ADDR | PORTS | WEB | NOTE'``."""
    from secaudit.inventory import records

    return records.host_text(host)


def add_system(where: Where, agency: str, values: Mapping[str, Any], hosts: Iterable[Any] = (), *,
               actor: str | None = None) -> System:
    from secaudit.inventory import records

    return records.add_system(open_workspace(where), agency, values, hosts, actor=actor_name(actor))


def get_system(where: Where, agency: str, code: str) -> System:
    from secaudit.inventory import records

    return records.get_system(open_workspace(where), agency, code)


def system_document(where: Where, agency: str, code: str) -> dict[str, Any]:
    from secaudit.inventory import records

    return records.system_document(get_system(where, agency, code))


def system_values(system: System) -> dict[str, Any]:
    """A system's current field values by dotted key."""
    from secaudit.inventory import fields

    return fields.flatten(system.model_dump(), field_specs("system"))


def edit_system(where: Where, agency: str, code: str, changes: Mapping[str, Any], hosts: list[Any] | None = None,
                *, actor: str | None = None) -> System:
    """Change some fields; ``hosts`` None keeps the declared hosts, a list replaces them."""
    from secaudit.inventory import records

    return records.edit_system(open_workspace(where), agency, code, changes, hosts, actor=actor_name(actor))


def check_system(where: Where, agency: str, code: str) -> None:
    """Raise ``NotFoundError`` unless the system exists."""
    open_workspace(where).system_id(agency, code)


def remove_system(where: Where, agency: str, code: str, *, actor: str | None = None) -> None:
    from secaudit.inventory import records

    records.remove_system(open_workspace(where), agency, code, actor=actor_name(actor))
