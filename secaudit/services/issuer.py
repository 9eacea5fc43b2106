"""The workspace's identity as the issuer of its own documents (``secaudit issuer set|show``)."""

from __future__ import annotations

from typing import Any

from secaudit.services.workspace import Where, actor_name, open_workspace


def set_issuer(where: Where, *, actor: str | None = None, recipients: list[str] | None = None,
               **values: str | None) -> Any:
    """Set or update the issuer (name, parent, symbol, place, signer, recipients); audit-logged."""
    from secaudit.exchange import issuer

    return issuer.set_issuer(open_workspace(where), actor=actor_name(actor), recipients=recipients, **values)


def show_issuer(where: Where) -> Any:
    """The issuer, or None when it was never set."""
    from secaudit.exchange import issuer

    return issuer.get_issuer(open_workspace(where))
