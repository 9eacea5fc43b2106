"""Report commands."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from secaudit.cli import DATE, _date, _note, as_of_option, cli, profile_option, workspace_options
from secaudit.cli.bundle import sign_output_option


# -- reports ------------------------------------------------------------------------------------
class ReportGroup(click.Group):
    """``report AGENCY …`` renders an agency's report; ``report yearly …`` etc. are subcommands.

    Both forms are part of the CLI contract, so anything that is not a subcommand name is handed
    to the hidden default command ``agency`` — or to the hidden ``province`` command when the
    arguments carry ``--province`` (the roll-up: ``report --province [NAME] …``).
    """

    default = "agency"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            roll_up = any(a == "--province" or a.startswith("--province=") for a in args)
            target = "province" if roll_up else self.default
            args = [target, *args]
        return super().parse_args(ctx, args)


@cli.group(cls=ReportGroup, invoke_without_command=False)
def report() -> None:
    """Lập báo cáo minh chứng. / Render evidence reports.

    \b
    secaudit report AGENCY --format pdf|html|docx|xlsx|json|oscal -o PATH [--as-of DATE] [--lang vi|en]
    secaudit report note AGENCY --section danh-gia|ton-tai|nguyen-nhan|ke-hoach|kien-nghi (--text T | --file F)
    secaudit report note AGENCY --show [--period YYYY]
    secaudit report --province [NAME] --format pdf|html -o PATH [--as-of DATE]
    secaudit report --province [NAME] --non-compliant --format pdf|html|xlsx -o PATH
    """


def _common(func: Any) -> Any:
    func = click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path, dir_okay=False),
                        help="Tệp ghi ra. / Output file.")(func)
    func = as_of_option(func)
    func = profile_option(func)
    func = click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
                        help="Ngôn ngữ báo cáo. / Report language.")(func)
    func = click.option("--template-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
                        help="Thư mục mẫu thay thế (ghi đè từng tệp của reports/). / Override report templates.")(
                            func)
    return workspace_options(func)


#: The file extensions each agency-report format may be written under (issue 15: no PDF named .docx).
SUFFIXES = {"pdf": (".pdf",), "html": (".html", ".htm"), "docx": (".docx",), "xlsx": (".xlsx",),
            "json": (".json",), "oscal": (".json", ".oscal")}
_DOCUMENT_SUFFIXES = {".doc", ".odt", ".rtf", ".xls", ".ods", ".csv", ".txt", ".xml"}


def _format_for(output: Path, fmt: str | None) -> str:
    """The format to write: the one asked for, else the one the -o extension names, else pdf.

    An extension that names another document type than the format is refused (exit 2).
    """
    suffix = output.suffix.lower()
    if fmt is None:
        return next((f for f, endings in SUFFIXES.items() if suffix in endings), "pdf")
    known = {e for endings in SUFFIXES.values() for e in endings} | _DOCUMENT_SUFFIXES
    if suffix in known and suffix not in SUFFIXES[fmt]:
        raise click.UsageError(
            f"Tệp {output.name} có đuôi {suffix} nhưng định dạng là {fmt} (cần {' hoặc '.join(SUFFIXES[fmt])})"
            f" / the extension {suffix} does not match --format {fmt}")
    return fmt


def _write(output: Path, payload: bytes) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi báo cáo / wrote report: {output} ({len(payload)} byte)")


@report.command("agency", hidden=True)
@sign_output_option
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html", "docx", "xlsx", "json", "oscal"]), default=None,
              help="Định dạng báo cáo (mặc định theo đuôi tệp -o, không có thì pdf). / Report format (default: from"
                   " the -o extension, else pdf).")
@click.option("--no-embed-evidence", "no_embed", is_flag=True,
              help="Không đính kèm tài liệu minh chứng vào PDF (chỉ bảng kê và mã SHA-256). / Leave the evidence"
                   " documents out of the PDF.")
@click.option("--inspection", is_flag=True, help="Báo cáo kết quả kiểm tra đứng tên cơ quan ban hành (issuer set):"
              " cơ quan khai và kết quả kiểm tra. / Inspection report in the workspace issuer's name.")
@_common
def report_agency(agency: str, fmt: str | None, output: Path, as_of: dt.date | None, profile: str, lang: str,
                  template_dir: Path | None, workspace: str | None, actor: str | None,
                  inspection: bool = False, no_embed: bool = False) -> None:
    """Lập báo cáo minh chứng của cơ quan (PDF/A-3b, HTML, XLSX, JSON, OSCAL). / Render an agency's report."""
    from secaudit.services import reports as service

    fmt = _format_for(output, fmt)
    if fmt in ("pdf", "docx") and sys.stderr.isatty():  # a PDF takes seconds: say so on a terminal
        _note(f"Đang lập báo cáo {agency} ({fmt}) … / rendering the report …")
    if inspection:
        from secaudit.services.exchange import inspection_report

        _write(output, inspection_report(workspace, agency, fmt=fmt, as_of=_date(as_of), profile=profile, lang=lang,
                                         template_dir=template_dir))
        return
    payload = service.agency_report(workspace, agency, fmt=fmt, as_of=_date(as_of), profile=profile, lang=lang,
                                    template_dir=template_dir, embed_evidence=not no_embed)
    _write(output, payload)


