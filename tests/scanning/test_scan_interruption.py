"""A scan that is stopped or killed, and a host that times out, never read as a finished scan.

Real ``secaudit scan`` processes run real nmap against loopback listeners (127.0.0.0/8 only):

* SIGTERM (and SIGHUP, handled the same way) stops nmap's whole process group, keeps what was
  written and records the scan ``interrupted`` — no nmap is left running;
* SIGKILL cannot be handled: the next command sees the owning process is gone and shows the row
  ``interrupted`` (abandoned), not ``running`` forever; a reused pid does not count as alive;
* a host that hit ``--host-timeout`` makes the scan ``incomplete`` and the command exit 1,
  naming the host.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secaudit.scanning.owners import ABANDONED, owner, owner_alive, reap_abandoned
from secaudit.store.workspace import Workspace

from conftest import ROOT

pytestmark = pytest.mark.usefixtures("nmap_path")

# 60 ports at one probe every 300 ms: about 18 s of scanning, long enough to be caught mid-way.
SLOW = ["--scan-delay=300ms", "--max-retries=0"]
PORTS = "41000-41059"


def _env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, SECAUDIT_WORKSPACE=str(tmp_path / "ws"), SECAUDIT_ACTOR="pytest",
                PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "secaudit", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _setup(tmp_path: Path, address: str, port: int, options: list[str]) -> tuple[dict[str, str], Path]:
    """A workspace with one agency declaring ``address``, and a scan profile file with ``options``."""
    env = _env(tmp_path)
    assert _cli(env, "init").returncode == 0
    inv = tmp_path / "ngat.yaml"
    inv.write_text(f"code: co-quan-dung\nname: Cơ quan thử dừng quét\nkind: so-ban-nganh\nsystems:\n"
                   f"  - {{code: may, name: Máy, hosts: [{{address: {address}, ports: [{{port: {port}}}]}}]}}\n",
                   encoding="utf-8")
    done = _cli(env, "inventory", "import", str(inv))
    assert done.returncode == 0, done.stderr
    profile = tmp_path / "cham.yaml"
    profile.write_text(json.dumps({"id": "cham", "title": "Hồ sơ thử chậm",
                                   "scan": {"ports": f"{port},{PORTS}", "options": options}}), encoding="utf-8")
    return env, profile


def _nmap_processes(address: str) -> list[int]:
    """Pids of nmap processes whose command line names ``address`` (unique to the test)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and argv and argv[0].endswith(b"nmap") and address.encode() in argv:
            found.append(int(entry.name))
    return found


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@pytest.fixture
def nmap_reaper() -> Iterator[list[str]]:
    """Addresses whose leftover nmap processes are killed after the test (they are the test's own)."""
    addresses: list[str] = []
    yield addresses
    for address in addresses:
        for pid in _nmap_processes(address):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _start_slow_scan(tmp_path: Path, address: str, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str], int]:
    """Start ``secaudit scan`` and wait until its row is running and its nmap is at work; returns nmap's pid."""
    env, profile = _setup(tmp_path, address, port, [*SLOW, "--host-timeout=120s"])
    proc = subprocess.Popen([sys.executable, "-m", "secaudit", "scan", "co-quan-dung", "--profile", str(profile)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    db = tmp_path / "ws" / "secaudit.db"
    while time.monotonic() < deadline:
        time.sleep(0.1)
        pids = _nmap_processes(address)
        if pids:
            with sqlite3.connect(db) as conn:
                running = conn.execute("select count(*) from scans where status = 'running'").fetchone()[0]
            if running:
                time.sleep(1.0)  # nmap has sent some probes
                return proc, env, pids[0]
        assert proc.poll() is None, proc.communicate()[1].decode()
    proc.kill()
    pytest.fail("nmap never started")


def _listing(env: dict[str, str]) -> list[dict[str, object]]:
    listed = _cli(env, "scan", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, object]] = json.loads(listed.stdout)
    return rows


def test_sigterm_stops_nmap_group_and_records_interrupted(
        tmp_path: Path, loopback_ip: Callable[[], str], tcp_service: Callable[..., object],
        nmap_reaper: list[str]) -> None:
    address = loopback_ip()
    nmap_reaper.append(address)
    service = tcp_service(address)
    proc, env, nmap_pid = _start_slow_scan(tmp_path, address, service.port)  # type: ignore[attr-defined]
    pgid = os.getpgid(nmap_pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert _nmap_processes(address) == []  # no nmap outlives the scan …
    assert _group_members(pgid) == []      # … nor anything in its process group
    assert proc.returncode == 130, err.decode()
    assert "Đã ngắt" in err.decode()
    rows = _listing(env)
    assert [r["status"] for r in rows] == ["interrupted"]
    ws = Workspace.open(tmp_path / "ws")
    try:
        row = ws.db.execute("select finished, xml_sha256 from scans").fetchone()
        assert row[0] and row[1]  # what nmap wrote so far is kept as evidence
        assert ws.db.execute("select state from scan_hosts").fetchone()[0] == "unknown"
    finally:
        ws.close()


def test_sigkill_leaves_a_row_the_next_command_shows_interrupted(
        tmp_path: Path, loopback_ip: Callable[[], str], tcp_service: Callable[..., object],
        nmap_reaper: list[str]) -> None:
    address = loopback_ip()
    nmap_reaper.append(address)
    service = tcp_service(address)
    proc, env, _ = _start_slow_scan(tmp_path, address, service.port)  # type: ignore[attr-defined]
    proc.kill()
    proc.communicate(timeout=30)
    with sqlite3.connect(tmp_path / "ws" / "secaudit.db") as conn:  # what the killed process left
        assert conn.execute("select status from scans").fetchone()[0] == "running"
    rows = _listing(env)
    assert [r["status"] for r in rows] == ["interrupted"]
    ws = Workspace.open(tmp_path / "ws")
    try:
        error, finished = ws.db.execute("select error, finished from scans").fetchone()
        assert error == ABANDONED and finished is None  # when it died is not known
        assert ws.db.execute("select reason from scan_hosts").fetchone()[0] == ABANDONED
        actions = [r[0] for r in ws.db.execute("select action from log order by seq")]
        assert actions.count("scan.abandoned") == 1
    finally:
        ws.close()
    status = _cli(env, "status", "co-quan-dung", "--format", "json")
    assert "Traceback" not in status.stderr
    assert "running" not in status.stdout


def test_a_live_owner_is_not_abandoned_and_a_reused_pid_is(ws: Workspace) -> None:
    me = owner()
    assert owner_alive(me["owner_pid"], me["owner_start"], me["owner_host"]) is True
    if me["owner_start"] is None:
        pytest.skip("no /proc start time here")
    assert owner_alive(me["owner_pid"], str(int(me["owner_start"]) + 1), me["owner_host"]) is False  # reused pid
    assert owner_alive(None, None, me["owner_host"]) is False
    assert owner_alive(me["owner_pid"], me["owner_start"], "another-host.invalid") is None  # cannot tell
    with ws.transaction() as db:
        for values in ({**me}, {**me, "owner_start": str(int(me["owner_start"]) + 1)}):
            db.table("scans").insert({"agency": "x", "system": "", "profile": "nhanh", "status": "running",
                                      "started": "2026-11-22T02:00:00+00:00", "source": "nmap", **values})
    assert reap_abandoned(ws) == [2]
    statuses = [r[0] for r in ws.db.execute("select status from scans order by id")]
    assert statuses == ["running", "interrupted"]


def test_host_timeout_makes_the_scan_incomplete_and_exit_1(
        tmp_path: Path, loopback_ip: Callable[[], str], tcp_service: Callable[..., object]) -> None:
    address = loopback_ip()
    service = tcp_service(address)
    env, profile = _setup(tmp_path, address, service.port, [*SLOW, "--host-timeout=1s"])  # type: ignore[attr-defined]
    done = _cli(env, "scan", "co-quan-dung", "--profile", str(profile))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "hết thời gian quét máy chủ" in done.stderr and address in done.stderr
    rows = _listing(env)
    assert [r["status"] for r in rows] == ["incomplete"]
    assert _nmap_processes(address) == []
