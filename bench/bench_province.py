"""Benchmark: province-scale commands as whole processes (issue 14).

Synthetic provinces of N agencies × M systems (``bench/synthetic.py``) are imported once into
workspaces under ``--cache`` (reused across runs of this script: delete the folder to rebuild).
For each size, medians over ``--repeat`` runs of, each as its own ``secaudit`` process:

- the baseline: a bare ``sqlite3`` scan of the tables the commands read (agencies, systems, hosts,
  answers), in a child Python process (its start-up is part of the baseline, as it is of the others);
- ``secaudit status --format json`` (output to a temporary file; its size is reported);
- ``secaudit report --province --format html``;
- ``secaudit level list``.

Wall time is what the issue measures; the children's CPU time (user + system) is printed too, as it
moves less when other work shares the machine, and so is the load average before each size. Peak
RSS is the child's maximum resident set (``os.wait4``; workspaces are built in a child, so that the
children do not inherit this process's size). The growth exponent is log(t₂/t₁)/log(n₂/n₁) between
the two largest sizes (1 = linear, 2 = quadratic), from the wall-time medians.

Run by hand: ``.venv/bin/python bench/bench_province.py --agencies 10,100,1000 --systems 10 --repeat 3``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

AS_OF = "2026-11-22"
BIN = Path(sys.executable).parent / "secaudit"
SCAN = ("import sqlite3,sys\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "for t in ('agencies', 'systems', 'hosts', 'answers'):\n"
        "    for _ in db.execute(f'select * from {t}'):\n"
        "        pass\n")


def build(folder: Path, agencies: int, systems: int) -> Path:
    """The workspace of a synthetic province, created once (in a child process) and reused.

    In a child, because a child's peak RSS counts what it inherited from this process at ``fork``:
    building a province here made every later measurement report this process's size.
    """
    ws_dir = folder / f"province-{agencies}x{systems}"
    if not (ws_dir / ".complete").exists():
        subprocess.run([sys.executable, __file__, "--build", f"{agencies}x{systems}", "--cache", str(folder)],
                       check=True)
    return ws_dir


def _build_here(folder: Path, agencies: int, systems: int) -> Path:
    from secaudit.inventory import records as inventory
    from secaudit.inventory.models import Agency
    from secaudit.store.workspace import Workspace

    ws_dir = folder / f"province-{agencies}x{systems}"
    if (ws_dir / ".complete").exists():
        return ws_dir
    docs = synthetic.province(agencies, systems)
    ws = Workspace.create(ws_dir)
    inventory.import_agencies(ws, [Agency.model_validate(d) for d in docs], actor="bench", source="bench")
    ws.close()
    (ws_dir / ".complete").write_text("ok\n")
    return ws_dir


def run(argv: list[str], env: dict[str, str], out: Path) -> tuple[float, float, int, float]:
    """Wall time (s), peak RSS (MiB), output size (bytes: ``-o`` file, else stdout), CPU time (s) of a child."""
    with out.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):  # 3: some requirement not met (status)
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    written = Path(argv[argv.index("-o") + 1]) if "-o" in argv else out
    return elapsed, usage.ru_maxrss / 1024, written.stat().st_size, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", default="10,100,1000")
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "secaudit-bench-province")
    parser.add_argument("--only", default="baseline,status,report,levels")
    parser.add_argument("--build", help=argparse.SUPPRESS)  # AGENCIESxSYSTEMS: build that workspace and stop
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.build:
        agencies, systems = (int(n) for n in args.build.split("x"))
        _build_here(args.cache, agencies, systems)
        return
    commands = {
        "baseline": lambda ws: [sys.executable, "-c", SCAN, str(ws / "secaudit.db")],
        "status": lambda ws: [str(BIN), "status", "--format", "json", "--as-of", AS_OF],
        "report": lambda ws: [str(BIN), "report", "--province", "--format", "html", "--as-of", AS_OF,
                              "-o", str(args.cache / "out.html")],
        "levels": lambda ws: [str(BIN), "level", "list", "--as-of", AS_OF],
    }
    wanted = [c for c in args.only.split(",") if c in commands]
    sizes = [int(n) for n in args.agencies.split(",")]
    medians: dict[tuple[str, int], float] = {}
    print("| agencies | systems | command | median (s) | vs baseline | CPU median (s) | peak RSS (MiB) | output (MB) |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for n in sizes:
        ws = build(args.cache, n, args.systems)
        env = {**os.environ, "SECAUDIT_WORKSPACE": str(ws), "SECAUDIT_NOW": f"{AS_OF}T09:00:00+07:00"}
        print(f"<!-- {n} agencies: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} -->", flush=True)
        out = args.cache / "out.bin"
        for name in wanted:
            runs = [run(commands[name](ws), env, out) for _ in range(args.repeat)]
            median = statistics.median(r[0] for r in runs)
            medians[(name, n)] = median
            base = medians.get(("baseline", n))
            ratio = f"{median / base:.1f}" if base else "—"
            cpu = statistics.median(r[3] for r in runs)
            print(f"| {n} | {n * args.systems} | {name} | {median:.2f} | {ratio} | {cpu:.2f} |"
                  f" {max(r[1] for r in runs):.0f} |"
                  f" {runs[-1][2] / 1e6:.2f} |", flush=True)
    if len(sizes) >= 2:
        small, large = sizes[-2], sizes[-1]
        for name in wanted:
            exponent = math.log(medians[(name, large)] / medians[(name, small)]) / math.log(large / small)
            print(f"growth exponent {small}→{large} agencies, {name}: {exponent:.2f}")


if __name__ == "__main__":
    main()
