"""The inspector's pages (issue 19) through Starlette's TestClient: who may use them, bad bundles refused
with the store unchanged, a good bundle imported and accepted, a verdict and the issuer recorded — each
in the audit log under the signed-in user.

The inspector works in Công an tỉnh's own workspace (not the agencies'): it holds the police's and a
phường's inventory and one account per role; so-khcn's bundle is exported from a separate workspace
filled with the example inventory and answers, as in tests/exchange/test_inspection.py.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web.helpers import EXAMPLES, csrf_of, password

NOW = "2026-05-10T09:00:00+07:00"
POLICE_ACCOUNTS = {"quantri": ("admin", None), "thanhtra": ("inspector", None),
                   "canbo-phuong": ("officer", "phuong-thanh-vinh"), "xem-tinh": ("viewer", None)}


def build_police(root: Path, bundle: Path) -> None:
    """Công an tỉnh's workspace at ``root`` and so-khcn's bundle at ``bundle`` (the clock must be pinned)."""
    import datetime as dt

    from secaudit.inventory import records as inventory
    from secaudit.services.accounts import add_user
    from secaudit.services.assessment import import_answers
    from secaudit.services.exchange import export_bundle
    from secaudit.store.workspace import Workspace

    source = Workspace.create(root.parent / "so-khcn-ws")
    try:
        agencies = inventory.load_agencies([EXAMPLES / "inventory" / "so-khcn.yaml"])
        inventory.import_agencies(source, agencies, actor="canbo-khcn", source="examples")
        import_answers(source, "so-khcn", EXAMPLES / "answers" / "so-khcn.yaml", actor="canbo-khcn")
        export_bundle(source, "so-khcn", bundle, as_of=dt.date(2026, 5, 10), actor="canbo-khcn",
                      include_report=False)
    finally:
        source.close()
    ws = Workspace.create(root)
    try:
        agencies = inventory.load_agencies([EXAMPLES / "inventory" / "cong-an-tinh.yaml",
                                            EXAMPLES / "inventory" / "phuong-thanh-vinh.yaml"])
        inventory.import_agencies(ws, agencies, actor="pytest", source="examples")
        for name, (role, agency) in POLICE_ACCOUNTS.items():
            add_user(ws, name, password(name), role=role, agency=agency, actor="pytest")
    finally:
        ws.close()


@pytest.fixture(scope="session")
def _police_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("police")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECAUDIT_NOW", NOW)
        build_police(base / "ws", base / "so-khcn.zip")
    return base / "ws", base / "so-khcn.zip"


@pytest.fixture
def police(_police_template: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh copy of the police workspace and the bundle, clock pinned to 10/05/2026 09:00."""
    monkeypatch.setenv("SECAUDIT_NOW", NOW)
    root = tmp_path / "police"
    shutil.copytree(_police_template[0], root)
    return root, _police_template[1]


