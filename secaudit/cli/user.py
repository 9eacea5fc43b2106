"""``secaudit user``: accounts of the served app (add, list, disable, enable, passwd)."""

from __future__ import annotations

import sys

import click

from secaudit.cli import _emit, _note, cli, format_rows, output_options, workspace_options

ROLE_CHOICE = click.Choice(["admin", "inspector", "officer", "viewer"])


def _password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=(
        "Nhập lại mật khẩu / repeat the password"), err=True))


@cli.group()
def user() -> None:
    """Tài khoản đăng nhập 'secaudit serve'. / Accounts of the web app."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICE, required=True,
              help="admin: quản trị; inspector: Công an tỉnh, xem mọi cơ quan; officer: cán bộ một cơ quan;"
                   " viewer: chỉ xem. / Role.")
@click.option("--agency", default=None, metavar="MÃ",
              help="Cơ quan của officer (hoặc viewer chỉ xem một cơ quan). / The officer's agency.")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ một dòng stdin. / Read the password from stdin.")
@workspace_options
def user_add(username: str, role: str, agency: str | None, password_stdin: bool, workspace: str | None,
             actor: str | None) -> None:
    """Tạo tài khoản. / Create an account."""
    from secaudit.services.accounts import add_user

    created = add_user(workspace, username, _password(password_stdin), role=role, agency=agency, actor=actor)
    _note(f"Đã tạo tài khoản {created.username} ({created.role}) / account created")


@user.command("list")
@output_options
@workspace_options
def user_list(fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê tài khoản (không bao giờ in mật khẩu). / List accounts."""
    from secaudit.services.accounts import list_users

    _emit(format_rows(list_users(workspace), fmt, headers={
        "username": "Tài khoản", "role": "Vai trò", "agency": "Cơ quan", "disabled": "Đã khóa",
        "created": "Tạo lúc"}))


@user.command("disable")
@click.argument("username")
@workspace_options
def user_disable(username: str, workspace: str | None, actor: str | None) -> None:
    """Khóa tài khoản và kết thúc mọi phiên của nó. / Disable an account and end its sessions."""
    from secaudit.services.accounts import disable_user

    disable_user(workspace, username, actor=actor)
    _note(f"Đã khóa tài khoản {username} / account disabled")


@user.command("enable")
@click.argument("username")
@workspace_options
def user_enable(username: str, workspace: str | None, actor: str | None) -> None:
    """Mở khóa tài khoản. / Enable an account again."""
    from secaudit.services.accounts import disable_user

    disable_user(workspace, username, enable=True, actor=actor)
    _note(f"Đã mở khóa tài khoản {username} / account enabled")


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ một dòng stdin. / Read the password from stdin.")
@workspace_options
def user_passwd(username: str, password_stdin: bool, workspace: str | None, actor: str | None) -> None:
    """Đổi mật khẩu (các phiên đang mở bị kết thúc). / Change a password (open sessions end)."""
    from secaudit.services.accounts import change_password

    change_password(workspace, username, _password(password_stdin), actor=actor)
    _note(f"Đã đổi mật khẩu của {username} / password changed")
