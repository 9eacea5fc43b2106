"""Requirements as data: the shipped checklists and profiles, strict loading, the schema, the docs."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from secaudit import yamlio
from secaudit.errors import NotFoundError, ValidationError
from secaudit.requirements import conditions, content
from secaudit.requirements.content import EVIDENCE_KINDS, PROFILE_VARS, Library, ReportingDuty

from conftest import ROOT

LIB = Library()
SHARED = ROOT.parent / "shared"
SCHEMA_FILE = ROOT / "docs" / "checklist.schema.json"
FORMAT_DOC = ROOT / "docs" / "checklist-format.md"


def _bases(lib: Library = LIB) -> list[tuple[str, str, content.Basis]]:
    out = []
    for checklist in lib.checklists.values():
        out += [(checklist.id, item.id, b) for item in checklist.items for b in item.basis]
        out += [(checklist.id, duty.id, b) for duty in checklist.reporting for b in duty.basis]
    return out


# -- the shipped content ------------------------------------------------------------------------
def test_checklist_validate_passes_on_shipped_content(cli) -> None:
    result = cli("checklist", "validate")
    assert result.code == 0, result.err
    for name in ("kh04-bcdtw", "kh92a-ubnd-nghe-an", "tu-danh-gia", "kiem-tra"):
        assert name in result.err


def test_every_citation_names_a_registered_document() -> None:
    registry = LIB.registry
    bases = _bases()
    assert len(bases) > 50
    missing = [(cid, iid, b.doc) for cid, iid, b in bases if b.doc not in registry]
    assert missing == []
    assert all(c.document in registry for c in LIB.checklists.values())
    assert all(b.ref.strip() for _, _, b in bases)  # a citation always says where in the document


def test_every_condition_names_a_known_attribute_the_evaluator_can_read(example_ws) -> None:
    from secaudit.reporting.assessment import collaborators
    from secaudit.requirements.evaluate import _agency_lookup, _system_lookup

    named: set[str] = set()
    for checklist in LIB.checklists.values():
        for cond in [i.applies_if for i in checklist.items] + [d.applies_if for d in checklist.reporting]:
            if cond is None:
                continue
            attrs = set(conditions.attributes(cond))
            assert attrs <= set(conditions.ATTRIBUTES), attrs - set(conditions.ATTRIBUTES)
            named |= attrs
    assert {"agency.kind", "agency.private_data_centre", "system.critical", "system.restricted_sector",
            "system.hosting"} <= named
    # every attribute the language accepts resolves against a real workspace row, without guessing
    agency = next(example_ws.db.query("select * from agencies where code = 'so-khcn'"))
    systems = list(example_ws.db.query("select * from systems where agency = 'so-khcn' order by position"))
    agency_lookup = _agency_lookup(agency, systems)
    system_lookup = _system_lookup(agency_lookup, systems[0], True, dt.date(2026, 9, 1),
                                   level_of=collaborators().level_of)
    for attr in conditions.ATTRIBUTES:
        system_lookup(attr)  # raises KeyError on an attribute the evaluator does not know
    assert system_lookup("system.critical") is True and system_lookup("agency.private_data_centre") is True


def test_quotes_are_verbatim_in_the_sources() -> None:
    """Every quoted citation of a document kept in the workspace appears in that document's text."""
    if not SHARED.is_dir():
        pytest.skip("the shared/ folder with the source texts is not beside the checkout")

    def norm(text: str) -> str:
        text = unicodedata.normalize("NFC", text).replace("“", '"').replace("”", '"')
        return re.sub(r"\s+", "", text).lower()

    texts = {}
    for doc in LIB.registry.values():
        if doc.in_workspace:
            path = ROOT.parent / doc.in_workspace.split()[0]
            assert path.is_file(), f"{doc.id}: {path} missing"
            texts[doc.id] = norm(path.read_text(encoding="utf-8"))
    checked = 0
    for cid, iid, basis in _bases():
        if basis.quote and basis.doc in texts:
            assert norm(basis.quote) in texts[basis.doc], f"{cid}:{iid} {basis.doc} {basis.ref}: {basis.quote}"
            checked += 1
    assert checked > 40