@report.command("note")
@click.argument("agency")
@click.option("--section", type=click.Choice(["danh-gia", "ton-tai", "nguyen-nhan", "ke-hoach", "kien-nghi"]),
              default=None, help="Mục của báo cáo. / Report section.")
@click.option("--text", "text", default=None, help="Nội dung. / The text.")
@click.option("--file", "file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Tệp văn bản UTF-8 chứa nội dung. / UTF-8 text file with the text.")
@click.option("--period", default=None, metavar="YYYY|dd/mm/yyyy[-dd/mm/yyyy]",
              help="Kỳ báo cáo (mặc định: năm nay). / Report period (default: this year).")
@click.option("--show", is_flag=True, help="Xem nội dung đã ghi cho kỳ. / Show the texts in force.")
@workspace_options
def report_note(agency: str, section: str | None, text: str | None, file: Path | None, period: str | None,
                show: bool, workspace: str | None, actor: str | None) -> None:
    """Ghi lời văn của báo cáo cơ quan cho một kỳ (đánh giá, tồn tại, nguyên nhân, kế hoạch, kiến nghị).

    Mục không ghi được thay bằng câu tự sinh từ kết quả đánh giá. / The officer's words for a report period.
    """
    from secaudit.cli import _actor, _emit
    from secaudit.services import reports as service

    if show:
        for row in service.report_notes(workspace, agency, period=period):
            _emit(f"## {row['title']} — {row['period']} ({row['actor']}, {row['written_at']})\n{row['text']}\n")
        return
    if section is None or (text is None) == (file is None):
        raise click.UsageError("Cần --section và đúng một trong --text, --file (hoặc --show)"
                               " / give --section and exactly one of --text, --file (or --show)")
    if file is not None:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise click.BadParameter(f"{file} không phải văn bản UTF-8 / not UTF-8 text", param_hint="--file") from None
    row = service.report_note(workspace, agency, section, text or "", period=period, actor=_actor(actor))
    _note(f"Đã ghi mục {section} cho kỳ {row['period_label']} / wrote section {section} for {row['period_label']}")


@report.command("province", hidden=True)
@click.option("--province", "province", is_flag=False, flag_value="", default=None, metavar="[NAME]",
              help="Tỉnh (mặc định: mọi cơ quan trong workspace). / Province (default: every agency).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html", "xlsx"]), default="pdf", show_default=True,
              help="Định dạng: pdf|html (tổng hợp), pdf|html|xlsx (--non-compliant). / Report format.")
@click.option("--non-compliant", "non_compliant", is_flag=True,
              help="Danh sách công khai cơ quan có nhiệm vụ quá hạn, chưa hoàn thành (CV 3130/UBND-VX), không có"
                   " thông tin kỹ thuật. / Publishable list of agencies with overdue or unmet tasks.")
@click.option("--from-submissions", "from_submissions", is_flag=True,
              help="Tổng hợp từ gói các cơ quan đã gửi (khai / kiểm tra, mâu thuẫn, nộp trễ), như"
                   " 'submissions rollup'. / Build the roll-up from the bundles received.")
@click.option("--deadline", type=DATE, default=None, metavar="DATE",
              help="Hạn nộp gói, với --from-submissions. / Submission deadline, with --from-submissions.")
@_common
def report_province(province: str | None, fmt: str, output: Path, as_of: dt.date | None, profile: str,
                    lang: str, template_dir: Path | None, workspace: str | None, actor: str | None,
                    non_compliant: bool = False, from_submissions: bool = False,
                    deadline: dt.date | None = None) -> None:
    """Báo cáo tổng hợp toàn tỉnh: cơ quan × nhiệm vụ KH 04 (PDF/HTML). / Province roll-up."""
    from secaudit.services import reports as service

    if deadline is not None and not from_submissions:
        raise click.UsageError("--deadline chỉ dùng với --from-submissions / --deadline goes with --from-submissions")
    if from_submissions:
        if non_compliant or province:
            raise click.UsageError("--from-submissions không dùng cùng --non-compliant hoặc tên tỉnh"
                                   " / --from-submissions excludes --non-compliant and a province name")
        from secaudit.services import exchange

        _write(output, exchange.rollup_report(workspace, fmt=fmt, as_of=_date(as_of), profile=profile, lang=lang,
                                              deadline=deadline, template_dir=template_dir))
        return
    payload = service.province_report(workspace, province or None, fmt=fmt, as_of=_date(as_of), profile=profile,
                                      lang=lang, template_dir=template_dir, non_compliant=non_compliant)
    _write(output, payload)
