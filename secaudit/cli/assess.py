"""Assessment commands: the interactive walk, answers files, single answers, waivers, status.

``assess AGENCY`` without ``--answers`` is a dialogue: it shows each applicable item (legal basis,
deadline, expected evidence, current answer and evaluation) and asks for a status, a note and
evidence files. Every answer is saved at once with a bookmark, so ``q``, Ctrl-C or a lost terminal
loses nothing and the next ``assess AGENCY`` continues where the walk stopped.
"""

from __future__ import annotations

import datetime as dt
import gc
import textwrap
from pathlib import Path
from typing import Any

import click

from secaudit.cli import (
    DATE,
    NotMet,
    _date,
    _emit,
    _library,
    _note,
    _open,
    as_of_option,
    cli,
    format_rows,
    output_options,
    profile_option,
    ui_lang,
    workspace_options,
)
from secaudit.errors import SecauditError

WIDTH = 100
SEVERITY_VI = {"thap": "thấp", "trung-binh": "trung bình", "cao": "cao", "nghiem-trong": "nghiêm trọng"}


# -- assessment ---------------------------------------------------------------------------------
@cli.command()
@click.argument("agency")
@click.option("--system", default=None, help="Chỉ đánh giá các mục của hệ thống này. / Only this system's items.")
@click.option("--answers", "answers", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Nhập câu trả lời từ tệp .xlsx hoặc YAML (không hỏi), tất cả hoặc không gì."
                                 " / Import answers from an .xlsx or YAML file, all or nothing.")
@click.option("--export-template", "export_template", is_flag=True,
              help="Xuất tệp trả lời mẫu để điền rồi nhập bằng --answers. / Write an answers file to fill in.")
@click.option("-o", "--output", "output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Nơi ghi tệp mẫu: .xlsx (Excel) hoặc .yaml/.yml (mặc định YAML ra stdout)."
                   " / Where to write the template: .xlsx or .yaml/.yml (default YAML on stdout).")
@click.option("--restart", is_flag=True,
              help="Bắt đầu lại từ đầu thay vì tiếp tục phiên dở. / Start over instead of resuming.")
@as_of_option
@profile_option
@workspace_options
def assess(agency: str, system: str | None, answers: Path | None, export_template: bool, output: Path | None,
           restart: bool, as_of: dt.date | None, profile: str, workspace: str | None, actor: str | None) -> None:
    """Đánh giá một cơ quan: hỏi từng mục, hoặc nhập/xuất tệp trả lời. / Assess an agency.

    Không có --answers: hỏi lần lượt từng mục áp dụng, mỗi mục một lần cho mọi hệ thống (d = đạt,
    c = chưa đạt, k = không áp dụng, ngoại lệ như "d, ngoại trừ 2: c", ? = xem đầy đủ, Enter = bỏ qua,
    q = dừng); lưu sau mỗi câu trả lời, lần sau hỏi lại mục đã bỏ qua rồi tiếp tục từ chỗ dừng.
    Without --answers: walks the applicable items interactively, saving after every answer.
    """
    from secaudit.services import assessment as service

    if answers is not None and export_template:
        raise click.UsageError("--answers và --export-template không dùng cùng nhau / are exclusive")
    if output is not None and not export_template:
        raise click.UsageError("-o chỉ dùng với --export-template / -o goes with --export-template")
    ws = _open(workspace)
    if answers is not None:
        if system is not None:
            raise click.UsageError("--system không dùng với --answers (tệp ghi hệ thống) / not with --answers")
        summary = service.import_answers(ws, agency, answers, actor=actor)
        _note(f"Đã ghi {summary.recorded} câu trả lời ({summary.evidence} tệp minh chứng, bỏ qua {summary.skipped}"
              f" mục chưa trả lời" + (f", {summary.unchanged} không đổi" if summary.unchanged else "")
              + f") cho {agency} / recorded {summary.recorded} answers")
        return
    day = _date(as_of)
    if export_template:
        suffix = output.suffix.lower() if output is not None else ".yaml"
        if suffix == ".xlsx":
            assert output is not None
            rows = service.answers_workbook(ws, agency, output, system=system, as_of=day, profile=profile)
            _note(f"Đã ghi sổ tính trả lời ({rows} dòng): {output}; điền trang 'Trả lời' rồi nhập bằng"
                  f" 'secaudit assess {agency} --answers {output}' / answers workbook written")
            return
        if suffix not in (".yaml", ".yml"):
            raise click.UsageError(f"-o {output}: chọn đuôi .xlsx (Excel) hoặc .yaml/.yml"
                                   " / use an .xlsx or .yaml/.yml file name")
        text = service.answers_template(ws, agency, system=system, as_of=day, profile=profile)
        if output is None:
            _emit(text)
        else:
            output.write_text(text, encoding="utf-8")
            _note(f"Đã ghi tệp trả lời mẫu / template written: {output}")
        return
    _walk(ws, agency, system, day, profile, actor, restart)