@pytest.fixture
def client_as(police: tuple[Path, Path]) -> Iterator[Callable[[str], Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from secaudit.web.site import create_app

    application = create_app(police[0])
    made: list[Any] = []

    def make(username: str) -> Any:
        client = TestClient(application, base_url="http://127.0.0.1:8080")
        made.append(client)
        reply = client.post("/dang-nhap", data={"csrf": csrf_of(client.get("/dang-nhap").text), "username": username,
                                                "password": password(username)}, follow_redirects=False)
        assert reply.status_code == 303, reply.text
        return client

    yield make
    for client in made:
        client.close()


def csrf(client: Any) -> str:
    return csrf_of(client.get("/kiem-tra").text) if client else ""


def dump(root: Path) -> tuple[dict[str, list[Any]], list[str]]:
    """Every table's rows (signing in and its log entries aside) and every file under evidence/."""
    with sqlite3.connect(root / "secaudit.db") as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type = 'table'")]
        rows = {t: sorted(map(repr, db.execute(f"select * from [{t}]"))) for t in tables
                if t not in ("sessions", "signin_attempts", "users", "log")}
        rows["log"] = [repr(r) for r in db.execute("select * from log where action not like 'web.sign%' order by seq")]
    files = sorted(str(p.relative_to(root)) for p in (root / "evidence").rglob("*")) if (root / "evidence").exists() \
        else []
    return rows, files


def log_actions(root: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(root / "secaudit.db") as db:
        return [(r[0], r[1]) for r in db.execute("select actor, action from log order by seq")]


def upload(client: Any, token: str, name: str, data: bytes) -> Any:
    return client.post("/kiem-tra/goi", data={"csrf": token},
                       files={"bundle": (name, io.BytesIO(data), "application/zip")})


GETS = ["/kiem-tra", "/kiem-tra.json", "/kiem-tra/tong-hop.pdf", "/kiem-tra/co-quan/phuong-thanh-vinh",
        "/kiem-tra/co-quan/phuong-thanh-vinh.json", "/kiem-tra/co-quan/phuong-thanh-vinh/bao-cao.pdf",
        "/quet/phuong-thanh-vinh", "/quet/phuong-thanh-vinh.json", "/kiem-tra/tin-cay", "/kiem-tra/tin-cay.json"]
POSTS = ["/kiem-tra/don-vi-ban-hanh", "/kiem-tra/co-quan/phuong-thanh-vinh/chap-nhan",
         "/kiem-tra/co-quan/phuong-thanh-vinh/ket-luan", "/quet/phuong-thanh-vinh", "/kiem-tra/tin-cay",
         "/kiem-tra/tin-cay/go"]


def test_every_inspector_route_is_refused_to_officers_and_viewers(client_as: Callable[[str], Any],
                                                                   police: tuple[Path, Path]) -> None:
    from secaudit.web import inspector

    before = dump(police[0])
    listed = {path for path, *_ in inspector.ROUTES}
    assert listed == {p.replace("phuong-thanh-vinh", "{code}").replace("bao-cao.pdf", "bao-cao.{fmt}")
                      for p in GETS + POSTS} | {"/kiem-tra/goi"}
    for username, expected in (("canbo-phuong", 404), ("xem-tinh", 403)):
        client = client_as(username)
        token = csrf_of(client.get("/nhat-ky").text)
        for path in GETS:
            assert client.get(path).status_code == expected, (username, path)
        for path in POSTS:
            reply = client.post(path, data={"csrf": token, "submission": "1", "item": "t1-lo-hong", "name": "X",
                                            "status": "dat", "note": "x"})
            assert reply.status_code == expected, (username, path)
        reply = upload(client, token, "so-khcn.zip", police[1].read_bytes())
        assert reply.status_code == expected, username
    # the officer of the phường reads its own agency page, never the inspector's view of it
    assert client_as("canbo-phuong").get("/co-quan/phuong-thanh-vinh").status_code == 200
    # without the session's CSRF token even the inspector is refused
    inspector_client = client_as("thanhtra")
    assert upload(inspector_client, "sai", "so-khcn.zip", police[1].read_bytes()).status_code == 403
    assert inspector_client.post("/quet/phuong-thanh-vinh", data={}).status_code == 403
    assert dump(police[0]) == before


def _corrupt(bundle: bytes) -> bytes:
    return bundle[: len(bundle) // 2]


def _tampered(bundle: bytes) -> bytes:
    """The same ZIP with one byte of the inventory changed (its recorded SHA-256 no longer matches)."""
    src, out = zipfile.ZipFile(io.BytesIO(bundle)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("data/") and b"so-khcn" in data:
                data = data.replace(b"so-khcn", b"so-khcm", 1)
            dst.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize(("case", "name", "make", "says"), [
    ("corrupt", "so-khcn.zip", _corrupt, "KHÔNG HỢP LỆ"),
    ("tampered", "so-khcn.zip", _tampered, "KHÔNG HỢP LỆ"),
    ("empty", "so-khcn.zip", lambda b: b"", "Tệp rỗng"),
    ("not a zip", "bao-cao.pdf", lambda b: b"%PDF-1.4\n", "Chỉ nhận tệp gói .zip"),
    ("text as zip", "goi.zip", lambda b: "không phải gói".encode(), "KHÔNG HỢP LỆ"),
])
def test_bad_bundles_are_refused_in_vietnamese_and_change_nothing(
        client_as: Callable[[str], Any], police: tuple[Path, Path], case: str, name: str, make: Any,
        says: str) -> None:
    client = client_as("thanhtra")
    before = dump(police[0])
    reply = upload(client, csrf(client), name, make(police[1].read_bytes()))
    assert reply.status_code == 400, (case, reply.text)
    assert says in reply.text, case
    assert "Traceback" not in reply.text and "/tmp/" not in reply.text and "secaudit-upload-" not in reply.text
    assert dump(police[0]) == before, case


def test_oversized_upload_is_refused_before_it_is_read(client_as: Callable[[str], Any], police: tuple[Path, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from secaudit.web import inspector

    monkeypatch.setattr(inspector, "MAX_BUNDLE_BYTES", 1024)
    client = client_as("thanhtra")
    before = dump(police[0])
    reply = upload(client, csrf(client), "so-khcn.zip", police[1].read_bytes())
    assert reply.status_code == 413 and "Tệp quá lớn" in reply.text
    assert dump(police[0]) == before


def test_path_and_bidi_names_are_neutralised(client_as: Callable[[str], Any], police: tuple[Path, Path]) -> None:
    client = client_as("thanhtra")
    reply = upload(client, csrf(client), "../../etc/so-khcn\u202egpj.zip", police[1].read_bytes())
    assert reply.status_code == 200, reply.text
    assert "so-khcngpj.zip" in reply.text and "../" not in reply.text and "\u202e" not in reply.text
    assert "đã được hiển thị là" in reply.text or "được hiển thị là" in reply.text


def test_inspector_imports_accepts_records_a_verdict_and_sets_the_issuer(
        client_as: Callable[[str], Any], police: tuple[Path, Path]) -> None:
    root, bundle = police
    client = client_as("thanhtra")
    token = csrf(client)
    nothing = client.get("/kiem-tra/co-quan/so-khcn")
    assert nothing.status_code == 404  # not in the inventory before its bundle arrives
    nothing = client.get("/kiem-tra/co-quan/phuong-thanh-vinh")
    assert nothing.status_code == 404 and "chưa nộp gói hồ sơ nào" in nothing.text
    reply = upload(client, token, "so-khcn.zip", bundle.read_bytes())
    assert reply.status_code == 200, reply.text
    page = reply.text
    assert "HỢP LỆ" in page and "KHÔNG HỢP LỆ" not in page and "Đã nhập lần nộp #1" in page
    import hashlib

    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in page
    assert "127.0.10.1" in page and "chờ chấp nhận" in page  # the declared hosts wait for acceptance
    home = client.get("/kiem-tra").text
    assert "<td>so-khcn.zip</td>" in home and "không ký số" in home  # the uploaded name, the signature in words
    again = upload(client, token, "so-khcn.zip", bundle.read_bytes())
    assert "đã được nhập" in again.text
    # accept: the declared hosts become the scan scope
    assert client.post("/kiem-tra/co-quan/so-khcn/chap-nhan", data={"csrf": token, "submission": "1"},
                       follow_redirects=False).status_code == 303
    view = client.get("/kiem-tra/co-quan/so-khcn")
    assert view.status_code == 200 and "chờ chấp nhận" not in view.text
    assert "chưa kiểm chứng" in view.text and "Còn " in view.text
    data = client.get("/kiem-tra/co-quan/so-khcn.json").json()
    assert "mau-thuan" not in {r["agreement"] for r in data["rows"]}
    assert all(r["verification"]["status"] != "dat" for r in data["rows"])  # nothing verified yet: no ĐẠT invented
    # the inspector's own verdict on lgsp-tinh / task 1 becomes the verification: a contradiction, listed first
    assert client.post("/kiem-tra/co-quan/so-khcn/ket-luan", data={
        "csrf": token, "item": "t1-lo-hong", "system": "lgsp-tinh", "status": "chua-dat",
        "note": "Biên bản kiểm tra: Redis mở trên 127.0.10.1:6379"}, follow_redirects=False).status_code == 303
    first = client.get("/kiem-tra/co-quan/so-khcn.json").json()["rows"][0]
    assert (first["item"], first["system"], first["agreement"]) == ("t1-lo-hong", "lgsp-tinh", "mau-thuan")
    html = client.get("/kiem-tra/co-quan/so-khcn").text
    table = html[html.index('class="insp-rows"'):]
    assert "MÂU THUẪN" in table and table.index("MÂU THUẪN") < table.index("ag-khop")
    # the province dashboard counts the contradiction and puts the agency first
    board = client.get("/tong-hop.json").json()
    assert board["agencies"][0]["code"] == "so-khcn" and board["agencies"][0]["contradictions"] >= 1
    assert board["totals"]["contradictions"] == board["agencies"][0]["contradictions"]
    assert "Mâu thuẫn khai/kiểm tra" in client.get("/").text
    # a verdict without its basis is refused in Vietnamese
    bad = client.post("/kiem-tra/co-quan/so-khcn/ket-luan", data={
        "csrf": token, "item": "t1-lo-hong", "system": "lgsp-tinh", "status": "chua-dat", "note": " "})
    assert bad.status_code == 400 and "căn cứ" in bad.text
    # the report needs the issuer; the page says so and offers the form
    assert "Khai đơn vị ban hành" in html
    assert client.get("/kiem-tra/co-quan/so-khcn/bao-cao.pdf").status_code == 400
    assert client.post("/kiem-tra/don-vi-ban-hanh", data={
        "csrf": token, "name": "Công an tỉnh Nghệ An", "parent": "Bộ Công an", "symbol": "CAT-PA05",
        "place": "Nghệ An", "signer_title": "Trưởng phòng", "signer_name": "Thái Bá Cường",
        "recipients": "Sở Khoa học và Công nghệ\nLưu: VT, PA05"}, follow_redirects=False).status_code == 303
    pdf = client.get("/kiem-tra/co-quan/so-khcn/bao-cao.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    docx = client.get("/kiem-tra/co-quan/so-khcn/bao-cao.docx")
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
    assert client.get("/kiem-tra/tong-hop.pdf").content.startswith(b"%PDF")
    # the log page names the actions in Vietnamese (the code stays as a tooltip and in the JSON twin)
    log_page = client.get("/nhat-ky").text
    assert "Nhận gói hồ sơ" in log_page and "Chấp nhận địa chỉ khai báo" in log_page
    assert ">submission.import<" not in log_page and 'title="submission.import"' in log_page
    # every page of the inspector also in English, without a template error
    for path in ("/kiem-tra", "/kiem-tra/co-quan/so-khcn", "/kiem-tra/co-quan/so-khcn?all=1", "/quet/so-khcn",
                 "/nhat-ky", "/"):
        english = client.get(path + ("&" if "?" in path else "?") + "lang=en")
        assert english.status_code == 200, path
    mine = [action for actor, action in log_actions(root) if actor == "thanhtra"]
    assert {"submission.import", "submission.accept", "answer.set", "issuer.set"} <= set(mine), mine
