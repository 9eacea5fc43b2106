"""What the pages say, Vietnamese first and English with ``?lang=en`` (codes never shown raw)."""

from __future__ import annotations

from typing import Any

UI: dict[str, dict[str, str]] = {
    "vi": {
        "app": "secaudit — an ninh mạng hệ thống thông tin", "signin": "Đăng nhập", "signout": "Đăng xuất",
        "username": "Tên đăng nhập", "password": "Mật khẩu", "dashboard": "Tổng hợp của tỉnh",
        "log": "Nhật ký thay đổi", "agency": "Cơ quan", "agencies": "Cơ quan", "systems": "Hệ thống thông tin",
        "system": "Hệ thống", "tasks": "Nhiệm vụ theo Kế hoạch 04-KH/BCĐTW", "task": "Nhiệm vụ",
        "status": "Kết quả", "deadline": "Thời hạn", "overdue": "Quá hạn", "evidence": "Minh chứng",
        "findings": "Phát hiện chưa khắc phục", "findings_all": "Phát hiện qua các lần quét",
        "submissions": "Hồ sơ đã nộp (gói dữ liệu)", "remaining": "Còn tồn tại, đầu mối và thời hạn",
        "filter": "Lọc", "clear_filter": "Bỏ lọc", "kind": "Loại cơ quan", "state": "Tình trạng", "any": "Tất cả",
        "search": "Tìm theo tên hoặc mã", "state_overdue": "Có nhiệm vụ quá hạn",
        "state_not_met": "Chưa đạt", "state_met": "Đạt tất cả", "task_open": "Nhiệm vụ chưa đạt",
        "totals": "Tổng số (theo bộ lọc)", "total_agencies": "Cơ quan", "total_compliant": "Đạt tất cả",
        "total_overdue": "Có quá hạn", "total_systems": "Hệ thống", "total_critical": "Trọng yếu",
        "total_approved": "Đã phê duyệt cấp độ", "shown_of": "Hiển thị {shown}/{all} cơ quan",
        "as_of": "Số liệu tính đến ngày", "downloads": "Tải báo cáo", "report_pdf": "Báo cáo (PDF)",
        "report_xlsx": "Bảng tính (XLSX)",
        "report_docx": "Văn bản Word (DOCX)", "report_json": "Dữ liệu (JSON)",
        "rollup_pdf": "Báo cáo tổng hợp tỉnh (PDF)",
        "level": "Cấp độ", "level_suggested": "Cấp độ theo tiêu chí", "level_proposed": "Cấp độ đề xuất",
        "level_approved": "Cấp độ được phê duyệt", "dossier": "Hồ sơ cấp độ", "decision": "Quyết định",
        "reasons": "Căn cứ xác định", "flags": "Lưu ý khi rà soát", "scans": "Các lần quét", "hosts": "Địa chỉ",
        "none": "Không có", "no_evidence": "Chưa có minh chứng", "critical": "Trọng yếu", "yes": "Có",
        "no": "Không", "code": "Mã", "name": "Tên", "started": "Bắt đầu", "profile": "Hồ sơ quét",
        "operator": "Người quét", "severity": "Mức độ", "address": "Địa chỉ", "port": "Cổng",
        "first_seen": "Thấy lần đầu", "last_seen": "Thấy lần cuối", "finding_status": "Tình trạng",
        "open": "Chưa khắc phục", "resolved": "Đã khắc phục", "title": "Nội dung", "reason": "Ghi chú",
        "owner": "Đầu mối", "log_intact": "Chuỗi băm toàn vẹn: {n} mục, băm cuối {head}",
        "log_broken": "Nhật ký KHÔNG toàn vẹn", "log_empty": "Nhật ký trống", "ts": "Thời điểm",
        "actor": "Người thực hiện", "action": "Thao tác", "subject": "Đối tượng", "seq": "STT",
        "imported_at": "Nhập lúc", "file_name": "Tệp", "signature": "Chữ ký", "accepted_at": "Chấp nhận lúc",
        "signed_in_as": "Đăng nhập: {user} ({role})", "not_found": "Không tìm thấy trang",
        "not_found_text": "Trang này không có, hoặc bạn không có quyền xem.", "forbidden": "Yêu cầu bị từ chối",
        "bad_form": "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.",
        "bad_method": "Trang này không nhận yêu cầu {method}.",
        "error": "Có lỗi", "server_error": "Máy chủ gặp lỗi; yêu cầu chưa được thực hiện.",
        "back": "Về trang chính", "more_rows": "… và {n} dòng nữa (xem đủ trong báo cáo hoặc JSON)",
        "other_lang": "English", "json": "JSON",
        "matrix_legend": "Mỗi ô: kết quả của nhiệm vụ; có chữ đỏ “Quá hạn” khi đã qua thời hạn mà chưa đạt.",
        "results": "Kết quả theo từng yêu cầu",
        "read_only": "Tài khoản chỉ xem không được thay đổi dữ liệu.",
        "throttled": "Đăng nhập sai quá nhiều lần; hãy thử lại sau.", "wrong": "Sai tên đăng nhập hoặc mật khẩu.",
        "systems_of": "{n} hệ thống", "purpose": "Mục đích", "expires": "Hết hạn", "kind_short": "Loại",
        "unverified_note": "Mục chưa có minh chứng hoặc quan sát được tính là chưa kiểm chứng, không phải đạt.",
        "inspection": "Kiểm tra hồ sơ",
        "contradictions": "Mâu thuẫn khai/kiểm tra",
    },
    "en": {
        "app": "secaudit — information-system security", "signin": "Sign in", "signout": "Sign out",
        "username": "User name", "password": "Password", "dashboard": "Province overview",
        "log": "Change log", "agency": "Agency", "agencies": "Agencies", "systems": "Information systems",
        "system": "System", "tasks": "Tasks of Plan 04-KH/BCĐTW", "task": "Task", "status": "Result",
        "deadline": "Deadline", "overdue": "Overdue", "evidence": "Evidence", "findings": "Open findings",
        "findings_all": "Findings across scans", "submissions": "Submitted bundles",
        "remaining": "What remains, who and by when", "filter": "Filter", "clear_filter": "Clear",
        "kind": "Agency kind",
        "state": "State", "any": "All", "search": "Search by name or code", "state_overdue": "Has overdue tasks",
        "state_not_met": "Not met", "state_met": "All met", "task_open": "Task not met",
        "totals": "Totals (following the filter)", "total_agencies": "Agencies", "total_compliant": "All met",
        "total_overdue": "With overdue", "total_systems": "Systems", "total_critical": "Critical",
        "total_approved": "Level approved", "shown_of": "Showing {shown} of {all} agencies", "as_of": "As of",
        "downloads": "Download reports", "report_pdf": "Report (PDF)", "report_xlsx": "Workbook (XLSX)",
        "report_docx": "Word document (DOCX)",
        "report_json": "Data (JSON)", "rollup_pdf": "Province roll-up (PDF)", "level": "Level",
        "level_suggested": "Level by the criteria", "level_proposed": "Proposed level",
        "level_approved": "Approved level", "dossier": "Level dossier", "decision": "Decision",
        "reasons": "Why", "flags": "Review notes", "scans": "Scans", "hosts": "Hosts", "none": "None",
        "no_evidence": "No evidence yet", "critical": "Critical", "yes": "Yes", "no": "No", "code": "Code",
        "name": "Name", "started": "Started", "profile": "Scan profile", "operator": "Operator",
        "severity": "Severity", "address": "Address", "port": "Port", "first_seen": "First seen",
        "last_seen": "Last seen", "finding_status": "State", "open": "Open", "resolved": "Resolved",
        "title": "Title", "reason": "Note", "owner": "Owner",
        "log_intact": "Hash chain intact: {n} entries, head {head}",
        "log_broken": "The log is NOT intact", "log_empty": "The log is empty", "ts": "Time", "actor": "Actor",
        "action": "Action", "subject": "Subject", "seq": "No.", "imported_at": "Imported", "file_name": "File",
        "signature": "Signature", "accepted_at": "Accepted", "signed_in_as": "Signed in: {user} ({role})",
        "not_found": "Page not found", "not_found_text": "This page does not exist, or you may not see it.",
        "forbidden": "Request refused", "bad_form": "The form expired or is invalid. Reload the page and try again.",
        "bad_method": "This page does not accept a {method} request.",
        "error": "Error", "server_error": "The server failed; nothing was done.", "back": "Back to the start",
        "more_rows": "… and {n} more rows (see the report or the JSON)", "other_lang": "Tiếng Việt", "json": "JSON",
        "matrix_legend": "Each cell: the task's result; a red “Overdue” when its deadline passed unmet.",
        "results": "Results per requirement",
        "read_only": "A read-only account cannot change data.",
        "throttled": "Too many failed sign-ins; try again later.", "wrong": "Wrong user name or password.",
        "systems_of": "{n} systems", "purpose": "Purpose", "expires": "Expires", "kind_short": "Kind",
        "unverified_note": "An item without evidence or observation counts as unverified, never as met.",
        "inspection": "Inspection",
        "contradictions": "Claim/verification contradictions",
    },
}

