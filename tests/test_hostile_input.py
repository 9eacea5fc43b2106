"""Hostile input through the real CLI: a clean ``Error:`` naming the file, never a traceback, nothing written.

Each case is one of the failures listed in issue 13 (items 5 and 6): recursive or very deep YAML in
every YAML reader, very deep JSON inside a bundle, malformed sheet XML in an .xlsx, addresses that
name no single host, a NUL reported at its real line, a large plain inventory, and an nmap file whose
``<finished>`` has no ``exit`` attribute.
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from bundle_helpers import Entry, read_entries, relist, workspace_state, write_zip

from secaudit import yamlio

from conftest import EXAMPLES, ROOT, CliResult

SO_Y_TE = EXAMPLES / "inventory" / "so-y-te.yaml"
SCAN_XML = ROOT / "tests" / "scanning" / "data" / "loopback-services.xml"

RECURSIVE_ALIAS = "x: &r [*r]\n"
DEEP_FLOW_LIST = "x: " + "[" * 600 + "]" * 600 + "\n"
HOSTILE_YAML = {"recursive-alias": RECURSIVE_ALIAS, "deep-list": DEEP_FLOW_LIST}


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")


@pytest.fixture
def workspace(cli, tmp_path: Path) -> Path:
    """An initialised workspace (the one the ``cli`` fixture uses) holding the so-y-te example."""
    assert cli("init").code == 0
    assert cli("inventory", "import", str(SO_Y_TE)).code == 0
    return tmp_path / "ws"



def assert_clean_error(result: CliResult, path: Path | str, *, line: int | None = None) -> None:
    """Exit 1, one ``Error:`` line naming the file (and line), no traceback anywhere."""
    assert result.code == 1, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    assert result.err.startswith("Error: "), result.err
    expected = f"{path}:{line}" if line is not None else str(path)
    assert expected in result.err, result.err


# -- item 5: every YAML reader --------------------------------------------------------------------
@pytest.mark.parametrize("case", list(HOSTILE_YAML))
def test_hostile_yaml_inventory_is_an_error(cli, workspace: Path, tmp_path: Path, case: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(HOSTILE_YAML[case], encoding="utf-8")
    before = workspace_state(workspace)
    assert_clean_error(cli("inventory", "import", str(path)), path, line=1)
    assert_clean_error(cli("inventory", "validate", str(path)), path, line=1)
    assert workspace_state(workspace) == before


@pytest.mark.parametrize("case", list(HOSTILE_YAML))
def test_hostile_yaml_scope_is_an_error(cli, workspace: Path, tmp_path: Path, case: str) -> None:
    scope = tmp_path / "scope.yaml"
    scope.write_text(HOSTILE_YAML[case], encoding="utf-8")
    before = workspace_state(workspace)
    result = cli("scan", "import", str(SCAN_XML), "--system", "hssk-dien-tu", "--scope", str(scope))
    assert_clean_error(result, scope, line=1)
    assert workspace_state(workspace) == before


@pytest.mark.parametrize("case", list(HOSTILE_YAML))
def test_hostile_yaml_answers_is_an_error(cli, workspace: Path, tmp_path: Path, case: str) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(HOSTILE_YAML[case], encoding="utf-8")
    before = workspace_state(workspace)
    assert_clean_error(cli("assess", "so-y-te", "--answers", str(answers)), answers, line=1)
    assert workspace_state(workspace) == before


@pytest.fixture
def exported(cli, workspace: Path, tmp_path: Path) -> list[Entry]:
    """The so-y-te bundle's members (no report: fast), and an empty receiving workspace."""
    out = tmp_path / "so-y-te.zip"
    result = cli("bundle", "export", "--agency", "so-y-te", "-o", str(out), "--as-of", "2026-11-01", "--no-report")
    assert result.code == 0, result.err
    assert cli("init", "--workspace", str(tmp_path / "police")).code == 0
    return read_entries(out)


def _replace(entries: list[Entry], name: str, data: bytes) -> list[Entry]:
    assert any(e.name == name for e in entries), [e.name for e in entries]
    return relist([Entry(e.name, data, e.mode, e.compress) if e.name == name else e for e in entries])


