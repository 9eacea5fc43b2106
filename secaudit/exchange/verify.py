"""Verifying a bundle without writing anything: every hash, the documents and their cross-references,
the log extract, the creation time against the receiver's clock, and the signature — intact,
chained to the CA given with ``--trust``, and made with a certificate the receiver bound to the
agency the bundle speaks for (``trust``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secaudit import clock
from secaudit.errors import InputError, SecauditError
from secaudit.exchange import signing
from secaudit.exchange import tables as table_rules
from secaudit.exchange.archive import Archive, BundleInfo, MemberInfo
from secaudit.exchange.manifest import (
    AGENCY_TABLES,
    BLOB_ROLES,
    CLOCK_SKEW,
    DEFAULT_LIMITS,
    MANIFEST,
    ROLE_PATHS,
    SIGNATURE,
    Limits,
    agency_from_yaml,
    strict_json,
)
from secaudit.exchange.trust import Bindings
from secaudit.inventory.models import Agency
from secaudit.store.auditlog import entry_hash


# -- signature and creation time --------------------------------------------------------------------
def check_signature(archive: Archive, trust: list[Path] | None, bindings: Bindings | None = None) -> None:
    """Check the manifest's signature: intact, chained to ``trust`` if given, and — with the
    receiver's ``bindings`` — made with a certificate bound to the agency the bundle speaks for."""
    info = archive.info
    zi = archive.entries.get(SIGNATURE)
    info.signed = zi is not None
    if zi is None:
        if trust:
            info.problem(None, "gói không được ký nhưng đã yêu cầu kiểm tra (--trust) / bundle is not signed")
        return
    if zi.file_size > archive.limits.max_signature_bytes:
        info.problem(SIGNATURE, "chữ ký quá lớn / signature too large")
        return
    if not signing.available():
        if trust:
            signing.require_available()
        info.signature_note = (f"có chữ ký nhưng chưa kiểm tra (cần {signing.INSTALL_HINT}) / "
                               "signed, not checked")
        return
    try:
        sig = archive.read_small(SIGNATURE)
    except InputError as exc:
        info.problem(SIGNATURE, exc.diagnostics())
        return
    check = signing.verify_data(info.manifest_bytes, sig, trust)
    info.signature = check
    if not check.ok:
        for problem in check.problems or ["chữ ký không hợp lệ / invalid signature"]:
            info.problem(SIGNATURE, problem)
    if bindings is None or info.manifest is None:
        return
    code = info.manifest.agency.code
    refused = bindings.judge(check, code)
    if refused:
        info.problem(SIGNATURE, refused)
    elif check.binding == "unknown" and trust:
        info.problem(SIGNATURE, f"đã yêu cầu kiểm tra chữ ký (--trust) nhưng chứng thư chưa được gắn với '{code}';"
                                f" gắn một lần bằng 'secaudit trust add {code} CERT' / the signing certificate is"
                                " not bound to this agency")


def check_created(archive: Archive) -> None:
    """A bundle cannot have been made after the moment it is read (``created`` bounds its rank)."""
    manifest = archive.info.manifest
    if manifest is None:
        return
    created = _aware(manifest.created)
    now = clock.now()
    if created > now + CLOCK_SKEW:
        archive.info.problem(MANIFEST, f"thời điểm lập gói {created.isoformat()} muộn hơn thời điểm nhận"
                                    f" {now.replace(microsecond=0).isoformat()}: gói không thể mới hơn lúc được"
                                    " nhập (kiểm tra nguồn gốc gói, hoặc đồng hồ máy của cơ quan) / created"
                                    " after the moment of import")


# -- contents ---------------------------------------------------------------------------------------
@dataclass
class Contents:
    """A verified bundle's documents, parsed; blobs are referred to by hash."""

    agency: Agency
    inventory_yaml: str
    tables: dict[str, list[dict[str, Any]]]
    log: list[dict[str, Any]]
    blobs: dict[str, MemberInfo]
    report_sha256: str | None


def _rows(data: bytes, where: str) -> list[dict[str, Any]]:
    doc = strict_json(data)
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise InputError("phải là danh sách các dòng (object) / must be a list of row objects", where=where)
    for row in doc:
        for key, value in row.items():
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,63}", key):
                raise InputError(f"tên cột không hợp lệ '{key[:40]}' / invalid column name", where=where)
            if value is not None and not isinstance(value, str | int | float | bool):
                raise InputError(f"cột '{key}' phải là giá trị đơn / column '{key}' must be a scalar", where=where)
    return doc


