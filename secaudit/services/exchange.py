"""Exchange operations: bundles, submissions, agency ↔ certificate trust, PDF signatures."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secaudit.errors import SecauditError
from secaudit.services.workspace import Where, actor_name, library, open_workspace, workspace_exists

if TYPE_CHECKING:
    from secaudit.exchange.archive import BundleInfo
    from secaudit.exchange.export import ExportResult
    from secaudit.exchange.signing import SignatureCheck, Signer
    from secaudit.exchange.trust import CertificateFile


# -- signing --------------------------------------------------------------------------------------
def load_signer(cert: Path, password: bytes | None = None, password_file: Path | None = None) -> Signer:
    """Open a PKCS#12 certificate; the password comes from ``password_file`` when given."""
    from secaudit.exchange import signing

    if password_file is not None:
        password = signing.read_password(password_file)
    return signing.load_signer(cert, password)


def _replace(output: Path, data: bytes, suffix: str) -> None:
    tmp = output.with_name(f".{output.name}.{suffix}")
    tmp.write_bytes(data)
    os.replace(tmp, output)


def sign_pdf_in_place(output: Path, signer: Signer) -> None:
    """Replace a written PDF by its signed version; on failure remove it rather than leave it unsigned."""
    from secaudit.exchange.signing import sign_pdf

    try:
        _replace(output, sign_pdf(output.read_bytes(), signer), "signing")
    except BaseException:
        output.unlink(missing_ok=True)
        raise


def sign_pdf_file(source: Path, output: Path, signer: Signer) -> None:
    """Write a signed copy (PAdES) of ``source`` to ``output``."""
    from secaudit.exchange.signing import sign_pdf

    signed = sign_pdf(source.read_bytes(), signer)
    output.parent.mkdir(parents=True, exist_ok=True)
    _replace(output, signed, "tmp")


def verify_pdf_file(file: Path, trust: list[Path] | None = None) -> list[SignatureCheck]:
    """Every signature of a PDF, checked; raises when the PDF carries none."""
    from secaudit.exchange.signing import verify_pdf

    checks = verify_pdf(file.read_bytes(), trust or None)
    if not checks:
        raise SecauditError("Tệp PDF không có chữ ký số", en="the PDF is not signed", where=str(file))
    return checks


# -- trust ----------------------------------------------------------------------------------------
def trust_add(where: Where, agency: str, cert: Path, *, actor: str | None = None,
              auto_apply: bool = False) -> tuple[dict[str, Any], bool, bool]:
    """Bind a certificate to an agency; returns (binding, newly bound, agency is in the inventory)."""
    from secaudit.exchange.trust import add_binding

    ws = open_workspace(where)
    row, new = add_binding(ws, agency, cert, actor=actor_name(actor), auto_apply=auto_apply)
    return row, new, ws.agency_exists(agency)


def read_certificate(path: Path) -> CertificateFile:
    """The one certificate in a PEM or DER file (what ``trust_add`` would bind), without storing anything."""
    from secaudit.exchange.trust import read_certificate as read

    return read(path)


