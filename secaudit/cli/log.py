"""Audit-log commands."""

from __future__ import annotations

import click

from ..errors import SecauditError
from . import (
    _emit,
    _note,
    _open,
    cli,
    format_rows,
    output_options,
    workspace_options,
)


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
    from .. import auditlog

    rows = auditlog.entries(_open(workspace), agency)
    for row in rows:
        row["hash"] = row["hash"][:16]
        row.pop("prev_hash")
    _emit(format_rows(rows, fmt))


@log.command("verify")
@workspace_options
def log_verify(workspace: str | None, actor: str | None) -> None:
    """Kiểm tra chuỗi băm của nhật ký. / Verify the log's hash chain."""
    from .. import auditlog

    problems = auditlog.verify(_open(workspace))
    if problems:
        raise SecauditError("\n".join(f"mục #{p.seq}: {p.problem}" for p in problems),
                            en="audit log verification failed")
    _note("Nhật ký toàn vẹn / log intact")