def parse_contents(archive: Archive, documents: dict[str, bytes]) -> Contents | None:
    """Parse and cross-check the documents; adds problems and returns None when they do not hold."""
    info = archive.info
    manifest = info.manifest
    assert manifest is not None
    code = manifest.agency.code
    agency_model: Agency | None = None
    inventory_yaml = ""
    tables: dict[str, list[dict[str, Any]]] = {}
    log: list[dict[str, Any]] = []
    for member in info.members:
        if member.path not in documents:
            continue
        where = f"{archive.path}:{member.path}"
        try:
            if member.role == "inventory":
                inventory_yaml = documents[member.path].decode("utf-8")
                agency_model = agency_from_yaml(inventory_yaml, where)
                if agency_model.code != code:
                    info.problem(member.path, f"kiểm kê của cơ quan '{agency_model.code}', bản kê ghi '{code}' / "
                                              "inventory belongs to another agency")
            elif member.role == "table":
                table = ROLE_PATHS["table"].match(member.path)["table"]  # type: ignore[index]
                tables[table] = _rows(documents[member.path], where)
            elif member.role == "log":
                log = _rows(documents[member.path], where)
        except UnicodeDecodeError:
            info.problem(member.path, "không phải UTF-8 / not UTF-8")
        except SecauditError as exc:
            info.problem(member.path, exc.diagnostics())
    for where_rows, message in table_rules.problems(tables):
        info.problem(where_rows, message)
    blobs = {m.sha256: m for m in info.members if m.role in BLOB_ROLES}
    for table in AGENCY_TABLES:
        for i, row in enumerate(tables.get(table, [])):
            if row.get("agency", code) != code:
                info.problem(f"data/{table}.json", f"dòng {i + 1} thuộc cơ quan khác ('{row.get('agency')}') / "
                                                   "row of another agency")
    for i, row in enumerate(tables.get("evidence_refs", [])):
        if row.get("sha256") not in blobs:
            info.problem("data/evidence_refs.json", f"dòng {i + 1}: thiếu tệp minh chứng {row.get('sha256')} trong gói"
                                                    " / evidence file missing from bundle")
    for i, row in enumerate(tables.get("scans", [])):
        if row.get("xml_sha256") and row["xml_sha256"] not in blobs:
            info.problem("data/scans.json", f"dòng {i + 1}: thiếu tệp XML của lần quét / scan XML missing")
    for row in tables.get("evidence", []):
        blob = blobs.get(row.get("sha256", ""))
        if blob is not None and row.get("size") not in (None, blob.size):
            info.problem("data/evidence.json", f"kích thước của {row['sha256']} khác tệp thực / size mismatch")
    info.log_entries_checked = _check_log(archive, log, code)
    report = next((m.sha256 for m in info.members if m.role == "report"), None)
    if agency_model is None or info.problems:
        return None
    return Contents(agency_model, inventory_yaml, tables, log, blobs, report)


def _check_log(archive: Archive, log: list[dict[str, Any]], code: str) -> int:
    """Each extracted log entry must still hash to itself (the extract is not a whole chain)."""
    checked = 0
    for row in log:
        try:
            digest = entry_hash(row["prev_hash"], row["ts"], row.get("actor") or "", row["action"],
                                 row.get("agency") or "", row.get("subject") or "", row.get("detail") or "")
        except (KeyError, TypeError):
            archive.info.problem("log/entries.json", f"mục nhật ký thiếu trường / incomplete entry: {row.get('seq')}")
            continue
        if row.get("agency") != code:
            archive.info.problem("log/entries.json", f"mục #{row.get('seq')} của cơ quan khác / another agency's entry")
        elif digest != row.get("hash"):
            archive.info.problem("log/entries.json", f"mục #{row.get('seq')} đã bị sửa (băm không khớp) / "
                                                     "log entry altered")
        else:
            checked += 1
    return checked



def _aware(moment: dt.datetime) -> dt.datetime:
    """``created`` as an aware UTC instant (a manifest without an offset is read as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@contextlib.contextmanager
def opened(path: Path, limits: Limits, trust: list[Path] | None,
           bindings: Bindings | None = None) -> Iterator[Archive]:
    """The bundle opened, its structure, manifest, creation time and signature checked (see ``problems``)."""
    archive = Archive(path, limits)
    try:
        if archive.open_structure() and archive.read_manifest():
            check_created(archive)
            check_signature(archive, trust, bindings)
        yield archive
    finally:
        archive.close()


def stream_all(archive: Archive, sink_for: Callable[[MemberInfo], Callable[[bytes], Any] | None]) \
        -> dict[str, bytes]:
    """Hash every member, each streamed to its sink; returns the small documents' bytes by path."""
    documents: dict[str, bytes] = {}
    # In file order, so a large bundle is read front to back once.
    order = sorted(archive.info.members, key=lambda m: archive.entries[m.path].header_offset)
    for member in order:
        data = archive.stream(member, sink_for(member))
        if data is not None:
            documents[member.path] = data
    return documents


def verify_bundle(path: Path, *, trust: list[Path] | None = None, limits: Limits = DEFAULT_LIMITS,
                  bindings: Bindings | None = None) -> BundleInfo:
    """Check a bundle completely without writing anything: structure, manifest, every hash,
    the log extract, the inventory, cross-references, the creation time against the clock, and
    the signature (against ``trust``, and against the receiver's agency ↔ certificate ``bindings``
    when given: ``trust.load_bindings``)."""
    with opened(Path(path), limits, trust, bindings) as archive:
        if archive.info.manifest is not None and not archive.info.problems:
            documents = stream_all(archive, lambda m: None)
            if not archive.info.problems:
                parse_contents(archive, documents)
        return archive.info

