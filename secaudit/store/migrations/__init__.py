"""Schema migrations after the first schema (which is ``store._schema_v1``).

Each module here is named ``vNNNN_<what>.py`` and defines ``VERSION`` (an int > 1, equal to NNNN)
and ``upgrade(db)``; ``Workspace.migrate`` applies the missing ones in order, each in its own
transaction. Versions only ever grow: never renumber or edit a migration that has shipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any


def discover() -> list[tuple[int, Callable[[Any], None]]]:
    """(version, upgrade) for every migration module, in version order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("v"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if module.VERSION != int(info.name[1:5]):
            raise RuntimeError(f"migration {info.name} declares VERSION {module.VERSION}")
        found.append((module.VERSION, module.upgrade))
    found.sort(key=lambda pair: pair[0])
    return found
