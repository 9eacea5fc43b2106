"""Benchmark: exporting, verifying and importing a bundle of 200 evidence files (50 MB vs 500 MB).

What it shows: time grows with the bytes moved, peak memory does not. For each total size it
builds an agency workspace holding N random (incompressible) evidence files, then runs each phase
in its own child process so its peak RSS can be read on its own (``os.wait4``):

* ``export``  — ``exchange.export.export_bundle`` (no rendered report: its cost does not depend on evidence);
* ``verify``  — ``exchange.verify.verify_bundle`` (every member hashed, nothing written);
* ``import``  — ``exchange.receive.import_bundle`` into a fresh receiving workspace;
* ``baseline`` — a plain streaming copy of the same evidence bytes with SHA-256, the least any
  export must do (read, hash, write, fsync), measured in the same run;
* ``floor`` — opening the workspace and nothing else (its peak RSS is the interpreter's own).

Run by hand (about a minute and 2.5 GB of scratch disk):

    .venv/bin/python bench/bench_bundle.py --sizes 50,500 --files 200 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 20


def _child(argv: list[str]) -> tuple[float, int]:
    """Run one phase in a child process: (seconds the phase took in the child, the child's peak RSS in KiB).

    The time covers the phase itself only (not interpreter start-up, imports or setting up a fresh
    receiving workspace); the peak RSS is the whole child's, start-up included.
    """
    proc = subprocess.Popen([sys.executable, __file__, *argv], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {argv} failed")
    return float(output.decode().strip().splitlines()[-1]), int(usage.ru_maxrss)


def _setup(root: Path, total_mb: int, files: int) -> None:
    """An agency workspace whose one answer carries ``files`` random evidence files."""
    from secaudit.inventory import records as inventory
    from secaudit.requirements.answers import record_answer
    from secaudit.store.workspace import Workspace

    examples = Path(__file__).resolve().parent.parent / "examples" / "inventory"
    ws = Workspace.create(root / "agency")
    inventory.import_agencies(ws, inventory.load_agencies([examples / "so-y-te.yaml"]), actor="bench",
                              source="bench")
    source = root / "files"
    source.mkdir()
    each = total_mb * 1024 * 1024 // files
    paths = []
    for i in range(files):
        path = source / f"minh-chung-{i:03d}.bin"
        with path.open("wb") as fh:
            left = each
            while left:
                n = min(CHUNK, left)
                fh.write(os.urandom(n))
                left -= n
        paths.append(path)
    record_answer(ws, agency="so-y-te", system=None, checklist="kh04-bcdtw", item="t5-giam-sat",
                  status="dat", note="bench", files=paths, actor="bench")
    ws.close()


def _phase(phase: str, root: Path, run: int) -> Callable[[], None]:
    """Prepare one phase (inside the child process) and return the part that is timed."""
    import datetime as dt

    from secaudit.exchange.export import export_bundle
    from secaudit.exchange.receive import import_bundle
    from secaudit.exchange.verify import verify_bundle
    from secaudit.requirements.content import Library
    from secaudit.store.workspace import Workspace

    out = root / f"bundle-{run}.zip"
    if phase == "floor":
        return lambda: Workspace.open(root / "agency").close()
    if phase == "export":
        ws = Workspace.open(root / "agency")
        library = Library()
        return lambda: export_bundle(ws, library, "so-y-te", out, as_of=dt.date(2026, 5, 1), actor="bench",
                                     include_report=False) and None
    if phase == "verify":
        def verify() -> None:
            info = verify_bundle(root / "bundle-0.zip")
            assert info.ok, info.problems
        return verify
    if phase == "import":
        target = root / f"police-{run}"
        police = Workspace.create(target)  # creating the receiving workspace is not part of the import

        def run_import() -> None:
            assert not import_bundle(police, root / "bundle-0.zip", actor="bench").duplicate
        return run_import

    def copy() -> None:  # baseline: read, hash, write and fsync the same bytes
        with (root / f"copy-{run}.bin").open("wb") as dst:
            for path in sorted((root / "files").iterdir()):
                hasher = hashlib.sha256()
                with path.open("rb") as src:
                    for chunk in iter(lambda: src.read(CHUNK), b""):
                        hasher.update(chunk)
                        dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
    return copy


def _cleanup(root: Path, run: int) -> None:
    (root / f"bundle-{run}.zip").unlink(missing_ok=True)
    (root / f"copy-{run}.bin").unlink(missing_ok=True)
    shutil.rmtree(root / f"police-{run}", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500", help="total evidence sizes in MB, comma-separated")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        timed = _phase(args.phase, args.root, args.run)
        start = time.perf_counter()
        timed()
        print(f"{time.perf_counter() - start:.6f}")
        return
    rows = []
    for total in (int(s) for s in args.sizes.split(",")):
        root = Path(tempfile.mkdtemp(prefix=f"bench-bundle-{total}-"))
        try:
            _setup(root, total, args.files)
            _child(["--phase", "export", "--root", str(root), "--run", "0"])  # bundle-0.zip for verify/import
            for phase in ("floor", "baseline", "export", "verify", "import"):
                times, peaks = [], []
                for run in range(1, args.repeat + 1):
                    elapsed, peak = _child(["--phase", phase, "--root", str(root), "--run", str(run)])
                    times.append(elapsed)
                    peaks.append(peak)
                    _cleanup(root, run)
                rows.append((total, phase, statistics.median(times), max(peaks)))
            size = (root / "bundle-0.zip").stat().st_size
            print(f"# {total} MB: bundle {size / 1e6:.1f} MB, {args.files} files", file=sys.stderr)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    base = {(t, p): (s, r) for t, p, s, r in rows}
    print("| evidence | phase | median time (s) | MB/s | time vs baseline copy | peak RSS (MiB) |")
    print("|---:|---|---:|---:|---:|---:|")
    for total, phase, seconds, peak in rows:
        ratio = "" if phase == "floor" else f"{seconds / base[(total, 'baseline')][0]:.2f}"
        speed = "" if phase == "floor" else f"{total / seconds:.0f}"
        print(f"| {total} MB | {phase} | {seconds:.2f} | {speed} | {ratio} | {peak / 1024:.0f} |")
    sizes = sorted({t for t, *_ in rows})
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        print()
        for phase in ("export", "verify", "import"):
            grow = base[(large, phase)][1] / base[(small, phase)][1]
            print(f"- {phase}: peak RSS at {large} MB / at {small} MB = {grow:.2f}"
                  f" (data ×{large / small:.0f})")


if __name__ == "__main__":
    main()