AGENCY_KINDS: dict[str, dict[str, str]] = {
    "en": {"so-ban-nganh": "Provincial department", "ubnd-tinh": "Provincial People's Committee",
           "ubnd-xa": "Commune/ward People's Committee", "cong-an": "Police", "co-quan-dang": "Party body",
           "khac": "Other"},
}
SEVERITY = {
    "vi": {"nghiem-trong": "Nghiêm trọng", "cao": "Cao", "trung-binh": "Trung bình", "thap": "Thấp"},
    "en": {"nghiem-trong": "Critical", "cao": "High", "trung-binh": "Medium", "thap": "Low"},
}
DOSSIER_EN = {"chua-lap": "Not prepared", "da-lap": "Prepared", "da-trinh-tham-dinh": "Submitted for appraisal",
              "da-tham-dinh": "Appraised", "da-phe-duyet": "Approved"}
SCAN_STATUS = {
    "vi": {"complete": "Hoàn tất", "incomplete": "Chưa đầy đủ", "timed-out": "Quá thời gian", "running": "Đang quét",
           "interrupted": "Bị ngắt", "failed": "Lỗi"},
    "en": {"complete": "Complete", "incomplete": "Incomplete", "timed-out": "Timed out", "running": "Running",
           "interrupted": "Interrupted", "failed": "Failed"},
}


#: Audit-log action codes as the log page shows them (the code stays in the JSON twin and as a tooltip).
ACTIONS = {
    "vi": {"workspace.init": "Tạo workspace", "web.signin": "Đăng nhập", "web.signout": "Đăng xuất",
           "user.add": "Thêm tài khoản", "user.passwd": "Đổi mật khẩu", "user.enable": "Mở lại tài khoản",
           "user.disable": "Khoá tài khoản", "agency.add": "Thêm cơ quan", "agency.edit": "Sửa cơ quan",
           "agency.remove": "Xoá cơ quan", "system.add": "Thêm hệ thống", "system.edit": "Sửa hệ thống",
           "system.remove": "Xoá hệ thống", "inventory.import": "Nhập danh mục hệ thống",
           "answer.set": "Ghi câu trả lời/kết luận", "waiver.add": "Thêm miễn trừ", "evidence.add": "Thêm minh chứng",
           "evidence.limit": "Đổi giới hạn minh chứng", "assess.start": "Bắt đầu tự đánh giá",
           "assess.finish": "Kết thúc tự đánh giá", "scan.start": "Bắt đầu rà quét", "scan.run": "Ghi kết quả rà quét",
           "scan.import": "Nhập kết quả rà quét", "scan.province": "Rà quét toàn tỉnh",
           "scan.abandoned": "Lần quét bị bỏ dở", "bundle.export": "Xuất gói hồ sơ",
           "submission.import": "Nhận gói hồ sơ", "submission.accept": "Chấp nhận địa chỉ khai báo",
           "trust.add": "Đăng ký chứng thư", "trust.remove": "Huỷ đăng ký chứng thư",
           "issuer.set": "Khai đơn vị ban hành", "report.note": "Ghi nội dung báo cáo"},
    "en": {"workspace.init": "Workspace created", "web.signin": "Signed in", "web.signout": "Signed out",
           "user.add": "Account added", "user.passwd": "Password changed", "user.enable": "Account enabled",
           "user.disable": "Account disabled", "agency.add": "Agency added", "agency.edit": "Agency edited",
           "agency.remove": "Agency removed", "system.add": "System added", "system.edit": "System edited",
           "system.remove": "System removed", "inventory.import": "Inventory imported",
           "answer.set": "Answer/verdict recorded", "waiver.add": "Waiver added", "evidence.add": "Evidence added",
           "evidence.limit": "Evidence limit changed", "assess.start": "Assessment started",
           "assess.finish": "Assessment finished", "scan.start": "Scan started", "scan.run": "Scan recorded",
           "scan.import": "Scan imported", "scan.province": "Province scan", "scan.abandoned": "Scan abandoned",
           "bundle.export": "Bundle exported", "submission.import": "Bundle received",
           "submission.accept": "Declared hosts accepted", "trust.add": "Certificate bound",
           "trust.remove": "Certificate unbound", "issuer.set": "Issuer set", "report.note": "Report text written"},
}

def labels(lang: str) -> dict[str, Any]:
    """Every label table a template needs for ``lang``."""
    from secaudit.inventory.models import VALUE_LABELS
    from secaudit.requirements.results import LABELS
    from secaudit.store.accounts import ROLE_LABELS

    kinds = VALUE_LABELS["AgencyKind"] if lang == "vi" else AGENCY_KINDS["en"]
    dossier = VALUE_LABELS["DossierState"] if lang == "vi" else DOSSIER_EN
    return {
        "T": UI[lang], "status": {s.value: text for s, text in LABELS[lang].items()}, "kind": kinds,
        "severity": SEVERITY[lang], "dossier": dossier, "role": ROLE_LABELS[lang], "scan": SCAN_STATUS[lang],
        "actions": ACTIONS[lang],
    }
