"""Bundle, submission and signature commands: what travels between an agency and Công an tỉnh."""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path
from typing import Any

import click

from secaudit.cli import (
    DATE,
    F,
    _date,
    _emit,
    _note,
    _open,
    as_of_option,
    cli,
    format_rows,
    output_options,
    profile_option,
    workspace_option,
    workspace_options,
)

PASSWORD_ENV = "SECAUDIT_SIGN_PASSWORD"


def _signer(cert: Path, password_file: Path | None) -> Any:
    """The signer of ``cert``; the password is read from ``password_file``, else $SECAUDIT_SIGN_PASSWORD."""
    from secaudit.services.exchange import load_signer

    env = os.environ.get(PASSWORD_ENV) if password_file is None else None
    return load_signer(cert, env.encode("utf-8") if env is not None else None, password_file)


def _cert_options(func: F, *, name: str = "--sign", help_text: str) -> F:
    func = click.option(
        "--password-file", "password_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None, help=f"Tệp chứa mật khẩu của PKCS#12 (hoặc biến ${PASSWORD_ENV}). / PKCS#12 password file.",
    )(func)
    return click.option(
        name, "cert", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
        metavar="CERT.p12", help=help_text,
    )(func)


def _trust_option(func: F) -> F:
    return click.option(
        "--trust", "trust", type=click.Path(path_type=Path, dir_okay=False, exists=True), multiple=True,
        metavar="CA.pem", help="CA được tin cậy để kiểm tra chữ ký (có thể lặp lại). / Trusted CA (repeatable).",
    )(func)


def sign_output_option(func: F) -> F:
    """Add ``--sign CERT.p12 [--password-file F]`` to a command that writes a PDF to ``output``.

    The certificate is opened before the command runs (a wrong password fails before any work),
    and the written file is replaced by its signed version; if signing fails the unsigned file is
    removed rather than left behind under the name the user asked for.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, cert: Path | None = None, password_file: Path | None = None, **kwargs: Any) -> Any:
        if cert is None:
            return func(*args, **kwargs)
        if kwargs.get("fmt", "pdf") != "pdf":
            raise click.UsageError("--sign chỉ dùng với --format pdf / --sign needs --format pdf")
        from secaudit.services.exchange import sign_pdf_in_place

        signer = _signer(cert, password_file)
        result = func(*args, **kwargs)
        sign_pdf_in_place(Path(kwargs["output"]), signer)
        _note(f"Đã ký số bởi / signed by: {signer.subject}")
        return result

    return _cert_options(wrapper, help_text="Ký số PDF (PAdES) bằng chứng thư PKCS#12. / Sign the PDF (PAdES).")


# -- bundle ----------------------------------------------------------------------------------------
@cli.group()
def bundle() -> None:
    """Gói hồ sơ gửi Công an tỉnh: xuất, kiểm tra, nhập. / Submission bundles: export, verify, import."""


@bundle.command("export")
@click.option("--agency", required=True, help="Mã cơ quan. / Agency code.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp ZIP ghi ra. / Bundle file to write.")
@as_of_option
@profile_option
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Ngôn ngữ báo cáo kèm theo. / Language of the enclosed report.")
@click.option("--report/--no-report", "include_report", default=True, show_default=True,
              help="Kèm báo cáo PDF. / Include the rendered PDF report.")
@functools.partial(_cert_options, help_text="Ký bản kê (CMS) và báo cáo (PAdES) bằng chứng thư PKCS#12. / "
                                            "Sign the manifest and the report.")
@workspace_options
def bundle_export(agency: str, output: Path, as_of: dt.date | None, profile: str, lang: str, include_report: bool,
                  cert: Path | None, password_file: Path | None, workspace: str | None, actor: str | None) -> None:
    """Xuất gói hồ sơ của một cơ quan (ZIP có bản kê SHA-256). / Export an agency's bundle."""
    from secaudit.services import exchange as service

    ws = _open(workspace)
    signer = _signer(cert, password_file) if cert else None
    result = service.export_bundle(ws, agency, output, as_of=_date(as_of), actor=actor, profile=profile,
                                   lang=lang, include_report=include_report, signer=signer)
    _note(f"Đã ghi gói / wrote bundle: {result.path} — {result.members} thành phần / members, {result.bytes} byte"
          f"{', đã ký / signed' if result.signed else ''}\nSHA-256 bản kê / manifest: {result.manifest_sha256}")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def format_verify(info: Any) -> str:
    """The human-readable verification summary printed by ``bundle verify``."""
    m = info.manifest
    lines = [f"Gói hồ sơ / bundle: {info.path} ({_size(info.archive_bytes)})"]
    if m is not None:
        lines += [
            f"  Định dạng / format:        {m.format} v{m.format_version} — secaudit {m.tool.version},"
            f" lược đồ / schema {m.schema_version}",
            f"  Cơ quan / agency:          {m.agency.code} — {m.agency.name}",
            f"  Tính đến / as of:          {m.as_of}   hồ sơ / profile: {m.profile}",
            f"  Lập lúc / created:         {m.created.isoformat()}   bởi / by: {m.exported_by}",
            f"  SHA-256 bản kê / manifest: {info.manifest_sha256}",
            f"  Nhật ký / log:             {m.log.agency_entries} mục của cơ quan / agency entries"
            f" ({info.log_entries_checked} kiểm tra băm đạt / self-hash ok); đầu chuỗi / head {m.log.head or '-'}"
            f" sau {m.log.entries} mục / entries",
        ]
    if info.signature is not None:
        lines.append(f"  Chữ ký / signature:        {info.signature.describe()}")
    elif info.signed:
        lines.append(f"  Chữ ký / signature:        {info.signature_note}")
    elif m is not None:
        lines.append("  Chữ ký / signature:        không có / none")
    if info.members:
        roles: dict[str, list[int]] = {}
        for member in info.members:
            roles.setdefault(member.role, []).append(member.size)
        summary = ", ".join(f"{role} {len(sizes)} ({_size(sum(sizes))})" for role, sizes in sorted(roles.items()))
        lines.append(f"  Thành phần / members:      {len(info.members)} — {summary}")
        rows = [{"role": x.role, "path": x.path, "size": x.size, "sha256": x.sha256[:16],
                 "ok": {True: "OK", False: "SAI / BAD", None: "-"}[x.ok]} for x in info.members]
        lines.append("")
        lines.append(format_rows(rows, "table").rstrip("\n"))
    lines.append("")
    verdict = "HỢP LỆ / VALID" if info.ok else f"KHÔNG HỢP LỆ / INVALID ({len(info.problems)} lỗi / problems)"
    lines.append(f"Kết quả / result: {verdict}")
    return "\n".join(lines) + "\n"


