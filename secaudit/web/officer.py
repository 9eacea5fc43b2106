"""The officer's work in the browser (issue 19): answering requirements with evidence, downloading
evidence, the inventory and answers workbooks.

Every page checks that the signed-in user may read the agency (404 otherwise, as app.py does);
every POST goes through ``app.action`` (session, CSRF token, same origin, no viewer) and names the
signed-in user as the actor of what the services record. Writing is for the agency's officer and
the admin; an inspector reads these pages but records verdicts on the inspector's side.

Uploads: the request's declared size is checked before it is read; each file is then checked
(empty, over the workspace's evidence limit, a type not accepted, contents not matching the name)
before anything is stored; names are reduced to a harmless last path part (bidi and control
characters removed) and the change is said. Refused uploads store nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from secaudit.errors import InputError, SecauditError
from secaudit.requirements.evidence import hash_file
from secaudit.web.app import (
    View,
    action,
    json_response,
    not_found,
    page,
    readable_by,
    render,
    request_as_of,
    request_lang,
    wants_json,
)

MAX_FILES = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

TEXTS: dict[str, dict[str, str]] = {
    "vi": {
        "assess": "Tự đánh giá", "assess_intro": "Chọn một yêu cầu để trả lời cho tất cả hệ thống một lần,"
        " kèm ngoại lệ cho từng hệ thống nếu có.", "answer": "Trả lời", "item": "Yêu cầu", "checklist": "Bộ tiêu chí",
        "for_all": "Kết quả chung cho tất cả hệ thống", "for_agency": "Kết quả cho cơ quan",
        "exceptions": "Ngoại lệ cho từng hệ thống (để trống: theo kết quả chung)", "same": "Theo kết quả chung",
        "keep": "Giữ như hiện tại", "st_dat": "Đạt", "st_chua-dat": "Chưa đạt", "st_khong-ap-dung": "Không áp dụng",
        "note": "Ghi chú (nêu căn cứ, số văn bản…)", "effective": "Có hiệu lực từ ngày (dd/mm/yyyy)",
        "expires": "Minh chứng hết hiệu lực ngày (dd/mm/yyyy, nếu có)",
        "files": "Tệp minh chứng (có thể chọn nhiều tệp)",
        "kind": "Loại minh chứng", "limit": "Mỗi tệp tối đa {mb} MB; nhận PDF, Word, Excel, ảnh PNG/JPG, văn bản.",
        "needs": "Để được tính", "save": "Lưu câu trả lời", "saved": "Đã lưu câu trả lời.",
        "now": "Hiện tại", "current_answer": "Đã trả lời", "no_answer": "Chưa trả lời",
        "stored": "Tệp đã lưu (mã SHA-256)", "renamed": "Tên tệp '{old}' đã được đổi thành '{new}' cho an toàn.",
        "after": "Kết quả sau khi lưu", "waivers": "Miễn trừ", "waiver_add": "Ghi nhận miễn trừ",
        "waiver_reason": "Lý do miễn trừ", "waiver_by": "Người phê duyệt",
        "waiver_until": "Miễn trừ đến ngày (dd/mm/yyyy)",
        "waiver_system": "Hệ thống", "waiver_saved": "Đã ghi nhận miễn trừ số {n}.",
        "back_list": "Về danh sách yêu cầu",
        "refused": "Không lưu gì: hãy sửa các lỗi dưới đây rồi gửi lại.", "guidance": "Hướng dẫn",
        "basis": "Căn cứ", "systems_col": "Hệ thống", "open_item": "Trả lời",
        "too_big": "Yêu cầu gửi lên quá lớn (tối đa {mb} MB mỗi tệp, {n} tệp một lần). Không có gì được lưu.",
        "inventory": "Danh mục hệ thống", "inventory_intro": "Tải bảng tính danh mục của cơ quan, điền hoặc sửa"
        " trong Excel, rồi tải lên. Bảng tính được nhập tất cả hoặc không gì cả; lỗi chỉ rõ trang tính và ô.",
        "inv_download": "Tải bảng tính danh mục của cơ quan (XLSX)", "inv_template": "Tải mẫu trống (XLSX)",
        "inv_upload": "Tải lên bảng tính danh mục đã điền", "inv_saved": "Đã nhập danh mục: {summary}",
        "ans_download": "Tải bảng tính câu trả lời (XLSX)", "ans_upload": "Tải lên bảng tính câu trả lời đã điền",
        "ans_saved": "Đã nhập câu trả lời: {summary}", "workbook": "Bảng tính (.xlsx)", "upload": "Tải lên",
        "errors_at": "Lỗi theo trang tính và ô", "other_agency": "Bảng tính có cơ quan khác ({codes}): cán bộ chỉ"
        " được nhập danh mục của cơ quan mình ({own}).", "no_write": "Chỉ cán bộ của cơ quan (hoặc quản trị)"
        " được thay đổi dữ liệu của cơ quan này.", "no_file": "Chưa chọn tệp nào.", "download": "Tải về",
        "workbooks": "Bảng tính", "evidence_of": "Tệp đã có",
        "narrative": "Lời văn của báo cáo", "narrative_intro": "Viết nội dung từng mục của báo cáo cho một kỳ"
        " (năm 2026, một ngày dd/mm/yyyy hoặc khoảng dd/mm/yyyy-dd/mm/yyyy). Mục để trống được lập tự động từ"
        " số liệu. Mỗi lần lưu thêm một bản mới, được ghi nhật ký.", "period": "Kỳ báo cáo", "show": "Xem",
        "section_save": "Lưu mục này", "written_by": "Viết bởi {actor} lúc {at} (kỳ {period})",
        "not_written": "Chưa viết: báo cáo dùng câu tự động từ số liệu.", "note_saved": "Đã lưu mục “{title}”.",
        "bundle": "Gói dữ liệu gửi Công an tỉnh", "bundle_intro": "Tải gói dữ liệu (ZIP, có bảng băm SHA-256"
        " từng tệp) của cơ quan để gửi cho đoàn kiểm tra. Gói tải từ trình duyệt chưa ký số; muốn ký, dùng"
        " lệnh secaudit bundle export --sign trên máy có chứng thư số.", "bundle_export": "Tải gói dữ liệu (ZIP)",
        "reports": "Tải báo cáo", "system_new": "Thêm hệ thống", "system_edit": "Sửa hệ thống {code}",
        "system_saved": "Đã lưu hệ thống {code}.", "hosts_title": "Địa chỉ khai báo (dùng để quét)",
        "hosts_help": "Mỗi dòng một địa chỉ: ĐỊA CHỈ | CỔNG | WEB CÔNG KHAI | GHI CHÚ, ví dụ"
        " '10.0.0.5 | 443/tcp https | có | máy chủ web'. Chỉ các địa chỉ khai báo ở đây mới được quét.",
        "system_save": "Lưu hệ thống", "edit": "Sửa", "required": "bắt buộc", "unknown": "Chưa rõ",
        "drop_here": "Hoặc kéo thả tệp vào khung này.", "file_too_big": "quá giới hạn, sẽ bị từ chối",
    },
    "en": {
        "assess": "Self-assessment", "assess_intro": "Pick a requirement to answer it for every system at once,"
        " with per-system exceptions if needed.", "answer": "Answer", "item": "Requirement", "checklist": "Checklist",
        "for_all": "Result for every system", "for_agency": "Result for the agency",
        "exceptions": "Per-system exceptions (empty: the common result)", "same": "Common result",
        "keep": "Keep as it is", "st_dat": "Met", "st_chua-dat": "Not met", "st_khong-ap-dung": "Not applicable",
        "note": "Note (basis, document numbers…)", "effective": "In force from (dd/mm/yyyy)",
        "expires": "Evidence expires on (dd/mm/yyyy, if any)", "files": "Evidence files (several allowed)",
        "kind": "Kind of evidence", "limit": "Each file at most {mb} MB; PDF, Word, Excel, PNG/JPG images, text.",
        "needs": "To count", "save": "Save the answer", "saved": "Answer saved.", "now": "Now",
        "current_answer": "Answered", "no_answer": "Not answered", "stored": "Stored files (SHA-256)",
        "renamed": "The file name '{old}' was changed to '{new}' for safety.", "after": "Result after saving",
        "waivers": "Waivers", "waiver_add": "Record a waiver", "waiver_reason": "Reason",
        "waiver_by": "Approved by", "waiver_until": "Waived until (dd/mm/yyyy)", "waiver_system": "System",
        "waiver_saved": "Waiver {n} recorded.", "back_list": "Back to the requirements",
        "refused": "Nothing was stored: fix the errors below and send again.", "guidance": "Guidance",
        "basis": "Basis", "systems_col": "Systems", "open_item": "Answer",
        "too_big": "The upload is too large (at most {mb} MB per file, {n} files at once). Nothing was stored.",
        "inventory": "Systems inventory", "inventory_intro": "Download the agency's inventory workbook, fill or"
        " edit it in Excel, then upload it. All or nothing; errors name the sheet and cell.",
        "inv_download": "Download the agency's inventory workbook (XLSX)", "inv_template": "Empty template (XLSX)",
        "inv_upload": "Upload the filled inventory workbook", "inv_saved": "Inventory imported: {summary}",
        "ans_download": "Download the answers workbook (XLSX)", "ans_upload": "Upload the filled answers workbook",
        "ans_saved": "Answers imported: {summary}", "workbook": "Workbook (.xlsx)", "upload": "Upload",
        "errors_at": "Errors by sheet and cell", "other_agency": "The workbook holds other agencies ({codes}):"
        " an officer imports only their own agency ({own}).", "no_write": "Only the agency's officer (or an admin)"
        " may change this agency's data.", "no_file": "No file chosen.", "download": "Download",
        "workbooks": "Workbooks", "evidence_of": "Files already linked",
        "narrative": "The report's text", "narrative_intro": "Write each part of the report for a period (a"
        " year, a day dd/mm/yyyy or a range dd/mm/yyyy-dd/mm/yyyy). An empty part is written from the facts."
        " Each save adds a new version and is logged.", "period": "Period", "show": "Show",
        "section_save": "Save this part", "written_by": "Written by {actor} at {at} (period {period})",
        "not_written": "Not written: the report uses sentences from the facts.", "note_saved": "Saved “{title}”.",
        "bundle": "Bundle for the provincial police", "bundle_intro": "Download the agency's bundle (ZIP with"
        " a SHA-256 manifest) for the inspectors. A bundle from the browser is unsigned; to sign it use"
        " secaudit bundle export --sign where the certificate is.", "bundle_export": "Download the bundle (ZIP)",
        "reports": "Download reports", "system_new": "Add a system", "system_edit": "Edit system {code}",
        "system_saved": "System {code} saved.", "hosts_title": "Declared hosts (what may be scanned)",
        "hosts_help": "One host a line: ADDRESS | PORTS | PUBLIC WEB | NOTE, e.g."
        " '10.0.0.5 | 443/tcp https | yes | web server'. Only hosts declared here are ever scanned.",
        "system_save": "Save the system", "edit": "Edit", "required": "required", "unknown": "Unknown",
        "drop_here": "Or drop files on this box.", "file_too_big": "over the limit, will be refused",
    },
}


def _o(request: Request) -> dict[str, str]:
    return TEXTS[request_lang(request)]


def _writer(session: Any, code: str) -> bool:
    """Who may change an agency's self-assessment and inventory: its officer, or an admin."""
    user = session.user
    return not user.read_only and (user.role == "admin" or (user.role == "officer" and user.agency == code))


