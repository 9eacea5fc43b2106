"""Command line: thin click commands over the library.

Each command parses its options, calls one service function (``secaudit.services``) and formats
what it returns.
Errors from the library (``SecauditError``) become ``Error: …`` and an exit code in ``main`` —
the only place that catches them. Documents go to stdout or ``-o``; progress and summaries go to
stderr, so ``secaudit status --format json | jq`` stays clean.

Exit codes: 0 ok, 1 error, 2 usage, 3 requirements not met.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import click

from secaudit import __version__, clock
from secaudit.errors import EXIT_ERROR, EXIT_NOT_MET, EXIT_USAGE, SecauditError

F = Callable[..., Any]


class NotMet(click.exceptions.Exit):
    """Raised to leave with exit code 3 after the document was written."""

    def __init__(self) -> None:
        super().__init__(EXIT_NOT_MET)


# -- shared options -------------------------------------------------------------------------------
_WORKSPACE_HELP = "Thư mục workspace (mặc định $SECAUDIT_WORKSPACE hoặc ./.secaudit). / Workspace folder."
_ACTOR_HELP = "Tên người thực hiện ghi vào nhật ký (mặc định $SECAUDIT_ACTOR hoặc tên đăng nhập). / Who acts."


def _or_root(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """The value given after the command, else the one given before it (``secaudit -w DIR …``), else the
    environment's or the default."""
    if param.name is None or ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE:
        return value
    given = ctx.find_root().params.get(param.name)
    return given if given is not None else value


def workspace_option(func: F, *, help_text: str = _WORKSPACE_HELP) -> F:
    """``--workspace``/``-w``, also accepted before the command name (the later one wins)."""
    return click.option(
        "--workspace", "-w", "workspace", envvar="SECAUDIT_WORKSPACE", default=None, metavar="DIR",
        callback=_or_root, help=help_text,
    )(func)


def workspace_options(func: F) -> F:
    """``--workspace`` and ``--actor`` on every command that touches a workspace."""
    func = workspace_option(func)
    return click.option("--actor", default=None, metavar="NAME", callback=_or_root, help=_ACTOR_HELP)(func)


def _no_bom(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["secaudit.no_bom"] = True


def output_options(func: F) -> F:
    """``--format table|json|csv`` for listing commands, and ``--no-bom`` for their CSV."""
    func = click.option(
        "--no-bom", is_flag=True, expose_value=False, callback=_no_bom,
        help="CSV không có BOM UTF-8 (mặc định có, để Excel hiện đúng tiếng Việt). / CSV without the UTF-8 BOM.",
    )(func)
    return click.option(
        "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
        help="Định dạng đầu ra. / Output format.",
    )(func)


class DateParamError(click.BadParameter):
    """A bad date, told in Vietnamese first (click's own wording is English only)."""

    def format_message(self) -> str:
        where = self.param_hint or (self.param.get_error_hint(self.ctx) if self.param and self.ctx else None)
        head = f"Giá trị không hợp lệ cho {where}" if where else "Giá trị không hợp lệ"
        return f"{head}: {self.message}"


#: The days a date option accepts: deadlines and validity periods are computed from them, and a year
#: near 9999 would overflow the calendar.
DAYS = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))


class DateParam(click.ParamType):
    """A calendar day written dd/mm/yyyy (as Vietnamese documents do) or yyyy-mm-dd; converts to ``date``.

    The one date type of every date option, so each accepts the same forms and fails the same way.
    """

    name = "date"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DD/MM/YYYY"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        day = clock.parse_day(str(value))
        if day is not None and not DAYS[0] <= day <= DAYS[1]:
            raise DateParamError(
                f"'{value}' nằm ngoài khoảng {DAYS[0]:%d/%m/%Y}–{DAYS[1]:%d/%m/%Y} / out of range",
                ctx=ctx, param=param)
        if day is not None:
            return day
        raise DateParamError(
            f"'{value}' không phải ngày hợp lệ; viết dd/mm/yyyy (vd. 31/12/2026) hoặc yyyy-mm-dd"
            f" / not a valid date: use dd/mm/yyyy or yyyy-mm-dd", ctx=ctx, param=param)


DATE = DateParam()


