"""Scan verdicts that must not lie: real nmap against loopback services on 127.0.91.x.

* A declared service decides its checks: a web app declared ``8081/tcp http`` gets the HTTP checks
  under the default (quick) profile, although nmap's table names 8081 otherwise; a declared HTTP
  service that no check could cover leaves task 1 "not verified" (CHƯA ĐÁNH GIÁ), never ĐẠT.
* A host (or a port) declared after the latest scan was never looked at: task 1 is not verified,
  under ``tu-danh-gia`` and ``kiem-tra``, with a Vietnamese reason naming the host; a new scan fixes it.
* One finding per problem: the so-khcn demo report counts each (host, port, rule) once, as
  ``secaudit findings`` lists it, in the summary, the severity table, JSON, XLSX and the roll-up.

This module owns 127.0.91.0/24.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from openpyxl import load_workbook
from scanning.test_scans import Services, import_inventory

from secaudit.reporting.assessment import evaluate_agency
from secaudit.reporting.data import build_report
from secaudit.reporting.province import build_province
from secaudit.requirements.answers import record_answer
from secaudit.requirements.content import Library
from secaudit.requirements.results import Result, Status
from secaudit.scanning import batch as scan
from secaudit.store.migrations import v0009_host_declared_at
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (apt-get install nmap)")

LIB = Library()
SELF = LIB.resolve_profile("tu-danh-gia")
INSPECT = LIB.resolve_profile("kiem-tra")
WEB, MUTE, OLD, NEW = (f"127.0.91.{n}" for n in (1, 2, 3, 4))
DAY = dt.date(2026, 11, 22)


def _inventory(systems: str) -> str:
    return f"""\
code: co-quan-kiem-chung
name: Cơ quan thử kết luận quét
kind: so-ban-nganh
private_data_centre: false
systems:
{systems}"""


def _attest(ws: Workspace, tmp_path: Path, system: str) -> None:
    """Task 1 answered "đạt" with a document, so only the scan can make it anything else."""
    doc = tmp_path / f"bien-ban-{system}.pdf"
    doc.write_bytes(b"%PDF-1.4 bien ban")
    record_answer(ws, agency="co-quan-kiem-chung", system=system, checklist="kh04-bcdtw",
                  item="t1-lo-hong", status="dat", note="đã khắc phục", files=[doc], actor="pytest",
                  effective=DAY, expires=None, kind="bien-ban")


def _task1(ws: Workspace, system: str, profile: object) -> Result:
    result = evaluate_agency(ws, LIB, "co-quan-kiem-chung", as_of=DAY, profile=profile)  # type: ignore[arg-type]
    return next(r for r in result.system_results
                if (r.checklist, r.item, r.system) == ("kh04-bcdtw", "t1-lo-hong", system))


# -- item 9: the declared service decides the checks -----------------------------------------------
DECLARED = _inventory(f"""\
  - code: cong-web
    name: Cổng thông tin khai báo cổng 8081
    hosts:
      - address: {WEB}
        public_web: true
        ports: [{{port: 8081, protocol: tcp, service: http}}]
  - code: may-im-lang
    name: Dịch vụ khai báo http nhưng không trả lời HTTP
    hosts:
      - address: {MUTE}
        ports: [{{port: 8082, protocol: tcp, service: http}}]
""")


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, scan.ScanBatch, Path]]:
    tmp = tmp_path_factory.mktemp("declared")
    services = Services([{"kind": "http-plain", "address": WEB, "port": 8081},
                         {"kind": "banner", "address": MUTE, "port": 8082, "banner": "not http\r\n"}],
                        tmp / "services", None)
    ws = Workspace.create(tmp / "ws")
    mp = pytest.MonkeyPatch()
    mp.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    try:
        import_inventory(ws, DECLARED, tmp)
        for system in ("cong-web", "may-im-lang"):
            _attest(ws, tmp, system)
        batch = scan.scan_agency(ws, "co-quan-kiem-chung", actor="pytest")  # the default profile: nhanh
        yield ws, batch, tmp
    finally:
        mp.undo()
        services.stop()
        ws.close()


def test_default_profile_runs_http_checks_on_a_declared_http_port(declared, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, batch, _ = declared
    assert batch.status == "complete"
    rules = {r["rule"] for r in ws.db.query("select rule from findings where address = ? and port = 8081", [WEB])}
    assert rules >= {"http-khong-chuyen-https", "thieu-csp", "thieu-x-frame-options", "thieu-x-content-type-options",
                     "lo-phien-ban"}, rules
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    for profile in (SELF, INSPECT):
        task1 = _task1(ws, "cong-web", profile)
        assert task1.status is Status.FAIL, task1.reasons
        assert any(f"{WEB}:8081" in r for r in task1.reasons)


def test_declared_service_no_check_covered_is_not_verified(declared, monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _, _ = declared
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    assert not list(ws.db.query("select * from findings where address = ?", [MUTE]))
    for profile in (SELF, INSPECT):
        task1 = _task1(ws, "may-im-lang", profile)
        assert task1.status is Status.NOT_ASSESSED, (task1.status, task1.reasons)
        assert any(f"{MUTE}:8082" in r and "chưa được kiểm tra" in r for r in task1.reasons), task1.reasons


# -- issue 13 item 3: declared after the scan --------------------------------------------------------
ONE_HOST = _inventory(f"""\
  - code: he-thong
    name: Hệ thống có máy chủ khai báo sau lần quét
    hosts:
      - address: {OLD}
        ports: [{{port: 8083}}]
""")
TWO_HOSTS = ONE_HOST + f"""\
      - address: {NEW}
        ports: [{{port: 8084}}]
