"""Every listing command, as a Vietnamese officer reads it (issue 17).

The commands are found in the click tree (every command whose ``--format`` offers ``table``), so a
listing added later is checked too. Each runs with ``--format table`` on a populated example
workspace, and its tables must have: no English column title, no 0/1 column standing for yes/no, no
ISO timestamp or ISO date (Vietnam time, dd/mm/yyyy [HH:MM]), and no code where the JSON of the same
listing holds a coded value (level flags, dossier states…) — the label instead.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
from bundle_helpers import make_ca, make_identity

from secaudit.cli import HEADERS, code_labels
from secaudit.cli import cli as root

from conftest import EXAMPLES, ROOT

# Arguments for the listing commands that need some; every other one runs with none.
ARGS: dict[tuple[str, ...], list[str]] = {
    ("answer", "list"): ["--agency", "so-khcn"],
    ("submissions", "show"): ["1"],
    ("submissions", "diff"): ["1", "2"],
    ("submissions", "status"): ["so-khcn"],
    ("submissions", "history"): ["so-khcn"],
    ("submissions", "late"): ["--deadline", "30/11/2026"],
    ("checklist", "show"): ["kh04-bcdtw"],
    ("scan", "diff"): ["1", "2"],
    ("findings",): ["--status", "all"],
}
MAY_BE_EMPTY = {("scan", "diff")}  # two imports of one capture: nothing changed
TEXT_LISTINGS = {("submissions", "history")}  # "table" is running text here: checked as text
# JSON keys whose values are codes with a Vietnamese label: the table must show the label.
CODED_KEYS = {"flags", "dossier_state", "kind", "severity", "hosting", "restricted_sector", "status", "change",
              "role", "scope", "regime"}
# Column titles of counts, where 0 and 1 are numbers rather than yes/no.
COUNT_TITLES = re.compile(r"^(Số|STT|Byte|Tệp|Phát hiện|Lỗi|Cổng|Còn|Lần)\b|\(ngày\)$")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def listing_commands() -> list[tuple[str, ...]]:
    """Every command of the click tree whose ``--format`` option offers ``table``."""
    found: list[tuple[str, ...]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))
            return
        for param in command.params:
            if (isinstance(param, click.Option) and "--format" in param.opts
                    and isinstance(param.type, click.Choice) and "table" in param.type.choices):
                found.append(path)

    walk(root, ())
    return found


def english_words() -> set[str]:
    """Words of the English column titles and row keys that no Vietnamese title uses."""
    english = {w.lower() for key, (_, en) in HEADERS.items() for w in [key, *en.split()] if w}
    vietnamese = {w.lower() for vi, _ in HEADERS.values() for w in vi.split()}
    return (english - vietnamese) | {"yes", "no", "true", "false", "none"}


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """The ``simple`` tables of ``text``: (titles, rows of cells), cut at the dash row's column spans."""
    lines = text.splitlines()
    out = []
    for i in range(1, len(lines)):
        if not re.fullmatch(r"-+( +-+)*", lines[i].strip() or "x") or not lines[i].startswith("-"):
            continue
        spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[i])]

        def cut(line: str, spans: list[tuple[int, int]] = spans) -> list[str]:
            return [line[a:b].strip() for a, b in spans]

        rows = []
        for line in lines[i + 1:]:
            if not line.strip():
                break
            rows.append(cut(line))
        out.append((cut(lines[i - 1]), rows))
    return out


def _scan_xml(tmp_path: Path) -> Path:
    """The scanner tests' loopback capture, one host, moved onto lgsp-tinh's declared address."""
    text = (ROOT / "tests" / "scanning" / "data" / "loopback-services.xml").read_text(encoding="utf-8")
    for host in re.findall(r"<host[ >].*?</host>", text, flags=re.S)[1:]:
        text = text.replace(host, "")
    path = tmp_path / "quet.xml"
    path.write_text(text.replace("127.0.7.1", "127.0.10.1"), encoding="utf-8")
    return path