LEGEND = (
    "Cách trả lời: d = đạt, c = chưa đạt, k = không áp dụng; Enter = bỏ qua (lần chạy sau hỏi lại trước);"
    " ? = xem đầy đủ nội dung, căn cứ và hướng dẫn; q = dừng (các câu đã trả lời được lưu).\n"
    "Mục áp dụng cho nhiều hệ thống được hỏi một lần cho mọi hệ thống; ngoại lệ ghi sau dấu phẩy, ví dụ"
    " 'd, ngoại trừ 2: c' (2 = số thứ tự hoặc mã hệ thống trong danh sách); '2: c' chỉ trả lời hệ thống 2."
)


def _walk(ws: Any, agency: str, system: str | None, day: dt.date, profile: str, actor: str | None,
          restart: bool) -> None:
    """The dialogue, one item at a time (all its systems together). Service calls do the work; this
    function only asks and shows."""
    from secaudit.requirements.walk import group_steps, walk_order
    from secaudit.services import assessment as service

    walk = service.start_walk(ws, agency, system=system, as_of=day, profile=profile, actor=actor, restart=restart)
    steps, session, start, lib = walk.steps, walk.session, walk.start, walk.library
    if not steps:
        click.echo("Không có mục nào cần trả lời / nothing to answer.")
        return
    groups = group_steps(steps)
    number = {g.first: n for n, g in enumerate(groups, 1)}
    again, rest = walk_order(steps, start)
    total = len(groups)
    scope = f"{agency}" + (f", hệ thống {system}" if system else "")
    if session.resumed:
        where = f"tiếp từ mục {number[rest[0].first]}/{total}" if rest else "không còn mục mới"
        click.echo(f"Tiếp tục phiên #{session.id} ({scope}): " + (f"hỏi lại {len(again)} mục đã bỏ qua, rồi "
                   if again else "") + f"{where} (đã trả lời {session.answered}, bỏ qua {session.skipped})."
                   " --restart để làm lại từ đầu.")
    else:
        click.echo(f"Phiên đánh giá #{session.id}: {scope}, {total} mục"
                   + (f" ({len(steps)} câu trả lời theo từng hệ thống)" if len(steps) != total else "")
                   + f", tính đến {day:%d/%m/%Y}, hồ sơ {walk.profile.id}.")
    click.echo(LEGEND)
    for group in [*again, *rest]:
        index = number[group.first]
        click.echo(_render_group(group, index, total, lib, day))
        chosen = _ask_status(group, lib, day)
        if chosen is None:
            click.echo(f"Đã dừng ở mục {index}/{total}. Các câu trả lời đã được lưu; chạy lại"
                       f" 'secaudit assess {agency}" + (f" --system {system}" if system else "")
                       + "' để tiếp tục (mục bỏ qua được hỏi lại trước). / Stopped; run again to resume.")
            return
        for step in group.steps:
            if step.system not in chosen:
                service.skip_walk_step(walk, step)
        if not chosen:
            continue
        notes = {step.answer["note"] if step.answer else None for step in group.steps if step.system in chosen}
        current_note = notes.pop() if len(notes) == 1 else None
        note = click.prompt("Ghi chú / note", default=current_note or "", show_default=bool(current_note)).strip()
        effective = _ask_date(day)
        needs_files = any(status != "khong-ap-dung" for status in chosen.values())
        evidence = _ask_evidence(group.steps[0]) if needs_files else []
        for step in group.steps:
            if (choice := chosen.get(step.system)) is None:
                continue
            files = evidence if choice != "khong-ap-dung" else []
            result = service.save_walk_answer(walk, step, status=choice, note=note or None, evidence=files,
                                              effective=effective)
            who = f"  {step.system}: " if len(group.steps) > 1 else ""
            click.echo(who + _saved_message(choice, len(files), result))
    service.finish_walk(walk)
    click.echo(f"Xong phiên #{session.id}: trả lời {session.answered}, bỏ qua {session.skipped}."
               f" Xem kết quả: secaudit status {agency} / done.")