"""


def test_host_declared_after_the_scan_is_not_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = Services([{"kind": "http-redirect", "address": OLD, "port": 8083},
                         {"kind": "http-redirect", "address": NEW, "port": 8084}], tmp_path / "services", None)
    ws = Workspace.create(tmp_path / "ws")
    try:
        monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T08:00:00+07:00")
        import_inventory(ws, ONE_HOST, tmp_path)
        _attest(ws, tmp_path, "he-thong")
        scan.scan_agency(ws, "co-quan-kiem-chung", actor="pytest")
        monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T10:00:00+07:00")
        for profile in (SELF, INSPECT):
            assert _task1(ws, "he-thong", profile).status is Status.PASS  # the scanned host alone: verified

        monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
        import_inventory(ws, TWO_HOSTS, tmp_path)  # a second host, declared after the scan
        monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T10:00:00+07:00")
        for profile in (SELF, INSPECT):
            task1 = _task1(ws, "he-thong", profile)
            assert task1.status is Status.NOT_ASSESSED, (profile, task1.status, task1.reasons)
            reason = next(r for r in task1.reasons if NEW in r)
            assert "sau lần quét" in reason and "chưa kiểm chứng" in reason and "8084" in reason
            assert OLD not in reason

        declared = ws.db.execute("select address, declared_at from hosts order by position").fetchall()
        assert declared == [(OLD, "2026-11-22T01:00:00+00:00"), (NEW, "2026-11-22T02:00:00+00:00")]

        scan.scan_agency(ws, "co-quan-kiem-chung", actor="pytest")  # a scan newer than both declarations
        for profile in (SELF, INSPECT):
            assert _task1(ws, "he-thong", profile).status is Status.PASS
    finally:
        services.stop()
        ws.close()


def test_new_port_on_a_scanned_host_moves_its_declaration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create(tmp_path / "ws")
    try:
        monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T08:00:00+07:00")
        import_inventory(ws, ONE_HOST, tmp_path)
        monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
        import_inventory(ws, ONE_HOST, tmp_path)  # unchanged: keeps its declaration time
        assert ws.db.execute("select declared_at from hosts").fetchone()[0] == "2026-11-22T01:00:00+00:00"
        import_inventory(ws, ONE_HOST.replace("[{port: 8083}]", "[{port: 8083}, {port: 8085, service: https}]"),
                         tmp_path)
        assert ws.db.execute("select declared_at from hosts").fetchone()[0] == "2026-11-22T02:00:00+00:00"
    finally:
        ws.close()


def test_migration_backfills_declaration_times_from_the_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create(tmp_path / "ws")
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T08:00:00+07:00")
    import_inventory(ws, ONE_HOST, tmp_path)
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    import_inventory(ws, TWO_HOSTS, tmp_path)
    ws.close()
    db_path = next((tmp_path / "ws").rglob("*.db"))
    with sqlite3.connect(db_path) as conn:  # the column as a workspace from before v0009 lacks it
        conn.execute("alter table hosts drop column declared_at")
    db = sqlite_utils.Database(db_path)
    monkeypatch.setenv("SECAUDIT_NOW", "2026-12-01T09:00:00+07:00")
    v0009_host_declared_at.upgrade(db)
    # the second import changed the system: both hosts take its time (never earlier than the truth)
    assert db.execute("select address, declared_at from hosts order by position").fetchall() == [
        (OLD, "2026-11-22T02:00:00+00:00"), (NEW, "2026-11-22T02:00:00+00:00")]
    db.close()


# -- item 10: one finding per problem -------------------------------------------------------------------
def test_demo_report_counts_each_problem_once(cli, example_services: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    assert cli("assess", "so-khcn", "--answers", str(EXAMPLES / "answers" / "so-khcn.yaml")).code == 0
    assert cli("scan", "so-khcn").code == 0
    listed = json.loads(cli("findings", "--agency", "so-khcn", "--format", "json").out)
    problems = {(f["address"], f["port"], f["rule"]) for f in listed}
    assert len(problems) == len(listed) >= 2

    out = tmp_path / "so-khcn.json"
    assert cli("report", "so-khcn", "--format", "json", "-o", str(out), "--as-of", "2026-11-22").code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["counts"]["findings"] == len(problems)
    assert sum(doc["summary"]["findings_by_severity"].values()) == len(problems)
    assert {(f["address"], f["port"], f["rule"]) for f in doc["findings"]} == problems
    assert len(doc["findings"]) == len(problems)
    redis = next(f for f in doc["findings"] if f["port"] == 6379 and f["rule"] == "dich-vu-rui-ro-cao")
    assert "kh04-bcdtw:t1-lo-hong" in redis["bears_on"] and len(redis["bears_on"]) > 1

    xlsx = tmp_path / "so-khcn.xlsx"
    assert cli("report", "so-khcn", "--format", "xlsx", "-o", str(xlsx), "--as-of", "2026-11-22").code == 0
    book = load_workbook(xlsx, read_only=True)
    assert len(list(book["Phát hiện"].iter_rows(min_row=2, values_only=True))) == len(problems)
    severity_rows = [r for r in book["Tổng hợp"].iter_rows(values_only=True)
                     if r and r[0] in ("Nghiêm trọng", "Cao", "Trung bình", "Thấp") and isinstance(r[1], int)]
    assert sum(r[1] for r in severity_rows) == len(problems)

    ws = Workspace.open(tmp_path / "ws")  # the cli fixture's workspace
    try:
        province = build_province(ws, LIB, None, as_of=DAY, profile=SELF)
        row = next(a for a in province.agencies if a.code == "so-khcn")
        assert row.open_findings == len(problems)
        data = build_report(ws, LIB, "so-khcn", as_of=DAY, profile=SELF)
        assert data.counts["findings"] == len(problems)
    finally:
        ws.close()