def test_kh04_encodes_six_tasks_with_sub_items() -> None:
    kh04 = LIB.checklist("kh04-bcdtw")
    top = [i.id for i in kh04.items if i.parent is None]
    assert top == ["t1-lo-hong", "t2-kenh-ket-noi", "t3-cap-do", "t4-mo-hinh-4-lop", "t5-giam-sat", "t6-soc"]
    assert [c.id for c in kh04.children("t4-mo-hinh-4-lop")] == ["t4-lop-1", "t4-lop-2", "t4-lop-3", "t4-lop-4"]
    assert [c.id for c in kh04.children("t2-kenh-ket-noi")] == ["t2-van-ban", "t2-dau-moi", "t2-du-lieu"]
    assert {i.deadline for i in kh04.items if i.id != "t6-soc" and i.parent is None} == {dt.date(2026, 4, 30)}
    assert kh04.item("t6-soc").deadline == dt.date(2026, 5, 31)
    # the incident-channel task and its parts exclude military, defence and cơ yếu systems
    for item in [kh04.item("t2-kenh-ket-noi"), *kh04.children("t2-kenh-ket-noi")]:
        assert item.applies_if == {"attr": "system.restricted_sector", "not_in": ["quan-su", "quoc-phong", "co-yeu"]}


def test_kh92a_reporting_cadence_matches_section_iv1() -> None:
    duties = {d.id: d for d in LIB.checklist("kh92a-ubnd-nghe-an").reporting}
    assert {k: (d.every, d.due_day, d.due_month) for k, d in duties.items()} == {
        "bc-thang": ("month", 20, None), "bc-quy": ("quarter", 10, None),
        "bc-6-thang": ("half-year", 10, 6), "bc-nam": ("year", 30, 11),
    }
    assert all(b.doc == "kh92a-ubnd-nghe-an" and b.ref == "IV.1" for d in duties.values() for b in d.basis)


@pytest.mark.parametrize(
    ("every", "day", "month", "today", "expected"),
    [
        ("month", 20, None, "2026-06-19", "2026-06-20"),
        ("month", 20, None, "2026-06-20", "2026-07-20"),  # "before the 20th": on the 20th it is late
        ("month", 20, None, "2026-12-25", "2027-01-20"),
        ("month", 31, None, "2026-02-01", "2026-02-28"),  # clamped to short months
        ("quarter", 10, None, "2026-06-10", "2026-09-10"),
        ("quarter", 10, None, "2026-01-05", "2026-03-10"),
        ("half-year", 10, 6, "2026-06-11", "2027-06-10"),
        ("year", 30, 11, "2026-11-22", "2026-11-30"),
    ],
)
def test_next_report_due(every: str, day: int, month: int | None, today: str, expected: str) -> None:
    duty = ReportingDuty.model_validate({"id": "x", "title": "x", "every": every, "due_day": day, "due_month": month,
                                         "basis": [{"doc": "kh92a-ubnd-nghe-an", "ref": "IV.1"}]})
    assert duty.next_due(dt.date.fromisoformat(today)) == dt.date.fromisoformat(expected)


def test_scan_rules_bear_on_items_that_expect_scans() -> None:
    from secaudit.scanning.profiles import load_rules

    for rule in load_rules():
        for ref in rule.bears_on:
            _, item = LIB.resolve_ref(ref)
            assert item.evidence.scan, f"{rule.id} bears on {ref}, which does not take scan evidence"


def test_requirements_table_lists_every_item_and_reporting_duty() -> None:
    table = (ROOT / "docs" / "requirements-table.md").read_text(encoding="utf-8")
    for checklist in (LIB.checklist("kh04-bcdtw"), LIB.checklist("kh92a-ubnd-nghe-an")):
        for name in [i.id for i in checklist.items] + [d.id for d in checklist.reporting]:
            assert f"`{name}`" in table, f"{checklist.id}:{name} is not in docs/requirements-table.md"


def test_format_doc_covers_every_attribute_kind_and_variable() -> None:
    doc = FORMAT_DOC.read_text(encoding="utf-8")
    for name in [*conditions.ATTRIBUTES, *conditions.OPERATORS, *EVIDENCE_KINDS, *PROFILE_VARS]:
        assert f"`{name}`" in doc, f"{name} is not documented in docs/checklist-format.md"


