"""Issue 17: the agency officer's path without friction.

``-w``/``--actor`` before the command, dd/mm/yyyy dates, CSV that Excel opens in Vietnamese, and
listings in Vietnamese (titles, yes/no, Vietnam time) unless the environment's language is English.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import click
import pytest
from bundle_helpers import make_ca, make_identity

from secaudit.cli import DateParam
from secaudit.cli import cli as root

from conftest import EXAMPLES, ROOT

BOM = "\ufeff"
# English words that must not title a column of a Vietnamese listing (row keys and their English titles).
ENGLISH_HEADER_WORDS = {
    "id", "no.", "seq", "ts", "time", "code", "name", "kind", "agency", "system", "systems", "title", "status",
    "hash", "actor", "action", "subject", "detail", "address", "port", "severity", "rule", "first_seen",
    "last_seen", "first", "last", "seen", "resolved", "change", "before", "after", "started", "finished",
    "profile", "source", "findings", "note", "effective", "expires", "size", "bytes", "added", "added_at",
    "original_name", "file", "checklist", "item", "items", "evidence", "answered_at", "answered", "regime",
    "suggested", "proposed", "approved", "dossier", "dossier_state", "dossier_files", "flags", "due", "errors",
    "fingerprint", "common_name", "valid", "validity", "auto_apply", "auto-apply", "operator", "nmap_version",
    "xml_sha256", "as_of", "created", "imported_at", "exported_by", "file_name", "members", "signature", "signer",
    "binding", "inventory", "supersedes", "hosts", "hosts_pending", "accepted", "accepted_at", "accepted_by",
    "manifest_sha256", "from", "until", "in_force", "parent", "scope", "deadline", "applies_if", "basis", "area",
    "key", "critical", "level", "decision", "decision_number", "private_data_centre", "restricted_sector",
    "hosting", "level_proposed", "level_approved", "media_type", "stale", "yes", "no",
}


@pytest.fixture
def vietnamese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "vi_VN.UTF-8")


# -- 1. --workspace / --actor before the command ----------------------------------------------------
def test_workspace_and_actor_before_the_command(cli, tmp_path: Path) -> None:
    other = tmp_path / "khac"
    made = cli("--workspace", str(other), "init")
    assert made.code == 0, made.err
    assert (other / "secaudit.db").exists() and not (tmp_path / "ws").exists()
    done = cli("-w", str(other), "--actor", "Nguyễn Văn A", "inventory", "import", str(EXAMPLES / "inventory"))
    assert done.code == 0, done.err
    assert cli("-w", str(other), "status").code in (0, 3)
    log = json.loads(cli("-w", str(other), "log", "--format", "json").out)
    assert log[-1]["action"] == "inventory.import" and log[-1]["actor"] == "Nguyễn Văn A"


def test_option_after_the_command_wins(cli, tmp_path: Path) -> None:
    good, bad = tmp_path / "dung", tmp_path / "khong-co"
    assert cli("init", "--workspace", str(good)).code == 0
    listed = cli("-w", str(bad), "agency", "list", "-w", str(good))
    assert listed.code == 0, listed.err
    missing = cli("-w", str(good), "agency", "list", "-w", str(bad))
    assert missing.code == 1 and "secaudit init" in missing.err
    assert cli("-w", str(good), "--actor", "truoc", "evidence", "limit", "1MB", "--actor", "sau").code == 0
    log = json.loads(cli("-w", str(good), "log", "--format", "json").out)
    assert log[-1]["actor"] == "sau"


# -- 2. dates ----------------------------------------------------------------------------------------
def _date_options() -> list[tuple[str, str]]:
    found = []

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            path = f"{prefix} {name}".strip()
            for param in command.params:
                if isinstance(param, click.Option) and param.name in ("as_of", "effective", "expires", "until"):
                    found.append((path, param.name))
            if isinstance(command, click.Group):
                walk(command, path)

    walk(root, "")
    return found


def test_every_date_option_uses_the_one_date_type() -> None:
    options = _date_options()
    assert len(options) >= 10
    for path, name in options:
        command = root
        for part in path.split():
            command = command.commands[part]  # type: ignore[attr-defined]
        param = next(p for p in command.params if p.name == name)
        assert isinstance(param.type, DateParam), f"{path} --{name}"


@pytest.mark.parametrize(("text", "day"), [("22/11/2026", "2026-11-22"), ("2026-11-22", "2026-11-22"),
                                           ("1/2/2027", "2027-02-01"), ("29/02/2028", "2028-02-29")])
def test_date_forms(text: str, day: str) -> None:
    assert DateParam().convert(text, None, None).isoformat() == day


def test_dd_mm_yyyy_on_commands(cli, example_ws, pinned_now: str) -> None:
    dmy = cli("status", "so-khcn", "--as-of", "15/10/2026", "--format", "json")
    iso = cli("status", "so-khcn", "--as-of", "2026-10-15", "--format", "json")
    assert dmy.code in (0, 3) and dmy.out == iso.out and '"2026-10-15"' in dmy.out
    done = cli("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn", "--status", "dat",
               "--effective", "01/11/2026")
    assert done.code == 0, done.err
    answers = json.loads(cli("answer", "list", "--agency", "so-khcn", "--format", "json").out)
    assert answers[0]["effective"] == "2026-11-01"
    waived = cli("waive", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn", "--reason", "x", "--approved-by", "y",
                 "--until", "31/12/2026")
    assert waived.code == 0, waived.err


@pytest.mark.parametrize("bad", ["31/02/2026", "2026-13-01", "22.11.26", "hôm nay"])
def test_bad_date_is_told_in_vietnamese(cli, bad: str) -> None:
    result = cli("status", "--as-of", bad)
    assert result.code == 2
    assert "không phải ngày hợp lệ" in result.err and "dd/mm/yyyy" in result.err
    assert "does not match the format" not in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("far", ["31/12/9999", "01/01/0001", "1899-12-31"])
def test_a_day_outside_the_calendar_deadlines_use_is_refused_not_a_traceback(cli, example_ws, tmp_path: Path,
                                                                             far: str) -> None:
    # 31/12/9999 used to reach the deadline arithmetic and escape as "year 10000 is out of range"
    result = cli("report", "so-khcn", "--format", "json", "-o", str(tmp_path / "r.json"), "--as-of", far)
    assert result.code == 2 and "nằm ngoài khoảng 01/01/1900–31/12/2100" in result.err
    assert "Traceback" not in result.err + result.out


def test_a_missing_file_is_told_in_vietnamese(cli, example_ws, tmp_path: Path) -> None:
    # the system's reason used to sit, in English, inside the Vietnamese half ("Không đọc được tệp: No such file")
    result = cli("inventory", "import", str(tmp_path / "khong-co.xlsx"))
    assert result.code == 1 and "Không đọc được tệp: không có tệp hoặc thư mục này /" in result.err
    assert "Traceback" not in result.err


def test_a_huge_value_quoted_back_in_an_error_is_cut_in_the_middle(cli, example_ws, tmp_path: Path) -> None:
    # a 100,000-character value used to come back whole in the message (and in any log that keeps it)
    bad = tmp_path / "lon.yaml"
    bad.write_text("code: co-quan-x\nname: Cơ quan X\nkind: so-ban-nganh\nsystems:\n  - code: a\n    name: A\n"
                   "    users: !!int " + "9x" * 50_000 + "\n", encoding="utf-8")
    result = cli("inventory", "import", str(bad))
    assert result.code == 1 and "Traceback" not in result.err
    assert len(result.err) < 3000 and "ký tự / " in result.err and "characters omitted" in result.err


# -- 3. CSV for Excel --------------------------------------------------------------------------------
def test_csv_has_a_bom_unless_asked_not_to(cli, example_ws, vietnamese: None) -> None:
    with_bom = cli("agency", "list", "--format", "csv")
    assert with_bom.code == 0 and with_bom.out.startswith(BOM + "Mã,Tên cơ quan")
    without = cli("agency", "list", "--format", "csv", "--no-bom")
    assert without.code == 0 and without.out.startswith("Mã,Tên cơ quan")
    assert with_bom.out == BOM + without.out
    plain = cli("checklist", "list", "--format", "csv", "--no-bom")
    assert plain.code == 0 and not plain.out.startswith(BOM)


def test_csv_still_escapes_formulas(cli, example_ws) -> None:
    added = cli("agency", "add", "mau-cong-thuc", "--name", "=HYPERLINK(\"http://127.0.0.1\")", "--kind", "khac")
    assert added.code == 0, added.err
    rows = list(csv.reader(io.StringIO(cli("agency", "list", "--format", "csv").out.removeprefix(BOM))))
    assert ["'=HYPERLINK(\"http://127.0.0.1\")"] == [c for r in rows for c in r if "HYPERLINK" in c]


# -- 4. Vietnamese listings ----------------------------------------------------------------------------
def _scan_xml(tmp_path: Path) -> Path:
    """The scanner tests' loopback capture, one host, moved onto lgsp-tinh's declared address."""
    text = (ROOT / "tests" / "scanning" / "data" / "loopback-services.xml").read_text(encoding="utf-8")
    for host in re.findall(r"<host[ >].*?</host>", text, flags=re.S)[1:]:
        text = text.replace(host, "")
    path = tmp_path / "quet.xml"
    path.write_text(text.replace("127.0.7.1", "127.0.10.1"), encoding="utf-8")
    return path


def _signing_cert(tmp_path: Path) -> Path:
    _, ca_cert, ca_key = make_ca(tmp_path)
    return make_identity(tmp_path, "so-khcn", "Sở Khoa học và Công nghệ", ca_cert, ca_key).cert


@pytest.fixture
def busy(cli, example_ws, tmp_path: Path, pinned_now: str, vietnamese: None):
    """The example province with something in every listing."""
    note = tmp_path / "bien-ban.txt"
    note.write_text("Biên bản kiểm tra\n", encoding="utf-8")
    steps = [
        ("evidence", "add", str(note), "--agency", "so-khcn", "--item", "kh04-bcdtw:t5-giam-sat"),
        ("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn", "--status", "dat"),
        ("scan", "import", str(_scan_xml(tmp_path)), "--system", "lgsp-tinh", "--agency", "so-khcn"),
        ("scan", "import", str(_scan_xml(tmp_path)), "--system", "lgsp-tinh", "--agency", "so-khcn"),
        ("trust", "add", "so-khcn", str(_signing_cert(tmp_path))),
        ("bundle", "export", "--agency", "so-khcn", "-o", str(tmp_path / "a.zip"), "--no-report"),
        ("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn", "--status", "chua-dat"),
        ("bundle", "export", "--agency", "so-khcn", "-o", str(tmp_path / "b.zip"), "--no-report"),
        ("bundle", "import", str(tmp_path / "a.zip")),
        ("bundle", "import", str(tmp_path / "b.zip")),
    ]
    for step in steps:
        done = cli(*step)
        assert done.code == 0, (step, done.err)
    return cli


LISTINGS = [
    ("agency", "list"), ("system", "list"), ("evidence", "list"), ("answer", "list", "--agency", "so-khcn"),
    ("level", "list"), ("log",), ("trust", "list"), ("scan", "list"), ("scan", "diff", "1", "2"),
    ("findings", "--status", "all"), ("submissions", "list"), ("submissions", "diff", "1", "2"),
    ("checklist", "list"), ("checklist", "show", "kh04-bcdtw"), ("profile", "list"),
]
MAY_BE_EMPTY = {("scan", "diff", "1", "2")}  # two imports of one capture: nothing changed


def _header_lines(text: str) -> list[str]:
    """The title line of every ``simple`` table in ``text`` (the line above a row of dashes)."""
    lines = text.splitlines()
    return [lines[i - 1] for i in range(1, len(lines)) if re.fullmatch(r"-+( +-+)*", lines[i].strip() or "x")]


def test_every_listing_has_vietnamese_titles(busy) -> None:
    for command in LISTINGS:
        result = busy(*command, "--format", "table")
        assert result.code in (0, 3), (command, result.err)
        headers = _header_lines(result.out)
        if not headers:
            assert command in MAY_BE_EMPTY and "không có dữ liệu" in result.out, (command, result.out)
            continue
        for line in headers:
            english = [w for w in line.split() if w.lower() in ENGLISH_HEADER_WORDS]
            assert not english, (command, english, line)
        csv_head = next(csv.reader(io.StringIO(busy(*command, "--format", "csv").out.removeprefix(BOM))), [])
        english = [c for c in csv_head if set(c.lower().split()) & ENGLISH_HEADER_WORDS]
        assert not english, (command, english)


def test_yes_no_and_vietnam_time_in_tables_iso_in_json(busy) -> None:
    agencies = busy("agency", "list").out
    assert "Có" in agencies and "Không" in agencies
    log = busy("log").out
    assert "22/11/2026 09:00" in log and "+00:00" not in log  # pinned 09:00 Vietnam time, stored in UTC
    trust = busy("trust", "list").out
    assert "Có" in trust or "Không" in trust
    entries = json.loads(busy("log", "--format", "json").out)
    assert {"seq", "ts", "actor", "action"} <= entries[0].keys() and entries[0]["ts"].endswith("+00:00")
    as_json = json.loads(busy("agency", "list", "--format", "json").out)
    assert {"code", "name", "private_data_centre"} <= as_json[0].keys()


def test_english_from_the_environment(busy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    table = busy("agency", "list").out
    assert _header_lines(table)[0].split()[:2] == ["Code", "Name"] and "Yes" in table and "No" in table
    head = busy("findings", "--format", "csv", "--no-bom").out.splitlines()[0]
    assert head.startswith("ID,Agency,System")