def as_of_option(func: F) -> F:
    return click.option(
        "--as-of", "as_of", type=DATE, default=None,
        help="Đánh giá tại ngày này (mặc định hôm nay). / Evaluate as of this date (default today).",
    )(func)


def profile_option(func: F) -> F:
    return click.option(
        "--profile", "profile", default="tu-danh-gia", show_default=True,
        help="Hồ sơ đánh giá (profiles/*.yaml). / Assessment profile.",
    )(func)


def _open(workspace: str | None) -> Any:
    from secaudit.services.workspace import open_workspace

    return open_workspace(workspace)


def _actor(actor: str | None) -> str:
    from secaudit.services.workspace import actor_name

    return actor_name(actor)


def _date(value: dt.date | None) -> dt.date:
    return value or clock.today()


def _library() -> Any:
    from secaudit.services.workspace import library

    return library()


def _emit(text: str | bytes) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _note(message: str) -> None:
    click.echo(message, err=True)


def ui_lang() -> str:
    """The language of listings: English when $LANG starts with "en", else Vietnamese (the users')."""
    return "en" if os.environ.get("LANG", "").lower().startswith("en") else "vi"


# Column titles of every listing, by row key: (Vietnamese, English). A command may pass its own
# Vietnamese titles where a word needs context ("Tên cơ quan"); the English one comes from here.
HEADERS: dict[str, tuple[str, str]] = {
    "id": ("Số", "ID"), "seq": ("STT", "No."), "ts": ("Thời điểm", "Time"), "code": ("Mã", "Code"),
    "name": ("Tên", "Name"), "kind": ("Loại", "Kind"), "agency": ("Cơ quan", "Agency"),
    "system": ("Hệ thống", "System"), "systems": ("Số HTTT", "Systems"), "title": ("Nội dung", "Title"),
    "private_data_centre": ("TTDL riêng", "Own data centre"), "critical": ("Trọng yếu", "Critical"),
    "restricted_sector": ("Lĩnh vực hạn chế", "Restricted sector"), "hosting": ("Nơi đặt", "Hosting"),
    "level_proposed": ("Cấp đề xuất", "Proposed level"), "level_approved": ("Cấp phê duyệt", "Approved level"),
    "decision_number": ("Quyết định", "Decision"), "decision_date": ("Ngày quyết định", "Decision date"),
    "hosts": ("Địa chỉ", "Hosts"), "sha256": ("SHA-256", "SHA-256"), "original_name": ("Tên tệp", "File name"),
    "checklist": ("Bộ tiêu chí", "Checklist"), "item": ("Mục", "Item"), "backs": ("Yêu cầu", "Requirement"),
    "effective": ("Hiệu lực", "Effective"), "expires": ("Hết hạn", "Expires"), "size": ("Byte", "Bytes"),
    "added_at": ("Ngày thêm", "Added"), "actor": ("Người thực hiện", "Actor"), "note": ("Ghi chú", "Note"),
    "media_type": ("Kiểu tệp", "Media type"), "status": ("Trạng thái", "Status"),
    "answered_at": ("Thời điểm trả lời", "Answered at"), "evidence": ("Minh chứng", "Evidence"),
    "regime": ("Căn cứ", "Regime"), "suggested": ("Theo tiêu chí", "Suggested"),
    "suggested_min": ("Cấp tối thiểu", "Suggested min"), "suggested_max": ("Cấp tối đa", "Suggested max"),
    "certain": ("Chắc chắn", "Certain"), "proposed": ("Đề xuất", "Proposed"), "approved": ("Phê duyệt", "Approved"),
    "dossier_state": ("Hồ sơ", "Dossier"), "dossier_files": ("Tệp HS", "Dossier files"),
    "flags": ("Cảnh báo", "Flags"), "due": ("Hạn", "Due"), "errors": ("Lỗi", "Errors"),
    "action": ("Thao tác", "Action"), "subject": ("Đối tượng", "Subject"), "detail": ("Chi tiết", "Detail"),
    "hash": ("Mã băm", "Hash"), "prev_hash": ("Mã băm trước", "Previous hash"),
    "fingerprint": ("Dấu vân tay", "Fingerprint"), "common_name": ("Tên chứng thư", "Common name"),
    "not_before": ("Hiệu lực từ", "Valid from"), "not_after": ("Hiệu lực đến", "Valid until"),
    "valid": ("Thời hạn", "Validity"), "auto_apply": ("Tự áp dụng", "Auto-apply"),
    "profile": ("Hồ sơ quét", "Profile"), "source": ("Nguồn", "Source"), "started": ("Bắt đầu", "Started"),
    "finished": ("Kết thúc", "Finished"), "nmap_version": ("Phiên bản nmap", "nmap version"),
    "operator": ("Người quét", "Operator"), "xml_sha256": ("SHA-256 XML", "XML SHA-256"),
    "findings": ("Phát hiện", "Findings"), "address": ("Địa chỉ", "Address"), "port": ("Cổng", "Port"),
    "severity": ("Mức độ", "Severity"), "rule": ("Quy tắc", "Rule"), "first_seen": ("Thấy lần đầu", "First seen"),
    "last_seen": ("Thấy lần cuối", "Last seen"), "resolved": ("Đã khắc phục", "Resolved"),
    "change": ("Thay đổi", "Change"), "before": ("Trước", "Before"), "after": ("Sau", "After"),
    "area": ("Phần", "Area"), "key": ("Khóa", "Key"), "as_of": ("Tính đến", "As of"),
    "created": ("Lập lúc", "Created"), "imported_at": ("Nhập lúc", "Imported at"),
    "exported_by": ("Người xuất", "Exported by"), "file_name": ("Tên tệp", "File name"),
    "members": ("Thành phần", "Members"), "bytes": ("Byte", "Bytes"), "signature": ("Chữ ký", "Signature"),
    "signer": ("Người ký", "Signer"), "binding": ("Gắn chứng thư", "Binding"),
    "inventory_applied": ("Đã áp dụng kiểm kê", "Inventory applied"), "supersedes": ("Thay lần", "Supersedes"),
    "inventory_state": ("Kiểm kê", "Inventory"), "hosts_pending": ("Địa chỉ chờ", "Hosts pending"),
    "accepted_at": ("Chấp nhận lúc", "Accepted at"), "accepted_by": ("Người chấp nhận", "Accepted by"),
    "manifest_sha256": ("SHA-256 bản kê", "Manifest SHA-256"), "from": ("Từ ngày", "From"),
    "until": ("Đến ngày", "Until"), "in_force": ("Có hiệu lực", "In force"), "items": ("Số mục", "Items"),
    "parent": ("Thuộc", "Parent"), "scope": ("Phạm vi", "Scope"), "deadline": ("Hạn", "Deadline"),
    "applies_if": ("Áp dụng khi", "Applies if"), "basis": ("Căn cứ", "Basis"), "role": ("Vai trò", "Role"),
    "path": ("Đường dẫn", "Path"), "ok": ("Kết quả", "Check"), "reason": ("Lý do", "Reason"),
    "overdue": ("Quá hạn", "Overdue"), "stale": ("Cũ", "Stale"),
}
# Keys whose 0/1 values are yes/no (SQLite stores booleans as integers).
YES_NO_KEYS = frozenset({"private_data_centre", "critical", "in_force", "auto_apply", "certain", "stale",
                         "inventory_applied", "hosts_pending"})
