"""Where the packaged data lives: checklists, profiles and report templates.

In a source checkout they are the top-level ``checklists/``, ``profiles/`` and ``reports/``
folders, where people review them. The wheel carries the same folders inside the package as
``secaudit/_data/…`` (see ``pyproject.toml``), so an installed ``secaudit`` finds them from any
working directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
KINDS = ("checklists", "profiles", "reports")


def data_dir(kind: str) -> Path:
    """The folder holding the packaged ``kind`` ('checklists', 'profiles' or 'reports')."""
    if kind not in KINDS:
        raise ValueError(kind)
    installed = _PACKAGE / "_data" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind
