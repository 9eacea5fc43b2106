"""Submission bundles: one ZIP file that carries an agency's evidence to Công an tỉnh, checkably.

An agency prepares its evidence on its own machine — often on a network kept apart from the
internet — and sends one file. The receiver must be able to tell that it arrived complete and
unaltered, see what it contains without trusting it, and import it without risk to its own data.

Format (``FORMAT_VERSION`` 1), a ZIP archive:

* ``manifest.json`` — format and version, agency, as-of date, creation time, tool and schema
  version, the head of the sender's audit log, and for every other member its path, role, size
  and SHA-256. The SHA-256 of these exact bytes identifies the submission.
* ``manifest.p7s`` — optional detached CMS signature over ``manifest.json`` (see ``signing``).
* ``inventory/<agency>.yaml`` — the agency's inventory, as ``inventory export`` writes it.
* ``data/<table>.json`` — answers, waivers, evidence references, evidence metadata, scans and
  their hosts, ports and findings: rows as JSON objects keyed by column name, so a receiver with
  more or fewer columns reads what it knows.
* ``log/entries.json`` — the agency's entries of the hash-chained audit log.
* ``evidence/<sha256>[.ext]``, ``scans/scan-<id>.xml`` — evidence files and raw nmap XML.
* ``report/<agency>.pdf`` — the rendered report (optional), PAdES-signed when the bundle is.

Why ZIP rather than tar: it opens with a double click on the Windows machines of most offices, its
central directory lets every name, type, size and compression ratio be checked *before* a single
byte is decompressed, and members are compressed one by one (already-compressed evidence is
stored as is). Members are streamed in 1 MiB chunks both ways, so memory does not grow with the
bundle. Reading is strict: only the names, types and members this format writes are accepted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticError

from . import auditlog, clock, inventory, yamlio
from .errors import InputError, SecauditError, ValidationError
from .models import CODE_PATTERN, Agency, Strict
from .store import Workspace

FORMAT = "secaudit-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.p7s"
CHUNK = 1 << 20
SAMPLE = 64 << 10
#: How far a bundle's ``created`` may lie after the receiver's clock (two machines' clocks differ a
#: little); beyond that the bundle claims to come from the future and is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)
STAGING_PREFIX = ".import-"

#: Tables exported for an agency, with the query selecting its rows (``:agency`` bound).
TABLES: dict[str, str] = {
    "answers": "select * from answers where agency = :agency order by id",
    "waivers": "select * from waivers where agency = :agency order by id",
    "evidence_refs": "select * from evidence_refs where agency = :agency order by id",
    "scans": "select * from scans where agency = :agency order by id",
    "scan_hosts": "select * from scan_hosts where scan_id in (select id from scans where agency = :agency)"
                  " order by id",
    "scan_ports": "select * from scan_ports where scan_host_id in (select h.id from scan_hosts h join scans s"
                  " on s.id = h.scan_id where s.agency = :agency) order by id",
    "findings": "select * from findings where scan_id in (select id from scans where agency = :agency) order by id",
    "evidence": "select * from evidence where sha256 in (select sha256 from evidence_refs where agency = :agency"
                " union select xml_sha256 from scans where agency = :agency) order by sha256",
}
#: Rows of these tables name their agency; a bundle may carry rows of its own agency only.
AGENCY_TABLES = ("answers", "waivers", "evidence_refs", "scans", "findings")

Role = Literal["inventory", "table", "log", "evidence", "scan-xml", "report"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,3}$")
_ROLE_PATHS: dict[str, re.Pattern[str]] = {
    "inventory": re.compile(r"^inventory/(?P<code>[a-z0-9][a-z0-9_-]{0,63})\.yaml$"),
    "table": re.compile(r"^data/(?P<table>[a-z][a-z0-9_]{0,63})\.json$"),
    "log": re.compile(r"^log/entries\.json$"),
    "evidence": re.compile(r"^evidence/(?P<sha>[0-9a-f]{64})(\.[a-z0-9]{1,8})?$"),
    "scan-xml": re.compile(r"^scans/scan-(?P<id>[0-9]{1,12})\.xml$"),
    "report": re.compile(r"^report/(?P<code>[a-z0-9][a-z0-9_-]{0,63})\.pdf$"),
}
_BLOB_ROLES = ("evidence", "scan-xml", "report")
_STORED_EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "gif", "webp", "zip", "gz", "xz", "bz2", "7z", "rar", "docx",
                      "xlsx", "pptx", "odt", "ods", "mp4", "mp3"}


class BundleError(ValidationError):
    """A bundle that cannot be trusted or imported; lists every problem found (``file:member``)."""

    def __init__(self, problems: list[tuple[str, str]], *, en: str | None = None) -> None:
        super().__init__(problems, en=en or "bundle refused")


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile archive from exhausting disk, memory or time.

    Declared sizes are checked before anything is read, and reading never goes past a declared
    size (zipfile stops there and the CRC and SHA-256 then fail), so these bound the real work.
    """

    max_members: int = 50_000
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 64 << 30
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 << 20
    max_document_bytes: int = 64 << 20
    max_manifest_bytes: int = 16 << 20
    max_signature_bytes: int = 1 << 20


# -- manifest ---------------------------------------------------------------------------------------
class ManifestAgency(Strict):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(max_length=500)