@bundle.command("verify")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_trust_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@functools.partial(workspace_option,
                   help_text="Workspace có danh sách chứng thư gắn với cơ quan (secaudit trust); mặc định nếu có. / "
                             "Workspace whose agency certificates to check the signature against.")
def bundle_verify(file: Path, trust: tuple[Path, ...], fmt: str, workspace: str | None) -> None:
    """Kiểm tra cấu trúc, mọi mã băm và chữ ký của gói; mã thoát 1 nếu có sai lệch. / Verify a bundle."""
    import json

    from secaudit.services import exchange as service

    info = service.verify_bundle(file, trust=list(trust), workspace=workspace)
    _emit(json.dumps(info.to_dict(), ensure_ascii=False, indent=2) + "\n" if fmt == "json" else format_verify(info))
    service.require_valid(info)


@bundle.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_trust_option
@workspace_options
def bundle_import(file: Path, trust: tuple[Path, ...], workspace: str | None, actor: str | None) -> None:
    """Nhập gói vào workspace (toàn bộ hoặc không gì cả; nhập lại không đổi gì). / Import a bundle."""
    from secaudit.services import exchange as service

    result = service.import_bundle(workspace, file, actor=actor, trust=list(trust))
    if result.duplicate:
        _note(f"Gói này đã được nhập (lần nộp #{result.submission_id}); không thay đổi gì / "
              f"already imported as submission #{result.submission_id}; nothing changed")
        return
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()) if v)
    _note(f"Đã nhập lần nộp #{result.submission_id} của {result.agency} / imported submission #{result.submission_id}"
          + (f" (thay lần #{result.supersedes} / after #{result.supersedes})" if result.supersedes else "")
          + (f"\n  lưu ý / note: gói này lập trước lần nộp #{result.newer} đã nhận; không thay kiểm kê /"
             f" made before submission #{result.newer}" if result.newer else "")
          + f"\n  kiểm kê / inventory: {INVENTORY_LABELS.get(result.inventory, result.inventory)}"
          + f"\n  phạm vi quét / scan scope: {SCOPE_LABELS.get(result.scope, result.scope)}"
          + f"\n  dữ liệu / rows: {counts or '-'}; tệp mới / new files: {result.new_files}"
          + (f"\n  người ký / signer: {result.signer}" if result.signer else ""))
    if result.host_changes:
        _note(format_host_changes(result.host_changes))
    if result.scope == "pending":
        _note(f"Xem xét rồi chấp nhận bằng / review, then accept with: "
              f"secaudit submissions accept {result.agency} {result.submission_id}")


