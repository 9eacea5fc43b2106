"""The workspace: one SQLite database (via sqlite-utils) and a content-addressed evidence store.

This is the only module that knows the schema. Every write goes through ``Workspace.transaction``
(``BEGIN IMMEDIATE``; sqlite-utils' own writes nest as savepoints), so an import, an answer or a
scan lands whole or not at all, and two processes writing one workspace wait for each other
instead of failing. WAL keeps readers unblocked. The schema is versioned from the first release and
upgraded in place by ``MIGRATIONS``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from secaudit import clock
from secaudit.errors import InputError, NotFoundError, WorkspaceError, os_reason

DB_NAME = "secaudit.db"
EVIDENCE_DIR = "evidence"
ENV_VAR = "SECAUDIT_WORKSPACE"
DEFAULT_WORKSPACE = ".secaudit"
BUSY_TIMEOUT_S = 30.0
DEFAULT_MAX_EVIDENCE_BYTES = 200 * 1024 * 1024


#: How ``findings.bears_on`` joins the requirement refs ("checklist:item") a problem bears on. Checklist
#: and item ids are ``[a-z0-9.-]``, so a comma never occurs inside a ref.
REF_SEPARATOR = ","


def join_refs(refs: Any) -> str:
    """``findings.bears_on`` text for the refs, in order, each once."""
    return REF_SEPARATOR.join(dict.fromkeys(refs))


def split_refs(text: str | None) -> list[str]:
    """The requirement refs of a ``findings.bears_on`` value, in the rule's order."""
    return text.split(REF_SEPARATOR) if text else []


def _schema_v1(db: sqlite_utils.Database) -> None:
    """The first schema: inventory, evidence, answers, waivers, scans, findings, audit log."""
    db.table("meta").create({"key": str, "value": str}, pk="key")
    db.table("agencies").create(
        {
            "code": str, "name": str, "kind": str, "parent": str, "province": str, "place": str,
            "symbol": str, "private_data_centre": int, "security_contact": str, "signer": str,
            "recipients": str, "position": int,
        },
        pk="code", not_null={"name", "kind"},
    )
    db.table("systems").create(
        {
            "id": int, "agency": str, "code": str, "name": str, "purpose": str, "sector": str,
            "owner": str, "operator": str, "critical": int, "restricted_sector": str,
            "admin_procedures": int, "online_service": int, "conditional_business": int,
            "users": int, "data_subjects_basic": int, "data_subjects_sensitive": int,
            "state_secrets": int, "national_security_impact": int, "industrial_control_grade": str,
            "infrastructure_scope": str, "national_egov_247": int, "hosting": str, "go_live": str,
            "level_proposed": int, "level_approved": int, "dossier_state": str,
            "decision_number": str, "decision_date": str, "appraised_by": str, "approved_by": str,
            "regulation_date": str, "position": int,
        },
        pk="id", not_null={"agency", "code", "name"}, foreign_keys=[("agency", "agencies", "code")],
    )
    db.table("systems").create_index(["agency", "code"], unique=True)
    db.table("hosts").create(
        {"id": int, "system_id": int, "address": str, "ports": str, "public_web": int, "note": str, "position": int},
        pk="id", not_null={"system_id", "address"}, foreign_keys=[("system_id", "systems", "id")],
    )
    db.table("hosts").create_index(["system_id"])
    db.table("evidence").create(
        {"sha256": str, "size": int, "media_type": str, "stored_at": str}, pk="sha256", not_null={"size"}
    )
    db.table("evidence_refs").create(
        {
            "id": int, "sha256": str, "original_name": str, "agency": str, "system": str,
            "checklist": str, "item": str, "kind": str, "effective": str, "expires": str,
            "added_at": str, "actor": str,
        },
        pk="id", not_null={"sha256"}, foreign_keys=[("sha256", "evidence", "sha256")],
    )
    db.table("evidence_refs").create_index(["agency", "system"])
    db.table("answers").create(
        {
            "id": int, "agency": str, "system": str, "checklist": str, "item": str, "status": str,
            "note": str, "evidence": str, "answered_at": str, "actor": str,
        },
        pk="id", not_null={"agency", "system", "checklist", "item", "status"},
        foreign_keys=[("agency", "agencies", "code")],
    )
    db.table("answers").create_index(["agency", "system", "checklist", "item"], unique=True)
    db.table("waivers").create(
        {
            "id": int, "agency": str, "system": str, "checklist": str, "item": str, "reason": str,
            "approved_by": str, "until": str, "created_at": str, "actor": str,
        },
        pk="id", not_null={"agency", "system", "checklist", "item", "reason", "approved_by", "until"},
        foreign_keys=[("agency", "agencies", "code")],
    )
    db.table("scans").create(
        {
            "id": int, "agency": str, "system": str, "profile": str, "status": str, "started": str,
            "finished": str, "argv": str, "nmap_version": str, "operator": str, "xml_sha256": str,
            "error": str, "targets": str,
        },
        pk="id", not_null={"agency", "status", "started"},
    )
    db.table("scan_hosts").create(
        {"id": int, "scan_id": int, "system": str, "address": str, "declared": int, "state": str, "reason": str},
        pk="id", not_null={"scan_id", "address", "state"}, foreign_keys=[("scan_id", "scans", "id")],
    )
    db.table("scan_hosts").create_index(["scan_id"])
    db.table("scan_ports").create(
        {
            "id": int, "scan_host_id": int, "port": int, "protocol": str, "state": str,
            "service": str, "product": str, "version": str, "tunnel": str, "scripts": str,
        },
        pk="id", not_null={"scan_host_id", "port", "protocol", "state"},
        foreign_keys=[("scan_host_id", "scan_hosts", "id")],
    )
    db.table("scan_ports").create_index(["scan_host_id"])
    db.table("findings").create(
        {
            "id": int, "scan_id": int, "agency": str, "system": str, "address": str, "port": int,
            "rule": str, "severity": str, "checklist": str, "item": str, "title": str, "detail": str,
        },
        pk="id", not_null={"scan_id", "agency", "rule", "severity"}, foreign_keys=[("scan_id", "scans", "id")],
    )
    db.table("findings").create_index(["agency", "system"])
    db.table("log").create(
        {
            "seq": int, "ts": str, "actor": str, "action": str, "agency": str, "subject": str,
            "detail": str, "prev_hash": str, "hash": str,
        },
        pk="seq", not_null={"ts", "action", "prev_hash", "hash"},
    )


