"""The inspector's work in the browser (issue 19): bundles received and verified, claims next to the
inspector's own verification, verdicts, the inspection report and the roll-up, and scans.

Everything here is for the inspector and the admin only: an officer gets 404 (exactly as for a page
that does not exist), a viewer 403. Scans are the same rule: an officer cannot start one from the
browser, because on a shared server the scan runs from the server's own network position against
declared hosts the server's operator never reviewed; the CLI's scan is run by whoever owns the
machine and its scope, which in the served app is the inspector (bundles' declared hosts reach the
scan scope only when the inspector accepts them).

Every handler calls the same service functions as the CLI (``services.exchange``, ``services.issuer``,
``services.inspector``) and names the signed-in user as the actor.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from secaudit.errors import SecauditError
from secaudit.web import app
from secaudit.web.app import View, action, page, render

#: The largest bundle accepted through the browser (the CLI reads bundles from disk with no such bound).
MAX_BUNDLE_BYTES = 512 << 20
CHUNK = 1 << 20
ROLES = ("inspector", "admin")
REPORT_TYPES = {"pdf": "application/pdf",
                "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "home": "Kiểm tra hồ sơ các cơ quan", "upload": "Nhận gói hồ sơ của cơ quan",
        "upload_help": "Chọn tệp .zip cơ quan gửi (lập bằng “secaudit bundle export”). Gói được kiểm tra toàn bộ:"
                       " cấu trúc, mã băm từng tệp, nhật ký, chữ ký số; chỉ gói hợp lệ mới được nhập.",
        "file": "Tệp gói (.zip)", "send": "Kiểm tra và nhập", "max": "Tối đa {mb} MB.",
        "valid": "HỢP LỆ", "invalid": "KHÔNG HỢP LỆ — gói không được nhập, dữ liệu không thay đổi",
        "received": "Kết quả kiểm tra gói", "sha": "SHA-256 của tệp đã nhận", "size": "Dung lượng",
        "renamed": "Tên tệp có ký tự không an toàn nên được hiển thị là “{name}”.",
        "imported": "Đã nhập lần nộp #{id} của {agency}.", "duplicate": "Gói này đã được nhập (lần nộp #{id});"
                    " không thay đổi gì.", "problems": "Lý do",
        "empty": "Tệp rỗng: hãy chọn đúng tệp gói .zip.", "too_big": "Tệp quá lớn: tối đa {mb} MB.",
        "no_file": "Chưa chọn tệp gói.", "no_length": "Trình duyệt không gửi kích thước tệp; hãy thử lại.",
        "not_zip": "Chỉ nhận tệp gói .zip do secaudit lập.",
        "host_changes": "Thay đổi địa chỉ khai báo (phạm vi quét) chờ chấp nhận",
        "host_help": "Cơ quan khai các địa chỉ dưới đây. Chúng chỉ vào phạm vi quét khi bạn chấp nhận.",
        "accept": "Chấp nhận kiểm kê và địa chỉ khai báo của lần nộp #{id}", "accepted": "Đã chấp nhận.",
        "change": "Thay đổi", "before": "Đang quét", "after": "Cơ quan khai", "added": "thêm", "removed": "bỏ",
        "changed": "đổi",
        "submissions": "Các lần nộp đã nhận", "open": "Đối chiếu", "no_submissions": "Chưa nhận gói nào.",
        "issuer": "Đơn vị ban hành báo cáo kiểm tra", "issuer_missing": "Chưa khai đơn vị ban hành: báo cáo kết quả"
                  " kiểm tra cần tên cơ quan, số ký hiệu và người ký. Điền vào mẫu dưới đây.",
        "issuer_name": "Tên cơ quan ban hành", "issuer_parent": "Cơ quan cấp trên", "issuer_symbol": "Ký hiệu"
                       " (ví dụ CAT-PA05)", "issuer_place": "Địa danh", "signer_title": "Chức vụ người ký",
        "signer_name": "Họ tên người ký", "signer_authority": "Thẩm quyền ký (TL., KT., TM.)",
        "signer_on_behalf_of": "Ký thay/thừa lệnh cho", "recipients": "Nơi nhận (mỗi dòng một nơi)",
        "save": "Lưu", "rollup": "Tổng hợp toàn tỉnh từ các gói đã nhận (PDF)",
        "compare": "Đối chiếu: cơ quan khai và kết quả kiểm tra", "claim": "Cơ quan khai", "verification":
        "Kiểm tra", "agreement": "Đối chiếu", "basis": "Căn cứ kiểm tra", "counts": "Mâu thuẫn: {d} — quá hạn: {o}"
        " — khớp: {a} — chưa kiểm chứng: {u}", "unverified_more": "Còn {n} dòng chưa kiểm chứng (cơ quan khai,"
        " chưa có kết quả kiểm tra riêng).", "show_all": "Hiện cả các dòng này", "verdict": "Kết luận của bạn",
        "verdict_note": "Căn cứ", "record": "Ghi kết luận", "agency_level": "(toàn cơ quan)",
        "report": "Báo cáo kết quả kiểm tra", "report_pdf": "Tải PDF", "report_docx": "Tải Word (DOCX)",
        "need_issuer": "Khai đơn vị ban hành trước khi lập báo cáo.",
        "submission": "Lần nộp #{id}, gói lập {created}, số liệu đến {as_of}", "scan": "Rà quét",
        "scan_title": "Rà quét địa chỉ khai báo", "scan_start": "Bắt đầu quét", "scan_profile": "Hồ sơ quét",
        "scan_help": "Chỉ quét các địa chỉ cơ quan đã khai báo và đã được chấp nhận; mỗi cơ quan một lần quét một lúc.",
        "scan_running": "Đang quét: xong {done}/{total} địa chỉ sau {secs} giây. Trang tự tải lại sau 2 giây.",
        "scan_failed": "Lần quét lỗi: {error}", "scan_done": "Lần quét đã xong.", "findings": "Phát hiện của"
        " lần quét gần nhất", "no_findings": "Không có phát hiện.", "changes": "So với lần quét trước",
        "no_changes": "Không thay đổi so với lần quét trước.", "first_scan": "Chưa có lần quét trước để so sánh.",
        "new": "mới", "fixed": "đã khắc phục", "not-rechecked": "chưa kiểm tra lại", "host-state": "trạng thái máy",
        "port-opened": "mở thêm cổng", "port-closed": "đóng cổng", "scans": "Các lần quét", "hosts": "Địa chỉ khai báo",
        "dat": "Đạt", "chua-dat": "Chưa đạt", "khong-ap-dung": "Không áp dụng", "detail": "Chi tiết",
        "agencies": "Cơ quan",
        "no_bundle_from": "Cơ quan '{agency}' chưa nộp gói hồ sơ nào: chưa có gì để đối chiếu.",
        "trust": "Chứng thư ký tin cậy của các cơ quan",
        "trust_link": "Chứng thư ký tin cậy (gắn chứng thư với cơ quan)",
        "trust_help": "Gói hồ sơ ký bằng chứng thư đã gắn với cơ quan được ghi là “chứng thư đã đăng ký cho cơ"
                      " quan”; gói của cơ quan đó ký bằng chứng thư khác, hoặc gói của cơ quan khác ký bằng chứng"
                      " thư này, bị từ chối.",
        "trust_none": "Chưa gắn chứng thư nào.", "trust_add": "Gắn chứng thư với cơ quan",
        "trust_cert": "Tệp chứng thư (PEM hoặc DER)", "trust_agency": "Cơ quan", "trust_choose": "— chọn cơ quan —",
        "trust_auto": "Tự áp dụng địa chỉ khai báo",
        "trust_auto_help": "Khi chọn, thay đổi địa chỉ khai báo trong gói ký bằng chứng thư này vào thẳng phạm vi"
                           " quét mà không chờ bạn chấp nhận — chỉ chọn khi tin chắc người giữ khoá ký của cơ quan.",
        "trust_submit": "Gắn chứng thư", "trust_cn": "Chứng thư (tên chủ thể)", "trust_fp": "Dấu vân tay SHA-256",
        "trust_valid": "Hiệu lực", "trust_auto_col": "Tự áp dụng", "trust_by": "Người gắn, lúc",
        "yes": "có", "no": "không", "trust_remove": "Gỡ chứng thư này khỏi {agency}",
        "trust_max": "Tối đa {kb} KB.", "trust_no_file": "Chưa chọn tệp chứng thư.",
        "trust_too_big": "Tệp chứng thư quá lớn: tối đa {kb} KB.",
        "trust_no_agency": "Hãy chọn một cơ quan trong kiểm kê.",
        "trust_unknown_agency": "Không có cơ quan '{agency}' trong kiểm kê.",
        "trust_expired": "Chứng thư đã hết hiệu lực ngày {date}: không gắn.",
        "trust_not_yet": "Chứng thư chưa có hiệu lực (từ ngày {date}): không gắn.",
        "trust_bad_fp": "Dấu vân tay SHA-256 không hợp lệ.",
        "trust_nothing": "Không lưu gì.",
    },
    "en": {
        "home": "Inspection of the agencies' submissions", "upload": "Receive an agency's bundle",
        "upload_help": "Choose the .zip the agency sent (made with “secaudit bundle export”). It is verified"
                       " completely; only a valid bundle is imported.",
        "file": "Bundle file (.zip)", "send": "Verify and import", "max": "At most {mb} MB.",
        "valid": "VALID", "invalid": "INVALID — not imported, nothing changed",
        "received": "Bundle verification", "sha": "SHA-256 of the received file", "size": "Size",
        "renamed": "The file name had unsafe characters; it is shown as “{name}”.",
        "imported": "Imported submission #{id} of {agency}.", "duplicate": "Already imported (submission #{id});"
                    " nothing changed.", "problems": "Why",
        "empty": "Empty file: choose the bundle .zip.", "too_big": "File too large: at most {mb} MB.",
        "no_file": "No bundle chosen.", "no_length": "The browser did not send the size; try again.",
        "not_zip": "Only secaudit bundle .zip files are accepted.",
        "host_changes": "Changes to declared hosts (scan scope) awaiting acceptance",
        "host_help": "The agency declares the hosts below; they reach the scan scope only when you accept.",
        "accept": "Accept the inventory and declared hosts of submission #{id}", "accepted": "Accepted.",
        "change": "Change", "before": "Scanned now", "after": "Agency declares", "added": "added",
        "removed": "removed", "changed": "changed",
        "submissions": "Submissions received", "open": "Compare", "no_submissions": "No bundle received yet.",
        "issuer": "Issuer of the inspection report", "issuer_missing": "No issuer yet: the inspection report needs"
                  " the issuing body, its symbol and the signer. Fill in the form below.",
        "issuer_name": "Issuing body", "issuer_parent": "Parent body", "issuer_symbol": "Symbol (e.g. CAT-PA05)",
        "issuer_place": "Place", "signer_title": "Signer's title", "signer_name": "Signer's name",
        "signer_authority": "Signing authority (TL., KT., TM.)", "signer_on_behalf_of": "On behalf of",
        "recipients": "Recipients (one per line)", "save": "Save",
        "rollup": "Province roll-up from the bundles received (PDF)",
        "compare": "Claims vs verification", "claim": "Claimed", "verification": "Verified",
        "agreement": "Agreement", "basis": "Basis", "counts": "Contradictions: {d} — overdue: {o} — agree: {a}"
        " — not verified: {u}", "unverified_more": "{n} more rows not verified (claimed, no verification of"
        " your own).", "show_all": "Show them", "verdict": "Your verdict", "verdict_note": "Basis",
        "record": "Record verdict", "agency_level": "(whole agency)", "report": "Inspection report",
        "report_pdf": "Download PDF", "report_docx": "Download Word (DOCX)",
        "need_issuer": "Set the issuer before making the report.",
        "submission": "Submission #{id}, made {created}, data as of {as_of}", "scan": "Scan",
        "scan_title": "Scan the declared hosts", "scan_start": "Start the scan", "scan_profile": "Scan profile",
        "scan_help": "Only the agency's declared and accepted hosts are scanned; one scan per agency at a time.",
        "scan_running": "Scanning: {done}/{total} hosts done after {secs} s. This page reloads every 2 s.",
        "scan_failed": "The scan failed: {error}", "scan_done": "The scan is done.",
        "findings": "Findings of the latest scan", "no_findings": "No findings.", "changes": "Since the previous scan",
        "no_changes": "No change since the previous scan.", "first_scan": "No previous scan to compare with.",
        "new": "new", "fixed": "fixed", "not-rechecked": "not rechecked", "host-state": "host state",
        "port-opened": "port opened", "port-closed": "port closed", "scans": "Scans", "hosts": "Declared hosts",
        "dat": "Met", "chua-dat": "Not met", "khong-ap-dung": "Not applicable", "detail": "Detail",
        "agencies": "Agencies",
        "no_bundle_from": "'{agency}' has sent no bundle yet: nothing to compare.",
        "trust": "Trusted signing certificates of the agencies",
        "trust_link": "Trusted signing certificates (bind a certificate to an agency)",
        "trust_help": "A bundle signed with a certificate bound to its agency is shown as “certificate bound to the"
                      " agency”; a bundle of that agency signed with another certificate, or another agency's"
                      " bundle signed with this one, is refused.",
        "trust_none": "No certificate bound yet.", "trust_add": "Bind a certificate to an agency",
        "trust_cert": "Certificate file (PEM or DER)", "trust_agency": "Agency", "trust_choose": "— choose an agency —",
        "trust_auto": "Auto-apply declared hosts",
        "trust_auto_help": "When ticked, host changes in bundles signed with this certificate reach the scan scope"
                           " without your acceptance — tick it only if you fully trust whoever holds the agency's key.",
        "trust_submit": "Bind the certificate", "trust_cn": "Certificate (subject name)",
        "trust_fp": "SHA-256 fingerprint", "trust_valid": "Valid", "trust_auto_col": "Auto-apply",
        "trust_by": "Added by, at", "yes": "yes", "no": "no", "trust_remove": "Remove this certificate from {agency}",
        "trust_max": "At most {kb} KB.", "trust_no_file": "No certificate file chosen.",
        "trust_too_big": "Certificate file too large: at most {kb} KB.",
        "trust_no_agency": "Choose an agency from the inventory.",
        "trust_unknown_agency": "No agency '{agency}' in the inventory.",
        "trust_expired": "The certificate expired on {date}: not bound.",
        "trust_not_yet": "The certificate is not valid yet (from {date}): not bound.",
        "trust_bad_fp": "Invalid SHA-256 fingerprint.",
        "trust_nothing": "Nothing was stored.",
    },
}
SIGNATURES = {
    "vi": {"none": "không ký số", "unchecked": "chưa kiểm tra chữ ký", "intact": "chữ ký còn nguyên vẹn",
           "trusted": "chữ ký hợp lệ", "bound": "chữ ký hợp lệ, chứng thư đã đăng ký cho cơ quan"},
    "en": {"none": "not signed", "unchecked": "signature not checked", "intact": "signature intact",
           "trusted": "signature valid", "bound": "valid, certificate bound to the agency"},
}
ISSUER_FIELDS = ("name", "parent", "symbol", "place", "signer_title", "signer_name", "signer_authority",
                 "signer_on_behalf_of")


def _texts(request: Request) -> dict[str, str]:
    return TEXT[app.request_lang(request)]


def _refused(request: Request, session: Any) -> Response | None:
    """None for the inspector and the admin; 403 for a viewer; 404 for anyone else (an officer)."""
    if session.user.role in ROLES:
        return None
    if session.user.read_only:
        return render(request, "error.html.j2", status=403, session=session, title_key="forbidden",
                      message=app.labels(app.request_lang(request))["T"]["read_only"])
    return app.not_found(request, session)


def shown_name(name: str) -> str:
    """An uploaded file's name made safe to show and log: the last path part only, invisible and control
    characters (bidi overrides…) removed, at most 120 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", base)
                      if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    cleaned = cleaned.strip().lstrip(".")[:120]
    return cleaned or "goi.zip"


