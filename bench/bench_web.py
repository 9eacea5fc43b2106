"""Benchmark: ``secaudit serve`` under concurrent signed-in users (issue 18).

A synthetic province (``bench/synthetic.py``, default 150 agencies × 10 systems) is imported once
into a workspace under ``--cache`` with one inspector and one officer per agency. The real
``secaudit serve`` runs in its own process on 127.0.0.1 (loopback only). Then:

1. every user signs in; the first (cold) dashboard and agency page are timed alone;
2. baseline: the same number of concurrent users fetch the stylesheet (the server's floor:
   routing, headers, one small file) for a quarter of the time;
3. load: ``--users`` concurrent users browse for ``--seconds``: half inspectors (dashboard with and
   without filters, any agency page), half officers (their agency page, one of its systems).

Prints, per page kind: requests, errors, requests/s, median and p95 latency, and the median's
ratio to the baseline's. The issue's bar: no errors, p95 ≤ 300 ms for dashboard and agency pages.

Run by hand: ``.venv/bin/python bench/bench_web.py --agencies 150 --systems 10 --users 20 --seconds 60``.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

NOW = "2026-11-22T09:00:00+07:00"
PASSWORD = "mat-khau-bench-2026"


def build(folder: Path, agencies: int, systems: int) -> Path:
    """The workspace with the province and the accounts, created once and reused."""
    os.environ["SECAUDIT_NOW"] = NOW
    from secaudit.inventory import records as inventory
    from secaudit.inventory.models import Agency
    from secaudit.services.accounts import add_user
    from secaudit.store.workspace import Workspace

    ws_dir = folder / f"web-{agencies}x{systems}"
    if (ws_dir / ".complete").exists():
        return ws_dir
    docs = synthetic.province(agencies, systems)
    ws = Workspace.create(ws_dir)
    inventory.import_agencies(ws, [Agency.model_validate(d) for d in docs], actor="bench", source="bench")
    add_user(ws, "thanhtra", PASSWORD, role="inspector", actor="bench")
    for d in docs:
        add_user(ws, f"cb-{d['code']}", PASSWORD, role="officer", agency=d["code"], actor="bench")
    ws.close()
    (ws_dir / ".complete").write_text("ok\n")
    return ws_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/dang-nhap").text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "no sign-in form"
    reply = client.post("/dang-nhap", data={"csrf": token[1], "username": username, "password": PASSWORD})
    assert reply.status_code in (200, 303) and "secaudit_session" in client.cookies, reply.status_code
    return client


def timed(client: httpx.Client, path: str) -> tuple[float, int]:
    start = time.perf_counter()
    status = client.get(path).status_code
    return time.perf_counter() - start, status


def run_users(clients: list[tuple[str, httpx.Client]], seconds: float, pick: object) -> list[tuple[str, float, int]]:
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def user(index: int, name: str, client: httpx.Client) -> None:
        rng = random.Random(index)
        mine = []
        while time.monotonic() < stop:
            kind, path = pick(name, rng)  # type: ignore[operator]
            elapsed, status = timed(client, path)
            mine.append((kind, elapsed, status))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=user, args=(i, n, c)) for i, (n, c) in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=150)
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "secaudit-bench")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    ws = build(args.cache, args.agencies, args.systems)
    print(f"workspace: {ws} ({time.perf_counter() - started:.1f} s)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SECAUDIT_NOW": NOW}
    server = subprocess.Popen([sys.executable, "-m", "secaudit", "serve", "-w", str(ws), "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start") from None
                time.sleep(0.1)
        codes = [f"co-quan-{i:03d}" for i in range(args.agencies)]
        inspectors = (args.users + 1) // 2
        clients = [("thanhtra", sign_in(base, "thanhtra")) for _ in range(inspectors)]
        clients += [(f"cb-{codes[i]}", sign_in(base, f"cb-{codes[i]}")) for i in range(args.users - inspectors)]
        cold_dash, status = timed(clients[0][1], "/")
        assert status == 200, status
        cold_agency, status = timed(clients[-1][1], f"/co-quan/{clients[-1][0][3:]}")
        assert status == 200, status

        baseline = run_users(clients, max(5.0, args.seconds / 4),
                             lambda name, rng: ("baseline", "/tai-nguyen/style.css"))

        def pick(name: str, rng: random.Random) -> tuple[str, str]:
            if name == "thanhtra":
                roll = rng.random()
                if roll < 0.5:
                    return "dashboard", rng.choice(["/", "/?state=overdue", "/?kind=ubnd-xa", "/?q=so 1",
                                                    "/?task=t1-lo-hong"])
                return "agency", f"/co-quan/{rng.choice(codes)}"
            code = name[3:]
            if rng.random() < 0.6:
                return "agency", f"/co-quan/{code}"
            return "system", f"/co-quan/{code}/he-thong/he-thong-{rng.randrange(args.systems):02d}"

        load = run_users(clients, args.seconds, pick)
    finally:
        server.terminate()
        server.wait(timeout=10)
    base_median = statistics.median(t for _, t, _ in baseline)
    print(f"\n{args.agencies} agencies × {args.systems} systems, {args.users} users "
          f"({inspectors} inspectors, {args.users - inspectors} officers), {args.seconds:.0f} s, as of {NOW[:10]}")
    print(f"cold (first request, nothing cached): dashboard {cold_dash * 1000:.0f} ms, "
          f"agency page {cold_agency * 1000:.0f} ms")
    print("\n| page | requests | errors | req/s | median (ms) | p95 (ms) | median vs baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, rows, seconds in [("baseline (stylesheet)", baseline, max(5.0, args.seconds / 4)),
                                ("dashboard", [r for r in load if r[0] == "dashboard"], args.seconds),
                                ("agency", [r for r in load if r[0] == "agency"], args.seconds),
                                ("system", [r for r in load if r[0] == "system"], args.seconds),
                                ("all pages", load, args.seconds)]:
        times = [t for _, t, _ in rows]
        errors = sum(1 for _, _, s in rows if s != 200)
        median = statistics.median(times)
        print(f"| {kind} | {len(rows)} | {errors} | {len(rows) / seconds:.1f} | {median * 1000:.1f} | "
              f"{p95(times) * 1000:.1f} | {median / base_median:.1f} |")
    worst = max(p95([t for k, t, _ in load if k == kind]) for kind in ("dashboard", "agency"))
    failed = sum(1 for _, _, s in load if s != 200)
    print(f"\nissue 18 bar (no errors, p95 ≤ 300 ms on dashboard and agency pages): "
          f"{'met' if not failed and worst <= 0.3 else 'NOT met'} (worst p95 {worst * 1000:.0f} ms, {failed} errors)")


if __name__ == "__main__":
    main()
