"""Assessment commands: answers, waivers, status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from . import (
    NotMet,
    _actor,
    _date,
    _emit,
    _library,
    _note,
    _open,
    as_of_option,
    cli,
    format_rows,
    profile_option,
    workspace_options,
)


# -- assessment ---------------------------------------------------------------------------------
@cli.command()
@click.argument("agency")
@click.option("--answers", "answers", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              required=True, help="Tệp YAML câu trả lời. / Answers YAML file.")
@workspace_options
def assess(agency: str, answers: Path, workspace: str | None, actor: str | None) -> None:
    """Ghi nhận kết quả tự đánh giá từ tệp trả lời. / Record answers from a file."""
    from .. import assess as a

    ws = _open(workspace)
    count = a.import_answers(ws, _library(), answers, agency=agency, actor=_actor(actor))
    _note(f"Đã ghi {count} câu trả lời cho {agency} / recorded {count} answers")


@cli.command()
@click.argument("item")
@click.option("--agency", required=True, help="Cơ quan. / Agency.")
@click.option("--system", default=None, help="Hệ thống (với mục theo hệ thống). / System.")
@click.option("--reason", required=True, help="Lý do miễn trừ. / Reason.")
@click.option("--approved-by", required=True, help="Người/cấp phê duyệt. / Approver.")
@click.option("--until", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Hiệu lực đến ngày.")
@workspace_options
def waive(item: str, agency: str, system: str | None, reason: str, approved_by: str, until: dt.datetime,
          workspace: str | None, actor: str | None) -> None:
    """Miễn trừ một yêu cầu (CHECKLIST:ITEM) có thời hạn. / Waive a requirement until a date."""
    from .. import assess as a

    ws = _open(workspace)
    wid = a.add_waiver(ws, _library(), agency=agency, system=system, ref=item, reason=reason,
                       approved_by=approved_by, until=until.date(), actor=_actor(actor))
    _note(f"Đã ghi miễn trừ #{wid} / waiver #{wid} recorded")


@cli.command()
@click.argument("agency", required=False)
@as_of_option
@profile_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def status(agency: str | None, as_of: dt.datetime | None, profile: str, fmt: str, workspace: str | None,
           actor: str | None) -> None:
    """Tình trạng từng nhiệm vụ theo cơ quan; thoát mã 3 nếu còn yêu cầu chưa đạt. / Status matrix."""
    from .. import assess as a
    from .. import inventory as inv

    ws = _open(workspace)
    lib = _library()
    resolved = lib.resolve_profile(profile)
    day = _date(as_of)
    codes = [agency] if agency else inv.agency_codes(ws)
    if agency:
        ws.require_agency(agency)
    results = [a.evaluate_agency(ws, lib, code, as_of=day, profile=resolved) for code in codes]
    if fmt == "json":
        _emit(a.results_json(results))
    elif agency:
        _emit(_status_detail(results[0], lib))
    else:
        _emit(_status_matrix(results, lib))
    if not all(r.met for r in results):
        raise NotMet()


def _status_detail(result: Any, lib: Any) -> str:
    from ..assess import LABELS

    rows = []
    for r in result.results:
        item = lib.checklist(r.checklist).item(r.item)
        rows.append({"item": f"{'  ' if item.parent else ''}{r.item}", "title": (item.short or item.title)[:48],
                     "deadline": r.deadline or "", "status": LABELS["vi"][r.status],
                     "overdue": "QUÁ HẠN" if r.overdue else "", "reason": (r.reasons[0] if r.reasons else "")[:90]})
    head = f"{result.agency} — tính đến {result.as_of} — hồ sơ {result.profile}\n"
    return head + format_rows(rows, "table", {"item": "Mục", "title": "Nội dung", "deadline": "Hạn",
                                              "status": "Trạng thái", "overdue": "", "reason": "Lý do"})


def _status_matrix(results: list[Any], lib: Any) -> str:
    """Items down, agencies across: fits a terminal for a province's worth of agencies."""
    from ..assess import LABELS

    if not results:
        return "(không có cơ quan / no agencies)\n"
    rows = []
    for index, first in enumerate(results[0].results):
        item = lib.checklist(first.checklist).item(first.item)
        if item.parent is not None:
            continue
        row = {"item": first.item, "deadline": first.deadline or ""}
        for res in results:
            r = res.results[index]
            row[res.agency] = LABELS["vi"][r.status] + ("*" if r.overdue else "")
        rows.append(row)
    headers = {"item": "Mục", "deadline": "Hạn", **{res.agency: res.agency for res in results}}
    return f"Tính đến {results[0].as_of} — hồ sơ {results[0].profile}\n" + format_rows(rows, "table", headers) + \
        "* quá hạn / overdue\n"


