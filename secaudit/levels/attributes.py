"""The inventory attributes the level rules may read, with what each means and which values it takes.

The rule files are checked against this list (:func:`secaudit.levels.rules.check_condition`), the
facts are read from the inventory by it, and the determination enumerates an unknown attribute's
answers from its domain: one list keeps the three in step.
"""

from __future__ import annotations

from typing import Any

from secaudit.inventory.models import AssignedBy, InfraScope, NsConsequence, RestrictedSector, SecurityHarm

_ICS = ("none", "IV", "III", "II", "I", "dac-biet")
#: attribute -> (Vietnamese description, domain: "bool" | "int" | tuple of allowed values)
ATTRIBUTES: dict[str, tuple[str, Any]] = {
    "system.online_service": ("cung cấp dịch vụ trực tuyến", "bool"),
    "system.admin_procedures": ("giải quyết thủ tục hành chính", "bool"),
    "system.public_service_stage": ("mức độ dịch vụ công trực tuyến cao nhất (0 = không có)", (0, 1, 2, 3, 4)),
    "system.conditional_business": ("dịch vụ thuộc ngành, nghề kinh doanh có điều kiện", "bool"),
    "system.users": ("số người sử dụng", "int"),
    "system.data_subjects_basic": ("số chủ thể dữ liệu cá nhân cơ bản", "int"),
    "system.data_subjects_sensitive": ("số chủ thể dữ liệu cá nhân nhạy cảm", "int"),
    "system.state_secrets": ("xử lý thông tin bí mật nhà nước", "bool"),
    "system.national_security_impact": ("phục vụ quốc phòng, an ninh; bị phá hoại sẽ tổn hại ANQG", "bool"),
    "system.industrial_control_grade": ("hệ thống điều khiển công nghiệp: cấp công trình", _ICS),
    "system.infrastructure_scope": ("phạm vi hạ tầng thông tin dùng chung", tuple(s.value for s in InfraScope)),
    "system.national_egov_247": ("HTTT quốc gia phục vụ Chính phủ điện tử, vận hành 24/7", "bool"),
    "system.runs_247": ("yêu cầu vận hành 24/7, không chấp nhận ngừng ngoài kế hoạch", "bool"),
    "system.ns_works": ("điều khiển hoặc phục vụ chỉ đạo, điều hành công trình quan trọng liên quan đến ANQG",
                        "bool"),
    "system.ns_telecom_works": ("phục vụ công trình viễn thông quan trọng liên quan đến ANQG", "bool"),
    "system.ns_sector": ("thuộc lĩnh vực tại khoản 2 Điều 9 Luật An ninh mạng", "bool"),
    "system.ns_consequence": ("hậu quả khi bị sự cố theo Đ16.3.a–g", tuple(c.value for c in NsConsequence)),
    "system.restricted_sector": ("lĩnh vực quân sự, quốc phòng, cơ yếu", tuple(s.value for s in RestrictedSector)),
    "system.private_info": ("xử lý thông tin riêng, thông tin cá nhân (level.private_info)", "bool"),
    "system.security_harm": ("mức tổn hại ANQG khi bị phá hoại (level.security_harm)",
                             tuple(s.value for s in SecurityHarm)),
    "system.national_data_store": ("lưu trữ tập trung dữ liệu đặc biệt quan trọng (level.national_data_store)",
                                   "bool"),
    "system.international_link": ("hạ tầng quốc gia kết nối với quốc tế (level.international_link)", "bool"),
    "system.ns_important": ("chủ quản khai đáp ứng tiêu chí Đ16, không nêu khoản (level.ns_important)", "bool"),
    "system.assigned_level": ("cấp độ do Thủ tướng quyết định / theo đánh giá rủi ro (level.assigned_level)",
                              (1, 2, 3, 4, 5)),
    "system.assigned_by": ("căn cứ cấp độ ấn định (level.assigned_by)", tuple(s.value for s in AssignedBy)),
}
#: Inventory fields of the system (``System``) and of its level record (``System.level``) the rules read.
SYSTEM_FIELDS = ("online_service", "admin_procedures", "public_service_stage", "conditional_business", "users",
                 "data_subjects_basic", "data_subjects_sensitive", "state_secrets", "national_security_impact",
                 "industrial_control_grade", "infrastructure_scope", "national_egov_247", "runs_247", "ns_works",
                 "ns_telecom_works", "ns_sector", "ns_consequence", "restricted_sector")
LEVEL_FIELDS = ("private_info", "security_harm", "national_data_store", "international_link", "ns_important",
                "assigned_level", "assigned_by")
BOOL_ATTRS = {a for a, (_, d) in ATTRIBUTES.items() if d == "bool"}
LABEL_SETS = {
    "system.industrial_control_grade": "IcsGrade", "system.infrastructure_scope": "InfraScope",
    "system.restricted_sector": "RestrictedSector", "system.security_harm": "SecurityHarm",
    "system.assigned_by": "AssignedBy", "system.ns_consequence": "NsConsequence",
}