# -- the inspector's home ------------------------------------------------------------------------------------
@page
def home(request: Request, ws: Any, session: Any) -> View | Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services import exchange, issuer

    who = issuer.show_issuer(ws)
    subs = exchange.list_submissions(ws)
    data = {"submissions": subs, "issuer": who.to_dict() if who else None,
            "agencies": sorted({s["agency"] for s in subs})}
    blank: dict[str, Any] = {**dict.fromkeys(ISSUER_FIELDS), "recipients": []}
    return View("inspector_home.html.j2", data, extra={"I": _texts(request), "csrf": session.csrf,
                                                       "max_mb": MAX_BUNDLE_BYTES >> 20, "blank": blank,
                                                       "sigs": SIGNATURES[app.request_lang(request)]})


async def upload(request: Request) -> Response:
    """POST a bundle: size-checked before reading, streamed to a temporary file (SHA-256 computed on the
    way), then verified and — only when valid — imported, as ``bundle verify`` + ``bundle import``."""

    def gate() -> tuple[Any, Response | None]:
        with app.opened(request) as ws:
            session = app._session(request, ws)
            if session is None:
                return None, RedirectResponse("/dang-nhap", status_code=303)
            return session, _refused(request, session)

    session, refused = await run_in_threadpool(gate)
    if refused is not None:
        return refused
    text = _texts(request)

    def refuse(message: str, status: int = 400) -> Response:
        return render(request, "inspector_received.html.j2", status=status, session=session, I=text,
                      d={"ok": False, "problems": [("", message)], "verification": None, "imported": None,
                         "sha256": None, "size": None, "renamed": None})

    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return refuse(text["no_length"], 411)
    if int(length) > MAX_BUNDLE_BYTES + (64 << 10):
        return refuse(text["too_big"].format(mb=MAX_BUNDLE_BYTES >> 20), 413)
    form = await app.read_form(request, max_files=1, max_fields=5)
    if isinstance(form, Response):
        return form
    try:
        return await _received(request, session, form, text, refuse)
    finally:
        await form.close()