# -- the JSON Schema ----------------------------------------------------------------------------
def test_committed_schema_is_current(cli) -> None:
    generated = json.dumps(content.json_schema(), ensure_ascii=False, indent=2) + "\n"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == generated, \
        "docs/checklist.schema.json is stale: run 'secaudit checklist schema -o docs/checklist.schema.json'"
    result = cli("checklist", "schema")
    assert result.code == 0 and result.out == generated


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def test_schema_accepts_shipped_files_and_rejects_a_misspelled_key() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    files = [*LIB.checklist_paths(), LIB.checklist_dir / content.DOCUMENTS_FILE,
             *(p for p in LIB.profile_paths() if "scan" not in yamlio.load(p).data)]
    for path in files:
        errors = list(validator.iter_errors(_jsonable(yamlio.load(path).data)))
        assert errors == [], f"{path.name}: {errors[0].message if errors else ''}"
    bad = _jsonable(yamlio.load(LIB.checklist_dir / "kh04-bcdtw.yaml").data)
    bad["items"][0]["deadlne"] = "2026-04-30"
    assert list(validator.iter_errors(bad))
    bad = _jsonable(yamlio.load(LIB.checklist_dir / "kh04-bcdtw.yaml").data)
    bad["items"][1]["applies_if"] = {"attr": "system.sector_restricted", "not_in": ["co-yeu"]}
    assert list(validator.iter_errors(bad))


