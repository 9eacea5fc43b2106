"""Benchmark: the province roll-up PDF (landscape, with per-agency detail) against bare weasyprint (issue 15).

Synthetic province of 150 agencies × 10 systems, every third agency answered in part
(``bench_report.build_province_workspace``), as of 2026-05-01, profile ``tu-danh-gia``. Each run is a fresh
Python process (start-up and imports excluded from the timed part, as in ``bench_report``):

* ``province-pdf``    ``rollup.render_province(fmt="pdf")``: 150 evaluations, matrix, detail, PDF/A-3b;
* ``province-bare``   ``weasyprint.HTML(string=…).write_pdf()`` on the exact HTML the first hands to weasyprint;
* ``province-html``   the interactive page (evaluations + template, no PDF);
* ``noncompliant-pdf`` the publishable list of non-compliant agencies (3130/UBND-VX), PDF/A-3b.

Prints a Markdown table of medians (wall time and the child's CPU time — which moves less when other work
shares the machine —, pages, peak RSS) and the ratios to bare weasyprint.
Usage: ``.venv/bin/python bench/bench_province_pdf.py [--runs 5] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

AS_OF = dt.date(2026, 5, 1)
ROOT = Path(__file__).resolve().parent.parent
MODES = ("province-pdf", "province-bare", "province-html", "noncompliant-pdf")


def measure(mode: str, workdir: Path) -> dict:
    import weasyprint

    from secaudit.reporting import noncompliant, rollup
    from secaudit.reporting.province import build_province
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    ws = Workspace.open(workdir / "province")
    start, cpu = time.perf_counter(), time.process_time()
    if mode == "province-pdf":
        out = rollup.render_province(ws, lib, None, fmt="pdf", as_of=AS_OF, profile=profile)
    elif mode == "province-html":
        out = rollup.render_province(ws, lib, None, fmt="html", as_of=AS_OF, profile=profile)
    elif mode == "noncompliant-pdf":
        out = noncompliant.render(build_province(ws, lib, None, as_of=AS_OF, profile=profile), fmt="pdf")
    elif mode == "province-bare":
        out = weasyprint.HTML(string=(workdir / "rollup.html").read_text("utf-8")).write_pdf()
    else:
        raise SystemExit(f"unknown mode {mode}")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    pages = 0
    if out[:4] == b"%PDF":
        import io

        import pypdf

        pages = len(pypdf.PdfReader(io.BytesIO(out)).pages)
    return {"mode": mode, "seconds": elapsed, "cpu": cpu, "pages": pages, "bytes": len(out),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def prepare(workdir: Path) -> None:
    """The synthetic workspace and the exact HTML the PDF path hands to weasyprint."""
    from bench_report import build_province_workspace

    from secaudit.reporting import rollup
    from secaudit.reporting.province import build_province
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

    if not (workdir / "province").exists():
        build_province_workspace(workdir / "province")
    lib = Library()
    ws = Workspace.open(workdir / "province")
    data = build_province(ws, lib, None, as_of=AS_OF, profile=lib.resolve_profile("tu-danh-gia"))
    (workdir / "rollup.html").write_bytes(rollup.render_html(data, interactive=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "WORKDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="secaudit-bench-province-pdf-"))
    workdir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    prepare(workdir)
    print(f"workspace and HTML in {workdir} ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    for _ in range(args.runs):
        for mode in MODES:  # interleaved, so load on the machine hits every mode alike
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(workdir)], capture_output=True,
                                  text=True, check=True, env=env)
            results[mode].append(json.loads(done.stdout))
    bare = statistics.median(r["seconds"] for r in results["province-bare"])
    bare_cpu = statistics.median(r["cpu"] for r in results["province-bare"])
    print(f"runs: {args.runs}; load average at the end: {os.getloadavg()[0]:.1f}")
    print("| case | wall median (s) | wall min–max (s) | CPU median (s) | pages | peak RSS (MB) | output (KB)"
          " | wall vs bare | CPU vs bare |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode in MODES:
        rows = results[mode]
        median = statistics.median(r["seconds"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows)
        ratio = "—" if mode == "province-bare" else f"{median / bare:.2f}×"
        cpu_ratio = "—" if mode == "province-bare" else f"{cpu / bare_cpu:.2f}×"
        print(f"| {mode} | {median:.2f} | {min(r['seconds'] for r in rows):.2f}–{max(r['seconds'] for r in rows):.2f}"
              f" | {cpu:.2f} | {rows[-1]['pages'] or '—'} | {max(r['peak_mb'] for r in rows):.0f}"
              f" | {rows[-1]['bytes'] / 1024:.0f} | {ratio} | {cpu_ratio} |")


if __name__ == "__main__":
    main()
