"""Benchmark: where ``secaudit scan AGENCY`` spends the time nmap does not (issue 14, the 2-host rows).

Run by hand, inside a network namespace (only loopback is scanned)::

    unshare -n sh -c 'ip link set lo up && PYTHONPATH=. .venv/bin/python bench/bench_scan_startup.py --runs 15'
    unshare -n sh -c 'ip link set lo up && PYTHONPATH=. .venv/bin/python bench/bench_scan_startup.py \
        --runs 15 --baseline /work/before'

Two loopback hosts (127.0.70.128–129, a small HTTP server on 8080 each, as ``bench_scan.py``
declares them) in a throwaway workspace. Each round runs, in rotating order, every case as a fresh
process: ``python -c pass``; the floor of any command that reads the workspace (the interpreter,
``import sqlite3`` and one query); the nmap command line the scan recorded, bare; ``secaudit scan
bench`` from this checkout and, with ``--baseline DIR``, from another one (``PYTHONPATH``). Medians
of the wall time and their ratios to bare nmap are printed, and the median CPU time (user + system
of the process and its children, nmap included), which a loaded machine disturbs less.

Then the phases of the command, with a stand-in ``nmap`` first on ``PATH`` that notes the time and
runs the real one (it adds a shell start to each nmap): from the start of the process to
``nmap --version`` and to the scan's nmap, nmap itself, and from nmap's end to the process's
end (recording, commits, interpreter exit). Last, the self time of every module the command
imports (``-X importtime``), summed by library.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import bare, start_http

ROOT = Path(__file__).resolve().parent.parent
ADDRESSES = ["127.0.70.128", "127.0.70.129"]
INVENTORY = (
    "code: bench\nname: Cơ quan đo hiệu năng\nkind: so-ban-nganh\nsystems:\n  - code: he-thong-0\n"
    "    name: Hệ thống 0\n    hosts:\n"
    + "".join(f"      - {{address: {a}, ports: [{{port: 8080}}]}}\n" for a in ADDRESSES)
)
#: Self time of imported modules, summed by what pulled them in (first matching prefix wins).
LIBRARIES = [
    ("pydantic", ("pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection")),
    ("sqlite-utils (with dateutil, sqlite-fts4, tabulate)", ("sqlite_utils", "dateutil", "sqlite_fts4", "tabulate",
                                                             "six")),
    ("click", ("click",)),
    ("PyYAML", ("yaml", "_yaml")),
    ("defusedxml, xml.etree", ("defusedxml", "xml", "pyexpat")),
    ("importlib.metadata, email (pydantic's plugin lookup)", ("importlib.metadata", "email", "zipfile")),
    ("secaudit.inventory.models", ("secaudit.inventory.models",)),
    ("secaudit (the rest)", ("secaudit",)),
]
STAND_IN = """#!/bin/sh
echo "start $(date +%s.%N) $1" >> "{log}"
{nmap} "$@"
rc=$?
echo "end $(date +%s.%N)" >> "{log}"
exit $rc
"""


def _env(checkout: Path, workspace: Path, path: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SECAUDIT_"))}
    env.update(PYTHONPATH=str(checkout), SECAUDIT_WORKSPACE=str(workspace), SECAUDIT_ACTOR="bench")
    if path is not None:
        env["PATH"] = path
    return env


def _run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    return took


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _library(module: str) -> str:
    for name, prefixes in LIBRARIES:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return name
    return "standard library"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="rounds (each runs every case once)")
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="another checkout whose `secaudit scan` is timed in the same rounds")
    args = parser.parse_args()
    nmap = shutil.which("nmap")
    if nmap is None:
        raise SystemExit("nmap is not installed")

    servers = start_http(ADDRESSES)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scan-startup-"))
    try:
        workspace, inventory = tmp / "ws", tmp / "bench.yaml"
        inventory.write_text(INVENTORY, encoding="utf-8")
        env = _env(ROOT, workspace)
        _run(["-m", "secaudit", "init"], env)
        _run(["-m", "secaudit", "inventory", "import", str(inventory)], env)
        _run(["-m", "secaudit", "scan", "bench"], env)  # records the command line; writes bytecode
        database = workspace / "secaudit.db"
        with sqlite3.connect(database) as conn:
            argv = json.loads(conn.execute("select argv from scans order by id desc limit 1").fetchone()[0])
        floor = f"import sqlite3; sqlite3.connect({str(database)!r}).execute('select count(*) from hosts').fetchall()"
        cases = {
            "python -c pass": lambda: _run(["-c", "pass"], env),
            "floor: python, sqlite3 open and one query": lambda: _run(["-c", floor], env),
            "bare nmap, same argv": lambda: bare(argv),
            "secaudit scan bench": lambda: _run(["-m", "secaudit", "scan", "bench"], env),
        }
        if args.baseline is not None:
            base_env = _env(args.baseline.resolve(), workspace)
            _run(["-m", "secaudit", "scan", "bench"], base_env)
            cases["secaudit scan bench (baseline)"] = lambda: _run(["-m", "secaudit", "scan", "bench"], base_env)
        names = list(cases)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.runs):
            for name in names[round_ % len(names):] + names[: round_ % len(names)]:
                before = _cpu()
                times[name].append(cases[name]())
                cpu[name].append(_cpu() - before)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())

        # phases, through a stand-in nmap that notes the time
        log = tmp / "nmap.log"
        stand_in = tmp / "bin" / "nmap"
        stand_in.parent.mkdir()
        stand_in.write_text(STAND_IN.format(log=log, nmap=nmap), encoding="utf-8")
        stand_in.chmod(0o755)
        phase_env = _env(ROOT, workspace, path=f"{stand_in.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        phases: dict[str, list[float]] = collections.defaultdict(list)
        for _ in range(args.runs):
            log.write_text("", encoding="utf-8")
            start = time.time()
            _run(["-m", "secaudit", "scan", "bench"], phase_env)
            end = time.time()
            marks = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
            version = next(float(m[1]) for m in marks if m[0] == "start" and m[2:] == ["--version"])
            scan = next(float(m[1]) for m in marks if m[0] == "start" and m[2:] != ["--version"])
            nmap_end = float([m for m in marks if m[0] == "end"][-1][1])
            phases["to `nmap --version`"].append(version - start)
            phases["to the scan's nmap"].append(scan - start)
            phases["nmap (through the stand-in)"].append(nmap_end - scan)
            phases["after nmap: recording, commits, exit"].append(end - nmap_end)
            phases["whole command"].append(end - start)

        # imports, by library
        imports: dict[str, list[float]] = collections.defaultdict(list)
        for _ in range(max(3, args.runs // 3)):
            done = subprocess.run([sys.executable, "-X", "importtime", "-m", "secaudit", "scan", "bench"], env=env,
                                  capture_output=True, text=True, check=True)
            sums: collections.Counter[str] = collections.Counter()
            for line in done.stderr.splitlines():
                match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
                if match:
                    sums[_library(match.group(2))] += int(match.group(1)) / 1e6
            sums["all imports"] = sum(sums.values())
            for name, value in sums.items():
                imports[name].append(value)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        shutil.rmtree(tmp, ignore_errors=True)

    median = statistics.median
    nmap_median = median(times["bare nmap, same argv"])
    print(f"runs: {args.runs}; load average after the timed rounds: {load}\n")
    print("| case | median (s) | / bare nmap | CPU, median (s) |\n|---|---:|---:|---:|")
    for name in names:
        print(f"| {name} | {median(times[name]):.3f} | {median(times[name]) / nmap_median:.2f} "
              f"| {median(cpu[name]):.3f} |")
    print("\n| phase of `secaudit scan bench` | median (s) |\n|---|---:|")
    for name, values in phases.items():
        print(f"| {name} | {median(values):.3f} |")
    print("\n| imported (self time, `-X importtime`) | median (s) |\n|---|---:|")
    for name in sorted(imports, key=lambda n: -median(imports[n])):
        print(f"| {name} | {median(imports[name]):.3f} |")


if __name__ == "__main__":
    main()