async def _received(request: Request, session: Any, form: Any, text: dict[str, str],
                    refuse: Any) -> Response:
    if not app.same_token(session.csrf, str(form.get("csrf", ""))) or not app._same_origin(request):
        return app._forbidden(request)
    upload_file = form.get("bundle")
    if upload_file is None or isinstance(upload_file, str) or not upload_file.filename:
        return refuse(text["no_file"])
    name = shown_name(upload_file.filename)
    with tempfile.TemporaryDirectory(prefix="secaudit-upload-") as tmp:
        target = Path(tmp) / name  # the submission keeps the (neutralised) name the user uploaded
        digest, size = hashlib.sha256(), 0
        with target.open("wb") as out:
            while chunk := await upload_file.read(CHUNK):
                size += len(chunk)
                if size > MAX_BUNDLE_BYTES:
                    return refuse(text["too_big"].format(mb=MAX_BUNDLE_BYTES >> 20), 413)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            return refuse(text["empty"])
        if not name.lower().endswith(".zip"):
            return refuse(text["not_zip"])

        def receive() -> Response:
            from secaudit.services.inspector import receive_bundle

            with app.opened(request) as ws:
                try:
                    got = receive_bundle(ws, target, shown_name=name, actor=session.user.username)
                except SecauditError as exc:  # refused as a whole (all or nothing): the store is unchanged
                    return refuse(exc.message.replace(str(target), name))
                pending = got.imported is not None and got.imported.scope == "pending"
                data = {"ok": got.ok, "problems": got.problems, "verification": got.verification,
                        "imported": _imported(got.imported), "sha256": digest.hexdigest(), "size": size,
                        "renamed": name if name != upload_file.filename else None, "pending": pending}
                return render(request, "inspector_received.html.j2", status=200 if got.ok else 400, session=session,
                              I=text, d=data)

        return await run_in_threadpool(receive)


