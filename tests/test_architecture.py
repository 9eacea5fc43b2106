"""Architecture guard (issues 12 and 14): imports point one way, faces stay at the edge, start-up stays light.

The import graph is read from the source (the AST of every module under ``secaudit/``), not from
``sys.modules``, so an import hidden inside a function still counts as an edge: it runs sooner or
later, and a cycle that only closes at run time is still a cycle. Each check lists every offender,
so one run tells whoever broke the rule everything that has to move.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import secaudit

PACKAGE_DIR = Path(secaudit.__file__).resolve().parent

# Layer order, lowest first. A module may import from its own layer or from layers to its left.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("secaudit", "secaudit.errors", "secaudit.clock", "secaudit.resources", "secaudit.yamlio", "secaudit.text"),
    ("secaudit.store",),
    ("secaudit.inventory",),
    ("secaudit.requirements",),
    ("secaudit.levels",),
    ("secaudit.scanning",),
    ("secaudit.reporting",),
    ("secaudit.exchange",),
    ("secaudit.services",),
    ("secaudit.cli", "secaudit.web", "secaudit.__main__"),
)
FACES = ("secaudit.cli", "secaudit.web", "secaudit.__main__")
FACE_ONLY_LIBRARIES = ("click", "starlette", "fastapi", "uvicorn")
HEAVY_AT_STARTUP = ("pydantic", "sqlite_utils", "weasyprint", "jinja2", "openpyxl", "starlette", "uvicorn", "argon2")


# -- graph building -------------------------------------------------------------------------------
def module_files(package_dir: Path = PACKAGE_DIR, package: str = "secaudit") -> dict[str, Path]:
    """Every ``.py`` file under the package, keyed by its dotted module name."""
    found: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([package, *parts])] = path
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _owner(name: str, modules: Iterable[str]) -> str | None:
    """The longest known module that ``name`` is or lies inside (``a.b.func`` -> ``a.b``)."""
    best: str | None = None
    for module in modules:
        if _within(name, module) and (best is None or len(module) > len(best)):
            best = module
    return best


def _is_type_checking_block(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def raw_imports(source: str, module: str, is_package: bool) -> list[tuple[str, bool]]:
    """Absolute names imported by ``source`` with, for each, whether it runs at import time.

    Relative imports are resolved against ``module``; ``from x import y`` yields ``x.y`` (the caller
    maps it to the longest module it names: ``x.y`` when y is a module, ``x`` when it is a name in x);
    ``from x import *`` yields ``x``; ``importlib.import_module("literal")``
    counts too. "Import time" means not inside a function or lambda, and not under
    ``if TYPE_CHECKING:``.
    """
    tree = ast.parse(source)
    package_parts = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, eager: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, eager) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.extend((base if alias.name == "*" else f"{base}.{alias.name}", eager) for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, eager))
        lazy = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or _is_type_checking_block(node)
        for child in ast.iter_child_nodes(node):
            visit(child, eager and not lazy)

    visit(tree, True)
    return found


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (any depth in the file, TYPE_CHECKING included).

    Importing ``pkg.mod`` also runs ``pkg/__init__``; that implied edge is left out, as Python's own
    package machinery is not a dependency one module chose.
    """
    modules = set(files)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for target, _eager in raw_imports(path.read_text(encoding="utf-8"), name, is_package):
            owner = _owner(target, modules)
            if owner is not None and owner != name:
                graph[name].add(owner)
    return graph


