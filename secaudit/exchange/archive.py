"""Opening a bundle as untrusted input: the ZIP container checked before anything is decompressed,
the manifest read and matched with the members, and members streamed with their hashes checked.

Reading never trusts the file: the end record is parsed here rather than by zipfile, so the member
count is bounded up front and data hidden around or between members (polyglots, shared data) is
refused; names, types, sizes and compression ratios are checked from the central directory.
"""

from __future__ import annotations

import hashlib
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, os_reason
from secaudit.exchange.manifest import (
    CHUNK,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    NAME,
    ROLE_PATHS,
    SIGNATURE,
    Limits,
    Manifest,
    Member,
    strict_json,
)


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
    if not NAME.match(name):
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



class Archive:
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
            info.problem(None, f"không đọc được tệp: {os_reason(exc)} / cannot read file: {exc.strerror}")
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
            doc = strict_json(data)
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
            match = ROLE_PATHS[member.role].match(member.path)
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
