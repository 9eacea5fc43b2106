"""Accounts for ``secaudit serve`` (issue 18): users, server-side sessions, sign-in attempts.

``users`` holds an argon2 hash, never a password; a role (admin, inspector, officer, viewer) and,
for officers and agency-scoped viewers, the one agency they may read. ``sessions`` keeps the
SHA-256 of the random token the browser holds (a stolen database does not yield live cookies),
its expiry and its CSRF token. ``signin_attempts`` records failed sign-ins so repeated guessing
is throttled by name and by address.
"""

from __future__ import annotations

from typing import Any

VERSION = 14


def upgrade(db: Any) -> None:
    """Create the three account tables."""
    db["users"].create(
        {"username": str, "password_hash": str, "role": str, "agency": str, "disabled": int, "created": str,
         "changed": str},
        pk="username", not_null={"password_hash", "role", "created"},
    )
    db["sessions"].create(
        {"token_hash": str, "username": str, "created": str, "expires": str, "csrf": str},
        pk="token_hash", not_null={"username", "created", "expires", "csrf"},
        foreign_keys=[("username", "users", "username")],
    )
    db["sessions"].create_index(["username"])
    db["signin_attempts"].create(
        {"id": int, "username": str, "client": str, "at": str},
        pk="id", not_null={"username", "at"},
    )
    db["signin_attempts"].create_index(["username", "at"])
    db["signin_attempts"].create_index(["client", "at"])
