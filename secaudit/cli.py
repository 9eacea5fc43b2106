"""Command line: thin click commands over the library.

Each command opens the workspace, calls one library function and writes what it returns.
Errors from the library (``SecauditError``) become ``Error: …`` and an exit code in ``main`` —
the only place that catches them. Documents go to stdout or ``-o``; progress and summaries go to
stderr, so ``secaudit status --format json | jq`` stays clean.

Exit codes: 0 ok, 1 error, 2 usage, 3 requirements not met.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import EXIT_ERROR, EXIT_NOT_MET, EXIT_USAGE, InputError, SecauditError

F = Callable[..., Any]


class NotMet(click.exceptions.Exit):
    """Raised to leave with exit code 3 after the document was written."""

    def __init__(self) -> None:
        super().__init__(EXIT_NOT_MET)


# -- shared options -------------------------------------------------------------------------------
def workspace_options(func: F) -> F:
    """``--workspace`` and ``--actor`` on every command that touches a workspace."""
    func = click.option(
        "--workspace", "-w", "workspace", envvar="SECAUDIT_WORKSPACE", default=None, metavar="DIR",
        help="Thư mục workspace (mặc định $SECAUDIT_WORKSPACE hoặc ./.secaudit). / Workspace folder.",
    )(func)
    func = click.option(
        "--actor", default=None, metavar="NAME",
        help="Tên người thực hiện ghi vào nhật ký (mặc định $SECAUDIT_ACTOR hoặc tên đăng nhập). / Who acts.",
    )(func)
    return func


def output_options(func: F) -> F:
    """``--format table|json|csv`` for listing commands."""
    return click.option(
        "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
        help="Định dạng đầu ra. / Output format.",
    )(func)


def as_of_option(func: F) -> F:
    return click.option(
        "--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
        help="Đánh giá tại ngày này (mặc định hôm nay). / Evaluate as of this date (default today).",
    )(func)


def profile_option(func: F) -> F:
    return click.option(
        "--profile", "profile", default="tu-danh-gia", show_default=True,
        help="Hồ sơ đánh giá (profiles/*.yaml). / Assessment profile.",
    )(func)


def _open(workspace: str | None) -> Any:
    from .store import Workspace, resolve_workspace

    return Workspace.open(resolve_workspace(workspace))


def _actor(actor: str | None) -> str:
    from .auditlog import default_actor

    return actor or default_actor()


def _date(value: dt.datetime | None) -> dt.date:
    return value.date() if value else dt.date.today()


def _library() -> Any:
    from .content import Library

    return Library()


def _emit(text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _note(message: str) -> None:
    click.echo(message, err=True)


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, headers: dict[str, str] | None = None) -> str:
    """Rows as a table, JSON or CSV text (the listing formatter every command shares)."""
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2, default=str) + "\n"
    keys = list(headers or (rows[0].keys() if rows else []))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    from tabulate import tabulate

    if not rows:
        return "(không có dữ liệu / no rows)\n"
    titles = [headers[k] for k in keys] if headers else keys
    return tabulate([[r.get(k) for k in keys] for r in rows], headers=titles, tablefmt="simple") + "\n"


# -- the group ----------------------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="secaudit")
@click.option("--verbose", "-v", is_flag=True, help="Hiện chi tiết lỗi (traceback). / Show tracebacks on error.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """secaudit — kiểm tra, đánh giá tuân thủ an ninh mạng cho hệ thống thông tin cơ quan nhà nước.

    Compliance and audit of information-system security for Vietnamese state agencies
    (Kế hoạch 04-KH/BCĐTW, Kế hoạch 92A/KH-UBND Nghệ An, Nghị định 331/2026/NĐ-CP).

    Exit codes: 0 ok, 1 error, 2 usage, 3 requirements not met.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


@cli.command()
@workspace_options
def init(workspace: str | None, actor: str | None) -> None:
    """Tạo workspace mới (CSDL SQLite và kho minh chứng). / Create a new workspace."""
    from . import auditlog
    from .store import Workspace, resolve_workspace

    ws = Workspace.create(resolve_workspace(workspace))
    auditlog.append(ws, actor=_actor(actor), action="workspace.init", subject=str(ws.root))
    _note(f"Đã tạo workspace / created workspace: {ws.root}")