def _migrations() -> list[tuple[int, Callable[[sqlite_utils.Database], None]]]:
    from secaudit.store.migrations import discover

    return [(1, _schema_v1), *discover()]


MIGRATIONS = _migrations()
SCHEMA_VERSION = MIGRATIONS[-1][0]


def now() -> str:
    """Current UTC time as ISO text, second precision (what every row records)."""
    return clock.now_text()


def _connect(path: Path) -> sqlite_utils.Database:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return db


class Workspace:
    """An opened workspace folder: ``secaudit.db`` plus ``evidence/`` (files named by SHA-256)."""

    def __init__(self, root: Path, db: sqlite_utils.Database) -> None:
        self.root = root
        self.db = db
        self.evidence_dir = root / EVIDENCE_DIR

    # -- lifecycle ------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path) -> Workspace:
        """Create a new workspace (refusing to touch an existing one) and return it opened."""
        root = Path(root)
        if (root / DB_NAME).exists():
            raise WorkspaceError(
                f"Đã có workspace tại {root}", en=f"a workspace already exists at {root}", where=str(root)
            )
        root.mkdir(parents=True, exist_ok=True)
        (root / EVIDENCE_DIR).mkdir(exist_ok=True)
        db = _connect(root / DB_NAME)
        db.enable_wal()
        ws = cls(root, db)
        ws.migrate()
        return ws

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open an existing workspace, upgrading its schema in place when it is older."""
        root = Path(root)
        if not (root / DB_NAME).is_file():
            raise WorkspaceError(
                f"Không có workspace tại {root} (chạy 'secaudit init' trước)",
                en=f"no workspace at {root} (run 'secaudit init' first)",
            )
        ws = cls(root, _connect(root / DB_NAME))
        ws.migrate()
        ws._clean_interrupted_imports()
        return ws

    def _clean_interrupted_imports(self) -> None:
        """Remove the staging folders a killed ``bundle import`` left in ``evidence/`` (see ``staging``)."""
        with contextlib.suppress(OSError):
            if any(p.name.startswith(".import-") for p in self.evidence_dir.iterdir()):
                from secaudit.store.staging import clean_interrupted_imports

                clean_interrupted_imports(self.evidence_dir)

    def close(self) -> None:
        self.db.close()

    def schema_version(self) -> int:
        if "meta" not in self.db.table_names():
            return 0
        row = self.db.execute("select value from meta where key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Apply the missing migrations, each in its own transaction."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise WorkspaceError(
                f"Workspace có phiên bản lược đồ {current}, mới hơn bản này ({SCHEMA_VERSION})",
                en="workspace was written by a newer secaudit; upgrade secaudit",
            )
        for version, upgrade in MIGRATIONS:
            if version <= current:
                continue
            with self.transaction():
                if self.schema_version() >= version:  # another process upgraded it while we waited
                    continue
                upgrade(self.db)
                self.db.table("meta").upsert({"key": "schema_version", "value": str(version)}, pk="key")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints."""
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.conn.execute("ROLLBACK")
            raise
        self.db.conn.execute("COMMIT")

    # -- evidence files -------------------------------------------------------------------------
    def evidence_path(self, sha256: str) -> Path:
        """Where the file with this hash is kept (two-level fan-out; the name is the hash)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InputError(f"Mã băm không hợp lệ: {sha256!r}", en="invalid SHA-256")
        return self.evidence_dir / sha256[:2] / sha256

    def store_blob(self, data: bytes, *, media_type: str = "application/octet-stream") -> str:
        """Keep ``data`` in the evidence store; returns its SHA-256. Stored once per content."""
        digest = hashlib.sha256(data).hexdigest()
        self._write_blob(digest, lambda fh: fh.write(data))
        self._record_blob(digest, len(data), media_type)
        return digest

    def store_file(
        self, source: Path, *, max_bytes: int | None = None, media_type: str | None = None
    ) -> str:
        """Copy a user's file into the evidence store by content, streaming (never by its name).

        ``max_bytes`` defaults to the workspace's ``evidence_max_bytes`` setting.
        """
        if max_bytes is None:
            max_bytes = self.evidence_max_bytes()
        try:
            size = source.stat().st_size
        except OSError as exc:
            raise InputError(f"Không đọc được tệp minh chứng: {os_reason(exc)}", en="cannot read evidence file",
                             where=str(source)) from exc
        if not source.is_file():
            raise InputError("Minh chứng phải là một tệp", en="evidence must be a regular file", where=str(source))
        if size > max_bytes:
            raise InputError(
                f"Tệp minh chứng quá lớn ({size} byte, tối đa {max_bytes})",
                en="evidence file exceeds the size limit", where=str(source),
            )
        hasher = hashlib.sha256()
        with source.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                hasher.update(chunk)
        digest = hasher.hexdigest()

        def copy(out: Any) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)

        self._write_blob(digest, copy)
        self._record_blob(digest, size, media_type or _guess_type(source.name))
        return digest

    def _write_blob(self, digest: str, writer: Callable[[Any], Any]) -> None:
        target = self.evidence_path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                writer(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _record_blob(self, digest: str, size: int, media_type: str) -> None:
        with self.transaction():
            self.db.execute(
                "insert or ignore into evidence (sha256, size, media_type, stored_at) values (?, ?, ?, ?)",
                [digest, size, media_type, now()],
            )

    def read_blob(self, sha256: str) -> bytes:
        path = self.evidence_path(sha256)
        if not path.is_file():
            raise NotFoundError(f"Thiếu tệp minh chứng {sha256}", en=f"evidence file {sha256} is missing")
        return path.read_bytes()

    # -- settings (kept in ``meta`` as ``setting.<name>``) ----------------------------------------
    def setting(self, name: str, default: str | None = None) -> str | None:
        """A workspace setting, or ``default`` when it was never set."""
        row = self.db.execute("select value from meta where key = ?", [f"setting.{name}"]).fetchone()
        return row[0] if row else default

    def set_setting(self, name: str, value: str | None) -> None:
        """Set (or, with ``None``, clear) a workspace setting inside the caller's transaction."""
        with self.transaction():
            if value is None:
                self.db.execute("delete from meta where key = ?", [f"setting.{name}"])
            else:
                self.db.execute(
                    "insert into meta (key, value) values (?, ?) on conflict(key) do update set value = excluded.value",
                    [f"setting.{name}", value],
                )

    def evidence_max_bytes(self) -> int:
        """Size limit for one evidence file: the ``evidence_max_bytes`` setting, else the default."""
        value = self.setting("evidence_max_bytes")
        return int(value) if value else DEFAULT_MAX_EVIDENCE_BYTES

    # -- small helpers used across services -----------------------------------------------------
    def agency_exists(self, code: str) -> bool:
        return self.db.execute("select 1 from agencies where code = ?", [code]).fetchone() is not None

    def require_agency(self, code: str) -> None:
        if not self.agency_exists(code):
            raise NotFoundError(f"Không có cơ quan '{code}'", en=f"no agency '{code}'")

    def system_id(self, agency: str, code: str) -> int:
        row = self.db.execute("select id from systems where agency = ? and code = ?", [agency, code]).fetchone()
        if row is None:
            raise NotFoundError(
                f"Không có hệ thống '{code}' của cơ quan '{agency}'", en=f"no system '{code}' in agency '{agency}'"
            )
        return int(row[0])


def _guess_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def dumps(value: Any) -> str:
    """Canonical JSON for storing structured columns and hashing log entries."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def resolve_workspace(option: str | None) -> Path:
    """``--workspace`` if given, else ``$SECAUDIT_WORKSPACE``, else ``./.secaudit``."""
    return Path(option or os.environ.get(ENV_VAR) or DEFAULT_WORKSPACE)