YES_NO = {"vi": ("Có", "Không"), "en": ("Yes", "No")}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")


def _title(key: str, headers: dict[str, str] | None, lang: str) -> str:
    if lang == "vi" and headers and key in headers:
        return headers[key]
    known = HEADERS.get(key)  # a key not listed (an agency code in the status matrix) is its own title
    return key if known is None else known[0 if lang == "vi" else 1]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

# Level-review flags (secaudit.levels.review), as a listing names them: (Vietnamese, English).
LEVEL_FLAG_LABELS: dict[str, tuple[str, str]] = {
    "chua-phe-duyet": ("chưa phê duyệt cấp độ", "level not approved"),
    "de-xuat-thap": ("cấp đề xuất thấp hơn tiêu chí", "proposed level below the criteria"),
    "thap-hon-tieu-chi": ("cấp phê duyệt thấp hơn tiêu chí", "approved level below the criteria"),
    "co-the-thap-hon": ("cấp phê duyệt có thể thấp", "approved level may be too low"),
    "qua-du-kien": ("quá thời điểm dự kiến phê duyệt", "past the planned approval date"),
    "anqg": ("có thể quan trọng về an ninh quốc gia", "may be important to national security"),
    "chua-kiem-chung": ("tiêu chí chưa kiểm chứng", "criteria not verified"),
    "giu-cap-do": ("giữ cấp độ đã phê duyệt", "approved level kept"),
    "bien-phap-luat-moi": ("bổ sung biện pháp theo Luật An ninh mạng 2025", "measures of the 2025 law due"),
    "chua-ro-quy-che": ("chưa rõ ngày ban hành quy chế", "security regulation date unknown"),
    "quy-che-sau-phe-duyet": ("quy chế ban hành sau phê duyệt", "regulation issued after approval"),
    "tham-dinh-qua-han": ("thẩm định quá thời hạn", "appraisal took too long"),
    "phe-duyet-qua-han": ("phê duyệt quá thời hạn", "approval took too long"),
    "cho-tham-dinh-qua-han": ("chờ thẩm định quá hạn", "appraisal overdue"),
    "cho-phe-duyet-qua-han": ("chờ phê duyệt quá hạn", "approval overdue"),
    "chuyen-tiep-chua-ro": ("chưa rõ quy định chuyển tiếp", "transition unclear"),
    "chuyen-tiep": ("phải hoàn thành theo quy định chuyển tiếp", "transition deadline"),
    "chuyen-tiep-bien-phap": ("bổ sung biện pháp theo quy định chuyển tiếp", "transition measures due"),
    "thieu-tham-dinh": ("thiếu đơn vị thẩm định", "no appraising body"),
    "thieu-phe-duyet": ("thiếu cấp phê duyệt", "no approving body"),
    "khong-ro-tham-dinh": ("không rõ loại đơn vị thẩm định", "kind of appraising body unknown"),
    "khong-ro-phe-duyet": ("không rõ loại cấp phê duyệt", "kind of approving body unknown"),
    "sai-tham-quyen-tham-dinh": ("thẩm định sai thẩm quyền", "appraised by the wrong body"),
    "sai-tham-quyen-phe-duyet": ("phê duyệt sai thẩm quyền", "approved by the wrong body"),
}
FINDING_STATUS_LABELS = {"open": ("còn tồn tại", "open"), "new": ("mới", "new"),
                         "resolved": ("đã khắc phục", "resolved")}
