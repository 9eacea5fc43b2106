"""Benchmark the scan service against the bare nmap it drives, and the import of a large nmap XML.

Run by hand (not part of the test suite), as root or not, with nmap installed::

    PYTHONPATH=. .venv/bin/python bench/bench_scan.py --hosts 64 --repeat 5 --profile nhanh
    PYTHONPATH=. .venv/bin/python bench/bench_scan.py --import-hosts 10000 --repeat 5 --skip-scan
    PYTHONPATH=. .venv/bin/python bench/bench_scan.py --province 16x8 --repeat 5 --skip-scan --skip-import [--mixed]

1. **Scan overhead.** N loopback hosts (127.0.70.128 upwards, each with a small HTTP server on
   8080 so that the profile's scripts have work) are declared in a throwaway workspace. Each round
   runs ``secaudit scan AGENCY --profile P`` as a process (interpreter start, imports, planning,
   ``nmap --version``, storing XML, hosts, ports, findings), the same scan through the library
   call ``scan_agency`` in this process (everything but the interpreter start), and the very nmap
   command line the scan recorded, bare, with its XML going to a pipe that is read and dropped.
   The order rotates between rounds. Reported: medians and their ratios to bare nmap.
   ``--jobs`` compares ``--jobs J`` against ``--jobs 1`` the same way.
2. **Import.** A realistic nmap XML with M hosts (``synthetic.nmap_xml``: 3–6 open ports per host
   with service versions and script output, about 2.5 KB per host) of a declared 127.64.0.0/18
   range is imported with ``secaudit scan import`` in a fresh workspace each round; each run is a
   child process whose peak RSS comes from ``wait4``. Baseline: a bare defusedxml ``iterparse`` of
   the same file (each host cleared), in a child process. Floor: that parse followed by writing the
   rows the import stored (hosts, ports, tracks, findings) with plain ``sqlite3`` into a fresh database
   with the same tables and indexes, WAL and ``synchronous=FULL``, one transaction — the least an
   import that keeps those rows has to do (interpreter start-up not counted).
3. **Province.** ``--province AxH``: ``secaudit scan --all`` over A agencies of H loopback hosts
   against one bare nmap per planned process with the same command lines, and A separate
   ``scan AGENCY`` runs (see :func:`province_bench`).
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


def province_bench(agencies: int, per_agency: int, repeat: int, mixed: bool) -> dict[str, Any]:
    """``scan --all`` over ``agencies`` × ``per_agency`` loopback hosts against one bare nmap over the union.

    Hosts are 127.0.72.1 upwards, each with an HTTP server on 8080, which every agency declares.
    With ``mixed`` every other agency also declares 9443 (outside the profile), so the plan needs two nmap
    processes, and ``--jobs 2`` is timed against ``--jobs 1``. Also timed: the same agencies as
    ``agencies`` separate ``scan AGENCY`` processes (what the province did before ``--all``).
    """
    total = agencies * per_agency
    if total > 250:
        raise SystemExit("at most 250 hosts (127.0.72.1–250)")
    addresses = [f"127.0.72.{1 + i}" for i in range(total)]
    servers = start_http(addresses)
    tmp = Path(tempfile.mkdtemp(prefix="bench-province-"))
    try:
        for a in range(agencies):
            ports = "[{port: 8080}, {port: 9443}]" if mixed and a % 2 else "[{port: 8080}]"
            mine = addresses[a * per_agency:(a + 1) * per_agency]
            hosts = ", ".join(f"{{address: {x}, ports: {ports}}}" for x in mine)
            (tmp / f"co-quan-{a:02d}.yaml").write_text(
                f"code: co-quan-{a:02d}\nname: Cơ quan {a}\nkind: so-ban-nganh\nsystems:\n"
                f"  - {{code: he-thong, name: Hệ thống, hosts: [{hosts}]}}\n", encoding="utf-8")
        env = env_for(tmp / "ws")
        for args in (["init"], ["inventory", "import", str(tmp)]):
            _, done = secaudit([*args], env)
            assert done.returncode == 0, done.stderr.decode()
        times: dict[str, list[float]] = {"all": [], "bare": [], "serial": [], "jobs2": []}

        def argvs() -> list[list[str]]:
            import sqlite3

            with sqlite3.connect(tmp / "ws" / "secaudit.db") as conn:
                batch = conn.execute("select batch from scans order by id desc limit 1").fetchone()[0]
                rows = conn.execute("select distinct argv from scans where batch = ?", [batch]).fetchall()
            return [json.loads(r[0]) for r in rows]

        planned: list[list[str]] = []

        def run_all(jobs: int = 1) -> float:
            took, done = secaudit(["scan", "--all", "--jobs", str(jobs)], env)
            assert done.returncode == 0, done.stderr.decode()
            planned[:] = argvs()  # the command lines of this pass, which the bare run repeats
            return took

        run_all()  # warm-up; records the command lines the bare run repeats
        for round_ in range(repeat):
            steps = ["all", "bare", "serial"] + (["jobs2"] if mixed else [])
            for step in steps[round_ % len(steps):] + steps[:round_ % len(steps)]:
                if step == "all":
                    times["all"].append(run_all())
                elif step == "jobs2":
                    times["jobs2"].append(run_all(2))
                elif step == "bare":
                    commands = list(planned)
                    start = time.perf_counter()
                    for argv in commands:
                        bare(argv)
                    times["bare"].append(time.perf_counter() - start)
                else:
                    start = time.perf_counter()
                    for a in range(agencies):
                        _, done = secaudit(["scan", f"co-quan-{a:02d}"], env)
                        assert done.returncode == 0, done.stderr.decode()
                    times["serial"].append(time.perf_counter() - start)
        median = statistics.median
        result: dict[str, Any] = {
            "agencies": agencies, "hosts": total, "mixed": mixed, "repeat": repeat, "processes": len(planned),
            "bare_nmap_median_s": round(median(times["bare"]), 3),
            "all_median_s": round(median(times["all"]), 3),
            "all_ratio": round(median(times["all"]) / median(times["bare"]), 3),
            "serial_median_s": round(median(times["serial"]), 3),
            "serial_ratio": round(median(times["serial"]) / median(times["bare"]), 3),
        }
        if times["jobs2"]:
            result.update(jobs2_median_s=round(median(times["jobs2"]), 3),
                          jobs2_ratio=round(median(times["jobs2"]) / median(times["bare"]), 3))
        return result
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        shutil.rmtree(tmp, ignore_errors=True)


BARE_PARSE = """
import sys
from defusedxml.ElementTree import iterparse
hosts = 0
for _, elem in iterparse(sys.argv[1], events=("end",)):
    if elem.tag == "host":
        hosts += 1
        elem.clear()
