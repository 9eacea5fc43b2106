"""Benchmark: importing a synthetic province (150 agencies, 1,500 systems) from YAML and from XLSX.

Each measurement is one real ``secaudit`` process (``python -m secaudit …``) started fresh, into a
fresh workspace; wall time is taken around the process and peak memory is the child's maximum
resident set size from ``os.wait4``. Baselines measured in the same run:

* ``floor``      — ``secaudit agency list`` on an empty workspace: interpreter, imports, opening SQLite
  (the "minus floor" column subtracts it from the secaudit commands);
* ``yaml-parse`` — PyYAML ``safe_load`` of the same files and nothing else (what a lenient loader costs);
* ``xlsx-parse`` — openpyxl read-only iteration over every cell of the workbook and nothing else.

Run: ``.venv/bin/python bench/bench_import.py [--runs 5] [--agencies 150] [--systems 10]``; prints a
Markdown table (medians) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # bench/ is not a package: found through the path set above

YAML_PARSE = """
import sys, yaml, pathlib
for p in sorted(pathlib.Path(sys.argv[1]).glob('*.yaml')):
    yaml.safe_load(p.read_text(encoding='utf-8'))
"""
XLSX_PARSE = """
import sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
n = sum(1 for s in book.worksheets for row in s.iter_rows() for c in row if c.value is not None)
book.close()
"""


# The child reports its own high-water RSS (VmHWM) at exit. ``wait4``'s ru_maxrss is no good here:
# Linux carries the RSS the forked child had *before* exec (a copy of this parent) into it.
WRAP = """
import atexit, os, runpy, sys
def report():
    with open('/proc/self/status') as status:
        peak = next(line.split()[1] for line in status if line.startswith('VmHWM:'))
    with open(os.environ['BENCH_RSS_FILE'], 'w') as out:
        out.write(peak)
atexit.register(report)
mode, target, *rest = sys.argv[1:]
if mode == '-m':
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name='__main__', alter_sys=True)
else:
    sys.argv = ['-c', *rest]
    exec(compile(target, '<bench>', 'exec'), {'__name__': '__main__'})
"""


def measure(argv: list[str], rss_file: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one child process; fails loudly if it fails."""
    start = time.perf_counter()
    process = subprocess.run([sys.executable, "-c", WRAP, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, "BENCH_RSS_FILE": str(rss_file)}, check=False)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}: {process.stderr.decode()}")
    return elapsed, int(rss_file.read_text()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--agencies", type=int, default=150)
    parser.add_argument("--systems", type=int, default=10, help="systems per agency")
    args = parser.parse_args()

    from secaudit.store.workspace import Workspace

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    documents = synthetic.province(args.agencies, args.systems)
    yaml_dir = synthetic.write_yaml(work / "yaml", documents)
    xlsx_file = synthetic.write_xlsx(work / "province.xlsx", documents)
    hosts = sum(len(s["hosts"]) for d in documents for s in d["systems"])
    yaml_bytes = sum(p.stat().st_size for p in yaml_dir.glob("*.yaml"))
    empty = work / "empty"
    Workspace.create(empty).close()

    rss = work / "rss"
    cases: dict[str, list[str]] = {
        "floor": ["-m", "secaudit", "agency", "list", "-w", str(empty)],
        "yaml-parse": ["-c", YAML_PARSE, str(yaml_dir)],
        "yaml-import": ["-m", "secaudit", "inventory", "import", str(yaml_dir), "-w", "{ws}"],
        "xlsx-parse": ["-c", XLSX_PARSE, str(xlsx_file)],
        "xlsx-import": ["-m", "secaudit", "inventory", "import", str(xlsx_file), "-w", "{ws}"],
        "yaml-reimport": ["-m", "secaudit", "inventory", "import", str(yaml_dir), "-w", "{full}"],
        "xlsx-export": ["-m", "secaudit", "inventory", "export", "-o", "{out}.xlsx", "-w", "{full}"],
    }
    full = work / "full"
    Workspace.create(full).close()
    measure([*cases["yaml-import"][:-1], str(full)], rss)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for run in range(args.runs):
        for name, argv in cases.items():  # interleaved, so drift in the machine hits every case alike
            ws = work / f"ws-{name}-{run}"
            if "{ws}" in argv:
                Workspace.create(ws).close()
            real = [a.replace("{ws}", str(ws)).replace("{full}", str(full)).replace("{out}", str(ws)) for a in argv]
            results[name].append(measure(real, rss))

    floor = statistics.median(t for t, _ in results["floor"])
    print(f"Synthetic province: {args.agencies} agencies, {args.agencies * args.systems} systems, {hosts} hosts;"
          f" YAML {yaml_bytes / 1e6:.1f} MB in {args.agencies} files, XLSX {xlsx_file.stat().st_size / 1e6:.2f} MB."
          f" Python {platform.python_version()}, {os.cpu_count()} CPUs, medians of {args.runs} runs.\n")
    print("| case | wall time (s) | minus floor (s) | peak RSS (MiB) |")
    print("|---|---:|---:|---:|")
    medians = {name: statistics.median(t for t, _ in values) for name, values in results.items()}
    for name, values in results.items():
        net = "—" if name.endswith("-parse") else f"{medians[name] - floor:.2f}"
        print(f"| {name} | {medians[name]:.2f} | {net} | {statistics.median(m for _, m in values):.0f} |")
    print(f"\nratios of wall time: yaml-import / yaml-parse {medians['yaml-import'] / medians['yaml-parse']:.2f}×,"
          f" xlsx-import / xlsx-parse {medians['xlsx-import'] / medians['xlsx-parse']:.2f}×,"
          f" xlsx-import / yaml-import {medians['xlsx-import'] / medians['yaml-import']:.2f}×")

if __name__ == "__main__":
    main()