# -- inventory ----------------------------------------------------------------------------------
@cli.group()
def inventory() -> None:
    """Danh mục hệ thống thông tin: nhập, xuất, kiểm tra. / Inventory import, export, validate."""


@inventory.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@workspace_options
def inventory_import(path: Path, workspace: str | None, actor: str | None) -> None:
    """Nhập tệp YAML (hoặc thư mục) vào workspace, tất cả hoặc không. / Import YAML file(s), all or nothing."""
    from . import inventory as inv

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
    from . import inventory as inv

    ws = _open(workspace)
    for code in agencies:
        ws.require_agency(code)
    written = inv.export_agencies(ws, out_dir, list(agencies) or None)
    _note(f"Đã ghi {len(written)} tệp vào {out_dir} / wrote {len(written)} files")


@inventory.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
def inventory_validate(path: Path) -> None:
    """Kiểm tra tệp/thư mục YAML mà không ghi gì. / Validate YAML file(s) without writing anything."""
    from . import inventory as inv

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
    from . import inventory as inv

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
    from . import inventory as inv

    rows = inv.list_systems(_open(workspace), agency)
    _emit(format_rows(rows, fmt, {
        "agency": "Cơ quan", "code": "Mã", "name": "Tên hệ thống", "critical": "Trọng yếu",
        "level_proposed": "Cấp đề xuất", "level_approved": "Cấp phê duyệt", "decision_number": "Quyết định",
        "hosts": "Địa chỉ",
    }))


# -- requirements -------------------------------------------------------------------------------
@cli.group()
def checklist() -> None:
    """Bộ tiêu chí (yêu cầu dưới dạng dữ liệu). / Checklists."""


@checklist.command("list")
@output_options
def checklist_list(fmt: str) -> None:
    """Liệt kê bộ tiêu chí. / List checklists."""
    lib = _library()
    rows = [{"id": c.id, "title": c.title, "from": c.effective.from_, "until": c.effective.until,
             "items": len(c.items)} for c in lib.checklists.values()]
    _emit(format_rows(rows, fmt))


@checklist.command("show")
@click.argument("checklist_id")
@output_options
def checklist_show(checklist_id: str, fmt: str) -> None:
    """Hiện các mục của một bộ tiêu chí. / Show a checklist's items."""
    lib = _library()
    c = lib.checklist(checklist_id)
    rows = [{"id": i.id, "parent": i.parent or "", "scope": i.scope, "deadline": i.deadline,
             "title": i.short or i.title, "basis": "; ".join(b.cite(lib.registry) for b in i.basis)} for i in c.items]
    _emit(format_rows(rows, fmt))


@checklist.command("validate")
def checklist_validate() -> None:
    """Kiểm tra mọi bộ tiêu chí và hồ sơ đi kèm. / Validate all shipped checklists and profiles."""
    ids = _library().validate_all()
    _note(f"Hợp lệ / valid: {', '.join(ids)}")


@cli.group()
def profile() -> None:
    """Hồ sơ đánh giá (tự đánh giá, kiểm tra). / Assessment profiles."""


@profile.command("list")
@output_options
def profile_list(fmt: str) -> None:
    """Liệt kê hồ sơ. / List profiles."""
    lib = _library()
    from . import yamlio

    rows = []
    for path in lib.profile_paths():
        data = yamlio.load(path).data
        rows.append({"id": path.stem, "kind": "scan" if "scan" in data else "assessment", "title": data.get("title")})
    _emit(format_rows(rows, fmt))


@profile.command("show")
@click.argument("profile_id")
def profile_show(profile_id: str) -> None:
    """Hiện hồ sơ đã giải quyết 'extends' và lựa chọn. / Show a resolved profile."""
    p = _library().resolve_profile(profile_id)
    _emit(json.dumps({"id": p.id, "title": p.title, "chain": p.chain, "checklists": p.checklists,
                      "excluded": sorted(p.excluded), "vars": p.vars}, ensure_ascii=False, indent=2) + "\n")


