"""Inventory commands: import/export (YAML, Excel), template, schema; agency and system editing.

Editing commands take one option per field of the model (generated from ``secaudit.fields``, so
``--level-approved``, ``--security-contact-email`` …) or, with ``-i``, ask for each field in turn
with the current value as default. Either way one library call validates and writes the change,
and the change log records what changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from secaudit.cli import _emit, _note, _open, cli, format_rows, output_options, workspace_options

F = Callable[..., Any]
_PREFIX = "f_"


def _field_specs(kind: str) -> list[Any]:
    from secaudit.services.inventory import field_specs

    return list(field_specs(kind))


class _LazyFields:
    """Stands in a command's parameter list for the per-field options until they are needed."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


def _build_field_options(kind: str) -> list[click.Option]:
    """One ``--<field>`` option per field of an agency or a system (the code is an argument)."""
    options: list[click.Option] = []
    for spec in _field_specs(kind):
        if spec.key == "code":
            continue
        hint = "|".join(c for c in spec.choices if c) if spec.kind == "choice" else spec.kind.upper()
        if spec.kind == "bool":
            hint = "có|không|-"
        help_text = f"{spec.title} / {spec.description}. [{hint}]"
        if spec.kind == "lines":
            help_text += " (lặp lại được / repeatable)"
        options.append(click.Option([spec.option, _PREFIX + spec.key.replace(".", "__")], default=None,
                                    multiple=spec.kind == "lines", metavar=hint if len(hint) < 30 else "VALUE",
                                    help=help_text))
    return options


class FieldsCommand(click.Command):
    """A command with per-field options, built on first use.

    The field catalogue comes from the pydantic models; building it when the command is parsed or
    its help shown (not when the CLI loads) keeps ``secaudit --help`` from importing pydantic.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        given = list(kwargs.pop("params", None) or [])
        self._pending = given if any(isinstance(p, _LazyFields) for p in given) else None
        kwargs["params"] = [p for p in given if not isinstance(p, _LazyFields)]
        super().__init__(*args, **kwargs)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self._pending is not None:
            expanded: list[click.Parameter] = []
            for param in self._pending:
                expanded.extend(_build_field_options(param.kind) if isinstance(param, _LazyFields) else [param])
            self.params, self._pending = expanded, None
        return super().get_params(ctx)


def _field_options(kind: str) -> Callable[[F], F]:
    """Mark where the per-field options go; the command must use ``cls=FieldsCommand``."""

    def decorate(func: F) -> F:
        if not hasattr(func, "__click_params__"):
            func.__click_params__ = []  # type: ignore[attr-defined]
        func.__click_params__.append(_LazyFields(kind))  # type: ignore[attr-defined]
        return func

    return decorate


def _given(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Field values given as options, by dotted key (lists of lines joined)."""
    values: dict[str, Any] = {}
    for name in [k for k in kwargs if k.startswith(_PREFIX)]:
        value = kwargs.pop(name)
        if value is None or value == ():
            continue
        text = "\n".join(value) if isinstance(value, tuple) else value
        values[name[len(_PREFIX):].replace("__", ".")] = "" if text.strip() == "-" else text  # '-' clears
    return values


def _interactive_option(func: F) -> F:
    return click.option(
        "-i", "--interactive", is_flag=True,
        help="Hỏi lần lượt từng trường ('-' để xóa giá trị). / Prompt for each field ('-' clears).",
    )(func)


def _yes_option(func: F) -> F:
    return click.option("--yes", "-y", is_flag=True, help="Không hỏi xác nhận. / Do not ask for confirmation.")(func)


def _show_format(func: F) -> F:
    return click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
                        help="Định dạng đầu ra. / Output format.")(func)


