"""Scans started from the served app (issue 19): one per agency at a time, and a server killed mid-scan
leaves the scan marked interrupted, never "running" forever. nmap is replaced by a runner that replays
a recorded loopback scan (or never returns), so the tests need no network and no timing luck."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import recorded_scan, replay
from web import test_inspector_access as _access_tests

_police_template = _access_tests._police_template
police = _access_tests.police
client_as = _access_tests.client_as
AGENCY = "phuong-thanh-vinh"  # declares 127.0.14.1


def _wait(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_one_scan_per_agency_at_a_time_then_its_findings(police: tuple[Path, Path],
                                                         client_as: Callable[[str], Any]) -> None:
    from secaudit.errors import InputError
    from secaudit.services.inspector import start_scan

    root = police[0]
    release = threading.Event()
    recorded = replay(recorded_scan({"127.0.7.1": "127.0.14.1"}))

    def slow(argv: list[str]) -> Any:
        release.wait(60)
        return recorded(argv)

    job = start_scan(root, AGENCY, actor="thanhtra", runner=slow)
    _wait(lambda: job.state == "running" and _count(root, "running") == 1)
    with pytest.raises(InputError, match="Đang có một lần quét"):
        start_scan(root, AGENCY, actor="thanhtra", runner=slow)
    client = client_as("thanhtra")
    page = client.get(f"/quet/{AGENCY}")
    assert '<meta http-equiv="refresh" content="2">' in page.text and "Đang quét" in page.text
    assert f"form method=\"post\" action=\"/quet/{AGENCY}\"" not in page.text  # no second start offered
    # the browser's button while it runs: refused in Vietnamese, nothing started
    token = _access_tests.csrf(client)
    again = client.post(f"/quet/{AGENCY}", data={"csrf": token})
    assert again.status_code == 400 and "Đang có một lần quét" in again.text
    assert _count(root, None) == 1
    release.set()
    _wait(lambda: job.state != "running")
    assert job.state == "done", job.error
    page = client.get(f"/quet/{AGENCY}")
    assert "refresh" not in page.text and "Lần quét đã xong" in page.text
    assert "127.0.14.1" in page.text and "Chưa có lần quét trước để so sánh" in page.text
    assert "<td>không chuyển hướng</td>" in page.text and "no redirect" not in page.text  # the reader's language
    data = client.get(f"/quet/{AGENCY}.json").json()
    assert data["findings"] and data["job"]["actor"] == "thanhtra"
    # a second scan is compared with the first: same findings, so no change listed
    job = start_scan(root, AGENCY, actor="thanhtra", runner=recorded)
    _wait(lambda: job.state != "running")
    page = client.get(f"/quet/{AGENCY}")
    assert "Không thay đổi so với lần quét trước" in page.text, page.text
    with sqlite3.connect(root / "secaudit.db") as db:
        actors = {r[0] for r in db.execute("select actor from log where action like 'scan.%'")}
    assert actors == {"thanhtra"}


def _count(root: Path, status: str | None) -> int:
    with sqlite3.connect(root / "secaudit.db") as db:
        if status is None:
            return int(db.execute("select count(*) from scans").fetchone()[0])
        return int(db.execute("select count(*) from scans where status = ?", [status]).fetchone()[0])


SERVER_SCRIPT = """
import sys, threading, time
from pathlib import Path
from secaudit.services.inspector import start_scan
start_scan(Path(sys.argv[1]), sys.argv[2], actor="thanhtra", runner=lambda argv: threading.Event().wait())
print("started", flush=True)
time.sleep(600)
"""


def test_a_server_killed_mid_scan_leaves_the_scan_interrupted(police: tuple[Path, Path],
                                                              client_as: Callable[[str], Any]) -> None:
    root = police[0]
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(root), AGENCY], stdout=subprocess.PIPE,
                            env={**os.environ})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"started"
        _wait(lambda: _count(root, "running") == 1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # as a power cut or `kill -9` would
        proc.wait(timeout=10)
    page = client_as("thanhtra").get(f"/quet/{AGENCY}")  # opening the workspace reaps the abandoned scan
    assert page.status_code == 200 and "Bị ngắt" in page.text and "refresh" not in page.text
    assert _count(root, "running") == 0 and _count(root, "interrupted") == 1
    # and a new scan may start
    from secaudit.services.inspector import start_scan

    job = start_scan(root, AGENCY, actor="thanhtra", runner=replay(recorded_scan({"127.0.7.1": "127.0.14.1"})))
    _wait(lambda: job.state != "running")
    assert job.state == "done", job.error


def test_the_inspector_chooses_a_shipped_scan_profile_and_nothing_else(police: tuple[Path, Path],
                                                                       client_as: Callable[[str], Any]) -> None:
    from secaudit.errors import InputError
    from secaudit.services.inspector import start_scan

    root = police[0]
    client = client_as("thanhtra")
    page = client.get(f"/quet/{AGENCY}").text
    offered = page[page.index('<select name="profile">'):page.index("</select>")]
    assert offered.index('value="nhanh"') < offered.index('value="tieu-chuan"')  # the default first
    assert 'value="web"' in offered and "Quét tiêu chuẩn (1000 cổng phổ biến" in offered
    assert 'value="kiem-tra"' not in offered and 'value="tu-danh-gia"' not in offered  # assessment profiles
    token = _access_tests.csrf(client)
    for hostile in ("kiem-tra", "../../profiles/nhanh.yaml", "/etc/passwd", "x" * 500):
        reply = client.post(f"/quet/{AGENCY}", data={"csrf": token, "profile": hostile})
        assert reply.status_code == 400 and "Không có hồ sơ quét" in reply.text
    assert _count(root, None) == 0  # nothing started
    job = start_scan(root, AGENCY, actor="thanhtra", profile="tieu-chuan",
                     runner=replay(recorded_scan({"127.0.7.1": "127.0.14.1"})))
    _wait(lambda: job.state != "running")
    assert job.state == "done", job.error
    with sqlite3.connect(root / "secaudit.db") as db:
        assert [r[0] for r in db.execute("select profile from scans")] == ["tieu-chuan"]
    with pytest.raises(InputError, match="Không có hồ sơ quét"):
        start_scan(root, AGENCY, actor="thanhtra", profile="../nhanh")
