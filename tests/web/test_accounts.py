"""Accounts (issue 18): argon2 hashes, roles, sessions that expire, throttled sign-in, the audit log."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from web.helpers import csrf_of, password

from secaudit.errors import InputError, NotFoundError
from secaudit.services import accounts as service
from secaudit.store import accounts
from secaudit.store.workspace import Workspace


def rows(root: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(root / "secaudit.db") as db:
        return db.execute(sql).fetchall()


def test_passwords_are_kept_as_argon2_hashes_only(web_ws: Path) -> None:
    stored = rows(web_ws, "select username, password_hash from users")
    assert len(stored) == 6
    for username, digest in stored:
        assert digest.startswith("$argon2id$") and password(username) not in digest
    listed = service.list_users(web_ws)
    assert all("password_hash" not in u for u in listed)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"username": "canbo", "role": "officer", "agency": None}, "phải gắn với một cơ quan"),
    ({"username": "thanhtra2", "role": "inspector", "agency": "so-khcn"}, "không gắn --agency"),
    ({"username": "canbo", "role": "officer", "agency": "khong-co"}, "Không có cơ quan"),
    ({"username": "Bad Name", "role": "viewer", "agency": None}, "không hợp lệ"),
    ({"username": "thanhtra", "role": "viewer", "agency": None}, "Đã có tài khoản"),
    ({"username": "canbo", "role": "root", "agency": None}, "Vai trò"),
])
def test_bad_accounts_are_refused_and_nothing_changes(web_ws: Path, kwargs: dict[str, Any], words: str) -> None:
    before = rows(web_ws, "select * from users order by username") + rows(web_ws, "select count(*) from log")
    with pytest.raises((InputError, NotFoundError)) as caught:
        service.add_user(web_ws, password=password("x"), actor="pytest", **kwargs)
    assert words in caught.value.message
    assert rows(web_ws, "select * from users order by username") + rows(web_ws, "select count(*) from log") == before


def test_short_password_refused(web_ws: Path) -> None:
    with pytest.raises(InputError, match="Mật khẩu phải dài"):
        service.add_user(web_ws, "ngan", "ngan", role="viewer")


def test_failed_sign_ins_are_throttled_for_a_while(web_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After MAX_FAILURES wrong passwords even the right one is refused, until the window has passed."""
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.SignInRefusedError) as wrong:
            service.sign_in(web_ws, "thanhtra", "sai-mat-khau-roi", client="127.0.0.1")
        assert not wrong.value.throttled
    with pytest.raises(accounts.SignInRefusedError) as refused:
        service.sign_in(web_ws, "thanhtra", password("thanhtra"), client="127.0.0.1")
    assert refused.value.throttled and "thử lại sau" in refused.value.message
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:14:00+07:00")
    with pytest.raises(accounts.SignInRefusedError):
        service.sign_in(web_ws, "thanhtra", password("thanhtra"), client="127.0.0.1")
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:16:00+07:00")
    token, session = service.sign_in(web_ws, "thanhtra", password("thanhtra"), client="127.0.0.1")
    assert session.user.role == "inspector" and token


def test_throttling_through_the_web(client_for: Callable[[str | None], Any]) -> None:
    client = client_for(None)
    token = csrf_of(client.get("/dang-nhap").text)
    codes = []
    for _ in range(accounts.MAX_FAILURES):
        reply = client.post("/dang-nhap", data={"csrf": token, "username": "canbo-khcn", "password": "sai-sai-sai-sai"})
        codes.append(reply.status_code)
        token = csrf_of(reply.text)
        assert "Sai tên đăng nhập hoặc mật khẩu" in reply.text
    reply = client.post("/dang-nhap", data={"csrf": token, "username": "canbo-khcn",
                                            "password": password("canbo-khcn")}, follow_redirects=False)
    assert codes == [401] * accounts.MAX_FAILURES
    assert reply.status_code == 429 and "quá nhiều lần" in reply.text
    assert "secaudit_session" not in client.cookies


def test_unknown_user_and_disabled_account_are_refused_alike(web_ws: Path) -> None:
    with pytest.raises(accounts.SignInRefusedError) as unknown:
        service.sign_in(web_ws, "khong-ai", "mat-khau-bat-ky-1")
    service.disable_user(web_ws, "canbo-khcn", actor="pytest")
    with pytest.raises(accounts.SignInRefusedError) as disabled:
        service.sign_in(web_ws, "canbo-khcn", password("canbo-khcn"))
    assert unknown.value.message == disabled.value.message


