"""The officer's work in real Chromium through ``secaudit serve`` (issue 19): the inventory from the
Excel workbook, one task answered for all systems with an uploaded PDF, the status on the agency page.
Screenshots go to ``$SECAUDIT_SCREENSHOTS`` (docs/web/ keeps the ones looked at) as can-bo-*.png."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
from web.test_browser import browser, csp_complaints, pytestmark, server, shots, sign_in, submit_and_wait

__all__ = ["browser", "pytestmark", "server"]
AGENCY = "phuong-thanh-vinh"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _body(driver: Any) -> str:
    """The page's text, read again if Chromium was still swapping the document (a loaded machine)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    for attempt in range(5):
        try:
            return str(driver.find_element(By.TAG_NAME, "body").text)
        except WebDriverException:
            if attempt == 4:
                raise
            time.sleep(0.5)
    return ""


def test_officer_fills_inventory_and_answers_a_task_with_a_pdf(server: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    folder = shots(tmp_path)
    sign_in(browser, server, "canbo-phuong")
    assert browser.current_url == f"{server}/co-quan/{AGENCY}"
    first = browser.find_element(By.CSS_SELECTOR, "table.tasks tbody tr").text
    assert "CHƯA ĐÁNH GIÁ" in first or "CHƯA ĐẠT" in first, first
    browser.save_screenshot(str(folder / "can-bo-1-co-quan.png"))

    # the inventory: download the agency's workbook with the browser's session, upload it back
    submit_and_wait(browser, "p.officer-links a[href$='/danh-muc']")
    assert browser.current_url == f"{server}/co-quan/{AGENCY}/danh-muc"
    cookie = browser.get_cookie("secaudit_session")["value"]
    workbook = httpx.get(f"{server}/co-quan/{AGENCY}/danh-muc/bang-tinh.xlsx",
                         cookies={"secaudit_session": cookie}, timeout=60)
    assert workbook.status_code == 200 and workbook.content.startswith(b"PK")
    path = tmp_path / "danh-muc-phuong.xlsx"
    path.write_bytes(workbook.content)
    browser.find_element(By.ID, "inventory-workbook").send_keys(str(path))
    submit_and_wait(browser, "#inventory-upload")
    body = _body(browser)
    assert "Đã nhập danh mục" in body and "mot-cua-phuong" in body, body
    browser.save_screenshot(str(folder / "can-bo-2-danh-muc.png"))

    # one task for all systems, with a PDF
    browser.get(f"{server}/co-quan/{AGENCY}/danh-gia")
    browser.save_screenshot(str(folder / "can-bo-3-danh-sach.png"))
    submit_and_wait(browser, "a[href$='/danh-gia/kh04-bcdtw/t1-lo-hong']")
    body = _body(browser)
    assert "Để được tính" in body
    browser.find_element(By.CSS_SELECTOR, "input[name='all'][value='dat']").click()
    browser.find_element(By.ID, "note").send_keys("Đã rà soát, khắc phục lỗ hổng trên cả hai hệ thống")
    browser.find_element(By.ID, "effective").send_keys("15/11/2026")
    pdf = tmp_path / "bien-ban-ra-soat-lo-hong.pdf"
    pdf.write_bytes(PDF)
    browser.find_element(By.ID, "files").send_keys(str(pdf))
    browser.save_screenshot(str(folder / "can-bo-4-tra-loi.png"))
    submit_and_wait(browser, "#save")
    body = _body(browser)
    assert "Đã lưu câu trả lời" in body and hashlib.sha256(PDF).hexdigest() in body, body
    browser.save_screenshot(str(folder / "can-bo-5-da-luu.png"))

    # the agency page shows the task's new status and the file behind it
    submit_and_wait(browser, "p.crumbs a[href='/co-quan/phuong-thanh-vinh']")
    row = browser.find_element(By.CSS_SELECTOR, "table.tasks tbody tr").text
    assert "ĐẠT" in row and "CHƯA" not in row, row
    assert "bien-ban-ra-soat-lo-hong.pdf" in row
    browser.save_screenshot(str(folder / "can-bo-6-ket-qua.png"))
    assert csp_complaints(browser) == []


def test_officer_edits_a_system_writes_the_report_and_sees_a_refusal(server: str, browser: Any,
                                                                      tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    folder = shots(tmp_path)
    sign_in(browser, server, "canbo-phuong")
    browser.get(f"{server}/co-quan/{AGENCY}/danh-muc")
    submit_and_wait(browser, "a[href$='/danh-muc/he-thong/mot-cua-phuong']")
    Select(browser.find_element(By.NAME, "critical")).select_by_visible_text("Không")
    hosts = browser.find_element(By.ID, "hosts")
    hosts.send_keys("\n127.0.14.2 | 443/tcp https | có | cổng tra cứu")
    browser.save_screenshot(str(folder / "can-bo-7-he-thong.png"))
    submit_and_wait(browser, "#system-save")
    body = _body(browser)
    assert "Đã lưu hệ thống mot-cua-phuong" in body, body
    assert "127.0.14.2" in browser.find_element(By.ID, "hosts").get_attribute("value")

    # a file that is not what its name says is refused in Vietnamese, nothing stored
    browser.get(f"{server}/co-quan/{AGENCY}/danh-gia/kh04-bcdtw/t1-lo-hong")
    browser.find_element(By.CSS_SELECTOR, "input[name='all'][value='dat']").click()
    fake = tmp_path / "bao-cao.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    browser.find_element(By.ID, "files").send_keys(str(fake))
    # the vendored script (script-src 'self') lists the chosen file: progressive enhancement only
    listed = browser.find_element(By.CSS_SELECTOR, ".dropzone-list").text
    assert "bao-cao.pdf" in listed, listed
    submit_and_wait(browser, "#save")
    body = _body(browser)
    assert "Không lưu gì" in body and "không phải là tệp .pdf thật" in body, body
    assert "Chưa trả lời" in body
    browser.save_screenshot(str(folder / "can-bo-8-tu-choi.png"))

    # the report's text for 2026
    browser.get(f"{server}/co-quan/{AGENCY}/bao-cao-viet?ky=2026")
    browser.find_element(By.ID, "text-ton-tai").send_keys("Phường chưa có cán bộ chuyên trách an toàn thông tin.")
    submit_and_wait(browser, "#save-ton-tai")
    body = _body(browser)
    assert "Đã lưu mục" in body and "Viết bởi canbo-phuong" in body, body
    browser.save_screenshot(str(folder / "can-bo-9-bao-cao-viet.png"))

    # every action under the signed-in user
    browser.get(f"{server}/nhat-ky")
    body = _body(browser)
    assert "canbo-phuong" in body
    browser.save_screenshot(str(folder / "can-bo-10-nhat-ky.png"))
    assert csp_complaints(browser) == []
