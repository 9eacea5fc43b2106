"""Building blocks for the report tests: answered example data, hostile loopback services, real scans.

Everything is real: answers and evidence go through ``record_answer`` (files copied into the
evidence store), waivers through ``add_waiver``, scans through ``scan.scan_agency`` running the
real nmap against TCP services started here on 127.0.60.0/24 (this test area's own loopback range).
A "watch" listener on the same range counts every connection: a report that tried to fetch a URL it
found in the data would show up there.
"""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secaudit import clock
from secaudit.inventory import records as inventory
from secaudit.requirements.answers import add_waiver, record_answer
from secaudit.requirements.content import Library
from secaudit.scanning import NmapRun
from secaudit.scanning import batch as scan
from secaudit.store.workspace import Workspace, dumps

RANGE = "127.0.60"
WATCH_IP = f"{RANGE}.1"
HTTP_IP = f"{RANGE}.11"
HTTP_PORT = 8080  # a port nmap's HTTP scripts recognise without -sV (which would add ~20 s)
AS_OF = dt.date(2026, 5, 1)
#: Recorded from a real nmap run against hostile loopback services (see tests/scanning/data).
RECORDED_XML = Path(__file__).resolve().parent / "scanning" / "data" / "loopback-services.xml"


def answer_example(ws: Workspace, library: Library, tmp_path: Path) -> dict[str, Path]:
    """Answers, evidence files and a waiver for so-khcn in an example workspace; returns the files."""
    folder = tmp_path / "evidence-files"
    folder.mkdir(exist_ok=True)
    files = {
        "phan-cong": folder / "QĐ-phân-công-lực-lượng-tại-chỗ.pdf",
        "bien-ban": folder / "bien-ban-khac-phuc-lo-hong.pdf",
    }
    files["phan-cong"].write_bytes(b"%PDF-1.4\n% quyet dinh phan cong (mau)\n")
    files["bien-ban"].write_bytes(b"%PDF-1.4\n% bien ban khac phuc lo hong (mau)\n")
    record_answer(ws, agency="so-khcn", system=None, checklist="kh04-bcdtw", item="t4-lop-1", status="dat",
                  note="Tổ ứng cứu tại chỗ 5 người", files=[files["phan-cong"]], actor="pytest",
                  kind="quyet-dinh", effective=dt.date(2026, 3, 2))
    record_answer(ws, agency="so-khcn", system="lgsp-tinh", checklist="kh04-bcdtw", item="t1-lo-hong",
                  status="dat", note="Đã vá theo biên bản", files=[files["bien-ban"]], actor="pytest",
                  kind="bien-ban", effective=dt.date(2026, 4, 20))
    record_answer(ws, agency="so-khcn", system=None, checklist="kh04-bcdtw", item="t5-giam-sat",
                  status="chua-dat", note="Đang lựa chọn nhà cung cấp", files=[], actor="pytest")
    add_waiver(ws, library, agency="so-khcn", system=None, ref="kh04-bcdtw:t6-soc",
               reason="Dùng SOC dùng chung của tỉnh theo chỉ đạo", approved_by="Giám đốc Sở KH&CN",
               until=dt.date(2026, 12, 31), actor="pytest")
    return files


class _Watch:
    """A TCP listener that records every connection it accepts (and answers nothing)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.address = address
        self.hits: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.hits.append(peer)
            conn.close()

    def url(self, path: str) -> str:
        return f"http://{self.address}:{self.port}/{path}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@dataclass
class Hostile:
    """The hostile strings and the services that serve them."""

    watch: _Watch
    http_port: int
    system_name: str = '<img src="file:///etc/passwd">'
    title: str = ""
    server: str = ""


@contextmanager
def hostile_services() -> Iterator[Hostile]:
    """A watch listener and an HTTP server (127.0.60.11:8080) with a hostile page title and Server header."""
    watch = _Watch(WATCH_IP)
    # nmap's http-title keeps text up to the first "<", so the title carries its markup as entities and a
    # CSS url(); the Server header (reported raw by http-server-header) carries a real <script> tag.
    title = f'&lt;script&gt;alert(1)&lt;/script&gt; {{{{7*7}}}} url({watch.url("t.png")})'
    server = f"<script>alert(2)</script> url({watch.url('x')})"

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = server
        sys_version = ""

        def do_GET(self) -> None:
            body = f"<html><head><title>{title}</title></head><body>ok</body></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # scanners hang up mid-request; that is not an error here

    httpd = Server((HTTP_IP, HTTP_PORT), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hostile(watch, HTTP_PORT, title=title, server=server)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(2)
        watch.close()


def hostile_inventory(hostile: Hostile, tmp_path: Path) -> Path:
    """An agency file whose names carry markup and URLs pointing at the watch listener."""
    text = f"""\