def _import_refused(cli, path: Path, tmp_path: Path, member: str) -> None:
    police = tmp_path / "police"
    before = workspace_state(police)
    verify = cli("bundle", "verify", str(path))
    assert verify.code == 1 and "Traceback" not in verify.out + verify.err
    assert member in verify.out + verify.err
    result = cli("bundle", "import", str(path), "--workspace", str(police))
    assert_clean_error(result, path)
    assert member in result.err
    assert workspace_state(police) == before


@pytest.mark.parametrize("case", list(HOSTILE_YAML))
def test_hostile_yaml_in_a_bundle_inventory_is_an_error(cli, exported: list[Entry], tmp_path: Path,
                                                        case: str) -> None:
    inventory_member = next(e.name for e in exported if e.name.endswith(".yaml"))
    path = write_zip(tmp_path / "evil.zip", _replace(exported, inventory_member, HOSTILE_YAML[case].encode()))
    _import_refused(cli, path, tmp_path, inventory_member)


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


def test_deep_json_manifest_is_an_error(cli, exported: list[Entry], tmp_path: Path) -> None:
    entries = [Entry(e.name, DEEP_JSON) if e.name == "manifest.json" else e for e in exported]
    path = write_zip(tmp_path / "deep-manifest.zip", entries)
    _import_refused(cli, path, tmp_path, "manifest.json")


def test_deep_json_table_is_an_error(cli, exported: list[Entry], tmp_path: Path) -> None:
    table = next(e.name for e in exported if re.fullmatch(r"data/[a-z_]+\.json", e.name))
    path = write_zip(tmp_path / "deep-table.zip", _replace(exported, table, DEEP_JSON))
    _import_refused(cli, path, tmp_path, table)