FINDING_SEVERITY_LABELS = {"thap": ("thấp", "low"), "trung-binh": ("trung bình", "medium"), "cao": ("cao", "high"),
                           "nghiem-trong": ("nghiêm trọng", "critical")}
SCAN_STATUS_LABELS = {"complete": ("hoàn tất", "complete"), "incomplete": ("chưa trọn vẹn", "incomplete"),
                      "interrupted": ("bị ngắt", "interrupted"), "timed-out": ("quá thời gian", "timed out"),
                      "failed": ("thất bại", "failed"), "running": ("đang chạy", "running")}
HOST_STATE_LABELS = {"up": ("hoạt động", "up"), "down": ("không phản hồi", "down"),  # as the report says
                     "unknown": ("không xác định", "unknown")}
CHANGE_LABELS = {  # submissions diff and scan diff
    "added": ("thêm mới", "added"), "removed": ("bỏ đi", "removed"), "changed": ("thay đổi", "changed"),
    "new": ("phát hiện mới", "new"), "fixed": ("đã khắc phục", "fixed"),
    "not-rechecked": ("chưa quét lại", "not rechecked"), "host-state": ("trạng thái máy thay đổi", "host state"),
    "port-opened": ("cổng mới mở", "port opened"), "port-closed": ("cổng đã đóng", "port closed"),
}
SCOPE_LABELS = {"agency": ("cơ quan", "agency"), "system": ("hệ thống", "system")}
REGIME_LABELS = {"nd331": ("NĐ 331/2026", "Decree 331/2026"), "nd85": ("NĐ 85/2016", "Decree 85/2016")}
PROFILE_KIND_LABELS = {"assessment": ("đánh giá", "assessment"), "scan": ("quét", "scan")}
ACCOUNT_ROLE_LABELS = {"admin": ("quản trị", "admin"), "inspector": ("kiểm tra (Công an tỉnh)", "inspector"),
                       "officer": ("cán bộ cơ quan", "officer"), "viewer": ("chỉ xem", "viewer")}
