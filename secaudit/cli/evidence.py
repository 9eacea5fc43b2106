"""Evidence commands: add a file, list, show, verify the store, set its size limit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from secaudit.cli import DATE, _emit, _note, cli, format_rows, output_options, workspace_options
from secaudit.errors import SecauditError

UNLINKED = "chưa gắn với yêu cầu nào"


@cli.group()
def evidence() -> None:
    """Kho minh chứng (lưu theo SHA-256): thêm, liệt kê, xem, kiểm tra. / The evidence store."""


@evidence.command("add")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--agency", default=None, help="Cơ quan mà minh chứng thuộc về. / Agency the evidence belongs to.")
@click.option("--system", default=None, help="Hệ thống (cần --agency). / System (needs --agency).")
@click.option("--kind", default=None,
              help="Loại: quyet-dinh, ho-so-cap-do, van-ban, hop-dong, bien-ban, bao-cao, ket-qua-quet, anh-chup,"
                   " nhat-ky, tai-lieu (mặc định: loại mà yêu cầu cần, hoặc tai-lieu). / Kind of document"
                   " (default: the kind the requirement asks for, else tai-lieu).")
@click.option("--for", "--item", "item", default=None, metavar="CHECKLIST:ITEM",
              help="Gắn tệp với câu trả lời của yêu cầu này, ví dụ kh04-bcdtw:t3-cap-do (cần --agency; mục theo"
                   " hệ thống cần --system). / Link the file to this requirement's answer.")
@click.option("--effective", type=DATE, default=None,
              help="Ngày có hiệu lực (ngày của văn bản; mặc định hôm nay). / Effective date (default today).")
@click.option("--expires", type=DATE, default=None,
              help="Ngày hết hiệu lực (nếu có). / Expiry date, if any.")
@click.option("--note", default=None, help="Mô tả ngắn. / Short description.")
@workspace_options
def evidence_add(file: Path, agency: str | None, system: str | None, kind: str | None, item: str | None,
                 effective: dt.date | None, expires: dt.date | None, note: str | None,
                 workspace: str | None, actor: str | None) -> None:
    """Thêm một tệp minh chứng; in SHA-256 của nó. / Add an evidence file; prints its SHA-256."""
    from secaudit.services import evidence as service

    row = service.add_evidence(workspace, file, actor=actor, agency=agency, system=system, kind=kind,
                               effective=effective, expires=expires, item=item, note=note)
    _emit(row["sha256"] + "\n")
    linked = service.evidence_backs(row)
    if not linked:
        _note(f"Đã lưu '{row['original_name']}' ({row['size']} byte), {UNLINKED}; dùng --for CHECKLIST:ITEM"
              " để tệp được tính cho một yêu cầu / stored, not linked to any requirement (use --for)")
        return
    from secaudit.requirements.results import LABELS, Status

    answer = (f"gắn với câu trả lời hiện tại ({LABELS['vi'][Status(row['answer'])]})" if row.get("answer") else
              f"chưa có câu trả lời; tệp được tính khi trả lời mục này (secaudit answer set {row['checklist']}:"
              f"{row['item']} … hoặc assess {agency})")
    _note(f"Đã lưu '{row['original_name']}' ({row['size']} byte) làm minh chứng cho {linked}, {answer}"
          f" / stored and linked to {linked}")


@evidence.command("list")
@click.option("--agency", default=None, help="Chỉ của cơ quan này. / Only this agency.")
@click.option("--system", default=None, help="Chỉ của hệ thống này. / Only this system.")
@output_options
@workspace_options
def evidence_list(agency: str | None, system: str | None, fmt: str, workspace: str | None,
                  actor: str | None) -> None:
    """Liệt kê minh chứng đã lưu, mỗi tệp một dòng với các yêu cầu nó được gắn; tệp chưa gắn liệt kê riêng.
    / List stored files once each, with the requirements they back; unlinked files apart."""
    from secaudit.cli import ui_lang
    from secaudit.requirements.content import EVIDENCE_KINDS
    from secaudit.services import evidence as service

    rows = service.list_evidence_files(workspace, agency, system)
    if fmt == "json":
        _emit(format_rows(rows, fmt))
        return
    lang = ui_lang()
    unlinked_text = UNLINKED if lang == "vi" else "not linked to any requirement"
    scan_text = "kết quả lần quét #{}" if lang == "vi" else "raw output of scan #{}"
    shown = []
    for row in rows:
        kinds = [EVIDENCE_KINDS.get(k, (k, k))[0 if lang == "vi" else 1] for k in row["kind"].split(", ")]
        shown.append({
            "sha256": row["sha256"][:12], "original_name": row["original_name"], "agency": row["agency"],
            "system": row["system"], "kind": ", ".join(kinds),
            "backs": "; ".join([*row["links"], *(scan_text.format(n) for n in row["scans"])]) or unlinked_text,
            "effective": _day(row["effective"]), "expires": _day(row["expires"]), "size": row["size"],
            "added_at": row["added_at"],
        })
    headers = {"sha256": "SHA-256", "original_name": "Tên tệp", "agency": "Cơ quan", "system": "Hệ thống",
               "kind": "Loại", "backs": "Gắn với yêu cầu", "effective": "Hiệu lực", "expires": "Hết hạn",
               "size": "Byte", "added_at": "Ngày thêm"}
    if fmt != "table":
        _emit(format_rows(shown, fmt, headers))
        return
    linked = [r for r in shown if r["backs"] != unlinked_text]
    apart = [r for r in shown if r["backs"] == unlinked_text]
    if linked or not apart:
        _emit(format_rows(linked, fmt, headers))
    if apart:
        _emit(("\n" if linked else "")
              + (f"Tệp {UNLINKED} (gắn bằng: secaudit evidence add TỆP --agency A --for CHECKLIST:ITEM):\n"
                 if lang == "vi" else "Files not linked to any requirement (link with evidence add … --for):\n")
              + format_rows(apart, fmt, {k: v for k, v in headers.items() if k != "backs"}))


def _day(value: str | None) -> str | None:
    """An ISO day as dd/mm/yyyy (tables and CSV are read by people)."""
    return f"{dt.date.fromisoformat(value):%d/%m/%Y}" if value else None


@evidence.command("show")
@click.argument("sha256")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def evidence_show(sha256: str, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Xem một tệp minh chứng (theo SHA-256 hoặc tiền tố ≥ 6 ký tự). / Show one evidence file by hash."""
    from secaudit import yamlio
    from secaudit.services import evidence as service

    info: dict[str, Any] = service.show_evidence(workspace, sha256)
    if fmt == "json":
        _emit(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    else:
        _emit(yamlio.dumps(info))


@evidence.command("verify")
@workspace_options
def evidence_verify(workspace: str | None, actor: str | None) -> None:
    """Băm lại mọi tệp trong kho; báo tệp thiếu hoặc bị sửa (mã thoát 1). / Re-hash every stored file."""
    from secaudit.services import evidence as service

    report = service.verify_evidence(workspace)
    for stray in report.strays:
        _note(f"lưu ý / note: {stray}: tệp không được tham chiếu (vô hại) / unreferenced file (harmless)")
    if not report.ok:
        raise SecauditError(
            "\n".join(f"{where}: {problem}" for where, problem in report.problems),
            en=f"{len(report.problems)} of {report.checked} evidence files failed verification",
        )
    _note(f"Kho minh chứng toàn vẹn: {report.checked} tệp / evidence store intact: {report.checked} files")


@evidence.command("limit")
@click.argument("size", required=False)
@click.option("--reset", is_flag=True, help="Trở về giới hạn mặc định. / Back to the default limit.")
@workspace_options
def evidence_limit(size: str | None, reset: bool, workspace: str | None, actor: str | None) -> None:
    """Xem hoặc đặt giới hạn dung lượng mỗi tệp minh chứng (ví dụ 50MB). / Show or set the per-file size limit."""
    from secaudit.services import evidence as service

    if size is None and not reset:
        _emit(f"{service.evidence_limit(workspace)}\n")
        return
    limit = service.set_evidence_limit(workspace, None if reset else size or "", actor=actor)
    _note(f"Giới hạn mỗi tệp: {limit} byte / per-file limit: {limit} bytes")
