"""Mutation fuzzing of ``secaudit inventory import`` (YAML files and .xlsx workbooks), run by hand.

Run (from the checkout, inside a private network namespace like the tests)::

    unshare -n sh -c 'ip link set lo up && .venv/bin/python scripts/fuzz/inventory.py --seed 1 --cases 2000'

Options: ``--surface yaml|xlsx|all`` (default all), ``--via service|cli`` (default service: the
service function ``import_inventory``; ``cli`` goes through ``secaudit.cli.main`` like a user),
``--keep DIR`` to save every input that found a bug, ``-v`` to print every case.

Seeds: the example inventories (examples/inventory/*.yaml), the YAML files and the workbook that
``inventory export`` writes for them, and the empty template (``inventory template``). Mutations:
YAML at the byte/line/value level (byte flips, cuts, duplicated/removed lines, hostile scalars —
lists for strings, huge/negative numbers, .nan, 2026-02-30, 100 000-character strings, NUL, control
and bidi characters, non-UTF-8 bytes, BOMs, deep nesting, duplicate keys); XLSX at the cell level
with openpyxl (wrong types, formulas, dates as text and datetimes with a time, merged cells, blank
rows in the middle, removed/renamed/extra sheets and header keys, 100 000-character cells) and at
the zip/XML level (truncated zip, a part cut short or with a flipped byte, sharedStrings missing,
members renamed/duplicated/path-traversing, unknown XML encodings, DTDs).

A few fixed cases come first: a folder named ``*.yaml``, a named pipe, a link to /dev/zero.
Each case runs with the clock pinned (SECAUDIT_NOW) against a throwaway workspace under /tmp that
holds the examples, and is classified as:

* ``accepted`` — then the inventory is exported again (YAML and XLSX) and the workbook re-imported;
  an exception there is a bug too (what we accept we must be able to give back);
* ``refused`` — a ``SecauditError`` (or, via the CLI, exit ≠ 0 with an ``Error:`` line and no
  traceback); the database must be row-for-row what it was before;
* ``BUG`` — any other exception, a traceback, a hang (over 10 s of CPU, or 60 s of wall time), or a
  refusal that changed the store.

Bugs are grouped by (exception type, innermost secaudit frame) and printed at the end with the
smallest input seen for each. Exit status is 1 when a bug was found.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("SECAUDIT_NOW", "2026-11-22T09:00:00+07:00")
os.environ.setdefault("SECAUDIT_ACTOR", "fuzz")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "inventory"
HANG_SECONDS = 10  # of CPU time: the machine may be shared, wall time then says little
HANG_WALL_SECONDS = 60  # of wall time: catches a case blocked without using the CPU (a pipe, a lock)

HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "\x07\x1b[31m", "\u202eevil\u202c", "\u2066x\u2069", "\ufeff", "\ud7ff",
    "x" * 100_000, "Đ" * 5000, "=HYPERLINK(\"http://127.0.0.1/\",\"x\")", "+1+1", "@SUM(A1)", "-2+3",
    "../../etc/passwd", "<script>alert(1)</script>", "{{ 7*7 }}", "%s%n", "\t", "\r\n", "a\rb", "\u2028",
    "2026-02-30", "30/02/2026", "31/12/9999", "0000-00-00", "1/1/1", "29/02/2025",
    "NaN", "inf", "-1", "1e400", str(10**40), "-0", "0x10", "１２３", "٣", "1_000", "1.5",
    "có", "không", "Có ", "TRUE", "yes", "null", "~",
]
HOSTILE_VALUES: list[Any] = [
    *HOSTILE_TEXT, 0, -1, 2**63, -(2**63) - 1, 10**30, 1.5, float("nan"), float("inf"), -float("inf"), 1e308,
    True, False, dt.date(1900, 1, 1), dt.date(9999, 12, 31), dt.datetime(2026, 1, 1, 12, 30),
    dt.datetime(1899, 12, 30), dt.time(12, 0), dt.timedelta(days=3),
]
YAML_SCALARS = [
    "[a, b]", "{a: 1}", "999999999999999999999999999999", "-1", "-99999999999999999999", "99999999999999999999",
    ".nan", ".inf", "-.inf",
    "2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "2026-01-01 10:00:00", "2026-01-01T25:00:00",
    "!!binary aGVsbG8=", "!!python/object:os.system x", "!!str", "!!int x", "!!float x", "!!timestamp x",
    "!!set {a}", "!!omap [a: 1]", "&a x", "*nope", "yes", "no", "on", "null", "~", "''", '""', "|", ">",
    "0o17", "0x1F", "1_000", "1e5", "'" + "x" * 100_000 + "'", '"\\0"', '"\\x07"', '"\\u202e"', '"\\uD800"',
    '"\\U0010FFFF"', '"\\uFFFE"', '"\\uFFFF"', '"\\x85"', '"\\u2028"',
    "\t", "? complex", "- item", "<<: {a: 1}", "%YAML 1.1", "---", "...", "#",
]


class HangError(Exception):
    """No answer within HANG_SECONDS."""


def _alarm(sig: int, _frame: Any) -> None:
    if sig == signal.SIGVTALRM:
        raise HangError(f"more than {HANG_SECONDS} s of CPU")
    raise HangError(f"no answer in {HANG_WALL_SECONDS} s")


# -- seeds ---------------------------------------------------------------------------------------
def make_seeds(tmp: Path) -> tuple[list[bytes], list[bytes], Path]:
    """(YAML seeds, XLSX seeds, pristine workspace holding the examples)."""
    from secaudit.inventory import records, xlsx
    from secaudit.services import workspace as wsvc
    from secaudit.store.workspace import Workspace

    pristine = tmp / "pristine"
    wsvc.init_workspace(pristine, actor="fuzz")
    ws = Workspace.open(pristine)
    records.import_path(ws, EXAMPLES, actor="fuzz")
    yaml_seeds = [p.read_bytes() for p in sorted(EXAMPLES.glob("*.yaml"))]
    out = tmp / "seed-export"
    records.export_agencies(ws, out)
    yaml_seeds += [p.read_bytes() for p in sorted(out.glob("*.yaml"))]
    records.export_xlsx(ws, tmp / "seed.xlsx")
    xlsx.write_workbook(tmp / "template.xlsx", [])
    ws.close()
    xlsx_seeds = [(tmp / "seed.xlsx").read_bytes(), (tmp / "template.xlsx").read_bytes()]
    return yaml_seeds, xlsx_seeds, pristine


# -- YAML mutations ------------------------------------------------------------------------------
def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def y_flip(r: random.Random, d: bytes) -> bytes:
    b = bytearray(d)
    for _ in range(r.randint(1, 4)):
        i = r.randrange(len(b))
        b[i] = r.choice([r.randrange(256), b[i] ^ (1 << r.randrange(8))])
    return bytes(b)


def y_cut(r: random.Random, d: bytes) -> bytes:
    return d[: r.randrange(len(d))]


def y_dup_line(r: random.Random, d: bytes) -> bytes:
    ls = _lines(d)
    i = r.randrange(len(ls))
    ls.insert(i, ls[i])
    return b"\n".join(ls)


def y_del_line(r: random.Random, d: bytes) -> bytes:
    ls = _lines(d)
    del ls[r.randrange(len(ls))]
    return b"\n".join(ls)


def y_swap_lines(r: random.Random, d: bytes) -> bytes:
    ls = _lines(d)
    i, j = r.randrange(len(ls)), r.randrange(len(ls))
    ls[i], ls[j] = ls[j], ls[i]
    return b"\n".join(ls)


_VALUE_LINE = re.compile(rb"^(\s*(?:- )?[A-Za-z_][A-Za-z0-9_]*:)( .*)?$")


def y_value(r: random.Random, d: bytes) -> bytes:
    """Replace the value of a random ``key: value`` line with a hostile scalar."""
    ls = _lines(d)
    idx = [i for i, line in enumerate(ls) if _VALUE_LINE.match(line)]
    if not idx:
        return d
    i = r.choice(idx)
    m = _VALUE_LINE.match(ls[i])
    assert m
    ls[i] = m.group(1) + b" " + r.choice(YAML_SCALARS).encode("utf-8")
    return b"\n".join(ls)


def y_text_value(r: random.Random, d: bytes) -> bytes:
    """Replace a value with a quoted hostile text (control, bidi, long…), escaped as YAML allows."""
    ls = _lines(d)
    idx = [i for i, line in enumerate(ls) if _VALUE_LINE.match(line)]
    if not idx:
        return d
    i = r.choice(idx)
    m = _VALUE_LINE.match(ls[i])
    assert m
    text = r.choice(HOSTILE_TEXT)
    if r.random() < 0.5:
        quoted = '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'
        ls[i] = m.group(1) + b" " + quoted.encode("ascii")
    else:
        ls[i] = m.group(1) + b" " + text.encode("utf-8", "surrogatepass")
    return b"\n".join(ls)


def y_raw_insert(r: random.Random, d: bytes) -> bytes:
    junk = r.choice([b"\x00", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\t", b"\r", b"\x85",
                     b"\xe2\x80\xae", b"\x1b", b"&a", b"*a", b"!", b"%", b"@", b"`", b"{", b"[", b"'", b'"'])
    i = r.randrange(len(d) + 1)
    return d[:i] + junk + d[i:]


def y_bom(r: random.Random, d: bytes) -> bytes:
    return r.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"]) + d


def y_utf16(r: random.Random, d: bytes) -> bytes:
    return d.decode("utf-8", "replace").encode(r.choice(["utf-16", "utf-16-le", "utf-32", "cp1258", "latin-1"]),
                                                 "replace")


def y_deep(r: random.Random, d: bytes) -> bytes:
    n = r.choice([40, 63, 64, 65, 66, 100, 1000, 5000])
    if r.random() < 0.5:
        return d + b"\nextra: " + b"[" * n + b"]" * n + b"\n"
    return d + b"\nextra:\n" + b"".join(b"  " * k + b"k:\n" for k in range(n)) + b"  " * n + b"v\n"


def y_dup_key(r: random.Random, d: bytes) -> bytes:
    ls = _lines(d)
    idx = [i for i, line in enumerate(ls) if _VALUE_LINE.match(line) and not line.lstrip().startswith(b"- ")]
    if not idx:
        return d
    i = r.choice(idx)
    ls.insert(i + 1, ls[i])
    return b"\n".join(ls)


def y_indent(r: random.Random, d: bytes) -> bytes:
    ls = _lines(d)
    i = r.randrange(len(ls))
    ls[i] = r.choice([b" ", b"  ", b"\t", b""]) + (ls[i].lstrip() if r.random() < 0.5 else ls[i])
    return b"\n".join(ls)


def y_many_systems(r: random.Random, d: bytes) -> bytes:
    """The systems list repeated (same codes: a duplicate; or a huge list)."""
    text = d.decode("utf-8", "replace")
    if "systems:" not in text:
        return d
    head, tail = text.split("systems:", 1)
    return (head + "systems:" + tail * r.choice([2, 3, 50])).encode("utf-8")


def y_types(r: random.Random, d: bytes) -> bytes:
    """Whole document or a block of the wrong kind."""
    return r.choice([b"[]", b"- a\n- b\n", b"42", b"null", b"~", b"", b"---\n---\n", b"a: 1\n---\nb: 2\n",
                     b"code: x\nsystems: {}\n", b"code: x\nname: y\nsystems: [1, 2]\n",
                     b"code: [x]\nname: y\n", d + b"\n---\n" + d, b"%TAG ! tag:x,2000:\n--- !foo\na: 1\n"])


YAML_MUTATORS: list[Callable[[random.Random, bytes], bytes]] = [
    y_flip, y_cut, y_dup_line, y_del_line, y_swap_lines, y_value, y_value, y_text_value, y_text_value,
    y_raw_insert, y_bom, y_utf16, y_deep, y_dup_key, y_indent, y_many_systems, y_types,
]


# -- XLSX cell-level mutations -------------------------------------------------------------------
DATA_SHEETS = ("Cơ quan", "Hệ thống", "Cấp độ", "Địa chỉ")


def _book(data: bytes) -> Any:
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data))


def _save(book: Any) -> bytes:
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _data_sheet(r: random.Random, book: Any) -> Any:
    names = [n for n in DATA_SHEETS if n in book.sheetnames] or book.sheetnames
    return book[r.choice(names)]


def _cell(r: random.Random, sheet: Any, *, header: bool = False) -> Any:
    max_row = max(sheet.max_row, 3)
    max_col = max(sheet.max_column, 1)
    row = r.choice([1, 2]) if header else r.randint(3, max_row + (1 if r.random() < 0.2 else 0))
    return sheet.cell(row=row, column=r.randint(1, max_col + (1 if r.random() < 0.1 else 0)))


def x_value(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    for _ in range(r.randint(1, 3)):
        cell = _cell(r, sheet)
        value = r.choice(HOSTILE_VALUES)
        try:
            cell.value = value
        except Exception:  # noqa: BLE001 — openpyxl refuses control characters: write their repr
            cell.value = repr(value)
        if isinstance(value, str) and r.random() < 0.3:
            cell.data_type = "s"


def x_formula(r: random.Random, book: Any) -> None:
    cell = _cell(r, _data_sheet(r, book))
    cell.value = r.choice(["=1+1", "=A1", "=HYPERLINK(\"http://127.0.0.1/\")", "=NA()", "=1/0", "={1,2}"])


def x_error_cell(r: random.Random, book: Any) -> None:
    cell = _cell(r, _data_sheet(r, book))
    cell.value = r.choice(["#N/A", "#DIV/0!", "#REF!", "#VALUE!"])
    cell.data_type = "e"


def x_date_text(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    cell = _cell(r, sheet)
    cell.value = r.choice(["30/02/2026", "2026-02-30", "1/1/26", "31-12-2026", "2026/12/31", "12/31/2026",
                           "00/00/0000", "32/01/2026", "01/13/2026", "2026-1-1", " 01/01/2026 ", "01/01/0001"])


def x_merge(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    row = r.randint(1, max(sheet.max_row, 3))
    col = r.randint(1, max(sheet.max_column, 2))
    sheet.merge_cells(start_row=row, start_column=col, end_row=row + r.randint(0, 3), end_column=col + r.randint(0, 3))


def x_blank_rows(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    sheet.insert_rows(r.randint(3, max(sheet.max_row, 3)), amount=r.randint(1, 50))


def x_delete_rows(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    sheet.delete_rows(r.randint(1, max(sheet.max_row, 1)), amount=r.randint(1, 3))


def x_dup_row(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    src = r.randint(3, max(sheet.max_row, 3))
    dst = sheet.max_row + 1
    for col in range(1, sheet.max_column + 1):
        sheet.cell(row=dst, column=col).value = sheet.cell(row=src, column=col).value


def x_delete_cols(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    sheet.delete_cols(r.randint(1, max(sheet.max_column, 1)))


def x_header(r: random.Random, book: Any) -> None:
    cell = _cell(r, _data_sheet(r, book), header=True)
    cell.value = r.choice([None, "", "code", "agency", "system", "x", "level.approved", " code ", "CODE", 1,
                           "=A1", "level", "level.", ".code", "hosts", "systems", "address", "x" * 100_000])


def x_sheets(r: random.Random, book: Any) -> None:
    what = r.randrange(5)
    name = r.choice(book.sheetnames)
    if what == 0 and len(book.sheetnames) > 1:
        del book[name]
    elif what == 1:
        book[name].title = r.choice(["Co quan", "Cơ quan ", "Sheet1", "cơ quan", "He thong", "X" * 31,
                                     "Cơ quan (2)", "Địa chỉ", "Cấp độ"])[:31]
    elif what == 2:
        book.create_sheet(r.choice(["Sheet1", "Cơ quan1", "Cấp độ"]))
    elif what == 3:
        book.copy_worksheet(book[name])
    else:
        sheet = book[name]
        sheet.sheet_state = r.choice(["hidden", "veryHidden", "visible"])


def x_long(r: random.Random, book: Any) -> None:
    cell = _cell(r, _data_sheet(r, book))
    cell.value = r.choice(["x", "Đ", "a b ", "1", "a\n"]) * r.choice([32_767, 100_000 // 2])


def x_many_rows(r: random.Random, book: Any) -> None:
    sheet = _data_sheet(r, book)
    src = r.randint(3, max(sheet.max_row, 3))
    values = [sheet.cell(row=src, column=c).value for c in range(1, sheet.max_column + 1)]
    for k in range(r.choice([10, 300])):
        sheet.append([f"{v}-{k}" if isinstance(v, str) and k % 2 else v for v in values])


XLSX_CELL_MUTATORS: list[Callable[[random.Random, Any], None]] = [
    x_value, x_value, x_value, x_formula, x_error_cell, x_date_text, x_merge, x_blank_rows, x_delete_rows,
    x_dup_row, x_delete_cols, x_header, x_header, x_sheets, x_sheets, x_long, x_many_rows,
]


# -- XLSX zip/XML-level mutations ----------------------------------------------------------------
def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _zip(members: list[tuple[str, bytes]], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf, warnings_off():
        for name, body in members:
            zf.writestr(name, body)
    return buf.getvalue()


@contextlib.contextmanager
def warnings_off() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def z_truncate(r: random.Random, d: bytes) -> bytes:
    return d[: r.randrange(len(d))]


def z_flip(r: random.Random, d: bytes) -> bytes:
    b = bytearray(d)
    for _ in range(r.randint(1, 8)):
        i = r.randrange(len(b))
        b[i] ^= 1 << r.randrange(8)
    return bytes(b)


def _xml_members(r: random.Random, d: bytes, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    members = [(i.filename, body) for i, body in _members(d)]
    xmls = [k for k, (n, _) in enumerate(members) if n.endswith(".xml") or n.endswith(".rels")]
    k = r.choice(xmls)
    name, body = members[k]
    new = edit(name, body)
    if new is None:
        del members[k]
    else:
        members[k] = (name, new)
    return _zip(members)


def z_cut_part(r: random.Random, d: bytes) -> bytes:
    return _xml_members(r, d, lambda _n, b: b[: r.randrange(len(b) + 1)])


def z_flip_part(r: random.Random, d: bytes) -> bytes:
    def edit(_n: str, b: bytes) -> bytes:
        bb = bytearray(b)
        for _ in range(r.randint(1, 3)):
            i = r.randrange(len(bb))
            bb[i] = r.randrange(256)
        return bytes(bb)
    return _xml_members(r, d, edit)


def z_drop_part(r: random.Random, d: bytes) -> bytes:
    members = [(i.filename, body) for i, body in _members(d)]
    target = r.choice([n for n, _ in members] + ["xl/sharedStrings.xml"] * 3 + ["xl/workbook.xml", "xl/styles.xml"])
    return _zip([(n, b) for n, b in members if n != target])


def z_rename(r: random.Random, d: bytes) -> bytes:
    members = [(i.filename, body) for i, body in _members(d)]
    k = r.randrange(len(members))
    name, body = members[k]
    new = r.choice(["../" + name, "/" + name, name.upper(), name + "x", name.replace("/", "\\"), "../../evil.xml",
                    name.replace("sheet", "Sheet"), "xl/worksheets/../" + name.rsplit("/", 1)[-1]])
    members[k] = (new, body)
    if r.random() < 0.5:
        members.append((name, body))  # keep the original too: a path-traversing extra member
    return _zip(members)


def z_duplicate(r: random.Random, d: bytes) -> bytes:
    members = [(i.filename, body) for i, body in _members(d)]
    name, body = r.choice(members)
    other = r.choice(members)[1] if r.random() < 0.5 else body
    members.append((name, other))
    if r.random() < 0.5:
        members.reverse()
    return _zip(members)


def z_encoding(r: random.Random, d: bytes) -> bytes:
    def edit(_n: str, b: bytes) -> bytes:
        decl = r.choice([b'<?xml version="1.0" encoding="x-unknown-enc"?>', b'<?xml version="1.0" encoding="UTF-16"?>',
                         b'<?xml version="1.0" encoding="cp1258"?>', b'<?xml version="2.0"?>', b"\xef\xbb\xbf",
                         b'<?xml version="1.0" encoding="utf-7"?>'])
        body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", b)
        return decl + body
    return _xml_members(r, d, edit)


def z_dtd(r: random.Random, d: bytes) -> bytes:
    def edit(_n: str, b: bytes) -> bytes:
        dtd = r.choice([b'<!DOCTYPE x [<!ENTITY a "aaaa">]>', b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd">',
                        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'])
        body = re.sub(rb"^\s*(<\?xml[^>]*\?>)", rb"\1" + dtd.replace(b"\\", b"\\\\"), b, count=1)
        return body
    return _xml_members(r, d, edit)


def z_sheet_xml(r: random.Random, d: bytes) -> bytes:
    """Edit a worksheet's XML: bad cell types, bad refs, huge refs, inline strings, bad shared-string index."""
    def edit(name: str, b: bytes) -> bytes:
        if b"<sheetData" not in b:
            return b
        subs = [
            (rb't="s"', r.choice([b't="n"', b't="b"', b't="d"', b't="e"', b't="str"', b't="inlineStr"', b't="x"'])),
            (rb"<v>(\d+)</v>", r.choice([b"<v>99999999</v>", b"<v>-1</v>", b"<v>x</v>", b"<v></v>", b"<v>1e999</v>",
                                         b"<v>NaN</v>"])),
            (rb'r="([A-Z]+)(\d+)"', r.choice([b'r="XFD1048577"', b'r="A0"', b'r="1A"', b'r=""', b'r="ZZZZ9"'])),
            (rb"<row ", b'<row r="0" '),
            (rb'<c r="A3"', b'<c r="A3" t="inlineStr"><is><t>x</t></is></c><c r="A3"'),
            (rb"<dimension[^>]*/>", b'<dimension ref="A1:XFD1048576"/>'),
        ]
        pattern, repl = r.choice(subs)
        matches = list(re.finditer(pattern, b))
        if not matches:
            return b
        m = r.choice(matches)
        return b[: m.start()] + repl + b[m.end():]
    members = [(i.filename, body) for i, body in _members(d)]
    sheets = [k for k, (n, _) in enumerate(members) if n.startswith("xl/worksheets/sheet")]
    k = r.choice(sheets)
    members[k] = (members[k][0], edit(*members[k]))
    return _zip(members)


