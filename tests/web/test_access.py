"""Who reads what through the web (issue 18): every route × every role, isolation, CSRF, headers.

Uses Starlette's TestClient over the real app and a real workspace (the example province).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web.helpers import ACCOUNTS, csrf_of, password

import secaudit.web.app as web

OWN, OTHER = "so-khcn", "phuong-thanh-vinh"
SYSTEMS = {OWN: "lgsp-tinh", OTHER: "mot-cua-phuong"}


def agency_routes(code: str) -> list[str]:
    """Every GET page of one agency (HTML and its JSON twins, report downloads but the slow PDF)."""
    base = f"/co-quan/{code}"
    system = f"{base}/he-thong/{SYSTEMS[code]}"
    return [base, f"{base}.json", f"{base}?format=json", system, f"{system}.json", f"{system}?format=json",
            f"{base}/bao-cao.xlsx", f"{base}/bao-cao.json"]


PROVINCE_ROUTES = ["/", "/tong-hop.json", "/?format=json"]
LOG_ROUTES = ["/nhat-ky", "/nhat-ky.json"]


def expected(username: str, path: str) -> int:
    """The status each role must get: 200, 303 (officers' province pages lead to their agency) or 404."""
    role, agency = ACCOUNTS[username]
    province_wide = role in ("admin", "inspector") or (role == "viewer" and agency is None)
    if path in PROVINCE_ROUTES:
        return 200 if province_wide else 303
    if path in LOG_ROUTES:
        return 200
    code = path.split("/")[2].split(".")[0].split("?")[0]
    return 200 if province_wide or code == agency else 404


MATRIX = [(user, path) for user in ACCOUNTS for path in
          PROVINCE_ROUTES + LOG_ROUTES + agency_routes(OWN) + agency_routes(OTHER)]


def test_route_table_covers_every_route() -> None:
    """A new route must be added to this matrix (or to the explicit tests below) — listed here."""
    covered = {"/dang-nhap", "/dang-xuat", "/", "/tong-hop.json", "/nhat-ky", "/nhat-ky.json",
               "/bao-cao/tong-hop.pdf", "/co-quan/{code}.json", "/co-quan/{code}",
               "/co-quan/{code}/he-thong/{system}.json", "/co-quan/{code}/he-thong/{system}",
               "/co-quan/{code}/bao-cao.{fmt}", "/tai-nguyen/{name}"}
    assert {path for path, *_ in web.ROUTES} == covered


@pytest.mark.parametrize("username", list(ACCOUNTS))
def test_every_route_for_every_role(username: str, client_for: Callable[[str | None], Any]) -> None:
    client = client_for(username)
    wrong = []
    for user, path in MATRIX:
        if user != username:
            continue
        reply = client.get(path, follow_redirects=False)
        if reply.status_code != expected(username, path):
            wrong.append(f"{path}: {reply.status_code}, expected {expected(username, path)}")
    assert not wrong, f"{username} ({ACCOUNTS[username][0]}):\n" + "\n".join(wrong)


def test_an_officer_cannot_tell_another_agency_from_a_missing_one(client_for: Callable[[str | None], Any]) -> None:
    """404 for agency B's pages is the same answer as for an agency that does not exist."""
    client = client_for("canbo-khcn")
    for path in [*agency_routes(OTHER), f"/co-quan/{OTHER}/bao-cao.pdf"]:
        missing = path.replace(OTHER, "khong-ton-tai").replace(SYSTEMS[OTHER], "khong-co")
        theirs, nothing = client.get(path), client.get(missing)
        assert theirs.status_code == nothing.status_code == 404, path
        assert "Thành Vinh" not in theirs.text and SYSTEMS[OTHER] not in theirs.text.replace(path, "")
        # the page only echoes the address asked for (in its language link); otherwise identical
        same = theirs.text.replace(path, "").replace(path.split("?")[0], "")
        assert same == nothing.text.replace(missing, "").replace(missing.split("?")[0], ""), path


def test_officer_home_is_their_agency_and_log_is_theirs(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("canbo-phuong")
    home = client.get("/", follow_redirects=False)
    assert home.headers["location"] == f"/co-quan/{OTHER}"
    entries = client.get("/nhat-ky.json").json()["entries"]
    assert entries and {e["agency"] for e in entries} == {OTHER}


def test_anonymous_requests_are_sent_to_sign_in(client_for: Callable[[str | None], Any]) -> None:
    client = client_for(None)
    for path in PROVINCE_ROUTES + LOG_ROUTES + agency_routes(OWN) + ["/bao-cao/tong-hop.pdf"]:
        reply = client.get(path, follow_redirects=False)
        if "json" in path:
            assert reply.status_code == 401, path
        else:
            assert (reply.status_code, reply.headers.get("location")) == (303, "/dang-nhap"), path


def test_province_rollup_pdf_only_for_province_wide_roles(client_for: Callable[[str | None], Any]) -> None:
    assert client_for("canbo-khcn").get("/bao-cao/tong-hop.pdf").status_code == 404
    assert client_for("xem-khcn").get("/bao-cao/tong-hop.pdf").status_code == 404
    reply = client_for("thanhtra").get("/bao-cao/tong-hop.pdf")
    assert reply.status_code == 200 and reply.content.startswith(b"%PDF-")
    assert "attachment" in reply.headers["content-disposition"]


# -- CSRF -----------------------------------------------------------------------------------------
def test_sign_in_without_or_with_a_wrong_csrf_token_is_refused(client_for: Callable[[str | None], Any],
                                                               web_ws: Path) -> None:
    client = client_for(None)
    form = {"username": "thanhtra", "password": password("thanhtra")}
    assert client.post("/dang-nhap", data=form, follow_redirects=False).status_code == 403  # no cookie, no field
    token = csrf_of(client.get("/dang-nhap").text)
    assert client.post("/dang-nhap", data=form, follow_redirects=False).status_code == 403  # cookie, no field
    assert client.post("/dang-nhap", data={**form, "csrf": token + "x"}, follow_redirects=False).status_code == 403
    cross = client.post("/dang-nhap", data={**form, "csrf": token}, headers={"origin": "http://evil.example"},
                        follow_redirects=False)
    assert cross.status_code == 403
    assert "secaudit_session" not in client.cookies
    ok = client.post("/dang-nhap", data={**form, "csrf": token}, follow_redirects=False)
    assert ok.status_code == 303 and "secaudit_session" in client.cookies


def test_sign_out_needs_the_session_csrf_token(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("thanhtra")
    assert client.post("/dang-xuat", data={}, follow_redirects=False).status_code == 403
    assert client.post("/dang-xuat", data={"csrf": "guess"}, follow_redirects=False).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    token = csrf_of(client.get("/").text)
    assert client.post("/dang-xuat", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303  # the session is gone server-side


def test_a_stolen_cookie_dies_with_sign_out(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("thanhtra")
    cookie = client.cookies["secaudit_session"]
    client.post("/dang-xuat", data={"csrf": csrf_of(client.get("/").text)})
    thief = client_for(None)
    thief.cookies.set("secaudit_session", cookie)
    assert thief.get("/tong-hop.json").status_code == 401


def test_every_post_route_refuses_a_request_without_csrf(client_for: Callable[[str | None], Any]) -> None:
    posts = [path for path, _endpoint, methods, _name in web.ROUTES if "POST" in methods]
    assert posts == ["/dang-nhap", "/dang-xuat"]
    for username in (None, "thanhtra", "canbo-khcn"):
        client = client_for(username)
        for path in posts:
            assert client.post(path, data={}, follow_redirects=False).status_code in (403, 303), path
            if username:
                assert client.get("/nhat-ky", follow_redirects=False).status_code == 200  # not signed out


# -- headers, escaping ----------------------------------------------------------------------------
def test_security_headers_on_every_response(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("thanhtra")
    for path in ["/", "/dang-nhap", "/co-quan/khong-co", "/tai-nguyen/style.css", f"/co-quan/{OWN}.json"]:
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        # scripts only from this server's own vendored files (progressive enhancement), never inline
        assert "script-src" not in csp or "script-src 'self';" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_session_cookie_flags(web_ws: Path) -> None:
    from starlette.testclient import TestClient

    app = web.create_app(web_ws, secure_cookies=True)
    with TestClient(app, base_url="https://127.0.0.1") as client:
        token = csrf_of(client.get("/dang-nhap").text)
        reply = client.post("/dang-nhap", data={"csrf": token, "username": "thanhtra",
                                                "password": password("thanhtra")}, follow_redirects=False)
        cookie = next(v for k, v in reply.headers.multi_items() if k == "set-cookie" and "secaudit_session" in v)
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
        assert "strict-transport-security" in reply.headers


def test_templates_have_no_inline_script_or_style() -> None:
    folder = Path(web.__file__).parent / "templates"
    for template in folder.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        text = re.sub(r'<script src="/tai-nguyen/[a-z-]+\.js" defer></script>', "", text)  # a vendored file
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=|javascript:", text, re.I), template.name


def test_data_from_the_inventory_is_escaped(client_for: Callable[[str | None], Any], web_ws: Path) -> None:
    from secaudit.services.inventory import edit_agency

    edit_agency(web_ws, OWN, {"name": "<script>alert(1)</script> Sở \u202eKH"}, actor="pytest")
    page = client_for("thanhtra").get(f"/co-quan/{OWN}").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "&lt;U+202E&gt;" in page


# -- the dashboard's filters drive the totals ------------------------------------------------------
def test_filters_drive_rows_and_totals(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("thanhtra")
    everything = client.get("/tong-hop.json").json()
    assert everything["totals"]["agencies"] == len(everything["agencies"]) == 5
    wards = client.get("/tong-hop.json?kind=ubnd-xa").json()
    assert [a["code"] for a in wards["agencies"]] == [OTHER]
    assert wards["totals"]["agencies"] == 1 and wards["totals"]["systems"] == 2
    found = client.get("/tong-hop.json?q=khoa hoc").json()  # no accents needed
    assert [a["code"] for a in found["agencies"]] == [OWN]
    page = client.get("/?kind=ubnd-xa").text
    assert "UBND phường Thành Vinh" in page and "Sở Khoa học" not in page
    ranks = [(-a["contradictions"], -a["overdue"]) for a in everything["agencies"]]
    assert ranks == sorted(ranks)  # contradictions, then overdue, first


def test_pages_speak_vietnamese_first_and_english_on_request(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("thanhtra")
    vi = client.get(f"/co-quan/{OWN}").text
    assert "Hệ thống thông tin" in vi and "CHƯA ĐẠT" in vi and "Đã phê duyệt" in vi
    assert not re.search(r">\s*(chua-dat|chua-danh-gia|da-phe-duyet|so-ban-nganh)\s*<", vi)  # no raw codes
    en = client.get(f"/co-quan/{OWN}?lang=en")
    assert "Information systems" in en.text and ">FAIL</span>" in en.text and ">CHƯA ĐẠT<" not in en.text
    assert "Province overview" in client.get("/").text  # the choice is kept in a cookie
    assert "Tổng hợp của tỉnh" in client.get("/?lang=vi").text


def test_bad_query_values_get_a_vietnamese_answer_not_a_traceback(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("thanhtra")
    bad_date = client.get("/?as_of=31/02/2026")
    assert bad_date.status_code == 400 and "không hợp lệ" in bad_date.text and "Traceback" not in bad_date.text
    reply = client.get("/tong-hop.json?as_of=hôm-qua")
    assert reply.status_code == 400 and reply.json() == {"error": "Ngày 'hôm-qua' không hợp lệ; viết dd/mm/yyyy"}
    assert client.get(f"/co-quan/{OWN}/bao-cao.exe").status_code == 404
    assert client.get("/tai-nguyen/..%2F..%2Fsecaudit.db").status_code == 404
    assert client.get("/tong-hop.json?state=%00&kind=<b>&q=" + "x" * 5000).status_code == 200


def test_json_twin_has_the_same_facts_as_the_page(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("canbo-khcn")
    data = client.get(f"/co-quan/{OWN}.json").json()
    page = client.get(f"/co-quan/{OWN}").text
    assert data["agency"]["code"] == OWN
    for system in data["systems"]:
        assert system["name"] in page
    backed = [e for c in data["checklists"] for it in c["items"] if it["parent"] is None for e in it["evidence_all"]]
    assert backed, "the example answers attach evidence to KH 04 tasks"
    assert backed[0]["sha256"][:12] in page
    json.dumps(data)


def test_pages_follow_changes_at_once(client_for: Callable[[str | None], Any], web_ws: Path) -> None:
    """The evaluated province is kept between requests; a change in the workspace shows on the next one."""
    from secaudit.services.assessment import record_answer

    client = client_for("thanhtra")
    def cell() -> dict[str, Any]:
        row = next(a for a in client.get("/tong-hop.json").json()["agencies"] if a["code"] == OTHER)
        return row["cells"][0]

    assert cell()["status"] == "chua-danh-gia"
    assert client.get(f"/co-quan/{OTHER}.json").json()["summary"]["tasks"][0]["status"] == "chua-danh-gia"
    record_answer(web_ws, OTHER, "kh04-bcdtw:t1-lo-hong", system=SYSTEMS[OTHER], status="chua-dat",
                  note="chưa khắc phục", actor="pytest")
    assert cell()["status"] == "chua-dat"
    assert client.get(f"/co-quan/{OTHER}.json").json()["summary"]["tasks"][0]["status"] == "chua-dat"


def test_write_actions_need_csrf_and_refuse_viewers(web_ws: Path) -> None:
    """The hook the forms of the next issue use: CSRF, same origin, no viewer; the actor is the user."""
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    @web.action()
    def note(request: Any, ws: Any, session: Any, form: Any) -> Any:
        return PlainTextResponse(f"{session.user.username}:{form.get('text')}")

    app = web.create_app(web_ws)
    app.app.router.routes.append(Route("/thu", note, methods=["POST"]))  # type: ignore[attr-defined]
    results = {}
    for username in ("canbo-khcn", "xem-khcn", "xem-tinh"):
        with TestClient(app, base_url="http://127.0.0.1:8080") as client:
            token = csrf_of(client.get("/dang-nhap").text)
            client.post("/dang-nhap", data={"csrf": token, "username": username, "password": password(username)})
            session_csrf = csrf_of(client.get("/nhat-ky").text)
            assert client.post("/thu", data={"text": "x"}).status_code == 403
            reply = client.post("/thu", data={"text": "x", "csrf": session_csrf})
            results[username] = (reply.status_code, reply.text if reply.status_code == 200 else "")
    assert results == {"canbo-khcn": (200, "canbo-khcn:x"), "xem-khcn": (403, ""), "xem-tinh": (403, "")}


def test_report_downloads_are_real_documents(client_for: Callable[[str | None], Any]) -> None:
    client = client_for("canbo-khcn")
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("json", b"{")):
        reply = client.get(f"/co-quan/{OWN}/bao-cao.{fmt}")
        assert reply.status_code == 200 and reply.content.startswith(magic), fmt
        assert reply.headers["content-disposition"] == f'attachment; filename="bao-cao-{OWN}-20261122.{fmt}"'
