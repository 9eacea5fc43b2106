"""Who issues the workspace's own documents: Công an tỉnh's name, number symbol, place, signer, recipients.

Set once (``secaudit issuer set``), audit-logged, and used by every report issued in the
workspace's own name (the inspection report). An agency's self-assessment keeps the agency's name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from secaudit.clock import now_text
from secaudit.errors import InputError, NotFoundError
from secaudit.store import auditlog
from secaudit.store.workspace import Workspace

FIELDS = ("name", "parent", "symbol", "place", "signer_authority", "signer_on_behalf_of", "signer_title",
          "signer_name")


@dataclass
class Issuer:
    """The issuing body of the workspace's documents (NĐ 30/2020 header and signature block)."""

    name: str
    parent: str | None = None
    symbol: str | None = None
    place: str | None = None
    signer_authority: str | None = None
    signer_on_behalf_of: str | None = None
    signer_title: str | None = None
    signer_name: str | None = None
    recipients: list[str] = field(default_factory=list)
    updated_at: str | None = None
    actor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def header(self) -> dict[str, Any]:
        """The plain structure the NĐ 30 header/signature macros read (same keys as an agency's)."""
        signer = None
        if self.signer_title or self.signer_name:
            signer = {"authority": self.signer_authority, "on_behalf_of": self.signer_on_behalf_of,
                      "title": self.signer_title or "", "name": self.signer_name or ""}
        return {"name": self.name, "parent": self.parent, "symbol": self.symbol, "place": self.place,
                "province": self.place, "signer": signer, "recipients": list(self.recipients)}


def get_issuer(ws: Workspace) -> Issuer | None:
    """The workspace's issuer, or None when ``issuer set`` was never run."""
    row = next(iter(ws.db.query("select * from issuer where id = 1")), None)
    if row is None:
        return None
    return Issuer(**{k: row[k] for k in FIELDS}, recipients=json.loads(row["recipients"] or "[]"),
                  updated_at=row["updated_at"], actor=row["actor"])


def require_issuer(ws: Workspace) -> Issuer:
    """The issuer, or a Vietnamese error saying how to set it."""
    found = get_issuer(ws)
    if found is None:
        raise NotFoundError(
            "Workspace chưa có thông tin cơ quan ban hành (tên, số ký hiệu, người ký, nơi nhận). Chạy trước:"
            " secaudit issuer set --name TÊN --parent CẤP-TRÊN --symbol KÝ-HIỆU --place ĐỊA-DANH"
            " --signer-title CHỨC-VỤ --signer-name HỌ-TÊN [--recipient NƠI-NHẬN …]",
            en="the workspace has no issuer identity; run `secaudit issuer set` first")
    return found


def set_issuer(ws: Workspace, *, actor: str, recipients: list[str] | None = None, **values: str | None) -> Issuer:
    """Set (or update) the issuer: given fields replace, omitted ones keep their value; ``recipients``
    replaces the whole list when given."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise InputError(f"Trường không hợp lệ: {sorted(unknown)}", en=f"unknown fields {sorted(unknown)}")
    current = get_issuer(ws)
    data = current.to_dict() if current else {"name": None, "recipients": []}
    for key, value in values.items():
        if value is not None:
            data[key] = " ".join(value.split()) or None
    if recipients is not None:
        data["recipients"] = [" ".join(r.split()).rstrip(";.").strip() for r in recipients if r.strip()]
    if not data.get("name"):
        raise InputError("Cần --name: tên cơ quan ban hành (ví dụ: Công an tỉnh Nghệ An)",
                         en="--name (the issuing body) is required")
    stamp = now_text()
    row = {k: data.get(k) for k in FIELDS}
    row.update({"id": 1, "recipients": json.dumps(data["recipients"], ensure_ascii=False), "updated_at": stamp,
                "actor": actor})
    with ws.transaction() as db:
        db.table("issuer").upsert(row, pk="id")  # type: ignore[arg-type]
        auditlog.append(ws, actor=actor, action="issuer.set", subject="issuer",
                        detail={k: v for k, v in row.items() if k not in ("id", "updated_at", "actor")})
    found = get_issuer(ws)
    assert found is not None
    return found