def format_host_changes(changes: list[dict[str, Any]]) -> str:
    """The diff of declared hosts, one row per system and address."""
    rows = [{"change": HOST_CHANGE_LABELS.get(c["change"], c["change"]), "system": c["system"],
             "address": c["address"], "before": c["before"] or "-", "after": c["after"] or "-"} for c in changes]
    return ("Thay đổi địa chỉ khai báo (phạm vi quét) / changes to declared hosts (scan scope):\n"
            + format_rows(rows, "table", {"change": "Thay đổi", "system": "Hệ thống", "address": "Địa chỉ",
                                          "before": "Đang quét", "after": "Cơ quan khai"}).rstrip("\n"))


HOST_CHANGE_LABELS = {"added": "+ thêm / added", "removed": "- bỏ / removed", "changed": "~ đổi / changed"}
SCOPE_LABELS = {
    "none": "không đổi địa chỉ khai báo / declared hosts unchanged",
    "pending": "CHỜ CHẤP NHẬN — địa chỉ khai báo trong gói chưa được đưa vào phạm vi quét / PENDING — the bundle's"
               " hosts are not in the scan scope until accepted",
    "applied-signed": "đã áp dụng theo chính sách: gói ký bằng chứng thư gắn với cơ quan / applied by policy: signed"
                      " with the agency's bound certificate",
}


INVENTORY_LABELS = {
    "applied-new": "đã thêm (cơ quan mới) / added (new agency)",
    "applied-update": "đã cập nhật theo gói mới / updated from this newer bundle",
    "unchanged": "không đổi / unchanged",
    "same-as-own": "trùng với kiểm kê của đơn vị nhận / same as the receiver's own",
    "kept-own": "giữ kiểm kê của đơn vị nhận, khác biệt xem 'submissions status' / receiver's own kept",
    "kept-edited": "giữ bản đã được sửa tại đơn vị nhận / kept the receiver's edited inventory",
    "kept-newer": "giữ bản mới hơn đã nộp trước đó / a newer submission's inventory kept",
}


# -- submissions ------------------------------------------------------------------------------------
@cli.group()
def submissions() -> None:
    """Lịch sử các lần nộp gói và đối chiếu với dữ liệu của mình. / Submission history and comparison."""


