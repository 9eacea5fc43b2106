"""Requirement commands: checklists and profiles."""

from __future__ import annotations

import json

import click

from . import (
    _emit,
    _library,
    _note,
    cli,
    format_rows,
    output_options,
)


# -- requirements -------------------------------------------------------------------------------
@cli.group()
def checklist() -> None:
    """Bộ tiêu chí (yêu cầu dưới dạng dữ liệu). / Checklists."""


@checklist.command("list")
@output_options
def checklist_list(fmt: str) -> None:
    """Liệt kê bộ tiêu chí. / List checklists."""
    lib = _library()
    rows = [{"id": c.id, "title": c.title, "from": c.effective.from_, "until": c.effective.until,
             "items": len(c.items)} for c in lib.checklists.values()]
    _emit(format_rows(rows, fmt))


@checklist.command("show")
@click.argument("checklist_id")
@output_options
def checklist_show(checklist_id: str, fmt: str) -> None:
    """Hiện các mục của một bộ tiêu chí. / Show a checklist's items."""
    lib = _library()
    c = lib.checklist(checklist_id)
    rows = [{"id": i.id, "parent": i.parent or "", "scope": i.scope, "deadline": i.deadline,
             "title": i.short or i.title, "basis": "; ".join(b.cite(lib.registry) for b in i.basis)} for i in c.items]
    _emit(format_rows(rows, fmt))


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
    from .. import yamlio

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


