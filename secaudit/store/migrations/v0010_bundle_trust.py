"""Trust for what crosses between workspaces: certificates bound to agencies, and scan-scope decisions.

- ``trusted_certs``: the receiver's mapping agency → signing certificate(s), set up once with
  ``secaudit trust add``. A bundle's signature counts for an agency only when its certificate is
  one of that agency's (matched by SHA-256 fingerprint), whatever CA issued it. ``auto_apply``
  is the receiver's policy that host changes in bundles signed with this certificate may reach
  the scan scope without a separate acceptance.
- ``submissions`` gains what the import decided: ``inventory_state`` (the decision label),
  ``binding`` (how the signature relates to the agency), ``hosts_pending`` (the claim changes the
  declared hosts and waits for the inspector), ``applied_sha256``/``applied_at`` (the inventory
  document this submission wrote, so a later import can tell whether the receiver edited it), and
  ``accepted_at``/``accepted_by`` (the inspector's explicit acceptance).
"""

from __future__ import annotations

from typing import Any

VERSION = 10


def upgrade(db: Any) -> None:
    """Create ``trusted_certs`` and add the decision columns to ``submissions``."""
    db["trusted_certs"].create(
        {
            "id": int, "agency": str, "fingerprint": str, "subject": str, "common_name": str,
            "not_before": str, "not_after": str, "certificate": str, "auto_apply": int, "added_at": str,
            "actor": str,
        },
        pk="id", not_null={"agency", "fingerprint", "certificate", "added_at"},
    )
    db["trusted_certs"].create_index(["fingerprint"], unique=True)
    db["trusted_certs"].create_index(["agency"])
    table = db["submissions"]
    for column in ("inventory_state", "binding", "applied_sha256", "applied_at", "accepted_at", "accepted_by"):
        table.add_column(column, str)
    table.add_column("hosts_pending", int)
    # Rows from before: what they applied is known only as a flag; their import time stands in.
    db.execute("update submissions set applied_at = imported_at where inventory_applied = 1")
