"""Benchmark: start-up time of ``secaudit --help`` and ``secaudit status --help`` (issue 14).

A user who types ``secaudit`` to see the commands should not wait for validation, storage or
rendering libraries to load. Each command runs as a fresh process (``PYTHON -m secaudit ...`` with
``PYTHONPATH=REPO``, so another checkout can be measured with the same interpreter), interleaved
with ``PYTHON -c pass`` as the baseline, N rounds; the medians and the ratios against the baseline
are printed, with the number of modules each command imports and which heavy libraries among them.

Run by hand::

    .venv/bin/python bench/bench_startup.py --runs 15
    .venv/bin/python bench/bench_startup.py --runs 15 --repo /work/before
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("pydantic", "sqlite_utils", "weasyprint", "jinja2", "openpyxl")
CASES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "secaudit --help": ["-m", "secaudit", "--help"],
    "secaudit status --help": ["-m", "secaudit", "status", "--help"],
}


def _env(repo: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SECAUDIT_"))}
    env["PYTHONPATH"] = str(repo)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds (each runs every case once)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to measure (default: this one)")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="checkout whose secaudit package is measured (put on PYTHONPATH)")
    args = parser.parse_args()

    repo = args.repo.resolve()
    if not (repo / "secaudit" / "__init__.py").is_file():
        parser.error(f"{repo} has no secaudit package")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = _env(repo, cwd)
        probe = subprocess.run([args.python, "-c", "import secaudit; print(secaudit.__file__)"],
                               env=env, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()
        times: dict[str, list[float]] = {name: [] for name in CASES}
        for case in CASES.values():  # warm the page cache and the bytecode caches once
            _time_once(args.python, case, env, cwd)
        for _ in range(args.runs):
            for name, case in CASES.items():
                times[name].append(_time_once(args.python, case, env, cwd))
        imported = {name: _imports(args.python, case, env, cwd) for name, case in CASES.items()}

    base = statistics.median(times["python -c pass"])
    print(f"python: {args.python}\nsecaudit: {probe}\nruns: {args.runs}\n")
    print("| command | median (s) | minus `python -c pass` (s) | ratio | modules | heavy libraries loaded |")
    print("|---|---:|---:|---:|---:|---|")
    for name in CASES:
        median = statistics.median(times[name])
        heavy = sorted({m.split(".")[0] for m in imported[name]} & set(HEAVY))
        print(f"| `{name}` | {median:.3f} | {median - base:.3f} | {median / base:.2f} | {len(imported[name])} "
              f"| {', '.join(heavy) or '—'} |")


if __name__ == "__main__":
    main()