def _xlsx_with(source: Path, target: Path, mutate: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":  # the agencies sheet
                data = mutate(data)
            out.writestr(info.filename, data)
    return target


@pytest.mark.parametrize("mutate", [
    lambda d: d[: len(d) // 2],  # truncated XML
    lambda d: d.replace(b"</sheetData>", b"<row r='4'><c r='A4' t='n'><v>abc</v></c></row></sheetData>", 1),
    lambda d: d.replace(b"</sheetData>", b"<row r='4'><c r='A4' t='s'><v>99</v></c></row></sheetData>", 1),
], ids=["truncated", "bad-number", "bad-shared-string"])
def test_malformed_sheet_xml_is_an_error(cli, workspace: Path, tmp_path: Path,
                                         mutate: Callable[[bytes], bytes]) -> None:
    good = tmp_path / "good.xlsx"
    assert cli("inventory", "export", "--format", "xlsx", "-o", str(good)).code == 0
    bad = _xlsx_with(good, tmp_path / "bad.xlsx", mutate)
    before = workspace_state(workspace)
    result = cli("inventory", "import", str(bad))
    assert_clean_error(result, bad)
    assert "Cơ quan" in result.err  # the sheet that is broken
    assert workspace_state(workspace) == before


# -- item 6: exact messages -----------------------------------------------------------------------
def test_nul_is_reported_at_its_line(cli, workspace: Path, tmp_path: Path) -> None:
    lines = SO_Y_TE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = lines[5].rstrip("\n") + "\x00\n"
    path = tmp_path / "nul.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    before = workspace_state(workspace)
    result = cli("inventory", "import", str(path))
    assert_clean_error(result, path, line=6)
    assert "U+0000" in result.err
    assert workspace_state(workspace) == before


def test_large_plain_inventory_is_not_an_alias_bomb(cli, tmp_path: Path) -> None:
    """7.6 MB without a single alias: more nodes than the alias budget, but nothing expanded."""
    doc = yaml.safe_load(SO_Y_TE.read_text(encoding="utf-8"))
    base = doc["systems"][0]
    base.pop("hosts", None)
    doc["systems"] = [dict(copy.deepcopy(base), code=f"ht-{i:05d}") for i in range(7200)]
    path = tmp_path / "big.yaml"
    path.write_text(yamlio.dumps(doc), encoding="utf-8")
    assert 7_000_000 < path.stat().st_size < yamlio.MAX_BYTES
    result = cli("inventory", "validate", str(path))
    assert result.code == 0, result.err
    assert "alias" not in result.err


def test_alias_bomb_is_still_refused(cli, tmp_path: Path) -> None:
    lines = ["a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("inventory", "validate", str(path))
    assert_clean_error(result, path)
    assert "alias bomb" in result.err


@pytest.mark.parametrize(("address", "reason"), [
    ("0.0.0.0", "không xác định"),
    ("::", "không xác định"),
    ("255.255.255.255", "quảng bá"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("::ffff:10.0.0.1", "IPv4 viết dạng IPv6"),
])
def test_address_of_no_single_host_is_refused(cli, workspace: Path, tmp_path: Path, address: str,
                                              reason: str) -> None:
    text = SO_Y_TE.read_text(encoding="utf-8")
    line = text[: text.index("address: 127.0.11.1")].count("\n") + 1
    path = tmp_path / "so-y-te.yaml"
    path.write_text(text.replace("address: 127.0.11.1", f"address: '{address}'"), encoding="utf-8")
    before = workspace_state(workspace)
    result = cli("inventory", "import", str(path))
    assert_clean_error(result, path, line=line)
    assert reason in result.err
    assert workspace_state(workspace) == before


def test_scope_with_a_mapped_address_is_refused(cli, workspace: Path, tmp_path: Path) -> None:
    scope = tmp_path / "scope.yaml"
    scope.write_text("authorised_by: Trưởng phòng PA05\nvalid_until: 2026-12-31\ntargets:\n"
                     "  - 127.0.11.0/28\n  - '::ffff:127.0.11.1'\n", encoding="utf-8")
    before = workspace_state(workspace)
    result = cli("scan", "import", str(SCAN_XML), "--system", "hssk-dien-tu", "--scope", str(scope))
    assert_clean_error(result, scope, line=5)
    assert "IPv4 viết dạng IPv6" in result.err
    assert workspace_state(workspace) == before


def test_finished_without_exit_is_a_finished_scan(cli, workspace: Path, tmp_path: Path) -> None:
    xml = SCAN_XML.read_bytes().replace(b'addr="127.0.7.1"', b'addr="127.0.11.1"')
    xml, replaced = re.subn(rb'\s+exit="success"', b"", xml)
    assert replaced == 1 and b"<finished " in xml
    path = tmp_path / "old-nmap.xml"
    path.write_bytes(xml)
    scope = tmp_path / "scope.yaml"  # the recording's second host is not declared by so-y-te
    scope.write_text("authorised_by: Trưởng phòng PA05\nvalid_until: 2026-12-31\ntargets:\n  - 127.0.7.2\n",
                     encoding="utf-8")
    result = cli("scan", "import", str(path), "--system", "hssk-dien-tu", "--scope", str(scope))
    assert result.code == 0, result.err
    rows = json.loads(cli("scan", "list", "--format", "json").out)
    assert [r["status"] for r in rows] == ["complete"], rows


def test_refusal_of_many_undeclared_hosts_states_the_exact_count(cli, workspace: Path, tmp_path: Path) -> None:
    """5,000 undeclared hosts in one file: refused whole, and the message says 5000 (it used to stop at 1001)."""
    xml = SCAN_XML.read_text(encoding="utf-8")
    head, _, rest = xml.partition("<host ")
    tail = rest[rest.rindex("</host>") + len("</host>"):]
    hosts = "".join(
        f'<host starttime="1" endtime="2"><status state="up" reason="syn-ack"/>'
        f'<address addr="127.3.{i // 250}.{i % 250 + 1}" addrtype="ipv4"/><ports/></host>\n' for i in range(5000))
    path = tmp_path / "many.xml"
    path.write_text(head + hosts + tail, encoding="utf-8")
    before = workspace_state(workspace)
    result = cli("scan", "import", str(path), "--system", "hssk-dien-tu")
    assert result.code == 1 and "Traceback" not in result.err
    assert "5000 máy chủ" in result.err and "5000 host(s)" in result.err, result.err
    assert workspace_state(workspace) == before
