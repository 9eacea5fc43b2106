"""The served app in a real browser (issue 18): ``secaudit serve`` on 127.0.0.1 and Debian's Chromium.

The server is the real command in its own process; Chromium is driven through chromedriver
(Selenium). Screenshots go to ``$SECAUDIT_SCREENSHOTS`` when set (docs/web/ keeps the ones looked
at), else to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web.helpers import NOW, password, replaced

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMEDRIVER is None, reason="chromedriver missing: run scripts/setup.sh (chromium-driver)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(web_ws: Path, tmp_path: Path) -> Iterator[str]:
    yield from _serve(web_ws, tmp_path)


def _serve(web_ws: Path, tmp_path: Path, *extra: str) -> Iterator[str]:
    """``secaudit serve -w WS --port P`` in its own process, until the test ends."""
    port = _free_port()
    env = {**os.environ, "SECAUDIT_NOW": NOW, "LANG": "C.UTF-8"}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "secaudit", "serve", "-w", str(web_ws), "--port", str(port),
                             *extra], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "serve.log").read_text()) from None
                time.sleep(0.1)
        yield f"{'https' if extra else 'http'}://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", "--lang=vi"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SECAUDIT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sign_in(driver: Any, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/")
    assert driver.current_url == base + "/dang-nhap"
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password(username))
    submit_and_wait(driver, "form[action='/dang-nhap'] button")


def submit_and_wait(driver: Any, button: str) -> None:
    """Click a form's button and wait until the next page has replaced this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 60).until(replaced(old))
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def csp_complaints(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]


def test_inspector_signs_in_sees_the_province_and_an_agency(server: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in(browser, server, "thanhtra")
    assert browser.current_url == server + "/", browser.find_element(By.TAG_NAME, "body").text
    body = browser.find_element(By.TAG_NAME, "body").text
    for name in ("Sở Khoa học và Công nghệ", "UBND phường Thành Vinh", "Sở Y tế", "Công an tỉnh"):
        assert name in body, name
    assert "Tổng hợp của tỉnh" in body and "Đăng nhập: thanhtra" in body
    browser.save_screenshot(str(shots(tmp_path) / "dashboard.png"))

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.LINK_TEXT, "Sở Khoa học và Công nghệ").click()
    WebDriverWait(browser, 60).until(replaced(old))
    assert browser.current_url == server + "/co-quan/so-khcn"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Hệ thống thông tin" in body and "lgsp-tinh" in body and "bien-ban-khac-phuc.pdf" in body
    tasks = browser.find_elements(By.CSS_SELECTOR, "table.tasks tbody tr")
    assert len(tasks) >= 6
    browser.save_screenshot(str(shots(tmp_path) / "agency.png"))

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.LINK_TEXT, "lgsp-tinh").click()
    WebDriverWait(browser, 60).until(replaced(old))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Cấp độ theo tiêu chí" in body and "Đ" in body  # reasons cite articles (Điều …)
    browser.save_screenshot(str(shots(tmp_path) / "system.png"))

    browser.get(server + "/nhat-ky")
    assert "Chuỗi băm toàn vẹn" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(shots(tmp_path) / "log.png"))
    assert csp_complaints(browser) == []

    # the agency report as a PDF, with the browser's own session
    cookie = browser.get_cookie("secaudit_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    reply = httpx.get(server + "/co-quan/so-khcn/bao-cao.pdf", cookies={"secaudit_session": cookie["value"]},
                      timeout=120)
    assert reply.status_code == 200 and reply.content.startswith(b"%PDF-")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(reply.content)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    assert "Sở Khoa học và Công nghệ" in text.decode("utf-8")

    submit_and_wait(browser, "form[action='/dang-xuat'] button")
    assert browser.current_url == server + "/dang-nhap"
    browser.get(server + "/co-quan/so-khcn")
    assert browser.current_url == server + "/dang-nhap"  # the session ended on the server


def test_officer_gets_404_for_another_agency(server: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, "canbo-phuong")
    assert browser.current_url == server + "/co-quan/phuong-thanh-vinh"  # an officer's home is their agency
    browser.save_screenshot(str(shots(tmp_path) / "agency-officer.png"))
    for path in ("/co-quan/so-khcn", "/co-quan/so-khcn.json", "/co-quan/so-khcn/he-thong/lgsp-tinh",
                 "/co-quan/so-khcn/bao-cao.pdf"):
        browser.get(server + path)
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "Sở Khoa học" not in text and "lgsp" not in text.replace(path, "")
    browser.get(server + "/co-quan/so-khcn")
    assert "Không tìm thấy trang" in browser.title
    browser.save_screenshot(str(shots(tmp_path) / "not-found.png"))
    cookie = browser.get_cookie("secaudit_session")["value"]
    for path in ("/co-quan/so-khcn", "/co-quan/so-khcn.json", "/co-quan/so-khcn/bao-cao.xlsx"):
        assert httpx.get(server + path, cookies={"secaudit_session": cookie}).status_code == 404
    assert httpx.get(server + "/co-quan/phuong-thanh-vinh.json",
                     cookies={"secaudit_session": cookie}).status_code == 200


def test_sign_in_form_without_its_csrf_token_is_refused(server: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/dang-nhap")
    browser.save_screenshot(str(shots(tmp_path) / "signin.png"))
    # WebDriver's own script (not the page's: the page may run none) removes the hidden field
    browser.execute_script("document.querySelector(\"input[name='csrf']\").remove()")
    browser.find_element(By.ID, "username").send_keys("thanhtra")
    browser.find_element(By.ID, "password").send_keys(password("thanhtra"))
    submit_and_wait(browser, "form[action='/dang-nhap'] button")
    assert "Yêu cầu bị từ chối" in browser.find_element(By.TAG_NAME, "body").text
    assert browser.get_cookie("secaudit_session") is None
    browser.get(server + "/")
    assert browser.current_url == server + "/dang-nhap"


def test_served_over_tls_with_secure_cookies(web_ws: Path, tmp_path: Path) -> None:
    """``--tls-cert/--tls-key``: HTTPS, the session cookie marked Secure, HSTS sent."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    served = _serve(web_ws, tmp_path, "--tls-cert", str(cert), "--tls-key", str(key))
    base = next(served)
    try:
        with httpx.Client(base_url=base, verify=ssl.create_default_context(cafile=str(cert))) as client:
            page = client.get("/dang-nhap")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token and page.headers["strict-transport-security"].startswith("max-age=")
            reply = client.post("/dang-nhap", data={"csrf": token[1], "username": "thanhtra",
                                                    "password": password("thanhtra")})
            cookie = next(v for k, v in reply.headers.multi_items()
                          if k == "set-cookie" and v.startswith("secaudit_session="))
            assert reply.status_code == 303
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
            assert "Tổng hợp của tỉnh" in client.get("/").text
    finally:
        served.close()


@pytest.mark.parametrize(("username", "home", "sees"), [
    ("quantri", "/", "Tổng hợp của tỉnh"),
    ("xem-tinh", "/", "Tổng hợp của tỉnh"),
    ("xem-khcn", "/co-quan/so-khcn", "Sở Khoa học và Công nghệ"),
    ("canbo-khcn", "/co-quan/so-khcn", "Sở Khoa học và Công nghệ"),
])
def test_each_role_signs_in_and_out(server: str, browser: Any, username: str, home: str, sees: str) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, username)
    assert browser.current_url == server + home
    body = browser.find_element(By.TAG_NAME, "body").text
    assert sees in body and f"Đăng nhập: {username}" in body
    submit_and_wait(browser, "form[action='/dang-xuat'] button")
    assert browser.current_url == server + "/dang-nhap"
