"""The scanning package keeps the shape issue 12 gave it: small modules whose imports point left.

Domain order: foundation < store < inventory < requirements < levels < scanning < reporting <
exchange, with faces (cli, web) on top. A scanning module that reached for reporting, exchange or
a face — even inside a function — would tie evidence collection to how it is shown.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "secaudit" / "scanning"
ALLOWED = ("secaudit.errors", "secaudit.clock", "secaudit.resources", "secaudit.yamlio", "secaudit.text",
           "secaudit.store", "secaudit.inventory", "secaudit.requirements", "secaudit.levels", "secaudit.scanning")
FACE_LIBRARIES = ("click", "weasyprint", "flask", "fastapi", "starlette", "jinja2")
MAX_LINES = 500


def _imports(path: Path) -> list[str]:
    """Every module an import statement in ``path`` names, wherever the statement sits."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "secaudit":
            found += [f"secaudit.{alias.name}" for alias in node.names]  # from secaudit import clock
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


def test_scanning_modules_are_small_and_import_only_leftwards() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5
    problems: list[str] = []
    for path in modules:
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES:
            problems.append(f"{path.name}: {lines} lines")
        for name in _imports(path):
            if name.split(".")[0] == "secaudit" and not any(name == a or name.startswith(a + ".") for a in ALLOWED):
                problems.append(f"{path.name} imports {name}")
            if name.split(".")[0] in FACE_LIBRARIES:
                problems.append(f"{path.name} imports {name}")
    assert problems == []