@pytest.fixture
def populated(cli, example_ws, tmp_path: Path, pinned_now: str, monkeypatch: pytest.MonkeyPatch):
    """The example province with something in every listing."""
    note = tmp_path / "bien-ban.txt"
    note.write_text("Biên bản kiểm tra\n", encoding="utf-8")
    _, ca_cert, ca_key = make_ca(tmp_path)
    cert = make_identity(tmp_path, "so-khcn", "Sở Khoa học và Công nghệ", ca_cert, ca_key).cert
    steps = [
        ("assess", "so-khcn", "--answers", str(EXAMPLES / "answers" / "so-khcn.yaml")),
        ("evidence", "add", str(note), "--agency", "so-khcn", "--item", "kh04-bcdtw:t5-giam-sat"),
        ("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn", "--status", "dat"),
        ("scan", "import", str(_scan_xml(tmp_path)), "--system", "lgsp-tinh", "--agency", "so-khcn"),
        ("scan", "import", str(_scan_xml(tmp_path)), "--system", "lgsp-tinh", "--agency", "so-khcn"),
        ("trust", "add", "so-khcn", str(cert)),
        ("bundle", "export", "--agency", "so-khcn", "-o", str(tmp_path / "a.zip"), "--no-report"),
        ("answer", "set", "kh04-bcdtw:t5-giam-sat", "--agency", "so-khcn", "--status", "chua-dat"),
        ("bundle", "export", "--agency", "so-khcn", "-o", str(tmp_path / "b.zip"), "--no-report"),
        ("bundle", "import", str(tmp_path / "a.zip")),
        ("bundle", "import", str(tmp_path / "b.zip")),
    ]
    for step in steps:
        done = cli(*step)
        assert done.code == 0, (step, done.err)
    if ("user", "list") in listing_commands():
        monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-rat-dai-2026\n"))
        done = cli("user", "add", "can-bo", "--role", "officer", "--agency", "so-khcn", "--password-stdin")
        assert done.code == 0, done.err
    return cli


def test_every_listing_command_is_found_and_can_run() -> None:
    commands = listing_commands()
    assert len(commands) >= 15 and ("findings",) in commands and ("scan", "list") in commands
    for command in commands:
        target: Any = root
        for name in command:
            target = target.commands[name]
        needed = [p for p in target.params if p.required]
        assert not needed or command in ARGS, f"add arguments for {' '.join(command)} to ARGS"


def _json_codes(populated, command: tuple[str, ...]) -> set[str]:
    """The coded values the JSON of the same listing holds (flags, states, kinds…)."""
    result = populated(*command, *ARGS.get(command, []), "--format", "json")
    if result.code not in (0, 3):
        return set()
    codes: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in CODED_KEYS:
                    for v in value if isinstance(value, list) else [value]:
                        if isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", v):
                            codes.add(v)
                collect(value)
        elif isinstance(node, list):
            for sub in node:
                collect(sub)

    try:
        collect(json.loads(result.out))
    except json.JSONDecodeError:
        pass
    same = {code for table in code_labels().values() for code, (vi, _) in table.items() if vi.lower() == code}
    return codes - same  # "cao" is its own label


def test_every_listing_is_vietnamese(populated) -> None:
    english = english_words()
    problems: list[str] = []
    for command in listing_commands():
        name = " ".join(command)
        result = populated(*command, *ARGS.get(command, []), "--format", "table")
        if result.code not in (0, 3):
            problems.append(f"{name}: exit {result.code}: {result.err.strip()[:200]}")
            continue
        found = tables(result.out)
        if command in TEXT_LISTINGS:
            codes = _json_codes(populated, command)
            words = set(re.split(r"[\s,;:()]+", result.out))
            if ISO_INSTANT.search(result.out) or ISO_DATE.search(result.out):
                problems.append(f"{name}: an ISO date or timestamp in {result.out[:200]!r}")
            if words & codes:
                problems.append(f"{name}: shows the code(s) {sorted(words & codes)}")
            continue
        if not found:
            if command not in MAY_BE_EMPTY:
                problems.append(f"{name}: no table in {result.out[:200]!r}")
            continue
        codes = _json_codes(populated, command)
        for titles, rows in found:
            for title in titles:
                words = [w for w in title.lower().split() if w in english]
                if words:
                    problems.append(f"{name}: English title {title!r}")
            for column, title in enumerate(titles):
                cells = [r[column] for r in rows if column < len(r)]
                if cells and set(cells) <= {"0", "1"} and not COUNT_TITLES.search(title):
                    problems.append(f"{name}: column {title!r} is 0/1, not Có/Không")
                for cell in cells:
                    if ISO_INSTANT.search(cell):
                        problems.append(f"{name}: column {title!r} has a timestamp {cell!r}")
                    elif ISO_DATE.fullmatch(cell):
                        problems.append(f"{name}: column {title!r} has an ISO date {cell!r}")
                    shown = {part.strip().partition(" (")[0] for part in re.split(r"[,;]", cell)}
                    if shown & codes:
                        problems.append(f"{name}: column {title!r} shows the code(s) {sorted(shown & codes)}")
    assert not problems, "\n".join(dict.fromkeys(problems))
