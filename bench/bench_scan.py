"""Benchmark the scan service against the bare nmap it drives, and the import of a large nmap XML.

Run by hand (not part of the test suite), as root or not, with nmap installed::

    PYTHONPATH=. .venv/bin/python bench/bench_scan.py --hosts 64 --repeat 5 --profile nhanh
    PYTHONPATH=. .venv/bin/python bench/bench_scan.py --import-hosts 10000 --repeat 5 --skip-scan

1. **Scan overhead.** N loopback hosts (127.0.70.128 upwards, each with a small HTTP server on
   8080 so that the profile's scripts have work) are declared in a throwaway workspace. Each round
   runs ``secaudit scan AGENCY --profile P`` as a process (interpreter start, imports, planning,
   ``nmap --version``, storing XML, hosts, ports, findings), the same scan through the library
   call ``scan_agency`` in this process (everything but the interpreter start), and the very nmap
   command line the scan recorded, bare, with its XML going to a pipe that is read and dropped.
   The order rotates between rounds. Reported: medians and their ratios to bare nmap.
   ``--jobs`` compares ``--jobs J`` against ``--jobs 1`` the same way.
2. **Import.** A synthetic nmap XML with M hosts (one open HTTP port each, the shape nmap writes) of
   a declared 127.64.0.0/18 range is imported with ``secaudit scan import`` in a fresh workspace
   each round; each run is a child process whose peak RSS comes from ``wait4``. Baseline: the same
   file only parsed (streamed) by :func:`secaudit.scanning.iter_hosts` in a child process.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><head><title>bench</title></head><body>ok</body></html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def log_message(self, *args: Any) -> None:
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # nmap resets connections; that is expected


def start_http(addresses: list[str]) -> list[_Server]:
    servers = []
    for address in addresses:
        server = _Server((address, 8080), _Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def env_for(workspace: Path) -> dict[str, str]:
    return dict(os.environ, SECAUDIT_WORKSPACE=str(workspace), SECAUDIT_ACTOR="bench",
                PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def secaudit(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "secaudit", *args], env=env, capture_output=True, check=False)
    return time.perf_counter() - start, done


def bare(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL,
                   env={"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}, check=True)
    return time.perf_counter() - start


def scan_bench(hosts: int, repeat: int, profile: str, jobs: int) -> dict[str, Any]:
    addresses = [f"127.0.70.{128 + i}" for i in range(hosts)]
    if hosts > 120:
        raise SystemExit("at most 120 hosts (127.0.70.128–247)")
    servers = start_http(addresses)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    try:
        systems = max(1, min(jobs, hosts))
        lines = ["code: bench", "name: Cơ quan đo hiệu năng", "kind: so-ban-nganh", "systems:"]
        for s in range(systems):
            lines += [f"  - code: he-thong-{s}", f"    name: Hệ thống {s}", "    hosts:"]
            lines += [f"      - {{address: {a}, ports: [{{port: 8080}}]}}" for a in addresses[s::systems]]
        inv = tmp / "bench.yaml"
        inv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        env = env_for(tmp / "ws")
        for args in (["init"], ["inventory", "import", str(inv)]):
            _, done = secaudit(args, env)
            assert done.returncode == 0, done.stderr.decode()
        ours: list[float] = []
        library: list[float] = []
        nmap: list[float] = []
        parallel: list[float] = []

        def last_argv() -> list[str]:
            import sqlite3

            with sqlite3.connect(tmp / "ws" / "secaudit.db") as conn:
                return json.loads(conn.execute("select argv from scans order by id desc limit 1").fetchone()[0])

        def run_cli() -> None:
            took, done = secaudit(["scan", "bench", "--profile", profile], env)
            assert done.returncode == 0, done.stderr.decode()
            ours.append(took)

        def run_library() -> None:
            from secaudit.scanning import batch as scan
            from secaudit.store.workspace import Workspace

            ws = Workspace.open(tmp / "ws")
            try:
                start = time.perf_counter()
                batch = scan.scan_agency(ws, "bench", profile_id=profile, actor="bench")
                library.append(time.perf_counter() - start)
                assert batch.status == "complete", batch.error
            finally:
                ws.close()

        def run_bare() -> None:
            nmap.append(bare(last_argv()))

        run_cli()  # warm-up, and the bare run needs a recorded command line
        ours.pop()
        for round_ in range(repeat):
            steps = [run_cli, run_library, run_bare]
            for step in steps[round_ % 3:] + steps[: round_ % 3]:  # rotate the order between rounds
                step()
            if jobs > 1:
                took, done = secaudit(["scan", "bench", "--profile", profile, "--jobs", str(jobs)], env)
                assert done.returncode == 0, done.stderr.decode()
                parallel.append(took)
        median = statistics.median
        result = {"hosts": hosts, "profile": profile, "repeat": repeat,
                  "bare_nmap_median_s": round(median(nmap), 3),
                  "library_median_s": round(median(library), 3),
                  "library_ratio": round(median(library) / median(nmap), 3),
                  "cli_median_s": round(median(ours), 3),
                  "cli_ratio": round(median(ours) / median(nmap), 3)}
        if parallel:
            result.update({"jobs": jobs, "jobs_median_s": round(median(parallel), 3),
                           "jobs_vs_one_cli": round(median(parallel) / median(ours), 3)})
        return result
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        shutil.rmtree(tmp, ignore_errors=True)


PARSE_ONLY = """
import sys
from secaudit.scanning import iter_hosts
stream = iter_hosts(sys.argv[1])
print(sum(1 for _ in stream), stream.result.complete)
"""


def child(argv: list[str], env: dict[str, str]) -> tuple[float, int, bytes]:
    """Run a child; return (wall seconds, peak RSS in KiB, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {err.decode()[-2000:]}")
    return took, usage.ru_maxrss, err


def import_bench(hosts: int, repeat: int) -> dict[str, Any]:
    from test_scan import big_xml

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        xml = tmp / "sweep.xml"
        big_xml(xml, hosts)
        inv = tmp / "lon.yaml"
        inv.write_text("code: co-quan-lon\nname: Cơ quan thử tệp lớn\nkind: so-ban-nganh\nsystems:\n"
                       "  - {code: mang-lon, name: Mạng lớn, hosts: [{address: 127.64.0.0/18, ports: [{port: 80}]}]}\n",
                       encoding="utf-8")
        times, peaks, parse_times, parse_peaks = [], [], [], []
        for round_ in range(repeat):
            env = env_for(tmp / f"ws{round_}")
            for args in (["init"], ["inventory", "import", str(inv)]):
                _, done = secaudit(args, env)
                assert done.returncode == 0, done.stderr.decode()
            took, peak, _ = child([sys.executable, "-m", "secaudit", "scan", "import", str(xml), "--system",
                                   "mang-lon"], env)
            times.append(took)
            peaks.append(peak)
            took, peak, _ = child([sys.executable, "-c", PARSE_ONLY, str(xml)], env)
            parse_times.append(took)
            parse_peaks.append(peak)
        return {"hosts": hosts, "xml_mib": round(xml.stat().st_size / 2**20, 2), "repeat": repeat,
                "import_median_s": round(statistics.median(times), 3),
                "import_peak_rss_mib": round(statistics.median(peaks) / 1024, 1),
                "parse_only_median_s": round(statistics.median(parse_times), 3),
                "parse_only_peak_rss_mib": round(statistics.median(parse_peaks) / 1024, 1)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--profile", default="nhanh")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="also time --jobs J against --jobs 1")
    parser.add_argument("--import-hosts", type=int, default=10000)
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args()
    if not args.skip_scan:
        if shutil.which("nmap") is None:
            raise SystemExit("nmap is not installed")
        print(json.dumps(scan_bench(args.hosts, args.repeat, args.profile, args.jobs), ensure_ascii=False))
    if not args.skip_import:
        print(json.dumps(import_bench(args.import_hosts, args.repeat), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
