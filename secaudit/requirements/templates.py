"""The answers template: an answers file listing every item to answer, ready to fill in."""

from __future__ import annotations

import datetime as dt
import json

from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.requirements.evaluate import Collaborators
from secaudit.requirements.walk import walk_steps
from secaudit.store.workspace import Workspace


def _yaml_str(value: str | None) -> str:
    """A YAML scalar for ``value`` (JSON strings are valid YAML double-quoted scalars)."""
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def answers_template(
    ws: Workspace, library: Library, agency: str, *, system: str | None, as_of: dt.date, profile: ResolvedProfile,
    using: Collaborators,
) -> str:
    """An answers file listing every item to answer, prefilled with the current answers.

    Every entry carries its item's title, legal basis, deadline and expected evidence as comments,
    so the file can be filled in by someone who has not read the checklist. ``status: null`` lines
    are skipped on import, so a half-filled template imports what was filled.
    """
    steps = walk_steps(ws, library, agency, system=system, as_of=as_of, profile=profile, using=using)
    name = ws.db.execute("select name from agencies where code = ?", [agency]).fetchone()[0]
    out = [
        f"# Tệp trả lời của {agency} — {name}",
        f"# Mẫu do secaudit tạo, tính đến ngày {as_of.isoformat()}, hồ sơ đánh giá '{profile.id}'.",
        "# Điền cho từng mục:",
        "#   status:    dat | chua-dat | khong-ap-dung   (để null = chưa trả lời, bỏ qua khi nhập)",
        "#   note:      ghi chú, nêu rõ căn cứ tự đánh giá",
        "#   effective: ngày kết quả có hiệu lực (ngày quyết định, ngày đánh giá), dạng YYYY-MM-DD",
        "#   evidence:  tệp minh chứng, đường dẫn tính từ thư mục chứa tệp này; ghi dạng",
        "#              {file: ..., kind: ..., expires: YYYY-MM-DD} để nêu loại và hạn của tệp",
        f"# Nhập: secaudit assess {agency} --answers <tệp này>",
        f"# Answers file for {agency}; fill in status/note/effective/evidence, then import with --answers.",
        f"agency: {agency}",
        "answers:",
    ]
    current = None
    registry = library.registry
    for step in steps:
        if step.checklist.id != current:
            current = step.checklist.id
            out += ["", f"  # ── {current}: {' '.join(step.checklist.title.split())}"]
        item = step.item
        where = f" — hệ thống {step.system}" if step.system else ""
        out.append("")
        out.append(f"  # {item.id}{where}: {' '.join((item.short or item.title).split())}")
        out.append(f"  # Căn cứ: {'; '.join(b.cite(registry) for b in item.basis)}")
        facts = [f"hạn {item.deadline.isoformat()}" if item.deadline else "không có ngày hạn"]
        if item.recurrence:
            facts.append(f"lặp lại mỗi {item.recurrence.months} tháng")
        if item.evidence.documents:
            facts.append(f"minh chứng: {', '.join(item.evidence.documents)}")
        facts.append("tự khai được chấp nhận" if item.evidence.attestation else "cần tài liệu")
        out.append(f"  # {'; '.join(facts)}")
        if step.result.applicable is None:
            out.append(f"  # Chưa rõ có áp dụng không: {step.result.reasons[0] if step.result.reasons else ''}")
        for ref in step.evidence:
            out.append(f"  # Đã có minh chứng: {ref['original_name']} ({ref['kind']}, sha256 {ref['sha256'][:12]})")
        answer = step.answer or {}
        out.append(f"  - checklist: {step.checklist.id}")
        out.append(f"    item: {item.id}")
        if step.system:
            out.append(f"    system: {step.system}")
        out.append(f"    status: {answer.get('status') or 'null'}")
        out.append(f"    note: {_yaml_str(answer.get('note'))}")
        out.append(f"    effective: {answer.get('effective') or 'null'}")
        out.append("    evidence: []")
    if not steps:
        out.append("  []")
    return "\n".join(out) + "\n"

