"""Trust commands: which signing certificate speaks for which agency, at the receiver."""

from __future__ import annotations

from pathlib import Path

import click

from secaudit.cli import _emit, _note, cli, format_rows, output_options, workspace_options


@cli.group()
def trust() -> None:
    """Chứng thư ký được gắn với từng cơ quan (đặt một lần). / Agency ↔ signing-certificate bindings."""


@trust.command("add")
@click.argument("agency")
@click.argument("cert", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--auto-apply", is_flag=True,
              help="Gói ký bằng chứng thư này được tự áp dụng thay đổi địa chỉ khai báo vào phạm vi quét. / "
                   "Host changes in bundles signed with this certificate reach the scan scope without acceptance.")
@workspace_options
def trust_add(agency: str, cert: Path, auto_apply: bool, workspace: str | None, actor: str | None) -> None:
    """Gắn chứng thư ký (PEM/DER) với một cơ quan. / Bind a signing certificate (PEM/DER) to an agency."""
    from secaudit.services.exchange import trust_add as bind

    row, new, known = bind(workspace, agency, cert, actor=actor, auto_apply=auto_apply)
    verb = "Đã gắn / bound" if new else "Đã có, cập nhật chính sách / already bound, policy updated"
    _note(f"{verb}: {row['common_name'] or row['subject']} → {agency}\n"
          f"  SHA-256: {row['fingerprint']}\n"
          f"  hiệu lực / valid: {row['not_before'][:10]} – {row['not_after'][:10]}\n"
          f"  tự áp dụng địa chỉ khai báo / auto-apply hosts: {'có / yes' if row['auto_apply'] else 'không / no'}"
          + ("" if known else
             f"\n  lưu ý / note: chưa có cơ quan '{agency}' trong kiểm kê / no such agency in the inventory yet"))


@trust.command("list")
@click.option("--agency", default=None, help="Chỉ cơ quan này. / Only this agency.")
@output_options
@workspace_options
def trust_list(agency: str | None, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Các chứng thư đã gắn với cơ quan. / List the bound certificates."""
    from secaudit.services.exchange import trust_list as bindings

    rows = bindings(workspace, agency)
    if fmt == "table":
        if not rows:
            _emit("Chưa gắn chứng thư nào / no certificates bound\n")
            return
        rows = [{"agency": r["agency"], "common_name": r["common_name"], "fingerprint": r["fingerprint"][:16],
                 "valid": f"{r['not_before'][:10]} – {r['not_after'][:10]}",
                 "auto_apply": bool(r["auto_apply"]), "added_at": r["added_at"]}
                for r in rows]
    _emit(format_rows(rows, fmt))


@trust.command("remove")
@click.argument("agency")
@click.argument("cert")
@workspace_options
def trust_remove(agency: str, cert: str, workspace: str | None, actor: str | None) -> None:
    """Gỡ chứng thư (tệp hoặc dấu vân tay SHA-256) khỏi cơ quan. / Unbind a certificate (file or fingerprint)."""
    from secaudit.services.exchange import trust_remove as unbind

    for row in unbind(workspace, agency, cert, actor=actor):
        _note(f"Đã gỡ / removed: {row['common_name'] or row['subject']} ({row['fingerprint'][:16]}) khỏi / from"
              f" {agency}")
