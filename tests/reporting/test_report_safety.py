"""Hostile data in reports: shown as text, never followed.

The fixture agency is named with markup and URLs (``<img src="file:///etc/passwd">``, a stylesheet
link, ``url(…)``); its system is scanned by the real nmap against a loopback HTTP server whose page
title and Server header carry ``<script>`` and a CSS ``url(…)``, and a recorded real nmap run adds an
HTTP title with ``<script>`` and a banner with ``url(http://127.0.0.1:9/x)``. Every URL points at a
"watch" listener on 127.0.60.1. Rendering every format (and opening the HTML in headless Chromium)
must show those strings as text while the watch listener sees no connection, and — for the renderer
in this process — Python's audit hooks see no socket connection, no URL request and no read of
/etc/passwd.
"""

from __future__ import annotations

import html as htmllib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import hostile_inventory, hostile_services, import_file, live_scan, record_recorded_scan

from secaudit import clock
from secaudit.reporting.documents import render_agency
from secaudit.reporting.render import render_pdf
from secaudit.reporting.rollup import render_province
from secaudit.requirements.content import Library
from secaudit.store.workspace import Workspace

TODAY = clock.today()


class _Audit:
    """Records socket connections, URL requests and file opens while active (audit hooks cannot be removed)."""

    def __init__(self) -> None:
        self.active = False
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        sys.addaudithook(self.hook)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event in ("socket.connect", "urllib.Request", "socket.getaddrinfo"):
            with self.lock:
                self.events.append((event, repr(args)[:200]))
        elif event == "open" and args and isinstance(args[0], (str, bytes)):
            path = os.fsdecode(args[0])
            if "passwd" in path or path.startswith("/etc/host"):
                with self.lock:
                    self.events.append((event, path))

    @contextmanager
    def watching(self) -> Iterator[list[tuple[str, str]]]:
        self.events.clear()
        self.active = True
        try:
            yield self.events
        finally:
            self.active = False


AUDIT = _Audit()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed")
    tmp = tmp_path_factory.mktemp("hostile")
    ws = Workspace.create(tmp / "ws")
    # 127.0.0.1:9 is where the recorded scan's banner points; listen there too when the port is free
    discard = socket.socket()
    discard.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        discard.bind(("127.0.0.1", 9))
        discard.listen(4)
        discard.settimeout(0.1)
    except OSError:
        discard.close()
        discard = None  # type: ignore[assignment]
    with hostile_services() as services:
        import_file(ws, hostile_inventory(services, tmp))
        live_scan(ws, "co-quan-doc-hai", "he-thong-doc-hai")
        record_recorded_scan(ws, "co-quan-doc-hai", "may-chu-ghi-san")
        lib = Library()
        profile = lib.resolve_profile("tu-danh-gia")
        scanned_hits = list(services.watch.hits)
        outputs: dict[str, bytes] = {}
        with AUDIT.watching() as events:
            for fmt in ("pdf", "html", "xlsx", "json", "oscal"):
                outputs[fmt] = render_agency(ws, lib, "co-quan-doc-hai", fmt=fmt, as_of=TODAY,
                                             profile=profile)
            for fmt in ("pdf", "html"):
                outputs[f"province-{fmt}"] = render_province(ws, lib, None, fmt=fmt, as_of=TODAY,
                                                             profile=profile)
            audit = list(events)
        yield {"ws": ws, "services": services, "outputs": outputs, "audit": audit, "tmp": tmp,
               "scanned_hits": scanned_hits, "discard": discard}
        if discard is not None:
            discard.close()
    ws.close()


def _discard_hits(sock: socket.socket | None) -> int:
    if sock is None:
        return 0
    hits = 0
    while True:
        try:
            conn, _ = sock.accept()
        except (TimeoutError, BlockingIOError):
            return hits
        hits += 1
        conn.close()


def test_the_scan_really_saw_the_hostile_server(hostile: dict[str, Any]) -> None:
    ws = hostile["ws"]
    scripts = [json.loads(r["scripts"]) for r in ws.db.query("select scripts from scan_ports where scripts != '{}'")]
    outputs = " ".join(v["output"] for s in scripts for v in s.values())
    assert hostile["services"].server in outputs  # the Server header, <script> and url() included
    assert hostile["scanned_hits"] == []  # nmap scanned the HTTP host only, never the watch address


def test_rendering_makes_no_network_or_file_access(hostile: dict[str, Any]) -> None:
    assert hostile["audit"] == []
    assert hostile["services"].watch.hits == []
    assert _discard_hits(hostile["discard"]) == 0