def test_sessions_expire(web_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token, _ = service.sign_in(web_ws, "thanhtra", password("thanhtra"))
    assert service.current_session(web_ws, token) is not None
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T16:59:00+07:00")
    assert service.current_session(web_ws, token) is not None
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T17:00:01+07:00")  # 8 hours after sign-in
    assert service.current_session(web_ws, token) is None


def test_disable_and_password_change_end_sessions(web_ws: Path) -> None:
    first, _ = service.sign_in(web_ws, "canbo-khcn", password("canbo-khcn"))
    second, _ = service.sign_in(web_ws, "xem-khcn", password("xem-khcn"))
    service.disable_user(web_ws, "canbo-khcn", actor="quantri")
    service.change_password(web_ws, "xem-khcn", "mat-khau-moi-hoan-toan", actor="quantri")
    assert service.current_session(web_ws, first) is None
    assert service.current_session(web_ws, second) is None
    service.sign_in(web_ws, "xem-khcn", "mat-khau-moi-hoan-toan")
    assert rows(web_ws, "select count(*) from sessions where token_hash = '" + first + "'") == [(0,)]


def test_the_audit_log_names_the_signed_in_user(client_for: Callable[[str | None], Any], web_ws: Path) -> None:
    client = client_for("canbo-khcn")
    client.post("/dang-xuat", data={"csrf": csrf_of(client.get("/nhat-ky").text)})
    log = rows(web_ws, "select actor, action, agency, subject from log where action like 'web.%' order by seq")
    assert log == [("canbo-khcn", "web.signin", "so-khcn", "canbo-khcn"),
                   ("canbo-khcn", "web.signout", "so-khcn", "canbo-khcn")]
    assert ("pytest", "user.add") in rows(web_ws, "select actor, action from log")
    ws = Workspace.open(web_ws)
    try:
        from secaudit.store.auditlog import verify

        assert verify(ws) == []
    finally:
        ws.close()


# -- the command line ------------------------------------------------------------------------------
def test_user_commands(web_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from secaudit.cli import cli

    monkeypatch.setenv("SECAUDIT_WORKSPACE", str(web_ws))
    monkeypatch.setenv("SECAUDIT_ACTOR", "quantri")
    runner = CliRunner()
    added = runner.invoke(cli, ["user", "add", "canbo-yte", "--role", "officer", "--agency", "so-y-te",
                                "--password-stdin"], input="mat-khau-so-y-te-1\n")
    assert added.exit_code == 0, added.output
    prompted = runner.invoke(cli, ["user", "add", "xem-them", "--role", "viewer"],
                             input="mat-khau-xem-them-1\nmat-khau-xem-them-1\n")
    assert prompted.exit_code == 0, prompted.output
    mismatch = runner.invoke(cli, ["user", "add", "xem-sai", "--role", "viewer"],
                             input="mat-khau-xem-sai-11\nkhac-han-roi-1234\n" * 3)
    assert mismatch.exit_code != 0
    listed = json.loads(runner.invoke(cli, ["user", "list", "--format", "json"]).output)
    assert {u["username"] for u in listed} >= {"canbo-yte", "xem-them"} and "xem-sai" not in str(listed)
    assert not any("hash" in key for u in listed for key in u)
    assert runner.invoke(cli, ["user", "disable", "canbo-yte"]).exit_code == 0
    changed = runner.invoke(cli, ["user", "passwd", "xem-them", "--password-stdin"], input="mat-khau-doi-roi-99\n")
    assert changed.exit_code == 0
    service.sign_in(web_ws, "xem-them", "mat-khau-doi-roi-99")
    with pytest.raises(accounts.SignInRefusedError):
        service.sign_in(web_ws, "canbo-yte", "mat-khau-so-y-te-1")
    actions = rows(web_ws, "select actor, action, subject from log where action like 'user.%' and actor = 'quantri'")
    assert actions == [("quantri", "user.add", "canbo-yte"), ("quantri", "user.add", "xem-them"),
                       ("quantri", "user.disable", "canbo-yte"), ("quantri", "user.passwd", "xem-them")]


def test_serve_refuses_an_exposed_address_without_tls(cli: Any, web_ws: Path, tmp_path: Path) -> None:
    from secaudit.cli.serve import check_binding, is_loopback

    result = cli("serve", "-w", str(web_ws), "--host", "0.0.0.0")
    assert result.code == 1 and "--tls-cert" in result.err and "--insecure-http" in result.err
    assert "Traceback" not in result.err
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "192.168.1.10", "::", "example.org"))
    assert check_binding("192.168.1.10", None, None, True) is False
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    assert check_binding("0.0.0.0", cert, cert, False) is True
    with pytest.raises(InputError, match="cả --tls-cert và --tls-key"):
        check_binding("127.0.0.1", cert, None, False)
