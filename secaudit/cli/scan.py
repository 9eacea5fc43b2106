"""Scanning commands."""

from __future__ import annotations

import click

from ..errors import SecauditError
from . import (
    _actor,
    _note,
    _open,
    cli,
    workspace_options,
)


# -- scanning -----------------------------------------------------------------------------------
@cli.command()
@click.argument("agency")
@click.option("--system", default=None, help="Chỉ quét hệ thống này. / Only this system.")
@click.option("--profile", "scan_profile", default="nhanh", show_default=True, help="Hồ sơ quét. / Scan profile.")
@workspace_options
def scan(agency: str, system: str | None, scan_profile: str, workspace: str | None, actor: str | None) -> None:
    """Quét các địa chỉ đã khai báo bằng nmap, lưu kết quả làm minh chứng. / Scan declared hosts with nmap."""
    from .. import scan as s

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