_LABEL_CACHE: dict[str, dict[str, tuple[str, str]]] = {}


def code_labels() -> dict[str, dict[str, tuple[str, str]]]:
    """Row key -> code -> (Vietnamese, English) label, for the coded values of listings (statuses,
    kinds, dossier states, level flags…). Read when a listing is formatted, never for ``--help``."""
    if not _LABEL_CACHE:
        from secaudit.inventory.models import VALUE_LABELS
        from secaudit.requirements.content import EVIDENCE_KINDS
        from secaudit.requirements.results import LABELS

        def vi_only(table: dict[str, str]) -> dict[str, tuple[str, str]]:
            return {code: (label, code) for code, label in table.items() if code}

        statuses = {s.value: (LABELS["vi"][s], LABELS["en"][s]) for s in LABELS["vi"]}
        _LABEL_CACHE.update({
            "status": {**statuses, **FINDING_STATUS_LABELS, **SCAN_STATUS_LABELS},
            "kind": {**vi_only(VALUE_LABELS["AgencyKind"]), **EVIDENCE_KINDS, **PROFILE_KIND_LABELS},
            "role": {**vi_only(VALUE_LABELS["AgencyRole"]), **ACCOUNT_ROLE_LABELS},
            "change": CHANGE_LABELS,
            "scope": SCOPE_LABELS,
            "regime": REGIME_LABELS,
            "dossier_state": vi_only(VALUE_LABELS["DossierState"]),
            "hosting": vi_only(VALUE_LABELS["Hosting"]),
            "restricted_sector": vi_only(VALUE_LABELS["RestrictedSector"]),
            "severity": FINDING_SEVERITY_LABELS,
            "flags": LEVEL_FLAG_LABELS,
        })
    return _LABEL_CACHE


def _labelled(key: str, value: str, lang: str) -> str:
    """A coded value (or a comma-separated list of them, or one followed by a note in brackets) by its label."""
    table = code_labels().get(key)
    if not table:
        return value
    index = 0 if lang == "vi" else 1
    parts = []
    for part in value.split(", "):
        code, sep, rest = part.partition(" (")
        parts.append(table[code][index] + sep + rest if code in table else part)
    return ", ".join(parts)


def _shown(key: str, value: Any, lang: str, *, local_time: bool) -> Any:
    """A cell as people read it: yes/no in words and, in tables, codes by their labels, instants in
    Vietnam time and days as dd/mm/yyyy."""
    if isinstance(value, bool) or (key in YES_NO_KEYS and value in (0, 1)):
        return YES_NO[lang][0 if value else 1]
    if local_time and isinstance(value, str) and key in _LABELLED_KEYS:  # CSV and JSON keep the codes
        value = _labelled(key, value, lang)
    if local_time and isinstance(value, dt.datetime):
        return f"{value.astimezone(clock.VIETNAM):%d/%m/%Y %H:%M}" if value.tzinfo else f"{value:%d/%m/%Y %H:%M}"
    if local_time and isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    if local_time and isinstance(value, str) and _TIMESTAMP.fullmatch(value.strip()):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value
        return f"{moment.astimezone(clock.VIETNAM):%d/%m/%Y %H:%M}"
    if local_time and isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return f"{dt.date.fromisoformat(value.strip()):%d/%m/%Y}"
        except ValueError:
            return value
    return value


_LABELLED_KEYS = frozenset({"status", "kind", "dossier_state", "hosting", "restricted_sector", "severity", "flags",
                            "role", "change", "scope", "regime"})


