"""Requirement commands: checklists, profiles and the JSON Schema of their format."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from secaudit.cli import _date, _emit, _library, _note, as_of_option, cli, format_rows, output_options, ui_lang


# -- requirements -------------------------------------------------------------------------------
@cli.group()
def checklist() -> None:
    """Bộ tiêu chí (yêu cầu dưới dạng dữ liệu). / Checklists."""


@checklist.command("list")
@as_of_option
@output_options
def checklist_list(as_of: dt.date | None, fmt: str) -> None:
    """Liệt kê bộ tiêu chí và bộ nào có hiệu lực tại ngày đánh giá. / List checklists and which are in force."""
    lib = _library()
    day = _date(as_of)
    rows = [{"id": c.id, "title": " ".join(c.title.split()), "from": c.effective.from_, "until": c.effective.until,
             "in_force": c.effective.covers(day), "items": len(c.items)} for c in lib.checklists.values()]
    _emit(format_rows(rows, fmt))


@checklist.command("show")
@click.argument("checklist_id")
@output_options
def checklist_show(checklist_id: str, fmt: str) -> None:
    """Hiện các mục của một bộ tiêu chí (json: toàn bộ dữ liệu). / Show a checklist's items (json: everything)."""
    from secaudit.requirements.conditions import describe, explain

    lib = _library()
    # People read the table: applicability as a Vietnamese sentence; the compact expression in English.
    applies = explain if ui_lang() == "vi" else describe
    c = lib.checklist(checklist_id)
    if fmt == "json":
        _emit(json.dumps(c.model_dump(mode="json", by_alias=True), ensure_ascii=False, indent=2) + "\n")
        return
    rows = [{"item": i.id, "parent": i.parent or "", "scope": i.scope, "deadline": i.deadline,
             "title": i.short or i.title, "applies_if": applies(i.applies_if),
             "basis": "; ".join(b.cite(lib.registry) for b in i.basis)} for i in c.items]
    _emit(format_rows(rows, fmt))


@checklist.command("schema")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Ghi vào tệp thay vì stdout. / Write to a file instead of stdout.")
def checklist_schema(output: Path | None) -> None:
    """JSON Schema của bộ tiêu chí, hồ sơ và danh mục văn bản. / JSON Schema of the content format."""
    from secaudit.requirements.content import json_schema

    text = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        _emit(text)
    else:
        output.write_text(text, encoding="utf-8")
        _note(f"Đã ghi / written: {output}")


@checklist.command("validate")
def checklist_validate() -> None:
    """Kiểm tra mọi bộ tiêu chí và hồ sơ đi kèm. / Validate all shipped checklists and profiles."""
    ids = _library().validate_all()
    _note(f"Hợp lệ / valid: {', '.join(ids)}")


@cli.group()
def profile() -> None:
    """Hồ sơ đánh giá (tự đánh giá, kiểm tra). / Assessment profiles."""


@profile.command("list")
@output_options
def profile_list(fmt: str) -> None:
    """Liệt kê hồ sơ. / List profiles."""
    lib = _library()
    from secaudit import yamlio

    rows = []
    for path in lib.profile_paths():
        data = yamlio.load(path).data
        rows.append({"id": path.stem, "kind": "scan" if "scan" in data else "assessment", "title": data.get("title")})
    _emit(format_rows(rows, fmt))


@profile.command("show")
@click.argument("profile_id")
def profile_show(profile_id: str) -> None:
    """Hiện hồ sơ đã giải quyết 'extends' và lựa chọn. / Show a resolved profile."""
    p = _library().resolve_profile(profile_id)
    _emit(json.dumps({"id": p.id, "title": p.title, "chain": p.chain, "checklists": p.checklists,
                      "excluded": sorted(p.excluded), "vars": p.vars}, ensure_ascii=False, indent=2) + "\n")