@submissions.command("list")
@click.option("--agency", default=None, help="Chỉ cơ quan này. / Only this agency.")
@output_options
@workspace_options
def submissions_list(agency: str | None, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Các lần nộp đã nhập: gói nào, của ai, khi nào, ai nhập. / List imported submissions."""
    from secaudit.services import exchange as service

    rows = service.list_submissions(workspace, agency)
    if fmt == "table":
        for row in rows:
            row["manifest_sha256"] = row["manifest_sha256"][:16]
    _emit(format_rows(rows, fmt))


@submissions.command("show")
@click.argument("submission", type=int)
@as_of_option
@profile_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@click.option("--report-out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Ghi báo cáo PDF kèm trong gói ra tệp này. / Write the enclosed PDF report here.")
@workspace_options
def submissions_show(submission: int, as_of: dt.date | None, profile: str, fmt: str, report_out: Path | None,
                     workspace: str | None, actor: str | None) -> None:
    """Tình trạng theo đúng những gì cơ quan đã khai trong một lần nộp. / Status as the submission claims it."""
    from secaudit.requirements import results as assess
    from secaudit.services import exchange as service

    ws = _open(workspace)
    sub, result = service.submission_status(ws, submission, profile=profile, as_of=as_of)
    if report_out is not None:
        report_out.write_bytes(service.submission_report(ws, submission))
        _note(f"Đã ghi báo cáo / wrote report: {report_out}")
    if fmt == "json":
        _emit(assess.results_json([result]))
        return
    signer = f" ({sub['signer']})" if sub["signer"] else ""
    head = (f"Lần nộp #{sub['id']} — {sub['agency']} — gói lập {sub['created']}, nhập {sub['imported_at']} bởi"
            f" {sub['actor']} — chữ ký / signature: {sub['signature']}{signer}"
            f"\nTheo khai báo, tính đến {result.as_of} — hồ sơ {result.profile}\n")
    rows = [{"item": r.item, "status": assess.LABELS["vi"][r.status] + ("*" if r.overdue else ""),
             "reason": (r.reasons[0] if r.reasons else "")[:90]} for r in result.results]
    _emit(head + format_rows(rows, "table", {"item": "Mục", "status": "Trạng thái", "reason": "Lý do"}))


@submissions.command("diff")
@click.argument("a", type=int)
@click.argument("b", type=int)
@profile_option
@output_options
@workspace_options
def submissions_diff(a: int, b: int, profile: str, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Khác biệt giữa hai lần nộp A → B (dữ liệu, nhật ký, trạng thái). / Differences between submissions."""
    from secaudit.services import exchange as service

    rows = service.diff_submissions(workspace, a, b, profile=profile)
    if fmt == "table":
        rows = [{**r, "before": _short(r["before"]), "after": _short(r["after"])} for r in rows]
        if not rows:
            _emit("Không có khác biệt / no differences\n")
            return
    _emit(format_rows(rows, fmt))


def _short(value: Any, width: int = 60) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@submissions.command("status")
@click.argument("agency")
@click.option("--submission", type=int, default=None, help="Lần nộp cụ thể (mặc định: mới nhất). / Submission id.")
@as_of_option
@profile_option
@click.option("--all", "show_all", is_flag=True,
              help="Liệt kê cả các dòng chưa kiểm chứng. / List the unverified rows too.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def submissions_status(agency: str, submission: int | None, as_of: dt.date | None, profile: str, show_all: bool,
                       fmt: str, workspace: str | None, actor: str | None) -> None:
    """Cơ quan khai và kết quả kiểm tra của mình, theo nhiệm vụ KH 04 × hệ thống. / Claims vs own verification.

    Mâu thuẫn và quá hạn đứng đầu; các dòng chưa kiểm chứng chỉ đếm (liệt kê bằng --all). JSON: một dòng mỗi
    nhiệm vụ × hệ thống với claim, verification, agreement (khop | mau-thuan | chua-kiem-chung).
    """
    import json

    from secaudit.exchange import inspection as s
    from secaudit.services import exchange as service

    ins = service.inspect_agency(workspace, agency, profile=profile, as_of=_date(as_of), submission=submission)
    if fmt == "json":
        _emit(json.dumps(ins.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    sub = ins.submission
    out = [f"{ins.agency_name} ({agency}) — lần nộp #{sub['id']}, gói lập {_vn_day(sub['created'])}, số liệu đến"
           f" {_vn_day(sub['as_of'])} — đối chiếu đến {ins.as_of:%d/%m/%Y}"]
    counts = ins.counts
    out.append(f"Mâu thuẫn: {counts[s.DISAGREE]} — quá hạn: {counts['overdue']} — khớp: {counts[s.AGREE]}"
               f" — chưa kiểm chứng: {counts[s.UNVERIFIED]}")
    shown = [r for r in ins.rows if show_all or r["agreement"] != s.UNVERIFIED or r["overdue"]]
    hidden = len(ins.rows) - len(shown)
    if shown:
        out.append("")
        out.append(format_rows([{
            "task": r["task"] or "", "item": r["title"], "system": r["system"] or "(cơ quan)",
            "claim": s.STATUS_LABELS["vi"].get(r["claim"]["status"], r["claim"]["status"])
            + ("" if r["claim"]["source"] == "tra-loi" else " (tổng hợp)"),
            "verification": s.STATUS_LABELS["vi"].get(r["verification"]["status"], r["verification"]["status"]),
            "agreement": s.AGREEMENT_LABELS["vi"][r["agreement"]].upper() if r["agreement"] == s.DISAGREE
            else s.AGREEMENT_LABELS["vi"][r["agreement"]],
            "overdue": "quá hạn" if r["overdue"] else "",
            "reason": _short(r["verification"]["reason"], 70)} for r in shown], "table",
            {"task": "NV", "item": "Nhiệm vụ", "system": "Hệ thống", "claim": "Cơ quan khai",
             "verification": "Kiểm tra", "agreement": "Đối chiếu", "overdue": "Hạn",
             "reason": "Căn cứ kiểm tra"}).rstrip("\n"))
    if hidden:
        out.append(f"\nCòn {hidden} dòng chưa kiểm chứng (cơ quan khai, chưa có kết quả kiểm tra của mình) — xem bằng"
                   f" --all / {hidden} more unverified rows, list them with --all")
    hosts = [h for h in ins.hosts if show_all or h["verdict"] != s.AGREE]
    if hosts:
        out.append(f"\nMáy chủ đã quét / scanned hosts ({len(hosts)}/{len(ins.hosts)}):")
        out.append(format_rows([{
            "system": h["system"], "address": h["address"],
            "claimed": _ports(h, "claimed"), "own": _ports(h, "own"),
            "verdict": s.AGREEMENT_LABELS["vi"][h["verdict"]]}
            for h in sorted(hosts, key=lambda h: h["verdict"] != s.DISAGREE)], "table",
            {"system": "Hệ thống", "address": "Địa chỉ", "claimed": "Cơ quan quét", "own": "Kiểm tra quét",
             "verdict": "Đối chiếu"}).rstrip("\n"))
    if ins.host_changes:
        out.append("\n" + format_host_changes(ins.host_changes))
        out.append(f"Chưa vào phạm vi quét; chấp nhận bằng / not in the scan scope; accept with: "
                   f"secaudit submissions accept {agency} {sub['id']}")
    if ins.inventory:
        out.append(f"\nKiểm kê khác nhau / inventory differences ({len(ins.inventory)}):")
        out.append(format_rows([{"field": d["field"], "claimed": _short(d["claimed"]), "own": _short(d["own"])}
                                for d in ins.inventory], "table",
                               {"field": "Trường", "claimed": "Cơ quan khai", "own": "Của mình"}).rstrip("\n"))
    _emit("\n".join(out) + "\n")


def _vn_day(value: str | None) -> str:
    """An ISO date or instant as dd/mm/yyyy (Vietnam calendar day for instants)."""
    if not value:
        return "-"
    if len(value) == 10:
        return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
    from secaudit.clock import VIETNAM

    stamp = dt.datetime.fromisoformat(value)
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(VIETNAM).strftime("%d/%m/%Y")


@submissions.command("history")
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def submissions_history(agency: str, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Các lần nộp của một cơ quan theo thời gian: đã khắc phục, mới, thụt lùi. / Submissions over time."""
    import json

    from secaudit.exchange.inspection import CHANGE_LABELS, STATUS_LABELS
    from secaudit.services import exchange as service

    subs = service.submission_history(workspace, agency)
    if fmt == "json":
        _emit(json.dumps(subs, ensure_ascii=False, indent=2) + "\n")
        return
    if not subs:
        _emit(f"{agency}: chưa có lần nộp nào / no submissions\n")
        return
    out = []
    for sub in subs:
        out.append(f"Lần nộp #{sub['id']} — gói lập {_vn_day(sub['created'])}, số liệu đến {_vn_day(sub['as_of'])}"
                   f" — {len(sub['answers'])} câu trả lời KH 04")
        for c in sorted(sub["changes"], key=lambda c: c["change"] != "thut-lui"):
            label = STATUS_LABELS["vi"]
            out.append(f"  {CHANGE_LABELS[c['change']]:<16} {c['key']}: {label.get(c['before'], c['before'])}"
                       f" → {label.get(c['after'], c['after'])}")
    _emit("\n".join(out) + "\n")


@submissions.command("late")
@click.option("--deadline", required=True, type=DATE, metavar="DATE",
              help="Hạn nộp báo cáo. / Reporting deadline.")
@output_options
@workspace_options
def submissions_late(deadline: dt.date, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Cơ quan nào chưa nộp gói đúng hạn. / Agencies that sent nothing by the deadline."""
    from secaudit.services import exchange as service

    rows = service.late_agencies(workspace, deadline)
    if fmt == "table":
        rows = [{"agency": r["agency"], "submitted": _vn_day(r["submitted"]) if r["submitted"] else "chưa nộp",
                 "late": "TRỄ HẠN" if r["late"] else "đúng hạn"} for r in sorted(rows, key=lambda r: not r["late"])]
        _emit(format_rows(rows, "table", {"agency": "Cơ quan", "submitted": "Ngày lập gói", "late": "Hạn"}))
        return
    _emit(format_rows(rows, fmt))


@submissions.command("rollup")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Định dạng báo cáo. / Report format.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp ghi ra. / Output file.")
@click.option("--deadline", type=DATE, default=None, metavar="DATE",
              help="Hạn nộp gói (mặc định: hạn nhiệm vụ KH 04 gần nhất đã qua). / Submission deadline.")
@as_of_option
@profile_option
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Ngôn ngữ báo cáo. / Report language.")
@workspace_options
def submissions_rollup(fmt: str, output: Path, deadline: dt.date | None, as_of: dt.date | None, profile: str,
                       lang: str, workspace: str | None, actor: str | None) -> None:
    """Tổng hợp toàn tỉnh từ các gói đã nhận: khai/kiểm tra, mâu thuẫn, nộp trễ. / Province roll-up from bundles."""
    from secaudit.services import exchange as service

    payload = service.rollup_report(workspace, fmt=fmt, as_of=_date(as_of), profile=profile, lang=lang,
                                    deadline=deadline)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi báo cáo / wrote report: {output} ({len(payload)} byte)")


@submissions.command("accept")
@click.argument("agency")
@click.argument("submission", type=int)
@click.option("--dry-run", is_flag=True, help="Chỉ hiện thay đổi, không áp dụng. / Show the changes only.")
@workspace_options
def submissions_accept(agency: str, submission: int, dry_run: bool, workspace: str | None, actor: str | None) -> None:
    """Chấp nhận kiểm kê của một lần nộp, kể cả địa chỉ khai báo, làm phạm vi quét. / Accept a submission's
    inventory, declared hosts included, into the scan scope."""
    from secaudit.services import exchange as service

    result = service.accept_submission(workspace, agency, submission, actor=actor, dry_run=dry_run)
    if result.host_changes:
        _emit(format_host_changes(result.host_changes) + "\n")
    elif not result.changed:
        _note("Kiểm kê của lần nộp này trùng với kiểm kê đang dùng; không có gì thay đổi / nothing to change")
    if result.newer:
        _note(f"lưu ý / note: đã có lần nộp mới hơn (#{result.newer}) / a newer submission exists (#{result.newer})")
    if dry_run:
        _note("Chạy thử: chưa áp dụng gì / dry run: nothing applied")
    else:
        _note(f"Đã chấp nhận lần nộp #{submission} của {agency}: kiểm kê và địa chỉ khai báo đã được áp dụng /"
              f" accepted submission #{submission}: inventory and declared hosts applied")


def _ports(host: dict[str, Any], side: str) -> str:
    if host[f"{side}_scan"] is None:
        return "-"
    ports = ", ".join(host[f"{side}_ports"]) or "không cổng mở / none open"
    return f"#{host[f'{side}_scan']} {host[f'{side}_started'][:10]} {host[f'{side}_state']}: {ports}"


# -- standalone PDF signatures ----------------------------------------------------------------------
@cli.command("sign-pdf")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp PDF đã ký ghi ra. / Signed PDF to write.")
@functools.partial(_cert_options, name="--cert", help_text="Chứng thư số PKCS#12 (.p12/.pfx). / Signing certificate.")
def sign_pdf_command(source: Path, output: Path, cert: Path | None, password_file: Path | None) -> None:
    """Ký số một tệp PDF (PAdES, SHA-256). / Sign a PDF (PAdES)."""
    from secaudit.services.exchange import sign_pdf_file

    if cert is None:
        raise click.UsageError("Cần --cert CERT.p12 / --cert is required")
    signer = _signer(cert, password_file)
    sign_pdf_file(source, output, signer)
    _note(f"Đã ký / signed by: {signer.subject}\nĐã ghi / wrote: {output}")


@cli.command("verify-pdf")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@_trust_option
def verify_pdf_command(file: Path, trust: tuple[Path, ...]) -> None:
    """Kiểm tra chữ ký số trong một tệp PDF; mã thoát 1 nếu không hợp lệ. / Verify a PDF's signatures."""
    from secaudit.errors import SecauditError
    from secaudit.services.exchange import verify_pdf_file

    checks = verify_pdf_file(file, list(trust))
    lines = [f"Chữ ký #{i} / signature #{i}: {c.describe()}" + (f" — {c.coverage}" if c.coverage else "")
             for i, c in enumerate(checks, 1)]
    _emit("\n".join(lines) + "\n")
    problems = [p for c in checks for p in c.problems]
    if problems:
        raise SecauditError("\n".join(problems), en="PDF signature verification failed", where=str(file))
