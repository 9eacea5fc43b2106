"""Authorised scope files: the only way to scan (or import) addresses the inventory does not declare.

A scanner in the hands of inspectors must not become a way to probe whatever someone types. By
default secaudit scans only the hosts an agency declared. Anything else needs a scope file that
says *who* authorised it, *until when*, and *which* targets — each parsed with the same strict
:func:`~secaudit.scanner.targets.parse_target` as inventory entries. An expired (or not yet valid)
authorisation is refused, as is a range wider than the limit unless the operator explicitly allows
large ranges. The file is stored as evidence next to the scan it authorised.

Example::

    authorised_by: Nguyễn Văn A, Trưởng phòng An ninh mạng, Công an tỉnh
    reference: Kế hoạch kiểm tra số 12/KH-CAT (tuỳ chọn)
    agency: so-khcn          # tuỳ chọn: chỉ dùng cho cơ quan này
    valid_from: 2026-11-01   # tuỳ chọn
    valid_until: 2026-12-31
    targets:
      - 127.0.70.0/28
      - portal.example.gov.vn
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InvalidTargetError, OutOfScopeError, ValidationError
from secaudit.inventory.models import Strict
from secaudit.inventory.targets import Target, check_width, parse_target

__all__ = ["Scope", "ScopeFile", "load_scope", "target_covers"]

#: A scope file is a short list; anything bigger is a mistake (or an attempt to smuggle a sweep).
MAX_SCOPE_BYTES = 256 * 1024
MAX_SCOPE_TARGETS = 1024
#: Addresses a scope may authorise in all, unless the operator confirms with ``--allow-large``: sixteen
#: /24 ranges. Each range is capped at /24 for the same reason (a pasted list of hundreds of ranges
#: turns an inspection into a sweep of a whole network).
MAX_SCOPE_ADDRESSES = 16 * 256


class ScopeFile(Strict):
    """The YAML document of an authorised scope (see the module docstring)."""

    # Targets are checked exactly as written: "127.0.0.1\r" is refused, not quietly trimmed.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=False)

    authorised_by: str = Field(min_length=3, max_length=300, description="Người/cơ quan cho phép quét")
    reference: str | None = Field(default=None, max_length=300, description="Văn bản cho phép (số, ngày)")
    agency: str | None = Field(default=None, max_length=64, description="Chỉ dùng cho cơ quan này")
    valid_from: dt.date | None = None
    valid_until: dt.date
    targets: list[str] = Field(min_length=1, max_length=MAX_SCOPE_TARGETS)

    @field_validator("targets")
    @classmethod
    def _targets_are_plain(cls, values: list[str]) -> list[str]:
        for value in values:
            if not isinstance(value, str):
                raise ValueError("mỗi mục tiêu phải là chuỗi / each target must be a string")
        return values


@dataclass(frozen=True)
class Scope:
    """A loaded, validated, currently valid authorisation."""

    path: str
    authorised_by: str
    reference: str | None
    agency: str | None
    valid_from: dt.date | None
    valid_until: dt.date
    targets: tuple[Target, ...]

    def covers(self, address: str) -> bool:
        """Whether ``address`` (an IP or a host name nmap reported) lies inside this scope."""
        return any(target_covers(t, address) for t in self.targets)

    def summary(self, sha256: str | None = None) -> dict[str, Any]:
        """What a scan row records about the authorisation it ran under."""
        return {
            "file": Path(self.path).name, "sha256": sha256, "authorised_by": self.authorised_by,
            "reference": self.reference, "agency": self.agency,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat(), "targets": [str(t) for t in self.targets],
        }


def target_covers(target: Target, address: str) -> bool:
    """Whether a (declared or authorised) target includes ``address``: same IP, inside the CIDR, same name."""
    if target.kind == "hostname":
        return address.lower().rstrip(".") == target.value
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if target.kind == "ip":
        return ip == ipaddress.ip_address(target.value)
    return ip in ipaddress.ip_network(target.value)


def load_scope(
    path: Path, *, today: dt.date, agency: str | None = None, allow_large: bool = False,
    max_prefix_v4: int = 24, max_prefix_v6: int = 120,
) -> Scope:
    """Read and check a scope file; refuse it when expired, not yet valid, for another agency or too wide."""
    located = yamlio.load(Path(path), max_bytes=MAX_SCOPE_BYTES)
    try:
        doc = ScopeFile.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise
    targets: list[Target] = []
    for index, raw in enumerate(doc.targets):
        where = located.where(("targets", index))
        try:
            target = parse_target(raw)
            check_width(target, max_prefix_v4, max_prefix_v6, allow_large=allow_large)
        except InvalidTargetError as exc:
            raise InvalidTargetError(exc.message, en=exc.en, where=where) from None
        targets.append(target)
    total = sum(ipaddress.ip_network(t.value).num_addresses if t.kind == "cidr" else 1 for t in targets)
    if total > MAX_SCOPE_ADDRESSES and not allow_large:
        raise InvalidTargetError(
            f"Phạm vi quét cho phép tổng cộng {total} địa chỉ, quá giới hạn {MAX_SCOPE_ADDRESSES} — chỉ quét nhiều"
            " như vậy khi đã được cho phép rõ ràng (--allow-large)",
            en=f"the scope authorises {total} addresses in all, over the limit of {MAX_SCOPE_ADDRESSES};"
               " scan that many only when explicitly allowed (--allow-large)",
            where=located.where(("targets",)))
    if doc.valid_until < today:
        raise OutOfScopeError(
            f"Phạm vi quét đã hết hiệu lực từ {doc.valid_until:%d/%m/%Y}; cần văn bản cho phép mới",
            en=f"the authorised scope expired on {doc.valid_until.isoformat()}; a new authorisation is needed",
            where=located.where(("valid_until",)),
        )
    if doc.valid_from is not None and doc.valid_from > today:
        raise OutOfScopeError(
            f"Phạm vi quét chỉ có hiệu lực từ {doc.valid_from:%d/%m/%Y}",
            en=f"the authorised scope is only valid from {doc.valid_from.isoformat()}",
            where=located.where(("valid_from",)),
        )
    if doc.valid_from is not None and doc.valid_from > doc.valid_until:
        raise ValidationError([(located.where(("valid_from",)), "valid_from phải trước valid_until / "
                                "valid_from must not be after valid_until")])
    if agency is not None and doc.agency is not None and doc.agency != agency:
        raise OutOfScopeError(
            f"Phạm vi quét này cấp cho cơ quan '{doc.agency}', không phải '{agency}'",
            en=f"this scope authorises agency '{doc.agency}', not '{agency}'",
            where=located.where(("agency",)),
        )
    return Scope(str(path), doc.authorised_by, doc.reference, doc.agency, doc.valid_from, doc.valid_until,
                 tuple(dict.fromkeys(Target(t.kind, t.value) for t in targets)))