def _pdftext(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(done.stdout.decode("utf-8").split())


def test_pdf_shows_the_hostile_strings_as_text(hostile: dict[str, Any]) -> None:
    text = _pdftext(hostile["outputs"]["pdf"])
    compact = text.replace(" ", "")
    services = hostile["services"]
    for expected in ('<img src="file:///etc/passwd">', "<script>alert(2)</script>", "Cơ quan <b>thử</b> nghiệm",
                     "Nguyễn Văn <script>A</script>", "{{7*7}}"):
        assert expected.replace(" ", "") in compact, expected
    assert services.watch.url("x").replace(" ", "") in compact
    assert "url(http://127.0.0.1:9/x)" in compact  # the recorded scan's Server/banner string
    assert "&lt;img" not in text and "&#34;" not in text  # shown as characters, not as double-escaped markup
    assert b"/JavaScript" not in hostile["outputs"]["pdf"] and b"/JS " not in hostile["outputs"]["pdf"]
    province = _pdftext(hostile["outputs"]["province-pdf"]).replace(" ", "")
    assert "Cơquan<b>thử</b>nghiệm" in province


def test_html_escapes_every_hostile_string(hostile: dict[str, Any]) -> None:
    page = hostile["outputs"]["html"].decode("utf-8")
    assert '<img src="file:///etc/passwd">' not in page
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in page
    assert "<script" not in page and "<iframe" not in page and "<link" not in page and "<svg onload" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert htmllib.escape(hostile["services"].server, quote=True).replace("&#x27;", "&#39;") in page
    rollup = hostile["outputs"]["province-html"].decode("utf-8")
    assert rollup.count("<script") == 1  # only the page's own sort/filter script
    assert "&lt;b&gt;thử&lt;/b&gt;" in rollup


def test_exports_keep_the_text_and_oscal_escapes_markup(hostile: dict[str, Any]) -> None:
    doc = json.loads(hostile["outputs"]["json"])
    assert doc["systems"][0]["name"] == '<img src="file:///etc/passwd">'
    oscal = json.loads(hostile["outputs"]["oscal"])["assessment-results"]
    titles = [c["title"] for c in oscal["results"][0]["local-definitions"]["components"]]
    assert r'\<img src="file:///etc/passwd"\>' in titles
    assert "<script>" not in hostile["outputs"]["oscal"].decode("utf-8").replace("\\u003c", "<")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (apt-get install chromium)")


@pytest.mark.parametrize("which", ["html", "province-html"])
def test_browser_opens_the_html_without_fetching_anything(hostile: dict[str, Any], which: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(hostile["outputs"][which])
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000",
            "--dump-dom", page.as_uri()]
    done = subprocess.run(argv, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)})
    dom = done.stdout.decode("utf-8")
    assert "<body" in dom, done.stderr.decode(errors="replace")[-2000:]
    for tag in ("<img", "<iframe", "<link", "<object", "<embed"):
        assert tag not in dom, tag  # the hostile markup never became elements
    shown = "file:///etc/passwd" if which == "html" else "Cơ quan &lt;b&gt;thử&lt;/b&gt; nghiệm"
    assert shown in dom  # …but the hostile text is on the page, as text
    assert hostile["services"].watch.hits == []
    assert _discard_hits(hostile["discard"]) == 0


def test_the_guards_can_see_and_stop_a_fetch() -> None:
    """The checks above are not vacuous: a direct connection is seen, a fetch in the markup is refused."""
    from report_fixtures import _Watch

    from secaudit.errors import RenderError

    watch = _Watch("127.0.60.2")
    try:
        with AUDIT.watching() as events:
            socket.create_connection((watch.address, watch.port), timeout=2).close()
            seen = list(events)
        for _ in range(50):
            if watch.hits:
                break
            threading.Event().wait(0.05)
        assert watch.hits and any(e == "socket.connect" for e, _ in seen)
        watch.hits.clear()
        page = f'<html><body><img src="{watch.url("i.png")}"><p style="background: url({watch.url("b")})">x</p>' \
               f'<img src="file:///etc/passwd"></body></html>'
        with AUDIT.watching() as events, pytest.raises(RenderError, match="tài nguyên ngoài"):
            render_pdf(page.encode(), title="t", author="a", as_of=TODAY)
        assert list(events) == [] and watch.hits == []
    finally:
        watch.close()