def _imported(result: Any) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"id": result.submission_id, "agency": result.agency, "duplicate": result.duplicate,
            "scope": result.scope, "host_changes": result.host_changes, "inventory": result.inventory}


# -- one agency: claims vs verification ----------------------------------------------------------------------
@page
def agency(request: Request, ws: Any, session: Any) -> View | Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.exchange.inspection import AGREEMENT_LABELS, STATUS_LABELS, UNVERIFIED
    from secaudit.services import exchange, issuer

    code = request.path_params["code"]
    ws.require_agency(code)
    as_of, lang = app.request_as_of(request), app.request_lang(request)
    if not ws.db.execute("select 1 from submissions where agency = ? limit 1", [code]).fetchone():
        # the agency exists but sent nothing yet: say so (an inspector may know every agency exists)
        message = TEXT[lang]["no_bundle_from"].format(agency=code)
        if app.wants_json(request):
            return app.json_response({"error": message}, 404)
        return render(request, "error.html.j2", status=404, session=session, title_key="not_found", message=message)
    ins = exchange.inspect_agency(ws, code, as_of=as_of)
    data = ins.to_dict()
    show_all = request.query_params.get("all") == "1"
    shown = [r for r in ins.rows if show_all or r["agreement"] != UNVERIFIED or r["overdue"]]
    who = issuer.show_issuer(ws)
    return View("inspector_agency.html.j2", data, extra={
        "I": _texts(request), "csrf": session.csrf, "shown": shown, "hidden": len(ins.rows) - len(shown),
        "status_labels": STATUS_LABELS[lang], "agreement_labels": AGREEMENT_LABELS[lang], "has_issuer": who is not None,
        "code": code})


