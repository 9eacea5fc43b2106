"""Audit-log commands: show the change log, verify its hash chain, print its head."""

from __future__ import annotations

import click

from secaudit.cli import _emit, _note, cli, format_rows, output_options, workspace_options


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
    from secaudit.services.log import log_entries

    rows = log_entries(workspace, agency)
    for row in rows:
        row.pop("prev_hash")
        if fmt == "table":  # the full entry is in --format json/csv
            row["hash"] = row["hash"][:16]
            if len(row["detail"] or "") > 70:
                row["detail"] = row["detail"][:69] + "…"
            if len(row["subject"] or "") > 24:
                row["subject"] = row["subject"][:23] + "…"
    _emit(format_rows(rows, fmt))


@log.command("verify")
@click.option("--expect-head", "expect_head", default=None, metavar="HASH",
              help="Băm cuối đã ghi nhận trước đây (≥ 12 chữ số hex): phát hiện nhật ký bị cắt bớt hoặc viết lại."
                   " / A head hash recorded earlier: detects a truncated or rewritten log.")
@workspace_options
def log_verify(expect_head: str | None, workspace: str | None, actor: str | None) -> None:
    """Kiểm tra chuỗi băm của nhật ký. / Verify the log's hash chain."""
    from secaudit.services.log import verify_log

    head = verify_log(workspace, expect_head)
    if head:
        _note(f"Nhật ký toàn vẹn: {head[0]} mục, băm cuối {head[1]} / log intact: {head[0]} entries, head {head[1]}")
    else:
        _note("Nhật ký trống / log empty")


@log.command("head")
@workspace_options
def log_head(workspace: str | None, actor: str | None) -> None:
    """In số thứ tự và băm của mục cuối (để lưu ở nơi khác). / Print the newest entry's number and hash."""
    from secaudit.services.log import log_head

    head = log_head(workspace)
    _emit(f"{head[0]} {head[1]}\n" if head else "0 \n")