def _refuse_write(request: Request, session: Any) -> Response:
    return render(request, "error.html.j2", status=403, session=session, title_key="forbidden",
                  message=_o(request)["no_write"])


def _limit_mb(limit: int) -> str:
    return f"{limit / 1048576:.3g}"


# -- upload bound ---------------------------------------------------------------------------------
def bounded(inner: Callable[[Request], Awaitable[Response]], *, files: int) -> Callable[[Request], Awaitable[Response]]:
    """Refuse before reading it a request whose declared size exceeds ``files`` times the workspace's
    evidence limit (plus the form fields), or that declares none; then ``inner`` (an ``action``)."""

    async def endpoint(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        from secaudit.web.app import opened

        def limit() -> int:
            with opened(request) as ws:
                return int(ws.evidence_max_bytes())

        per_file = await run_in_threadpool(limit)
        declared = request.headers.get("content-length")
        if declared is None or not declared.isdigit() or int(declared) > per_file * files + 1_000_000:
            text = _o(request)["too_big"].format(mb=_limit_mb(per_file), n=files)
            return render(request, "error.html.j2", status=413, title_key="error", message=text)
        return await inner(request)

    return endpoint


class Uploads:
    """The files of one form, checked and copied under their neutralised names into a private folder."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.folder = Path(tempfile.mkdtemp(prefix="secaudit-upload-"))
        self.paths: list[Path] = []
        self.errors: list[str] = []
        self.notes: list[str] = []

    def take(self, form: Any, field: str, o: dict[str, str]) -> None:
        from secaudit.services.answering import check_upload, safe_name

        for upload in form.getlist(field):
            if isinstance(upload, str) or not getattr(upload, "filename", None):
                continue
            name, changed = safe_name(upload.filename)
            if changed:
                self.notes.append(o["renamed"].format(old=_printable(upload.filename), new=name))
            upload.file.seek(0)
            head = upload.file.read(16)
            upload.file.seek(0, 2)
            size = upload.file.tell()
            upload.file.seek(0)
            problem = check_upload(name, head, size, self.limit)
            if problem:
                self.errors.append(problem)
                continue
            target = self.folder / name
            n = 1
            while target.exists():
                n += 1
                target = self.folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
            with target.open("wb") as out:
                shutil.copyfileobj(upload.file, out, 1 << 20)
            self.paths.append(target)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _printable(text: str) -> str:
    from secaudit.text import visible

    return visible(text)


# -- assessment -----------------------------------------------------------------------------------
@page
def assessment(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.answering import assessment_items

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    data = assessment_items(ws, code, as_of=request_as_of(request), lang=request_lang(request))
    data["agency_name"] = _agency_name(ws, code)
    return View("officer_assess.html.j2", data, extra={"O": _o(request), "can_write": _writer(session, code)})


def _agency_name(ws: Any, code: str) -> str:
    row = ws.db.execute("select name from agencies where code = ?", [code]).fetchone()
    return str(row[0]) if row else code


def _item_view(request: Request, ws: Any, session: Any, code: str, ref: str, *, status: int = 200,
               **extra: Any) -> Response:
    from secaudit.services.answering import assessment_item

    data = assessment_item(ws, code, ref, as_of=request_as_of(request), lang=request_lang(request))
    data["agency_name"] = _agency_name(ws, code)
    data["agency_code"] = code
    if wants_json(request):
        shown = {k: v for k, v in extra.items() if k in ("saved", "stored", "errors", "notes")}
        return json_response({**data, **shown}, status)
    return render(request, "officer_item.html.j2", status=status, session=session, d=data, O=_o(request),
                  can_write=_writer(session, code), limit_mb=_limit_mb(data["limit"]),
                  **{"saved": None, "stored": [], "errors": [], "notes": [], "after": [], "message": None,
                     "posted": {}, **extra})


@page
def item(request: Request, ws: Any, session: Any) -> View | Response:
    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    return _item_view(request, ws, session, code, f"{request.path_params['checklist']}:{request.path_params['item']}")


@action(writes=True, max_files=MAX_FILES)
def _save_answer(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.answering import answer_item, assessment_item, parse_date

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    ws.require_agency(code)
    ref = f"{request.path_params['checklist']}:{request.path_params['item']}"
    o = _o(request)
    data = assessment_item(ws, code, ref, as_of=request_as_of(request), lang=request_lang(request))
    uploads = Uploads(int(data["limit"]))
    try:
        uploads.take(form, "files", o)
        errors = list(uploads.errors)
        chosen: dict[str | None, str] = {}
        common = str(form.get("all", "")).strip()
        if data["scope"] == "agency":
            if common:
                chosen[None] = common
        else:
            for system in data["systems"]:
                own = str(form.get(f"ex-{system}", "")).strip()
                if own:
                    chosen[system] = own
                elif common:
                    chosen[system] = common
        if not chosen:
            errors.append("Chưa chọn kết quả (Đạt / Chưa đạt / Không áp dụng) cho hệ thống nào.")
        try:
            effective = parse_date(str(form.get("effective", "")), "Ngày có hiệu lực")
            expires = parse_date(str(form.get("expires", "")), "Ngày hết hiệu lực")
        except InputError as exc:
            errors.append(exc.message)
            effective = expires = None
        posted = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        if errors:
            return _item_view(request, ws, session, code, ref, status=400, errors=errors, notes=uploads.notes,
                              message=o["refused"], posted=posted)
        kind = str(form.get("kind", "")).strip() or None
        try:
            after = answer_item(ws, code, ref, answers=chosen, note=str(form.get("note", "")).strip() or None,
                                effective=effective, expires=expires, files=uploads.paths, kind=kind,
                                as_of=request_as_of(request), actor=session.user.username)
        except SecauditError as exc:
            return _item_view(request, ws, session, code, ref, status=400, errors=[exc.message], notes=uploads.notes,
                              message=o["refused"], posted=posted)
        stored = [{"name": p.name, "sha256": hash_file(p), "size": p.stat().st_size} for p in uploads.paths]
        return _item_view(request, ws, session, code, ref, saved=o["saved"], stored=stored, notes=uploads.notes,
                          after=after)
    finally:
        uploads.close()


save_answer = bounded(_save_answer, files=MAX_FILES)


@action(writes=True)
def waiver(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.answering import parse_date, waive_item

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    ws.require_agency(code)
    ref = f"{request.path_params['checklist']}:{request.path_params['item']}"
    o = _o(request)
    request_as_of(request)  # the page shown after saving reads it: a bad ?as_of= is refused before anything is stored
    try:
        until = parse_date(str(form.get("until", "")), "Ngày hết hạn miễn trừ")
        number = waive_item(ws, code, ref, system=str(form.get("system", "")).strip() or None,
                            reason=str(form.get("reason", "")), approved_by=str(form.get("approved_by", "")),
                            until=until, actor=session.user.username)
    except InputError as exc:
        return _item_view(request, ws, session, code, ref, status=400, errors=[exc.message], message=o["refused"])
    return _item_view(request, ws, session, code, ref, saved=o["waiver_saved"].format(n=number))


# -- evidence download ----------------------------------------------------------------------------
@page
def evidence_download(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.answering import evidence_file

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    path, name, media = evidence_file(ws, code, request.path_params["sha256"])
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return FileResponse(path, media_type=media, headers={
        "content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "x-content-type-options": "nosniff"})


# -- inventory and answers workbooks --------------------------------------------------------------
@page
def inventory(request: Request, ws: Any, session: Any) -> View | Response:
    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    return _inventory_view(request, ws, session, code)


def _inventory_view(request: Request, ws: Any, session: Any, code: str, *, status: int = 200,
                    **extra: Any) -> Response:
    from secaudit.services.inventory import list_systems

    data = {"agency_code": code, "agency_name": _agency_name(ws, code), "systems": list_systems(ws, code)}
    if wants_json(request):
        return json_response({**data, **{k: v for k, v in extra.items() if k in ("saved", "problems")}}, status)
    return render(request, "officer_inventory.html.j2", status=status, session=session, d=data, O=_o(request),
                  can_write=_writer(session, code),
                  **{"saved": None, "problems": [], "message": None, **extra})


@page
def inventory_workbook(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.inventory import export_inventory, write_template

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    folder = Path(tempfile.mkdtemp(prefix="secaudit-xlsx-"))
    try:
        out = folder / "ds.xlsx"
        if request.query_params.get("mau"):
            write_template(out)
            name = "mau-danh-muc.xlsx"
        else:
            export_inventory(ws, out, "xlsx", agencies=[code])
            name = f"danh-muc-{code}.xlsx"
        body = out.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Response(body, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'})


@page
def answers_workbook(request: Request, ws: Any, session: Any) -> View | Response:
    from secaudit.services.assessment import answers_workbook as write

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    folder = Path(tempfile.mkdtemp(prefix="secaudit-xlsx-"))
    try:
        out = folder / "tl.xlsx"
        write(ws, code, out, as_of=request_as_of(request))
        body = out.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Response(body, media_type=XLSX,
                    headers={"content-disposition": f'attachment; filename="tra-loi-{code}.xlsx"'})


def _workbook_upload(request: Request, ws: Any, session: Any, form: Any,
                     run: Callable[[Path], str]) -> Response:
    """Take the one uploaded workbook, hand it to ``run`` (which imports it, all or nothing) and show
    the result, or every problem by sheet and cell next to the form."""
    from secaudit.services.answering import check_upload, safe_name
    from secaudit.services.evidence import evidence_limit

    code = request.path_params["code"]
    o = _o(request)
    upload = form.get("workbook")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _inventory_view(request, ws, session, code, status=400, problems=[("", o["no_file"])],
                               message=o["refused"])
    upload.file.seek(0)
    head = upload.file.read(16)
    upload.file.seek(0, 2)
    size = upload.file.tell()
    upload.file.seek(0)
    problem = check_upload("bang-tinh.xlsx", head, size, evidence_limit(ws))
    if problem is None and not str(upload.filename).lower().endswith(".xlsx"):
        problem = "Hãy tải lên tệp bảng tính Excel (.xlsx)."
    if problem:
        return _inventory_view(request, ws, session, code, status=400, problems=[("", problem)], message=o["refused"])
    folder = Path(tempfile.mkdtemp(prefix="secaudit-xlsx-"))
    try:
        path = folder / "bang-tinh.xlsx"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        try:
            saved = run(path)
        except SecauditError as exc:
            raw = list(getattr(exc, "problems", None) or [(exc.where or "", exc.message)])
            shown, _ = safe_name(str(upload.filename))
            problems = [(str(where).replace(str(path), shown), _vi_part(str(text), request)) for where, text in raw]
            return _inventory_view(request, ws, session, code, status=400, problems=problems, message=o["refused"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _inventory_view(request, ws, session, code, saved=saved)


@action(writes=True, max_files=1)
def _upload_inventory(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.inventory import import_inventory, validate_inventory

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    ws.require_agency(code)
    o = _o(request)

    def run(path: Path) -> str:
        found = validate_inventory(path)
        others = sorted({a.code for a in found} - {code})
        if others:
            raise InputError(o["other_agency"].format(codes=", ".join(others), own=code))
        summary = import_inventory(ws, path, actor=session.user.username)
        return o["inv_saved"].format(summary=_summary(summary))

    return _workbook_upload(request, ws, session, form, run)


@action(writes=True, max_files=1)
def _upload_answers(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.assessment import import_answers

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    ws.require_agency(code)
    o = _o(request)

    def run(path: Path) -> str:
        summary = import_answers(ws, code, path, actor=session.user.username)
        return o["ans_saved"].format(summary=_summary(summary))

    return _workbook_upload(request, ws, session, form, run)


def _vi_part(text: str, request: Request) -> str:
    """A bilingual "vi / en" message: the part in the page's language."""
    parts = text.split(" / ")
    return parts[-1] if request_lang(request) == "en" and len(parts) > 1 else parts[0]


SUMMARY_WORDS = {"agencies": "cơ quan", "systems": "hệ thống", "hosts": "địa chỉ", "answers": "câu trả lời",
                 "waivers": "miễn trừ", "evidence": "tệp minh chứng", "created": "thêm mới", "updated": "cập nhật",
                 "unchanged": "không đổi", "skipped": "bỏ qua", "recorded": "đã ghi"}


def _summary(summary: Any) -> str:
    import dataclasses

    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        parts = [f"{SUMMARY_WORDS.get(k, k)}: {v if not isinstance(v, (list, tuple, set, dict)) else len(v)}"
                 for k, v in dataclasses.asdict(summary).items()]
        return "; ".join(parts)
    return str(summary)


upload_inventory = bounded(_upload_inventory, files=1)
upload_answers = bounded(_upload_answers, files=1)


# -- one system's form ---------------------------------------------------------------------------------
def _system_view(request: Request, ws: Any, session: Any, code: str, system: str | None, *, status: int = 200,
                 posted: dict[str, str] | None = None, hosts: str | None = None, **extra: Any) -> Response:
    from secaudit.services.inventory_forms import system_form

    data = system_form(ws, code, system, posted, hosts)
    data.update(agency_code=code, agency_name=_agency_name(ws, code))
    if wants_json(request):
        return json_response({**data, **{k: v for k, v in extra.items() if k in ("saved", "problems")}}, status)
    return render(request, "officer_system.html.j2", status=status, session=session, d=data, O=_o(request),
                  can_write=_writer(session, code), **{"saved": None, "problems": [], "field_errors": {}, **extra})


@page
def system_form_page(request: Request, ws: Any, session: Any) -> View | Response:
    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    system = request.path_params.get("system")
    if system is None:
        ws.require_agency(code)
    else:
        ws.system_id(code, system)
    return _system_view(request, ws, session, code, system)


@action(writes=True)
def save_system_form(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.inventory import field_specs
    from secaudit.services.inventory_forms import save_system

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    system = request.path_params.get("system")
    if system is None:
        ws.require_agency(code)
    else:
        ws.system_id(code, system)
    specs = field_specs("system")
    keys = {spec.key for spec in specs}
    posted = {k: str(v) for k, v in form.items() if k in keys}
    hosts = str(form.get("hosts", ""))
    try:
        saved = save_system(ws, code, system, posted, hosts, actor=session.user.username)
    except SecauditError as exc:
        raw = list(getattr(exc, "problems", None) or [(exc.where or "", exc.message)])
        options = {spec.option: spec.key for spec in specs}
        problems = [(str(where), _vi_part(str(text), request)) for where, text in raw]
        field_errors = {options[w]: t for w, t in problems if w in options}
        return _system_view(request, ws, session, code, system, status=400, posted=posted, hosts=hosts,
                            problems=problems, field_errors=field_errors)
    return _system_view(request, ws, session, code, saved, saved=_o(request)["system_saved"].format(code=saved))


# -- the report's narrative and the bundle ------------------------------------------------------------
def _narrative_view(request: Request, ws: Any, session: Any, code: str, period: str | None, *, status: int = 200,
                    **extra: Any) -> Response:
    from secaudit.services.answering import report_sections
    from secaudit.services.reports import report_notes

    lang = request_lang(request)
    written = {n["section"]: n for n in report_notes(ws, code, period=period)}
    data = {"agency_code": code, "agency_name": _agency_name(ws, code), "period": period or "",
            "sections": [{"section": s, "title": title, "note": written.get(s)}
                         for s, title in report_sections(lang)]}
    if wants_json(request):
        return json_response({**data, **{k: v for k, v in extra.items() if k in ("saved", "errors")}}, status)
    return render(request, "officer_narrative.html.j2", status=status, session=session, d=data, O=_o(request),
                  can_write=_writer(session, code), **{"saved": None, "errors": [], **extra})


@page
def narrative(request: Request, ws: Any, session: Any) -> View | Response:
    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    ws.require_agency(code)
    period = request.query_params.get("ky") or None
    try:
        return _narrative_view(request, ws, session, code, period)
    except InputError as exc:
        return _narrative_view(request, ws, session, code, None, status=400, errors=[exc.message])


@action(writes=True)
def save_narrative(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.answering import report_sections
    from secaudit.services.reports import report_note

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    ws.require_agency(code)
    period = str(form.get("ky", "")).strip() or None
    section = str(form.get("section", ""))
    try:
        report_note(ws, code, section, str(form.get("text", "")), period=period, actor=session.user.username)
    except InputError as exc:
        return _narrative_view(request, ws, session, code, None, status=400, errors=[exc.message])
    title = dict(report_sections(request_lang(request)))[section]
    return _narrative_view(request, ws, session, code, period, saved=_o(request)["note_saved"].format(title=title))


@action(writes=True)
def export_bundle(request: Request, ws: Any, session: Any, form: Any) -> Response:
    from secaudit.services.exchange import export_bundle as export

    code = request.path_params["code"]
    if not readable_by(session, code):
        return not_found(request, session)
    if not _writer(session, code):
        return _refuse_write(request, session)
    ws.require_agency(code)
    as_of = request_as_of(request)
    folder = Path(tempfile.mkdtemp(prefix="secaudit-bundle-"))
    try:
        out = folder / f"goi-{code}-{as_of:%Y%m%d}.zip"
        export(ws, code, out, as_of=as_of, actor=session.user.username, lang=request_lang(request))
        body = out.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Response(body, media_type="application/zip",
                    headers={"content-disposition": f'attachment; filename="goi-{code}-{as_of:%Y%m%d}.zip"'})


#: The officer's routes (``secaudit.web.site`` adds them to the app).
ROUTES: list[tuple[str, Callable[..., Any], list[str], str]] = [
    ("/co-quan/{code}/danh-gia.json", assessment, ["GET"], "officer_assess_json"),
    ("/co-quan/{code}/danh-gia", assessment, ["GET"], "officer_assess"),
    ("/co-quan/{code}/danh-gia/bang-tinh.xlsx", answers_workbook, ["GET"], "officer_answers_xlsx"),
    ("/co-quan/{code}/danh-gia/bang-tinh", upload_answers, ["POST"], "officer_answers_upload"),
    ("/co-quan/{code}/danh-gia/{checklist}/{item}.json", item, ["GET"], "officer_item_json"),
    ("/co-quan/{code}/danh-gia/{checklist}/{item}", item, ["GET"], "officer_item"),
    ("/co-quan/{code}/danh-gia/{checklist}/{item}", save_answer, ["POST"], "officer_answer"),
    ("/co-quan/{code}/danh-gia/{checklist}/{item}/mien-tru", waiver, ["POST"], "officer_waiver"),
    ("/co-quan/{code}/minh-chung/{sha256}", evidence_download, ["GET"], "officer_evidence"),
    ("/co-quan/{code}/danh-muc.json", inventory, ["GET"], "officer_inventory_json"),
    ("/co-quan/{code}/danh-muc", inventory, ["GET"], "officer_inventory"),
    ("/co-quan/{code}/danh-muc/bang-tinh.xlsx", inventory_workbook, ["GET"], "officer_inventory_xlsx"),
    ("/co-quan/{code}/danh-muc/bang-tinh", upload_inventory, ["POST"], "officer_inventory_upload"),
    ("/co-quan/{code}/danh-muc/them-he-thong", system_form_page, ["GET"], "officer_system_new"),
    ("/co-quan/{code}/danh-muc/them-he-thong", save_system_form, ["POST"], "officer_system_add"),
    ("/co-quan/{code}/danh-muc/he-thong/{system}.json", system_form_page, ["GET"], "officer_system_json"),
    ("/co-quan/{code}/danh-muc/he-thong/{system}", system_form_page, ["GET"], "officer_system_form"),
    ("/co-quan/{code}/danh-muc/he-thong/{system}", save_system_form, ["POST"], "officer_system_save"),
    ("/co-quan/{code}/bao-cao-viet.json", narrative, ["GET"], "officer_narrative_json"),
    ("/co-quan/{code}/bao-cao-viet", narrative, ["GET"], "officer_narrative"),
    ("/co-quan/{code}/bao-cao-viet", save_narrative, ["POST"], "officer_narrative_save"),
    ("/co-quan/{code}/goi-du-lieu", export_bundle, ["POST"], "officer_bundle"),
]
