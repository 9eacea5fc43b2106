"""Inventory commands: import, export, validate; agency and system listings."""

from __future__ import annotations

from pathlib import Path

import click

from . import (
    _actor,
    _emit,
    _note,
    _open,
    cli,
    format_rows,
    output_options,
    workspace_options,
)


# -- inventory ----------------------------------------------------------------------------------
@cli.group()
def inventory() -> None:
    """Danh mục hệ thống thông tin: nhập, xuất, kiểm tra. / Inventory import, export, validate."""


@inventory.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@workspace_options
def inventory_import(path: Path, workspace: str | None, actor: str | None) -> None:
    """Nhập tệp YAML (hoặc thư mục) vào workspace, tất cả hoặc không. / Import YAML file(s), all or nothing."""
    from .. import inventory as inv

    ws = _open(workspace)
    agencies = inv.load_agencies(inv.inventory_files(path))
    summary = inv.import_agencies(ws, agencies, actor=_actor(actor), source=str(path))
    _note(f"Đã nhập {len(summary.agencies)} cơ quan, {summary.systems} hệ thống, {summary.hosts} địa chỉ "
          f"/ imported {len(summary.agencies)} agencies, {summary.systems} systems, {summary.hosts} hosts")


@inventory.command("export")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path), help="Thư mục ghi ra.")
@click.option("--agency", "agencies", multiple=True, help="Chỉ xuất cơ quan này (có thể lặp). / Only this agency.")
@workspace_options
def inventory_export(out_dir: Path, agencies: tuple[str, ...], workspace: str | None, actor: str | None) -> None:
    """Xuất danh mục ra thư mục, mỗi cơ quan một tệp YAML. / Export one YAML file per agency."""
    from .. import inventory as inv

    ws = _open(workspace)
    for code in agencies:
        ws.require_agency(code)
    written = inv.export_agencies(ws, out_dir, list(agencies) or None)
    _note(f"Đã ghi {len(written)} tệp vào {out_dir} / wrote {len(written)} files")


@inventory.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
def inventory_validate(path: Path) -> None:
    """Kiểm tra tệp/thư mục YAML mà không ghi gì. / Validate YAML file(s) without writing anything."""
    from .. import inventory as inv

    files = inv.inventory_files(path)
    agencies = inv.load_agencies(files)
    _note(f"Hợp lệ: {len(files)} tệp, {sum(len(a.systems) for a in agencies)} hệ thống / valid")


# -- listings -----------------------------------------------------------------------------------
@cli.group()
def agency() -> None:
    """Cơ quan, đơn vị. / Agencies."""


@agency.command("list")
@output_options
@workspace_options
def agency_list(fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê cơ quan. / List agencies."""
    from .. import inventory as inv

    rows = inv.list_agencies(_open(workspace))
    _emit(format_rows(rows, fmt, {"code": "Mã", "name": "Tên cơ quan", "kind": "Loại",
                                  "private_data_centre": "TTDL riêng", "systems": "Số HTTT"}))


@cli.group()
def system() -> None:
    """Hệ thống thông tin. / Information systems."""


@system.command("list")
@click.option("--agency", default=None, help="Chỉ hệ thống của cơ quan này. / Only this agency's systems.")
@output_options
@workspace_options
def system_list(agency: str | None, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê hệ thống thông tin. / List information systems."""
    from .. import inventory as inv

    rows = inv.list_systems(_open(workspace), agency)
    _emit(format_rows(rows, fmt, {
        "agency": "Cơ quan", "code": "Mã", "name": "Tên hệ thống", "critical": "Trọng yếu",
        "level_proposed": "Cấp đề xuất", "level_approved": "Cấp phê duyệt", "decision_number": "Quyết định",
        "hosts": "Địa chỉ",
    }))


