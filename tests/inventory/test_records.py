"""Inventory: YAML ↔ SQLite round-trip, and bad inventories fail with file:line, store unchanged."""

from __future__ import annotations

import filecmp
import re
import sqlite3
from pathlib import Path

import pytest

from secaudit.errors import InputError
from secaudit.inventory import records as inventory
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

GOOD = """\
code: so-thu
name: Sở Thử nghiệm
kind: so-ban-nganh
systems:
  - code: he-thong-a
    name: Hệ thống A
    critical: true
    hosts:
      - address: 127.0.0.1
        ports: [{port: 8080}]
"""


def _counts(ws: Workspace) -> dict[str, int]:
    return {t: ws.db[t].count for t in ("agencies", "systems", "hosts", "log")}


def test_examples_round_trip_byte_identical(example_ws: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "export1"
    inventory.export_agencies(example_ws, first)
    other = Workspace.create(tmp_path / "ws2")
    agencies = inventory.load_agencies(inventory.inventory_files(first))
    inventory.import_agencies(other, agencies, actor="pytest", source=str(first))
    second = tmp_path / "export2"
    inventory.export_agencies(other, second)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) == len(list((EXAMPLES / "inventory").glob("*.yaml")))
    _match, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert mismatch == [] and errors == []
    # the export carries the same facts as the source files
    for path in (EXAMPLES / "inventory").glob("*.yaml"):
        assert inventory.load_agency(path) == inventory.load_agency(first / path.name)