def _saved_message(choice: str, files: int, result: Any) -> str:
    """What the walk says after saving: the answer, and whether the evaluation takes it as given."""
    from secaudit.requirements.results import LABELS, Status
    from secaudit.requirements.walk import answer_counts

    answered = LABELS["vi"][Status(choice)]
    attached = f", {files} tệp minh chứng" if files else ""
    reasons = "; ".join(result.reasons[:2])
    if answer_counts(choice, result):
        return f"Đã lưu / saved: {answered}{attached}" + (f" — {reasons}" if reasons else "")
    return (f"Đã lưu câu trả lời {answered}{attached}, nhưng chưa được tính: đánh giá hiện tại là"
            f" {LABELS['vi'][result.status]}" + (f" — {reasons}" if reasons else "")
            + " / saved, but the answer does not count yet")


def _ask_status(group: Any, lib: Any, day: dt.date) -> dict[str | None, str] | None:
    """The answer for the item: target -> status (targets left out are skipped); None for ``q``."""
    from secaudit.errors import InputError
    from secaudit.requirements.results import LABELS
    from secaudit.requirements.walk import parse_answer

    systems = group.systems
    current = {step.answer["status"] for step in group.steps if step.answer}
    if len(current) == 1 and all(step.answer for step in group.steps):
        hint = f" [Enter = giữ {LABELS['vi'][current.pop()]}]"
    else:
        hint = " [Enter = bỏ qua]"
    many = f" cho cả {len(systems)} hệ thống, ngoại lệ sau dấu phẩy" if len(systems) > 1 else ""
    while True:
        raw = click.prompt(f"Trạng thái (d/c/k/q){many} — ? xem đầy đủ{hint}", default="",
                           show_default=False).strip()
        if raw.lower() == "q":
            return None
        if raw == "?":
            click.echo(_render_full(group, lib, day))
            continue
        try:
            return parse_answer(raw, systems)
        except InputError as exc:
            click.echo(f"  {exc.message}")
            click.echo("  Chọn d (đạt), c (chưa đạt), k (không áp dụng), Enter, ? hoặc q."
                       " / choose d, c, k, Enter, ? or q")


def _ask_date(day: dt.date) -> dt.date:
    """The day the answer holds from, dd/mm/yyyy (or yyyy-mm-dd), asked again with a Vietnamese
    message until it is a real date."""
    while True:
        raw = click.prompt("Ngày có hiệu lực / effective (dd/mm/yyyy)", default=f"{day:%d/%m/%Y}")
        try:
            return DATE.convert(raw, None, None)
        except click.BadParameter as exc:
            click.echo(f"  {exc.message}")


def _ask_evidence(step: Any) -> list[tuple[Path, str]]:
    from secaudit.requirements.content import EVIDENCE_KINDS
    from secaudit.requirements.walk import default_evidence_kind

    default_kind = default_evidence_kind(step.item)
    files: list[tuple[Path, str]] = []
    while True:
        raw = click.prompt("Tệp minh chứng (Enter để xong) / evidence file (Enter when done)", default="",
                           show_default=False).strip()
        if not raw:
            return files
        path = Path(raw).expanduser()
        if not path.is_file():
            click.echo(f"  Không thấy tệp '{raw}' / file not found")
            continue
        files.append((path.resolve(), _ask_kind(EVIDENCE_KINDS, default_kind)))