# -- assessment ---------------------------------------------------------------------------------
@cli.command()
@click.argument("agency")
@click.option("--answers", "answers", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              required=True, help="Tệp YAML câu trả lời. / Answers YAML file.")
@workspace_options
def assess(agency: str, answers: Path, workspace: str | None, actor: str | None) -> None:
    """Ghi nhận kết quả tự đánh giá từ tệp trả lời. / Record answers from a file."""
    from . import assess as a

    ws = _open(workspace)
    count = a.import_answers(ws, _library(), answers, agency=agency, actor=_actor(actor))
    _note(f"Đã ghi {count} câu trả lời cho {agency} / recorded {count} answers")


@cli.command()
@click.argument("item")
@click.option("--agency", required=True, help="Cơ quan. / Agency.")
@click.option("--system", default=None, help="Hệ thống (với mục theo hệ thống). / System.")
@click.option("--reason", required=True, help="Lý do miễn trừ. / Reason.")
@click.option("--approved-by", required=True, help="Người/cấp phê duyệt. / Approver.")
@click.option("--until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Hiệu lực đến ngày.")
@workspace_options
def waive(item: str, agency: str, system: str | None, reason: str, approved_by: str, until: dt.datetime,
          workspace: str | None, actor: str | None) -> None:
    """Miễn trừ một yêu cầu (CHECKLIST:ITEM) có thời hạn. / Waive a requirement until a date."""
    from . import assess as a

    ws = _open(workspace)
    wid = a.add_waiver(ws, _library(), agency=agency, system=system, ref=item, reason=reason,
                       approved_by=approved_by, until=until.date(), actor=_actor(actor))
    _note(f"Đã ghi miễn trừ #{wid} / waiver #{wid} recorded")


@cli.command()
@click.argument("agency", required=False)
@as_of_option
@profile_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def status(agency: str | None, as_of: dt.datetime | None, profile: str, fmt: str, workspace: str | None,
           actor: str | None) -> None:
    """Tình trạng từng nhiệm vụ theo cơ quan; thoát mã 3 nếu còn yêu cầu chưa đạt. / Status matrix."""
    from . import assess as a
    from . import inventory as inv

    ws = _open(workspace)
    lib = _library()
    resolved = lib.resolve_profile(profile)
    day = _date(as_of)
    codes = [agency] if agency else inv.agency_codes(ws)
    if agency:
        ws.require_agency(agency)
    results = [a.evaluate_agency(ws, lib, code, as_of=day, profile=resolved) for code in codes]
    if fmt == "json":
        _emit(a.results_json(results))
    elif agency:
        _emit(_status_detail(results[0], lib))
    else:
        _emit(_status_matrix(results, lib))
    if not all(r.met for r in results):
        raise NotMet()


def _status_detail(result: Any, lib: Any) -> str:
    from .assess import LABELS

    rows = []
    for r in result.results:
        item = lib.checklist(r.checklist).item(r.item)
        rows.append({"item": f"{'  ' if item.parent else ''}{r.item}", "title": (item.short or item.title)[:48],
                     "deadline": r.deadline or "", "status": LABELS["vi"][r.status],
                     "overdue": "QUÁ HẠN" if r.overdue else "", "reason": (r.reasons[0] if r.reasons else "")[:90]})
    head = f"{result.agency} — tính đến {result.as_of} — hồ sơ {result.profile}\n"
    return head + format_rows(rows, "table", {"item": "Mục", "title": "Nội dung", "deadline": "Hạn",
                                              "status": "Trạng thái", "overdue": "", "reason": "Lý do"})


def _status_matrix(results: list[Any], lib: Any) -> str:
    """Items down, agencies across: fits a terminal for a province's worth of agencies."""
    from .assess import LABELS

    if not results:
        return "(không có cơ quan / no agencies)\n"
    rows = []
    for index, first in enumerate(results[0].results):
        item = lib.checklist(first.checklist).item(first.item)
        if item.parent is not None:
            continue
        row = {"item": first.item, "deadline": first.deadline or ""}
        for res in results:
            r = res.results[index]
            row[res.agency] = LABELS["vi"][r.status] + ("*" if r.overdue else "")
        rows.append(row)
    headers = {"item": "Mục", "deadline": "Hạn", **{res.agency: res.agency for res in results}}
    return f"Tính đến {results[0].as_of} — hồ sơ {results[0].profile}\n" + format_rows(rows, "table", headers) + \
        "* quá hạn / overdue\n"