@action()
def accept(request: Request, ws: Any, session: Any, form: Any) -> Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services import exchange

    code = request.path_params["code"]
    ws.require_agency(code)
    submission = str(form.get("submission", ""))
    if not (submission.isascii() and submission.isdigit()) or len(submission) > 18:
        return app.not_found(request, session)  # no such submission (and no id past SQLite's 64-bit range)
    exchange.accept_submission(ws, code, int(submission), actor=session.user.username)
    return RedirectResponse(f"/kiem-tra/co-quan/{code}", status_code=303)


@action()
def verdict(request: Request, ws: Any, session: Any, form: Any) -> Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services.inspector import record_verdict

    code = request.path_params["code"]
    ws.require_agency(code)
    record_verdict(ws, code, str(form.get("item", "")), system=str(form.get("system", "")) or None,
                   status=str(form.get("status", "")), note=str(form.get("note", "")), actor=session.user.username)
    return RedirectResponse(f"/kiem-tra/co-quan/{code}", status_code=303)


@page
def report(request: Request, ws: Any, session: Any) -> View | Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services import exchange

    code, fmt = request.path_params["code"], request.path_params["fmt"]
    if fmt not in REPORT_TYPES:
        return app.not_found(request, session)
    ws.require_agency(code)
    from secaudit.services.issuer import show_issuer

    if show_issuer(ws) is None:
        return render(request, "error.html.j2", status=400, session=session, title_key="error",
                      message=_texts(request)["need_issuer"])
    as_of = app.request_as_of(request)
    body = exchange.inspection_report(ws, code, fmt=fmt, as_of=as_of)
    return Response(body, media_type=REPORT_TYPES[fmt],
                    headers={"content-disposition": f'attachment; filename="kiem-tra-{code}-{as_of:%Y%m%d}.{fmt}"'})