def _ask_kind(kinds: dict[str, tuple[str, str]], default: str) -> str:
    """The kind of an attached file, chosen by number or by name from a numbered list of labels."""
    codes = list(kinds)
    click.echo("  " + " · ".join(f"{n}. {kinds[c][0]}" for n, c in enumerate(codes, 1)))
    while True:
        raw = click.prompt("  Loại minh chứng (số hoặc tên) / kind", default=kinds[default][0]).strip().lower()
        if raw.isdigit() and 1 <= int(raw) <= len(codes):
            return codes[int(raw) - 1]
        for code in codes:
            if raw in (code, kinds[code][0].lower(), kinds[code][1].lower()):
                return code
        click.echo(f"  Không có loại '{raw}': chọn số từ 1 đến {len(codes)} / choose a number from the list")


def _wrap(label: str, text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WIDTH, initial_indent=label, subsequent_indent="  ")


def _day(value: Any) -> str:
    """A stored ISO day or instant as Vietnamese people write it (dd/mm/yyyy, Vietnam time)."""
    from secaudit import clock

    if not value:
        return "?"
    text = str(value)
    try:
        if len(text) > 10:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(clock.VIETNAM)
            return f"{moment:%d/%m/%Y %H:%M}"
        return f"{dt.date.fromisoformat(text):%d/%m/%Y}"
    except ValueError:
        return text


def _facts(group: Any, registry: Any, day: dt.date, *, quotes: bool) -> list[str]:
    """Legal basis, deadline, applicability and expected evidence of an item."""
    from secaudit.requirements.conditions import explain
    from secaudit.requirements.evaluate import kinds_text

    item = group.item
    lines: list[str] = []
    cites = []
    for basis in item.basis:
        text = basis.cite(registry)
        if quotes and basis.quote:
            text += f": “{' '.join(basis.quote.split())}”"
        if basis.in_force(registry, day) is False:
            text += f" (văn bản có hiệu lực từ {_day(registry[basis.doc].effective)}, sau ngày đánh giá)"
        cites.append(text)
    if quotes:
        lines.append("Căn cứ pháp lý / legal basis:")
        for text in cites:
            lines += textwrap.wrap(f"  - {text}", WIDTH, subsequent_indent="    ")
    else:  # whole citations per line: a document number is never cut in two
        line = "Căn cứ pháp lý: "
        for n, text in enumerate(cites):
            piece = text + ("; " if n < len(cites) - 1 else "")
            if len(line) + len(piece.rstrip()) > WIDTH and line.strip() and not line.endswith(": "):
                lines.append(line.rstrip())
                line = "  "
            line += piece
        lines.append(line.rstrip())
    overdue = any(step.result.overdue for step in group.steps)
    facts = [f"Hạn: {item.deadline:%d/%m/%Y}" + (" (đã quá hạn)" if overdue else "")
             if item.deadline else "Hạn: không có ngày hạn"]
    if item.recurrence:
        facts.append(f"lặp lại mỗi {item.recurrence.months} tháng")
    facts.append(f"mức độ: {SEVERITY_VI.get(item.severity, item.severity)}")
    lines.append(" · ".join(facts))
    if item.applies_if is not None:
        lines += _wrap("Áp dụng khi: ", explain(item.applies_if))
    expected = kinds_text(item.evidence.documents) or "không nêu"
    attest = "được chấp nhận" if item.evidence.attestation else "không đủ"
    lines += _wrap("Minh chứng cần: ", f"{expected} · tự khai: {attest}"
                   + (" · kết quả quét có tác động" if item.evidence.scan else ""))
    return lines


def _answer_text(step: Any) -> str:
    from secaudit.requirements.results import LABELS

    ans = step.answer
    if not ans:
        return "chưa có / none yet"
    return (f"{LABELS['vi'][ans['status']]} (có hiệu lực {_day(ans['effective'])}, ghi {_day(ans['answered_at'])},"
            f" bởi {ans['actor']})" + (f" — ghi chú: {ans['note']}" if ans["note"] else ""))