print(hosts)
"""


#: The least an import has to do, timed inside a child: the bare parse above, then the rows the import
#: stored (read beforehand from its workspace, outside the timing) written into a fresh database with
#: the same tables and indexes, WAL and synchronous=FULL as a workspace, in one transaction.
FLOOR = """
import json, sqlite3, sys, time
from defusedxml.ElementTree import iterparse
xml, source, target = sys.argv[1:4]
tables = ("scan_hosts", "scan_ports", "finding_tracks", "findings")
src = sqlite3.connect(source)
schema = [r[0] for r in src.execute(
    "select sql from sqlite_master where tbl_name in (%s) and sql is not null order by type desc" % ",".join("?" * 4),
    tables)]
rows = {t: src.execute("select * from " + t).fetchall() for t in tables}
src.close()
start = time.perf_counter()
hosts = 0
for _, elem in iterparse(xml, events=("end",)):
    if elem.tag == "host":
        hosts += 1
        elem.clear()
parsed = time.perf_counter()
db = sqlite3.connect(target, isolation_level=None)
db.execute("pragma journal_mode=wal")
db.execute("pragma synchronous=full")
for sql in schema:
    db.execute(sql)
db.execute("begin")
for table in tables:
    if rows[table]:
        db.executemany("insert into %s values (%s)" % (table, ",".join("?" * len(rows[table][0]))), rows[table])