# -- graph checks (pure functions over a graph, unit-tested below) ---------------------------------
def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; returns every component, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    nodes = set(graph) | {t for targets in graph.values() for t in targets}
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (SCCs of size > 1)."""
    return sorted(c for c in strongly_connected(graph) if len(c) > 1)


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    """Rank of the layer owning ``module`` (the most specific prefix wins), None if none does."""
    best: tuple[int, int] | None = None
    for rank, prefixes in enumerate(layers):
        for prefix in prefixes:
            # the root package is foundation only as itself, not as the prefix of every module
            matches = module == prefix if prefix == "secaudit" else _within(module, prefix)
            if matches and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    return None if best is None else best[0]


def layer_violations(
    graph: Mapping[str, Iterable[str]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """Every edge from a lower layer to a higher one, and every module that belongs to no layer."""
    problems = []
    for module in sorted(graph):
        rank = layer_of(module, layers)
        if rank is None:
            problems.append(f"{module}: thuộc lớp nào? / belongs to no layer")
            continue
        for target in sorted(graph[module]):
            target_rank = layer_of(target, layers)
            if target_rank is not None and target_rank > rank:
                problems.append(f"{module} -> {target} (lớp {rank} -> {target_rank})")
    return problems


# -- the checks on the real tree -------------------------------------------------------------------
@pytest.fixture(scope="module")
def files() -> dict[str, Path]:
    return module_files()


@pytest.fixture(scope="module")
def graph(files: dict[str, Path]) -> dict[str, set[str]]:
    return import_graph(files)


def test_every_module_imports_cleanly(files: dict[str, Path]) -> None:
    """Every module found by walk_packages imports, and walk_packages sees every file on disk."""
    errors: list[str] = []
    walked = {"secaudit"}
    for info in pkgutil.walk_packages(secaudit.__path__, "secaudit.", onerror=lambda n: errors.append(f"{n}: walk")):
        walked.add(info.name)
    for name in sorted(walked):
        if name == "secaudit.__main__":
            continue  # runs the CLI and exits when imported; its imports are checked through the graph
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the point is to list every failure
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
    unseen = sorted(set(files) - walked)
    assert not errors, "modules that fail to import:\n" + "\n".join(errors)
    assert not unseen, "files walk_packages does not reach (missing __init__.py?):\n" + "\n".join(unseen)


def shortest_cycle(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """One shortest loop through a component, as a path that returns to its start."""
    members = set(component)
    best: list[str] = []
    for start in component:
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for child in sorted(graph.get(node, ())):
                if child == start and (not best or len(paths[node]) + 1 < len(best)):
                    best = [*paths[node], start]
                elif child in members and child not in paths:
                    paths[child] = [*paths[node], child]
                    queue.append(child)
    return best


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    cycles = find_cycles(graph)
    detail = [
        "  " + " <-> ".join(cycle)
        + "\n    e.g. " + " -> ".join(shortest_cycle(graph, cycle))
        + "\n    edges inside: " + ", ".join(
            f"{a} -> {b}" for a in cycle for b in sorted(graph[a]) if b in cycle
        )
        for cycle in cycles
    ]
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(detail)


def test_imports_point_down_the_layers(graph: dict[str, set[str]]) -> None:
    problems = layer_violations(graph)
    order = " < ".join("/".join(p.removeprefix("secaudit.") for p in layer) for layer in LAYERS)
    assert not problems, f"imports against the layer order ({order}):\n" + "\n".join(problems)


def test_faces_own_the_ui_libraries(files: dict[str, Path]) -> None:
    """click and web frameworks only in faces; weasyprint only inside the function that renders."""
    problems = []
    for name, path in sorted(files.items()):
        if any(_within(name, face) for face in FACES):
            continue
        for target, eager in raw_imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py"):
            top = target.split(".")[0]
            if top in FACE_ONLY_LIBRARIES:
                problems.append(f"{name}: imports {target}")
            elif top == "weasyprint" and eager:
                problems.append(f"{name}: imports {target} at module level")
    assert not problems, "UI libraries below the faces:\n" + "\n".join(sorted(set(problems)))


def test_level_engine_does_not_render(files: dict[str, Path]) -> None:
    problems = [
        f"{name}: imports {target}"
        for name, path in sorted(files.items())
        if _within(name, "secaudit.levels")
        for target, _ in raw_imports(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
        if target.split(".")[0] in ("jinja2", "weasyprint") or _within(target, "secaudit.reporting")
    ]
    assert not problems, "the level engine renders:\n" + "\n".join(sorted(set(problems)))


#: Runs ``python -m secaudit ARGS`` and, at exit, prints every loaded module: ``-X importtime`` does not
#: list modules loaded through ``importlib.import_module`` (the commands' modules, migrations), sys.modules does.
_RUN_AND_LIST = (
    "import atexit, runpy, sys\n"
    "atexit.register(lambda: print('MODULES', *sorted(sys.modules), file=sys.stderr))\n"
    "sys.argv = ['secaudit', *sys.argv[1:]]\n"
    "runpy.run_module('secaudit', run_name='__main__', alter_sys=True)\n"
)


def _imported_at_startup(args: list[str], tmp_path: Path) -> set[str]:
    env = {"PATH": "/usr/bin:/bin", "SECAUDIT_WORKSPACE": str(tmp_path / "ws"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _RUN_AND_LIST, *args],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name)
        elif line.startswith("MODULES "):
            modules.update(line.split()[1:])
    assert "secaudit.cli" in modules, "importtime output not understood:\n" + done.stderr[-2000:]
    return modules


@pytest.mark.parametrize(("args", "commands"), [
    (["--help"], set()),
    (["status", "--help"], {"secaudit.cli.assess"}),
    (["serve", "--help"], {"secaudit.cli.serve"}),
], ids=["help", "status-help", "serve-help"])
def test_help_starts_without_heavy_libraries(args: list[str], commands: set[str], tmp_path: Path) -> None:
    """``secaudit --help`` answers fast: nothing that validates, stores or renders is loaded, and of the
    commands' modules only the one whose help is asked (the group lists commands from a table) (issue 14)."""
    modules = _imported_at_startup(args, tmp_path)
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY_AT_STARTUP)
    ours = sorted(m for m in modules if _within(m, "secaudit"))
    assert not heavy, (
        f"`secaudit {' '.join(args)}` imports {len(heavy)} heavy module(s): {', '.join(heavy)}\n"
        f"secaudit modules loaded: {', '.join(ours)}"
    )
    assert {m for m in ours if m.startswith("secaudit.cli.")} == commands, ", ".join(ours)