def z_stored(r: random.Random, d: bytes) -> bytes:
    """Same parts, stored uncompressed, with a flipped byte in a stored part (CRC mismatch)."""
    members = [(i.filename, body) for i, body in _members(d)]
    raw = bytearray(_zip(members, zipfile.ZIP_STORED))
    i = r.randrange(len(raw) // 2)
    raw[i] ^= 0x20
    return bytes(raw)


def z_corrupt_compressed(r: random.Random, d: bytes) -> bytes:
    """A flipped byte inside one member's compressed data (local header and directory left intact)."""
    with zipfile.ZipFile(io.BytesIO(d)) as zf:
        infos = [i for i in zf.infolist() if i.compress_size > 4]
    info = r.choice(infos)
    b = bytearray(d)
    # local header: 30 bytes + name + extra
    name_len = int.from_bytes(b[info.header_offset + 26: info.header_offset + 28], "little")
    extra_len = int.from_bytes(b[info.header_offset + 28: info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    i = start + r.randrange(info.compress_size)
    b[i] ^= 1 << r.randrange(8)
    return bytes(b)


XLSX_ZIP_MUTATORS: list[Callable[[random.Random, bytes], bytes]] = [
    z_truncate, z_flip, z_cut_part, z_cut_part, z_flip_part, z_drop_part, z_rename, z_duplicate, z_encoding,
    z_dtd, z_sheet_xml, z_sheet_xml, z_stored, z_corrupt_compressed, z_corrupt_compressed,
]


# -- running one case ----------------------------------------------------------------------------
def state(ws_root: Path) -> str:
    """Hash of every row of every table (the store's whole content) and the evidence file names."""
    import sqlite3

    con = sqlite3.connect(ws_root / "secaudit.db")
    try:
        h = hashlib.sha256()
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table' order by name")]
        for t in tables:
            h.update(t.encode())
            for row in con.execute(f"select * from [{t}] order by rowid"):
                h.update(repr(row).encode())
    finally:
        con.close()
    files = sorted(str(p.relative_to(ws_root)) for p in (ws_root / "evidence").rglob("*"))
    h.update(repr(files).encode())
    return h.hexdigest()


def _signature(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in tb if "/secaudit/" in f.filename and "/scripts/" not in f.filename]
    frame = ours[-1] if ours else (tb[-1] if tb else None)
    where = f"{Path(frame.filename).name}:{frame.lineno} {frame.name}" if frame else "?"
    return f"{type(exc).__name__} @ {where}"


def run_case(path: Path, ws_root: Path, via: str, tmp: Path) -> tuple[str, str]:
    """('accepted'|'refused'|'BUG', detail)."""
    from secaudit.errors import SecauditError
    from secaudit.services import inventory as service

    before = state(ws_root)
    signal.alarm(HANG_WALL_SECONDS)
    signal.setitimer(signal.ITIMER_VIRTUAL, HANG_SECONDS)
    try:
        if via == "cli":
            from secaudit.cli import main

            err = io.StringIO()
            out = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    code = main(["-w", str(ws_root), "inventory", "import", str(path)])
                except Exception as exc:  # noqa: BLE001 — escaped main(): a traceback for the user
                    return "BUG", _signature(exc) + " (escaped cli.main)"
            text = err.getvalue() + out.getvalue()
            if "Traceback" in text:
                return "BUG", "traceback printed"
            if code != 0:
                if not re.search(r"^(Error:|Lỗi)", err.getvalue(), re.M):
                    return "BUG", f"exit {code} without an Error: line"
                if state(ws_root) != before:
                    return "BUG", "refused but the store changed"
                return "refused", err.getvalue().strip().splitlines()[-1][:200]
        else:
            try:
                service.import_inventory(ws_root, path, actor="fuzz")
            except SecauditError as exc:
                if state(ws_root) != before:
                    return "BUG", "refused but the store changed"
                return "refused", exc.diagnostics()[:200]
            except HangError:
                raise
            except Exception as exc:  # noqa: BLE001 (the harness classifies every failure)
                return "BUG", _signature(exc)
        # accepted: what we took we must be able to give back
        try:
            service.export_inventory(ws_root, tmp / "back-yaml", "yaml")
            service.export_inventory(ws_root, tmp / "back.xlsx", "xlsx")
            service.validate_inventory(tmp / "back.xlsx")
            service.validate_inventory(tmp / "back-yaml")
        except SecauditError as exc:
            return "BUG", f"accepted but its export is refused: {exc.diagnostics()[:300]}"
        except HangError:
            raise
        except Exception as exc:  # noqa: BLE001 (the harness classifies every failure)
            return "BUG", _signature(exc) + " (export after accept)"
        finally:
            shutil.rmtree(tmp / "back-yaml", ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                (tmp / "back.xlsx").unlink()
        return "accepted", ""
    except HangError as exc:
        return "BUG", f"hang: {exc}"
    finally:
        signal.alarm(0)
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)


def special_paths(tmp: Path, seed: bytes) -> list[tuple[str, Path]]:
    """A folder named like a YAML file inside a folder import, a named pipe, a link to /dev/zero."""
    base = tmp / "special"
    folder = base / "folder"
    (folder / "cu.yaml").mkdir(parents=True)
    (folder / "a.yaml").write_bytes(seed)
    cases = [("folder with a *.yaml folder", folder), ("folder itself named .yaml", folder / "cu.yaml")]
    for name in ("pipe.yaml", "pipe.xlsx"):
        os.mkfifo(base / name)
        cases.append((name, base / name))
    for name in ("zero.yaml", "zero.xlsx"):
        (base / name).symlink_to("/dev/zero")
        cases.append((name, base / name))
    return cases


def mutate_xlsx(r: random.Random, seed: bytes) -> tuple[bytes, str]:
    if r.random() < 0.55:
        book = _book(seed)
        names = []
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            m = r.choice(XLSX_CELL_MUTATORS)
            names.append(m.__name__)
            try:
                m(r, book)
            except Exception:  # noqa: BLE001 — openpyxl refused to build it: not an input we can write
                pass
        try:
            return _save(book), "+".join(names)
        except Exception:  # noqa: BLE001 (the harness classifies every failure)
            return seed, "unchanged"
    m = r.choice(XLSX_ZIP_MUTATORS)
    try:
        return m(r, seed), m.__name__
    except Exception:  # noqa: BLE001 (the harness classifies every failure)
        return seed, "unchanged"


def mutate_yaml(r: random.Random, seed: bytes) -> tuple[bytes, str]:
    data = seed
    names = []
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        m = r.choice(YAML_MUTATORS)
        names.append(m.__name__)
        data = m(r, data) if data else data
    return data, "+".join(names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--surface", choices=["yaml", "xlsx", "all"], default="all")
    parser.add_argument("--via", choices=["service", "cli"], default="service")
    parser.add_argument("--keep", type=Path, help="folder to save the inputs that found bugs")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    r = random.Random(args.seed)
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGVTALRM, _alarm)
    tmp = Path(tempfile.mkdtemp(prefix="secaudit-fuzz-inv-"))
    try:
        yaml_seeds, xlsx_seeds, pristine = make_seeds(tmp)
        ws_root = tmp / "ws"
        shutil.copytree(pristine, ws_root)
        counts = {"accepted": 0, "refused": 0, "BUG": 0}
        bugs: dict[str, tuple[int, str, Path | None, str]] = {}
        started = time.monotonic()
        for label, special in special_paths(tmp, yaml_seeds[0]):  # fixed cases: paths that are no plain file
            outcome, detail = run_case(special, ws_root, args.via, tmp)
            counts[outcome] += 1
            if args.verbose or outcome == "BUG":
                print(f"special {label:30s} {outcome:8s} {detail[:120]}")
            if outcome == "BUG":
                bugs[detail] = (0, label, None, "special path")
            if outcome != "refused":
                shutil.rmtree(ws_root)
                shutil.copytree(pristine, ws_root)
        for case in range(args.cases):
            surface = args.surface if args.surface != "all" else r.choice(["yaml", "xlsx"])
            if surface == "yaml":
                data, how = mutate_yaml(r, r.choice(yaml_seeds))
                path = tmp / "case.yaml"
            else:
                data, how = mutate_xlsx(r, r.choice(xlsx_seeds))
                path = tmp / "case.xlsx"
            path.write_bytes(data)
            outcome, detail = run_case(path, ws_root, args.via, tmp)
            counts[outcome] += 1
            if args.verbose:
                print(f"{case:5d} {surface} {how:40s} {outcome:8s} {detail[:120]}")
            if outcome == "BUG":
                key = detail if not detail.startswith("accepted but") else detail[:80]
                kept = None
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    kept = args.keep / f"case{case:05d}-{args.seed}{path.suffix}"
                    shutil.copyfile(path, kept)
                if key not in bugs or len(data) < bugs[key][0]:
                    bugs[key] = (len(data), how, kept, f"case {case}")
            if outcome != "refused":  # an accepted import changed the store: start the next case afresh
                shutil.rmtree(ws_root)
                shutil.copytree(pristine, ws_root)
        elapsed = time.monotonic() - started
        print(f"seed {args.seed}: {args.cases} cases in {elapsed:.0f} s ({args.surface}, via {args.via}): "
              f"{counts['accepted']} accepted, {counts['refused']} refused, {counts['BUG']} bugs "
              f"({len(bugs)} distinct)")
        for key, (size, how, kept, case_name) in sorted(bugs.items()):
            print(f"  BUG {key}\n      smallest: {size} bytes, {case_name}, mutation {how}, saved {kept}")
        return 1 if bugs else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
