"""Report commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from secaudit.cli import _date, _note, as_of_option, cli, profile_option, workspace_options
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
    secaudit report AGENCY --format pdf|html|xlsx|json|oscal -o PATH [--as-of DATE] [--lang vi|en]
    secaudit report --province [NAME] --format pdf|html -o PATH [--as-of DATE]
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


def _write(output: Path, payload: bytes) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi báo cáo / wrote report: {output} ({len(payload)} byte)")


@report.command("agency", hidden=True)
@sign_output_option
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html", "xlsx", "json", "oscal"]), default="pdf",
              show_default=True, help="Định dạng báo cáo. / Report format.")
@_common
def report_agency(agency: str, fmt: str, output: Path, as_of: dt.date | None, profile: str, lang: str,
                  template_dir: Path | None, workspace: str | None, actor: str | None) -> None:
    """Lập báo cáo minh chứng của cơ quan (PDF/A-3b, HTML, XLSX, JSON, OSCAL). / Render an agency's report."""
    from secaudit.services import reports as service

    payload = service.agency_report(workspace, agency, fmt=fmt, as_of=_date(as_of), profile=profile, lang=lang,
                                    template_dir=template_dir)
    _write(output, payload)


@report.command("province", hidden=True)
@click.option("--province", "province", is_flag=False, flag_value="", default=None, metavar="[NAME]",
              help="Tỉnh (mặc định: mọi cơ quan trong workspace). / Province (default: every agency).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Định dạng báo cáo. / Report format.")
@_common
def report_province(province: str | None, fmt: str, output: Path, as_of: dt.date | None, profile: str,
                    lang: str, template_dir: Path | None, workspace: str | None, actor: str | None) -> None:
    """Báo cáo tổng hợp toàn tỉnh: cơ quan × nhiệm vụ KH 04 (PDF/HTML). / Province roll-up."""
    from secaudit.services import reports as service

    payload = service.province_report(workspace, province or None, fmt=fmt, as_of=_date(as_of), profile=profile,
                                      lang=lang, template_dir=template_dir)
    _write(output, payload)
