"""Security-level commands (``level suggest|list|sheet``) and the yearly report (``report yearly``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from secaudit.cli import (
    NotMet,
    _date,
    _emit,
    _note,
    as_of_option,
    cli,
    format_rows,
    output_options,
    profile_option,
    workspace_options,
)
from secaudit.cli.report import report


@cli.group()
def level() -> None:
    """Cấp độ hệ thống thông tin: xác định, theo dõi phê duyệt. / Security levels: determine, track approval.

    \b
    secaudit level suggest SYSTEM [--agency A] [--as-of DATE] [--format text|json]
    secaudit level suggest --all [--agency A]
    secaudit level list [--agency A] [--as-of DATE] [--format table|json|csv]
    secaudit level sheet SYSTEM -o FILE [--format pdf|html]
    """


@level.command("suggest")
@click.argument("system", required=False)
@click.option("--all", "all_systems", is_flag=True, help="Mọi hệ thống (của --agency nếu có). / Every system.")
@click.option("--agency", default=None, help="Cơ quan (bắt buộc khi mã hệ thống trùng giữa các cơ quan). / Agency.")
@as_of_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def level_suggest(system: str | None, all_systems: bool, agency: str | None, as_of: dt.date | None, fmt: str,
                  workspace: str | None, actor: str | None) -> None:
    """Đề xuất cấp độ tối thiểu theo tiêu chí, kèm căn cứ từng tiêu chí. / Suggest the minimum level, with criteria."""
    from secaudit.services import levels as service

    if all_systems == (system is not None):
        raise click.UsageError("Cần đúng một trong SYSTEM hoặc --all / give either SYSTEM or --all")
    assessed = service.suggest_levels(workspace, None if all_systems else system, agency=agency, as_of=_date(as_of))
    if fmt == "json":
        _emit(service.suggestions_json(assessed))
    else:
        _emit("\n".join(service.suggestion_text(a) for a in assessed))


@level.command("list")
@click.option("--agency", default=None, help="Chỉ hệ thống của cơ quan này. / Only this agency's systems.")
@as_of_option
@output_options
@workspace_options
def level_list(agency: str | None, as_of: dt.date | None, fmt: str, workspace: str | None,
               actor: str | None) -> None:
    """Cấp độ theo tiêu chí so với cấp độ phê duyệt, tình trạng hồ sơ, cảnh báo; mã 3 nếu có lỗi.

    Suggested vs approved level, dossier state and flags; exit code 3 when any flag is an error.
    """
    from secaudit.services import levels as service

    rows = service.level_list(workspace, agency=agency, as_of=_date(as_of))
    if fmt == "table":
        for row in rows:
            row["flags"] = ", ".join(row["flags"])
            row["approved"] = row["approved"] or "—"
            row["proposed"] = row["proposed"] or "—"
    _emit(format_rows(rows, fmt, {
        "agency": "Cơ quan", "system": "Hệ thống", "regime": "Căn cứ", "suggested": "Theo tiêu chí",
        "proposed": "Đề xuất", "approved": "Phê duyệt", "dossier_state": "Hồ sơ", "decision_number": "Quyết định",
        "dossier_files": "Tệp HS", "flags": "Cảnh báo", "due": "Hạn",
    } if fmt == "table" else None))
    errors = sum(r["errors"] for r in rows)
    _note(f"{len(rows)} hệ thống, {errors} lỗi về cấp độ / {len(rows)} systems, {errors} level errors")
    if errors:
        raise NotMet()


@level.command("sheet")
@click.argument("system")
@click.option("--agency", default=None, help="Cơ quan (khi mã hệ thống trùng). / Agency.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp ghi ra. / Output file.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Định dạng. / Format.")
@as_of_option
@click.option("--template-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Thư mục mẫu thay thế. / Override templates.")
@workspace_options
def level_sheet(system: str, agency: str | None, output: Path, fmt: str, as_of: dt.date | None,
                template_dir: Path | None, workspace: str | None, actor: str | None) -> None:
    """Lập phiếu xác định cấp độ (PDF/HTML) để đưa vào hồ sơ. / Write the level determination sheet."""
    from secaudit.services import levels as service

    payload = service.level_sheet(workspace, system, agency=agency, as_of=_date(as_of), fmt=fmt,
                                  template_dir=template_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi phiếu xác định cấp độ / wrote level sheet: {output} ({len(payload)} byte)")


@report.command("yearly")
@click.option("--agency", required=True, help="Cơ quan chủ quản. / Owning agency.")
@click.option("--year", required=True, type=click.IntRange(2016, 2100), help="Năm báo cáo. / Report year.")
@click.option("-o", "--output", "output", default=None, type=click.Path(path_type=Path, dir_okay=False),
              help="Tệp ghi ra (mặc định: stdout). / Output file (default stdout).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Định dạng. / Format.")
@as_of_option
@profile_option
@click.option("--template-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Thư mục mẫu thay thế. / Override templates.")
@workspace_options
def report_yearly(agency: str, year: int, output: Path | None, fmt: str, as_of: dt.date | None, profile: str,
                  template_dir: Path | None, workspace: str | None, actor: str | None) -> None:
    """Báo cáo năm gửi Bộ Công an (NĐ 331/2026 Đ35–36; số liệu 15/12 năm trước – 14/12). / Yearly report.

    --as-of is the document date (default today); figures are taken at 14/12 of YEAR, or at the
    document date if earlier (a draft, marked as such).
    """
    from secaudit.services import reports as service

    payload = service.yearly_report(workspace, agency, year=year, fmt=fmt, as_of=_date(as_of), profile=profile,
                                    template_dir=template_dir)
    if output is None:
        _emit(payload)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi báo cáo năm / wrote yearly report: {output} ({len(payload)} byte)")
