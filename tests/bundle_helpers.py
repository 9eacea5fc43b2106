"""Helpers shared by the bundle and signing tests: a rich source workspace and ZIP surgery.

The source workspace is the example province with the example answers and, for so-y-te (the
smallest report to render), an answer carrying evidence files, a waiver and a scan (a real nmap
XML recorded from loopback services, replayed through the real scan service with that agency's
declared address), so its bundle carries every kind of member. The ZIP helpers rewrite bundles
byte by byte to build the hostile cases.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secaudit.inventory import records as inventory
from secaudit.requirements.answers import add_waiver, import_answers, record_answer
from secaudit.requirements.content import Library
from secaudit.scanning import NmapRun
from secaudit.scanning import batch as scan
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES, ROOT

LIB = Library()
AS_OF = dt.date(2026, 5, 1)
KH04 = "kh04-bcdtw"
SCAN_XML = ROOT / "tests" / "scanning" / "data" / "loopback-services.xml"


def replay(xml: bytes) -> Any:
    """A scan runner that hands back recorded nmap output instead of starting nmap."""

    def run(argv: list[str]) -> NmapRun:
        started = dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.UTC)
        return NmapRun(argv=argv, xml=xml, stderr="", returncode=0, started=started,
                       finished=started + dt.timedelta(minutes=2))

    return run


def recorded_scan(mapping: dict[str, str]) -> bytes:
    """The recorded loopback scan with its addresses replaced (e.g. 127.0.7.1 → a declared host)."""
    xml = SCAN_XML.read_bytes()
    for old, new in mapping.items():
        xml = xml.replace(f'addr="{old}"'.encode(), f'addr="{new}"'.encode())
    return xml


def populate(ws: Workspace, tmp: Path) -> None:
    """Example inventory + example answers; for so-y-te also evidence files, a waiver and a scan."""
    agencies = inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory"))
    inventory.import_agencies(ws, agencies, actor="so-khcn-it", source="examples")
    for answers in sorted((EXAMPLES / "answers").glob("*.yaml")):
        import_answers(ws, LIB, answers, agency=answers.stem, actor="so-khcn-it")
    contract = tmp / "hop-dong-giam-sat.pdf"
    contract.write_bytes(b"%PDF-1.4\n% hop dong dich vu giam sat an ninh mang\n" * 50)
    minutes = tmp / "bien-ban-dien-tap.txt"
    minutes.write_text("Biên bản diễn tập ứng cứu sự cố, Sở Y tế, 15/4/2026\n" * 20, encoding="utf-8")
    record_answer(ws, agency="so-y-te", system=None, checklist=KH04, item="t5-giam-sat", status="dat",
                  note="Hợp đồng giám sát với nhà cung cấp", files=[contract, minutes], actor="so-y-te-it",
                  effective=dt.date(2026, 4, 1), expires=dt.date(2027, 3, 31))
    add_waiver(ws, LIB, agency="so-y-te", system=None, ref=f"{KH04}:t4-lop-3",
               reason="Chưa có đơn vị đánh giá độc lập", approved_by="Giám đốc Sở Y tế",
               until=dt.date(2026, 12, 31), actor="so-y-te-it")
    scan.scan_agency(ws, "so-y-te", actor="so-y-te-it", runner=replay(recorded_scan({"127.0.7.1": "127.0.11.1"})))


def snapshot(ws: Workspace) -> tuple[dict[str, int], list[str]]:
    """Row count of every table and every path under evidence/ (hidden ones included)."""
    tables = [r[0] for r in ws.db.execute("select name from sqlite_master where type = 'table'").fetchall()]
    counts = {t: ws.db.execute(f"select count(*) from [{t}]").fetchone()[0] for t in tables}
    files = sorted(str(p.relative_to(ws.root)) for p in ws.evidence_dir.rglob("*")) if ws.evidence_dir.exists() \
        else []
    return counts, files


def workspace_state(root: Path) -> tuple[dict[str, int], list[str]]:
    """:func:`snapshot` of the workspace at ``root``, opened and closed around it."""
    ws = Workspace.open(root)
    try:
        return snapshot(ws)
    finally:
        ws.close()


@dataclass
class Entry:
    """One member to write back into a rebuilt ZIP."""

    name: str
    data: bytes
    mode: int = stat.S_IFREG | 0o644
    compress: int = zipfile.ZIP_DEFLATED


def read_entries(path: Path) -> list[Entry]:
    with zipfile.ZipFile(path) as zf:
        return [Entry(i.filename, zf.read(i), i.external_attr >> 16, i.compress_type) for i in zf.infolist()]


def manifest_of(entries: list[Entry]) -> dict[str, Any]:
    return json.loads(next(e.data for e in entries if e.name == "manifest.json"))


def set_manifest(entries: list[Entry], manifest: dict[str, Any]) -> list[Entry]:
    data = (json.dumps(manifest, ensure_ascii=False, indent=1) + "\n").encode()
    return [Entry(e.name, data, e.mode, e.compress) if e.name == "manifest.json" else e for e in entries]


def relist(entries: list[Entry], roles: dict[str, str] | None = None) -> list[Entry]:
    """Recompute the manifest's member list from the entries (so only the intended defect remains)."""
    manifest = manifest_of(entries)
    known = {m["path"]: m["role"] for m in manifest["members"]}
    known.update(roles or {})
    manifest["members"] = [
        {"path": e.name, "role": known.get(e.name, "evidence"), "size": len(e.data),
         "sha256": hashlib.sha256(e.data).hexdigest()}
        for e in entries if e.name not in ("manifest.json", "manifest.p7s")
    ]
    return set_manifest(entries, manifest)


