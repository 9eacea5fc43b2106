"""The inspector's whole job in real Chromium against ``secaudit serve`` (issue 19): receive so-khcn's
bundle, accept its declared hosts, scan them from the browser (real nmap, the example loopback
services), see the contradiction on lgsp-tinh / task 1 first, record a verdict, set the issuer,
download the inspection report — every step in the audit log under the signed-in inspector.

Screenshots go to ``$SECAUDIT_SCREENSHOTS`` when set (docs/web/cong-an-*.png), else to tmp_path.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web import test_browser as _browser_tests
from web import test_inspector_access as _access_tests
from web.helpers import replaced
from web.test_browser import CHROMEDRIVER, _serve, shots, sign_in, submit_and_wait
from web.test_inspector_access import NOW

# the fixtures of the two neighbouring test modules, shared rather than copied
browser = _browser_tests.browser
_police_template = _access_tests._police_template

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver missing: run scripts/setup.sh (chromium-driver)"),
    pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap missing"),
]


@pytest.fixture
def police_server(_police_template: tuple[Path, Path], tmp_path: Path, example_services: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path, Path]]:
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    root = tmp_path / "police"
    shutil.copytree(_police_template[0], root)
    for base in _serve(root, tmp_path):
        yield base, root, _police_template[1]


def body(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def shot(driver: Any, tmp_path: Path, name: str, height: int | None = None) -> None:
    """A screenshot of the whole page (the window grown to the page's height)."""
    full = height or int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1400, min(max(full, 700), 3000))
    driver.save_screenshot(str(shots(tmp_path) / f"cong-an-{name}.png"))
    driver.set_window_size(1400, 1000)


