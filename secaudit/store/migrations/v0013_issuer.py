"""The workspace's own identity as an issuer of documents (issue 16).

A province workspace belongs to Công an tỉnh, not to any of the agencies whose bundles it holds,
so an inspection report must carry the police's header, number, signer and recipients — never the
inspected agency's. ``issuer`` holds that identity as one row (``id`` = 1), set with
``secaudit issuer set``; ``recipients`` is a JSON list. Idempotent, so a workspace that reached a
later version before this one existed can still be given the table (``exchange.issuer``).
"""

from __future__ import annotations

from typing import Any

VERSION = 13


def upgrade(db: Any) -> None:
    """Create ``issuer`` (one row)."""
    if "issuer" in db.table_names():
        return
    db["issuer"].create(
        {
            "id": int, "name": str, "parent": str, "symbol": str, "place": str, "signer_authority": str,
            "signer_on_behalf_of": str, "signer_title": str, "signer_name": str, "recipients": str,
            "updated_at": str, "actor": str,
        },
        pk="id", not_null={"name"},
    )