@page
def rollup(request: Request, ws: Any, session: Any) -> View | Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services import exchange

    as_of = app.request_as_of(request)
    body = exchange.rollup_report(ws, fmt="pdf", as_of=as_of, lang=app.request_lang(request))
    return Response(body, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="tong-hop-tu-goi-{as_of:%Y%m%d}.pdf"'})


@action()
def set_issuer(request: Request, ws: Any, session: Any, form: Any) -> Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services import issuer

    values = {k: str(form.get(k, "")).strip() or None for k in ISSUER_FIELDS}
    recipients = [line for line in str(form.get("recipients", "")).splitlines() if line.strip()]
    issuer.set_issuer(ws, actor=session.user.username, recipients=recipients, **values)
    return RedirectResponse("/kiem-tra", status_code=303)


# -- scans ---------------------------------------------------------------------------------------------------
@page
def scan_page(request: Request, ws: Any, session: Any) -> View | Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.scanning.plan import declared_hosts
    from secaudit.services.inspector import scan_job, scan_profiles, scan_results

    code = request.path_params["code"]
    ws.require_agency(code)
    job = scan_job(request.app.state.config.workspace, code)
    data = scan_results(ws, code, app.request_lang(request))
    data["job"] = None if job is None else {
        "state": job.state, "hosts_done": job.hosts_done, "hosts_total": job.hosts_total,
        "elapsed": round(job.elapsed), "error": job.error, "actor": job.actor}
    data["hosts"] = [{"system": h.system, "address": h.address} for h in declared_hosts(ws, code, None)]
    data["profiles"] = scan_profiles(app.request_lang(request))
    running = job is not None and job.state == "running"
    return View("inspector_scan.html.j2", data, extra={"I": _texts(request), "csrf": session.csrf, "code": code,
                                                       "running": running})


@action()
def scan_start(request: Request, ws: Any, session: Any, form: Any) -> Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services.inspector import DEFAULT_SCAN_PROFILE, start_scan

    code = request.path_params["code"]
    ws.require_agency(code)
    start_scan(request.app.state.config.workspace, code, actor=session.user.username,
               profile=str(form.get("profile") or DEFAULT_SCAN_PROFILE))
    return RedirectResponse(f"/quet/{code}", status_code=303)


# -- trusted signing certificates (``secaudit trust``) ---------------------------------------------------------
#: The largest certificate file accepted through the browser (a certificate is a few KB).
MAX_CERT_BYTES = 64 << 10
FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def grouped(fingerprint: str) -> str:
    """A SHA-256 fingerprint in groups of four hex digits, easier to read aloud and compare."""
    return " ".join(fingerprint[i:i + 4].upper() for i in range(0, len(fingerprint), 4))


def _trust_view(request: Request, ws: Any, session: Any, *, error: str | None = None,
                form: dict[str, Any] | None = None, status: int = 200) -> View:
    from secaudit.services import exchange
    from secaudit.services.inventory import list_agencies

    agencies = {a["code"]: a["name"] for a in list_agencies(ws)}
    rows = [{**r, "agency_name": agencies.get(r["agency"]), "auto_apply": bool(r["auto_apply"]),
             "fingerprint_grouped": grouped(r["fingerprint"])} for r in exchange.trust_list(ws)]
    data: dict[str, Any] = {"bindings": rows, "agencies": [{"code": c, "name": n} for c, n in agencies.items()]}
    if error:
        data["error"] = error
    view = View("inspector_trust.html.j2", data, extra={
        "I": _texts(request), "csrf": session.csrf, "max_kb": MAX_CERT_BYTES >> 10,
        "chosen": form or {"agency": "", "auto_apply": False}})
    view.status = status
    return view


@page
def trust_page(request: Request, ws: Any, session: Any) -> View | Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    return _trust_view(request, ws, session)


def _trust_error(request: Request, ws: Any, session: Any, message: str, chosen: dict[str, Any],
                 status: int = 400) -> Response:
    text = _texts(request)
    message = f"{message.rstrip(' .')}. {text['trust_nothing']}"
    if app.wants_json(request):
        return app.json_response({"error": message}, status)
    view = _trust_view(request, ws, session, error=message, form=chosen, status=status)
    return render(request, view.template, status=status, session=session, d=view.get_data(), **view.extra)


@action(max_files=1)
def _trust_add(request: Request, ws: Any, session: Any, form: Any) -> Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit import clock
    from secaudit.services import exchange

    text = _texts(request)
    code = str(form.get("agency", "")).strip()
    auto_apply = form.get("auto_apply") == "1"
    chosen = {"agency": code, "auto_apply": auto_apply}

    def error(message: str, status: int = 400) -> Response:
        return _trust_error(request, ws, session, message, chosen, status)

    upload_file = form.get("cert")
    if upload_file is None or isinstance(upload_file, str) or not upload_file.filename:
        return error(text["trust_no_file"])
    data = upload_file.file.read(MAX_CERT_BYTES + 1)
    if len(data) > MAX_CERT_BYTES:
        return error(text["trust_too_big"].format(kb=MAX_CERT_BYTES >> 10), 413)
    if not code:
        return error(text["trust_no_agency"])
    if not ws.agency_exists(code):
        return error(text["trust_unknown_agency"].format(agency=code[:80]))
    name = shown_name(upload_file.filename)
    with tempfile.TemporaryDirectory(prefix="secaudit-cert-") as tmp:
        path = Path(tmp) / "cert"
        path.write_bytes(data)
        try:
            cert = exchange.read_certificate(path)
            now = clock.now()
            if cert.not_after < now:
                return error(text["trust_expired"].format(date=f"{cert.not_after.astimezone(clock.VIETNAM):%d/%m/%Y}"))
            if cert.not_before > now:
                return error(text["trust_not_yet"].format(date=f"{cert.not_before.astimezone(clock.VIETNAM):%d/%m/%Y}"))
            exchange.trust_add(ws, code, path, actor=session.user.username, auto_apply=auto_apply)
        except SecauditError as exc:
            message = (exc.en or exc.message) if app.request_lang(request) == "en" else exc.message
            return error(f"{name}: {message.replace(str(path), name)}")
    return RedirectResponse("/kiem-tra/tin-cay", status_code=303)


async def trust_add(request: Request) -> Response:
    """POST a certificate file: the body is refused by its declared size before it is read."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_CERT_BYTES + (64 << 10):
        text = _texts(request)
        message = text["trust_too_big"].format(kb=MAX_CERT_BYTES >> 10)
        if app.wants_json(request):
            return app.json_response({"error": message}, 413)
        return render(request, "error.html.j2", status=413, title_key="error", message=message)
    return await _trust_add(request)


@action()
def trust_remove(request: Request, ws: Any, session: Any, form: Any) -> Response:
    refused = _refused(request, session)
    if refused is not None:
        return refused
    from secaudit.services import exchange

    code = str(form.get("agency", ""))
    fingerprint = str(form.get("fingerprint", "")).lower()
    if not FINGERPRINT.fullmatch(fingerprint):  # a fingerprint only, never a path to a file on the server
        return _trust_error(request, ws, session, _texts(request)["trust_bad_fp"], {"agency": "", "auto_apply": False})
    exchange.trust_remove(ws, code, fingerprint, actor=session.user.username)
    return RedirectResponse("/kiem-tra/tin-cay", status_code=303)


#: The inspector's routes (registered by ``secaudit.web.site``).
ROUTES: list[tuple[str, Any, list[str], str]] = [
    ("/kiem-tra", home, ["GET"], "inspector_home"),
    ("/kiem-tra.json", home, ["GET"], "inspector_home_json"),
    ("/kiem-tra/goi", upload, ["POST"], "inspector_upload"),
    ("/kiem-tra/don-vi-ban-hanh", set_issuer, ["POST"], "inspector_issuer"),
    ("/kiem-tra/tong-hop.pdf", rollup, ["GET"], "inspector_rollup"),
    ("/kiem-tra/tin-cay", trust_page, ["GET"], "inspector_trust"),
    ("/kiem-tra/tin-cay.json", trust_page, ["GET"], "inspector_trust_json"),
    ("/kiem-tra/tin-cay", trust_add, ["POST"], "inspector_trust_add"),
    ("/kiem-tra/tin-cay/go", trust_remove, ["POST"], "inspector_trust_remove"),
    ("/kiem-tra/co-quan/{code}.json", agency, ["GET"], "inspector_agency_json"),
    ("/kiem-tra/co-quan/{code}", agency, ["GET"], "inspector_agency"),
    ("/kiem-tra/co-quan/{code}/chap-nhan", accept, ["POST"], "inspector_accept"),
    ("/kiem-tra/co-quan/{code}/ket-luan", verdict, ["POST"], "inspector_verdict"),
    ("/kiem-tra/co-quan/{code}/bao-cao.{fmt}", report, ["GET"], "inspector_report"),
    ("/quet/{code}.json", scan_page, ["GET"], "scan_json"),
    ("/quet/{code}", scan_page, ["GET"], "scan"),
    ("/quet/{code}", scan_start, ["POST"], "scan_start"),
]
