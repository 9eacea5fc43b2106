"""Report commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from . import (
    _date,
    _library,
    _note,
    _open,
    as_of_option,
    cli,
    profile_option,
    workspace_options,
)


# -- reports ------------------------------------------------------------------------------------
class ReportGroup(click.Group):
    """``report AGENCY …`` renders an agency's report; ``report yearly …`` etc. are subcommands.

    Both forms are part of the CLI contract, so anything that is not a subcommand name is handed
    to the hidden default command ``agency``.
    """

    default = "agency"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in self.commands:
            args = [self.default, *args]
        return super().parse_args(ctx, args)


@cli.group(cls=ReportGroup)
def report() -> None:
    """Lập báo cáo minh chứng (PDF/HTML). / Render evidence reports.

    \b
    secaudit report AGENCY --format pdf|html -o PATH [--as-of DATE]
    """


@report.command("agency", hidden=True)
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True,
              help="Định dạng báo cáo. / Report format.")
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path),
              help="Tệp ghi ra. / Output file.")
@as_of_option
@profile_option
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True, help="Ngôn ngữ.")
@click.option("--template-dir", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Thư mục mẫu thay thế (ghi đè từng tệp). / Override templates.")
@workspace_options
def report_agency(agency: str, fmt: str, output: Path, as_of: dt.datetime | None, profile: str, lang: str,
           template_dir: Path | None, workspace: str | None, actor: str | None) -> None:
    """Lập báo cáo minh chứng của cơ quan (PDF/HTML). / Render an agency's evidence report."""
    from .. import report as rep

    ws = _open(workspace)
    lib = _library()
    day = _date(as_of)
    data = rep.build_report(ws, lib, agency, as_of=day, profile=lib.resolve_profile(profile), lang=lang)
    html = rep.render_html(data, template_dir=template_dir)
    if fmt == "html":
        payload = html
    else:
        payload = rep.render_pdf(html, title=f"Báo cáo an ninh mạng — {data.agency['name']}",
                                 author=data.agency["name"], as_of=day)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(payload)
    _note(f"Đã ghi báo cáo / wrote report: {output}")


