"""Importing a bundle as a new submission: verified completely, then applied all or nothing.

Blobs are staged (``store.staging``) while every member is hashed, and moved into the store only
when all of them check out; the rows then land in one transaction (``submissions.record``). A
killed import leaves only a staging folder, removed the next time the workspace is opened.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from secaudit.exchange import submissions
from secaudit.exchange.manifest import BLOB_ROLES, DEFAULT_LIMITS, BundleError, Limits
from secaudit.exchange.submissions import ImportResult
from secaudit.exchange.trust import load_bindings
from secaudit.exchange.verify import opened, parse_contents, stream_all
from secaudit.store.staging import Staging, clean_interrupted_imports
from secaudit.store.workspace import Workspace


def import_bundle(
    ws: Workspace, path: Path, *, actor: str, trust: list[Path] | None = None, limits: Limits = DEFAULT_LIMITS,
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
    path = Path(path)
    clean_interrupted_imports(ws.evidence_dir)
    bindings = load_bindings(ws)
    with opened(path, limits, trust, bindings) as archive:
        info = archive.info
        if info.problems or info.manifest is None:
            raise BundleError(info.problems or [(str(path), "gói không hợp lệ / invalid bundle")])
        manifest = info.manifest
        existing = submissions.find_by_manifest(ws, info.manifest_sha256)
        if existing is not None:
            stream_all(archive, lambda m: None)  # still report a damaged copy
            if info.problems:
                raise BundleError(info.problems)
            return ImportResult(existing, manifest.agency.code, info.manifest_sha256, True, "unchanged")
        needed = sum(m.size for m in info.members if m.role in BLOB_ROLES)
        free = shutil.disk_usage(ws.evidence_dir if ws.evidence_dir.exists() else ws.root).free
        if needed > free:
            raise BundleError([(str(path), f"không đủ chỗ trống ({needed} byte cần, {free} còn) / not enough disk"
                                           " space")])
        staging = Staging(ws.evidence_dir, ws.evidence_path)
        try:
            documents = stream_all(archive, lambda m: staging.sink(m.sha256 if m.role in BLOB_ROLES else None))
            contents = parse_contents(archive, documents) if not info.problems else None
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