def trust_list(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    from secaudit.exchange.trust import list_bindings

    return list_bindings(open_workspace(where), agency)


def trust_remove(where: Where, agency: str, cert: str, *, actor: str | None = None) -> list[dict[str, Any]]:
    """Unbind a certificate (a file or a SHA-256 fingerprint); returns the removed bindings."""
    from secaudit.exchange.trust import remove_binding

    return remove_binding(open_workspace(where), agency, cert, actor=actor_name(actor))


# -- bundles --------------------------------------------------------------------------------------
def export_bundle(where: Where, agency: str, output: Path, *, as_of: dt.date, actor: str | None = None,
                  profile: str = "tu-danh-gia", lang: str = "vi", include_report: bool = True,
                  signer: Signer | None = None) -> ExportResult:
    """Write an agency's submission bundle (ZIP with a SHA-256 manifest, signed when ``signer``)."""
    from secaudit.exchange import export

    return export.export_bundle(open_workspace(where), library(), agency, output, as_of=as_of,
                                actor=actor_name(actor), profile=profile, lang=lang,
                                include_report=include_report, signer=signer)


def verify_bundle(file: Path, *, trust: list[Path] | None = None, workspace: str | Path | None = None,
                  use_workspace: bool = True) -> BundleInfo:
    """Check a bundle without writing; the workspace's certificate bindings are used when it exists."""
    from secaudit.exchange import verify
    from secaudit.exchange.trust import load_bindings

    bindings = load_bindings(open_workspace(workspace)) if use_workspace and workspace_exists(workspace) else None
    return verify.verify_bundle(file, trust=trust or None, bindings=bindings)


def require_valid(info: BundleInfo) -> None:
    """Raise ``BundleError`` listing the problems of a bundle that failed verification."""
    from secaudit.exchange.manifest import BundleError

    if not info.ok:
        raise BundleError(info.problems, en="bundle verification failed")


def import_bundle(where: Where, file: Path, *, actor: str | None = None,
                  trust: list[Path] | None = None) -> Any:
    """Import a bundle as a new submission (all or nothing; importing again changes nothing)."""
    from secaudit.exchange import receive

    return receive.import_bundle(open_workspace(where), file, actor=actor_name(actor), trust=trust or None)


# -- submissions ----------------------------------------------------------------------------------
def list_submissions(where: Where, agency: str | None = None) -> list[dict[str, Any]]:
    from secaudit.exchange import submissions

    return submissions.list_submissions(open_workspace(where), agency)


def submission_status(where: Where, submission: int, *, profile: str = "tu-danh-gia",
                      as_of: dt.date | None = None) -> tuple[dict[str, Any], Any]:
    """A submission's record and the evaluation of what it claims: (submission, agency result)."""
    from secaudit.exchange import claims, submissions

    ws = open_workspace(where)
    lib = library()
    sub = submissions.get(ws, submission)
    result = claims.evaluate_submission(ws, lib, submission, profile=lib.resolve_profile(profile), as_of=as_of)
    return sub, result


def submission_report(where: Where, submission: int) -> bytes:
    """The report PDF a submission carried; raises ``NotFoundError`` when it carried none."""
    from secaudit.errors import NotFoundError
    from secaudit.exchange import submissions

    ws = open_workspace(where)
    sub = submissions.get(ws, submission)
    if not sub["report_sha256"]:
        raise NotFoundError("Gói này không kèm báo cáo", en="this submission carries no report")
    return bytes(ws.read_blob(sub["report_sha256"]))


def diff_submissions(where: Where, a: int, b: int, *, profile: str = "tu-danh-gia") -> list[dict[str, Any]]:
    """What changed from submission A to B: data, log, status."""
    from secaudit.exchange import claims

    lib = library()
    return claims.diff(open_workspace(where), a, b, library=lib, profile=lib.resolve_profile(profile))


def compare_submission(where: Where, agency: str, *, profile: str = "tu-danh-gia", as_of: dt.date,
                       submission: int | None = None) -> Any:
    """An agency's claims (latest or given submission) side by side with own assessment and scans."""
    from secaudit.exchange import claims

    lib = library()
    return claims.compare(open_workspace(where), lib, agency, profile=lib.resolve_profile(profile), as_of=as_of,
                          submission_id=submission)


def accept_submission(where: Where, agency: str, submission: int, *, actor: str | None = None,
                      dry_run: bool = False) -> Any:
    """Adopt a submission's inventory, declared hosts included, as the scan scope."""
    from secaudit.exchange import submissions

    return submissions.accept(open_workspace(where), agency, submission, actor=actor_name(actor), dry_run=dry_run)


# -- the inspector's view: claims vs verification, history, lateness ---------------------------------
def inspect_agency(where: Where, agency: str, *, profile: str = "tu-danh-gia", as_of: dt.date,
                   submission: int | None = None) -> Any:
    """An agency's claims (latest or given submission) vs the receiver's own verification, per KH 04 task × system."""
    from secaudit.exchange import inspection

    lib = library()
    return inspection.inspect(open_workspace(where), lib, agency, profile=lib.resolve_profile(profile), as_of=as_of,
                              submission_id=submission)


def submission_history(where: Where, agency: str) -> list[dict[str, Any]]:
    """The agency's submissions oldest first, each with what changed since the one before (fixed/new/regressed)."""
    from secaudit.exchange import inspection

    subs = inspection.history(open_workspace(where), agency)
    previous: dict[str, str] = {}
    for sub in subs:
        sub["changes"] = inspection.changes_between(previous, sub["answers"]) if previous else []
        previous = sub["answers"]
    return subs


def late_agencies(where: Where, deadline: dt.date, agencies: list[str] | None = None) -> list[dict[str, Any]]:
    """Per agency: the submission that counts for ``deadline`` and whether the agency is late."""
    from secaudit.exchange import inspection

    return inspection.late_agencies(open_workspace(where), deadline, agencies)


# -- the inspection report, in the issuer's name --------------------------------------------------------
_SEVERITY_VI = {"nghiem-trong": "nghiêm trọng", "cao": "cao", "trung-binh": "trung bình", "thap": "thấp"}


def inspection_report(where: Where, agency: str, *, fmt: str = "pdf", as_of: dt.date, profile: str = "tu-danh-gia",
                      lang: str = "vi", submission: int | None = None, template_dir: Path | None = None) -> bytes:
    """Công an tỉnh's "Báo cáo kết quả kiểm tra" about ``agency``: header, number, signer and recipients of the
    workspace's issuer (``issuer set``), claims vs findings with evidence, conclusions and requests."""
    from secaudit.errors import InputError
    from secaudit.exchange import inspection, issuer
    from secaudit.inventory import records as inventory
    from secaudit.reporting import inspection as report
    from secaudit.requirements.results import reader_reason

    if lang != "vi":
        raise InputError("Báo cáo kết quả kiểm tra hiện chỉ có bản tiếng Việt (bỏ --lang en)",
                         en="the inspection report is available in Vietnamese only for now")
    ws = open_workspace(where)
    who = issuer.require_issuer(ws)
    lib = library()
    ins = inspection.inspect(ws, lib, agency, profile=lib.resolve_profile(profile), as_of=as_of,
                             submission_id=submission)
    names = {s.code: s.name for s in inventory.get_agency(ws, agency).systems}
    labels = inspection.STATUS_LABELS["vi"]

    def basis(r: dict[str, Any]) -> list[str]:
        found = [f"{f['address']}:{f['port']} — {f['title']}"
                 + (f" ({reader_reason(f['detail'])})" if f.get("detail") else "")
                 + f", mức {_SEVERITY_VI.get(f['severity'] or '', f['severity'])}"
                 for f in r["verification"]["findings"]]
        if r["verification"]["status"] in ("chua-danh-gia", "loi"):
            return ["chưa có kết quả kiểm tra riêng"]
        mine = r["verification"]["answer"]
        if mine:
            found.append(f"Kết luận kiểm tra ngày {_vn(mine['date'])}: {mine['note'] or labels[mine['status']]}")
        if not found and r["verification"]["reason"]:
            found.append(r["verification"]["reason"])
        return found

    def row(r: dict[str, Any]) -> report.InspectionRow:
        c = r["claim"]
        return report.InspectionRow(
            task=r["task"], title=r["title"], system=names.get(r["system"], r["system"]), claim=c["status"],
            claim_note=c["note"], claim_date=dt.date.fromisoformat(c["date"][:10]) if c["date"] else None,
            claim_evidence=[e["name"] for e in c["evidence"] if e["name"]], verification=r["verification"]["status"],
            verification_basis=basis(r), agreement=r["agreement"], overdue=r["overdue"],
            deadline=dt.date.fromisoformat(r["deadline"]) if r["deadline"] else None)

    contradictions = [row(r) for r in ins.rows if r["agreement"] == inspection.DISAGREE]
    overdue = [row(r) for r in ins.rows if r["overdue"] and r["agreement"] != inspection.DISAGREE]
    agreeing = [row(r) for r in ins.rows if r["agreement"] == inspection.AGREE and not r["overdue"]]
    counts = {**ins.counts, "total": len(ins.rows)}
    scans = [{"id": s[0], "date": _vn_date(s[1]), "hosts": s[2]} for s in ws.db.execute(
        "select s.id, s.started, (select count(*) from scan_hosts h where h.scan_id = s.id) from scans s"
        " where s.agency = ? and date(s.started) <= ? order by s.started desc, s.id desc limit 3",
        [agency, as_of.isoformat()]).fetchall()]
    conclusions, requests = _inspection_text(who.name, ins.agency_name, contradictions, overdue, counts, scans)
    sub = ins.submission
    data = report.InspectionReport(
        issuer=who.header(), agency={"code": agency, "name": ins.agency_name}, as_of=as_of, issued=as_of,
        submission={"id": sub["id"], "created": _vn_date(sub["created"]), "as_of": dt.date.fromisoformat(sub["as_of"]),
                    "signature_text": _SIGNATURE_TEXT.get(sub["signature"] or "none", "")},
        scans=scans, contradictions=contradictions, overdue=overdue, agreeing=agreeing,
        unverified=counts[inspection.UNVERIFIED], counts=counts, conclusions=conclusions, requests=requests,
        generator=_generator())
    return report.render(data, fmt=fmt, template_dir=template_dir)


_SIGNATURE_TEXT = {
    "none": "gói không ký số", "unchecked": "chữ ký số chưa được kiểm tra", "intact": "chữ ký số còn nguyên vẹn",
    "trusted": "chữ ký số hợp lệ", "bound": "chữ ký số hợp lệ, chứng thư đã đăng ký cho cơ quan",
}


def _generator() -> str:
    from secaudit import __version__

    return f"secaudit {__version__}"


def _vn_date(value: str) -> dt.date:
    """An ISO instant as its Vietnam calendar day (a date stays as it is)."""
    from secaudit.clock import VIETNAM

    if len(value) == 10:
        return dt.date.fromisoformat(value)
    stamp = dt.datetime.fromisoformat(value)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(VIETNAM).date()


def _vn(value: str | None) -> str:
    return _vn_date(value).strftime("%d/%m/%Y") if value else "-"


def _inspection_text(issuer: str, agency: str, contradictions: list[Any], overdue: list[Any],
                     counts: dict[str, int], scans: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Conclusions and requests in plain Vietnamese sentences, from the rows (no free text invented)."""
    from secaudit.exchange.inspection import STATUS_LABELS

    labels = STATUS_LABELS["vi"]
    conclusions = [
        f"Đối chiếu {counts['total']} nội dung (nhiệm vụ × hệ thống) theo Kế hoạch 04-KH/BCĐTW: {counts['mau-thuan']}"
        f" nội dung {agency} tự khai mâu thuẫn với kết quả kiểm tra, {counts['overdue']} nội dung quá hạn chưa hoàn"
        f" thành, {counts['khop']} nội dung khớp, {counts['chua-kiem-chung']} nội dung chưa kiểm chứng."]
    for x in contradictions:
        where = f"hệ thống {x.system}" if x.system else "toàn cơ quan"
        conclusions.append(
            f"Nhiệm vụ {x.task} ({x.title}), {where}: cơ quan khai {labels.get(x.claim, x.claim)}, kết quả kiểm tra"
            f" {labels.get(x.verification, x.verification)}" + (f" — {'; '.join(x.verification_basis)}."
                                                                if x.verification_basis else "."))
    if not scans:
        conclusions.append(f"{issuer} chưa rà quét hệ thống của cơ quan; các nhận định trên chỉ dựa trên kết quả kiểm"
                           " tra đã ghi nhận.")
    requests = []
    if contradictions:
        requests.append(
            f"Đề nghị {agency} khắc phục ngay các tồn tại nêu tại mục II, rà soát lại kết quả tự đánh giá các nội dung"
            " đã khai không đúng thực tế và gửi lại gói hồ sơ cập nhật kèm minh chứng khắc phục (kết quả rà quét lại,"
            " biên bản khắc phục).")
    if overdue:
        titles = sorted({f"nhiệm vụ {x.task} ({x.title})" for x in overdue})
        requests.append(f"Khẩn trương hoàn thành các nội dung quá hạn nêu tại mục III: {', '.join(titles)}; báo cáo"
                        " tiến độ, thời hạn hoàn thành và người chịu trách nhiệm.")
    requests.append(
        "Chủ quản hệ thống thông tin chịu trách nhiệm về tính trung thực, đầy đủ và chính xác của kết quả tự đánh giá"
        " (Nghị định 331/2026/NĐ-CP, Điều 31 khoản 2 điểm c).")
    if counts["chua-kiem-chung"]:
        requests.append(f"{issuer} tiếp tục kiểm chứng {counts['chua-kiem-chung']} nội dung chưa có kết quả kiểm tra"
                        " riêng trong các đợt kiểm tra tiếp theo.")
    return conclusions, requests


# -- the province roll-up from what the agencies submitted ------------------------------------------------
def province_from_submissions(where: Where, *, as_of: dt.date, profile: str = "tu-danh-gia", lang: str = "vi",
                              deadline: dt.date | None = None) -> Any:
    """The province roll-up (``reporting.province.ProvinceData``) built from each agency's latest submission.

    Per agency × KH 04 task: the claim (the submission's own data, evaluated), the receiver's verification
    (its own scans and answers), their agreement, and the cell status = the verification when there is one,
    else the claim. ``submitted`` is the day the counted bundle was made; ``late`` says that no bundle was made
    by ``deadline`` (default: the latest KH 04 task deadline on or before ``as_of``; none passed → nobody late).
    Agencies of the workspace that sent nothing appear with empty cells, flagged late once the deadline passed.
    The issuer is the workspace's own (``issuer set``), else unknown.
    """
    from secaudit.errors import NotFoundError
    from secaudit.exchange import inspection, issuer
    from secaudit.inventory import records as inventory
    from secaudit.reporting import province

    ws = open_workspace(where)
    lib = library()
    resolved = lib.resolve_profile(profile)
    tasks = province.task_columns(lib, resolved, lang)
    if deadline is None:
        passed = [dt.date.fromisoformat(t["deadline"]) for t in tasks if t["deadline"]]
        passed = [d for d in passed if d < as_of]
        deadline = max(passed) if passed else None
    codes = [r[0] for r in ws.db.execute("select code from agencies order by position, code").fetchall()]
    if not codes:
        raise NotFoundError("Workspace chưa có cơ quan nào", en="the workspace has no agencies")
    lateness = {r["agency"]: r for r in inspection.late_agencies(ws, deadline, codes)} if deadline else {}
    rows = []
    for code in codes:
        agency = inventory.get_agency(ws, code)
        has = ws.db.execute("select count(*) from submissions where agency = ?", [code]).fetchone()[0]
        by_task: dict[str, dict[str, Any]] = {}
        submitted = None
        if has:
            ins = inspection.inspect(ws, lib, code, profile=resolved, as_of=as_of)
            by_task = {t["id"]: t for t in ins.tasks}
            submitted = _vn_date(ins.submission["created"]).isoformat()
        cells = []
        for task in tasks:
            t = by_task.get(task["id"])
            cells.append(province.Cell(status=t["status"], overdue=t["overdue"], claim=t["claim"],
                                       verification=t["verification"], agreement=t["agreement"]) if t
                         else province.Cell(status=None))
        late = lateness[code]["late"] if code in lateness else (False if has else None)
        rows.append(province.AgencyRow(
            code=code, name=agency.name, kind=agency.kind.value, systems=len(agency.systems),
            critical=sum(1 for s in agency.systems if s.critical),
            approved=sum(1 for s in agency.systems if s.level.approved), cells=cells,
            contact=agency.security_contact.name if agency.security_contact else None,
            submitted=submitted, late=late))
    who = issuer.get_issuer(ws)
    names = sorted({r[0] for r in ws.db.execute("select province from agencies").fetchall() if r[0]})
    return province.assemble(tasks, rows, lang=lang, as_of=as_of, province=", ".join(names),
                             issuer=who.header() if who else None, profile={"id": resolved.id, "title": resolved.title},
                             source="submissions")


def rollup_report(where: Where, *, fmt: str = "pdf", as_of: dt.date, profile: str = "tu-danh-gia", lang: str = "vi",
                  deadline: dt.date | None = None, template_dir: Path | None = None) -> bytes:
    """The province roll-up from submissions (:func:`province_from_submissions`), rendered as pdf or html."""
    from secaudit.errors import InputError
    from secaudit.reporting import rollup

    if fmt not in rollup.FORMATS:
        raise InputError(f"Báo cáo tổng hợp chỉ có dạng pdf hoặc html, không có {fmt}",
                         en=f"the roll-up is pdf or html, not {fmt}")
    data = province_from_submissions(where, as_of=as_of, profile=profile, lang=lang, deadline=deadline)
    return rollup.render(data, fmt=fmt, template_dir=template_dir)
