"""Writing an agency's bundle (the format is in ``manifest``): one streamed, atomically renamed ZIP."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secaudit import clock, yamlio
from secaudit.errors import SecauditError
from secaudit.exchange.manifest import (
    CHUNK,
    DEFAULT_LIMITS,
    FORMAT_VERSION,
    MANIFEST,
    SAMPLE,
    SIGNATURE,
    Limits,
    Manifest,
    ManifestAgency,
    ManifestLog,
    ManifestTool,
    Member,
    Role,
)
from secaudit.inventory import records as inventory
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

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
#: Columns that describe this machine, not the agency's evidence: never sent (the scanning process's
#: pid, start time and host name, kept only to recognise an abandoned scan here).
LOCAL_COLUMNS: dict[str, tuple[str, ...]] = {"scans": ("owner_pid", "owner_start", "owner_host")}
#: Already-compressed kinds of file, stored as they are.
STORED_EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "gif", "webp", "zip", "gz", "xz", "bz2", "7z", "rar", "docx",
                     "xlsx", "pptx", "odt", "ods", "mp4", "mp3"}


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
            out[table] = [{k: v for k, v in row.items() if k not in LOCAL_COLUMNS.get(table, ())}
                          for row in ws.db.query(sql, {"agency": agency})]
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
        compress = ext not in STORED_EXTENSIONS and _worth_compressing(
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
    signer: Any = None, limits: Limits = DEFAULT_LIMITS,
) -> ExportResult:
    """Write ``agency``'s bundle to ``out`` (atomically: a temp file renamed at the end).

    ``signer`` is a ``signing.Signer``: when given, the manifest gets a detached CMS signature and
    the report a PAdES signature. The export itself is recorded in the audit log, with the
    manifest's hash, so the agency can later show exactly what it sent.
    """
    from secaudit import __version__

    ws.require_agency(agency)
    model = inventory.get_agency(ws, agency)
    rows = table_rows(ws, agency)
    log_rows = auditlog.entries(ws, agency)
    head = ws.db.execute("select hash, (select count(*) from log) from log order by seq desc limit 1").fetchone()
    created = clock.now()
    when = (max(created.year, 1980), created.month, created.day, created.hour, created.minute, created.second)

    report_pdf: bytes | None = None
    if include_report:
        from secaudit.reporting import documents as rep

        report_pdf = rep.render_agency(ws, library, agency, fmt="pdf", as_of=as_of,
                                       profile=library.resolve_profile(profile), lang=lang)
        if signer is not None:
            from secaudit.exchange import signing

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
                from secaudit.exchange import signing

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

