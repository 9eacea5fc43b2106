"""The inventory model: agencies and their information systems (HTTT).

These are the facts the requirements and the level rules read. A value of ``None`` means
*unknown*, which is different from ``False``/``0``: the evaluation says which unknown attribute
stopped it from deciding instead of guessing. Models are strict (unknown keys are errors) so a
misspelled key in an inventory never silently drops a fact, and they refuse impossible states
(an approved level without its decision, a level outside 1–5, a host that is not a plain target).

Every field carries a Vietnamese ``title`` and an English ``description``: the published JSON
Schema, the Excel headers, the CLI prompts and ``docs/inventory.md`` all read them from here, so
one list of fields drives every way in and out of the inventory.

It runs past 500 lines because it is one concept — the whole declared model with its value lists and
labels — and splitting the field definitions from their validators would separate each rule from
the field it guards.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from secaudit.inventory.targets import parse_target

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Code = Annotated[str, Field(pattern=CODE_PATTERN)]
#: Upper bound of a head count (users, data subjects): above the world's population, and far below
#: what SQLite can store (2**63 - 1), so a typo of many digits is an error at its line, not a crash.
MAX_COUNT = 10_000_000_000


#: Control characters, and what XML 1.0 cannot carry at all (surrogates, U+FFFE, U+FFFF — a YAML
#: escape such as "\uFFFE" produces them): the workbook export and the reports are XML.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _clean_text(value: str) -> str:
    """Refuse control characters: they are never meant, break Excel files and hide text in reports."""
    match = _CONTROL.search(value)
    if match:
        raise ValueError(
            f"chứa ký tự điều khiển {match.group()!r} / contains the control character {match.group()!r}"
        )
    return value


def _required_text(value: str) -> str:
    if not value:
        raise ValueError("không được để trống / must not be empty")
    return _clean_text(value)


def _blank_is_unknown(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("phải nằm trên một dòng / must be a single line")
    return value


def _optional_clean(value: str | None) -> str | None:
    return None if value is None else _clean_text(value)


#: Text that must be given (a blank string is an error, not an empty name).
Text = Annotated[str, AfterValidator(_required_text)]
#: Optional text: a blank string means the same as leaving it out (unknown), so "" never round-trips
#: differently through Excel, where an empty cell cannot be told apart from a missing one.
OptText = Annotated[str | None, BeforeValidator(_blank_is_unknown), AfterValidator(_optional_clean)]
Line = Annotated[str, AfterValidator(_required_text), AfterValidator(_one_line)]
Email = Annotated[
    Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None,
    BeforeValidator(_blank_is_unknown), AfterValidator(_optional_clean),
]
ServiceName = Annotated[
    Annotated[str, Field(pattern=r"^[^;\r\n]{1,64}$")] | None,
    BeforeValidator(_blank_is_unknown), AfterValidator(_optional_clean),
]


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


class AgencyRole(StrEnum):
    """A role the province's letters give one named agency beyond its kind (seed 000: who reports).

    The kind says what an agency is (a sở); the role says which one a duty names. Most agencies have
    none, so ``none`` is the default rather than unknown, as with ``RestrictedSector``.
    """

    NONE = "none"
    SCIENCE_TECH = "so-khcn"  # Sở Khoa học và Công nghệ: standing body of the provincial steering committee


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


IcsGrade = Literal["none", "IV", "III", "II", "I", "dac-biet"]
SignerAuthority = Literal["", "TM.", "KT.", "TL.", "Q.", "TUQ."]

#: Vietnamese labels of coded values, shown in Excel drop-downs and prompts. Import accepts either
#: the code or the label, so a workbook filled in by hand and one exported by secaudit both read back.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "AgencyKind": {
        "so-ban-nganh": "Sở, ban, ngành cấp tỉnh",
        "ubnd-tinh": "UBND tỉnh",
        "ubnd-xa": "UBND xã, phường, đặc khu",
        "cong-an": "Công an",
        "co-quan-dang": "Cơ quan Đảng",
        "khac": "Khác",
    },
    "AgencyRole": {
        "none": "Không có vai trò riêng",
        "so-khcn": "Sở Khoa học và Công nghệ (thường trực Ban Chỉ đạo tỉnh)",
    },
    "RestrictedSector": {
        "none": "Không thuộc quân sự, quốc phòng, cơ yếu",
        "quan-su": "Quân sự",
        "quoc-phong": "Quốc phòng",
        "co-yeu": "Cơ yếu",
    },
    "Hosting": {
        "trung-tam-du-lieu-rieng": "Trung tâm dữ liệu riêng của cơ quan",
        "trung-tam-du-lieu-tinh": "Trung tâm dữ liệu tỉnh",
        "dien-toan-dam-may": "Điện toán đám mây",
        "nha-cung-cap": "Hạ tầng của nhà cung cấp",
        "tai-co-quan": "Phòng máy chủ tại cơ quan",
    },
    "InfraScope": {
        "none": "Không cung cấp hạ tầng dùng chung",
        "co-quan": "Dùng chung trong cơ quan",
        "tinh": "Dùng chung cấp tỉnh",
        "bo-nganh": "Dùng chung bộ, ngành",
        "quoc-gia": "Dùng chung quốc gia",
    },
    "DossierState": {
        "chua-lap": "Chưa lập hồ sơ",
        "da-lap": "Đã lập hồ sơ",
        "da-trinh-tham-dinh": "Đã trình thẩm định",
        "da-tham-dinh": "Đã thẩm định",
        "da-phe-duyet": "Đã phê duyệt",
    },
    "IcsGrade": {
        "none": "Không phải hệ thống điều khiển công nghiệp",
        "IV": "Công trình cấp IV",
        "III": "Công trình cấp III",
        "II": "Công trình cấp II",
        "I": "Công trình cấp I",
        "dac-biet": "Công trình cấp đặc biệt",
    },
    "SignerAuthority": {
        "": "(ký trực tiếp)",
        "TM.": "TM.",
        "KT.": "KT.",
        "TL.": "TL.",
        "Q.": "Q.",
        "TUQ.": "TUQ.",
    },
}


class Contact(Strict):
    """A person: the security contact point (đầu mối) or the signer of reports."""

    name: Text = Field(title="Họ và tên", description="Full name")
    title: OptText = Field(default=None, title="Chức vụ", description="Position / job title")
    phone: OptText = Field(default=None, title="Điện thoại", description="Telephone number")
    email: Email = Field(
        default=None, title="Thư điện tử", description="E-mail address"
    )


class Signer(Strict):
    """Signature block of NĐ 30/2020: authority prefix (TM./KT./TL.), titles and name."""

    authority: SignerAuthority = Field(
        default="", title="Thẩm quyền ký", description="Authority prefix of the signature block (TM., KT., TL., …)"
    )
    on_behalf_of: OptText = Field(
        default=None, title="Ký thay/thừa lệnh cho", description="Title signed for, e.g. 'GIÁM ĐỐC' after KT."
    )
    title: Text = Field(title="Chức vụ người ký", description="Signer's position")
    name: Text = Field(title="Họ tên người ký", description="Signer's full name")


class PortSpec(Strict):
    """A port a host is expected to expose."""

    port: int = Field(ge=1, le=65535, title="Cổng", description="Port number")
    protocol: Literal["tcp", "udp"] = Field(default="tcp", title="Giao thức", description="Transport protocol")
    service: ServiceName = Field(
        default=None, title="Dịch vụ", description="Service expected on the port (e.g. https, ssh)"
    )


class Host(Strict):
    """A declared host of a system: IP, CIDR, hostname or URL, with its expected ports."""

    address: str = Field(
        title="Địa chỉ", description="One IP address, CIDR range, DNS host name or http(s) URL; nothing else"
    )
    ports: list[PortSpec] = Field(
        default_factory=list, title="Cổng dự kiến mở", description="Ports the host is expected to expose"
    )
    public_web: bool = Field(default=False, title="Web công khai", description="Serves a public website")
    note: OptText = Field(default=None, title="Ghi chú", description="Free note (role of the host)")

    @field_validator("address")
    @classmethod
    def _plain_target(cls, value: str) -> str:
        from secaudit.errors import InvalidTargetError

        try:
            parse_target(value)
        except InvalidTargetError as exc:
            raise ValueError(f"{exc.message} / {exc.en}" if exc.en else exc.message) from None
        return value

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, ports: list[PortSpec]) -> list[PortSpec]:
        seen: set[tuple[int, str]] = set()
        for spec in ports:
            if (spec.port, spec.protocol) in seen:
                raise ValueError(
                    f"cổng {spec.port}/{spec.protocol} khai báo hai lần / port {spec.port}/{spec.protocol} listed twice"
                )
            seen.add((spec.port, spec.protocol))
        return ports


class BodyKind(StrEnum):
    """Kinds of body that appraise or approve a level dossier: the authority rules (NĐ 331 Đ18) use these."""

    MPS = "bo-cong-an"  # Bộ Công an (its specialised force, Cục A05)
    MOD = "bo-quoc-phong"  # Bộ Quốc phòng: military systems (Đ18.3.b)
    CIPHER = "ban-co-yeu"  # Ban Cơ yếu Chính phủ: cơ yếu systems (Đ18.3.c)
    MIC = "bo-tttt"  # Bộ Thông tin và Truyền thông (old regime, until the 03/2025 transfer)
    SECURITY_UNIT = "don-vi-chuyen-trach"  # the owner's cyber-security unit (Đ3.2, Đ31.1.c)
    COUNCIL = "hoi-dong-doc-lap"  # independent appraisal council or designated subordinate unit (Đ18.4)
    OWNER = "chu-quan"  # chủ quản hệ thống thông tin (Đ4)
    PRIME_MINISTER = "thu-tuong"  # Thủ tướng Chính phủ (level-5 list, Đ18.3.đ)
    OTHER = "khac"


class SecurityHarm(StrEnum):
    """How badly sabotage would harm national security (NĐ 331 Đ13.1, Đ14.1, Đ15.1)."""

    HARM = "ton-hai"  # tổn hại (level 3)
    SERIOUS = "nghiem-trong"  # tổn hại nghiêm trọng (level 4)
    STRATEGIC = "dac-biet-nghiem-trong"  # strategic, tổn hại đặc biệt nghiêm trọng (level 5)


class AssignedBy(StrEnum):
    """Who set a level outside the criteria (NĐ 331 Đ11.2, Đ12.4, Đ13.5, Đ14.4, Đ15.5)."""

    PRIME_MINISTER = "thu-tuong"
    RISK_ASSESSMENT = "danh-gia-rui-ro"


VALUE_LABELS["BodyKind"] = {
    "bo-cong-an": "Bộ Công an", "bo-quoc-phong": "Bộ Quốc phòng", "ban-co-yeu": "Ban Cơ yếu Chính phủ",
    "bo-tttt": "Bộ Thông tin và Truyền thông", "don-vi-chuyen-trach": "Đơn vị chuyên trách về an ninh mạng",
    "hoi-dong-doc-lap": "Hội đồng thẩm định độc lập / đơn vị trực thuộc được giao", "chu-quan": "Chủ quản HTTT",
    "thu-tuong": "Thủ tướng Chính phủ", "khac": "Cơ quan, đơn vị khác",
}
VALUE_LABELS["SecurityHarm"] = {
    "ton-hai": "Tổn hại tới an ninh quốc gia", "nghiem-trong": "Tổn hại nghiêm trọng",
    "dac-biet-nghiem-trong": "Mang tính chiến lược, tổn hại đặc biệt nghiêm trọng",
}
VALUE_LABELS["AssignedBy"] = {"thu-tuong": "Thủ tướng Chính phủ quyết định", "danh-gia-rui-ro": "Đánh giá rủi ro"}


class NsConsequence(StrEnum):
    """The consequence of an incident that makes a system important to national security (NĐ 331 Đ16.3.a–g)."""

    NONE = "khong"
    A = "a"  # độc lập, chủ quyền, thống nhất, toàn vẹn lãnh thổ; chế độ, Nhà nước
    B = "b"  # hậu quả nghiêm trọng đến an ninh quốc gia, đối ngoại, khả năng phòng thủ
    C = "c"  # hậu quả nghiêm trọng đến nền kinh tế quốc dân
    D = "d"  # thảm họa đối với đời sống con người, môi trường sinh thái
    DD = "dd"  # hậu quả nghiêm trọng đến công trình xây dựng cấp đặc biệt
    E = "e"  # hoạch định chủ trương, chính sách thuộc phạm vi bí mật nhà nước
    G = "g"  # chỉ đạo điều hành trực tiếp của các cơ quan Đảng, Nhà nước ở trung ương


VALUE_LABELS["NsConsequence"] = {
    "khong": "Không gây hậu quả nào tại Đ16.3.a–g",
    "a": "a) Tác động đến độc lập, chủ quyền, thống nhất, toàn vẹn lãnh thổ, chế độ và Nhà nước",
    "b": "b) Hậu quả nghiêm trọng đến an ninh quốc gia, đối ngoại, khả năng phòng thủ",
    "c": "c) Hậu quả nghiêm trọng đến nền kinh tế quốc dân",
    "d": "d) Thảm họa đối với đời sống con người, môi trường sinh thái",
    "dd": "đ) Hậu quả nghiêm trọng đến công trình xây dựng cấp đặc biệt",
    "e": "e) Hậu quả nghiêm trọng đến hoạch định chủ trương, chính sách thuộc bí mật nhà nước",
    "g": "g) Ảnh hưởng nghiêm trọng đến chỉ đạo điều hành trực tiếp của cơ quan Đảng, Nhà nước ở trung ương",
}


class Level(Strict):
    """Security level (cấp độ) state of a system: proposal, appraisal, approval decision.

    Besides the dossier it holds the few determination inputs that only matter to the level rules
    (``secaudit.levels``, NĐ 331 Đ11–16); each stays ``None`` (unknown) until declared.

    Levels 1–5 are those of NĐ 331/2026 Đ11–15 (and NĐ 85/2016 before it). The checks below refuse
    states that cannot exist: an approved level without the decision that approved it, a decision
    without a level, or a dossier marked approved that carries no approved level.
    """

    proposed: int | None = Field(default=None, ge=1, le=5, title="Cấp độ đề xuất", description="Proposed level (1–5)")
    approved: int | None = Field(default=None, ge=1, le=5, title="Cấp độ được phê duyệt",
                                 description="Approved level (1–5)")
    dossier_state: DossierState = Field(default=DossierState.NONE, title="Tình trạng hồ sơ cấp độ",
                                        description="Progress of the level dossier")
    decision_number: OptText = Field(default=None, title="Số quyết định phê duyệt",
                                     description="Number of the approval decision")
    decision_date: dt.date | None = Field(default=None, title="Ngày quyết định phê duyệt",
                                          description="Date of the approval decision")
    appraised_by: OptText = Field(default=None, title="Đơn vị thẩm định", description="Body that appraised the dossier")
    approved_by: OptText = Field(default=None, title="Cấp phê duyệt", description="Body or person that approved it")
    regulation_date: dt.date | None = Field(
        default=None, title="Ngày ban hành quy chế ATTT",
        description="Date the system's security regulation (quy chế) was issued (NĐ 331 Đ30.7)",
    )
    # -- dossier tracking (NĐ 331 Đ18, Đ23–24, Đ39; Mẫu 08) --
    appraised_by_kind: BodyKind | None = Field(
        default=None, title="Loại đơn vị thẩm định",
        description="Kind of appraising body; when left out it is inferred from the name, and reported as inferred",
    )
    approved_by_kind: BodyKind | None = Field(default=None, title="Loại cấp phê duyệt",
                                              description="Kind of approving body (inferred from the name if left out)")
    submitted_date: dt.date | None = Field(
        default=None, title="Ngày nộp đủ hồ sơ thẩm định",
        description="Date the complete dossier reached the appraising body (NĐ 331 Đ23.3 time limit)",
    )
    appraised_date: dt.date | None = Field(default=None, title="Ngày có ý kiến thẩm định",
                                           description="Date of the appraisal opinion (Mẫu 04)")
    regulation_number: OptText = Field(default=None, title="Số quyết định ban hành quy chế",
                                       description="Number of the decision issuing the security regulation")
    expected_approval: dt.date | None = Field(default=None, title="Dự kiến thời điểm phê duyệt",
                                              description="Planned approval date while not approved (Mẫu 08 col. 9)")
    project_start: dt.date | None = Field(
        default=None, title="Ngày bắt đầu đầu tư, xây dựng",
        description="Start of investment/construction; decides the NĐ 331 Đ39.1 transition",
    )
    # -- determination inputs not covered by the System attributes --
    private_info: bool | None = Field(
        default=None, title="Xử lý thông tin riêng, thông tin cá nhân",
        description="Processes private or personal information (not only public information) (NĐ 331 Đ9.1)",
    )
    security_harm: SecurityHarm | None = Field(
        default=None, title="Mức tổn hại an ninh quốc gia khi bị phá hoại",
        description="Harm to national security if sabotaged (NĐ 331 Đ13.1, Đ14.1, Đ15.1)",
    )
    national_data_store: bool | None = Field(
        default=None, title="Lưu trữ tập trung dữ liệu đặc biệt quan trọng của quốc gia",
        description="Central store of especially important national data (NĐ 331 Đ15.2)",
    )
    international_link: bool | None = Field(
        default=None, title="Hạ tầng quốc gia kết nối với quốc tế",
        description="National infrastructure linking Vietnam internationally (NĐ 331 Đ15.3)",
    )
    ns_important: bool | None = Field(
        default=None, title="Đáp ứng tiêu chí HTTT quan trọng về ANQG",
        description="Meets a criterion of NĐ 331 Đ16.1–16.3 (important to national security)",
    )
    assigned_level: int | None = Field(
        default=None, ge=1, le=5, title="Cấp độ do Thủ tướng quyết định hoặc theo đánh giá rủi ro",
        description="Level set by the Prime Minister or by a risk assessment (NĐ 331 Đ11.2, Đ12.4–Đ15.5)",
    )
    assigned_by: AssignedBy | None = Field(default=None, title="Căn cứ cấp độ ấn định",
                                           description="Who set assigned_level")

    @model_validator(mode="after")
    def _approval_needs_decision(self) -> Level:
        if self.approved is not None and not (self.decision_number and self.decision_date):
            raise ValueError(
                "cấp độ đã phê duyệt phải có số và ngày quyết định / an approved level needs a decision number and date"
            )
        if self.approved is None and (self.decision_number or self.decision_date):
            raise ValueError(
                "có quyết định phê duyệt nhưng thiếu cấp độ được phê duyệt / a decision is given but no approved level"
            )
        if (self.approved is not None) != (self.dossier_state is DossierState.APPROVED):
            raise ValueError(
                "cấp độ được phê duyệt và tình trạng hồ sơ 'da-phe-duyet' phải đi cùng nhau"
                " / an approved level goes with dossier_state 'da-phe-duyet' and only with it"
            )
        return self


class System(Strict):
    """An information system (hệ thống thông tin) as the agency declares it."""

    code: Code = Field(title="Mã hệ thống", description="Short code, unique within the agency (a-z, 0-9, -, _)")
    name: Text = Field(title="Tên hệ thống", description="Name of the information system")
    purpose: OptText = Field(default=None, title="Mục đích", description="What the system is for")
    sector: OptText = Field(default=None, title="Lĩnh vực", description="Sector / field it serves")
    owner: OptText = Field(default=None, title="Chủ quản", description="Owner (chủ quản hệ thống thông tin)")
    operator: OptText = Field(default=None, title="Đơn vị vận hành", description="Operating unit")
    critical: bool | None = Field(default=None, title="Hệ thống trọng yếu", description="Critical system (trọng yếu)")
    restricted_sector: RestrictedSector = Field(
        default=RestrictedSector.NONE, title="Quân sự, quốc phòng, cơ yếu",
        description="Military, defence or cơ yếu (government cipher) system; excluded from KH 04 task 2, NĐ 331 Đ33.5",
    )
    admin_procedures: bool | None = Field(
        default=None, title="Phục vụ giải quyết TTHC",
        description="Handles administrative procedures, online or not (NĐ 331 Đ13.2.b); the online public "
                    "service stage is public_service_stage",
    )
    public_service_stage: int | None = Field(
        default=None, ge=0, le=4, title="Mức độ dịch vụ công trực tuyến cao nhất",
        description="Highest stage (mức độ 1–4) of the online public services it provides, 0 if none "
                    "(NĐ 85/2016 regime: stage 3–4 gives level 3)",
    )
    online_service: bool | None = Field(default=None, title="Cung cấp dịch vụ trực tuyến",
                                        description="Provides online services to the public")
    conditional_business: bool | None = Field(
        default=None, title="Dịch vụ thuộc ngành nghề kinh doanh có điều kiện",
        description="Online service in a conditional business line",
    )
    users: int | None = Field(default=None, ge=0, le=MAX_COUNT, title="Số người dùng", description="Number of users")
    data_subjects_basic: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, title="Số chủ thể dữ liệu cá nhân cơ bản",
        description="Number of people whose basic personal data the system holds",
    )
    data_subjects_sensitive: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, title="Số chủ thể dữ liệu cá nhân nhạy cảm",
        description="Number of people whose sensitive personal data the system holds",
    )
    state_secrets: bool | None = Field(default=None, title="Xử lý bí mật nhà nước",
                                       description="Processes state secrets")
    national_security_impact: bool | None = Field(
        default=None, title="Ảnh hưởng an ninh quốc gia khi bị xâm phạm",
        description="A compromise would harm national security",
    )
    industrial_control_grade: IcsGrade | None = Field(
        default=None, title="Hệ thống điều khiển công nghiệp (cấp công trình)",
        description="Industrial control system: grade of the works it controls ('none' if not ICS)",
    )
    infrastructure_scope: InfraScope | None = Field(
        default=None, title="Phạm vi hạ tầng dùng chung", description="Scope of shared infrastructure it provides"
    )
    national_egov_247: bool | None = Field(
        default=None, title="Hệ thống CPĐT quốc gia phải vận hành 24/7",
        description="National e-government system that must run 24/7 (NĐ 331 Đ14.2, first alternative)",
    )
    runs_247: bool | None = Field(
        default=None, title="Yêu cầu vận hành 24/7, không chấp nhận ngừng ngoài kế hoạch",
        description="Must run 24/7 and accepts no unplanned stop (NĐ 331 Đ14.2)",
    )
    ns_works: bool | None = Field(
        default=None, title="Phục vụ công trình quan trọng liên quan đến an ninh quốc gia",
        description="Controls, or serves the direction and operation of, works important to national security "
                    "(NĐ 331 Đ15.4, Đ16.1)",
    )
    ns_telecom_works: bool | None = Field(
        default=None, title="Phục vụ công trình viễn thông quan trọng liên quan đến ANQG",
        description="Serves the direction, operation or control of telecom works important to national security "
                    "(NĐ 331 Đ16.2)",
    )
    ns_sector: bool | None = Field(
        default=None, title="Thuộc lĩnh vực tại khoản 2 Điều 9 Luật An ninh mạng",
        description="Belongs to a field listed in Luật 116/2025 Đ9.2 (NĐ 331 Đ16.3)",
    )
    ns_consequence: NsConsequence | None = Field(
        default=None, title="Hậu quả khi bị sự cố (Đ16.3.a–g)",
        description="Consequence of an incident among NĐ 331 Đ16.3.a–g ('khong' if none)",
    )
    hosting: Hosting | None = Field(default=None, title="Nơi đặt hệ thống", description="Where the system is hosted")
    go_live: dt.date | None = Field(default=None, title="Ngày đưa vào vận hành", description="Go-live date")
    level: Level = Field(default_factory=Level, title="Cấp độ", description="Security level state")
    hosts: list[Host] = Field(default_factory=list, title="Địa chỉ khai báo",
                              description="Declared hosts and the ports each should expose")

    @field_validator("hosts")
    @classmethod
    def _unique_hosts(cls, hosts: list[Host]) -> list[Host]:
        seen: set[str] = set()
        for host in hosts:
            if host.address in seen:
                raise ValueError(f"địa chỉ '{host.address}' khai báo hai lần / host '{host.address}' listed twice")
            seen.add(host.address)
        return hosts

    @model_validator(mode="after")
    def _public_service_is_online_procedure(self) -> System:
        # an online public service is an administrative procedure offered online: a stage >= 1 with either
        # flag declared "no" is a contradiction the level rules would otherwise silently resolve
        if self.public_service_stage and (self.admin_procedures is False or self.online_service is False):
            raise ValueError(
                "public_service_stage ≥ 1 (có dịch vụ công trực tuyến) mâu thuẫn với admin_procedures/online_service"
                " = không / an online public service needs admin_procedures and online_service not false"
            )
        return self


class Agency(Strict):
    """An agency (cơ quan, đơn vị) and the systems it owns or operates."""

    code: Code = Field(title="Mã cơ quan", description="Short code of the agency (a-z, 0-9, -, _)")
    name: Text = Field(title="Tên cơ quan", description="Official name of the agency")
    kind: AgencyKind = Field(title="Loại cơ quan", description="Kind of agency")
    role: AgencyRole = Field(
        default=AgencyRole.NONE, title="Vai trò riêng",
        description="Role a provincial letter names this agency for (so-khcn: Sở KH&CN, which reports to UBND tỉnh)",
    )
    parent: OptText = Field(
        default=None, title="Cơ quan cấp trên", description="Parent body, printed above the name in reports"
    )
    province: Text = Field(default="Nghệ An", title="Tỉnh", description="Province")
    place: OptText = Field(default=None, title="Địa danh", description="Place name on documents (default: province)")
    symbol: OptText = Field(default=None, title="Chữ viết tắt", description="Abbreviation used in document numbers")
    private_data_centre: bool | None = Field(
        default=None, title="Có trung tâm dữ liệu riêng",
        description="Runs a private data centre (KH 04 task 6)",
    )
    security_contact: Contact | None = Field(default=None, title="Đầu mối an ninh mạng",
                                             description="Security contact point")
    signer: Signer | None = Field(default=None, title="Người ký báo cáo", description="Signer of reports")
    recipients: list[Line] = Field(default_factory=list, title="Nơi nhận", description="Recipients of reports")
    systems: list[System] = Field(default_factory=list, title="Hệ thống thông tin", description="Information systems")

    @field_validator("systems")
    @classmethod
    def _unique_system_codes(cls, systems: list[System]) -> list[System]:
        seen: set[str] = set()
        for system in systems:
            if system.code in seen:
                raise ValueError(f"mã hệ thống '{system.code}' bị lặp / duplicate system code '{system.code}'")
            seen.add(system.code)
        return systems


def slug_ok(code: str) -> bool:
    """True when ``code`` is a valid agency/system code."""
    return re.match(CODE_PATTERN, code) is not None
