"""Mutation fuzzing of the served web app's routes, forms and uploads (run by hand).

    cd /work/main && unshare -n sh -c 'ip link set lo up && \
        .venv/bin/python scripts/fuzz/web.py --seed 1 --cases 3000 [--only PATTERN] [-v]'

Builds a throwaway workspace under /tmp (the example province, its answers, one account per role),
signs in one Starlette TestClient per role and sends mutated requests in-process to every route:
form fields missing, repeated, empty, 1 MB long, wrong type, NUL/bidi/control characters, HTML,
path-like values, other agencies' codes; uploads of the wrong kind, damaged or truncated workbooks,
zip bundles with renamed, duplicated or path-traversing members; wrong or missing CSRF tokens;
odd path parameters; ``?format=json``, ``?lang=``, ``?as_of=`` variants.

Each response is classified: accepted, refused (a 3xx/4xx page) or **bug**:
  * an exception escaping the app (TestClient raises it), a 500, or "Traceback" in the body;
  * the hostile marker ``<script>fz</script>`` echoed unescaped in an HTML page;
  * a Vietnamese error page (or a plain-text 4xx answer) whose message has no Vietnamese letter;
  * a request slower than 10 s (a bundle export makes a PDF: on a loaded machine it can pass 10 s);
  * a refused POST (status >= 400) that changed the workspace (rows of every table but the
    session/sign-in tables, and the evidence files);
  * an officer of one agency getting a 200 for another agency's page, or changing its data.
Prints a summary and every distinct bug (route, status or exception, a repro of the request).
Nothing is sent anywhere but the in-process app; the scan route is only sent invalid profiles.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
NOW = "2026-11-22T09:00:00+07:00"
ACCOUNTS = {
    "quantri": ("admin", None), "thanhtra": ("inspector", None), "canbo-khcn": ("officer", "so-khcn"),
    "canbo-phuong": ("officer", "phuong-thanh-vinh"), "xem-tinh": ("viewer", None),
    "xem-khcn": ("viewer", "so-khcn"),
}
OWN, OTHER = "so-khcn", "phuong-thanh-vinh"
MARK = "<script>fz</script>"
VOLATILE = {"sessions", "signin_attempts", "sign_in_attempts", "throttle", "login_attempts"}
VI_LETTERS = re.compile("[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.I)


def password(user: str) -> str:
    return f"mat-khau-cua-{user}-2026"


# -- hostile values ----------------------------------------------------------------------------------------
def hostile_text(rng: random.Random) -> str:
    choices = [
        "", " ", MARK, "\x00", "a\x00b", "\u202eexe.fdp", "\u200b\u2066x\u2069", "\x1b[31m", "\r\n\r\nX: y",
        "../../etc/passwd", "/etc/passwd", "C:\\Windows\\win.ini", "..", ".", "%00", "%2e%2e%2f",
        "x" * (1 << 20), "é" * 5000, "1e999", "-1", "NaN", "inf", "99999999999999999999999", "0", "[]", "{}",
        "2026-02-30", "30/02/2026", "31/12/9999", "01/01/0001", "00/00/0000", "32/13/2026", "29/02/2025",
        "1/1/1", "2026", "2026-2027", "01/01/2026-31/12/2025", "{0}", "{agency}", "{{7*7}}", "%s%n",
        "'; drop table answers; --", "\ufffd", "\ufeffdat", "dat\x00", "DAT", " dat ",
        OWN, OTHER, "cong-an-tinh", "so-y-te", "vp-ubnd-tinh", "khong-co", "dat", "chua-dat", "khong-ap-dung",
        "<img src=x onerror=alert(1)>", "javascript:alert(1)", "\u0301", "a" * 300, "\t\v\f",
    ]
    value = rng.choice(choices)
    if rng.random() < 0.2:
        value = value + MARK
    return value


def mutate_fields(rng: random.Random, base: dict[str, str], extra_keys: list[str]) -> list[tuple[str, str]]:
    """A form as a list of pairs: some fields dropped, emptied, repeated, replaced or added."""
    pairs = list(base.items())
    out: list[tuple[str, str]] = []
    # most cases change few fields, so that requests get past the first check and reach the services
    rate = rng.choice([0.05, 0.1, 0.2, 0.6])
    for key, value in pairs:
        roll = rng.random() / rate * 0.6 if rate < 0.6 else rng.random()
        if key == "csrf" and rng.random() < (0.9 if rate >= 0.6 else 0.99):
            out.append((key, value))
            continue
        if roll < 0.1:
            continue  # missing
        if roll < 0.2:
            out.append((key, ""))
        elif roll < 0.3:
            out.extend([(key, value), (key, hostile_text(rng))])  # repeated
        elif roll < 0.6:
            out.append((key, hostile_text(rng)))
        else:
            out.append((key, value))
    for key in rng.sample(extra_keys, k=min(len(extra_keys), rng.randint(0, 2))):
        out.append((key, hostile_text(rng)))
    return out


def hostile_path_part(rng: random.Random, good: str) -> str:
    return rng.choice([good, OTHER, OWN, "cong-an-tinh", "khong-co", "..", "%2e%2e", "a%00b", "%E2%80%AE",
                       "x" * 3000, "%ZZ", "<script>", "%3Cscript%3E", "a b", "é", "%C3%A9", "-", "_", "0",
                       "a.json", "%2F", good.upper(), good + "%0A", "%FF%FE", "~", "*"])


# -- files ------------------------------------------------------------------------------------------------
def damaged(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    roll = rng.random()
    buf = bytearray(data)
    if roll < 0.3:
        for _ in range(rng.randint(1, 20)):
            i = rng.randrange(len(buf))
            buf[i] = rng.randrange(256)
        return bytes(buf)
    if roll < 0.5:
        return bytes(buf[: rng.randrange(len(buf))])
    if roll < 0.6:
        return b"\xef\xbb\xbf" + data
    if roll < 0.7:
        return data + b"\x00" * rng.randint(1, 5000)
    return data


def rezip(rng: random.Random, data: bytes, *, hostile_member: bool = True) -> bytes:
    """A ZIP (xlsx or bundle) with one member mutated, renamed, duplicated, removed or path-traversing."""
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    except Exception:  # noqa: BLE001 - a damaged seed: return as is
        return data
    if not members:
        return data
    idx = rng.randrange(len(members))
    name, body = members[idx]
    roll = rng.random()
    if roll < 0.35 and (name.endswith(".xml") or name.endswith(".json") or name.endswith(".yaml")
                        or name.endswith(".rels") or name.endswith(".csv")):
        text = body.decode("utf-8", "replace")
        edits = [
            lambda t: t.replace(">", ">" + MARK.replace("<", "&lt;"), 1),
            lambda t: t[: rng.randrange(max(1, len(t)))],
            lambda t: t.replace('encoding="UTF-8"', 'encoding="x-fuzz"').replace("utf-8", "x-fuzz", 1),
            lambda t: re.sub(r"<v>[^<]*</v>", "<v>1e999</v>", t, count=3),
            lambda t: re.sub(r"<v>[^<]*</v>", "<v>-99999999999999999999</v>", t, count=3),
            lambda t: re.sub(r'r="([A-Z]+)(\d+)"', lambda m: f'r="{m[1]}{int(m[2]) + 1048577}"', t, count=2),
            lambda t: t.replace('"', "'", 1),
            lambda t: "\n".join(rng.sample(t.splitlines(), len(t.splitlines()))) if "\n" in t else t,
            lambda t: t.replace("1", "2026-02-30", 1),
            lambda t: t.replace("so-khcn", OTHER).replace("vp-ubnd-tinh", OTHER),
            lambda t: "<a>" * 5000 + t,
            lambda t: t.replace("<c ", '<c t="e" ', 2),
            lambda t: t.replace("<mergeCells", "<mergeCells><mergeCell ref=\"A1:Z9999\"/></mergeCells><x", 1),
            lambda t: t.replace('name="', 'name="X', 1),
            lambda t: t.replace("<f>", "<f>HYPERLINK(\"http://example.invalid\")", 1) if "<f>" in t
            else t.replace("<v>", "<f>1/0</f><v>", 1),
        ]
        body = rng.choice(edits)(text).encode("utf-8")
        members[idx] = (name, body)
    elif roll < 0.5:
        members[idx] = (name, damaged(rng, body))
    elif roll < 0.6:
        members.append((name, body))  # duplicated
    elif roll < 0.7:
        members.pop(idx)
    elif roll < 0.8 and hostile_member:
        members[idx] = (rng.choice(["../" + name, "/" + name, name + "\x00", name.upper(), "a/../../" + name,
                                    "\u202e" + name, name.replace("/", "\\")]), body)
    else:
        members.insert(0, (rng.choice(["../evil.txt", "x/" * 60 + "y", "\x1b.txt"]), b"evil"))
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for n, b in members:
                try:
                    zf.writestr(n, b)
                except Exception:  # noqa: BLE001
                    pass
    return out.getvalue()


# -- the workspace ----------------------------------------------------------------------------------------
def build(root: Path) -> None:
    from secaudit.inventory import records as inventory
    from secaudit.services.accounts import add_user
    from secaudit.services.assessment import import_answers
    from secaudit.store.workspace import Workspace

    ws = Workspace.create(root)
    try:
        agencies = inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory"))
        inventory.import_agencies(ws, agencies, actor="fuzz", source="examples")
        for answers in sorted((EXAMPLES / "answers").glob("*.yaml")):
            import_answers(ws, answers.stem, answers, actor="fuzz")
        for name, (role, agency) in ACCOUNTS.items():
            add_user(ws, name, password(name), role=role, agency=agency, actor="fuzz")
    finally:
        ws.close()


def state(root: Path) -> str:
    """A digest of every row of every table but the volatile ones, and of the evidence files."""
    db = sqlite3.connect(next(root.glob("*.db")))
    try:
        h = hashlib.sha256()
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
        for t in tables:
            if t in VOLATILE or "session" in t or "attempt" in t:
                continue
            for row in db.execute(f"select * from [{t}]"):
                h.update(repr(row).encode())
    finally:
        db.close()
    for p in sorted((root / "evidence").rglob("*")) if (root / "evidence").exists() else []:
        h.update(str(p.relative_to(root)).encode())
    return h.hexdigest()


def agency_state(root: Path, agency: str) -> str:
    """A digest of every row that names ``agency`` (tables with an ``agency`` column)."""
    db = sqlite3.connect(next(root.glob("*.db")))
    try:
        h = hashlib.sha256()
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table' order by name")]
        for t in tables:
            if "agency" in [r[1] for r in db.execute(f"pragma table_info([{t}])")]:
                for row in db.execute(f"select * from [{t}] where agency = ?", [agency]):
                    h.update(repr(row).encode())
    finally:
        db.close()
    return h.hexdigest()


def csrf_of(html: str) -> str | None:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    return found[1] if found else None


# -- the campaign -----------------------------------------------------------------------------------------
class Campaign:
    def __init__(self, root: Path, rng: random.Random, verbose: bool) -> None:
        from starlette.testclient import TestClient

        from secaudit.web.site import create_app

        self.root, self.rng, self.verbose = root, rng, verbose
        self.app = create_app(root)
        self.clients: dict[str, Any] = {}
        self.csrf: dict[str, str] = {}
        for user in ("canbo-khcn", "thanhtra", "quantri", "xem-khcn"):
            c = TestClient(self.app, base_url="http://127.0.0.1:8080", raise_server_exceptions=True)
            page = c.get("/dang-nhap")
            r = c.post("/dang-nhap", data={"csrf": csrf_of(page.text), "username": user,
                                           "password": password(user)}, follow_redirects=False)
            assert r.status_code == 303, r.text
            self.clients[user] = c
            self.csrf[user] = csrf_of(c.get("/co-quan/so-khcn/danh-gia").text) or ""
        self.anon = TestClient(self.app, base_url="http://127.0.0.1:8080", raise_server_exceptions=True)
        self.counts: Counter[str] = Counter()
        self.bugs: dict[str, list[str]] = defaultdict(list)
        self.seeds = self._seeds()

    def _seeds(self) -> dict[str, bytes]:
        c = self.clients["quantri"]
        seeds = {
            "inventory.xlsx": c.get(f"/co-quan/{OWN}/danh-muc/bang-tinh.xlsx").content,
            "template.xlsx": c.get(f"/co-quan/{OWN}/danh-muc/bang-tinh.xlsx?mau=1").content,
            "answers.xlsx": c.get(f"/co-quan/{OWN}/danh-gia/bang-tinh.xlsx").content,
            "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
            "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
            "txt": "Biên bản kiểm tra\n".encode(),
        }
        r = self.clients["canbo-khcn"].post(f"/co-quan/{OWN}/goi-du-lieu", data={"csrf": self.csrf["canbo-khcn"]})
        seeds["bundle.zip"] = r.content if r.status_code == 200 else b""
        for p in (EXAMPLES / "evidence").rglob("*"):
            if p.is_file() and p.stat().st_size < 2_000_000:
                seeds["ev:" + p.name] = p.read_bytes()
        return seeds

    # -- classification
    def check(self, label: str, repro: str, response: Any, *, before: str | None, user: str,
              lang: str, cross: bool) -> None:
        status = response.status_code
        body = response.text if response.headers.get("content-type", "").startswith(("text/", "application/json")) \
            else ""
        kind = "accepted" if status < 300 else "redirect" if status < 400 else "refused"
        self.counts[kind] += 1
        if status >= 500:
            self.bug(f"{label}: HTTP {status}", repro)
        if "Traceback" in body:
            self.bug(f"{label}: traceback in body", repro)
        if MARK in body and response.headers.get("content-type", "").startswith("text/html"):
            self.bug(f"{label}: unescaped hostile text", repro)
        if (status >= 400 and lang == "vi" and response.headers.get("content-type", "").startswith("text/html")):
            m = re.search(r'<section class="error">.*?<p>(.*?)</p>', body, re.S)
            if m and m.group(1).strip() and not VI_LETTERS.search(m.group(1)):
                self.bug(f"{label}: English-only error page ({m.group(1)[:80]!r})", repro)
        if (status >= 400 and status != 405 and lang == "vi"
                and response.headers.get("content-type", "").startswith("text/plain") and not VI_LETTERS.search(body)):
            self.bug(f"{label}: English-only plain-text error ({body[:60]!r})", repro)
        if cross and status == 200 and response.request.method == "GET":
            self.bug(f"{label}: cross-agency read (200)", repro)
        if before is not None:
            after = state(self.root)
            if after != before and (status >= 400 or cross):
                self.bug(f"{label}: {'cross-agency write' if cross else 'refused but changed'} (HTTP {status})",
                         repro)

    def bug(self, key: str, repro: str) -> None:
        self.bugs[key].append(repro)
        if self.verbose or len(self.bugs[key]) == 1:
            print("BUG", key, "::", repro[:300], flush=True)

    def send(self, label: str, user: str, method: str, url: str, *, data: Any = None, files: Any = None,
             headers: dict[str, str] | None = None, cross: bool = False) -> None:
        client = self.anon if user == "anon" else self.clients[user]
        if "lang=en" in url:
            lang = "en"
        elif "lang=vi" in url:
            lang = "vi"
        else:
            lang = "en" if client.cookies.get("secaudit_lang") == "en" else "vi"
        before = state(self.root) if method == "POST" else None
        other_before = agency_state(self.root, OTHER) if method == "POST" and user == "canbo-khcn" else None
        shown = repr(data)[:200] if data is not None else ""
        fnames = [(f[0], f[1][0], len(f[1][1])) for f in files] if files else ""
        repro = f"{user} {method} {url[:200]} data={shown} files={fnames}"
        start = time.monotonic()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                content, extra = encode(data, files)
                r = client.request(method, url, content=content, headers={**extra, **(headers or {})},
                                   follow_redirects=False)
        except Exception as exc:  # noqa: BLE001 - this is what the campaign looks for
            tb = traceback.extract_tb(exc.__traceback__)
            ours = [f for f in tb if "secaudit" in f.filename] or tb
            where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}"
            self.counts["exception"] += 1
            self.bug(f"{label}: {type(exc).__name__} at {where}", repro + f" :: {str(exc)[:200]}")
            return
        if self.verbose:
            print(r.status_code, repro[:160], flush=True)
        if time.monotonic() - start > 10:
            self.bug(f"{label}: slow (> 10 s)", repro + f" :: {time.monotonic() - start:.0f} s")
        self.check(label, repro, r, before=before, user=user, lang=lang, cross=cross)
        if other_before is not None and agency_state(self.root, OTHER) != other_before:
            self.bug(f"{label}: {OTHER}'s rows changed by an officer of {OWN} (HTTP {r.status_code})", repro)
        if r.status_code in (200, 303) and method == "POST" and user == "canbo-khcn" and "dang-xuat" in url:
            raise SystemExit("signed out unexpectedly")

    # -- query variants
    def query(self) -> str:
        rng = self.rng
        parts: list[str] = []
        if rng.random() < 0.5:
            return ""
        if rng.random() < 0.3:
            parts.append("format=" + rng.choice(["json", "JSON", "xml", "", "json%00"]))
        if rng.random() < 0.4:
            parts.append("lang=" + rng.choice(["en", "vi", "fr", "", "EN", "en%00", "%3Cscript%3E"]))
        if rng.random() < 0.4:
            parts.append("as_of=" + rng.choice(["22/11/2026", "30/02/2026", "31/12/9999", "01/01/0001", "0",
                                                "2026-11-22", "-1", "99999999999", "%00", "1/1/1", "31/12/1899",
                                                "x" * 500, "%E2%80%AE", "%3Cscript%3Efz%3C%2Fscript%3E"]))
        if rng.random() < 0.1:
            parts.append(rng.choice(["ky=2026", "ky=30/02/2026", "ky=%3Cscript%3E", "all=1", "mau=1",
                                     "ky=01/01/2026-31/12/2025", "ky=x" + "9" * 400]))
        return ("?" + "&".join(parts)) if parts else ""

    # -- routes
    def case(self) -> None:
        rng = self.rng
        kind = rng.choice(["get", "get", "answer", "waiver", "inventory_up", "answers_up", "system", "narrative",
                           "bundle_export", "bundle_up", "issuer", "verdict", "accept", "scan", "signin",
                           "csrf", "method"])
        getattr(self, "c_" + kind)()

    def _item(self, code: str) -> tuple[str, str, list[str]]:
        key = ("items", code)
        if key not in self.__dict__:
            r = self.clients["quantri"].get(f"/co-quan/{code}/danh-gia.json")
            data = r.json()
            refs = []
            for it in json.dumps(data).split('"ref": "')[1:]:
                refs.append(it.split('"', 1)[0])
            self.__dict__[key] = refs or ["kh04-bcdtw:t1-lo-hong"]
        ref = rng_choice(self.rng, self.__dict__[key])
        checklist, _, item = ref.partition(":")
        return checklist, item, []

    def c_get(self) -> None:
        rng = self.rng
        user = rng.choice(["canbo-khcn", "thanhtra", "quantri", "xem-khcn", "anon"])
        code = hostile_path_part(rng, OWN)
        paths = ["/", "/tong-hop.json", "/nhat-ky", "/nhat-ky.json", "/bao-cao/tong-hop.pdf", "/co-quan/{c}",
                 "/co-quan/{c}.json", "/co-quan/{c}/he-thong/{s}", "/co-quan/{c}/he-thong/{s}.json",
                 "/co-quan/{c}/bao-cao.{f}", "/tai-nguyen/{n}", "/co-quan/{c}/danh-gia", "/co-quan/{c}/danh-gia.json",
                 "/co-quan/{c}/danh-gia/bang-tinh.xlsx", "/co-quan/{c}/danh-gia/{k}/{i}",
                 "/co-quan/{c}/danh-gia/{k}/{i}.json", "/co-quan/{c}/minh-chung/{h}", "/co-quan/{c}/danh-muc",
                 "/co-quan/{c}/danh-muc.json", "/co-quan/{c}/danh-muc/bang-tinh.xlsx",
                 "/co-quan/{c}/danh-muc/them-he-thong", "/co-quan/{c}/danh-muc/he-thong/{s}",
                 "/co-quan/{c}/danh-muc/he-thong/{s}.json", "/co-quan/{c}/bao-cao-viet",
                 "/co-quan/{c}/bao-cao-viet.json", "/kiem-tra", "/kiem-tra.json", "/kiem-tra/tong-hop.pdf",
                 "/kiem-tra/co-quan/{c}", "/kiem-tra/co-quan/{c}.json", "/kiem-tra/co-quan/{c}/bao-cao.{f}",
                 "/quet/{c}", "/quet/{c}.json", "/dang-nhap", "/{c}", "/co-quan/{c}/{k}", "/kiem-tra/{c}/x"]
        path = rng.choice(paths)
        if "bao-cao.{f}" in path or "tong-hop.pdf" in path:
            if rng.random() < 0.85:  # PDFs are slow: mostly odd formats
                path = path.replace("{f}", rng.choice(["x", "PDF", "pdf%00", "..", "json", "xlsx", "docx"]))
        checklist, item, _ = self._item(OWN if rng.random() < 0.7 else OTHER)
        url = path.format(c=code, s=hostile_path_part(rng, rng.choice(["cong-thong-tin", "mot-cua"])),
                          f=rng.choice(["pdf", "docx", "xlsx", "json"]), n=rng.choice(["style.css", "..", "x.js"]),
                          k=hostile_path_part(rng, checklist), i=hostile_path_part(rng, item),
                          h=rng.choice(["0" * 64, "../../secaudit.db", "z" * 64, "a" * 10]))
        cross = user == "canbo-khcn" and code == OTHER and not path.startswith(("/kiem-tra", "/quet", "/dang",
                                                                                  "/tai-nguyen", "/nhat", "/tong",
                                                                                  "/bao-cao/"))
        self.send("GET " + path, user, "GET", url + self.query(), cross=cross)

    def _writer(self) -> tuple[str, str, bool]:
        rng = self.rng
        user = rng.choice(["canbo-khcn"] * 4 + ["quantri", "quantri", "xem-khcn", "thanhtra"])
        code = rng.choice([OWN] * 6 + [OTHER, "khong-co", "cong-an-tinh"]) if rng.random() < 0.9 \
            else hostile_path_part(rng, OWN)
        return user, code, user == "canbo-khcn" and code not in (OWN,)

    def c_answer(self) -> None:
        rng = self.rng
        user, code, cross = self._writer()
        checklist, item, _ = self._item(code if code in (OWN, OTHER) else OWN)
        if rng.random() < 0.1:
            checklist, item = hostile_path_part(rng, checklist), hostile_path_part(rng, item)
        base = {"csrf": self.csrf.get(user, ""), "all": rng.choice(["dat", "chua-dat", "khong-ap-dung"]),
                "note": "ghi chú", "effective": "01/10/2026", "expires": "", "kind": "", "ex-cong-thong-tin": ""}
        data = mutate_fields(rng, base, ["ex-mot-cua", "ex-" + hostile_text(rng)[:50], "files", "kind", "csrf"])
        files = []
        for _ in range(rng.choice([0, 0, 1, 1, 2, 11])):
            seed = rng.choice(list(self.seeds))
            name = rng.choice(["bien-ban.pdf", "a.png", "x.txt", "../../a.pdf", "C:\\x\\y.docx", "\u202efdp.exe",
                               "a\x00.pdf", "", ".pdf", "x" * 400 + ".pdf", "a.PDF", "b.xlsx", "c.exe",
                               MARK + ".txt", "nul", "e.json"])
            files.append(("files", (name, damaged(rng, self.seeds[seed]) if rng.random() < 0.4 else self.seeds[seed],
                                    rng.choice(["application/pdf", "text/html", "", "image/png"]))))
        self.send("POST answer", user, "POST", f"/co-quan/{code}/danh-gia/{checklist}/{item}" + self.query(),
                  data=data, files=files or None, cross=cross)

    def c_waiver(self) -> None:
        rng = self.rng
        user, code, cross = self._writer()
        checklist, item, _ = self._item(code if code in (OWN, OTHER) else OWN)
        base = {"csrf": self.csrf.get(user, ""), "until": "31/12/2026", "system": "", "reason": "lý do",
                "approved_by": "Giám đốc"}
        data = mutate_fields(rng, base, ["system", "until"])
        self.send("POST waiver", user, "POST", f"/co-quan/{code}/danh-gia/{checklist}/{item}/mien-tru" + self.query(),
                  data=data, cross=cross)

    def _workbook(self, label: str, url_tail: str, seed: str) -> None:
        rng = self.rng
        user, code, cross = self._writer()
        data = mutate_fields(rng, {"csrf": self.csrf.get(user, "")}, [])
        body = self.seeds[rng.choice([seed, seed, "inventory.xlsx", "answers.xlsx", "template.xlsx", "pdf"])]
        roll = rng.random()
        if roll < 0.6:
            body = rezip(rng, body)
        elif roll < 0.85:
            body = damaged(rng, body)
        name = rng.choice(["ds.xlsx", "ds.XLSX", "ds.xls", "../ds.xlsx", "ds", "\u202exslx.exe", "a\x00.xlsx"])
        files = None if rng.random() < 0.05 else [("workbook", (name, body, XLSX))]
        self.send(label, user, "POST", f"/co-quan/{code}/{url_tail}" + self.query(), data=data, files=files,
                  cross=cross)

    def c_inventory_up(self) -> None:
        self._workbook("POST inventory upload", "danh-muc/bang-tinh", "inventory.xlsx")

    def c_answers_up(self) -> None:
        self._workbook("POST answers upload", "danh-gia/bang-tinh", "answers.xlsx")

    def c_system(self) -> None:
        from secaudit.services.inventory import field_specs

        rng = self.rng
        user, code, cross = self._writer()
        specs = field_specs("system")
        base = {"csrf": self.csrf.get(user, "")}
        for spec in specs:
            base[spec.key] = ""
        base.update({k: v for k, v in {"code": "he-thong-fz", "name": "Hệ thống thử"}.items() if k in base})
        base["hosts"] = rng.choice(["127.0.0.1 | 443/tcp https | có | web", "", "10.0.0.5", "::1 | 22/tcp | không |",
                                    "0.0.0.0/0", "127.0.0.1 | 99999/tcp |", "a | b | c | d | e | f",
                                    "127.0.0.1 | 443/tcp | có | " + MARK, "\x00", "127.0.0.1/8", "\n" * 5000])
        data = mutate_fields(rng, base, [s.key for s in specs] + ["hosts"])
        target = rng.choice(["danh-muc/them-he-thong", "danh-muc/he-thong/cong-thong-tin",
                             "danh-muc/he-thong/" + hostile_path_part(rng, "mot-cua")])
        self.send("POST system", user, "POST", f"/co-quan/{code}/{target}" + self.query(), data=data, cross=cross)

    def c_narrative(self) -> None:
        rng = self.rng
        user, code, cross = self._writer()
        base = {"csrf": self.csrf.get(user, ""), "ky": rng.choice(["2026", "", "01/01/2026-30/06/2026"]),
                "section": rng.choice(["danh-gia", "ton-tai", "x", "", "kien-nghi", "ke-hoach"]), "text": "Nội dung."}
        data = mutate_fields(rng, base, ["section", "ky"])
        self.send("POST narrative", user, "POST", f"/co-quan/{code}/bao-cao-viet" + self.query(), data=data,
                  cross=cross)

    def c_bundle_export(self) -> None:
        rng = self.rng
        if rng.random() < 0.7:  # an export is slow and writes the log; mostly refused variants
            user, code, cross = rng.choice(["canbo-khcn", "xem-khcn"]), rng.choice([OTHER, "khong-co"]), True
        else:
            user, code, cross = self._writer()
        data = mutate_fields(rng, {"csrf": self.csrf.get(user, "")}, [])
        self.send("POST bundle export", user, "POST", f"/co-quan/{code}/goi-du-lieu" + self.query(), data=data,
                  cross=cross)

    def c_bundle_up(self) -> None:
        rng = self.rng
        user = rng.choice(["thanhtra", "thanhtra", "quantri", "canbo-khcn", "xem-khcn"])
        body = self.seeds["bundle.zip"]
        roll = rng.random()
        if roll < 0.6:
            body = rezip(rng, body)
        elif roll < 0.85:
            body = damaged(rng, body)
        name = rng.choice(["goi.zip", "../../goi.zip", "\u202epiz.exe", "goi.ZIP", "goi", "a\x00.zip",
                           MARK + ".zip", "x" * 500 + ".zip", "C:\\goi.zip"])
        data = mutate_fields(rng, {"csrf": self.csrf.get(user, "")}, [])
        files = None if rng.random() < 0.05 else [("bundle", (name, body, "application/zip"))]
        self.send("POST bundle upload", user, "POST", "/kiem-tra/goi" + self.query(), data=data, files=files,
                  cross=user == "canbo-khcn")

    def c_issuer(self) -> None:
        rng = self.rng
        user = rng.choice(["thanhtra", "quantri", "canbo-khcn", "xem-khcn"])
        base = {"csrf": self.csrf.get(user, ""), "name": "Phòng An ninh mạng", "parent": "Công an tỉnh",
                "symbol": "ANM", "place": "Vinh", "signer_title": "Trưởng phòng", "signer_name": "Nguyễn Văn A",
                "signer_authority": "", "signer_on_behalf_of": "", "recipients": "Như trên\nLưu"}
        data = mutate_fields(rng, base, list(base))
        self.send("POST issuer", user, "POST", "/kiem-tra/don-vi-ban-hanh" + self.query(), data=data,
                  cross=user == "canbo-khcn")

    def c_verdict(self) -> None:
        rng = self.rng
        user = rng.choice(["thanhtra", "quantri", "canbo-khcn"])
        code = rng.choice([OWN, OTHER, "vp-ubnd-tinh", "khong-co"])
        checklist, item, _ = self._item(OWN)
        base = {"csrf": self.csrf.get(user, ""), "item": f"{checklist}:{item}", "system": "",
                "status": rng.choice(["dat", "chua-dat", "khong-ap-dung", "x"]), "note": "nhận xét"}
        data = mutate_fields(rng, base, ["system", "item"])
        self.send("POST verdict", user, "POST", f"/kiem-tra/co-quan/{code}/ket-luan" + self.query(), data=data,
                  cross=user == "canbo-khcn")

    def c_accept(self) -> None:
        rng = self.rng
        user = rng.choice(["thanhtra", "quantri", "canbo-khcn"])
        code = rng.choice([OWN, OTHER, "khong-co"])
        base = {"csrf": self.csrf.get(user, ""), "submission": rng.choice(["1", "2", "0", "999", "-1", "1e3",
                                                                            "99999999999999999999999", "١"])}
        data = mutate_fields(rng, base, ["submission"])
        self.send("POST accept", user, "POST", f"/kiem-tra/co-quan/{code}/chap-nhan" + self.query(), data=data,
                  cross=user == "canbo-khcn")

    def c_scan(self) -> None:
        rng = self.rng
        user = rng.choice(["thanhtra", "canbo-khcn", "xem-khcn"])
        code = rng.choice([OWN, OTHER, "khong-co"])
        profile = rng.choice(["../../etc/passwd", "x", MARK, "\x00", "a" * 5000, "-sV", "--script=x"])
        data = [("csrf", self.csrf.get(user, "")), ("profile", profile)]
        if rng.random() < 0.3:
            data = [("csrf", "wrong"), ("profile", profile)]
        self.send("POST scan", user, "POST", f"/quet/{code}" + self.query(), data=data, cross=user == "canbo-khcn")

    def c_signin(self) -> None:
        from starlette.testclient import TestClient

        rng = self.rng
        c = TestClient(self.app, base_url="http://127.0.0.1:8080", raise_server_exceptions=True)
        page = c.get("/dang-nhap" + self.query())
        token = csrf_of(page.text) or ""
        base = {"csrf": token, "username": rng.choice(["canbo-phuong", "khong-co", "thanhtra"]),
                "password": "sai-mat-khau"}
        data = mutate_fields(rng, base, ["username", "password"])
        self.clients["_signin"] = c
        self.send("POST signin", "_signin", "POST", "/dang-nhap" + self.query(), data=data)
        c.close()

    def c_csrf(self) -> None:
        rng = self.rng
        user = rng.choice(["canbo-khcn", "thanhtra", "quantri"])
        url = rng.choice([f"/co-quan/{OWN}/bao-cao-viet", f"/co-quan/{OWN}/danh-muc/them-he-thong",
                          "/kiem-tra/don-vi-ban-hanh", "/dang-xuat", f"/co-quan/{OWN}/goi-du-lieu",
                          f"/co-quan/{OWN}/danh-muc/bang-tinh", "/kiem-tra/goi"])
        token = rng.choice(["", "x", self.csrf[user][:-1], self.csrf[user] + "a", "\x00", "é" * 10])
        headers = rng.choice([None, {"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"}, None])
        if headers is not None:
            token = self.csrf[user] if url != "/dang-xuat" else token
        data = [("csrf", token), ("text", MARK), ("section", "tong-quan"), ("name", MARK)]
        self.send("POST bad csrf", user, "POST", url + self.query(), data=data, headers=headers, cross=True)

    def c_method(self) -> None:
        rng = self.rng
        user = rng.choice(["canbo-khcn", "anon"])
        method = rng.choice(["PUT", "DELETE", "PATCH", "POST", "OPTIONS", "GET"])
        url = rng.choice(["/", "/co-quan/so-khcn", "/kiem-tra/goi", "/dang-xuat", "/tai-nguyen/style.css",
                          "/co-quan/so-khcn/bao-cao.pdf", "/nhat-ky", "/quet/so-khcn"])
        if method == "GET" and url == "/dang-xuat":
            url = "/kiem-tra/goi"
        self.send(f"{method} method", user, method, url + self.query())


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def encode(data: Any, files: Any) -> tuple[bytes | None, dict[str, str]]:
    """The request body as a browser would send it (fields repeated as given), with its length."""
    pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
    if not files:
        if data is None:
            return None, {}
        body = urlencode(pairs).encode()
        return body, {"content-type": "application/x-www-form-urlencoded", "content-length": str(len(body))}
    boundary = "fzboundary" + hashlib.sha256(repr(pairs).encode()).hexdigest()[:16]
    out = io.BytesIO()
    for key, value in pairs:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{quote(key)}"\r\n\r\n'.encode())
        out.write(value.encode("utf-8", "surrogatepass") + b"\r\n")
    for key, (name, body, ctype) in files:
        shown = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{shown}"\r\n'
                  f"Content-Type: {ctype or 'application/octet-stream'}\r\n\r\n".encode())
        out.write(body + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    raw = out.getvalue()
    return raw, {"content-type": f"multipart/form-data; boundary={boundary}", "content-length": str(len(raw))}


def rng_choice(rng: random.Random, items: list[str]) -> str:
    return items[rng.randrange(len(items))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--only", default="", help="only case kinds whose name contains this (e.g. system)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    os.environ["SECAUDIT_NOW"] = NOW
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="secaudit-fuzz-web-"))
    try:
        root = tmp / "ws"
        build(root)
        campaign = Campaign(root, rng, args.verbose)
        kinds = [k[2:] for k in dir(campaign) if k.startswith("c_") and args.only in k]
        start = time.monotonic()
        for n in range(args.cases):
            if args.only:
                getattr(campaign, "c_" + rng.choice(kinds))()
            else:
                campaign.case()
            if (n + 1) % 250 == 0:
                print(f"... {n + 1} cases, {time.monotonic() - start:.0f} s, {dict(campaign.counts)}", flush=True)
        print(f"\n{args.cases} cases in {time.monotonic() - start:.0f} s (seed {args.seed}): {dict(campaign.counts)}")
        print(f"{len(campaign.bugs)} distinct bugs")
        for key, repros in sorted(campaign.bugs.items()):
            print(f"- {key} ×{len(repros)}\n    {repros[0][:400]}")
        return 1 if campaign.bugs else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
