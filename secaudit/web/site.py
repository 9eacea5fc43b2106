"""The whole served app: the read pages (``app``) and the pages where the work is done.

Kept apart from ``app`` so that the work-page modules can use ``app``'s helpers (``page``,
``action``, ``render``) without ``app`` importing them back.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from secaudit.web import app, inspector, officer


def routes() -> list[tuple[str, Any, list[str], str]]:
    """Every route of the served app, read pages first."""
    return list(app.ROUTES) + inspector.ROUTES + officer.ROUTES


def create_app(workspace: Path | str, *, secure_cookies: bool = False, as_of: dt.date | None = None) -> ASGIApp:
    """The ASGI app serving ``workspace`` with every page."""
    extra = routes()[len(app.ROUTES):]
    return app.create_app(workspace, secure_cookies=secure_cookies, as_of=as_of, extra_routes=extra)