def _emit_document(document: dict[str, Any], fmt: str) -> None:
    from secaudit import yamlio

    if fmt == "json":
        _emit(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        _emit(yamlio.dumps(document))


def _prompt_fields(specs: list[Any], current: dict[str, Any], given: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Ask for every field, defaulting to what was given or is stored; returns text by key."""
    from secaudit.inventory.fields import UNKNOWN_WORDS

    _note("Nhập giá trị; Enter giữ giá trị trong [ ], '-' để xóa (chưa rõ). / Enter keeps [value], '-' clears.")
    answers: dict[str, Any] = {}
    for spec in specs:
        if spec.key in skip:
            continue
        default = given[spec.key] if spec.key in given else spec.text(current.get(spec.key))
        if spec.kind == "choice":
            for number, code in enumerate(spec.choices, 1):
                _note(f"    {number}. {code or '(trống)'} — {spec.labels.get(code, code)}")

        def check(text: str, spec: Any = spec) -> str:
            text = text.strip()
            if spec.kind == "choice" and text.isdigit() and 1 <= int(text) <= len(spec.choices):
                text = spec.choices[int(text) - 1]
            if text in UNKNOWN_WORDS and spec.kind != "bool":
                return ""
            try:
                spec.parse(text)
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
            return text

        label = f"{spec.title} ({spec.key})" + (" *" if spec.required else "")
        answers[spec.key] = click.prompt(label, default=default or "", show_default=bool(default), value_proc=check,
                                         err=True)
    return answers


def _prompt_hosts(current: list[Any]) -> list[str] | None:
    """Ask for the host list; ``None`` keeps the current one."""
    from secaudit.services import inventory as service

    if current:
        _note("Địa chỉ hiện có / current hosts:")
        for host in current:
            _note(f"    {service.host_text(host)}")
        if click.confirm("Giữ nguyên? / keep them?", default=True, err=True):
            return None
    _note("Mỗi địa chỉ một dòng: 'địa chỉ | cổng | web công khai (có/không) | ghi chú'; Enter trống để kết thúc.")
    hosts: list[str] = []

    def check(text: str) -> str:
        if text.strip():
            try:
                service.parse_host(text)
            except ValueError as exc:
                raise click.BadParameter(str(exc)) from None
        return text

    while True:
        line = click.prompt(f"Địa chỉ #{len(hosts) + 1} / host", default="", show_default=False, value_proc=check,
                            err=True)
        if not line.strip():
            return hosts
        hosts.append(line)


def _with_retries(interactive: bool, action: Callable[[], Any], again: Callable[[], None]) -> Any:
    """Run ``action``; in interactive mode a validation error offers to answer again."""
    from secaudit.errors import ValidationError

    while True:
        try:
            return action()
        except ValidationError as exc:
            if not interactive:
                raise
            click.echo(f"Error: {exc.diagnostics()}", err=True)
            if not click.confirm("Nhập lại? / try again?", default=True, err=True):
                raise
            again()


# -- inventory ----------------------------------------------------------------------------------
@cli.group()
def inventory() -> None:
    """Danh mục hệ thống thông tin: nhập, xuất (YAML, Excel), kiểm tra. / Inventory import, export, validate."""


@inventory.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@workspace_options
def inventory_import(path: Path, workspace: str | None, actor: str | None) -> None:
    """Nhập tệp YAML, thư mục YAML hoặc tệp Excel .xlsx, tất cả hoặc không. / Import YAML or XLSX, all or nothing."""
    from secaudit.services import inventory as service

    summary = service.import_inventory(workspace, path, actor=actor)
    _note(f"Đã nhập {len(summary.agencies)} cơ quan, {summary.systems} hệ thống, {summary.hosts} địa chỉ "
          f"/ imported {len(summary.agencies)} agencies, {summary.systems} systems, {summary.hosts} hosts")


@inventory.command("export")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="Thư mục (YAML) hoặc tệp .xlsx. / Folder (YAML) or .xlsx file.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "xlsx"]), default=None,
              help="yaml: mỗi cơ quan một tệp; xlsx: một sổ Excel (mặc định theo đuôi của -o). / Output format.")
@click.option("--agency", "agencies", multiple=True, help="Chỉ xuất cơ quan này (có thể lặp). / Only this agency.")
@workspace_options
def inventory_export(out: Path, fmt: str | None, agencies: tuple[str, ...], workspace: str | None,
                     actor: str | None) -> None:
    """Xuất danh mục: YAML (mỗi cơ quan một tệp) hoặc một tệp Excel. / Export as YAML files or one workbook."""
    from secaudit.services import inventory as service

    fmt, count = service.export_inventory(workspace, out, fmt, agencies)
    if fmt == "xlsx":
        _note(f"Đã ghi {count} cơ quan vào {out} / wrote {count} agencies")
    else:
        _note(f"Đã ghi {count} tệp vào {out} / wrote {count} files")


@inventory.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
def inventory_validate(path: Path) -> None:
    """Kiểm tra tệp/thư mục YAML hoặc tệp .xlsx mà không ghi gì. / Validate YAML or XLSX without writing."""
    from secaudit.services import inventory as service

    agencies = service.validate_inventory(path)
    _note(f"Hợp lệ: {len(agencies)} cơ quan, {sum(len(a.systems) for a in agencies)} hệ thống / valid")


@inventory.command("template")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp .xlsx sẽ ghi. / The .xlsx file to write.")
def inventory_template(out: Path) -> None:
    """Ghi sổ Excel mẫu để kê khai (tiêu đề tiếng Việt, danh sách chọn, hướng dẫn). / Write the XLSX template.

    Các trang Cơ quan, Hệ thống, Cấp độ (các trường cấp độ theo NĐ 331), Địa chỉ; rê chuột lên tiêu đề để
    xem ý nghĩa cột. Dòng 3 là dòng ví dụ (mã cơ quan vi-du), luôn được bỏ qua khi nhập.
    """
    from secaudit.services import inventory as service

    service.write_template(out)
    _note(f"Đã ghi mẫu / wrote template: {out} — điền từ dòng 4; dòng 3 là ví dụ, được bỏ qua khi nhập"
          " / fill in from row 4; row 3 is an example that import skips")


@inventory.command("schema")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Ghi ra tệp thay vì stdout. / Write to a file instead of stdout.")
def inventory_schema(out: Path | None) -> None:
    """In JSON Schema của tệp danh mục một cơ quan. / Print the JSON Schema of an agency inventory file."""
    from secaudit.services import inventory as service

    text = service.inventory_schema()
    if out is None:
        _emit(text)
    else:
        out.write_text(text, encoding="utf-8")
        _note(f"Đã ghi / wrote {out}")


# -- agencies -----------------------------------------------------------------------------------
@cli.group()
def agency() -> None:
    """Cơ quan, đơn vị: liệt kê, thêm, xem, sửa, xóa. / Agencies: list, add, show, edit, remove."""


@agency.command("list")
@output_options
@workspace_options
def agency_list(fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê cơ quan. / List agencies."""
    from secaudit.services import inventory as service

    rows = service.list_agencies(workspace)
    _emit(format_rows(rows, fmt, {"code": "Mã", "name": "Tên cơ quan", "kind": "Loại",
                                  "private_data_centre": "TTDL riêng", "systems": "Số HTTT"}))


@agency.command("add", cls=FieldsCommand)
@click.argument("code")
@_field_options("agency")
@_interactive_option
@workspace_options
def agency_add(code: str, interactive: bool, workspace: str | None, actor: str | None, **kwargs: Any) -> None:
    """Thêm một cơ quan (theo tùy chọn hoặc hỏi từng trường với -i). / Add an agency."""
    from secaudit.services import inventory as service

    ws = _open(workspace)
    given = _given(kwargs)
    values = {"code": code, **given}
    specs = _field_specs("agency")

    def ask() -> None:
        values.update(_prompt_fields(specs, {}, {k: v for k, v in values.items() if k != "code"}, {"code"}))

    if interactive:
        ask()
    created = _with_retries(interactive, lambda: service.add_agency(ws, values, actor=actor), ask)
    _note(f"Đã thêm cơ quan / added agency: {created.code}")


@agency.command("show")
@click.argument("code")
@_show_format
@workspace_options
def agency_show(code: str, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Xem toàn bộ thông tin một cơ quan và các hệ thống của nó. / Show one agency with its systems."""
    from secaudit.services import inventory as service

    _emit_document(service.agency_document(workspace, code), fmt)


@agency.command("edit", cls=FieldsCommand)
@click.argument("code")
@_field_options("agency")
@_interactive_option
@workspace_options
def agency_edit(code: str, interactive: bool, workspace: str | None, actor: str | None, **kwargs: Any) -> None:
    """Sửa thông tin một cơ quan (chỉ các trường được nêu). / Change some fields of an agency."""
    from secaudit.services import inventory as service

    ws = _open(workspace)
    changes = _given(kwargs)
    specs = _field_specs("agency")

    def ask() -> None:
        current = service.agency_values(ws, code)
        changes.update(_prompt_fields(specs, current, changes, {"code"}))

    if interactive:
        ask()
    if not changes:
        raise click.UsageError("Không có gì để sửa: nêu ít nhất một tùy chọn hoặc dùng -i / nothing to change")
    _with_retries(interactive, lambda: service.edit_agency(ws, code, changes, actor=actor), ask)
    _note(f"Đã sửa cơ quan / updated agency: {code}")


@agency.command("remove")
@click.argument("code")
@_yes_option
@workspace_options
def agency_remove(code: str, yes: bool, workspace: str | None, actor: str | None) -> None:
    """Xóa một cơ quan cùng các hệ thống (khi chưa có dữ liệu đánh giá). / Remove an agency and its systems."""
    from secaudit.services import inventory as service

    ws = _open(workspace)
    service.check_agency(ws, code)
    if not yes:
        click.confirm(f"Xóa cơ quan '{code}' và mọi hệ thống của nó? / remove agency '{code}'?", abort=True, err=True)
    service.remove_agency(ws, code, actor=actor)
    _note(f"Đã xóa cơ quan / removed agency: {code}")


# -- systems ------------------------------------------------------------------------------------
@cli.group()
def system() -> None:
    """Hệ thống thông tin: liệt kê, thêm, xem, sửa, xóa. / Information systems: list, add, show, edit, remove."""


@system.command("list")
@click.option("--agency", default=None, help="Chỉ hệ thống của cơ quan này. / Only this agency's systems.")
@output_options
@workspace_options
def system_list(agency: str | None, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê hệ thống thông tin. / List information systems."""
    from secaudit.services import inventory as service

    rows = service.list_systems(workspace, agency)
    _emit(format_rows(rows, fmt, {
        "agency": "Cơ quan", "code": "Mã", "name": "Tên hệ thống", "critical": "Trọng yếu",
        "level_proposed": "Cấp đề xuất", "level_approved": "Cấp phê duyệt", "decision_number": "Quyết định",
        "hosts": "Địa chỉ",
    }))


def _host_option(func: F) -> F:
    return click.option(
        "--host", "hosts", multiple=True, metavar="'ADDR | PORTS | WEB | NOTE'",
        help="Địa chỉ khai báo, ví dụ '10.0.0.5 | 443/tcp https; 22/tcp ssh | có | Máy chủ web' (lặp lại được;"
             " khi sửa, thay toàn bộ danh sách). / A declared host (repeatable; on edit, replaces the list).",
    )(func)


@system.command("add", cls=FieldsCommand)
@click.argument("agency")
@click.argument("code")
@_field_options("system")
@_host_option
@_interactive_option
@workspace_options
def system_add(agency: str, code: str, hosts: tuple[str, ...], interactive: bool, workspace: str | None,
               actor: str | None, **kwargs: Any) -> None:
    """Thêm một hệ thống thông tin cho cơ quan. / Add an information system to an agency."""
    from secaudit.services import inventory as service

    ws = _open(workspace)
    service.check_agency(ws, agency)
    values = {"code": code, **_given(kwargs)}
    host_lines: list[str] = list(hosts)
    specs = _field_specs("system")

    def ask() -> None:
        values.update(_prompt_fields(specs, {}, {k: v for k, v in values.items() if k != "code"}, {"code"}))
        asked = _prompt_hosts([service.parse_host(h) for h in host_lines])
        if asked is not None:
            host_lines[:] = asked

    if interactive:
        ask()
    created = _with_retries(
        interactive, lambda: service.add_system(ws, agency, values, host_lines, actor=actor), ask)
    _note(f"Đã thêm hệ thống / added system: {agency}/{created.code}")


@system.command("show")
@click.argument("agency")
@click.argument("code")
@_show_format
@workspace_options
def system_show(agency: str, code: str, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Xem toàn bộ thông tin một hệ thống. / Show one information system."""
    from secaudit.services import inventory as service

    _emit_document(service.system_document(workspace, agency, code), fmt)


@system.command("edit", cls=FieldsCommand)
@click.argument("agency")
@click.argument("code")
@_field_options("system")
@_host_option
@click.option("--no-hosts", is_flag=True, help="Xóa mọi địa chỉ khai báo. / Remove every declared host.")
@_interactive_option
@workspace_options
def system_edit(agency: str, code: str, hosts: tuple[str, ...], no_hosts: bool, interactive: bool,
                workspace: str | None, actor: str | None, **kwargs: Any) -> None:
    """Sửa một hệ thống (chỉ các trường được nêu). / Change some fields of an information system."""
    from secaudit.services import inventory as service

    ws = _open(workspace)
    changes = _given(kwargs)
    if hosts and no_hosts:
        raise click.UsageError("--host và --no-hosts loại trừ nhau / --host and --no-hosts exclude each other")
    new_hosts: list[str] | None = list(hosts) if hosts else [] if no_hosts else None
    specs = _field_specs("system")

    def ask() -> None:
        nonlocal new_hosts
        current = service.get_system(ws, agency, code)
        changes.update(_prompt_fields(specs, service.system_values(current), changes, {"code"}))
        asked = _prompt_hosts([service.parse_host(h) for h in new_hosts] if new_hosts is not None else current.hosts)
        if asked is not None:
            new_hosts = asked

    if interactive:
        ask()
    if not changes and new_hosts is None:
        raise click.UsageError("Không có gì để sửa: nêu ít nhất một tùy chọn hoặc dùng -i / nothing to change")
    _with_retries(interactive,
                  lambda: service.edit_system(ws, agency, code, changes, new_hosts, actor=actor), ask)
    _note(f"Đã sửa hệ thống / updated system: {agency}/{code}")


@system.command("remove")
@click.argument("agency")
@click.argument("code")
@_yes_option
@workspace_options
def system_remove(agency: str, code: str, yes: bool, workspace: str | None, actor: str | None) -> None:
    """Xóa một hệ thống (câu trả lời và minh chứng về nó vẫn giữ). / Remove a system (its history is kept)."""
    from secaudit.services import inventory as service

    ws = _open(workspace)
    service.check_system(ws, agency, code)
    if not yes:
        click.confirm(f"Xóa hệ thống '{agency}/{code}'? / remove system?", abort=True, err=True)
    service.remove_system(ws, agency, code, actor=actor)
    _note(f"Đã xóa hệ thống / removed system: {agency}/{code}")