def write_zip(path: Path, entries: list[Entry]) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names: that is the point
        with zipfile.ZipFile(path, "w") as zf:
            for e in entries:
                info = zipfile.ZipInfo(e.name, date_time=(2026, 5, 1, 0, 0, 0))
                info.compress_type = e.compress
                info.create_system = 3
                info.external_attr = e.mode << 16
                zf.writestr(info, e.data)
    return path


def member_data_span(path: Path, name: str) -> tuple[int, int]:
    """(offset, length) of a member's stored bytes inside the archive."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
    name_len, extra_len = struct.unpack("<2H", head[26:30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def central_entries(data: bytes) -> list[int]:
    """Offsets of the central-directory headers in a ZIP's bytes."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<LL", data[eocd + 12:eocd + 20])
    out, pos = [], cd_offset
    while pos < cd_offset + cd_size:
        out.append(pos)
        name_len, extra_len, comment_len = struct.unpack("<3H", data[pos + 28:pos + 34])
        pos += 46 + name_len + extra_len + comment_len
    return out


def db_rows(ws: Workspace, table: str) -> list[tuple[Any, ...]]:
    try:
        return ws.db.execute(f"select * from [{table}] order by 1").fetchall()
    except sqlite3.OperationalError:
        return []


# -- test certificates ----------------------------------------------------------------------------
#: The instant the signing tests pin the clock to (``SECAUDIT_NOW``); certificates are dated around it,
#: never around the day the tests run.
PINNED_NOW = "2026-11-22T09:00:00+07:00"
CERT_START = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
CERT_DAYS = 365 * 79  # to 2099: valid whatever day an outside tool (pdfsig) checks it
CERT_PASSWORD = "mật-khẩu-thử"


def cert_name(cn: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND tỉnh Nghệ An"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def make_cert(subject: Any, issuer: Any, public: Any, key: Any, *, ca: bool, start: dt.datetime = CERT_START,
              days: int = CERT_DAYS) -> Any:
    """An X.509 certificate: a CA (``ca=True``) or a signing leaf issued by ``key``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    usage = x509.KeyUsage(digital_signature=True, content_commitment=not ca, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                          encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .sign(key, hashes.SHA256()))


@dataclass
class Identity:
    """One agency's signing identity: the PKCS#12 it signs with and the public certificate it hands over."""

    p12: Path
    cert: Path
    common_name: str


def make_ca(root: Path, cn: str = "CA thử nghiệm Công an tỉnh") -> tuple[Path, Any, Any]:
    """A self-signed CA written to ``root/<slug>.pem``; returns (pem path, certificate, key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = make_cert(cert_name(cn), cert_name(cn), key.public_key(), key, ca=True)
    path = root / f"ca-{hashlib.sha256(cn.encode()).hexdigest()[:8]}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert, key


def make_identity(root: Path, name: str, cn: str, ca_cert: Any, ca_key: Any) -> Identity:
    """A signing certificate for ``cn`` issued by the CA, as ``name.p12`` (with the chain) and ``name.pem``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = make_cert(cert_name(cn), ca_cert.subject, key.public_key(), ca_key, ca=False)
    enc = serialization.BestAvailableEncryption(CERT_PASSWORD.encode())
    (root / f"{name}.p12").write_bytes(pkcs12.serialize_key_and_certificates(name.encode(), key, leaf, [ca_cert], enc))
    (root / f"{name}.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return Identity(root / f"{name}.p12", root / f"{name}.pem", cn)