# -- strict loading -----------------------------------------------------------------------------
@pytest.fixture
def lib_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped checklists and profiles to break."""
    checklists = tmp_path / "checklists"
    profiles = tmp_path / "profiles"
    shutil.copytree(LIB.checklist_dir, checklists)
    shutil.copytree(LIB.profile_dir, profiles)
    return checklists, profiles


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _lines_of(path: Path, needle: str) -> list[int]:
    return [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("    deadline: 2026-04-30\n    severity: nghiem-trong", "    deadlne: 2026-04-30\n    severity: nghiem-trong",
         "deadlne", "khóa không được phép"),
        ("      - doc: kh04-bcdtw\n        ref: task 1", "      - doc: kh04-khong-co\n        ref: task 1",
         "kh04-khong-co", "không có trong danh mục"),
        ("      attr: system.restricted_sector\n      not_in: [quan-su, quoc-phong, co-yeu]\n    deadline",
         "      attr: system.restricted_sectr\n      not_in: [quan-su, quoc-phong, co-yeu]\n    deadline",
         "system.restricted_sectr", "system.restricted_sectr"),
        ("documents: [ket-qua-quet, bao-cao, bien-ban]", "documents: [ket-qua-quet, bao-cao, giay-phep]",
         "giay-phep", "giay-phep"),
        ("    parent: t2-kenh-ket-noi\n", "    parent: t2-khong-co\n", "t2-khong-co", "mục cha"),
        ("  - id: t2-dau-moi\n", "  - id: t2-van-ban\n", "id: t2-van-ban", "bị lặp"),
        ("id: kh04-bcdtw\n", "id: kh04\n", "id: kh04", "trùng tên tệp"),
        ("  from: 2026-01-05\n", "  from: 2026-01-05\n  until: 2025-01-01\n", "until", "until"),
    ],
)
def test_bad_checklists_are_refused_with_file_and_line(lib_dirs: tuple[Path, Path], old: str, new: str,
                                                       needle: str, message: str) -> None:
    checklists, profiles = lib_dirs
    path = checklists / "kh04-bcdtw.yaml"
    _edit(path, old, new)
    with pytest.raises(ValidationError) as info:
        Library(checklists, profiles).validate_all()
    text = info.value.diagnostics()
    assert message in text
    assert f"{path}:" in text
    line = int(re.search(rf"{re.escape(str(path))}:(\d+)", text).group(1))  # type: ignore[union-attr]
    assert min(abs(line - near) for near in _lines_of(path, needle)) <= 3, (line, text)


def test_sub_item_scope_must_match_its_parent(lib_dirs: tuple[Path, Path]) -> None:
    checklists, profiles = lib_dirs
    path = checklists / "kh04-bcdtw.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: t4-lop-1")
    scope = text.index("    scope: agency", start)
    path.write_text(text[:scope] + "    scope: system" + text[scope + len("    scope: agency"):], encoding="utf-8")
    with pytest.raises(ValidationError, match="phạm vi phải giống mục cha"):
        Library(checklists, profiles).validate_all()


def test_reporting_duty_shape_is_checked(lib_dirs: tuple[Path, Path]) -> None:
    checklists, profiles = lib_dirs
    _edit(checklists / "kh92a-ubnd-nghe-an.yaml", "    due_day: 30\n    due_month: 11\n", "    due_day: 30\n")
    with pytest.raises(ValidationError, match="due_month"):
        Library(checklists, profiles).validate_all()


# -- profiles -----------------------------------------------------------------------------------
def test_shipped_profiles_resolve() -> None:
    self_check = LIB.resolve_profile("tu-danh-gia")
    inspect = LIB.resolve_profile("kiem-tra")
    assert self_check.checklists == inspect.checklists
    assert self_check.checklists[:2] == ["kh04-bcdtw", "kh92a-ubnd-nghe-an"]
    assert inspect.chain == ["kiem-tra", "tu-danh-gia"]
    assert self_check.vars == {"attestation_ok": True, "require_documents": False, "scan_max_age_days": 90}
    assert inspect.vars == {"attestation_ok": False, "require_documents": True, "scan_max_age_days": 30}


def test_profile_extends_selects_and_sets_vars(lib_dirs: tuple[Path, Path]) -> None:
    checklists, profiles = lib_dirs
    (profiles / "hep.yaml").write_text(
        "id: hep\ntitle: Hẹp\nextends: kiem-tra\nselect:\n  - '!kh04-bcdtw:t6-soc'\n"
        "  - '!kh92a-ubnd-nghe-an:ii23-mang-dang'\nvars:\n  scan_max_age_days: 7\n", encoding="utf-8")
    (profiles / "hep-lai.yaml").write_text(
        "id: hep-lai\ntitle: Chọn lại\nextends: hep\nselect: ['kh04-bcdtw:t6-soc']\n", encoding="utf-8")
    lib = Library(checklists, profiles)
    narrow = lib.resolve_profile("hep")
    assert narrow.chain == ["hep", "kiem-tra", "tu-danh-gia"]
    assert narrow.excluded == {"kh04-bcdtw:t6-soc", "kh92a-ubnd-nghe-an:ii23-mang-dang"}
    assert narrow.vars == {"attestation_ok": False, "require_documents": True, "scan_max_age_days": 7}
    assert lib.resolve_profile("hep-lai").excluded == {"kh92a-ubnd-nghe-an:ii23-mang-dang"}


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ("id: x\ntitle: X\nextends: tu-danh-gia\nvars:\n  scan_max_age: 7\n", ValidationError, "scan_max_age"),
        ("id: x\ntitle: X\nextends: tu-danh-gia\nvars:\n  scan_max_age_days: 0\n", ValidationError, "quá nhỏ"),
        ("id: x\ntitle: X\nselect: ['kh04-bcdtw:t9']\n", NotFoundError, "t9"),
        ("id: x\ntitle: X\nselect: ['t6-soc']\n", ValidationError, "checklist:item"),
        ("id: x\ntitle: X\nchecklists: [kh05]\n", NotFoundError, "kh05"),
        ("id: x\ntitle: X\nextends: x\n", ValidationError, "extends"),
        ("id: y\ntitle: X\n", ValidationError, "trùng tên tệp"),
    ],
)
def test_bad_profiles_are_refused(lib_dirs: tuple[Path, Path], body: str, error: type, message: str) -> None:
    checklists, profiles = lib_dirs
    (profiles / "x.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(error, match=message):
        Library(checklists, profiles).resolve_profile("x")


def test_profile_and_checklist_cli(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = cli("profile", "show", "kiem-tra")
    assert shown.code == 0
    doc = json.loads(shown.out)
    assert doc["chain"] == ["kiem-tra", "tu-danh-gia"] and doc["vars"]["require_documents"] is True
    listed = cli("checklist", "list", "--as-of", "2025-12-01", "--format", "json")
    in_force = {row["id"]: row["in_force"] for row in json.loads(listed.out)}
    assert (in_force["kh04-bcdtw"], in_force["kh92a-ubnd-nghe-an"]) == (False, True)
    full = json.loads(cli("checklist", "show", "kh04-bcdtw", "--format", "json").out)
    assert full["effective"] == {"from": "2026-01-05", "until": None}
    assert cli("checklist", "show", "khong-co").code == 1
    table = cli("checklist", "show", "kh04-bcdtw")
    assert "system.restricted_sector" not in table.out and "Áp dụng khi" in table.out  # a sentence, not an expression
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    english = cli("checklist", "show", "kh04-bcdtw")
    assert "system.restricted_sector ∉ {quan-su, quoc-phong, co-yeu}" in english.out


def test_reading_yaml_keeps_nothing_between_documents() -> None:
    # The scalar constructors' loader is shared; it used to keep every node it built, so a served app
    # grew by megabytes on each page that read the checklists.
    text = (ROOT / "checklists" / "kh04-bcdtw.yaml").read_text(encoding="utf-8")
    for _ in range(3):
        assert yamlio.loads(text, "kh04-bcdtw.yaml").data
    assert len(yamlio._SCALAR.constructed_objects) == 0 and len(yamlio._SCALAR.recursive_objects) == 0
