"""Command line: thin click commands over the library.

Each command parses its options, calls one service function (``secaudit.services``) and formats
what it returns.
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
from typing import Any

import click

from secaudit import __version__, clock
from secaudit.errors import EXIT_ERROR, EXIT_NOT_MET, EXIT_USAGE, SecauditError

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
    from secaudit.services.workspace import open_workspace

    return open_workspace(workspace)


def _actor(actor: str | None) -> str:
    from secaudit.services.workspace import actor_name

    return actor_name(actor)


def _date(value: dt.datetime | None) -> dt.date:
    return value.date() if value else clock.today()


def _library() -> Any:
    from secaudit.services.workspace import library

    return library()


def _emit(text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _note(message: str) -> None:
    click.echo(message, err=True)


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, headers: dict[str, str] | None = None) -> str:
    """Rows as a table, JSON or CSV text (the listing formatter every command shares).

    Invisible format characters in the data are shown as ``<U+XXXX>`` in every format, and CSV
    cells that a spreadsheet would run as a formula get a leading apostrophe.
    """
    from secaudit.text import csv_cell, visible, visible_data

    if fmt == "json":
        return json.dumps(visible_data(list(rows)), ensure_ascii=False, indent=2, default=str) + "\n"
    keys = list(headers or (rows[0].keys() if rows else []))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([csv_cell(k) for k in keys])
        writer.writerows([csv_cell(_cell_text(r.get(k))) for k in keys] for r in rows)
        return buf.getvalue()
    from tabulate import tabulate

    if not rows:
        return "(không có dữ liệu / no rows)\n"
    titles = [visible(headers[k]) for k in keys] if headers else [visible(k) for k in keys]
    table = [[c if c is None or isinstance(c, int | float) else visible(str(c)) for c in (r.get(k) for k in keys)]
             for r in rows]
    return tabulate(table, headers=titles, tablefmt="simple") + "\n"


def _cell_text(value: Any) -> Any:
    """A CSV cell as ``csv`` would write it (None empty), so list or dict values are escaped too."""
    if value is None or isinstance(value, int | float):
        return value
    return value if isinstance(value, str) else str(value)


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
    from secaudit.services.workspace import init_workspace

    root = init_workspace(workspace, actor=actor)
    _note(f"Đã tạo workspace / created workspace: {root}")


def _register_commands() -> None:
    """Import every module of this package: each adds its commands to ``cli``."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


_register_commands()


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


__all__ = ["cli", "main"]
