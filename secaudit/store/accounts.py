"""Accounts of the served app (issue 18): users, roles, sessions, sign-in throttling, who reads what.

Passwords are kept only as argon2id hashes. A session is a random token held by the browser; the
store keeps its SHA-256, its expiry and its CSRF token, so the database alone does not yield a
usable cookie. Failed sign-ins are counted per user name and per client address over a window
(times from ``secaudit.clock``): past the limit, sign-in is refused until the window has passed,
even with the right password. The rules of who may read which agency live here too
(``can_read_agency``), so the web face and its JSON twins apply the same ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, NotFoundError, SecauditError
from secaudit.store.workspace import Workspace, now

ROLES = ("admin", "inspector", "officer", "viewer")
ROLE_LABELS = {
    "vi": {"admin": "Quản trị", "inspector": "Kiểm tra (Công an tỉnh)", "officer": "Cán bộ cơ quan",
           "viewer": "Chỉ xem"},
    "en": {"admin": "Administrator", "inspector": "Inspector", "officer": "Agency officer", "viewer": "Viewer"},
}
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
SESSION_LIFETIME = dt.timedelta(hours=8)
#: Failed sign-ins allowed per user name (and, more, per client address) within the window.
MAX_FAILURES = 5
MAX_FAILURES_PER_CLIENT = 20
FAILURE_WINDOW = dt.timedelta(minutes=15)


class SignInRefusedError(SecauditError):
    """Wrong name or password, a disabled account, or too many failed attempts (the face says which)."""

    def __init__(self, message: str, *, en: str, throttled: bool = False) -> None:
        super().__init__(message, en=en)
        self.throttled = throttled


@dataclass(frozen=True)
class User:
    """A signed-up person: ``agency`` is set for an officer and for an agency-scoped viewer."""

    username: str
    role: str
    agency: str | None
    disabled: bool = False
    created: str = ""

    @property
    def province_wide(self) -> bool:
        """Reads every agency (admin, inspector, a viewer with no agency)."""
        return self.role in ("admin", "inspector") or (self.role == "viewer" and not self.agency)

    @property
    def read_only(self) -> bool:
        return self.role == "viewer"


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires: str


def can_read_agency(user: User, agency: str) -> bool:
    """Whether ``user`` may see anything of ``agency`` (pages, JSON, reports, evidence)."""
    return user.province_wide or (user.agency is not None and user.agency == agency)


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(f"Mật khẩu phải dài từ {MIN_PASSWORD} đến {MAX_PASSWORD} ký tự",
                         en=f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    if password.strip() != password or not password.isprintable():
        raise InputError("Mật khẩu không được có khoảng trắng ở đầu, cuối hay ký tự điều khiển",
                         en="the password may not start or end with spaces or contain control characters")


def _user(row: Any) -> User:
    return User(username=row["username"], role=row["role"], agency=row["agency"] or None,
                disabled=bool(row["disabled"]), created=row["created"])


def get_user(ws: Workspace, username: str) -> User:
    row = next(iter(ws.db.query("select * from users where username = ?", [username])), None)
    if row is None:
        raise NotFoundError(f"Không có tài khoản '{username}'", en=f"no account '{username}'")
    return _user(row)


def list_users(ws: Workspace) -> list[User]:
    return [_user(r) for r in ws.db.query("select * from users order by username")]


def add_user(ws: Workspace, username: str, password: str, *, role: str, agency: str | None) -> User:
    """Create an account; an officer needs an agency, an admin or inspector has none."""
    if not USERNAME.fullmatch(username):
        raise InputError(
            f"Tên tài khoản '{username}' không hợp lệ: 2–64 ký tự a-z, 0-9, dấu chấm, gạch ngang, gạch dưới",
            en="invalid user name: 2-64 characters a-z, 0-9, '.', '-', '_'")
    if role not in ROLES:
        raise InputError(f"Vai trò '{role}' không có (chọn: {', '.join(ROLES)})", en=f"unknown role '{role}'")
    if role == "officer" and not agency:
        raise InputError("Cán bộ cơ quan (officer) phải gắn với một cơ quan: thêm --agency MÃ",
                         en="an officer belongs to one agency: add --agency CODE")
    if role in ("admin", "inspector") and agency:
        raise InputError(f"Vai trò {ROLE_LABELS['vi'][role]} xem mọi cơ quan, không gắn --agency",
                         en=f"the {role} role reads every agency; do not give --agency")
    if agency:
        ws.require_agency(agency)
    _check_password(password)
    digest = _hasher().hash(password)
    with ws.transaction():
        if ws.db.execute("select 1 from users where username = ?", [username]).fetchone():
            raise InputError(f"Đã có tài khoản '{username}'", en=f"account '{username}' already exists")
        stamp = now()
        ws.db.execute(
            "insert into users (username, password_hash, role, agency, disabled, created, changed)"
            " values (?, ?, ?, ?, 0, ?, ?)", [username, digest, role, agency or None, stamp, stamp])
    return get_user(ws, username)


def set_disabled(ws: Workspace, username: str, disabled: bool = True) -> User:
    """Disable (or enable) an account; disabling ends its sessions at once."""
    get_user(ws, username)
    with ws.transaction():
        ws.db.execute("update users set disabled = ?, changed = ? where username = ?",
                      [int(disabled), now(), username])
        if disabled:
            ws.db.execute("delete from sessions where username = ?", [username])
    return get_user(ws, username)


def set_password(ws: Workspace, username: str, password: str) -> None:
    """Change a password; every open session of the account ends."""
    get_user(ws, username)
    _check_password(password)
    digest = _hasher().hash(password)
    with ws.transaction():
        ws.db.execute("update users set password_hash = ?, changed = ? where username = ?",
                      [digest, now(), username])
        ws.db.execute("delete from sessions where username = ?", [username])


# -- signing in ------------------------------------------------------------------------------------
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so a wrong name takes as long as a wrong password."""
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_urlsafe(16)))
    return _DUMMY[0]


