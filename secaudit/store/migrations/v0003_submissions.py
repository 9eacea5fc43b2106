"""Submissions: bundles received from agencies, kept apart from the receiver's own data.

Công an tỉnh receives an agency's bundle and must be able to say later exactly what that agency
claimed, when, and in which file — while its own answers and scans stay its own. So an imported
bundle never writes into ``answers``, ``waivers``, ``evidence_refs`` or ``scans``: it becomes one
``submissions`` row (identified by the SHA-256 of its manifest, so importing the same file twice is
a no-op), the list of its members, and its rows stored as JSON documents with their column names
(``submission_rows``), which keeps them readable whatever columns either side's schema has.
"""

from __future__ import annotations

from typing import Any

VERSION = 3


def upgrade(db: Any) -> None:
    """Create the submission history tables."""
    db["submissions"].create(
        {
            "id": int, "agency": str, "manifest_sha256": str, "format_version": int, "tool_version": str,
            "schema_version": int, "as_of": str, "created": str, "exported_by": str, "profile": str,
            "file_name": str, "members": int, "bytes": int, "signature": str, "signer": str,
            "report_sha256": str, "inventory_applied": int, "supersedes": int, "imported_at": str,
            "actor": str, "manifest": str,
        },
        pk="id",
        not_null={"agency", "manifest_sha256", "format_version", "as_of", "created", "imported_at", "manifest"},
    )
    db["submissions"].create_index(["manifest_sha256"], unique=True)
    db["submissions"].create_index(["agency", "created"])
    db["submission_members"].create(
        {"id": int, "submission_id": int, "path": str, "role": str, "sha256": str, "size": int},
        pk="id", not_null={"submission_id", "path", "role", "sha256", "size"},
        foreign_keys=[("submission_id", "submissions", "id")],
    )
    db["submission_members"].create_index(["submission_id"])
    db["submission_rows"].create(
        {"id": int, "submission_id": int, "kind": str, "position": int, "data": str},
        pk="id", not_null={"submission_id", "kind", "position", "data"},
        foreign_keys=[("submission_id", "submissions", "id")],
    )
    db["submission_rows"].create_index(["submission_id", "kind"])