db.execute("commit")
done = time.perf_counter()
print(json.dumps({"parse": parsed - start, "write": done - parsed}))
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
    """``scan import`` of a realistic sweep (bench/synthetic.py ``nmap_xml``) against a bare defusedxml iterparse."""
    sys.path.insert(0, str(ROOT / "bench"))
    import synthetic

    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        xml = tmp / "sweep.xml"
        counts = synthetic.nmap_xml(xml, hosts)
        inv = tmp / "lon.yaml"
        inv.write_text("code: co-quan-lon\nname: Cơ quan thử tệp lớn\nkind: so-ban-nganh\nsystems:\n"
                       "  - {code: mang-lon, name: Mạng lớn, hosts: [{address: 127.64.0.0/18,"
                       " ports: [{port: 80, service: http}, {port: 443, service: https}]}]}\n", encoding="utf-8")
        times, peaks, parse_times, parse_peaks, floor_times, floor_parse = [], [], [], [], [], []
        rows = 0
        for round_ in range(repeat):
            env = env_for(tmp / f"ws{round_}")
            for args in (["init"], ["inventory", "import", str(inv)]):
                _, done = secaudit(args, env)
                assert done.returncode == 0, done.stderr.decode()
            took, peak, _ = child([sys.executable, "-m", "secaudit", "scan", "import", str(xml), "--system",
                                   "mang-lon"], env)
            times.append(took)
            peaks.append(peak)
            took, peak, _ = child([sys.executable, "-c", BARE_PARSE, str(xml)], env)
            parse_times.append(took)
            parse_peaks.append(peak)
            floor = subprocess.run([sys.executable, "-c", FLOOR, str(xml), str(tmp / f"ws{round_}" / "secaudit.db"),
                                    str(tmp / f"floor{round_}.db")], env=env, check=True, capture_output=True)
            phases = json.loads(floor.stdout)
            floor_parse.append(phases["parse"])
            floor_times.append(phases["parse"] + phases["write"])
            for suffix in ("", "-wal", "-shm"):
                (tmp / f"floor{round_}.db{suffix}").unlink(missing_ok=True)
            import sqlite3

            with sqlite3.connect(tmp / f"ws{round_}" / "secaudit.db") as conn:
                rows = conn.execute("select count(*) from findings").fetchone()[0]
                problems = conn.execute("select count(*) from finding_tracks").fetchone()[0]
            shutil.rmtree(tmp / f"ws{round_}", ignore_errors=True)
        median = statistics.median
        return {**counts, "xml_mb": round(xml.stat().st_size / 1e6, 1), "repeat": repeat,
                "load_average_1min": round(os.getloadavg()[0], 2),
                "finding_rows": rows, "problems": problems,  # equal since findings are one row per problem (v15)
                "import_median_s": round(median(times), 3),
                "import_peak_rss_mib": round(median(peaks) / 1024, 1),
                "bare_iterparse_median_s": round(median(parse_times), 3),
                "bare_iterparse_peak_rss_mib": round(median(parse_peaks) / 1024, 1),
                "ratio": round(median(times) / median(parse_times), 2),
                # parse + writing the same rows with plain sqlite3, timed in a child without its start-up
                "floor_parse_s": round(median(floor_parse), 3), "floor_s": round(median(floor_times), 3),
                "ratio_to_floor": round(median(times) / median(floor_times), 2)}
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
    parser.add_argument("--province", default=None, metavar="AxH",
                        help="also time scan --all over A agencies of H hosts each (e.g. 16x8)")
    parser.add_argument("--mixed", action="store_true", help="province agencies declare two port sets")
    args = parser.parse_args()
    if args.province:
        agencies, per_agency = (int(x) for x in args.province.split("x"))
        print(json.dumps(province_bench(agencies, per_agency, args.repeat, args.mixed), ensure_ascii=False))
    if not args.skip_scan:
        if shutil.which("nmap") is None:
            raise SystemExit("nmap is not installed")
        print(json.dumps(scan_bench(args.hosts, args.repeat, args.profile, args.jobs), ensure_ascii=False))
    if not args.skip_import:
        print(json.dumps(import_bench(args.import_hosts, args.repeat), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