def _evidence_lines(step: Any, indent: str) -> list[str]:
    from secaudit.requirements.content import EVIDENCE_KINDS

    return [f"{indent}minh chứng: {ref['original_name']} ({EVIDENCE_KINDS.get(ref['kind'], (ref['kind'],))[0]},"
            f" sha256 {ref['sha256'][:12]}…" + (f", hết hạn {_day(ref['expires'])}" if ref["expires"] else "") + ")"
            for ref in step.evidence]


def _render_group(group: Any, index: int, total: int, lib: Any, day: dt.date) -> str:
    """What a person needs to answer one item, short, in Vietnamese (``?`` shows the full text)."""
    from secaudit.requirements.results import LABELS

    item, systems = group.item, group.systems
    lines = ["", "─" * WIDTH]
    if not systems:
        where = " · cấp cơ quan"
    elif len(systems) == 1:
        where = f" · hệ thống {systems[0]}"
    else:
        where = f" · {len(systems)} hệ thống"
    lines.append(f"[{index}/{total}] {group.checklist.id}:{item.id}{where}")
    lines += _wrap("", item.short or item.title)
    lines += _facts(group, lib.registry, day, quotes=False)
    for step in group.steps:
        if step.result.applicable is None:
            who = f" ({step.system})" if len(group.steps) > 1 else ""
            lines += _wrap(f"Chưa rõ có áp dụng không{who}: ", _unknown_text(item, step.result))
    if len(group.steps) == 1:
        step = group.steps[0]
        lines += _wrap("Trả lời hiện tại: ", _answer_text(step))
        lines += _evidence_lines(step, "  ")
        result = step.result
        lines += _wrap("Đánh giá hiện tại: ", LABELS["vi"][result.status]
                       + (f" — {'; '.join(result.reasons[:3])}" if result.reasons else ""))
        return "\n".join(lines)
    lines.append("Hệ thống (số thứ tự dùng cho ngoại lệ) — trả lời hiện tại · đánh giá hiện tại:")
    for n, step in enumerate(group.steps, 1):
        answer = LABELS["vi"][step.answer["status"]] if step.answer else "chưa trả lời"
        lines.append(f"  {n}. {step.system} — {answer} · {LABELS['vi'][step.result.status]}")
        lines += _evidence_lines(step, "     ")
    return "\n".join(lines)


def _unknown_text(item: Any, result: Any) -> str:
    """Why applicability is open, in words: the inventory facts still undeclared (not attribute names)."""
    from secaudit.requirements.conditions import ATTRIBUTES, attributes

    reasons = " ".join(result.reasons)
    missing = [ATTRIBUTES[a] for a in dict.fromkeys(attributes(item.applies_if)) if a in reasons and a in ATTRIBUTES]
    if not missing:
        return result.reasons[0] if result.reasons else ""
    return f"danh mục chưa ghi rõ {', '.join(f'“{m}”' for m in missing)} — bổ sung trong danh mục rồi chạy lại"


def _render_full(group: Any, lib: Any, day: dt.date) -> str:
    """The whole item, on ``?``: full text, parent task, quoted legal basis, guidance, answers."""
    from secaudit.requirements.results import LABELS

    item = group.item
    lines = ["", f"{group.checklist.id}:{item.id} — toàn văn / full text"]
    lines += _wrap("", item.title)
    if item.parent:
        parent = group.checklist.item(item.parent)
        lines.append(f"Thuộc nhiệm vụ / part of: {parent.id} — {parent.short or parent.title}")
    lines += _facts(group, lib.registry, day, quotes=True)
    if item.required_result:
        lines += _wrap("Kết quả cần đạt: ", item.required_result)
    if item.guidance:
        lines += _wrap("Hướng dẫn: ", item.guidance)
    for step in group.steps:
        label = f"Trả lời hiện tại ({step.system}): " if len(group.steps) > 1 else "Trả lời hiện tại: "
        lines += _wrap(label, _answer_text(step))
        reasons = "; ".join(step.result.reasons[:3])
        lines += _wrap("  Đánh giá: ", LABELS["vi"][step.result.status] + (f" — {reasons}" if reasons else ""))
    return "\n".join(lines)


