"""The inventory model: agencies and their information systems (HTTT).

These are the facts the requirements and the level rules read. A value of ``None`` means
*unknown*, which is different from ``False``/``0``: the evaluation says which unknown attribute
stopped it from deciding instead of guessing. Models are strict (unknown keys are errors) so a
misspelled key in an inventory never silently drops a fact.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .scanner.targets import parse_target

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Code = Annotated[str, Field(pattern=CODE_PATTERN)]


class Strict(BaseModel):
    """Base for every data model: no extra keys, values checked on assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)


class AgencyKind(StrEnum):
    """Kinds of agency (cơ quan, đơn vị) in a province."""

    DEPARTMENT = "so-ban-nganh"  # sở, ban, ngành cấp tỉnh
    PROVINCE_PEOPLES_COMMITTEE = "ubnd-tinh"
    COMMUNE = "ubnd-xa"  # UBND xã, phường, đặc khu
    POLICE = "cong-an"
    PARTY = "co-quan-dang"
    OTHER = "khac"


class RestrictedSector(StrEnum):
    """Sectors excluded from some duties (KH 04 task 2; NĐ 331 Đ33.5): military, defence, cơ yếu."""

    NONE = "none"
    MILITARY = "quan-su"
    DEFENCE = "quoc-phong"
    CIPHER = "co-yeu"


class Hosting(StrEnum):
    """Where a system runs; NĐ 331 Đ30.8–9 set separation rules for shared data centres/cloud."""

    OWN_DC = "trung-tam-du-lieu-rieng"  # the agency's private data centre
    PROVINCIAL_DC = "trung-tam-du-lieu-tinh"
    CLOUD = "dien-toan-dam-may"
    VENDOR = "nha-cung-cap"
    ON_PREMISES = "tai-co-quan"  # server room at the agency, not a data centre


class InfraScope(StrEnum):
    """Scope of shared infrastructure a system provides (NĐ 331 Đ12–14)."""

    NONE = "none"
    AGENCY = "co-quan"
    PROVINCE = "tinh"
    SECTOR = "bo-nganh"
    NATIONAL = "quoc-gia"


class DossierState(StrEnum):
    """Progress of the level dossier (hồ sơ đề xuất cấp độ)."""

    NONE = "chua-lap"
    DRAFTED = "da-lap"
    SUBMITTED = "da-trinh-tham-dinh"
    APPRAISED = "da-tham-dinh"
    APPROVED = "da-phe-duyet"


class Contact(Strict):
    """A person: the security contact point (đầu mối) or the signer of reports."""

    name: str
    title: str | None = None
    phone: str | None = None
    email: str | None = None


class Signer(Strict):
    """Signature block of NĐ 30/2020: authority prefix (TM./KT./TL.), titles and name."""

    authority: Literal["", "TM.", "KT.", "TL.", "Q.", "TUQ."] = ""
    on_behalf_of: str | None = None  # e.g. "GIÁM ĐỐC" after KT.
    title: str
    name: str


class PortSpec(Strict):
    """A port a host is expected to expose."""

    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    service: str | None = None


class Host(Strict):
    """A declared host of a system: IP, CIDR, hostname or URL, with its expected ports."""

    address: str
    ports: list[PortSpec] = Field(default_factory=list)
    public_web: bool = False
    note: str | None = None

    @field_validator("address")
    @classmethod
    def _plain_target(cls, value: str) -> str:
        from .errors import InvalidTargetError

        try:
            parse_target(value)
        except InvalidTargetError as exc:
            raise ValueError(exc.message) from None
        return value


class Level(Strict):
    """Security level (cấp độ) state of a system: proposal, appraisal, approval decision."""

    proposed: int | None = Field(default=None, ge=1, le=5)
    approved: int | None = Field(default=None, ge=1, le=5)
    dossier_state: DossierState = DossierState.NONE
    decision_number: str | None = None
    decision_date: dt.date | None = None
    appraised_by: str | None = None
    approved_by: str | None = None
    regulation_date: dt.date | None = None  # date the system's security regulation (quy chế) was issued

    @model_validator(mode="after")
    def _approval_needs_decision(self) -> Level:
        if self.approved is not None and not (self.decision_number and self.decision_date):
            raise ValueError(
                "cấp độ đã phê duyệt phải có số và ngày quyết định / an approved level needs a decision number and date"
            )
        return self


class System(Strict):
    """An information system (hệ thống thông tin) as the agency declares it."""

    code: Code
    name: str
    purpose: str | None = None
    sector: str | None = None
    owner: str | None = None  # chủ quản
    operator: str | None = None  # đơn vị vận hành
    critical: bool | None = None  # trọng yếu
    restricted_sector: RestrictedSector = RestrictedSector.NONE
    admin_procedures: bool | None = None  # handles administrative procedures / online public services
    online_service: bool | None = None  # provides online services to the public
    conditional_business: bool | None = None  # online service in a conditional business line
    users: int | None = Field(default=None, ge=0)
    data_subjects_basic: int | None = Field(default=None, ge=0)
    data_subjects_sensitive: int | None = Field(default=None, ge=0)
    state_secrets: bool | None = None
    national_security_impact: bool | None = None
    industrial_control_grade: Literal["none", "IV", "III", "II", "I", "dac-biet"] | None = None
    infrastructure_scope: InfraScope | None = None
    national_egov_247: bool | None = None
    hosting: Hosting | None = None
    go_live: dt.date | None = None
    level: Level = Field(default_factory=Level)
    hosts: list[Host] = Field(default_factory=list)


class Agency(Strict):
    """An agency (cơ quan, đơn vị) and the systems it owns or operates."""

    code: Code
    name: str
    kind: AgencyKind
    parent: str | None = None  # cơ quan chủ quản cấp trên, printed above the name in reports
    province: str = "Nghệ An"
    place: str | None = None  # địa danh on documents; defaults to province
    symbol: str | None = None  # chữ viết tắt for "Số: …/BC-…"
    private_data_centre: bool | None = None
    security_contact: Contact | None = None
    signer: Signer | None = None
    recipients: list[str] = Field(default_factory=list)  # Nơi nhận
    systems: list[System] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_system_codes(self) -> Agency:
        seen: set[str] = set()
        for system in self.systems:
            if system.code in seen:
                raise ValueError(f"mã hệ thống '{system.code}' bị lặp / duplicate system code '{system.code}'")
            seen.add(system.code)
        return self


def slug_ok(code: str) -> bool:
    """True when ``code`` is a valid agency/system code."""
    return re.match(CODE_PATTERN, code) is not None
