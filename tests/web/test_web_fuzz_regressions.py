"""What the web fuzzing campaign (scripts/fuzz/web.py) found, each with the smallest request that showed it.

Each test failed before its fix: the TestClient re-raises what escapes the app.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web.helpers import csrf_of

OWN = "so-khcn"


def _rows(ws: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(next(ws.glob("*.db")))
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        return {t: sorted(map(repr, db.execute(f"select * from [{t}]"))) for t in tables if "session" not in t}
    finally:
        db.close()


# -- a CSRF token with non-ASCII characters (secrets.compare_digest raised TypeError on str) -------------
@pytest.mark.parametrize("token", ["é", "\u202e", "\ufffd"])
def test_non_ascii_csrf_token_at_sign_in_is_refused(client_for: Callable[..., Any], token: str) -> None:
    client = client_for(None)
    client.get("/dang-nhap")
    reply = client.post("/dang-nhap", data={"csrf": token, "username": "thanhtra", "password": "x"},
                        follow_redirects=False)
    assert reply.status_code == 403
    assert "Biểu mẫu" in reply.text or "biểu mẫu" in reply.text


def test_non_ascii_csrf_token_on_a_form_is_refused_and_changes_nothing(client_for: Callable[..., Any],
                                                                         web_ws: Path) -> None:
    client = client_for("canbo-khcn")
    before = _rows(web_ws)
    reply = client.post(f"/co-quan/{OWN}/bao-cao-viet", data={"csrf": "é", "section": "tong-quan", "text": "x"},
                        follow_redirects=False)
    assert reply.status_code == 403
    assert _rows(web_ws) == before


def test_non_ascii_csrf_token_on_a_bundle_upload_is_refused(client_for: Callable[..., Any]) -> None:
    client = client_for("thanhtra")
    reply = client.post("/kiem-tra/goi", data={"csrf": "é"}, files={"bundle": ("goi.zip", b"PK\x03\x04", "x")},
                        follow_redirects=False)
    assert reply.status_code == 403


# -- an evaluation day at the end of the calendar (deadlines a year later overflowed: ValueError) ------
@pytest.mark.parametrize("url", [f"/co-quan/{OWN}/danh-gia", f"/co-quan/{OWN}", "/"])
def test_as_of_at_the_end_of_the_calendar_is_refused_in_vietnamese(client_for: Callable[..., Any],
                                                                   url: str) -> None:
    client = client_for("quantri")
    reply = client.get(url + "?as_of=31/12/9999")
    assert reply.status_code == 400
    assert "nằm ngoài khoảng" in reply.text and "Traceback" not in reply.text
    english = client.get(url + "?as_of=31/12/9999&format=json&lang=en")
    assert english.status_code == 400 and "out of range" in english.json()["error"]


def test_as_of_out_of_range_on_an_answer_stores_nothing(client_for: Callable[..., Any], web_ws: Path) -> None:
    client = client_for("canbo-khcn")
    listing = client.get(f"/co-quan/{OWN}/danh-gia.json").json()
    ref = _first_ref(listing)
    url = f"/co-quan/{OWN}/danh-gia/{ref.replace(':', '/')}"
    token = csrf_of(client.get(url).text)
    before = _rows(web_ws)
    reply = client.post(url + "?as_of=31/12/9999", data={"csrf": token, "all": "dat"}, follow_redirects=False)
    assert reply.status_code == 400
    assert _rows(web_ws) == before


def _first_ref(data: Any) -> str:
    if isinstance(data, dict):
        if isinstance(data.get("ref"), str) and ":" in data["ref"]:
            return str(data["ref"])
        values = list(data.values())
    elif isinstance(data, list):
        values = data
    else:
        values = []
    for value in values:
        found = _first_ref(value)
        if found:
            return found
    return ""


# -- a submission number past SQLite's 64-bit integers (OverflowError in the submissions store) --------
@pytest.mark.parametrize("number", ["99999999999999999999999", "9223372036854775808"])
def test_huge_submission_number_is_not_found(client_for: Callable[..., Any], web_ws: Path, number: str) -> None:
    client = client_for("thanhtra")
    token = csrf_of(client.get("/kiem-tra").text)
    before = _rows(web_ws)
    reply = client.post(f"/kiem-tra/co-quan/{OWN}/chap-nhan", data={"csrf": token, "submission": number},
                        follow_redirects=False)
    assert reply.status_code == 404
    assert _rows(web_ws) == before


# -- forms Starlette cannot read (too many files or fields, a field over 1 MB): English plain text -------
def test_too_many_files_get_a_vietnamese_page_and_store_nothing(client_for: Callable[..., Any],
                                                                web_ws: Path) -> None:
    client = client_for("canbo-khcn")
    url = f"/co-quan/{OWN}/danh-gia/kh04-bcdtw/t1-lo-hong"
    token = csrf_of(client.get(f"/co-quan/{OWN}/danh-gia").text)
    before = _rows(web_ws)
    files = [("files", (f"bien-ban-{i}.txt", b"x", "text/plain")) for i in range(11)]
    reply = client.post(url, data={"csrf": token, "all": "dat"}, files=files, follow_redirects=False)
    assert reply.status_code == 400 and reply.headers["content-type"].startswith("text/html")
    assert "quá nhiều tệp" in reply.text
    assert _rows(web_ws) == before


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_field_over_one_megabyte_is_refused_in_the_users_language(client_for: Callable[..., Any],
                                                                    lang: str) -> None:
    client = client_for("canbo-khcn")
    token = csrf_of(client.get(f"/co-quan/{OWN}/bao-cao-viet").text)
    reply = client.post(f"/co-quan/{OWN}/bao-cao-viet?lang={lang}",
                        data={"csrf": token, "section": "danh-gia", "text": "x" * (1 << 20) + "y"},
                        follow_redirects=False)
    assert reply.status_code == 400 and reply.headers["content-type"].startswith("text/html")
    assert ("quá dài" if lang == "vi" else "too long") in reply.text


def test_too_many_fields_at_sign_in_get_a_vietnamese_page(client_for: Callable[..., Any]) -> None:
    client = client_for(None)
    token = csrf_of(client.get("/dang-nhap").text)
    data = {"csrf": token, **{f"f{i}": "x" for i in range(30)}}
    reply = client.post("/dang-nhap", data=data, follow_redirects=False)
    assert reply.status_code == 400 and "quá nhiều trường" in reply.text


# -- a path no route matches, a method a route does not take: Starlette's English plain text -------------
def test_unknown_path_gets_the_vietnamese_not_found_page(client_for: Callable[..., Any]) -> None:
    reply = client_for("canbo-khcn").get("/co-quan/a%2Fb/x/y/z")
    assert reply.status_code == 404 and "Không tìm thấy trang" in reply.text


def test_wrong_method_gets_a_vietnamese_page_with_allow(client_for: Callable[..., Any]) -> None:
    client = client_for("thanhtra")
    reply = client.get("/kiem-tra/goi")
    assert reply.status_code == 405 and reply.headers["allow"] == "POST"
    assert "không nhận yêu cầu GET" in reply.text
    assert client.delete("/?format=json").json()["error"].startswith("Trang này")


# -- a waiver saved, then the page after it refused for a bad ?as_of=: "refused" but stored ---------------
@pytest.mark.parametrize("as_of", ["x", "31/12/9999"])
def test_waiver_with_a_bad_as_of_is_refused_before_it_is_stored(client_for: Callable[..., Any], web_ws: Path,
                                                                as_of: str) -> None:
    client = client_for("canbo-khcn")
    token = csrf_of(client.get(f"/co-quan/{OWN}/danh-gia").text)
    before = _rows(web_ws)
    reply = client.post(f"/co-quan/{OWN}/danh-gia/kh04-bcdtw/t4-lop-3/mien-tru?as_of={as_of}",
                        data={"csrf": token, "until": "31/12/2026", "reason": "Đang nâng cấp",
                              "approved_by": "Giám đốc Sở"}, follow_redirects=False)
    assert reply.status_code == 400
    assert _rows(web_ws) == before
    saved = client.post(f"/co-quan/{OWN}/danh-gia/kh04-bcdtw/t4-lop-3/mien-tru",
                        data={"csrf": token, "until": "31/12/2026", "reason": "Đang nâng cấp",
                              "approved_by": "Giám đốc Sở"}, follow_redirects=False)
    assert saved.status_code == 200 and _rows(web_ws) != before  # the same form without it is stored