# -- single answers for scripts -----------------------------------------------------------------
@cli.group()
def answer() -> None:
    """Ghi, xem câu trả lời từng mục (cho kịch bản). / Set and list single answers (for scripts)."""


@answer.command("set")
@click.argument("item")
@click.option("--agency", required=True, help="Cơ quan. / Agency.")
@click.option("--system", default=None, help="Hệ thống (với mục theo hệ thống). / System (system-scope items).")
@click.option("--status", "status", required=True, type=click.Choice(["dat", "chua-dat", "khong-ap-dung"]),
              help="Trạng thái tự đánh giá. / Self-assessed status.")
@click.option("--note", default=None, help="Ghi chú. / Note.")
@click.option("--evidence", "evidence", multiple=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Tệp minh chứng (lặp lại được). / Evidence file (repeatable).")
@click.option("--kind", default=None, help="Loại minh chứng (quyet-dinh, bao-cao, …). / Evidence kind.")
@click.option("--expires", type=DATE, default=None,
              help="Minh chứng hết hiệu lực sau ngày này. / Evidence expires after this date.")
@click.option("--effective", type=DATE, default=None,
              help="Ngày câu trả lời có hiệu lực (mặc định hôm nay). / Day the answer holds from (default today).")
@workspace_options
def answer_set(item: str, agency: str, system: str | None, status: str, note: str | None, evidence: tuple[Path, ...],
               kind: str | None, expires: dt.date | None, effective: dt.date | None, workspace: str | None,
               actor: str | None) -> None:
    """Ghi câu trả lời cho một mục CHECKLIST:ITEM. / Record one answer for CHECKLIST:ITEM."""
    from secaudit.services import assessment as service

    service.record_answer(workspace, agency, item, status=status, system=system, note=note, evidence=evidence,
                          kind=kind, effective=effective, expires=expires, actor=actor)
    _note(f"Đã ghi {item}" + (f" ({system})" if system else "") + f" = {status} / recorded")


@answer.command("list")
@click.option("--agency", required=True, help="Cơ quan. / Agency.")
@output_options
@workspace_options
def answer_list(agency: str, fmt: str, workspace: str | None, actor: str | None) -> None:
    """Liệt kê câu trả lời đã ghi của một cơ quan. / List an agency's recorded answers."""
    from secaudit.services import assessment as service

    _emit(format_rows(service.list_answers(workspace, agency), fmt))


# -- waivers ------------------------------------------------------------------------------------
@cli.command()
@click.argument("item")
@click.option("--agency", required=True, help="Cơ quan. / Agency.")
@click.option("--system", default=None, help="Hệ thống (với mục theo hệ thống). / System.")
@click.option("--reason", required=True, help="Lý do miễn trừ. / Reason.")
@click.option("--approved-by", required=True, help="Người/cấp phê duyệt. / Approver.")
@click.option("--until", required=True, type=DATE,
              help="Hiệu lực đến hết ngày này. / Valid through this date.")
@workspace_options
def waive(item: str, agency: str, system: str | None, reason: str, approved_by: str, until: dt.date,
          workspace: str | None, actor: str | None) -> None:
    """Miễn trừ một yêu cầu (CHECKLIST:ITEM) có thời hạn. / Waive a requirement until a date."""
    from secaudit.services import assessment as service

    wid = service.waive(workspace, agency, item, system=system, reason=reason, approved_by=approved_by,
                        until=until, actor=actor)
    _note(f"Đã ghi miễn trừ #{wid} / waiver #{wid} recorded")


# -- status -------------------------------------------------------------------------------------
@cli.command()
@click.argument("agency", required=False)
@as_of_option
@profile_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Định dạng đầu ra. / Output format.")
@workspace_options
def status(agency: str | None, as_of: dt.date | None, profile: str, fmt: str, workspace: str | None,
           actor: str | None) -> None:
    """Tình trạng từng nhiệm vụ theo cơ quan; thoát mã 3 nếu còn yêu cầu chưa đạt. / Status matrix."""
    from secaudit.services import assessment as service

    lib = _library()
    if fmt == "json":  # streamed: one agency evaluated and written at a time
        stream = service.StatusJson(workspace, agency, as_of=_date(as_of), profile=profile)
        # what is loaded by now (modules, checklists) lives as long as the command: the cycle collector
        # need not walk it again every few thousand results (a tenth of a province-wide status)
        gc.freeze()
        try:
            for chunk in stream:
                _emit(chunk)
        finally:
            gc.unfreeze()  # as it was for whatever runs next in this process (tests call the CLI in-process)
        if not stream.met:
            raise NotMet()
        return
    results = service.assess_status(workspace, agency, as_of=_date(as_of), profile=profile)
    if agency:
        _emit(_status_detail(results[0], lib))
    else:
        _emit(_status_matrix(results, lib))
    if not all(r.met for r in results):
        raise NotMet()


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _reason(r: Any, width: int) -> str:
    """The first reason, in the listing's language, dates as people write them."""
    from secaudit.requirements.results import reader_reason

    return _cut(reader_reason(r.reasons[0], ui_lang()), width) if r.reasons else ""


def _heading(result: Any, lib: Any, who: str = "") -> str:
    try:
        profile = lib.resolve_profile(result.profile).title or result.profile
    except SecauditError:
        profile = result.profile
    day = dt.date.fromisoformat(str(result.as_of)[:10])
    if ui_lang() == "en":
        return f"{who}as of {day:%d/%m/%Y} — profile: {profile}\n"
    return f"{who}số liệu tính đến ngày {day:%d/%m/%Y} — hình thức đánh giá: {profile}\n"


def _status_detail(result: Any, lib: Any) -> str:
    from secaudit.requirements.results import LABELS

    lang = ui_lang()
    rows = []
    for r in result.results:
        item = lib.checklist(r.checklist).item(r.item)
        rows.append({"item": f"{'  ' if item.parent else ''}{r.item}", "title": _cut(item.short or item.title, 40),
                     "deadline": r.deadline or "", "status": LABELS[lang][r.status],
                     "overdue": ("QUÁ HẠN" if lang == "vi" else "OVERDUE") if r.overdue else "",
                     "reason": _reason(r, 90)})
    head = _heading(result, lib, f"{result.agency} — ")
    text = head + format_rows(rows, "table")
    if result.reports:
        reports = [{"duty": r.duty, "title": _cut(r.title, 60), "due": f"trước {r.due_before:%d/%m/%Y}",
                    "left": r.days_left, "recipient": r.recipient or "", "basis": r.basis} for r in result.reports]
        text += "\nBáo cáo định kỳ sắp đến hạn / next progress reports due:\n"
        text += format_rows(reports, "table", {"duty": "Báo cáo", "title": "Nội dung", "due": "Hạn",
                                               "left": "Còn (ngày)", "recipient": "Nơi nhận", "basis": "Căn cứ"})
    return text


def _status_matrix(results: list[Any], lib: Any) -> str:
    """Items down, agencies across, then why each unmet task is unmet."""
    from secaudit.requirements.results import LABELS

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
    heading = _heading(results[0], lib)
    text = heading[:1].upper() + heading[1:] + format_rows(rows, "table", headers)
    text += "* quá hạn / overdue\n\nLý do các mục chưa đạt / why unmet:\n"
    reasons = []
    for res in results:
        for r in res.results:
            item = lib.checklist(r.checklist).item(r.item)
            if item.parent is None and (not r.status.met or r.overdue):
                reasons.append({"agency": res.agency, "item": r.item,
                                "status": LABELS["vi"][r.status] + ("*" if r.overdue else ""),
                                "reason": _reason(r, 100)})
    return text + (format_rows(reasons, "table", {"agency": "Cơ quan", "item": "Mục", "status": "Trạng thái",
                                                  "reason": "Lý do"}) if reasons else "(không có / none)\n")