code: co-quan-doc-hai
name: 'Cơ quan <b>thử</b> nghiệm <link rel=stylesheet href="{hostile.watch.url('n.css')}">'
kind: so-ban-nganh
parent: 'UBND TỈNH <i>NGHỆ AN</i>'
symbol: CQTN
security_contact:
  name: 'Đầu mối <svg onload=alert(1)>'
signer:
  authority: TM.
  on_behalf_of: 'UBND <u>TỈNH</u>'
  title: CHỦ TỊCH
  name: 'Nguyễn Văn <script>A</script>'
recipients:
  - 'Như trên'
  - 'url({hostile.watch.url('r')})'
  - 'Lưu: VT'
systems:
  - code: he-thong-doc-hai
    name: '{hostile.system_name}'
    purpose: 'background: url({hostile.watch.url('p')}) <iframe src="{hostile.watch.url('f')}"></iframe>'
    critical: true
    hosting: tai-co-quan
    level:
      proposed: 2
    hosts:
      - address: {HTTP_IP}
        ports:
          - port: {hostile.http_port}
  - code: may-chu-ghi-san
    name: 'Máy chủ <b>ghi sẵn</b> {{{{7*7}}}}'
    critical: false
    hosts:
      - address: 127.0.7.1
        ports:
          - port: 8080
          - port: 8443
          - port: 18099
"""
    path = tmp_path / "co-quan-doc-hai.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def import_file(ws: Workspace, path: Path) -> None:
    agencies = inventory.load_agencies([path])
    inventory.import_agencies(ws, agencies, actor="pytest", source=str(path))


def live_scan(ws: Workspace, agency: str, system: str) -> Any:
    """A real nmap scan of one system's declared hosts with the packaged quick profile (HTTP scripts included)."""
    return scan.scan_agency(ws, agency, system=system, profile_id="nhanh", actor="pytest")


def record_recorded_scan(ws: Workspace, agency: str, system: str, xml_path: Path = RECORDED_XML) -> Any:
    """Record a scan whose nmap output is an XML file captured from a real nmap run (hostile strings inside)."""
    import shlex

    from defusedxml import ElementTree

    xml = xml_path.read_bytes()
    root = ElementTree.fromstring(xml)
    argv = shlex.split(root.get("args", "nmap"))
    recorded_start = dt.datetime.fromtimestamp(int(root.get("start", "0")), dt.UTC)
    finished_el = root.find("runstats/finished")
    recorded_end = (dt.datetime.fromtimestamp(int(finished_el.get("time", "0")), dt.UTC) if finished_el is not None
                    else recorded_start)
    # dated now by our clock (as a scan run here would be), not on the day the XML was captured: the
    # tests then hold whatever the date, before or after the capture
    finished = clock.now().replace(microsecond=0)
    started = finished - (recorded_end - recorded_start)

    def runner(_argv: list[str]) -> NmapRun:
        return NmapRun(argv=argv, xml=xml, stderr="", returncode=0, started=started, finished=finished)

    outcome = scan.scan_agency(ws, agency, system=system, profile_id="nhanh", actor="pytest", runner=runner)
    with ws.transaction() as db:
        db["scans"].update(outcome.scan_id, {"argv": dumps(argv), "started": started.isoformat()})
    return outcome
