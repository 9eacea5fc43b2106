"""Mutation fuzzing of the self-assessment inputs: answers files (YAML and .xlsx), evidence, waivers, scope files.

Run by hand (never by pytest), inside a private network namespace like the tests::

    cd /work/main && unshare -n sh -c 'ip link set lo up && \
        .venv/bin/python scripts/fuzz/answers.py --seed 1 --cases 3000 [--surface all|yaml|xlsx|evidence|scope]'

What it checks: each case feeds one mutated input to the real code, in-process, with the clock
pinned (``SECAUDIT_NOW=2026-11-22T09:00:00+07:00``) and a throwaway workspace under /tmp:

* ``yaml``: ``secaudit assess AGENCY --answers FILE.yaml`` (seeds: examples/answers/*.yaml and the
  template ``assess --export-template`` writes), mutated as text (byte flips, cuts, duplicated or
  removed lines, NULs, bidi/control characters, BOMs, non-UTF-8 bytes) and as a tree (a leaf replaced
  by a list, a huge or negative number, NaN, a date such as 2026-02-30 or 0000-01-01, a 100 kB
  string, a path that climbs out (``../``), a file name too long for the file system, unknown
  items, systems and checklists, deep nesting, keys removed or added);
* ``xlsx``: ``secaudit assess AGENCY --answers FILE.xlsx`` (seed: the workbook ``assess
  --export-template -o X.xlsx`` writes), cells set to formulas, error values, booleans, huge
  numbers, impossible dates, hostile text and file names; rows deleted or duplicated, merged
  cells, the sheet renamed, zip members renamed, duplicated or cut;
* ``evidence``: ``secaudit evidence add`` and ``secaudit waive`` / ``answer set`` with file names
  carrying bidi and control characters or non-UTF-8 bytes, empty, oversize (sparse) and special
  files (directory, FIFO, /dev/null), dates such as 30/02/2026 or 31/12/9999, items and systems
  that do not exist;
* ``scope``: ``scanning.scope.load_scope`` then the scan plan for its targets
  (``scanning.plan.plan_groups``: argv only, nmap never started) and ``scan import XML --scope FILE``
  (a recorded loopback XML: nothing is scanned). Seeds: the module's own example and the scope
  files of tests/scanning; mutations add huge ranges, IPv6, overlaps, /0 and /32 ranges, addresses
  that are not loopback (only parsed and planned, never scanned), dates and wrong types.

Each run is classified: accepted; refused cleanly (a ``SecauditError`` from the service, or exit
code != 0 with an ``Error:`` line and no traceback from the CLI); or BUG: any other exception, a
hang over 10 s, or a refused input that changed the workspace (row counts of every table and the
files under evidence/, ``tests/bundle_helpers.snapshot``). Each bug is printed once per distinct
(surface, exception type, innermost frame in secaudit) with its seed and case number; the input is
kept under the output folder (``--keep``) for replay. Exit code 1 when a bug was found.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
os.environ["SECAUDIT_NOW"] = "2026-11-22T09:00:00+07:00"
os.environ["SECAUDIT_ACTOR"] = "fuzz"
os.environ["LANG"] = "C.UTF-8"

import yaml  # noqa: E402

from secaudit import yamlio  # noqa: E402
from secaudit.cli import main  # noqa: E402
from secaudit.errors import SecauditError  # noqa: E402

EXAMPLES = ROOT / "examples"
SCAN_XML = ROOT / "tests" / "scanning" / "data" / "loopback-services.xml"
HANG_SECONDS = 10


class HangError(Exception):
    """Raised by the alarm when one case runs longer than HANG_SECONDS."""


def _alarm(_signum: int, _frame: Any) -> None:
    raise HangError()


# -- hostile values -----------------------------------------------------------------------------
BIDI = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\u061c", "\ufeff", "\u200b"]
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x1b[31m", "\x7f", "\x85", "\r", "\t", "\x0b", "\x0c"]


class Raw(str):
    """A scalar written into the YAML as is (unquoted), e.g. the impossible date 2026-02-30."""


RAW_SCALARS = [
    "2026-02-30", "2026-13-01", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01", "2026-2-3",
    "2026-11-22T25:00:00", "2026-11-22 09:00:00+07:00", ".nan", ".inf", "-.inf", "0x7fffffffffffffff",
    "99999999999999999999999999999", "-1", "0", "1e400", "~", "null", "true", "no", "!!binary aGVsbG8=",
    "!!python/object:os.system", "!!timestamp 2026-02-30", "&a x", "*undefined", "[]", "{}", "[[[[[]]]]]",
    '"\\0"', '"\\x00"', '"\\u202e"', '"\\uD800"', "|\n  multi\n  line", "'2026-11-22'", "'30/02/2026'",
    "<<: {a: 1}",
]


def hostile_text(rng: random.Random) -> str:
    choice = rng.randrange(12)
    if choice == 0:
        return "x" * rng.choice([256, 4096, 100_000])
    if choice == 1:
        return "a" + rng.choice(BIDI) + "fdp.exe"
    if choice == 2:
        return "b" + rng.choice(CONTROL) + "c"
    if choice == 3:
        return "../" * rng.randrange(1, 12) + rng.choice(["etc/passwd", "proc/self/environ", "dev/zero", ""])
    if choice == 4:
        return rng.choice(["/dev/zero", "/dev/null", "/proc/self/mem", "/", ".", "..", "~", "/etc/shadow"])
    if choice == 5:
        return "t" * rng.choice([255, 256, 300, 5000]) + ".pdf"
    if choice == 6:
        return "=HYPERLINK(\"http://example.invalid\")"
    if choice == 7:
        return rng.choice(["", " ", "\u00a0", "\n", "dat ", "ĐẠT", "Đạt\u0301", "dat\x00"])
    if choice == 8:
        return rng.choice(["kh04-bcdtw:khong-co", "khong-co:t1", ":", "a:b:c", "kh04-bcdtw:", "*", "%", "'; drop"])
    if choice == 9:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 40)))
    if choice == 10:
        return rng.choice(["30/02/2026", "31/12/9999", "01/01/0001", "00/00/0000", "99/99/99999999", "2026-02-30",
                           "1/1/1", "-1/1/2026"])
    return rng.choice(["khong-ton-tai", "SO-KHCN", "so-khcn\u200b", "lgsp-tinh ", "ha-tang-ttdl-tinh\x00"])


def hostile_value(rng: random.Random) -> Any:
    choice = rng.randrange(10)
    if choice < 3:
        return hostile_text(rng)
    if choice == 3:
        return Raw(rng.choice(RAW_SCALARS))
    if choice == 4:
        return rng.choice([10**30, -1, 0, 2**63, -(2**63) - 1, 1.5, float("nan"), float("inf"), True, None])
    if choice == 5:
        return [hostile_text(rng)] * rng.randrange(0, 4)
    if choice == 6:
        return {"a": hostile_text(rng)}
    if choice == 7:
        nest: Any = "x"
        for _ in range(rng.choice([5, 50, 200])):
            nest = [nest]
        return nest
    if choice == 8:
        return rng.choice([dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2026, 11, 22), dt.date(1970, 1, 1)])
    return {"file": hostile_text(rng), "kind": rng.choice(["bien-ban", "xyz", None, 5]),
            "expires": Raw(rng.choice(RAW_SCALARS[:8]))}


# -- generic mutations --------------------------------------------------------------------------
def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(9)
        pos = rng.randrange(len(buf) + 1) if buf else 0
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[pos:]
        elif op == 2:
            buf[pos:pos] = rng.choice([b"\x00", b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xef\xbb\xbf",
                                       "\u202e".encode(), b"\r", b"\x1b[2J", b"\t"])
        elif op == 3:
            lines = bytes(buf).split(b"\n")
            i = rng.randrange(len(lines))
            if rng.random() < 0.5:
                lines.insert(i, lines[i])
            else:
                del lines[i]
            buf = bytearray(b"\n".join(lines))
        elif op == 4:
            buf[0:0] = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"%YAML 1.1\n---\n", b"--- !!set\n"])
        elif op == 5:
            end = min(len(buf), pos + rng.randrange(1, 64))
            buf[pos:pos] = buf[pos:end] * rng.randrange(2, 50)
        elif op == 6:
            end = min(len(buf), pos + rng.randrange(1, 64))
            del buf[pos:end]
        elif op == 7:
            buf[pos:pos] = rng.choice(RAW_SCALARS).encode()
        else:
            buf[pos:pos] = hostile_text(rng).encode("utf-8", "surrogatepass")
    return bytes(buf)


def _leaves(tree: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += _leaves(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += _leaves(value, (*path, index))
    return found


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return tree


def mutate_tree(tree: Any, rng: random.Random, extra_keys: list[str]) -> Any:
    tree = json.loads(json.dumps(tree, default=str))
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = _leaves(tree)
        path = rng.choice(paths[1:] or paths)
        op = rng.randrange(6)
        if op <= 2:
            tree = _set(tree, path, hostile_value(rng))
        elif op == 3 and path:
            parent = tree
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif isinstance(parent, list) and parent:
                parent.pop(path[-1])
        elif op == 4:
            parent = tree
            for part in path[:-1]:
                parent = parent[part]
            if isinstance(parent, dict):
                parent[rng.choice(extra_keys)] = hostile_value(rng)
            elif isinstance(parent, list) and parent:
                parent.append(json.loads(json.dumps(rng.choice(parent), default=str)))
        else:
            tree = _set(tree, path, [_get(tree, path)] if rng.random() < 0.5 else {"x": _get(tree, path)})
    return tree


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def dump_yaml(tree: Any) -> bytes:
    raws: list[str] = []

    def strip(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(str(node))
            return f"__RAW_{len(raws) - 1}__"
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    try:
        text = yaml.safe_dump(strip(tree), allow_unicode=True, sort_keys=False, width=10_000)
    except (yaml.YAMLError, RecursionError):
        text = json.dumps(strip(tree), default=str)
    for index, raw in enumerate(raws):
        text = text.replace(f"__RAW_{index}__", raw.replace("\n", " ") if "\n" in raw else raw)
    return text.encode("utf-8", "surrogatepass")


# -- running ------------------------------------------------------------------------------------
class Campaign:
    def __init__(self, seed: int, out: Path, keep: bool) -> None:
        from bundle_helpers import snapshot

        self.snapshot = snapshot
        self.rng = random.Random(seed)
        self.seed = seed
        self.out = out
        self.keep = keep
        self.tally: Counter[str] = Counter()
        self.bugs: dict[str, tuple[str, str]] = {}
        self.pristine = out / "pristine"
        self.ws = out / "ws"
        self.inputs = out / "inputs"
        self.inputs.mkdir(parents=True, exist_ok=True)
        (out / "kept").mkdir(exist_ok=True)
        self.case = 0
        self.verbose = False
        self.reasons: dict[str, Counter[str]] = {s: Counter() for s in ("yaml", "xlsx", "evidence", "waiver",
                                                                         "answer", "scope")}

    # the CLI, in-process
    def cli(self, *args: str) -> tuple[int, str, str, BaseException | None]:
        out_b, err_b = io.BytesIO(), io.BytesIO()
        out = io.TextIOWrapper(out_b, encoding="utf-8", errors="surrogateescape", write_through=True)
        err = io.TextIOWrapper(err_b, encoding="utf-8", errors="backslashreplace", write_through=True)

        def text(buffer: io.BytesIO) -> str:
            return buffer.getvalue().decode("utf-8", "backslashreplace")

        stdin = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["-w", str(self.ws), *args])
            return code, text(out_b), text(err_b), None
        except HangError:
            raise
        except SystemExit as exc:
            return int(exc.code or 0), text(out_b), text(err_b), None
        except BaseException as exc:  # noqa: BLE001 — anything else is what we look for
            return -1, text(out_b), text(err_b), exc
        finally:
            sys.stdin = stdin

    def setup(self) -> None:
        self.ws = self.pristine
        code, _, err, exc = self.cli("init")
        assert code == 0 and exc is None, (err, exc)
        code, _, err, exc = self.cli("inventory", "import", str(EXAMPLES / "inventory"))
        assert code == 0 and exc is None, (err, exc)
        self.ws = self.out / "ws"
        # seeds next to the evidence they name (../evidence/...)
        shutil.copytree(EXAMPLES / "evidence", self.out / "evidence", dirs_exist_ok=True)
        (self.out / "answers").mkdir(exist_ok=True)
        for seed in sorted((EXAMPLES / "answers").glob("*.yaml")):
            shutil.copy(seed, self.out / "answers" / seed.name)
        self.reset()
        template = self.out / "answers" / "mau-so-khcn.yaml"
        code, text, err, exc = self.cli("assess", "so-khcn", "--export-template")
        assert code == 0 and exc is None, (err, exc)
        template.write_text(text, encoding="utf-8")
        xlsx = self.out / "answers" / "mau-so-khcn.xlsx"
        code, _, err, exc = self.cli("assess", "so-khcn", "--export-template", "-o", str(xlsx))
        assert code == 0 and exc is None, (err, exc)
        self.yaml_seeds = [p for p in sorted((self.out / "answers").glob("*.yaml"))]
        self.xlsx_seed = xlsx

    def reset(self) -> None:
        if self.ws.exists():
            shutil.rmtree(self.ws)
        shutil.copytree(self.pristine, self.ws)

    def state(self) -> Any:
        from secaudit.store.workspace import Workspace

        ws = Workspace.open(self.ws)
        try:
            return self.snapshot(ws)
        finally:
            ws.close()

    def bug(self, surface: str, what: str, detail: str, keep: list[Path]) -> None:
        self.tally["bug"] += 1
        if what not in self.bugs:
            self.bugs[what] = (f"{surface} seed={self.seed} case={self.case}", detail)
            kept = self.out / "kept" / f"case-{self.case}"
            kept.mkdir(parents=True, exist_ok=True)
            for path in keep:
                if path.is_file():
                    shutil.copy(path, kept / f"input{path.suffix}")
            print(f"BUG [{surface}] case {self.case}: {what}\n    {detail[:600]}", flush=True)

    @staticmethod
    def where(exc: BaseException) -> str:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/secaudit/" in f.filename]
        frame = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno} ({frame.name})"

    def run_cli(self, surface: str, args: list[str], keep: list[Path], *, check_state: bool = True) -> None:
        before = self.state() if check_state else None
        signal.alarm(HANG_SECONDS)
        started = time.monotonic()
        try:
            code, out, err, exc = self.cli(*args)
        except HangError:
            self.bug(surface, f"hang > {HANG_SECONDS}s ({args[0]})", " ".join(args)[:300], keep)
            self.reset()
            return
        finally:
            signal.alarm(0)
        elapsed = time.monotonic() - started
        if exc is not None:
            self.bug(surface, self.where(exc), "".join(traceback.format_exception(exc))[-1500:], keep)
        elif "Traceback" in out + err:
            self.bug(surface, "traceback in output", err[-800:], keep)
        elif code == 0:
            self.tally["accepted"] += 1
        elif code in (1, 2, 3) and ("Error:" in err or "Lỗi" in err):
            self.tally["refused"] += 1
            self.reasons[surface][_reason(err)] += 1
            if before is not None and self.state() != before:
                self.bug(surface, f"refused but changed the workspace ({args[0]})", err[:400], keep)
        else:
            self.bug(surface, f"exit {code} without an Error: line", (out + err)[-800:], keep)
        if elapsed > 5:
            print(f"slow [{surface}] case {self.case}: {elapsed:.1f}s", flush=True)
        if code == 0 and exc is None and surface != "scope" and self.rng.random() < 0.3:
            self.evaluate_after(surface, keep)
        if code == 0:
            self.reset()

    def evaluate_after(self, surface: str, keep: list[Path]) -> None:
        """What was accepted must also be evaluable: ``status`` on it (today or at the ends of the range
        the command line takes), or the evaluation service at the calendar's very ends."""
        if self.rng.random() < 0.3:
            self.evaluate_in_process(surface, keep)
            return
        args = ["status", "so-khcn"]
        as_of = self.rng.choice([None, "31/12/2100", "01/01/1900", "22/11/2027"])
        if as_of:
            args += ["--as-of", as_of]
        signal.alarm(HANG_SECONDS)
        try:
            code, _out, err, exc = self.cli(*args)
        except HangError:
            self.bug(surface, "hang > 10s (status after an accepted input)", " ".join(args), keep)
            return
        finally:
            signal.alarm(0)
        if exc is not None:
            self.bug(surface, "status after accept: " + self.where(exc),
                     "".join(traceback.format_exception(exc))[-1500:], keep)
        elif code not in (0, 3):
            self.bug(surface, f"status after accept: exit {code}", err[-800:], keep)

    def evaluate_in_process(self, surface: str, keep: list[Path]) -> None:
        from secaudit.services.assessment import assess_status

        as_of = self.rng.choice([dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.date(2026, 11, 22)])
        signal.alarm(HANG_SECONDS)
        try:
            assess_status(self.ws, "so-khcn", as_of=as_of)
        except SecauditError:
            pass
        except HangError:
            self.bug(surface, "hang > 10s (evaluation after an accepted input)", str(as_of), keep)
        except Exception as exc:  # noqa: BLE001 — anything else is what we look for
            self.bug(surface, f"evaluation as of {as_of} after accept: " + self.where(exc),
                     "".join(traceback.format_exception(exc))[-1500:], keep)
        finally:
            signal.alarm(0)

    # -- surfaces ---------------------------------------------------------------------------------
    def yaml_case(self) -> None:
        rng = self.rng
        seed = rng.choice(self.yaml_seeds)
        raw = seed.read_bytes()
        if rng.random() < 0.6:
            try:
                tree = yaml.safe_load(raw)
                if rng.random() < 0.3 and isinstance(tree, dict) and tree.get("answers"):
                    entry = rng.choice(tree["answers"])
                    entry["status"] = entry.get("status") or "dat"
                    entry["evidence"] = [self.yaml_evidence_name(rng)]
                    data = dump_yaml(tree)
                else:
                    data = dump_yaml(mutate_tree(tree, rng, ["agency", "checklist", "answers", "item", "system",
                                                         "status", "note", "effective", "evidence", "expires",
                                                             "evidence_kind", "file", "kind", "<<", "extra"]))
            except Exception:  # noqa: BLE001 — a seed the tree mutator cannot copy: mutate bytes instead
                data = mutate_bytes(raw, rng)
            if rng.random() < 0.2:
                data = mutate_bytes(data, rng)
        else:
            data = mutate_bytes(raw, rng)
        path = self.out / "answers" / f"fuzz{seed.suffix}"
        path.write_bytes(data)
        agency = "so-khcn" if "khcn" in seed.name else "vp-ubnd-tinh"
        self.run_cli("yaml", ["assess", agency, "--answers", str(path)], [path])

    def yaml_evidence_name(self, rng: random.Random) -> Any:
        """An evidence entry of an answers file naming something hostile (relative to answers/)."""
        op = rng.randrange(6)
        if op == 0:
            return Raw(rng.choice(['"x\\0.pdf"', '"\\x1b[31m.pdf"', '"a\\u202efdp.exe"', '"\\t"']))
        if op == 1:  # a link whose target's name is not UTF-8
            target = self.inputs / os.fsdecode(b"t\xff\xfe.pdf")
            target.write_bytes(b"%PDF-1.4\n")
            link = self.inputs / f"link{self.case}.pdf"
            link.symlink_to(target)
            return os.path.relpath(link, self.out / "answers")
        if op == 2:
            file = self.evidence_file(rng)
            return os.path.relpath(file, self.out / "answers") if rng.random() < 0.7 else str(file)
        if op == 3:
            return {"file": "../evidence/so-khcn/bien-ban-khac-phuc.pdf", "kind": rng.choice(["bien-ban", "xyz"]),
                    "effective": Raw(rng.choice(RAW_SCALARS[:7])), "expires": Raw(rng.choice(RAW_SCALARS[:7]))}
        return hostile_text(rng)

    def xlsx_case(self) -> None:
        import openpyxl
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        rng = self.rng
        path = self.out / "answers" / "fuzz.xlsx"
        book = openpyxl.load_workbook(self.xlsx_seed)
        sheet = book["Trả lời"]
        rows = sheet.max_row
        for _ in range(rng.randrange(1, 6)):
            op = rng.randrange(10)
            row = rng.randrange(1, rows + 1)
            col = rng.choice([1, 3, 4, 4, 5, 6, 6, 7, 8, 8, 9, 9])
            cell = sheet.cell(row=row, column=col)
            if op <= 4:
                value = hostile_value(rng)
                if isinstance(value, Raw | list | dict) or value is None:
                    value = str(value)
                if isinstance(value, str):  # what a worksheet cannot hold at all, openpyxl refuses to write
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)[:32000]
                cell.value = value
                if isinstance(value, str) and value.startswith("=") and rng.random() < 0.5:
                    cell.data_type = "f"
            elif op == 5:
                cell.value = rng.choice(["=1+1", "=A1", "#REF!", "#DIV/0!", True, False, 10**20, -5,
                                         dt.datetime(1900, 1, 1), dt.datetime(9999, 12, 31), dt.time(12, 0),
                                         dt.timedelta(days=3), "Đạt", "Chưa đạt", "Không áp dụng",
                                         "../evidence/so-khcn/bien-ban-khac-phuc.pdf"])
            elif op == 6:
                sheet.delete_rows(row, rng.randrange(1, 4))
            elif op == 7:
                sheet.insert_rows(row, 1)
                for c in range(1, 15):
                    sheet.cell(row=row, column=c).value = sheet.cell(row=row + rng.randrange(1, 3), column=c).value
            elif op == 8:
                sheet.merge_cells(start_row=max(row, 2), start_column=col, end_row=max(row, 2) + 1, end_column=col)
            else:
                choice = rng.randrange(4)
                if choice == 0:
                    sheet.title = rng.choice(["Tra loi", "Trả lời ", "Trả lời\u202e", "Sheet1"])
                elif choice == 1:
                    book.create_sheet("Trả lời1")
                elif choice == 2:
                    title = ILLEGAL_CHARACTERS_RE.sub("", hostile_text(rng))[:200]
                    sheet.cell(row=1, column=rng.randrange(1, 15)).value = title
                else:
                    sheet.cell(row=rows + rng.randrange(1, 5), column=rng.randrange(1, 20)).value = "x"
        book.save(path)
        if rng.random() < 0.25:
            self.mutate_zip(path, rng)
        self.run_cli("xlsx", ["assess", "so-khcn", "--answers", str(path)], [path])

    def mutate_zip(self, path: Path, rng: random.Random) -> None:
        with zipfile.ZipFile(path) as zf:
            members = [(i.filename, zf.read(i)) for i in zf.infolist()]
        op = rng.randrange(5)
        index = rng.randrange(len(members))
        name, data = members[index]
        if op == 0:
            members[index] = (rng.choice(["../" + name, name.upper(), name + "\x00", "/" + name]), data)
        elif op == 1:
            members.append((name, mutate_bytes(data, rng)))
        elif op == 2:
            members[index] = (name, mutate_bytes(data, rng))
        elif op == 3:
            del members[index]
        else:
            members[index] = (name, data.replace(b"<v>", b"<v>" + b"9" * rng.randrange(1, 400), 3))
        with warnings_off(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, content in members:
                zf.writestr(member, content)
        if rng.random() < 0.3:
            path.write_bytes(mutate_bytes(path.read_bytes(), rng))

    def evidence_file(self, rng: random.Random) -> Path:
        folder = self.inputs / f"c{self.case}"
        folder.mkdir(exist_ok=True)
        op = rng.randrange(9)
        if op == 0:
            return Path(rng.choice(["/dev/null", "/dev/zero", str(folder), "/nonexistent/x.pdf", "/proc/self/status"]))
        if op == 1:
            fifo = folder / "fifo.pdf"
            os.mkfifo(fifo)
            return fifo
        if op == 2:
            big = folder / "big.pdf"
            with big.open("wb") as fh:
                fh.truncate(rng.choice([50 * 1024 * 1024 + 1, 1 << 40]))
            return big
        name = rng.choice([
            "bien\u202eFDP.exe", "a\x1b[31mred.txt", "line\nbreak.txt", "cr\r.txt", "tab\t.txt", "del\x7f.txt",
            "zw\u200bsp.txt", "bom\ufeff.txt", "Quyết định số 1.pdf", "Quye\u0301t.pdf", "-rf", "--help",
            "t" * 250 + ".pdf", ".hidden", "...", "x" + "\u0301" * 60, "'; drop table answers;--.txt",
            "C:\\Windows\\x.txt", "%s%n.txt", "$(id).txt", "`id`.txt",
        ])
        if rng.random() < 0.1:
            path = Path(os.fsdecode(bytes(folder) + b"/\xff\xfe-latin1-\xe9.txt"))
        else:
            path = folder / name
        content = rng.choice([b"", b"x", b"%PDF-1.4\n", "Nội dung\u202e".encode(), b"\x00" * 100, os.urandom(64)])
        path.write_bytes(content)
        return path

    #: A valid command per kind of case; each case replaces one or two of its fields with hostile values.
    BASES: ClassVar[dict[str, tuple[list[str], dict[str, str | None]]]] = {
        "evidence": (["evidence", "add", "FILE"], {
            "--agency": "so-khcn", "--system": None, "--for": "kh04-bcdtw:t5-giam-sat", "--kind": "bien-ban",
            "--effective": "20/11/2026", "--expires": "31/12/2027", "--note": "Biên bản kiểm tra"}),
        "evidence-system": (["evidence", "add", "FILE"], {
            "--agency": "so-khcn", "--system": "lgsp-tinh", "--for": "kh04-bcdtw:t1-lo-hong", "--kind": None,
            "--effective": None, "--expires": None, "--note": None}),
        "waiver": (["waive", "kh04-bcdtw:t1-lo-hong"], {
            "--agency": "so-khcn", "--system": "lgsp-tinh", "--reason": "Đang nâng cấp hệ thống",
            "--approved-by": "Giám đốc Sở", "--until": "31/12/2026"}),
        "answer": (["answer", "set", "kh04-bcdtw:t5-giam-sat"], {
            "--agency": "so-khcn", "--system": None, "--status": "dat", "--note": "Đã triển khai",
            "--evidence": "FILE", "--kind": "bao-cao", "--expires": None, "--effective": "01/11/2026"}),
    }
    DATES: ClassVar[list[str]] = [
        "30/02/2026", "31/12/9999", "01/01/0001", "00/00/0000", "2026-02-30", "2026-11-22", "1/1/1", "99/99/99999999",
        "32/01/2026", "29/02/2028", "29/02/2027", "01/01/1900", "22/11/2026", "21/11/2026", "01/01/2100",
        " 20/11/2026 ", "20/11/26", "20.11.2026"]

    def hostile_option(self, rng: random.Random, flag: str) -> str:
        if flag in ("--effective", "--expires", "--until"):
            return rng.choice(self.DATES) if rng.random() < 0.8 else hostile_text(rng)[:200]
        if flag in ("--evidence",):
            return str(self.evidence_file(rng))
        if flag == "--agency":
            return rng.choice(["khong-co", "SO-KHCN", "so-khcn ", "vp-ubnd-tinh", hostile_text(rng)[:300]])
        if flag == "--system":
            return rng.choice(["lgsp-tinh", "cong-ttdt-skhcn", "khong-co", "LGSP-TINH", "hssk-dien-tu",
                               hostile_text(rng)[:300]])
        if flag in ("--for", "ITEM"):
            return rng.choice(["kh04-bcdtw:t1-lo-hong", "kh04-bcdtw:t3-cap-do", "kh04-bcdtw:t6-soc",
                               "kh04-bcdtw:t4-mo-hinh-4-lop", "kh04-bcdtw:T5-GIAM-SAT", hostile_text(rng)[:300]])
        if flag == "--kind":
            return rng.choice(["xyz", "", "ket-qua-quet", "tai-lieu", "BIEN-BAN", hostile_text(rng)[:100]])
        if flag == "--status":
            return rng.choice(["dat", "chua-dat", "khong-ap-dung"])
        return hostile_text(rng)[:rng.choice([100, 5000, 100_000])]

    def evidence_case(self) -> None:
        rng = self.rng
        kind = rng.choice(list(self.BASES))
        head, options = self.BASES[kind]
        head, options = list(head), dict(options)
        flags = [*options, "FILE" if "FILE" in head else "ITEM"]
        for flag in rng.sample(flags, rng.choice([1, 1, 2])):
            if flag == "FILE":
                head[head.index("FILE")] = str(self.evidence_file(rng))
            elif flag == "ITEM":
                head[-1] = self.hostile_option(rng, "ITEM")
            elif rng.random() < 0.15:
                options[flag] = None  # the option left out
            else:
                options[flag] = self.hostile_option(rng, flag)
        if "FILE" in head:
            head[head.index("FILE")] = str(self.plain_file(rng))
        args = list(head)
        for flag, value in options.items():
            if value == "FILE":
                value = str(self.plain_file(rng))
            if value is not None:
                args += [flag, value]
        keep = [Path(a) for a in args if a.startswith(str(self.inputs))]
        self.run_cli(kind.split("-")[0], args, keep)

    def plain_file(self, rng: random.Random) -> Path:
        folder = self.inputs / f"p{self.case}"
        folder.mkdir(exist_ok=True)
        path = folder / rng.choice(["bien-ban.pdf", "Báo cáo.txt", "qd 12.docx"])
        path.write_bytes(rng.choice([b"%PDF-1.4\n", "Nội dung".encode(), os.urandom(32)]))
        return path

    SCOPE_SEEDS: ClassVar[list[dict[str, Any]]] = [
        {"authorised_by": "Nguyễn Văn A, Trưởng phòng An ninh mạng, Công an tỉnh",
         "reference": "Kế hoạch kiểm tra số 12/KH-CAT", "agency": "so-khcn", "valid_from": "2026-11-01",
         "valid_until": "2026-12-31", "targets": ["127.0.70.0/28", "portal.example.gov.vn"]},
        {"authorised_by": "Trưởng phòng PA05, Công an tỉnh (thử)", "reference": "KH kiểm tra số 1 (thử)",
         "valid_until": "2026-11-27", "targets": ["127.0.70.52/30"]},
        {"authorised_by": "PA05 (thử)", "valid_until": "2099-01-01",
         "targets": ["127.0.0.0/20", "https://portal.example.vn:8443/x"]},
    ]
    SCOPE_TARGETS: ClassVar[list[str]] = [
        "0.0.0.0/0", "::/0", "10.0.0.0/8", "127.0.0.0/8", "127.0.0.1/32", "127.0.0.1/33", "127.0.0.1/-1",
        "127.0.0.1/24", "::1", "::1/128", "::1/0", "fe80::1%eth0", "::ffff:127.0.0.1", "::ffff:127.0.0.0/104",
        "2001:db8::/32", "2001:db8::/120", "2001:db8::/121", "2001:db8::/64", "127.0.0.1-5", "127.1",
        "0x7f.0.0.1", "127.0.0.1 -oN /tmp/x", "-iL /etc/passwd", "127.0.70.0/28", "127.0.70.0/29",
        "127.0.70.1", "[::1]:22", "127.0.0.1:0", "127.0.0.1:65536", "http://[::1]:8080/", "https://a..b/",
        "xn--vnx.example", "a" * 64 + ".vn", ("a." * 130) + "vn", "localhost.", "LOCALHOST", "255.255.255.255",
        "0.0.0.0", "224.0.0.1/4", "8.8.8.8", "192.168.1.0/24", "10.0.0.0/24", "100.64.0.0/10", "1.1.1.1/32",
        "0000:0000::1", "::", "127.000.000.001", "127.0.0.1\r", "127.0.0.1\n", "\u202e127.0.0.1", "127.0.0.1\x00",
    ]

    def scope_case(self) -> None:
        rng = self.rng
        doc: Any = json.loads(json.dumps(rng.choice(self.SCOPE_SEEDS)))
        if rng.random() < 0.6:
            doc["targets"] = [rng.choice(self.SCOPE_TARGETS) for _ in range(rng.randrange(0, 6))]
            if rng.random() < 0.05:
                doc["targets"] = [f"127.{i // 256 % 256}.{i % 256}.0/24" for i in range(rng.choice([1024, 1025, 5000]))]
        for key in ("valid_from", "valid_until"):
            if rng.random() < 0.3:
                doc[key] = Raw(rng.choice(["2026-02-30", "0001-01-01", "9999-12-31", "2026-11-22", "2026-11-21",
                                           "2026-11-23", "10000-01-01", "2026-11-22T23:59:59+07:00",
                                           "'2026-12-31'", "'31/12/2026'", "20261231", "~", "[]"]))
        if rng.random() < 0.5:
            doc = mutate_tree(doc, rng, ["authorised_by", "reference", "agency", "valid_from", "valid_until",
                                         "targets", "extra"])
        data = dump_yaml(doc)
        if rng.random() < 0.3:
            data = mutate_bytes(data, rng)
        path = self.inputs / "pham-vi.yaml"
        path.write_bytes(data)
        if rng.random() < 0.7:
            self.scope_in_process(path, rng)
        else:
            system = rng.choice(["hssk-dien-tu", "lgsp-tinh"])
            self.run_cli("scope", ["scan", "import", str(SCAN_XML), "--system", system, "--scope", str(path)], [path])

    def scope_in_process(self, path: Path, rng: random.Random) -> None:
        from secaudit import clock
        from secaudit.scanning.plan import DeclaredHost, plan_groups
        from secaudit.scanning.profiles import load_rule_set, load_scan_profile
        from secaudit.scanning.scope import load_scope

        if not hasattr(self, "_rules"):
            self._rules = load_rule_set(full_check=False)
            self._profile = load_scan_profile("nhanh")
        signal.alarm(HANG_SECONDS)
        try:
            scope = load_scope(path, today=clock.today(), agency=rng.choice(["so-khcn", "so-y-te", None]),
                               allow_large=rng.random() < 0.3)
            for address in ("127.0.70.1", "::1", "portal.example.gov.vn", "x" * 300, "", "127.0.0.1\x00",
                            hostile_text(rng)):
                scope.covers(address)
            json.dumps(scope.summary("0" * 64), ensure_ascii=False)
            hosts = [DeclaredHost("", str(t), t, set(), False, declared=False) for t in scope.targets]
            plan_groups(hosts, self._profile, self._rules, jobs=rng.choice([1, 2]), syn=False, progress=False,
                        nmap_binary="/nonexistent/nmap")
            self.tally["accepted"] += 1
        except SecauditError as exc:
            self.tally["refused"] += 1
            text = exc.diagnostics()
            self.reasons["scope"][_reason(text)] += 1
            if "Traceback" in text or not text.strip():
                self.bug("scope", "empty or odd message", text, [path])
        except HangError:
            self.bug("scope", f"hang > {HANG_SECONDS}s (load_scope)", "", [path])
        except Exception as exc:  # noqa: BLE001
            self.bug("scope", self.where(exc), "".join(traceback.format_exception(exc))[-1500:], [path])
        finally:
            signal.alarm(0)

    def run(self, cases: int, surfaces: list[str]) -> int:
        handlers: dict[str, Callable[[], None]] = {"yaml": self.yaml_case, "xlsx": self.xlsx_case,
                                                   "evidence": self.evidence_case, "scope": self.scope_case}
        weights = {"yaml": 4, "xlsx": 1, "evidence": 3, "scope": 4}
        pool = [s for s in surfaces for _ in range(weights[s])]
        per_surface: Counter[str] = Counter()
        started = time.monotonic()
        for self.case in range(cases):
            surface = self.rng.choice(pool)
            per_surface[surface] += 1
            handlers[surface]()
            if self.case % 250 == 249:
                print(f"... {self.case + 1} cases, {dict(self.tally)}, {time.monotonic() - started:.0f}s", flush=True)
            shutil.rmtree(self.inputs, ignore_errors=True)
            self.inputs.mkdir()
            # yamlio's shared scalar constructor keeps every node it ever built (a leak, reported): in one
            # long process that is gigabytes, and the collector's pauses then look like hangs.
            yamlio._SCALAR.constructed_objects.clear()
        print(f"\nseed {self.seed}: {cases} cases in {time.monotonic() - started:.0f}s; per surface"
              f" {dict(per_surface)}; {dict(self.tally)}")
        print(f"distinct bugs: {len(self.bugs)}")
        for what, (where, _detail) in self.bugs.items():
            print(f"- {what}  [{where}]")
        if self.verbose:
            for surface, reasons in self.reasons.items():
                print(f"most frequent refusals, {surface}:")
                for reason, count in reasons.most_common(8):
                    print(f"  {count:5d}  {reason}")
        return 1 if self.bugs else 0


def _reason(message: str) -> str:
    """A refusal's message without its file and line, cut short: to see which checks the cases reach."""
    line = message.replace("Error: ", "").strip().splitlines()[0] if message.strip() else ""
    head, sep, rest = line.partition(": ")
    if sep and ("/" in head or head.startswith("Trả lời!")):
        line = rest
    return line[:70]


@contextlib.contextmanager
def warnings_off() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def cli_main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--surface", choices=["all", "yaml", "xlsx", "evidence", "scope"], default="all")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a new one under /tmp)")
    parser.add_argument("--verbose", action="store_true", help="print the most frequent refusals per surface")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work folder (the inputs of each bug are in kept/)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="secaudit-fuzz-answers-"))
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, _alarm)
    campaign = Campaign(args.seed, out, args.keep)
    campaign.verbose = args.verbose
    campaign.setup()
    surfaces = ["yaml", "xlsx", "evidence", "scope"] if args.surface == "all" else [args.surface]
    try:
        return campaign.run(args.cases, surfaces)
    finally:
        if args.keep or campaign.bugs:
            print(f"work folder kept: {out}")
        else:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(cli_main())