def test_reimport_replaces_systems_and_keeps_ids(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "so-thu.yaml"
    path.write_text(GOOD, encoding="utf-8")
    inventory.import_agencies(ws, inventory.load_agencies([path]), actor="t", source="1")
    sid = ws.system_id("so-thu", "he-thong-a")
    path.write_text(GOOD.replace("Hệ thống A", "Hệ thống A (mới)"), encoding="utf-8")
    inventory.import_agencies(ws, inventory.load_agencies([path]), actor="t", source="2")
    assert ws.system_id("so-thu", "he-thong-a") == sid
    assert inventory.get_agency(ws, "so-thu").systems[0].name == "Hệ thống A (mới)"
    assert ws.db["hosts"].count == 1


BAD = {
    "yaml-syntax": (GOOD.replace("critical: true", "critical: [true"), 8, "YAML"),
    "unknown-key": (GOOD.replace("    critical: true", "    critcal: true"), 7, "critcal"),
    "wrong-type": (GOOD.replace("critical: true", "critical: maybe"), 7, "critical"),
    "level-7": (GOOD.replace("    critical: true", "    critical: true\n    level: {approved: 7, decision_number: x,"
                             " decision_date: 2026-01-01}"), 8, "approved"),
    "approved-without-decision": (GOOD.replace("    critical: true", "    critical: true\n    level: {approved: 3}"),
                                  8, "decision"),
    "hostile-host": (GOOD.replace("127.0.0.1", "'-oN x'"), 9, "address"),
    "hostile-host-2": (GOOD.replace("127.0.0.1", "'127.0.0.1 --script x'"), 9, "address"),
    "duplicate-system": (GOOD + "  - code: he-thong-a\n    name: Trùng\n", 11, "he-thong-a"),
    "duplicate-key": (GOOD.replace("kind: so-ban-nganh", "kind: so-ban-nganh\nkind: khac"), 4, "kind"),
    "bad-code": (GOOD.replace("code: he-thong-a", "code: 'Hệ thống/../x'"), 5, "code"),
    "negative-users": (GOOD.replace("critical: true", "critical: true\n    users: -5"), 8, "users"),
    "bad-date": (GOOD.replace("critical: true", "critical: true\n    go_live: 2026-13-45"), 8, "go_live"),
    "not-a-mapping": ("- just\n- a list\n", 1, "mapping"),
    "missing-name": (GOOD.replace("name: Sở Thử nghiệm\n", ""), 1, "name"),
    "port-out-of-range": (GOOD.replace("port: 8080", "port: 70000"), 10, "port"),
    "bad-enum": (GOOD.replace("kind: so-ban-nganh", "kind: bo"), 3, "kind"),
    "decision-without-level": (
        GOOD.replace("    critical: true", "    critical: true\n    level: {decision_number: 5/QĐ}"), 8,
        "no approved level"),
    "dossier-approved-without-level": (
        GOOD.replace("    critical: true", "    critical: true\n    level: {dossier_state: da-phe-duyet}"), 8,
        "dossier_state"),
    "unknown-nested-key": (GOOD.replace("    critical: true", "    critical: true\n    level: {aproved: 3}"), 8,
                           "aproved"),
    "duplicate-host": (GOOD + "      - address: 127.0.0.1\n", 8, "listed twice"),
    "duplicate-port": (GOOD.replace("[{port: 8080}]", "[{port: 8080}, {port: 8080, protocol: tcp}]"), 10,
                       "listed twice"),
    "control-character": (GOOD.replace("name: Hệ thống A", 'name: "Hệ thống\\x07A"'), 6, "control character"),
    "empty-name": (GOOD.replace("name: Hệ thống A", "name: ''"), 6, "must not be empty"),
    "bad-email": (GOOD.replace("systems:", "security_contact: {name: A, email: khong-phai-email}\nsystems:"), 4,
                  "email"),
    "non-string-key": (GOOD.replace("kind: so-ban-nganh", "kind: so-ban-nganh\n1: x"), 4, "string"),
    "tab-indentation": (GOOD.replace("    critical: true", "\tcritical: true"), 7, "YAML"),
    "url-with-credentials": (GOOD.replace("127.0.0.1", "'https://u:p@example.gov.vn/'"), 9, "address"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inventory_names_file_and_line_and_changes_nothing(example_ws: Workspace, tmp_path: Path,
                                                               case: str) -> None:
    text, line, needle = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    before = _counts(example_ws)
    with pytest.raises(InputError) as info:
        inventory.import_agencies(example_ws, inventory.load_agencies([path]), actor="t", source="bad")
    message = info.value.diagnostics()
    assert f"{path}:{line}" in message, message
    assert needle.lower() in message.lower()
    assert _counts(example_ws) == before


def _refused_unchanged(ws: Workspace, path: Path, needle: str) -> str:
    """Import ``path`` into ``ws`` expecting a clean refusal; the store must not change."""
    before = _counts(ws)
    with pytest.raises(InputError, match=needle) as info:
        inventory.import_path(ws, path, actor="t")
    assert _counts(ws) == before
    return info.value.diagnostics()


def test_alias_bomb_is_refused(example_ws: Workspace, tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _refused_unchanged(example_ws, path, "alias")
    assert re.search(re.escape(str(path)) + r":\d+", message)


def test_huge_file_is_refused_before_parsing(example_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as fh:
        fh.write(GOOD)
        fh.write("# " + "x" * (50 * 1024 * 1024) + "\n")
    assert f"{path}:1" in _refused_unchanged(example_ws, path, "too large")


def test_wrong_encoding_names_line(example_ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.replace("Hệ thống A", "Syst\u00e8me").encode("latin-1", errors="replace"))
    assert f"{path}:6" in _refused_unchanged(example_ws, path, "UTF-8")


def test_bad_corpus_has_at_least_fifteen_kinds() -> None:
    # the parametrised corpus above plus the alias bomb, the 50 MB file and the wrong encoding
    assert len(BAD) + 3 >= 15
    assert {"hostile-host", "duplicate-system"} <= set(BAD)


def test_one_bad_file_in_a_folder_imports_nothing(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "inv"
    folder.mkdir()
    (folder / "a.yaml").write_text(GOOD, encoding="utf-8")
    (folder / "b.yaml").write_text(GOOD.replace("so-thu", "so-khac").replace("critical: true", "critical: 3x"),
                                   encoding="utf-8")
    with pytest.raises(InputError):
        inventory.import_agencies(ws, inventory.load_agencies(inventory.inventory_files(folder)), actor="t",
                                  source="x")
    assert ws.db["agencies"].count == 0


def test_duplicate_agency_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(InputError, match="so-thu"):
        inventory.load_agencies(inventory.inventory_files(tmp_path))


def test_failed_import_rolls_back_midway(ws: Workspace, tmp_path: Path) -> None:
    """A database error in the middle of an import leaves nothing behind (one transaction)."""
    path = tmp_path / "a.yaml"
    path.write_text(GOOD, encoding="utf-8")
    agencies = inventory.load_agencies([path])
    ws.db.execute("create trigger boom before insert on hosts begin select raise(abort, 'boom'); end")
    with pytest.raises(sqlite3.IntegrityError):
        inventory.import_agencies(ws, agencies, actor="t", source="x")
    assert (ws.db["agencies"].count, ws.db["systems"].count, ws.db["log"].count) == (0, 0, 0)


# -- editing by hand (CLI) -----------------------------------------------------------------------
def _log(ws_path: Path) -> list[dict]:
    ws = Workspace.open(ws_path)
    try:
        return list(ws.db.query("select action, agency, subject, detail from log order by seq"))
    finally:
        ws.close()


def test_agency_and_system_editing_with_options_is_logged(cli, tmp_path: Path) -> None:
    import json

    assert cli("init").code == 0
    assert cli("agency", "add", "so-thu", "--name", "Sở Thử nghiệm", "--kind", "Sở, ban, ngành cấp tỉnh",
               "--private-data-centre", "không", "--security-contact-name", "Lê Văn A",
               "--security-contact-email", "a@nghean.example", "--recipients", "UBND tỉnh",
               "--recipients", "Lưu: VT").code == 0
    result = cli("system", "add", "so-thu", "cong-dvc", "--name", "Cổng dịch vụ công", "--critical", "có",
                 "--admin-procedures", "có", "--users", "12.000", "--hosting", "trung-tam-du-lieu-tinh",
                 "--go-live", "15/06/2021", "--level-proposed", "3", "--level-dossier-state", "da-lap",
                 "--host", "127.0.30.1 | 443/tcp https; 22/tcp ssh | có | Máy chủ web")
    assert result.code == 0, result.err
    edited = cli("system", "edit", "so-thu", "cong-dvc", "--level-approved", "3", "--level-dossier-state",
                 "Đã phê duyệt", "--level-decision-number", "15/QĐ-STN", "--level-decision-date", "2026-04-01",
                 "--users", "-")
    assert edited.code == 0, edited.err
    shown = cli("system", "show", "so-thu", "cong-dvc")
    assert shown.code == 0
    assert "decision_number: 15/QĐ-STN" in shown.out and "users" not in shown.out
    assert "address: 127.0.30.1" in shown.out and "service: ssh" in shown.out
    doc = json.loads(cli("agency", "show", "so-thu", "--format", "json").out)
    assert doc["recipients"] == ["UBND tỉnh", "Lưu: VT"]
    assert doc["systems"][0]["level"] == {"proposed": 3, "approved": 3, "dossier_state": "da-phe-duyet",
                                          "decision_number": "15/QĐ-STN", "decision_date": "2026-04-01"}
    assert cli("agency", "edit", "so-thu", "--symbol", "STN").code == 0
    assert cli("system", "remove", "so-thu", "cong-dvc", "--yes").code == 0
    assert cli("agency", "remove", "so-thu", "--yes").code == 0
    entries = _log(tmp_path / "ws")
    assert [e["action"] for e in entries] == ["workspace.init", "agency.add", "system.add", "system.edit",
                                              "agency.edit", "system.remove", "agency.remove"]
    changes = json.loads(entries[3]["detail"])["changes"]
    assert changes["level.approved"] == [None, 3] and changes["users"] == [12000, None]
    assert json.loads(entries[4]["detail"])["changes"] == {"symbol": [None, "STN"]}
    assert json.loads(entries[5]["detail"])["document"]["code"] == "cong-dvc"  # what was removed is kept
    assert cli("log", "verify").code == 0


@pytest.mark.parametrize("args, where", [
    (["system", "edit", "so-khcn", "lgsp-tinh", "--critical", "hơi hơi"], "--critical"),
    (["system", "edit", "so-khcn", "lgsp-tinh", "--level-approved", "7"], "--level-approved"),
    (["system", "edit", "so-khcn", "lgsp-tinh", "--level-decision-number", ""], "level"),
    (["system", "edit", "so-khcn", "lgsp-tinh", "--host", "-oN x"], "--host #1"),
    (["system", "add", "so-khcn", "lgsp-tinh", "--name", "Trùng mã"], "lgsp-tinh"),
    (["system", "add", "so-khcn", "Mã Sai", "--name", "X"], "code"),
    (["system", "add", "khong-co", "x", "--name", "X"], "khong-co"),
    (["agency", "add", "so-khcn", "--name", "Trùng", "--kind", "khac"], "so-khcn"),
    (["agency", "add", "so-moi", "--name", "Mới"], "kind"),
    (["agency", "edit", "so-khcn", "--security-contact-email", "không phải email"], "--security-contact-email"),
])
def test_bad_edits_are_refused_and_change_nothing(cli, tmp_path: Path, args: list[str], where: str) -> None:
    cli("init")
    cli("inventory", "import", str(EXAMPLES / "inventory"))
    ws = Workspace.open(tmp_path / "ws")
    before = (_counts(ws), inventory.agency_document(inventory.get_agency(ws, "so-khcn")))
    ws.close()
    result = cli(*args)
    assert result.code == 1, result.err
    assert result.err.startswith("Error: ") and where in result.err and " / " in result.err
    ws = Workspace.open(tmp_path / "ws")
    assert (_counts(ws), inventory.agency_document(inventory.get_agency(ws, "so-khcn"))) == before
    ws.close()


def _answers(specs: list, values: dict[str, str]) -> list[str]:
    return [values.get(s.key, "") for s in specs if s.key != "code"]


def test_interactive_add_and_edit(cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import io

    from secaudit.inventory import fields

    cli("init")
    cli("agency", "add", "so-thu", "--name", "Sở Thử", "--kind", "khac")
    lines = _answers(fields.SYSTEM_FIELDS, {
        "name": "Hệ thống một cửa", "critical": "có", "users": "abc",  # 'abc' is refused and asked again
        "level.proposed": "2", "hosting": "2",  # a choice can be answered by its number
    })
    users = [s.key for s in fields.SYSTEM_FIELDS if s.key != "code"].index("users")
    lines.insert(users + 1, "250")
    lines += ["127.0.30.2 | 8080/tcp http", "not a host;", "www.nghean.example", ""]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    result = cli("system", "add", "so-thu", "mot-cua", "-i")
    assert result.code == 0, result.err
    assert "must be a whole number" in result.err
    system = inventory.get_system(Workspace.open(tmp_path / "ws"), "so-thu", "mot-cua")
    assert (system.name, system.critical, system.users, system.level.proposed) == ("Hệ thống một cửa", True, 250, 2)
    assert system.hosting == "trung-tam-du-lieu-tinh"
    assert [h.address for h in system.hosts] == ["127.0.30.2", "www.nghean.example"]

    # edit: Enter keeps every value; '-' clears one; the hosts are kept
    edit = [*_answers(fields.SYSTEM_FIELDS, {"users": "-", "purpose": "Tiếp nhận hồ sơ"}), "y"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(edit) + "\n"))
    result = cli("system", "edit", "so-thu", "mot-cua", "-i")
    assert result.code == 0, result.err
    after = inventory.get_system(Workspace.open(tmp_path / "ws"), "so-thu", "mot-cua")
    assert after.users is None and after.purpose == "Tiếp nhận hồ sơ"
    assert after.model_dump(exclude={"users", "purpose"}) == system.model_dump(exclude={"users", "purpose"})


def test_removing_an_agency_with_assessment_data_is_refused(example_ws: Workspace) -> None:
    with example_ws.transaction():
        example_ws.db.execute("insert into answers (agency, system, checklist, item, status) values"
                              " ('so-khcn', '', 'kh04-bcdtw', 't4-4-lop', 'dat')")
    before = _counts(example_ws)
    with pytest.raises(InputError, match="answers: 1"):
        inventory.remove_agency(example_ws, "so-khcn", actor="t")
    assert _counts(example_ws) == before


def test_edit_keeps_system_ids(example_ws: Workspace) -> None:
    ids = {code: example_ws.system_id("so-khcn", code) for code in ("lgsp-tinh", "cong-ttdt-skhcn")}
    inventory.edit_system(example_ws, "so-khcn", "lgsp-tinh", {"purpose": "Mới"}, actor="t")
    inventory.remove_system(example_ws, "so-khcn", "ha-tang-ttdl-tinh", actor="t")
    assert {code: example_ws.system_id("so-khcn", code) for code in ids} == ids


def test_import_log_records_hash_and_what_changed(ws: Workspace, tmp_path: Path) -> None:
    import json

    path = tmp_path / "so-thu.yaml"
    path.write_text(GOOD, encoding="utf-8")
    inventory.import_path(ws, path, actor="t")
    changed = GOOD.replace("Hệ thống A", "Hệ thống A2") + "  - code: he-thong-b\n    name: Hệ thống B\n"
    path.write_text(changed, encoding="utf-8")
    inventory.import_path(ws, path, actor="t")
    path.write_text(changed.replace("  - code: he-thong-a\n    name: Hệ thống A2\n    critical: true\n    hosts:\n"
                                    "      - address: 127.0.0.1\n        ports: [{port: 8080}]\n", ""),
                    encoding="utf-8")
    inventory.import_path(ws, path, actor="t")
    details = [json.loads(r[0]) for r in ws.db.execute("select detail from log where action = 'inventory.import'")]
    assert [(d["added"], d["changed"], d["removed"]) for d in details] == [
        (["he-thong-a"], [], []), (["he-thong-b"], ["he-thong-a"], []), ([], [], ["he-thong-a"])]
    assert details[-1]["sha256"] == inventory.document_hash(inventory.get_agency(ws, "so-thu"))
