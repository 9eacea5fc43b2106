"""The officer's work pages (issue 19): answering with evidence, uploads refused or neutralised,
evidence downloads, workbooks, the audit log and isolation between agencies (TestClient)."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web.helpers import csrf_of

AGENCY = "phuong-thanh-vinh"
ITEM = "/co-quan/phuong-thanh-vinh/danh-gia/kh04-bcdtw/t1-lo-hong"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _dump(ws: Path) -> dict[str, Any]:
    """What an upload could change: answers, evidence references and files, waivers, stored blobs."""
    db = sqlite3.connect(ws / "secaudit.db") if (ws / "secaudit.db").exists() else None
    if db is None:
        db = sqlite3.connect(next(ws.glob("*.db")))
    try:
        tables = {t: sorted(map(repr, db.execute(f"select * from {t}").fetchall()))
                  for t in ("answers", "evidence_refs", "evidence", "waivers")}
    finally:
        db.close()
    tables["files"] = sorted(str(p.relative_to(ws)) for p in ws.rglob("*") if p.is_file() and "evidence" in p.parts)
    return tables


def _form(client: Any, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def _log(ws: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(next(p for p in ws.glob("*.db")))
    try:
        cols = [r[1] for r in db.execute("pragma table_info(log)")]
        rows = db.execute("select * from log order by seq").fetchall()
    finally:
        db.close()
    entries = [dict(zip(cols, r, strict=True)) for r in rows]
    return [(e["actor"], e["action"], e.get("subject") or "") for e in entries]


def test_officer_answers_a_task_for_all_systems_with_a_pdf(client_for: Callable[..., Any], web_ws: Path) -> None:
    client = client_for("canbo-phuong")
    listing = client.get("/co-quan/phuong-thanh-vinh/danh-gia")
    assert listing.status_code == 200 and "t1-lo-hong" in listing.text
    page = client.get(ITEM)
    assert "Để được tính" in page.text and "mot-cua-phuong" in page.text and "trang-ttdt-phuong" in page.text
    assert "CHƯA ĐÁNH GIÁ" in page.text
    english = client.get(ITEM + "?lang=en").text
    assert "To count" in english and "Save the answer" in english and "NOT ASSESSED" in english
    client.get(ITEM + "?lang=vi")
    reply = client.post(ITEM, data={"csrf": csrf_of(page.text), "all": "dat", "ex-trang-ttdt-phuong": "",
                                    "note": "Đã rà soát lỗ hổng", "effective": "15/11/2026"},
                        files=[("files", ("bien-ban-ra-soat.pdf", PDF, "application/pdf"))])
    assert reply.status_code == 200, reply.text
    digest = hashlib.sha256(PDF).hexdigest()
    assert digest in reply.text and "Đã lưu câu trả lời" in reply.text
    assert "ĐẠT" in reply.text
    data = client.get(ITEM + ".json").json()
    for target in data["targets"]:
        assert target["answer"] == "dat" and target["effective"] == "2026-11-15"
        assert [e["sha256"] for e in target["evidence"]] == [digest]
    # the evidence can be downloaded as an attachment, never rendered
    got = client.get(f"/co-quan/{AGENCY}/minh-chung/{digest}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith('attachment; filename="bien-ban-ra-soat.pdf"')
    assert got.headers["x-content-type-options"] == "nosniff"
    # every write is in the log under the signed-in user
    entries = [e for e in _log(web_ws) if e[0] == "canbo-phuong"]
    actions = [a for _, a, _ in entries]
    assert actions.count("answer.set") == 2 and actions.count("evidence.add") == 2


def test_exceptions_per_system_and_agency_items(client_for: Callable[..., Any]) -> None:
    client = client_for("canbo-phuong")
    csrf = _form(client, ITEM)
    reply = client.post(ITEM, data={"csrf": csrf, "all": "dat", "ex-trang-ttdt-phuong": "chua-dat",
                                    "note": "Cổng TTĐT chưa rà soát"})
    assert reply.status_code == 200, reply.text
    targets = {t["system"]: t for t in client.get(ITEM + ".json").json()["targets"]}
    assert targets["mot-cua-phuong"]["answer"] == "dat"
    assert targets["trang-ttdt-phuong"]["answer"] == "chua-dat"
    assert targets["trang-ttdt-phuong"]["status"] == "chua-dat"


def test_a_waiver_with_approver_and_expiry(client_for: Callable[..., Any], web_ws: Path) -> None:
    client = client_for("canbo-phuong")
    page = client.get(ITEM).text
    one_cua = "Hệ thống tiếp nhận, trả kết quả và tra cứu hồ sơ tại Bộ phận Một cửa phường Thành Vinh"
    # the officer picks the system by its name, the code is only the value sent
    assert f'<option value="mot-cua-phuong">{one_cua}</option>' in page
    csrf = _form(client, ITEM)
    reply = client.post(ITEM + "/mien-tru", data={"csrf": csrf, "system": "mot-cua-phuong", "reason": "Đang thay thế",
                                                  "approved_by": "Chủ tịch UBND phường", "until": "31/12/2026"})
    assert reply.status_code == 200 and "Đã ghi nhận miễn trừ" in reply.text and "31/12/2026" in reply.text
    bad = client.post(ITEM + "/mien-tru", data={"csrf": csrf, "system": "mot-cua-phuong", "reason": "x",
                                                "approved_by": "y", "until": "31/13/2026"})
    assert bad.status_code == 400 and "dd/mm/yyyy" in bad.text
    assert ("canbo-phuong", "waiver.add", "kh04-bcdtw:t1-lo-hong") in _log(web_ws)


CORPUS = [
    ("empty", ("bien-ban.pdf", b"", "application/pdf"), "rỗng"),
    ("wrong type", ("chuong-trinh.exe", b"MZ\x90\x00" + b"x" * 100, "application/octet-stream"), "không được nhận"),
    ("renamed exe", ("bao-cao.pdf", b"MZ\x90\x00" + b"x" * 100, "application/pdf"), "không phải là tệp .pdf"),
    ("html as pdf", ("bao-cao.pdf", b"<html><script>alert(1)</script>", "text/html"), "không phải là tệp .pdf"),
]


@pytest.mark.parametrize(("label", "upload", "says"), CORPUS, ids=[c[0] for c in CORPUS])
def test_upload_corpus_is_refused_and_the_store_unchanged(client_for: Callable[..., Any], web_ws: Path, label: str,
                                                           upload: tuple[str, bytes, str], says: str) -> None:
    client = client_for("canbo-phuong")
    csrf = _form(client, ITEM)
    before = _dump(web_ws)
    reply = client.post(ITEM, data={"csrf": csrf, "all": "dat", "note": "x"}, files=[("files", upload)])
    assert reply.status_code == 400, reply.text
    assert says in reply.text and "Không lưu gì" in reply.text
    assert '<input type="radio" name="all" value="dat" checked>' in reply.text  # what was typed is kept
    assert _dump(web_ws) == before


def test_oversized_file_is_refused(client_for: Callable[..., Any], web_ws: Path) -> None:
    from secaudit.services.evidence import set_evidence_limit

    set_evidence_limit(web_ws, "1KB", actor="pytest")
    client = client_for("canbo-phuong")
    csrf = _form(client, ITEM)
    before = _dump(web_ws)
    big = PDF + b"0" * 5000
    reply = client.post(ITEM, data={"csrf": csrf, "all": "dat"}, files=[("files", ("lon.pdf", big, "application/pdf"))])
    assert reply.status_code == 400 and "quá lớn" in reply.text
    # far over the limit: refused from its declared length, before it is read
    huge = PDF + b"0" * 2_000_000
    reply = client.post(ITEM, data={"csrf": csrf, "all": "dat"},
                        files=[("files", ("rat-lon.pdf", huge, "application/pdf"))])
    assert reply.status_code == 413 and "quá lớn" in reply.text
    assert _dump(web_ws) == before


@pytest.mark.parametrize("name", ["../../x.pdf", "..\\..\\windows\\x.pdf", "bao\u202ecod.exe.pdf",
                                  "\u200fbi\u202den\u2066-ban.pdf", "/etc/passwd.pdf"])
def test_path_like_and_bidi_names_are_neutralised(client_for: Callable[..., Any], web_ws: Path, name: str) -> None:
    client = client_for("canbo-phuong")
    csrf = _form(client, ITEM)
    reply = client.post(ITEM, data={"csrf": csrf, "all": "dat"}, files=[("files", (name, PDF, "application/pdf"))])
    assert reply.status_code == 200, reply.text
    assert "đã được đổi thành" in reply.text
    refs = client.get(ITEM + ".json").json()["targets"][0]["evidence"]
    stored = refs[0]["name"]
    assert "/" not in stored and "\\" not in stored and ".." not in stored.rstrip(".pdf")
    assert not any(ord(c) in range(0x200B, 0x2070) for c in stored)
    assert not (web_ws.parent / "x.pdf").exists() and not (web_ws / "x.pdf").exists()
    got = client.get(f"/co-quan/{AGENCY}/minh-chung/{refs[0]['sha256']}")
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment;")
    assert "/" not in got.headers["content-disposition"].split("filename=")[1].split(";")[0]


def test_inventory_workbook_round_trip_and_errors(client_for: Callable[..., Any], web_ws: Path) -> None:
    import openpyxl

    client = client_for("canbo-phuong")
    got = client.get(f"/co-quan/{AGENCY}/danh-muc/bang-tinh.xlsx")
    assert got.status_code == 200 and got.content.startswith(b"PK")
    book = openpyxl.load_workbook(io.BytesIO(got.content))
    names = [cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert "mot-cua-phuong" in names
    csrf = _form(client, f"/co-quan/{AGENCY}/danh-muc")
    ok = client.post(f"/co-quan/{AGENCY}/danh-muc/bang-tinh", data={"csrf": csrf},
                     files=[("workbook", ("danh-muc.xlsx", got.content, XLSX))])
    assert ok.status_code == 200 and "Đã nhập danh mục" in ok.text, ok.text
    assert any(e[:2] == ("canbo-phuong", "inventory.import") for e in _log(web_ws))
    # a workbook with an error: all or nothing, the sheet and cell named next to the data
    sheet = book["Hệ thống"]
    target = None
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value == "mot-cua-phuong":
                target = cell
    assert target is not None
    target.value = "MA SAI!"  # not a code: lower-case letters, digits and dashes only
    buffer = io.BytesIO()
    book.save(buffer)
    before = _dump(web_ws)
    bad = client.post(f"/co-quan/{AGENCY}/danh-muc/bang-tinh", data={"csrf": csrf},
                      files=[("workbook", ("danh-muc.xlsx", buffer.getvalue(), XLSX))])
    assert bad.status_code == 400 and "Không lưu gì" in bad.text
    assert f"trang tính/sheet &#39;Hệ thống&#39;, dòng/row {target.row}, cột/column {target.column_letter}" in bad.text
    assert "mã hệ thống &#39;MA SAI!&#39; không dùng được" in bad.text and "/tmp" not in bad.text
    assert _dump(web_ws) == before


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_officer_cannot_import_another_agency(client_for: Callable[..., Any]) -> None:
    other = client_for("canbo-khcn")
    workbook = other.get("/co-quan/so-khcn/danh-muc/bang-tinh.xlsx").content
    client = client_for("canbo-phuong")
    csrf = _form(client, f"/co-quan/{AGENCY}/danh-muc")
    reply = client.post(f"/co-quan/{AGENCY}/danh-muc/bang-tinh", data={"csrf": csrf},
                        files=[("workbook", ("x.xlsx", workbook, XLSX))])
    assert reply.status_code == 400 and "chỉ được nhập danh mục của cơ quan mình" in reply.text


def test_answers_workbook_download(client_for: Callable[..., Any]) -> None:
    client = client_for("canbo-phuong")
    got = client.get(f"/co-quan/{AGENCY}/danh-gia/bang-tinh.xlsx")
    assert got.status_code == 200 and got.content.startswith(b"PK")
    assert "attachment" in got.headers["content-disposition"]


GETS = ["/co-quan/{a}/danh-gia", "/co-quan/{a}/danh-gia.json", "/co-quan/{a}/danh-gia/bang-tinh.xlsx",
        "/co-quan/{a}/danh-gia/kh04-bcdtw/t1-lo-hong", "/co-quan/{a}/danh-gia/kh04-bcdtw/t1-lo-hong.json",
        "/co-quan/{a}/danh-muc", "/co-quan/{a}/danh-muc.json", "/co-quan/{a}/danh-muc/bang-tinh.xlsx",
        "/co-quan/{a}/minh-chung/{sha}", "/co-quan/{a}/bao-cao-viet", "/co-quan/{a}/bao-cao-viet.json",
        "/co-quan/{a}/danh-muc/them-he-thong", "/co-quan/{a}/danh-muc/he-thong/{system}",
        "/co-quan/{a}/danh-muc/he-thong/{system}.json"]
POSTS = ["/co-quan/{a}/danh-gia/kh04-bcdtw/t1-lo-hong", "/co-quan/{a}/danh-gia/kh04-bcdtw/t1-lo-hong/mien-tru",
         "/co-quan/{a}/danh-muc/bang-tinh", "/co-quan/{a}/danh-gia/bang-tinh", "/co-quan/{a}/bao-cao-viet",
         "/co-quan/{a}/goi-du-lieu", "/co-quan/{a}/danh-muc/them-he-thong",
         "/co-quan/{a}/danh-muc/he-thong/lgsp-tinh"]


def _takes_files(path: str) -> bool:
    return path.endswith(("t1-lo-hong", "bang-tinh"))


def _khcn_sha(web_ws: Path) -> str:
    db = sqlite3.connect(next(p for p in web_ws.glob("*.db")))
    try:
        return str(db.execute("select sha256 from evidence_refs where agency = 'so-khcn' limit 1").fetchone()[0])
    finally:
        db.close()


def test_another_agencys_officer_gets_404_on_every_new_route(client_for: Callable[..., Any], web_ws: Path) -> None:
    sha = _khcn_sha(web_ws)
    client = client_for("canbo-phuong")
    csrf = _form(client, f"/co-quan/{AGENCY}/danh-gia")
    before = _dump(web_ws)
    for path in GETS:
        assert client.get(path.format(a="so-khcn", sha=sha, system="lgsp-tinh")).status_code == 404, path
    for path in POSTS:
        reply = client.post(path.format(a="so-khcn"), data={"csrf": csrf, "all": "dat", "reason": "x",
                                                           "approved_by": "y", "until": "31/12/2026"},
                            files=[("files", ("a.pdf", PDF, "application/pdf"))] if _takes_files(path) else None)
        assert reply.status_code == 404, (path, reply.status_code)
    # the file of another agency is not reachable through one's own agency either
    assert client.get(f"/co-quan/{AGENCY}/minh-chung/{sha}").status_code == 404
    assert _dump(web_ws) == before
    # the owner reads them all
    owner = client_for("canbo-khcn")
    for path in GETS:
        assert owner.get(path.format(a="so-khcn", sha=sha, system="lgsp-tinh")).status_code == 200, path


def test_viewers_and_missing_csrf_cannot_write(client_for: Callable[..., Any], web_ws: Path) -> None:
    before = _dump(web_ws)
    viewer = client_for("xem-khcn")
    csrf = _form(viewer, "/co-quan/so-khcn/danh-gia/kh04-bcdtw/t1-lo-hong")
    assert 'enctype="multipart/form-data"' not in viewer.get("/co-quan/so-khcn/danh-gia/kh04-bcdtw/t1-lo-hong").text
    reply = viewer.post("/co-quan/so-khcn/danh-gia/kh04-bcdtw/t1-lo-hong", data={"csrf": csrf, "all": "dat"})
    assert reply.status_code == 403
    officer = client_for("canbo-phuong")
    for path in POSTS:
        path = path.replace("lgsp-tinh", "mot-cua-phuong")
        reply = officer.post(path.format(a=AGENCY), data={"all": "dat"},
                             files=[("files", ("a.pdf", PDF, "application/pdf"))] if _takes_files(path) else None)
        assert reply.status_code == 403, path
    inspector = client_for("thanhtra")
    csrf = _form(inspector, ITEM)
    reply = inspector.post(ITEM, data={"csrf": csrf, "all": "dat"})
    assert reply.status_code == 403
    anonymous = client_for(None)
    assert anonymous.get(f"/co-quan/{AGENCY}/danh-gia", follow_redirects=False).status_code == 303
    assert _dump(web_ws) == before
    assert json.dumps(before)  # the dump is plain data


def test_narrative_sections_per_period(client_for: Callable[..., Any], web_ws: Path) -> None:
    client = client_for("canbo-phuong")
    csrf = _form(client, f"/co-quan/{AGENCY}/bao-cao-viet?ky=2026")
    reply = client.post(f"/co-quan/{AGENCY}/bao-cao-viet", data={"csrf": csrf, "section": "ton-tai", "ky": "2026",
                                                                "text": "Chưa có cán bộ chuyên trách."})
    assert reply.status_code == 200 and "Đã lưu mục" in reply.text and "Chưa có cán bộ chuyên trách." in reply.text
    data = client.get(f"/co-quan/{AGENCY}/bao-cao-viet.json?ky=2026").json()
    written = {s["section"]: s["note"] for s in data["sections"]}
    assert written["ton-tai"]["text"] == "Chưa có cán bộ chuyên trách."
    assert written["ton-tai"]["actor"] == "canbo-phuong"
    assert written["danh-gia"] is None
    bad = client.post(f"/co-quan/{AGENCY}/bao-cao-viet", data={"csrf": csrf, "section": "ton-tai", "ky": "31/02/2026",
                                                              "text": "x"})
    assert bad.status_code == 400
    assert ("canbo-phuong", "report.note", "ton-tai") in _log(web_ws)
    # the report prints it
    import subprocess

    pdf = client.get(f"/co-quan/{AGENCY}/bao-cao.pdf")
    assert pdf.status_code == 200
    out = web_ws.parent / "r.pdf"
    out.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True, check=True).stdout
    assert "Chưa có cán bộ chuyên trách." in text.decode("utf-8")


def test_bundle_export(client_for: Callable[..., Any], web_ws: Path) -> None:
    import zipfile

    client = client_for("canbo-phuong")
    csrf = _form(client, f"/co-quan/{AGENCY}/bao-cao-viet")
    reply = client.post(f"/co-quan/{AGENCY}/goi-du-lieu", data={"csrf": csrf})
    assert reply.status_code == 200, reply.text[:2000]
    assert reply.headers["content-type"] == "application/zip"
    assert reply.headers["content-disposition"].startswith('attachment; filename="goi-phuong-thanh-vinh-')
    names = zipfile.ZipFile(io.BytesIO(reply.content)).namelist()
    assert any("manifest" in n for n in names), names
    assert any(actor == "canbo-phuong" and action.startswith("bundle") for actor, action, _ in _log(web_ws))


def test_system_form_edit_add_and_errors(client_for: Callable[..., Any], web_ws: Path) -> None:
    client = client_for("canbo-phuong")
    url = f"/co-quan/{AGENCY}/danh-muc/he-thong/mot-cua-phuong"
    page = client.get(url)
    assert page.status_code == 200 and "Cấp độ và hồ sơ cấp độ" in page.text and "127.0.14.1" in page.text
    current = client.get(url + ".json").json()
    posted = {f["key"]: f["value"] for g in current["groups"] for f in g["fields"]}
    assert posted["code"] == "mot-cua-phuong"
    # a bad level: refused, the message next to the field, nothing changed
    before = _dump(web_ws)
    log_before = len(_log(web_ws))
    bad = client.post(url, data={**posted, "level.proposed": "bảy", "hosts": current["hosts"],
                                 "csrf": csrf_of(page.text)})
    assert bad.status_code == 400 and 'class="field-error"' in bad.text and "Cấp độ đề xuất" in bad.text
    assert _dump(web_ws) == before and len(_log(web_ws)) == log_before
    # a change of purpose and a new declared host
    hosts = current["hosts"] + "\n127.0.0.2 | 443/tcp https | có | cổng web"
    ok = client.post(url, data={**posted, "purpose": "Tiếp nhận hồ sơ một cửa", "hosts": hosts,
                                "csrf": csrf_of(page.text)})
    assert ok.status_code == 200 and "Đã lưu hệ thống mot-cua-phuong" in ok.text, ok.text[-3000:]
    again = client.get(url + ".json").json()
    assert "127.0.0.2" in again["hosts"]
    assert {f["key"]: f["value"] for g in again["groups"] for f in g["fields"]}["purpose"] == "Tiếp nhận hồ sơ một cửa"
    # a new system
    new = client.post(f"/co-quan/{AGENCY}/danh-muc/them-he-thong",
                      data={"csrf": csrf_of(page.text), "code": "email-phuong", "name": "Thư điện tử phường",
                            "hosts": "127.0.0.3 | 25/tcp smtp"})
    assert new.status_code == 200 and "Đã lưu hệ thống email-phuong" in new.text
    assert "email-phuong" in client.get(f"/co-quan/{AGENCY}/danh-muc").text
    actions = [(a, s) for who, a, s in _log(web_ws) if who == "canbo-phuong"]
    assert ("system.add", "email-phuong") in actions and any(a.startswith("system.") and s == "mot-cua-phuong"
                                                             for a, s in actions)


def test_the_upload_script_is_vendored_and_optional(client_for: Callable[..., Any]) -> None:
    client = client_for("canbo-phuong")
    script = client.get("/tai-nguyen/officer-upload.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "http" not in script.text  # fetches nothing
    page = client.get(ITEM).text
    assert '<script src="/tai-nguyen/officer-upload.js" defer></script>' in page
    csp = client.get(ITEM).headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    # without the script the form is a plain multipart form with a multiple file input
    assert 'enctype="multipart/form-data"' in page and 'type="file" name="files" id="files" multiple' in page


def test_answers_workbook_round_trip(client_for: Callable[..., Any], web_ws: Path) -> None:
    import openpyxl

    client = client_for("canbo-phuong")
    got = client.get(f"/co-quan/{AGENCY}/danh-gia/bang-tinh.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(got.content))
    csrf = _form(client, f"/co-quan/{AGENCY}/danh-muc")
    same = client.post(f"/co-quan/{AGENCY}/danh-gia/bang-tinh", data={"csrf": csrf},
                       files=[("workbook", ("tra-loi.xlsx", got.content, XLSX))])
    assert same.status_code == 200 and "Đã nhập câu trả lời" in same.text, same.text[-2000:]
    # a status that is not one: refused with the sheet and cell, nothing recorded
    cell = book["Trả lời"]["D2"]  # Trạng thái of the first row (t1-lo-hong, every system)
    cell.value = "có lẽ"
    buffer = io.BytesIO()
    book.save(buffer)
    before = _dump(web_ws)
    bad = client.post(f"/co-quan/{AGENCY}/danh-gia/bang-tinh", data={"csrf": csrf},
                      files=[("workbook", ("tra-loi.xlsx", buffer.getvalue(), XLSX))])
    assert bad.status_code == 400 and "Không lưu gì" in bad.text, bad.text[-3000:]
    assert "<code>Trả lời!D2</code>" in bad.text and "&#39;có lẽ&#39; không phải một trạng thái" in bad.text
    assert _dump(web_ws) == before