def _failures(ws: Workspace, column: str, value: str, since: str) -> int:
    row = ws.db.execute(f"select count(*) from signin_attempts where {column} = ? and at > ?",
                        [value, since]).fetchone()
    return int(row[0])


def throttled(ws: Workspace, username: str, client: str) -> bool:
    """Whether sign-in is refused for now: too many recent failures for this name or this address."""
    since = (clock.now() - FAILURE_WINDOW).replace(microsecond=0).isoformat()
    return (_failures(ws, "username", username, since) >= MAX_FAILURES
            or (bool(client) and _failures(ws, "client", client, since) >= MAX_FAILURES_PER_CLIENT))


def authenticate(ws: Workspace, username: str, password: str, *, client: str = "") -> User:
    """The user for a name and password, or ``SignInRefusedError`` (a failure is recorded for throttling)."""
    username = username.strip().lower()[:64]
    if throttled(ws, username, client):
        minutes = int(FAILURE_WINDOW.total_seconds() // 60)
        raise SignInRefusedError(
            f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {minutes} phút",
            en=f"too many failed sign-ins; try again in {minutes} minutes", throttled=True)
    row = next(iter(ws.db.query("select * from users where username = ?", [username])), None)
    ok = False
    from argon2.exceptions import Argon2Error

    try:
        ok = _hasher().verify(row["password_hash"] if row else _dummy_hash(), password[:MAX_PASSWORD])
    except Argon2Error:
        ok = False
    if not ok or row is None or row["disabled"]:
        with ws.transaction():
            ws.db.execute("insert into signin_attempts (username, client, at) values (?, ?, ?)",
                          [username, client, now()])
        raise SignInRefusedError("Sai tên đăng nhập hoặc mật khẩu, hoặc tài khoản đã bị khóa",
                            en="wrong user name or password, or the account is disabled")
    with ws.transaction():
        ws.db.execute("delete from signin_attempts where username = ?", [username])
    return _user(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(ws: Workspace, user: User) -> tuple[str, Session]:
    """A new session for ``user``: the token for the cookie and the session (with its CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    start = clock.now().replace(microsecond=0)
    expires = (start + SESSION_LIFETIME).isoformat()
    with ws.transaction():
        ws.db.execute("delete from sessions where expires <= ?", [start.isoformat()])
        ws.db.execute("insert into sessions (token_hash, username, created, expires, csrf) values (?, ?, ?, ?, ?)",
                      [_token_hash(token), user.username, start.isoformat(), expires, csrf])
    return token, Session(user=user, csrf=csrf, expires=expires)


def find_session(ws: Workspace, token: str) -> Session | None:
    """The live session of a cookie token, or None (unknown, expired, or its account disabled)."""
    if not token or len(token) > 200:
        return None
    row = next(iter(ws.db.query(
        "select s.csrf, s.expires, u.* from sessions s join users u on u.username = s.username"
        " where s.token_hash = ?", [_token_hash(token)])), None)
    if row is None or row["disabled"] or row["expires"] <= clock.now_text():
        return None
    return Session(user=_user(row), csrf=row["csrf"], expires=row["expires"])


def end_session(ws: Workspace, token: str) -> None:
    with ws.transaction():
        ws.db.execute("delete from sessions where token_hash = ?", [_token_hash(token)])
