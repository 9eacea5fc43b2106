"""Evidence notes and lookups by hash; an append-only change log.

- ``evidence_refs.note``: a short description of what a file proves ("Quyết định phê duyệt cấp độ"),
  shown by ``evidence list`` and ``evidence show``.
- Indexes on ``evidence_refs.sha256`` (``evidence show``/``verify`` look files up by hash) and on
  ``log.agency`` (``secaudit log --agency``).
- Triggers that refuse ``UPDATE`` and ``DELETE`` on ``log``. The hash chain already *detects* an
  edit; the triggers make a casual edit with an SQLite browser fail loudly instead. Someone who
  drops them can still rewrite rows, which ``log verify`` then reports.
"""

from __future__ import annotations

from typing import Any

VERSION = 4


def upgrade(db: Any) -> None:
    """Add the note column, two indexes and the append-only triggers."""
    db["evidence_refs"].add_column("note", str)
    db["evidence_refs"].create_index(["sha256"], index_name="idx_evidence_refs_sha256", if_not_exists=True)
    db["log"].create_index(["agency"], index_name="idx_log_agency", if_not_exists=True)
    for verb in ("update", "delete"):
        db.execute(
            f"create trigger if not exists log_no_{verb} before {verb} on log"
            " begin select raise(abort, 'nhật ký chỉ được ghi thêm / the audit log is append-only'); end"
        )