class ManifestTool(Strict):
    name: Literal["secaudit"]
    version: str = Field(max_length=64)


class ManifestLog(Strict):
    entries: int = Field(ge=0)
    agency_entries: int = Field(ge=0)
    head: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Member(Strict):
    path: str = Field(max_length=300)
    role: Role
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(Strict):
    """What ``manifest.json`` holds; unknown keys are refused (a new key means a new format version)."""

    format: Literal["secaudit-bundle"]
    format_version: int
    agency: ManifestAgency
    as_of: dt.date
    created: dt.datetime
    tool: ManifestTool
    schema_version: int = Field(ge=1)
    profile: str = Field(max_length=100)
    exported_by: str = Field(max_length=200)
    log: ManifestLog
    members: list[Member]


# -- export -----------------------------------------------------------------------------------------
@dataclass
class ExportResult:
    """What ``export_bundle`` wrote."""

    path: Path
    agency: str
    manifest_sha256: str
    members: int
    bytes: int
    signed: bool
    report: bool


def table_rows(ws: Workspace, agency: str) -> dict[str, list[dict[str, Any]]]:
    """The agency's rows of every exported table, keyed by column name (tables absent are skipped)."""
    present = set(ws.db.table_names())
    out: dict[str, list[dict[str, Any]]] = {}
    for table, sql in TABLES.items():
        if table in present:
            out[table] = list(ws.db.query(sql, {"agency": agency}))
    return out