def _bom_wanted() -> bool:
    ctx = click.get_current_context(silent=True)
    return not (ctx is not None and ctx.meta.get("secaudit.no_bom"))


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, headers: dict[str, str] | None = None,
                *, lang: str | None = None) -> str:
    """Rows as a table, JSON or CSV text (the listing formatter every command shares).

    Table and CSV have titled columns in the user's language (``ui_lang``) and yes/no in words;
    tables show instants in Vietnam time (dd/mm/yyyy HH:MM). JSON keeps the machine keys and ISO
    values. CSV starts with a UTF-8 BOM (Excel on Windows then reads Vietnamese right) unless the
    command got ``--no-bom``. Invisible format characters in the data are shown as ``<U+XXXX>`` in
    every format, and CSV cells that a spreadsheet would run as a formula get a leading apostrophe.
    """
    from secaudit.text import UTF8_BOM, csv_cell, visible, visible_data

    if fmt == "json":
        import json

        return json.dumps(visible_data(list(rows)), ensure_ascii=False, indent=2, default=str) + "\n"
    lang = lang or ui_lang()
    keys = list(headers or (rows[0].keys() if rows else []))
    titles = [_title(k, headers, lang) for k in keys]
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([csv_cell(t) for t in titles])
        writer.writerows([csv_cell(_cell_text(_shown(k, r.get(k), lang, local_time=False))) for k in keys]
                         for r in rows)
        return (UTF8_BOM if _bom_wanted() else "") + buf.getvalue()
    from tabulate import tabulate

    if not rows:
        return "(không có dữ liệu / no rows)\n"
    table = [[c if c is None or isinstance(c, int | float) else visible(str(c))
              for c in (_shown(k, r.get(k), lang, local_time=True) for k in keys)] for r in rows]
    return tabulate(table, headers=[visible(t) for t in titles], tablefmt="simple") + "\n"


def _cell_text(value: Any) -> Any:
    """A CSV cell as ``csv`` would write it (None empty), so list or dict values are escaped too."""
    if value is None or isinstance(value, int | float):
        return value
    return value if isinstance(value, str) else str(value)


