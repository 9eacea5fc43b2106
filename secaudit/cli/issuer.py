"""``secaudit issuer set|show``: who issues this workspace's own documents (e.g. Công an tỉnh)."""

from __future__ import annotations

import click

from secaudit.cli import _emit, _note, cli, workspace_options

_LABELS = {"name": "Cơ quan ban hành", "parent": "Cơ quan chủ quản", "symbol": "Ký hiệu", "place": "Địa danh",
           "signer_authority": "Thẩm quyền ký", "signer_on_behalf_of": "Thay mặt", "signer_title": "Chức vụ người ký",
           "signer_name": "Người ký"}


@cli.group()
def issuer() -> None:
    """Cơ quan ban hành văn bản của workspace (tiêu đề, số, người ký, nơi nhận). / The workspace's issuer."""


@issuer.command("set")
@click.option("--name", default=None, help="Tên cơ quan ban hành, ví dụ: Công an tỉnh Nghệ An. / Issuing body.")
@click.option("--parent", default=None, help="Cơ quan chủ quản, ví dụ: Bộ Công an. / Parent body.")
@click.option("--symbol", default=None, help="Chữ viết tắt trong số ký hiệu, ví dụ: CAT-PA05. / Number symbol.")
@click.option("--place", default=None, help="Địa danh ghi trước ngày tháng, ví dụ: Nghệ An. / Place name.")
@click.option("--signer-title", default=None, help="Chức vụ người ký. / Signer's title.")
@click.option("--signer-name", default=None, help="Họ tên người ký. / Signer's name.")
@click.option("--signer-authority", default=None, help="Thẩm quyền ký: TM., KT., TL., TUQ. / Signing authority.")
@click.option("--signer-on-behalf-of", default=None, help="Ký thay/thừa lệnh ai, ví dụ: GIÁM ĐỐC. / On behalf of.")
@click.option("--recipient", "recipients", multiple=True, help="Nơi nhận (lặp lại; thay cả danh sách). / Recipient.")
@workspace_options
def issuer_set(name: str | None, parent: str | None, symbol: str | None, place: str | None,
               signer_title: str | None, signer_name: str | None, signer_authority: str | None,
               signer_on_behalf_of: str | None, recipients: tuple[str, ...], workspace: str | None,
               actor: str | None) -> None:
    """Đặt thông tin cơ quan ban hành (chỉ thay các trường được nêu). / Set the issuer (given fields only)."""
    from secaudit.services import issuer as service

    found = service.set_issuer(workspace, actor=actor, recipients=list(recipients) if recipients else None,
                               name=name, parent=parent, symbol=symbol, place=place, signer_title=signer_title,
                               signer_name=signer_name, signer_authority=signer_authority,
                               signer_on_behalf_of=signer_on_behalf_of)
    _note(f"Đã ghi cơ quan ban hành / issuer set: {found.name}")


@issuer.command("show")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def issuer_show(fmt: str, workspace: str | None, actor: str | None) -> None:
    """Xem thông tin cơ quan ban hành. / Show the issuer."""
    import json

    from secaudit.services import issuer as service

    found = service.show_issuer(workspace)
    if fmt == "json":
        _emit(json.dumps(found.to_dict() if found else None, ensure_ascii=False, indent=2) + "\n")
        return
    if found is None:
        _emit("Chưa đặt cơ quan ban hành; dùng: secaudit issuer set --name … / no issuer set\n")
        return
    data = found.to_dict()
    lines = [f"{label + ':':<20} {data[key] or '-'}" for key, label in _LABELS.items()]
    lines.append(f"{'Nơi nhận:':<20} " + ("; ".join(found.recipients) or "-"))
    if found.updated_at:
        import datetime as dt

        from secaudit.clock import VIETNAM

        stamp = dt.datetime.fromisoformat(found.updated_at).astimezone(VIETNAM)
        lines.append(f"{'Cập nhật:':<20} {stamp:%H:%M %d/%m/%Y} bởi {found.actor}")
    _emit("\n".join(lines) + "\n")