def test_inspector_receives_scans_compares_and_reports(police_server: tuple[str, Path, Path], browser: Any,
                                                       tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, root, bundle = police_server
    sign_in(browser, server, "thanhtra")
    browser.find_element(By.LINK_TEXT, "Kiểm tra hồ sơ").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url == server + "/kiem-tra")
    assert "Chưa khai đơn vị ban hành" in body(browser) and "Chưa nhận gói nào" in body(browser)
    shot(browser, tmp_path, "1-trang-kiem-tra")

    # 1. receive the bundle: verified, imported, its declared hosts waiting for acceptance
    browser.find_element(By.CSS_SELECTOR, "input[type=file][name=bundle]").send_keys(str(bundle))
    submit_and_wait(browser, "form[action='/kiem-tra/goi'] button")
    text = body(browser)
    assert "HỢP LỆ" in text and "KHÔNG HỢP LỆ" not in text and "Đã nhập lần nộp #1" in text, text
    assert "127.0.10.1" in text and "SHA-256" in text
    shot(browser, tmp_path, "2-nhan-goi")
    submit_and_wait(browser, "form[action='/kiem-tra/co-quan/so-khcn/chap-nhan'] button")
    assert browser.current_url == server + "/kiem-tra/co-quan/so-khcn"
    assert "chờ chấp nhận" not in body(browser)

    # 2. scan the accepted hosts from the browser; the page reloads itself (no script) until done
    browser.get(server + "/quet/so-khcn")
    submit_and_wait(browser, "form[action='/quet/so-khcn'] button")
    assert browser.current_url == server + "/quet/so-khcn"
    refresh = browser.find_elements(By.CSS_SELECTOR, "meta[http-equiv=refresh]")
    if refresh:  # caught while running: the progress line is there
        assert "Đang quét" in body(browser)
        shot(browser, tmp_path, "3a-dang-quet", height=700)
    WebDriverWait(browser, 300, poll_frequency=1).until(lambda d: "Lần quét đã xong" in body(d)
                                                       or "Lần quét lỗi" in body(d))
    text = body(browser)
    assert "Lần quét đã xong" in text, text
    assert "6379" in text and "127.0.10.1" in text  # the undeclared Redis on lgsp-tinh's host
    assert not browser.find_elements(By.CSS_SELECTOR, "meta[http-equiv=refresh]")
    shot(browser, tmp_path, "3-ket-qua-quet")

    # 3. claims vs verification: lgsp-tinh / task 1 is a contradiction, and first
    browser.get(server + "/kiem-tra/co-quan/so-khcn")
    first = browser.find_element(By.CSS_SELECTOR, "table.insp-rows tbody tr")
    assert "lgsp-tinh" in first.text and "MÂU THUẪN" in first.text and "ĐẠT" in first.text, first.text
    assert "6379" in first.text
    assert "chưa kiểm chứng" in body(browser)
    shot(browser, tmp_path, "4-doi-chieu")

    # 4. the inspector's own verdict on that row, with its basis
    form = first.find_element(By.CSS_SELECTOR, "form.insp-verdict-form")
    form.find_element(By.NAME, "note").send_keys("Biên bản kiểm tra ngày 10/05/2026: Redis mở, không xác thực")
    old = browser.find_element(By.TAG_NAME, "html")
    form.find_element(By.TAG_NAME, "button").click()

    WebDriverWait(browser, 60).until(replaced(old))
    first = browser.find_element(By.CSS_SELECTOR, "table.insp-rows tbody tr")
    assert "Biên bản kiểm tra ngày 10/05/2026" in first.text and "thanhtra" in first.text

    # 5. the issuer, then the inspection report in the police's name
    browser.get(server + "/kiem-tra")
    values = {"name": "Công an tỉnh Nghệ An", "parent": "Bộ Công an", "symbol": "CAT-PA05", "place": "Nghệ An",
              "signer_authority": "TL.", "signer_on_behalf_of": "Giám đốc",
              "signer_title": "Trưởng phòng An ninh mạng", "signer_name": "Thái Bá Cường",
              "recipients": "Sở Khoa học và Công nghệ\nLưu: VT, PA05"}
    for name, value in values.items():
        field = browser.find_element(By.CSS_SELECTOR, f"form[action='/kiem-tra/don-vi-ban-hanh'] [name={name}]")
        field.clear()
        field.send_keys(value)
    submit_and_wait(browser, "form[action='/kiem-tra/don-vi-ban-hanh'] button")
    assert "Chưa khai đơn vị ban hành" not in body(browser) and "CAT-PA05" in body(browser)
    shot(browser, tmp_path, "5-don-vi-ban-hanh")
    browser.get(server + "/kiem-tra/co-quan/so-khcn")
    link = browser.find_element(By.LINK_TEXT, "Tải PDF").get_attribute("href")
    cookie = browser.get_cookie("secaudit_session")["value"]
    reply = httpx.get(link, cookies={"secaudit_session": cookie}, timeout=180)
    assert reply.status_code == 200 and reply.content.startswith(b"%PDF")
    assert "kiem-tra-so-khcn" in reply.headers["content-disposition"]
    pdf = tmp_path / "kiem-tra.pdf"
    pdf.write_bytes(reply.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True,
                          text=True).stdout
    flat = " ".join(text.split())
    assert "CÔNG AN TỈNH NGHỆ AN" in flat and "MÂU THUẪN" in flat
    contradiction = flat[flat.index("II. NỘI DUNG"):flat.index("III. NHIỆM VỤ")]
    assert "127.0.10.1:6379" in contradiction and "lgsp" in contradiction.lower()
    assert "Thái Bá Cường" in flat

    # 6. every step under the signed-in inspector in the audit log, shown on the log page
    with sqlite3.connect(root / "secaudit.db") as db:
        mine = {r[0] for r in db.execute("select action from log where actor = 'thanhtra'")}
    assert {"submission.import", "submission.accept", "scan.start", "answer.set", "issuer.set"} <= mine, mine
    browser.get(server + "/nhat-ky")
    assert "thanhtra" in body(browser)
    shot(browser, tmp_path, "6-nhat-ky", height=1000)


def test_an_officer_cannot_inspect_or_scan_from_the_browser(police_server: tuple[str, Path, Path], browser: Any,
                                                            tmp_path: Path) -> None:
    server, root, _ = police_server
    sign_in(browser, server, "canbo-phuong")
    for path in ("/kiem-tra", "/quet/phuong-thanh-vinh", "/kiem-tra/co-quan/phuong-thanh-vinh"):
        browser.get(server + path)
        assert "Không tìm thấy trang" in browser.title, path
    cookie = browser.get_cookie("secaudit_session")["value"]
    assert httpx.get(server + "/quet/phuong-thanh-vinh.json", cookies={"secaudit_session": cookie}).status_code == 404
    with sqlite3.connect(root / "secaudit.db") as db:
        assert db.execute("select count(*) from scans").fetchone()[0] == 0
