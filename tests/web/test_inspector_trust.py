"""The inspector's trust page (``/kiem-tra/tin-cay``): the browser face of ``secaudit trust add|list|remove``.

A real signing certificate is made with tests/bundle_helpers.py (a CA and a leaf, as the exchange tests
do); the app runs on Starlette's TestClient over a copy of the example province (tests/web/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import CERT_PASSWORD, Identity, cert_name, make_ca, make_cert, make_identity
from web.helpers import csrf_of

AGENCY = "so-khcn"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CA, so-khcn's signing identity, and an expired certificate issued by the same CA."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    root = tmp_path_factory.mktemp("pki")
    ca_path, ca_cert, ca_key = make_ca(root)
    khcn = make_identity(root, "so-khcn", "Sở Khoa học và Công nghệ — ký số", ca_cert, ca_key)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old = make_cert(cert_name("Chứng thư cũ"), ca_cert.subject, key.public_key(), ca_key, ca=False,
                    start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), days=365)
    expired = root / "expired.der"
    expired.write_bytes(old.public_bytes(serialization.Encoding.DER))
    return {"ca": ca_path, "khcn": khcn, "expired": expired}


def bindings(root: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(root / "secaudit.db") as db:
        return list(db.execute("select agency, fingerprint, auto_apply, actor from trusted_certs order by id"))


def log_actions(root: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(root / "secaudit.db") as db:
        return [(r[0], r[1]) for r in db.execute("select actor, action from log where action like 'trust.%'")]


def fingerprint(pem: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(pem.read_bytes()).fingerprint(hashes.SHA256()).hex()


def add(client: Any, token: str, data: bytes, *, agency: str = AGENCY, auto: bool = False, name: str = "c.pem",
        lang: str = "") -> Any:
    fields = {"csrf": token, "agency": agency, **({"auto_apply": "1"} if auto else {})}
    return client.post("/kiem-tra/tin-cay" + lang, data=fields, files={"cert": (name, io.BytesIO(data))},
                       follow_redirects=False)


def test_add_list_trusted_at_upload_remove(client_for: Callable[[str | None], Any], web_ws: Path,
                                           pki: dict[str, Any], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from secaudit.services.exchange import export_bundle, load_signer

    ident: Identity = pki["khcn"]
    fp = fingerprint(ident.cert)
    # so-khcn's own copy of its data, from which it exports a bundle signed with its key
    source = tmp_path / "so-khcn-ws"
    shutil.copytree(web_ws, source)
    bundle = export_bundle(source, AGENCY, tmp_path / "so-khcn.zip", as_of=dt.date(2026, 11, 22), actor="canbo-khcn",
                           include_report=False, signer=load_signer(ident.p12, CERT_PASSWORD.encode())).path

    client = client_for("thanhtra")
    home = client.get("/kiem-tra").text
    assert 'href="/kiem-tra/tin-cay"' in home
    page = client.get("/kiem-tra/tin-cay")
    assert page.status_code == 200 and "Chưa gắn chứng thư nào" in page.text
    assert f'<option value="{AGENCY}">' in page.text  # the agencies of the inventory, to choose from
    reply = add(client, csrf_of(page.text), ident.cert.read_bytes(), auto=True)
    assert reply.status_code == 303, reply.text
    assert bindings(web_ws) == [(AGENCY, fp, 1, "thanhtra")]

    listed = client.get("/kiem-tra/tin-cay").text
    assert "Sở Khoa học và Công nghệ — ký số" in listed
    assert " ".join(fp[i:i + 4].upper() for i in range(0, 64, 4)) in listed
    assert "01/01/2020" in listed and ">có<" in listed
    rows = client.get("/kiem-tra/tin-cay.json").json()["bindings"]
    assert [(r["agency"], r["fingerprint"], r["auto_apply"], r["actor"]) for r in rows] == \
        [(AGENCY, fp, True, "thanhtra")]
    english = client.get("/kiem-tra/tin-cay?lang=en").text
    assert "Trusted signing certificates" in english and ">yes<" in english

    # a bundle signed with the bound certificate is judged "bound to the agency" at upload
    token = csrf_of(listed)
    received = client.post("/kiem-tra/goi", data={"csrf": token},
                           files={"bundle": ("so-khcn.zip", io.BytesIO(bundle.read_bytes()), "application/zip")})
    assert received.status_code == 200, received.text
    submissions = client.get("/kiem-tra.json").json()["submissions"]
    assert [(s["agency"], s["signature"]) for s in submissions] == [(AGENCY, "bound")], submissions
    assert "chứng thư đã đăng ký cho cơ quan" in client.get("/kiem-tra?lang=vi").text

    reply = client.post("/kiem-tra/tin-cay/go", data={"csrf": token, "agency": AGENCY, "fingerprint": fp},
                        follow_redirects=False)
    assert reply.status_code == 303, reply.text
    assert bindings(web_ws) == []
    assert "Chưa gắn chứng thư nào" in client.get("/kiem-tra/tin-cay").text
    assert log_actions(web_ws) == [("thanhtra", "trust.add"), ("thanhtra", "trust.remove")]


def test_officer_viewer_and_missing_csrf_are_refused(client_for: Callable[[str | None], Any], web_ws: Path,
                                                     pki: dict[str, Any]) -> None:
    cert = pki["khcn"].cert.read_bytes()
    fp = fingerprint(pki["khcn"].cert)
    for username, status in (("canbo-khcn", 404), ("xem-tinh", 403)):
        client = client_for(username)
        token = csrf_of(client.get("/nhat-ky").text)
        assert client.get("/kiem-tra/tin-cay").status_code == status
        assert client.get("/kiem-tra/tin-cay.json").status_code == status
        assert add(client, token, cert).status_code == status
    inspector = client_for("thanhtra")
    token = csrf_of(inspector.get("/kiem-tra/tin-cay").text)
    assert add(inspector, token, cert).status_code == 303
    # the officer cannot remove it either, and nobody can without the session's token
    officer = client_for("canbo-khcn")
    officer_token = csrf_of(officer.get("/nhat-ky").text)
    assert officer.post("/kiem-tra/tin-cay/go", data={"csrf": officer_token, "agency": AGENCY,
                                                      "fingerprint": fp}).status_code == 404
    assert add(inspector, "", cert, agency="phuong-thanh-vinh").status_code == 403
    assert inspector.post("/kiem-tra/tin-cay/go", data={"agency": AGENCY, "fingerprint": fp}).status_code == 403
    assert bindings(web_ws) == [(AGENCY, fp, 0, "thanhtra")]


@pytest.mark.parametrize("case", ["garbage", "expired", "unknown-agency", "too-big", "ca", "no-agency"])
def test_bad_input_is_shown_on_the_page_and_nothing_stored(client_for: Callable[[str | None], Any], web_ws: Path,
                                                           pki: dict[str, Any], case: str) -> None:
    cert = pki["khcn"].cert.read_bytes()
    data, agency, expected, status = {
        "garbage": (b"day khong phai chung thu\x00\xff", AGENCY, "không chứa chứng thư X.509", 400),
        "expired": (pki["expired"].read_bytes(), AGENCY, "đã hết hiệu lực ngày 31/12/2020", 400),
        "unknown-agency": (cert, "so-khong-co", "Không có cơ quan &#39;so-khong-co&#39; trong kiểm kê", 400),
        "too-big": (cert + b"\n" * (70 << 10), AGENCY, "quá lớn: tối đa 64 KB", 413),
        "ca": (pki["ca"].read_bytes(), AGENCY, "chứng thư của CA", 400),
        "no-agency": (cert, "", "Hãy chọn một cơ quan", 400),
    }[case]
    client = client_for("thanhtra")
    with sqlite3.connect(web_ws / "secaudit.db") as db:
        before = db.execute("select count(*) from log").fetchone()
    reply = add(client, csrf_of(client.get("/kiem-tra/tin-cay").text), data, agency=agency, auto=True)
    assert reply.status_code == status
    assert expected in reply.text and "Không lưu gì." in reply.text
    assert 'name="cert"' in reply.text  # the form is there to try again
    assert re.search(r"Traceback|/tmp/", reply.text) is None
    assert bindings(web_ws) == []
    with sqlite3.connect(web_ws / "secaudit.db") as db:
        assert db.execute("select count(*) from log").fetchone() == before


def test_removal_takes_a_fingerprint_not_a_path(client_for: Callable[[str | None], Any], web_ws: Path,
                                                pki: dict[str, Any]) -> None:
    client = client_for("thanhtra")
    token = csrf_of(client.get("/kiem-tra/tin-cay").text)
    assert add(client, token, pki["khcn"].cert.read_bytes()).status_code == 303
    reply = client.post("/kiem-tra/tin-cay/go", data={"csrf": token, "agency": AGENCY,
                                                      "fingerprint": str(pki["khcn"].cert)})
    assert reply.status_code == 400 and "Dấu vân tay SHA-256 không hợp lệ" in reply.text
    assert len(bindings(web_ws)) == 1