# -- the group ----------------------------------------------------------------------------------
#: The commands defined outside this module: name -> (module of this package, first paragraph of its
#: help). ``secaudit --help`` lists them from here, so it imports none of the modules; a command's
#: module is imported when that command is looked up (to run it or show its help).
#: tests/test_cli.py checks this table against the commands the modules define.
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "agency": ("inventory",
        "Cơ quan, đơn vị: liệt kê, thêm, xem, sửa, xóa. / Agencies: list, add, show, edit, remove."),
    "answer": ("assess",
        "Ghi, xem câu trả lời từng mục (cho kịch bản). / Set and list single answers (for scripts)."),
    "assess": ("assess",
        "Đánh giá một cơ quan: hỏi từng mục, hoặc nhập/xuất tệp trả lời. / Assess an agency."),
    "bundle": ("bundle",
        "Gói hồ sơ gửi Công an tỉnh: xuất, kiểm tra, nhập. / Submission bundles: export, verify, import."),
    "checklist": ("content",
        "Bộ tiêu chí (yêu cầu dưới dạng dữ liệu). / Checklists."),
    "evidence": ("evidence",
        "Kho minh chứng (lưu theo SHA-256): thêm, liệt kê, xem, kiểm tra. / The evidence store."),
    "findings": ("scan",
        "Phát hiện qua các lần quét: lần đầu, lần cuối thấy, đã khắc phục. / Findings over time."),
    "inventory": ("inventory",
        "Danh mục hệ thống thông tin: nhập, xuất (YAML, Excel), kiểm tra. / Inventory import, export, validate."),
    "issuer": ("issuer",
        "Cơ quan ban hành văn bản của workspace (tiêu đề, số, người ký, nơi nhận). / The workspace's issuer."),
    "level": ("level",
        "Cấp độ hệ thống thông tin: xác định, theo dõi phê duyệt. / Security levels: determine, track approval."),
    "log": ("log",
        "Nhật ký thay đổi (chuỗi băm chống sửa). / The tamper-evident change log."),
    "profile": ("content",
        "Hồ sơ đánh giá (tự đánh giá, kiểm tra). / Assessment profiles."),
    "report": ("report",
        "Lập báo cáo minh chứng. / Render evidence reports."),
    "scan": ("scan",
        "Quét máy chủ đã khai báo bằng nmap; nhập, so sánh kết quả quét. / Scan declared hosts; import, compare."),
    "serve": ("serve",
        "Mở workspace trên trình duyệt (đăng nhập bằng tài khoản 'secaudit user add'). / Serve the workspace."),
    "sign-pdf": ("bundle",
        "Ký số một tệp PDF (PAdES, SHA-256). / Sign a PDF (PAdES)."),
    "status": ("assess",
        "Tình trạng từng nhiệm vụ theo cơ quan; thoát mã 3 nếu còn yêu cầu chưa đạt. / Status matrix."),
    "submissions": ("bundle",
        "Lịch sử các lần nộp gói và đối chiếu với dữ liệu của mình. / Submission history and comparison."),
    "system": ("inventory",
        "Hệ thống thông tin: liệt kê, thêm, xem, sửa, xóa. / Information systems: list, add, show, edit, remove."),
    "trust": ("trust",
        "Chứng thư ký được gắn với từng cơ quan (đặt một lần). / Agency ↔ signing-certificate bindings."),
    "user": ("user",
        "Tài khoản đăng nhập 'secaudit serve'. / Accounts of the web app."),
    "verify-pdf": ("bundle",
        "Kiểm tra chữ ký số trong một tệp PDF; mã thoát 1 nếu không hợp lệ. / Verify a PDF's signatures."),
    "waive": ("assess",
        "Miễn trừ một yêu cầu (CHECKLIST:ITEM) có thời hạn. / Waive a requirement until a date."),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The root group's ``commands``: every name of ``COMMAND_MODULES`` is there from the start, and
    looking one up imports its module (which adds its commands to ``cli``).

    Names (``in``, iteration, ``len``) cost nothing; ``values()``/``items()`` look every name up, so
    whatever walks the whole click tree (tests, shell completion) still sees every command.
    """

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._loaded: dict[str, click.Command] = {}
        self._modules = dict(modules)

    def loaded(self, name: str) -> click.Command | None:
        """The command if its module is imported already, else None (imports nothing)."""
        return self._loaded.get(name)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded and name in self._modules:
            importlib.import_module(f"{__name__}.{self._modules[name]}")
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._modules.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._loaded, *self._modules]))

    def __len__(self) -> int:
        return len(self._loaded.keys() | self._modules.keys())


class LazyGroup(click.Group):
    """The root group: its help lists every command from ``COMMAND_MODULES`` without importing them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands({name: module for name, (module, _) in COMMAND_MODULES.items()})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, with a command not imported yet standing in as a help-only placeholder."""
        commands = self.commands
        assert isinstance(commands, LazyCommands)
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            command = commands.loaded(name) or click.Command(name, help=COMMAND_MODULES[name][1])
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="secaudit")
@click.option("--verbose", "-v", is_flag=True, help="Hiện chi tiết lỗi (traceback). / Show tracebacks on error.")
@click.option("--workspace", "-w", "workspace", default=None, metavar="DIR",
              help=_WORKSPACE_HELP + " Cũng nêu được sau tên lệnh (nêu sau thì được dùng). / Also after the command"
                   " (that one wins).")
@click.option("--actor", default=None, metavar="NAME", help=_ACTOR_HELP)
@click.pass_context
def cli(ctx: click.Context, verbose: bool, workspace: str | None, actor: str | None) -> None:
    """secaudit — kiểm tra, đánh giá tuân thủ an ninh mạng cho hệ thống thông tin cơ quan nhà nước.

    Compliance and audit of information-system security for Vietnamese state agencies
    (Kế hoạch 04-KH/BCĐTW, Kế hoạch 92A/KH-UBND Nghệ An, Nghị định 331/2026/NĐ-CP).

    Exit codes: 0 ok, 1 error, 2 usage, 3 requirements not met.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose


@cli.command()
@workspace_options
def init(workspace: str | None, actor: str | None) -> None:
    """Tạo workspace mới (CSDL SQLite và kho minh chứng). / Create a new workspace."""
    from secaudit.services.workspace import init_workspace

    root = init_workspace(workspace, actor=actor)
    _note(f"Đã tạo workspace / created workspace: {root}")