# -- scanning -----------------------------------------------------------------------------------
@cli.command()
@click.argument("agency")
@click.option("--system", default=None, help="Chỉ quét hệ thống này. / Only this system.")
@click.option("--profile", "scan_profile", default="nhanh", show_default=True, help="Hồ sơ quét. / Scan profile.")
@workspace_options
def scan(agency: str, system: str | None, scan_profile: str, workspace: str | None, actor: str | None) -> None:
    """Quét các địa chỉ đã khai báo bằng nmap, lưu kết quả làm minh chứng. / Scan declared hosts with nmap."""
    from . import scan as s

    ws = _open(workspace)
    _note(f"Đang quét {agency}… / scanning")
    out = s.scan_agency(ws, agency, system=system, profile_id=scan_profile, actor=_actor(actor))
    for address, state in out.hosts.items():
        _note(f"  {address}: {state}")
    _note(f"Lần quét #{out.scan_id}: {out.status}; {out.open_ports} cổng mở, {out.findings} phát hiện"
          f" / scan #{out.scan_id}: {out.status}, {out.open_ports} open ports, {out.findings} findings")
    if out.status != "complete":
        raise SecauditError(f"Lần quét #{out.scan_id} không hoàn tất: {out.error or out.status}",
                            en=f"scan #{out.scan_id} incomplete")


# -- reports ------------------------------------------------------------------------------------
@cli.command()
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Định dạng báo cáo. / Report format.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="Tệp ghi ra. / Output file.")
@as_of_option
@profile_option
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Ngôn ngữ.")
@click.option("--template-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Thư mục mẫu thay thế (ghi đè từng tệp). / Override templates.")
@workspace_options
def report(agency: str, fmt: str, output: Path, as_of: dt.datetime | None, profile: str, lang: str,
           template_dir: Path | None, workspace: str | None, actor: str | None) -> None:
    """Lập báo cáo minh chứng của cơ quan (PDF/HTML). / Render an agency's evidence report."""
    from . import report as rep

    ws = _open(workspace)
    lib = _library()
    day = _date(as_of)
    data = rep.build_report(ws, lib, agency, as_of=day, profile=lib.resolve_profile(profile), lang=lang)
    html = rep.render_html(data, template_dir=template_dir)
    if fmt == "html":
        payload = html
    else:
        payload = rep.render_pdf(html, title=f"Báo cáo an ninh mạng — {data.agency['name']}",
                                 author=data.agency["name"], as_of=day)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi báo cáo / wrote report: {output}")


# -- audit log ----------------------------------------------------------------------------------
@cli.group(invoke_without_command=True)
@click.option("--agency", default=None, help="Chỉ mục của cơ quan này. / Only this agency.")
@output_options
@workspace_options
@click.pass_context
def log(ctx: click.Context, agency: str | None, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Nhật ký thay đổi (chuỗi băm chống sửa). / The tamper-evident change log."""
    if ctx.invoked_subcommand is not None:
        return
    from . import auditlog

    rows = auditlog.entries(_open(workspace), agency)
    for row in rows:
        row["hash"] = row["hash"][:16]
        row.pop("prev_hash")
    _emit(format_rows(rows, fmt))


@log.command("verify")
@workspace_options
def log_verify(workspace: str | None, actor: str | None) -> None:
    """Kiểm tra chuỗi băm của nhật ký. / Verify the log's hash chain."""
    from . import auditlog

    problems = auditlog.verify(_open(workspace))
    if problems:
        raise SecauditError("\n".join(f"mục #{p.seq}: {p.problem}" for p in problems),
                            en="audit log verification failed")
    _note("Nhật ký toàn vẹn / log intact")


# -- entry point --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place where library errors become messages and exit codes."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    try:
        rc = cli.main(args=list(argv) if argv is not None else None, prog_name="secaudit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Đã hủy / aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except SecauditError as exc:
        if verbose:
            traceback.print_exc()
        click.echo(f"Error: {exc.diagnostics()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Đã ngắt / interrupted", err=True)
        return 130
    return rc if isinstance(rc, int) else 0


__all__ = ["InputError", "cli", "main"]
