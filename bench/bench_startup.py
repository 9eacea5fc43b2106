"""Benchmark: start-up time of ``secaudit --help`` and ``secaudit status --help`` (issue 14).

A user who types ``secaudit`` to see the commands should not wait for validation, storage or
rendering libraries to load. Each command runs as a fresh process (``PYTHON -m secaudit ...`` with
``PYTHONPATH=REPO``, so another checkout can be measured with the same interpreter), interleaved
with ``PYTHON -c pass`` as the baseline, N rounds; the medians and the ratios against the baseline
are printed, with the number of modules each command imports (as ``-X importtime`` lists them:
modules loaded through ``importlib.import_module`` are not counted) and which heavy libraries among
them. ``--baseline`` measures a second checkout in the same rounds, interleaved.

Run by hand::

    .venv/bin/python bench/bench_startup.py --runs 15
    .venv/bin/python bench/bench_startup.py --runs 15 --baseline /work/before
    .venv/bin/python bench/bench_startup.py --runs 15 --no-bytecode --baseline /work/before

``--no-bytecode`` measures a copy of the package without ``__pycache__`` that may not write one
(``PYTHONDONTWRITEBYTECODE=1``, as in a fresh checkout run by a user who cannot write there): every
secaudit module a command imports is compiled on each start, so lazy loading counts twice.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("pydantic", "sqlite_utils", "weasyprint", "jinja2", "openpyxl")
CASES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "python -c 'import click'": ["-c", "import click"],  # the floor of any click CLI
    "secaudit --help": ["-m", "secaudit", "--help"],
    "secaudit status --help": ["-m", "secaudit", "status", "--help"],
}


def _env(repo: Path, home: Path, *, bytecode: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SECAUDIT_"))}
    env["PYTHONPATH"] = str(repo)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["SECAUDIT_WORKSPACE"] = str(home / "ws")
    return env


def _time_once(python: str, args: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run([python, *args], env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _imports(python: str, args: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    done = subprocess.run(
        [python, "-X", "importtime", *args], env=env, cwd=cwd, check=True, capture_output=True, text=True
    )
    names = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return [n for n in names if n != "imported package"]


def _package(repo: Path, into: Path, bytecode: bool) -> Path:
    """The folder to put on PYTHONPATH: ``repo`` itself, or a copy of its package without bytecode."""
    if bytecode:
        return repo
    shutil.copytree(repo / "secaudit", into / "secaudit", ignore=shutil.ignore_patterns("__pycache__"))
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds (each runs every case once)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="checkout whose secaudit package is measured (put on PYTHONPATH)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="another checkout (e.g. the previous commit) measured in the same rounds")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="measure a copy of the package without bytecode, which may not write any")
    args = parser.parse_args()

    repos = {"": args.repo.resolve()}
    if args.baseline is not None:
        repos[" (baseline)"] = args.baseline.resolve()
    for repo in repos.values():
        if not (repo / "secaudit" / "__init__.py").is_file():
            parser.error(f"{repo} has no secaudit package")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        cases: dict[str, tuple[list[str], dict[str, str]]] = {}
        probes = []
        for n, (suffix, repo) in enumerate(repos.items()):
            env = _env(_package(repo, cwd / f"src{n}", not args.no_bytecode), cwd, bytecode=not args.no_bytecode)
            probes.append(subprocess.run([args.python, "-c", "import secaudit; print(secaudit.__file__)"], env=env,
                                         cwd=cwd, check=True, capture_output=True, text=True).stdout.strip())
            for name, case in CASES.items():
                if suffix and "secaudit" not in name:
                    continue  # the interpreter's own baselines once
                cases[name + suffix] = (case, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for case, env in cases.values():  # warm the page cache and the bytecode caches once
            _time_once(args.python, case, env, cwd)
        for _ in range(args.runs):
            for name, (case, env) in cases.items():
                times[name].append(_time_once(args.python, case, env, cwd))
        imported = {name: _imports(args.python, case, env, cwd) for name, (case, env) in cases.items()}

    base = statistics.median(times["python -c pass"])
    print(f"python: {args.python}\nsecaudit: {' / '.join(probes)}{' (no bytecode)' if args.no_bytecode else ''}\n"
          f"runs: {args.runs}\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| command | median (s) | minus `python -c pass` (s) | ratio | modules | heavy libraries loaded |")
    print("|---|---:|---:|---:|---:|---|")
    for name in cases:
        median = statistics.median(times[name])
        heavy = sorted({m.split(".")[0] for m in imported[name]} & set(HEAVY))
        print(f"| `{name}` | {median:.3f} | {median - base:.3f} | {median / base:.2f} | {len(imported[name])} "
              f"| {', '.join(heavy) or '—'} |")


if __name__ == "__main__":
    main()
