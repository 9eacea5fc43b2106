"""Opening and creating workspaces, and the defaults every operation shares (actor, library)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

Where = Any  # an open Workspace, or its location (str, Path or None for the default)


def open_workspace(where: Where) -> Workspace:
    """The open workspace for ``where``: an open one is returned as is, a location is opened.

    Opening marks scans whose process died (SIGKILL) as interrupted, so no command shows them running.
    """
    from secaudit.scanning.owners import reap_abandoned
    from secaudit.store.workspace import Workspace, resolve_workspace

    if isinstance(where, Workspace):
        return where
    ws = Workspace.open(resolve_workspace(None if where is None else str(where)))
    reap_abandoned(ws)
    return ws


def workspace_exists(location: str | Path | None) -> bool:
    """Whether a workspace database is at ``location`` (without creating or opening it)."""
    from secaudit.store.workspace import DB_NAME, resolve_workspace

    return (resolve_workspace(None if location is None else str(location)) / DB_NAME).is_file()


def actor_name(actor: str | None) -> str:
    """Who acts: the given name, else $SECAUDIT_ACTOR or the login name."""
    from secaudit.store.auditlog import default_actor

    return actor or default_actor()


def library() -> Library:
    """The requirement library (checklists, profiles, legal registry) shipped with the package."""
    from secaudit.requirements.content import Library

    return Library()


def init_workspace(location: str | Path | None, *, actor: str | None = None) -> Path:
    """Create a workspace and log its creation; returns its root folder."""
    from secaudit.store import auditlog
    from secaudit.store.workspace import Workspace, resolve_workspace

    ws = Workspace.create(resolve_workspace(None if location is None else str(location)))
    auditlog.append(ws, actor=actor_name(actor), action="workspace.init", subject=str(ws.root))
    return ws.root
