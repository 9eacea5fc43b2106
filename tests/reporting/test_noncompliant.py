"""The publishable list of non-compliant agencies (3130/UBND-VX; issue 16): who, which task, by when — no more.

The workspace holds a real recorded nmap scan with open ports and findings on a loopback address, so the
technical detail the list must leave out is really there to leak.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import import_file, record_recorded_scan

from secaudit.inventory import records as inventory
from secaudit.reporting import noncompliant
from secaudit.reporting.data import current_scans, open_findings
from secaudit.reporting.province import AgencyRow, Cell, TaskColumn, assemble
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?i)(?<![0-9a-z:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![0-9a-z:])")
PORT = re.compile(r"(?i)\b(?:port|cổng)\b|:\d{2,5}\b|\b\d{2,5}/(?:tcp|udp)\b")
SCANNED = """\
code: so-thu-nghiem
name: Sở Thử nghiệm
kind: so-ban-nganh
symbol: STN
systems:
  - code: may-chu-ghi-san
    name: Máy chủ ứng dụng nội bộ
    critical: true
    hosts:
      - address: 127.0.7.1
        ports:
          - port: 8080
          - port: 8443
          - port: 18099
"""


def _leaks(text: str) -> list[str]:
    return [m.group(0) for rx in (IPV4, IPV6, PORT) for m in rx.finditer(text)]


@pytest.fixture
def province(tmp_path: Path, pinned_now: str) -> dict[str, Any]:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils is not installed")
    ws = Workspace.create(tmp_path / "ws")
    inventory.import_agencies(ws, inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory")),
                              actor="pytest", source="examples")
    path = tmp_path / "so-thu-nghiem.yaml"
    path.write_text(SCANNED, encoding="utf-8")
    import_file(ws, path)
    record_recorded_scan(ws, "so-thu-nghiem", "may-chu-ghi-san")
    current = current_scans(ws, "so-thu-nghiem", ["may-chu-ghi-san"], dt.date(2026, 11, 22))
    findings = open_findings(ws, current)
    ws.close()
    assert findings, "the recorded scan gives findings to leak"
    secrets = {"127.0.7.1", "Máy chủ ứng dụng nội bộ", "may-chu-ghi-san", *(f["title"] for f in findings),
               *(str(f["port"]) for f in findings if f["port"])}
    return {"secrets": secrets}


def test_pdf_and_xlsx_name_agencies_tasks_and_deadlines_without_technical_detail(
        cli: Any, tmp_path: Path, province: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    pdf, xlsx = tmp_path / "ds.pdf", tmp_path / "ds.xlsx"
    res = cli("report", "--province", "--non-compliant", "--format", "pdf", "-o", str(pdf))
    assert res.code == 0, res.err
    res = cli("report", "--province", "--non-compliant", "--format", "xlsx", "-o", str(xlsx))
    assert res.code == 0, res.err
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          check=True).stdout.decode()
    flat = " ".join(text.split())
    cells = [c.strftime("%d/%m/%Y") if isinstance(c, dt.datetime) else str(c)  # date cells: no clock time
             for ws in load_workbook(io.BytesIO(xlsx.read_bytes())) for row in ws.iter_rows(values_only=True)
             for c in row if c is not None]
    for where, body in (("pdf", flat), ("xlsx", "\n".join(cells))):
        assert not _leaks(body), (where, _leaks(body)[:5])
        for secret in province["secrets"]:
            assert secret not in body, (where, secret)
        assert "3130/UBND-VX" in body, where
        assert "Sở Thử nghiệm" in body and "Sở Khoa học và Công nghệ" in body, where
        assert "Khắc phục lỗ hổng bảo mật" in body, where
    assert "THÔNG BÁO" in flat and "Danh sách cơ quan, đơn vị chưa hoàn thành" in flat
    assert "30/04/2026" in flat and "Chưa có kết quả đánh giá, quá hạn" in flat
    assert dt.datetime(2026, 4, 30) in [c for ws in load_workbook(io.BytesIO(xlsx.read_bytes()))
                                        for row in ws.iter_rows(values_only=True) for c in row]
    meta = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, check=True).stdout.decode()
    assert "pdfaid:part" in meta  # a PDF/A-3b like the other reports


def test_only_agencies_with_overdue_or_unmet_tasks_are_listed() -> None:
    tasks = [TaskColumn(id=f"t{i}", short=f"Nhiệm vụ {i}", title=f"Nhiệm vụ {i}", deadline=f"2026-0{i}-30")
             for i in (4, 5)]
    rows = [
        AgencyRow(code="xong", name="Cơ quan đã xong", cells=[Cell("dat"), Cell("mien-tru")]),
        AgencyRow(code="cham", name="Cơ quan chậm", cells=[Cell("chua-dat", overdue=True), Cell("dat")],
                  findings={"cao": 3}),
        AgencyRow(code="chua", name="Cơ quan chưa đánh giá", cells=[Cell("dat"), Cell(None)]),
    ]
    data = assemble(tasks, rows, lang="vi", as_of=dt.date(2026, 5, 10), province="Nghệ An", issuer=None)
    listing = noncompliant.build_list(data)
    assert [(a.name, [(e.number, e.state, e.overdue) for e in a.entries]) for a in listing.agencies] == [
        ("Cơ quan chậm", [(1, "chua-dat", True)]), ("Cơ quan chưa đánh giá", [(2, "chua-danh-gia", False)])]
    assert listing.total == 3 and listing.with_overdue == 1
    page = noncompliant.render(data, fmt="html").decode()
    assert "Cơ quan đã xong" not in page and "Có 2/3 cơ quan, đơn vị trong danh sách" in page
    empty = assemble(tasks, rows[:1], lang="en", as_of=dt.date(2026, 5, 10), province="Nghệ An", issuer=None)
    assert "no agency has an overdue or unfinished task" in noncompliant.render(empty, fmt="html").decode()


def test_formats_are_checked(cli: Any, tmp_path: Path, pinned_now: str) -> None:
    assert cli("init").code == 0
    assert cli("inventory", "import", str(EXAMPLES / "inventory")).code == 0
    res = cli("report", "--province", "--non-compliant", "--format", "json", "-o", str(tmp_path / "x.json"))
    assert res.code == 2
    res = cli("report", "--province", "--format", "xlsx", "-o", str(tmp_path / "x.xlsx"))
    assert res.code != 0 and "--non-compliant" not in res.out and "xlsx" in res.err
    res = cli("report", "--province", "--non-compliant", "--format", "html", "--lang", "en", "-o",
              str(tmp_path / "x.html"))
    assert res.code == 0, res.err
    page = (tmp_path / "x.html").read_text(encoding="utf-8")
    assert "NOTICE" in page and "3130/UBND-VX" in page and "Chưa có kết quả" not in page