def _document(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")


def _zipinfo(name: str, when: tuple[int, int, int, int, int, int], compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _worth_compressing(sample: bytes, whole: Callable[[], int] | None, size: int, limits: Limits) -> bool:
    """Deflate only what shrinks, and never past the ratio a receiver would refuse as a bomb."""
    if len(sample) < 4096:
        return True
    ratio = len(sample) / max(1, len(zlib.compress(sample, 1)))
    if ratio < 1.1:
        return False
    if ratio <= 20 or size <= limits.ratio_min_bytes:
        return True
    compressed = whole() if whole else len(zlib.compress(sample, 6))
    return size / max(1, compressed) < limits.max_ratio / 2


def _deflated_size(path: Path) -> int:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    total = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            total += len(comp.compress(chunk))
    return total + len(comp.flush())


class _Writer:
    """Streams members into the ZIP and records each one's role, size and SHA-256."""

    def __init__(self, zf: zipfile.ZipFile, when: tuple[int, int, int, int, int, int], limits: Limits) -> None:
        self.zf = zf
        self.when = when
        self.limits = limits
        self.members: list[Member] = []

    def add_bytes(self, path: str, role: Role, data: bytes) -> None:
        compress = _worth_compressing(data[:SAMPLE], lambda: len(zlib.compress(data, 6)), len(data), self.limits)
        with self.zf.open(_zipinfo(path, self.when, compress), "w", force_zip64=len(data) > (1 << 30)) as out:
            out.write(data)
        self.members.append(Member(path=path, role=role, size=len(data), sha256=hashlib.sha256(data).hexdigest()))

    def add_file(self, path: str, role: Role, source: Path, expected_sha: str) -> None:
        size = source.stat().st_size
        with source.open("rb") as fh:
            sample = fh.read(SAMPLE)
        ext = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
        compress = ext not in _STORED_EXTENSIONS and _worth_compressing(
            sample, lambda: _deflated_size(source), size, self.limits)
        hasher = hashlib.sha256()
        with source.open("rb") as fh, \
                self.zf.open(_zipinfo(path, self.when, compress), "w", force_zip64=size > (1 << 30)) as out:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                hasher.update(chunk)
                out.write(chunk)
        digest = hasher.hexdigest()
        if digest != expected_sha:
            raise SecauditError(
                f"Tệp minh chứng {expected_sha} trong kho đã bị thay đổi (băm thực tế {digest}); "
                "chạy 'secaudit evidence verify'",
                en="an evidence file in the store no longer matches its hash; not exporting it",
                where=str(source),
            )
        self.members.append(Member(path=path, role=role, size=size, sha256=digest))


def _extension(name: str | None) -> str:
    if not name or "." not in name:
        return ""
    ext = name.rsplit(".", 1)[-1].lower()
    return f".{ext}" if re.fullmatch(r"[a-z0-9]{1,8}", ext) else ""


def export_bundle(
    ws: Workspace, library: Any, agency: str, out: Path, *, as_of: dt.date, actor: str,
    profile: str = "tu-danh-gia", lang: str = "vi", include_report: bool = True,
    signer: Any = None, limits: Limits = Limits(),
) -> ExportResult:
    """Write ``agency``'s bundle to ``out`` (atomically: a temp file renamed at the end).

    ``signer`` is a ``signing.Signer``: when given, the manifest gets a detached CMS signature and
    the report a PAdES signature. The export itself is recorded in the audit log, with the
    manifest's hash, so the agency can later show exactly what it sent.
    """
    from . import __version__

    ws.require_agency(agency)
    model = inventory.get_agency(ws, agency)
    rows = table_rows(ws, agency)
    log_rows = auditlog.entries(ws, agency)
    head = ws.db.execute("select hash, (select count(*) from log) from log order by seq desc limit 1").fetchone()
    created = clock.now()
    when = (max(created.year, 1980), created.month, created.day, created.hour, created.minute, created.second)

    report_pdf: bytes | None = None
    if include_report:
        from . import report as rep

        report_pdf = rep.render_agency(ws, library, agency, fmt="pdf", as_of=as_of,
                                       profile=library.resolve_profile(profile), lang=lang)
        if signer is not None:
            from . import signing

            report_pdf = signing.sign_pdf(report_pdf, signer, location=model.place)

    blobs: dict[str, tuple[str, Role]] = {}
    for scan in rows.get("scans", []):
        if scan.get("xml_sha256"):
            blobs.setdefault(scan["xml_sha256"], (f"scans/scan-{int(scan['id'])}.xml", "scan-xml"))
    for ref in rows.get("evidence_refs", []):
        sha = ref["sha256"]
        blobs.setdefault(sha, (f"evidence/{sha}{_extension(ref.get('original_name'))}", "evidence"))

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
            writer = _Writer(zf, when, limits)
            writer.add_bytes(f"inventory/{agency}.yaml", "inventory",
                             yamlio.dumps(inventory.agency_document(model)).encode("utf-8"))
            for table, table_data in rows.items():
                writer.add_bytes(f"data/{table}.json", "table", _document(table_data))
            writer.add_bytes("log/entries.json", "log", _document(log_rows))
            for sha, (path, role) in sorted(blobs.items(), key=lambda kv: kv[1][0]):
                source = ws.evidence_path(sha)
                if not source.is_file():
                    raise SecauditError(f"Thiếu tệp minh chứng {sha} trong kho", en=f"evidence file {sha} is missing",
                                        where=str(source))
                writer.add_file(path, role, source, sha)
            if report_pdf is not None:
                writer.add_bytes(f"report/{agency}.pdf", "report", report_pdf)
            manifest = Manifest(
                format="secaudit-bundle", format_version=FORMAT_VERSION,
                agency=ManifestAgency(code=agency, name=model.name), as_of=as_of, created=created,
                tool=ManifestTool(name="secaudit", version=__version__), schema_version=ws.schema_version(),
                profile=profile, exported_by=actor,
                log=ManifestLog(entries=int(head[1]) if head else 0, agency_entries=len(log_rows),
                                head=head[0] if head else None),
                members=sorted(writer.members, key=lambda m: m.path),
            )
            manifest_bytes = (json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=1)
                              + "\n").encode("utf-8")
            zf.writestr(_zipinfo(MANIFEST, when, True), manifest_bytes)
            if signer is not None:
                from . import signing

                zf.writestr(_zipinfo(SIGNATURE, when, False), signing.sign_data(manifest_bytes, signer))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    total = sum(m.size for m in writer.members)
    auditlog.append(ws, actor=actor, action="bundle.export", agency=agency, subject=out.name,
                    detail={"manifest_sha256": digest, "as_of": as_of.isoformat(), "members": len(writer.members),
                            "bytes": total, "signed": signer is not None, "report": report_pdf is not None})
    return ExportResult(out, agency, digest, len(writer.members), total, signer is not None, report_pdf is not None)


# -- reading: structure ---------------------------------------------------------------------------
@dataclass
class _End:
    entries: int
    cd_offset: int
    cd_size: int
    cd_end: int


def _end_record(fh: IO[bytes], size: int) -> _End:
    """Parse the end-of-central-directory record ourselves, before zipfile builds anything.

    This bounds the member count up front and refuses data hidden before the first member or
    after the end record (polyglot files), which zipfile would silently tolerate.
    """
    tail_len = min(size, 22 + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < 22:
        raise InputError("Không phải tệp ZIP", en="not a ZIP archive")
    _sig, disk, cd_disk, _n_disk, entries, cd_size, cd_offset, comment_len = struct.unpack(
        "<4s4H2LH", tail[pos:pos + 22])
    eocd = size - tail_len + pos
    if disk or cd_disk:
        raise InputError("Gói chia nhiều phần không được hỗ trợ", en="multi-part archives are not supported")
    if eocd + 22 + comment_len != size:
        raise InputError("Có dữ liệu lạ sau phần kết của ZIP", en="data after the end of the ZIP archive")
    cd_end = eocd
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        if eocd < 20:
            raise InputError("ZIP64 hỏng", en="damaged ZIP64 records")
        fh.seek(eocd - 20)
        sig, _disk, rec_offset, _disks = struct.unpack("<4sLQL", fh.read(20))
        if sig != b"PK\x06\x07" or rec_offset + 56 > eocd:
            raise InputError("ZIP64 hỏng", en="damaged ZIP64 locator")
        fh.seek(rec_offset)
        rec = fh.read(56)
        (sig, _size, _made, _need, disk, cd_disk, _n_disk, entries, cd_size, cd_offset) = struct.unpack(
            "<4sQ2H2L4Q", rec)
        if sig != b"PK\x06\x06" or disk or cd_disk:
            raise InputError("ZIP64 hỏng", en="damaged ZIP64 end record")
        cd_end = rec_offset
    if cd_end - cd_size != cd_offset:
        raise InputError("Có dữ liệu lạ trước hoặc xen giữa các thành phần ZIP",
                         en="unexpected data before the ZIP members (not a plain ZIP)")
    return _End(entries, cd_offset, cd_size, cd_end)


def _check_name(name: str) -> str | None:
    """Why a member name is unsafe or foreign to the format, or None when it is fine."""
    if "\x00" in name:
        return "tên có ký tự NUL / NUL in name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "đường dẫn tuyệt đối / absolute path"
    parts = re.split(r"[/\\]", name)
    if ".." in parts:
        return "đường dẫn vượt ra ngoài thư mục (../) / path traversal"
    if "\\" in name:
        return "dấu \\ trong tên / backslash in name"
    if name.endswith("/"):
        return "mục thư mục không thuộc định dạng / directory entry"
    if not _NAME.match(name):
        return "tên thành phần không hợp lệ / name not allowed in a bundle"
    return None


def _local_header_span(fh: IO[bytes], info: zipfile.ZipInfo) -> tuple[int, int]:
    """(start, end) of a member's local header + data (+ data descriptor) in the file."""
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise InputError("Tiêu đề thành phần hỏng", en="damaged local header")
    name_len, extra_len = struct.unpack("<2H", head[26:30])
    extra = fh.read(name_len + extra_len)[name_len:]
    end = info.header_offset + 30 + name_len + extra_len + info.compress_size
    if info.flag_bits & 0x08:  # a data descriptor follows: optional signature, CRC, two sizes
        wide = _has_zip64_extra(extra)
        fh.seek(end)
        signed = fh.read(4) == b"PK\x07\x08"
        end += (4 if signed else 0) + 4 + (16 if wide else 8)
    return info.header_offset, end


def _has_zip64_extra(extra: bytes) -> bool:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack("<2H", extra[pos:pos + 4])
        if tag == 0x0001:
            return True
        pos += 4 + size
    return False


@dataclass
class MemberInfo:
    """A member as found in the archive, with the manifest's claim about it."""

    path: str
    role: str
    size: int
    compressed: int
    sha256: str
    ok: bool | None = None  # None until its content was hashed


@dataclass
class BundleInfo:
    """Everything verification learned about a bundle; ``problems`` empty means it checks out."""

    path: Path
    archive_bytes: int = 0
    manifest: Manifest | None = None
    manifest_bytes: bytes = b""
    manifest_sha256: str = ""
    members: list[MemberInfo] = field(default_factory=list)
    signed: bool = False
    signature: Any = None  # signing.SignatureCheck when checked
    signature_note: str = ""
    log_entries_checked: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, member: str | None, message: str) -> None:
        self.problems.append((f"{self.path}:{member}" if member else str(self.path), message))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``bundle verify --format json`` prints)."""
        m = self.manifest
        return {
            "file": str(self.path), "ok": self.ok, "archive_bytes": self.archive_bytes,
            "manifest_sha256": self.manifest_sha256,
            "format_version": m.format_version if m else None,
            "agency": m.agency.model_dump() if m else None, "as_of": m.as_of.isoformat() if m else None,
            "created": m.created.isoformat() if m else None, "tool": m.tool.model_dump() if m else None,
            "schema_version": m.schema_version if m else None, "profile": m.profile if m else None,
            "exported_by": m.exported_by if m else None, "log": m.log.model_dump() if m else None,
            "log_entries_checked": self.log_entries_checked,
            "signed": self.signed, "signature": self.signature.to_dict() if self.signature else None,
            "signature_note": self.signature_note,
            "members": [{"path": x.path, "role": x.role, "size": x.size, "compressed": x.compressed,
                         "sha256": x.sha256, "ok": x.ok} for x in self.members],
            "problems": [{"where": w, "message": msg} for w, msg in self.problems],
        }


class _Archive:
    """An opened bundle whose structure has been checked; members can then be streamed."""

    def __init__(self, path: Path, limits: Limits) -> None:
        self.path = Path(path)
        self.limits = limits
        self.info = BundleInfo(self.path)
        self.fh: IO[bytes] | None = None
        self.zf: zipfile.ZipFile | None = None
        self.entries: dict[str, zipfile.ZipInfo] = {}

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()
        if self.fh is not None:
            self.fh.close()

    # -- phase 1: the container ------------------------------------------------------------------
    def open_structure(self) -> bool:
        """Check the archive without decompressing anything; False (with problems) when refused."""
        info = self.info
        try:
            st = self.path.stat()
        except OSError as exc:
            info.problem(None, f"không đọc được tệp / cannot read file: {exc.strerror}")
            return False
        if not stat.S_ISREG(st.st_mode):
            info.problem(None, "không phải tệp thông thường / not a regular file")
            return False
        info.archive_bytes = st.st_size
        self.fh = self.path.open("rb")
        try:
            end = _end_record(self.fh, st.st_size)
        except InputError as exc:
            info.problem(None, exc.diagnostics())
            return False
        if end.entries > self.limits.max_members:
            info.problem(None, f"quá nhiều thành phần ({end.entries}, tối đa {self.limits.max_members}) / "
                               "too many members")
            return False
        try:
            self.fh.seek(0)
            self.zf = zipfile.ZipFile(self.fh)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error,
                NotImplementedError) as exc:
            info.problem(None, f"tệp ZIP hỏng / damaged ZIP: {exc}")
            return False
        if len(infos) != end.entries:
            info.problem(None, "số thành phần không khớp bản ghi cuối / member count mismatch")
            return False
        seen: dict[str, str] = {}
        total = 0
        for zi in infos:
            name = zi.filename
            raw = zi.orig_filename
            reason = _check_name(raw) or _check_name(name)
            if reason:
                info.problem(raw, reason)
                continue
            folded = name.casefold()
            if folded in seen:
                info.problem(name, f"tên bị lặp (trùng '{seen[folded]}') / duplicate name")
                continue
            seen[folded] = name
            mode = zi.external_attr >> 16
            if stat.S_ISLNK(mode):
                info.problem(name, "liên kết tượng trưng (symlink) không được phép / symlink refused")
                continue
            if (zi.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG)) or zi.external_attr & 0x10:
                info.problem(name, "không phải tệp thông thường (thư mục, thiết bị, …) / not a regular file")
                continue
            if zi.flag_bits & 0x01:
                info.problem(name, "thành phần được mã hóa / encrypted member")
                continue
            if zi.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                info.problem(name, f"kiểu nén không hỗ trợ ({zi.compress_type}) / unsupported compression")
                continue
            if zi.file_size > self.limits.max_member_bytes:
                info.problem(name, f"thành phần quá lớn ({zi.file_size} byte, tối đa {self.limits.max_member_bytes})"
                                   " / member too large")
                continue
            if zi.compress_type == zipfile.ZIP_STORED and zi.compress_size != zi.file_size:
                info.problem(name, "kích thước không nén không khớp / stored size mismatch")
                continue
            if zi.file_size > self.limits.ratio_min_bytes and (
                    zi.compress_size == 0 or zi.file_size / zi.compress_size > self.limits.max_ratio):
                ratio = zi.file_size / max(1, zi.compress_size)
                info.problem(name, f"tỷ lệ nén bất thường ({ratio:.0f}:1, tối đa {self.limits.max_ratio:.0f}:1)"
                                   " — nghi 'bom nén' / excessive compression ratio (zip bomb?)")
                continue
            total += zi.file_size
            self.entries[name] = zi
        if total > self.limits.max_total_bytes:
            info.problem(None, f"tổng dung lượng giải nén quá lớn ({total} byte) / total size too large")
        if info.problems:
            return False
        return self._check_layout(infos, end)

    def _check_layout(self, infos: list[zipfile.ZipInfo], end: _End) -> bool:
        """Members must not share or overlap data (ZIP's form of a hard link) nor hide data between them."""
        assert self.fh is not None
        spans = []
        for zi in infos:
            try:
                spans.append((*_local_header_span(self.fh, zi), zi.filename))
            except InputError as exc:
                self.info.problem(zi.filename, exc.diagnostics())
                return False
        spans.sort()
        position = 0
        for start, stop, name in spans:
            if start < position:
                self.info.problem(name, "dữ liệu dùng chung/chồng lấn với thành phần khác (liên kết cứng) / "
                                        "member shares or overlaps another's data (hard link)")
                return False
            if start > position:
                self.info.problem(name, "có dữ liệu ẩn giữa các thành phần / hidden data between members")
                return False
            position = stop
        if position != end.cd_offset:
            self.info.problem(None, "có dữ liệu ẩn trước danh mục ZIP / hidden data before the central directory")
            return False
        return True

    # -- phase 2: the manifest --------------------------------------------------------------------
    def read_manifest(self) -> bool:
        info = self.info
        zi = self.entries.get(MANIFEST)
        if zi is None:
            info.problem(None, f"thiếu {MANIFEST} / no manifest")
            return False
        if zi.file_size > self.limits.max_manifest_bytes:
            info.problem(MANIFEST, "bản kê quá lớn / manifest too large")
            return False
        try:
            data = self.read_small(MANIFEST)
        except InputError as exc:
            info.problem(MANIFEST, exc.diagnostics())
            return False
        info.manifest_bytes = data
        info.manifest_sha256 = hashlib.sha256(data).hexdigest()
        try:
            doc = _strict_json(data)
        except InputError as exc:
            info.problem(MANIFEST, exc.diagnostics())
            return False
        if isinstance(doc, dict) and doc.get("format") == FORMAT and doc.get("format_version") != FORMAT_VERSION:
            info.problem(MANIFEST, f"phiên bản định dạng {doc.get('format_version')!r} không hỗ trợ (bản này đọc"
                                   f" {FORMAT_VERSION}) / unsupported bundle format version")
            return False
        try:
            manifest = Manifest.model_validate(doc)
        except PydanticError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"]) or "(gốc)"
                info.problem(MANIFEST, f"{loc}: {err['msg']}")
            return False
        info.manifest = manifest
        return self._match_members(manifest)

    def _match_members(self, manifest: Manifest) -> bool:
        info = self.info
        listed: dict[str, Member] = {}
        for member in manifest.members:
            if member.path in listed or member.path in (MANIFEST, SIGNATURE):
                info.problem(member.path, "bản kê liệt kê trùng / listed twice in the manifest")
                continue
            listed[member.path] = member
            match = _ROLE_PATHS[member.role].match(member.path)
            if not match:
                info.problem(member.path, f"tên không khớp vai trò '{member.role}' / path does not fit its role")
                continue
            if "code" in match.groupdict() and match["code"] != manifest.agency.code:
                info.problem(member.path, "thuộc cơ quan khác với bản kê / belongs to another agency")
            if "sha" in match.groupdict() and match["sha"] != member.sha256:
                info.problem(member.path, "tên tệp minh chứng khác mã băm khai báo / name differs from its hash")
        for role in ("inventory", "log", "report"):
            count = sum(1 for m in listed.values() if m.role == role)
            if count > 1 or (role == "inventory" and count == 0):
                info.problem(MANIFEST, f"cần {'đúng' if role == 'inventory' else 'tối đa'} một thành phần '{role}'"
                                       f" (có {count}) / wrong number of '{role}' members")
        for name, zi in self.entries.items():
            if name in (MANIFEST, SIGNATURE):
                continue
            found = listed.get(name)
            if found is None:
                info.problem(name, "thành phần không có trong bản kê / member not in the manifest")
                continue
            if found.size != zi.file_size:
                info.problem(name, f"kích thước {zi.file_size} khác bản kê ({found.size}) / size differs")
            info.members.append(MemberInfo(name, found.role, zi.file_size, zi.compress_size, found.sha256))
        for name in listed:
            if name not in self.entries:
                info.problem(name, "có trong bản kê nhưng thiếu trong gói / listed but missing")
        info.members.sort(key=lambda m: m.path)
        return not info.problems

    # -- signature -----------------------------------------------------------------------------------
    def check_signature(self, trust: list[Path] | None, bindings: Any = None) -> None:
        """Check the manifest's signature: intact, chained to ``trust`` if given, and — with the
        receiver's ``bindings`` — made with a certificate bound to the agency the bundle speaks for."""
        from . import signing

        info = self.info
        zi = self.entries.get(SIGNATURE)
        info.signed = zi is not None
        if zi is None:
            if trust:
                info.problem(None, "gói không được ký nhưng đã yêu cầu kiểm tra (--trust) / bundle is not signed")
            return
        if zi.file_size > self.limits.max_signature_bytes:
            info.problem(SIGNATURE, "chữ ký quá lớn / signature too large")
            return
        if not signing.available():
            if trust:
                signing._require()
            info.signature_note = (f"có chữ ký nhưng chưa kiểm tra (cần {signing.INSTALL_HINT}) / "
                                   "signed, not checked")
            return
        try:
            sig = self.read_small(SIGNATURE)
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

    def check_created(self) -> None:
        """A bundle cannot have been made after the moment it is read (``created`` bounds its rank)."""
        manifest = self.info.manifest
        if manifest is None:
            return
        created = _aware(manifest.created)
        now = clock.now()
        if created > now + CLOCK_SKEW:
            self.info.problem(MANIFEST, f"thời điểm lập gói {created.isoformat()} muộn hơn thời điểm nhận"
                                        f" {now.replace(microsecond=0).isoformat()}: gói không thể mới hơn lúc được"
                                        " nhập (kiểm tra nguồn gốc gói, hoặc đồng hồ máy của cơ quan) / created"
                                        " after the moment of import")

    # -- content ---------------------------------------------------------------------------------
    def read_small(self, name: str) -> bytes:
        """A small member's bytes (manifest, documents), size-capped and CRC-checked."""
        assert self.zf is not None
        zi = self.entries[name]
        if zi.file_size > self.limits.max_document_bytes:
            raise InputError("thành phần quá lớn để đọc / member too large to read")
        try:
            with self.zf.open(zi) as src:
                return src.read(self.limits.max_document_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise InputError(f"thành phần hỏng / damaged member: {exc}") from exc

    def stream(self, member: MemberInfo, sink: Callable[[bytes], Any] | None = None) -> bytes | None:
        """Hash a member while streaming it to ``sink``; returns its bytes when it is a small document."""
        assert self.zf is not None
        zi = self.entries[member.path]
        keep = member.role in ("inventory", "table", "log")
        if keep and zi.file_size > (yamlio.MAX_BYTES if member.role == "inventory" else self.limits.max_document_bytes):
            self.info.problem(member.path, "tài liệu quá lớn / document too large")
            member.ok = False
            return None
        hasher = hashlib.sha256()
        parts: list[bytes] = []
        read = 0
        try:
            with self.zf.open(zi) as src:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    read += len(chunk)
                    hasher.update(chunk)
                    if keep:
                        parts.append(chunk)
                    if sink is not None:
                        sink(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            self.info.problem(member.path, f"thành phần hỏng (CRC/giải nén) / damaged member: {exc}")
            member.ok = False
            return None
        if read != member.size or hasher.hexdigest() != member.sha256:
            self.info.problem(member.path, "mã băm SHA-256 không khớp bản kê / SHA-256 mismatch")
            member.ok = False
            return None
        member.ok = True
        return b"".join(parts) if keep else None


def _strict_json(data: bytes) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(f"khóa JSON bị lặp '{key}' / duplicate JSON key")
            out[key] = value
        return out

    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=pairs,
                         parse_constant=lambda c: (_ for _ in ()).throw(InputError(f"giá trị JSON lạ {c}")))
    except UnicodeDecodeError as exc:
        raise InputError("không phải UTF-8 / not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"JSON không hợp lệ (dòng {exc.lineno}) / invalid JSON: {exc.msg}") from exc
    except RecursionError as exc:  # json's decoder recurses once per nesting level
        raise InputError(f"JSON lồng quá sâu (quá {MAX_JSON_DEPTH} cấp) / JSON nested too deeply") from exc
    return _check_depth(doc)


#: No manifest or table nests deeper than a few levels; deeper is an attack on recursive readers.
MAX_JSON_DEPTH = 32


def _check_depth(doc: Any) -> Any:
    """Refuse nesting deeper than MAX_JSON_DEPTH (walked without recursion) before anything recurses into it."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InputError(f"JSON lồng quá sâu (quá {MAX_JSON_DEPTH} cấp) / JSON nested too deeply")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return doc


# -- reading: content -------------------------------------------------------------------------------
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
    doc = _strict_json(data)
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise InputError("phải là danh sách các dòng (object) / must be a list of row objects", where=where)
    for row in doc:
        for key, value in row.items():
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,63}", key):
                raise InputError(f"tên cột không hợp lệ '{key[:40]}' / invalid column name", where=where)
            if value is not None and not isinstance(value, str | int | float | bool):
                raise InputError(f"cột '{key}' phải là giá trị đơn / column '{key}' must be a scalar", where=where)
    return doc


def _parse_contents(archive: _Archive, documents: dict[str, bytes]) -> Contents | None:
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
                table = _ROLE_PATHS["table"].match(member.path)["table"]  # type: ignore[index]
                tables[table] = _rows(documents[member.path], where)
            elif member.role == "log":
                log = _rows(documents[member.path], where)
        except UnicodeDecodeError:
            info.problem(member.path, "không phải UTF-8 / not UTF-8")
        except SecauditError as exc:
            info.problem(member.path, exc.diagnostics())
    blobs = {m.sha256: m for m in info.members if m.role in _BLOB_ROLES}
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


def _check_log(archive: _Archive, log: list[dict[str, Any]], code: str) -> int:
    """Each extracted log entry must still hash to itself (the extract is not a whole chain)."""
    from .auditlog import entry_hash

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


def agency_from_yaml(text: str, where: str) -> Agency:
    """Validate an inventory YAML text (from a bundle) into the strict ``Agency`` model."""
    located = yamlio.loads(text, where)
    try:
        return Agency.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise


def _aware(moment: dt.datetime) -> dt.datetime:
    """``created`` as an aware UTC instant (a manifest without an offset is read as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@contextlib.contextmanager
def _opened(path: Path, limits: Limits, trust: list[Path] | None, bindings: Any = None) -> Iterator[_Archive]:
    archive = _Archive(path, limits)
    try:
        if archive.open_structure() and archive.read_manifest():
            archive.check_created()
            archive.check_signature(trust, bindings)
        yield archive
    finally:
        archive.close()


def _stream_all(archive: _Archive, sink_for: Callable[[MemberInfo], Callable[[bytes], Any] | None]) \
        -> dict[str, bytes]:
    documents: dict[str, bytes] = {}
    # In file order, so a large bundle is read front to back once.
    order = sorted(archive.info.members, key=lambda m: archive.entries[m.path].header_offset)
    for member in order:
        data = archive.stream(member, sink_for(member))
        if data is not None:
            documents[member.path] = data
    return documents


def verify_bundle(path: Path, *, trust: list[Path] | None = None, limits: Limits = Limits(),
                  bindings: Any = None) -> BundleInfo:
    """Check a bundle completely without writing anything: structure, manifest, every hash,
    the log extract, the inventory, cross-references, the creation time against the clock, and
    the signature (against ``trust``, and against the receiver's agency ↔ certificate ``bindings``
    when given: ``signing.load_bindings``)."""
    with _opened(Path(path), limits, trust, bindings) as archive:
        if archive.info.manifest is not None and not archive.info.problems:
            documents = _stream_all(archive, lambda m: None)
            if not archive.info.problems:
                _parse_contents(archive, documents)
        return archive.info


# -- import -----------------------------------------------------------------------------------------
@dataclass
class ImportResult:
    """What ``import_bundle`` did; ``duplicate`` means the same bundle was already imported.

    ``inventory`` is the decision about the agency's inventory (``submissions.INVENTORY_STATES``);
    ``scope`` says what became of changes to the declared hosts — the receiver's scan scope:
    ``none`` (no change), ``pending`` (shown in ``host_changes``, waiting for
    ``secaudit submissions accept``) or ``applied-signed`` (signed with a certificate bound to the
    agency whose policy applies them).
    """

    submission_id: int
    agency: str
    manifest_sha256: str
    duplicate: bool
    inventory: str
    supersedes: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    new_files: int = 0
    signer: str | None = None
    scope: str = "none"
    host_changes: list[dict[str, Any]] = field(default_factory=list)
    binding: str | None = None
    newer: int | None = None  # a submission already received that was made after this one


def _lock_free(fd: int) -> bool:
    """Take an exclusive lock without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the age of the folder decides, see clean_interrupted_imports
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _same_file(path: Path, fd: int) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino)


class _Staging:
    """Blobs of an import, written under ``evidence/.import-*`` and moved in only when all verify.

    The folder is paired with ``evidence/.import-*.lock``, locked (flock) by the importing process
    for as long as it lives: a folder whose lock nobody holds belongs to an import that was killed,
    and ``clean_interrupted_imports`` removes it on the next command. The lock file is created and
    locked before the folder exists and removed after it is gone, so a live folder always has one.
    """

    def __init__(self, ws: Workspace) -> None:
        ws.evidence_dir.mkdir(parents=True, exist_ok=True)
        self.ws = ws
        while True:
            fd, lock_name = tempfile.mkstemp(dir=ws.evidence_dir, prefix=STAGING_PREFIX, suffix=".lock")
            lock = Path(lock_name)
            if _lock_free(fd) and _same_file(lock, fd):
                break
            os.close(fd)  # a cleaner removed it between creation and lock: take another
        self._lock_fd = fd
        self._lock_path = lock
        self.dir = lock.with_suffix("")
        self.dir.mkdir()
        self.files: dict[str, Path] = {}
        self._out: IO[bytes] | None = None

    def sink_for(self, member: MemberInfo) -> Callable[[bytes], Any] | None:
        if self._out is not None:
            self._finish()
        if member.role not in _BLOB_ROLES or member.sha256 in self.files:
            return None
        if self.ws.evidence_path(member.sha256).is_file():
            return None  # already in the store: hash it, keep nothing
        target = self.dir / member.sha256
        self.files[member.sha256] = target
        self._out = target.open("wb")
        return self._out.write

    def _finish(self) -> None:
        assert self._out is not None
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None

    def commit_files(self) -> int:
        """Move every staged blob to its content-addressed place; returns how many were new."""
        if self._out is not None:
            self._finish()
        moved = 0
        for sha, staged in self.files.items():
            target = self.ws.evidence_path(sha)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            moved += 1
        return moved

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self._lock_path.unlink()
        os.close(self._lock_fd)


def clean_interrupted_imports(ws: Workspace, *, stale_after: dt.timedelta = dt.timedelta(hours=24)) -> list[str]:
    """Remove the staging folders of imports that were killed (their lock is held by no process).

    Nothing in a staging folder was ever referenced: blobs reach the store only by a rename after
    every member verified, and rows only in the transaction that follows. So removing the folder
    is all the recovery there is. Returns the names removed; a live import's folder is left alone.
    """
    removed: list[str] = []
    try:
        entries = [p for p in ws.evidence_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]
    except OSError:
        return removed
    locks = {p for p in entries if p.name.endswith(".lock")}
    try:
        import fcntl  # noqa: F401
        has_flock = True
    except ImportError:
        has_flock = False
    for lock in sorted(locks):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            old = clock.now().timestamp() - os.fstat(fd).st_mtime > stale_after.total_seconds()
            if (has_flock or old) and _lock_free(fd) and _same_file(lock, fd):
                folder = lock.with_suffix("")
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    lock.unlink()
                    removed.append(folder.name)
        except OSError:
            pass
        finally:
            os.close(fd)
    for folder in sorted(p for p in entries if p not in locks and p.is_dir()):
        if folder.with_name(folder.name + ".lock").exists():
            continue
        # A folder without its lock: left by a secaudit from before the lock, or by a cleaner stopped
        # between removing the folder and the lock; either way no live import owns it.
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder.name)
    return removed


def import_bundle(
    ws: Workspace, path: Path, *, actor: str, trust: list[Path] | None = None, limits: Limits = Limits(),
) -> ImportResult:
    """Import a bundle as a new submission: all or nothing, idempotent, never touching own data.

    Everything is verified before anything is written, including that the bundle was not made
    after this moment and, when signed, that its certificate is not bound to another agency (the
    receiver's ``trusted_certs``). Blobs are staged and moved into the store only when every
    member checks out; the rows then land in one transaction. The receiver's own answers, waivers,
    evidence references and scans are never written, and the agency's declared hosts — what the
    receiver scans — change only by the inspector's acceptance or the signed-bundle policy
    (``submissions.record``).
    """
    from . import signing, submissions

    path = Path(path)
    clean_interrupted_imports(ws)
    bindings = signing.load_bindings(ws)
    with _opened(path, limits, trust, bindings) as archive:
        info = archive.info
        if info.problems or info.manifest is None:
            raise BundleError(info.problems or [(str(path), "gói không hợp lệ / invalid bundle")])
        manifest = info.manifest
        existing = submissions.find_by_manifest(ws, info.manifest_sha256)
        if existing is not None:
            _stream_all(archive, lambda m: None)  # still report a damaged copy
            if info.problems:
                raise BundleError(info.problems)
            return ImportResult(existing, manifest.agency.code, info.manifest_sha256, True, "unchanged")
        needed = sum(m.size for m in info.members if m.role in _BLOB_ROLES)
        free = shutil.disk_usage(ws.evidence_dir if ws.evidence_dir.exists() else ws.root).free
        if needed > free:
            raise BundleError([(str(path), f"không đủ chỗ trống ({needed} byte cần, {free} còn) / not enough disk"
                                           " space")])
        staging = _Staging(ws)
        try:
            documents = _stream_all(archive, staging.sink_for)
            contents = _parse_contents(archive, documents) if not info.problems else None
            if info.problems or contents is None:
                raise BundleError(info.problems or [(str(path), "gói không hợp lệ / invalid bundle")])
            new_files = staging.commit_files()
        finally:
            staging.discard()
        check = info.signature
        signer = check.signer if check is not None else None
        auto = check is not None and check.binding == "bound" and check.fingerprint in bindings.auto
        result = submissions.record(ws, info, contents, file_name=path.name, actor=actor, signer=signer,
                                    auto_apply=auto)
        result.new_files = new_files
        return result


__all__ = [
    "FORMAT", "FORMAT_VERSION", "MANIFEST", "SIGNATURE", "BundleError", "BundleInfo", "Contents", "ExportResult",
    "ImportResult", "Limits", "Manifest", "agency_from_yaml", "clean_interrupted_imports", "export_bundle",
    "import_bundle", "table_rows", "verify_bundle",
]
