"""Account operations: add, list, disable, change a password; sign in and out of the served app.

Every change is written to the audit log. Through the web, the actor is the signed-in user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from secaudit.services.workspace import Where, actor_name, open_workspace

if TYPE_CHECKING:
    from secaudit.store.accounts import Session, User


def add_user(where: Where, username: str, password: str, *, role: str, agency: str | None = None,
             actor: str | None = None) -> User:
    from secaudit.store import accounts, auditlog

    ws = open_workspace(where)
    with ws.transaction():
        user = accounts.add_user(ws, username, password, role=role, agency=agency)
        auditlog.append(ws, actor=actor_name(actor), action="user.add", agency=agency or "", subject=username,
                        detail={"role": role})
    return user


def list_users(where: Where) -> list[dict[str, Any]]:
    from secaudit.store import accounts

    return [{"username": u.username, "role": u.role, "agency": u.agency, "disabled": u.disabled,
             "created": u.created} for u in accounts.list_users(open_workspace(where))]


def disable_user(where: Where, username: str, *, enable: bool = False, actor: str | None = None) -> User:
    from secaudit.store import accounts, auditlog

    ws = open_workspace(where)
    with ws.transaction():
        user = accounts.set_disabled(ws, username, not enable)
        auditlog.append(ws, actor=actor_name(actor), action="user.enable" if enable else "user.disable",
                        agency=user.agency or "", subject=username)
    return user


def change_password(where: Where, username: str, password: str, *, actor: str | None = None) -> None:
    from secaudit.store import accounts, auditlog

    ws = open_workspace(where)
    with ws.transaction():
        accounts.set_password(ws, username, password)
        auditlog.append(ws, actor=actor_name(actor), action="user.passwd", subject=username)


def sign_in(where: Where, username: str, password: str, *, client: str = "") -> tuple[str, Session]:
    """Check the password and open a session: (cookie token, session). Raises ``SignInRefused``."""
    from secaudit.store import accounts, auditlog

    ws = open_workspace(where)
    user = accounts.authenticate(ws, username, password, client=client)
    with ws.transaction():
        token, session = accounts.start_session(ws, user)
        auditlog.append(ws, actor=user.username, action="web.signin", agency=user.agency or "",
                        subject=user.username, detail={"client": client})
    return token, session


def current_session(where: Where, token: str) -> Session | None:
    from secaudit.store import accounts

    return accounts.find_session(open_workspace(where), token)


def sign_out(where: Where, token: str, user: User) -> None:
    from secaudit.store import accounts, auditlog

    ws = open_workspace(where)
    with ws.transaction():
        accounts.end_session(ws, token)
        auditlog.append(ws, actor=user.username, action="web.signout", agency=user.agency or "",
                        subject=user.username)


def has_users(where: Where) -> bool:
    from secaudit.store import accounts

    return bool(accounts.list_users(open_workspace(where)))