# -- click's own messages, Vietnamese first ------------------------------------------------------
#: click words its usage errors in English; the common ones, as (English pattern, Vietnamese).
_CLICK_VI = [
    (r"No such command '(.+?)'\.", r"Không có lệnh '\1'."),
    (r"Did you mean '(.+?)'\?", r"Có phải là '\1'?"),
    (r"Did you mean one of: (.+?)\?", r"Có phải là một trong: \1?"),
    (r"No such option: (\S+)", r"Không có tùy chọn \1"),
    (r"No such option '(.+?)'\.", r"Không có tùy chọn '\1'."),
    (r"Missing argument '(.+?)'\.", r"Thiếu đối số '\1'."),
    (r"Missing option '(.+?)'\.", r"Thiếu tùy chọn '\1'."),
    (r"Missing command\.", r"Thiếu tên lệnh."),
    (r"Got unexpected extra arguments? \((.+?)\)", r"Thừa đối số (\1)"),
    (r"Option '(.+?)' requires an argument\.", r"Tùy chọn '\1' cần một giá trị."),
    (r"Option '(.+?)' does not take a value\.", r"Tùy chọn '\1' không nhận giá trị."),
    (r"Invalid value for (.+?): ", r"Giá trị không hợp lệ cho \1: "),
    (r"(?:File|Path|Directory) '(.+?)' does not exist\.", r"Không có tệp hoặc thư mục '\1'."),
    (r"(?:File|Path) '(.+?)' is a directory\.", r"'\1' là thư mục, không phải tệp."),
    (r"(?:File|Path|Directory) '(.+?)' is not readable\.", r"Không đọc được '\1'."),
    (r"'(.+?)' is not one of (.+?)\.", r"'\1' không phải một trong \2."),
    (r"'(.+?)' is not a valid integer( range)?\.", r"'\1' không phải số nguyên hợp lệ."),
    (r"Try '(.+?)' for help\.", r"Xem '\1'."),
]


def click_message_vi(text: str) -> str:
    """click's English message with the phrases it uses most put in Vietnamese (the rest left as is)."""
    for pattern, vietnamese in _CLICK_VI:
        text = re.sub(pattern, vietnamese, text)
    return text


def _show_click_error(exc: click.ClickException) -> None:
    """Like ``exc.show()``, the message Vietnamese first with click's English after " / " (English only
    when the listing language is English)."""
    if ui_lang() == "en" or isinstance(exc, DateParamError):
        exc.show()
        return
    english = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        click.echo(ctx.get_usage(), err=True)
        hint = f"{ctx.command_path} {ctx.help_option_names[0]}" if ctx.command.get_help_option(ctx) else ""
        if hint:
            click.echo(f"Xem '{hint}' để biết cách dùng. / Try '{hint}' for help.", err=True)
        click.echo("", err=True)
    vietnamese = click_message_vi(english)
    click.echo(f"Lỗi: {vietnamese}" + (f" / {english}" if vietnamese != english else ""), err=True)


# -- entry point --------------------------------------------------------------------------------
def _not_utf8(args: Sequence[str]) -> str | None:
    """The first argument that is not valid UTF-8 (bytes Python carries as lone surrogates), shown with
    its bytes escaped; None when every argument is text the workspace can store."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            try:
                return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:
                return ascii(arg)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the one place where library errors become messages and exit codes."""
    verbose = "-v" in (argv or sys.argv[1:]) or "--verbose" in (argv or sys.argv[1:])
    if (bad := _not_utf8(list(argv) if argv is not None else sys.argv[1:])) is not None:
        click.echo(f"Lỗi: đối số '{bad}' có byte không phải UTF-8 (tên tệp hay chữ viết bằng bảng mã cũ);"
                   " đổi tên tệp hoặc gõ lại bằng UTF-8 / an argument is not valid UTF-8", err=True)
        return EXIT_USAGE
    try:
        rc = cli.main(args=list(argv) if argv is not None else None, prog_name="secaudit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Đã hủy / aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        _show_click_error(exc)
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except SecauditError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        click.echo(f"Error: {exc.diagnostics()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Đã ngắt / interrupted", err=True)
        return 130
    return rc if isinstance(rc, int) else 0


__all__ = ["cli", "main"]