#: What recording a scan needs and planning it does not: imported while nmap runs, not before (issue 14).
RECORDING_ONLY = ("secaudit.scanning.record", "secaudit.scanning.nmap_xml", "secaudit.scanning.scope", "defusedxml")
_SCAN_UNTIL_NMAP = (
    "import sys\n"
    "import secaudit.scanning.batch as batch\n"
    "def version(binary='nmap'):  # the last step before the scan rows are written and nmap starts\n"
    "    print('MODULES', *sorted(sys.modules))\n"
    "    raise SystemExit(0)\n"
    "batch.nmap_version = version\n"
    "from secaudit.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_scan_loads_only_what_planning_needs_before_nmap_starts(tmp_path: Path) -> None:
    """``secaudit scan AGENCY`` gets to nmap with the planning modules only: no other command's module, no
    rendering or spreadsheet library, and neither the XML reader nor the recorder (they load while nmap
    runs). Planning itself (pydantic for profiles and rules, sqlite-utils for the workspace) is needed."""
    from secaudit.cli import main

    ws = tmp_path / "ws"
    inventory = tmp_path / "t.yaml"
    inventory.write_text("code: t\nname: Cơ quan thử\nkind: so-ban-nganh\nsystems:\n  - code: s\n    name: Hệ thống"
                         "\n    hosts:\n      - {address: 127.0.0.1, ports: [{port: 8080}]}\n", encoding="utf-8")
    assert main(["-w", str(ws), "init"]) == 0
    assert main(["-w", str(ws), "inventory", "import", str(inventory)]) == 0
    env = {"PATH": "/usr/bin:/bin", "SECAUDIT_WORKSPACE": str(ws), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", _SCAN_UNTIL_NMAP, "scan", "t"], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set(next(line for line in done.stdout.splitlines() if line.startswith("MODULES ")).split()[1:])
    assert "secaudit.scanning.plan" in modules and "secaudit.scanning.nmap_run" in modules
    early = sorted(m for m in modules if any(_within(m, r) for r in (*RECORDING_ONLY, *HEAVY_AT_STARTUP))
                   and m.split(".")[0] not in ("pydantic", "sqlite_utils"))
    assert not early, f"loaded before nmap starts: {', '.join(early)}"
    assert {m for m in modules if m.startswith("secaudit.cli.")} == {"secaudit.cli.scan"}


# -- the checker, checked ------------------------------------------------------------------------
def test_find_cycles_on_a_hand_made_graph() -> None:
    graph = {
        "a": {"b"}, "b": {"c"}, "c": {"a", "d"},  # a -> b -> c -> a
        "d": {"e"}, "e": set(),  # a chain is no cycle
        "x": {"y"}, "y": {"x"},  # two-module cycle
        "s": {"s"},  # a self-import is not a cycle between modules
    }
    assert find_cycles(graph) == [["a", "b", "c"], ["x", "y"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert shortest_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_find_cycles_on_a_long_chain_does_not_recurse() -> None:
    chain = {f"m{i}": {f"m{i + 1}"} for i in range(5000)}
    assert find_cycles(chain) == []
    chain["m5000"] = {"m0"}
    assert len(find_cycles(chain)[0]) == 5001


def test_layer_violations_on_a_hand_made_graph() -> None:
    graph = {
        "secaudit.clock": set(),
        "secaudit.store.workspace": {"secaudit.clock"},
        "secaudit.levels.engine": {"secaudit.requirements.content", "secaudit.reporting.render"},
        "secaudit.requirements.content": {"secaudit.store.workspace"},
        "secaudit.reporting.render": {"secaudit.levels.engine"},
        "secaudit.cli.level": {"secaudit.services.levels", "secaudit.levels.engine"},
        "secaudit.services.levels": {"secaudit.cli"},
        "secaudit.stray": set(),
    }
    assert layer_violations(graph) == [
        "secaudit.levels.engine -> secaudit.reporting.render (lớp 4 -> 6)",
        "secaudit.services.levels -> secaudit.cli (lớp 8 -> 9)",
        "secaudit.stray: thuộc lớp nào? / belongs to no layer",
    ]


def test_raw_imports_resolves_relative_and_lazy_imports() -> None:
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import click\n"
        "from . import engine\n"
        "from ..store import workspace as ws\n"
        "if TYPE_CHECKING:\n"
        "    from secaudit.reporting.report import Report\n"
        "def render():\n"
        "    import weasyprint\n"
        "    importlib.import_module('secaudit.services.levels')\n"
    )
    found = raw_imports(source, "secaudit.levels.sheet", is_package=False)
    assert ("click", True) in found
    assert ("secaudit.levels.engine", True) in found
    assert ("secaudit.store.workspace", True) in found
    assert ("secaudit.reporting.report.Report", False) in found
    assert ("weasyprint", False) in found
    assert ("secaudit.services.levels", False) in found
    in_package = raw_imports("from .engine import x\n", "secaudit.levels", is_package=True)
    assert in_package == [("secaudit.levels.engine.x", True)]


def test_import_graph_catches_a_synthetic_cycle(tmp_path: Path) -> None:
    """A function-level import that closes a loop is reported, through the same path as the real tree."""
    pkg = tmp_path / "secaudit"
    (pkg / "levels").mkdir(parents=True)
    (pkg / "reporting").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "clock.py").write_text("")
    (pkg / "levels" / "__init__.py").write_text("")
    (pkg / "reporting" / "__init__.py").write_text("")
    engine = "from secaudit import clock\ndef f():\n    from ..reporting import report\n"
    (pkg / "levels" / "engine.py").write_text(engine)
    (pkg / "reporting" / "report.py").write_text("from secaudit.levels.engine import suggest\n")
    graph = import_graph(module_files(pkg))
    assert graph["secaudit.levels.engine"] == {"secaudit.clock", "secaudit.reporting.report"}
    assert graph["secaudit.reporting.report"] == {"secaudit.levels.engine"}
    assert find_cycles(graph) == [["secaudit.levels.engine", "secaudit.reporting.report"]]
    assert layer_violations(graph) == ["secaudit.levels.engine -> secaudit.reporting.report (lớp 4 -> 6)"]
