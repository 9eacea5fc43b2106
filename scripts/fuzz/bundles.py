"""Mutation fuzzing of the bundle surface: ``bundle verify`` / ``bundle import`` and the services behind them.

Run by hand (never from the test suite), inside a private network namespace, from the checkout:

    unshare -n sh -c 'ip link set lo up && .venv/bin/python scripts/fuzz/bundles.py --seed 1 --cases 3000'

Options: ``--seed N`` (stdlib ``random``; case ``i`` uses ``Random(f"{seed}:{i}")``, so ``--only i`` replays
one case), ``--cases N``, ``--cli-every N`` (every Nth case also goes through ``secaudit.cli.main``),
``--keep DIR`` (where bug-triggering bundles are copied, default /tmp/fuzz-bundles-bugs), ``--focus rows``
(only one value of one document changed and always re-hashed, so most cases reach the row checks, the
import and the readers after it).

Seeds are bundles the code itself exports from the example province (``tests/bundle_helpers.populate``):
so-y-te (evidence files, waiver, scan XML) unsigned, and signed with a test CA with the rendered report
(PAdES); so-khcn unsigned and signed. The receiver binds each agency's certificate (so-y-te with the
auto-apply policy) and either is empty or already holds both agencies (imported and accepted).

Mutations: bytes flipped, members cut, BOMs, NULs, non-UTF-8, bidi and control characters; JSON values
swapped for wrong types (lists, objects, huge/negative numbers, NaN, impossible dates, long strings),
keys removed, added or duplicated, deep and large JSON; inventory YAML values swapped, lines duplicated
or removed, agency/system codes that do not exist or collide; members duplicated, removed, added,
renamed (``../``, absolute, case-colliding); scan XML with unknown encodings and entities; the archive
itself flipped, cut or padded. Each mutated bundle is finished raw (hashes stale), re-listed (hashes
recomputed so the signature is the only guard) or re-listed and re-signed with a test certificate
(the agency's own, or the other agency's) so the payload checks are reached.

Per case the real code runs in-process with the clock pinned (``SECAUDIT_NOW=2026-11-22T09:00:00+07:00``):
``verify.verify_bundle`` with the receiver's bindings, then ``receive.import_bundle`` into a fresh copy of
the receiver. Classification: accepted; refused cleanly (``SecauditError``); **bug**: any other exception,
a run over 10 s of CPU (or 60 s of wall time), a refused import that changed any row or evidence file
of the receiver, an accepted import that changed the declared hosts (the scan scope) without the signed
auto-apply policy, verify and import disagreeing, or — after an accepted import —
``submissions status/show/history/diff`` failing with anything but a clean error. Prints counts and one
line per distinct bug (exception type and innermost secaudit frame).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import math
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
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests")]
os.environ["SECAUDIT_NOW"] = "2026-11-22T09:00:00+07:00"
os.environ.setdefault("SECAUDIT_ACTOR", "fuzz")

import yaml  # noqa: E402
from bundle_helpers import (  # noqa: E402
    AS_OF,
    CERT_PASSWORD,
    LIB,
    Entry,
    make_ca,
    make_identity,
    populate,
    read_entries,
    relist,
    write_zip,
)
from click.testing import CliRunner  # noqa: E402

from secaudit.cli import main  # noqa: E402
from secaudit.errors import SecauditError  # noqa: E402
from secaudit.exchange import signing, submissions  # noqa: E402
from secaudit.exchange.export import export_bundle  # noqa: E402
from secaudit.exchange.receive import import_bundle  # noqa: E402
from secaudit.exchange.trust import add_binding, load_bindings  # noqa: E402
from secaudit.exchange.verify import verify_bundle  # noqa: E402
from secaudit.store.workspace import Workspace  # noqa: E402

TIMEOUT = 10  # seconds of CPU (the machine is shared: wall time says more about the neighbours)
WALL_TIMEOUT = 60  # seconds of wall time, for waits that burn no CPU (a lock, a blocked read)
AGENCIES = ("so-y-te", "so-khcn")


class HangError(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise HangError(f"over {TIMEOUT} s of CPU or {WALL_TIMEOUT} s of wall time")


def _arm(on: bool) -> None:
    signal.setitimer(signal.ITIMER_PROF, TIMEOUT if on else 0)
    signal.setitimer(signal.ITIMER_REAL, WALL_TIMEOUT if on else 0)


# -- the receiver's state ---------------------------------------------------------------------------
def full_state(ws: Workspace) -> str:
    """A digest of every row of every table and of every file (name, size) under evidence/."""
    h = hashlib.sha256()
    tables = [r[0] for r in ws.db.execute("select name from sqlite_master where type = 'table' order by name")]
    for t in tables:
        h.update(t.encode())
        for row in ws.db.execute(f"select * from [{t}] order by 1"):
            h.update(repr(row).encode())
    if ws.evidence_dir.exists():
        for p in sorted(ws.evidence_dir.rglob("*")):
            h.update(f"{p.relative_to(ws.root)}:{p.stat().st_size if p.is_file() else -1}".encode())
    return h.hexdigest()


def scope(ws: Workspace) -> list[tuple[Any, ...]]:
    """Every declared host with what decides a scan (ports, public web), by agency and system."""
    return ws.db.execute("select s.agency, s.code, h.address, h.ports, h.public_web from hosts h"
                         " join systems s on s.id = h.system_id order by 1, 2, 3").fetchall()


# -- hostile values -----------------------------------------------------------------------------------
def hostile_value(rnd: random.Random) -> Any:
    choices: list[Any] = [
        [], {}, ["a"], {"x": 1}, None, True, False, 0, -1, -(10 ** 30), 10 ** 30, 2 ** 63, 1.5, math.nan,
        math.inf, -math.inf, "", " ", "a" * rnd.choice([300, 5000, 200_000]), "\x00", "a\x00b",
        "\u202e\u2066gnp.exe", "\x1b[31mred\x1b[0m", "\r\n", "2026-02-30", "2026-13-01", "30/02/2026",
        "2026-11-22T25:00:00+07:00", "2099-12-31T00:00:00+00:00", "0001-01-01", "9999-12-31T23:59:59",
        "2026-11-22T09:00:00+99:00", "so-khcn", "so-y-te", "khong-ton-tai", "SO-Y-TE", "../../etc/passwd",
        "/etc/passwd", "127.0.0.1", "0.0.0.0/0", "8.8.8.8", "-oX /tmp/x", "{{ 7*7 }}", "<script>x</script>",
        "=cmd|' /C calc'!A0", "\ufeffbom", "\ufffd", "dat", "chua-dat", "x" * 64,
        "0" * 64, "f" * 64,
    ]
    return rnd.choice(choices)


def deep(depth: int) -> str:
    """A marker that ``dump_json`` turns into ``depth`` nested lists (json.dumps itself would recurse)."""
    return f"__DEEP{depth}__"


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:50]):
            out.extend(paths(v, (*prefix, i)))
    return out


def get_at(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def mutate_tree(doc: Any, rnd: random.Random) -> Any:
    """One structural mutation somewhere in a parsed JSON/YAML tree."""
    doc = copy.deepcopy(doc)
    spots = paths(doc)
    path = rnd.choice(spots)
    op = rnd.choice(["swap", "swap", "swap", "delete", "add", "deep", "dup-list", "big-list", "swap-sibling"])
    if not path:
        if op == "deep":
            return deep(rnd.choice([33, 200, 3000]))
        return hostile_value(rnd) if op == "swap" else doc
    parent, key = get_at(doc, path[:-1]), path[-1]
    if op == "swap":
        parent[key] = hostile_value(rnd)
    elif op == "delete":
        del parent[key]
    elif op == "add":
        if isinstance(parent, dict):
            parent[rnd.choice(["extra", "agency", "id", "sha256", "zz_" + str(rnd.randrange(99))])] = hostile_value(rnd)
        else:
            parent.append(hostile_value(rnd))
    elif op == "deep":
        parent[key] = deep(rnd.choice([20, 33, 200]))
    elif op == "dup-list":
        if isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = [parent[key], parent[key]]
    elif op == "big-list":
        parent[key] = [copy.deepcopy(parent[key])] * rnd.choice([1000, 50_000])
    elif op == "swap-sibling" and isinstance(parent, dict) and len(parent) > 1:
        other = rnd.choice(list(parent))
        parent[key], parent[other] = parent[other], parent[key]
    return doc


def dump_json(doc: Any, rnd: random.Random) -> bytes:
    text = json.dumps(doc, ensure_ascii=rnd.random() < 0.3, indent=rnd.choice([None, 1]))
    text = re.sub(r'"__DEEP(\d+)__"', lambda m: "[" * int(m[1]) + "1" + "]" * int(m[1]), text)
    if rnd.random() < 0.1:  # a duplicated key, textually
        text = text.replace('{"', '{"agency": "so-khcn", "', 1)
    return text.encode("utf-8", "surrogatepass")


# -- byte-level mutations ---------------------------------------------------------------------------
def mutate_bytes(data: bytes, rnd: random.Random) -> bytes:
    op = rnd.choice(["flip", "cut", "bom", "nul", "latin1", "bidi", "ctrl", "crlf", "dup-line", "del-line",
                     "insert-junk", "empty", "utf16"])
    b = bytearray(data)
    if op == "flip" and b:
        for _ in range(rnd.randint(1, 5)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
        return bytes(b)
    if op == "cut":
        return data[:rnd.randrange(len(data) + 1)]
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    pos = rnd.randrange(len(data) + 1)
    if op == "nul":
        return data[:pos] + b"\x00" + data[pos:]
    if op == "latin1":
        return data[:pos] + b"\xff\xfe\xe9" + data[pos:]
    if op == "bidi":
        return data[:pos] + "\u202e\u2067".encode() + data[pos:]
    if op == "ctrl":
        return data[:pos] + bytes([rnd.choice([1, 7, 8, 0x1b, 0x7f, 0x0b, 0x0c])]) + data[pos:]
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    lines = data.split(b"\n")
    if op in ("dup-line", "del-line") and lines:
        i = rnd.randrange(len(lines))
        if op == "dup-line":
            lines.insert(i, lines[i])
        else:
            del lines[i]
        return b"\n".join(lines)
    if op == "insert-junk":
        return data[:pos] + rnd.choice([b"{", b"]", b'"', b"\\u0000", b"- x\n", b": :", b"&a *a", b"!!python/object"]) \
            + data[pos:]
    if op == "utf16":
        return data.decode("utf-8", "replace").encode("utf-16")
    return b""


HOSTILE_XML = [
    b'<?xml version="1.0" encoding="x-no-such"?><nmaprun/>',
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bbbbbbbb"><!ENTITY c "&b;&b;&b;&b;">]><nmaprun>&c;</nmaprun>',
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><nmaprun>&x;</nmaprun>',
    b"<nmaprun><host><address addr='8.8.8.8' addrtype='ipv4'/></host></nmaprun>",
    b"",
    b"\xff\xfe<\x00",
]


def mutate_yaml(data: bytes, rnd: random.Random) -> bytes:
    op = rnd.random()
    if op < 0.45:
        try:
            doc = yaml.safe_load(data)
        except yaml.YAMLError:
            return mutate_bytes(data, rnd)
        if rnd.random() < 0.3 and isinstance(doc, dict):
            doc = copy.deepcopy(doc)
            target = rnd.choice(["code", "system-code", "system-dup", "host"])
            systems = doc.get("systems") or []
            if target == "code":
                doc["code"] = rnd.choice(["so-khcn", "so-y-te", "khong-ton-tai", "SO-Y-TE", "a" * 80])
            elif target == "system-code" and systems and isinstance(systems[0], dict):
                systems[0]["code"] = rnd.choice([s.get("code") for s in systems if isinstance(s, dict)] +
                                                ["mot-cua-phuong", "x", "../x"])
            elif target == "system-dup" and systems:
                systems.append(copy.deepcopy(systems[0]))
            elif target == "host":
                for s in systems:
                    if isinstance(s, dict):
                        s["hosts"] = [{"address": rnd.choice(["127.0.66.6", "8.8.8.8", "10.0.0.0/8", "-iL x",
                                                              "127.0.0.1;rm"])}]
                        break
        else:
            doc = mutate_tree(doc, rnd)
        try:
            return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
        except (yaml.YAMLError, RecursionError, UnicodeEncodeError):
            return data
    if op < 0.55:
        return rnd.choice([b"a: &a [*a]\n", b"!!python/object/apply:os.system ['true']\n", b"a: " + b"[" * 500,
                           b"- " * 3000 + b"x\n", b"code: so-y-te\ncode: so-khcn\n"])
    return mutate_bytes(data, rnd)


def mutate_member_data(entry: Entry, rnd: random.Random) -> bytes:
    data = entry.data
    if entry.name.endswith(".json") and rnd.random() < 0.7:
        try:
            doc = json.loads(data)
        except ValueError:
            return mutate_bytes(data, rnd)
        return dump_json(mutate_tree(doc, rnd), rnd)
    if entry.name.endswith(".yaml"):
        return mutate_yaml(data, rnd)
    if entry.name.endswith(".xml") and rnd.random() < 0.5:
        return rnd.choice(HOSTILE_XML)
    return mutate_bytes(data, rnd)


def rename(name: str, rnd: random.Random, entries: list[Entry]) -> str:
    return rnd.choice([
        "../" + name, "/" + name, "C:/x/" + name, name.upper(), name + "/", name.replace("/", "\\"),
        "evidence/" + "0" * 64, "evidence/" + hashlib.sha256(name.encode()).hexdigest() + ".exe",
        "inventory/so-khcn.yaml", "inventory/khong-ton-tai.yaml", "data/x.json", "data/answers.json",
        "report/so-khcn.pdf", "scans/scan-99999999999999.xml", "log/entries.json", "Manifest.json",
        "manifest.p7s", "dat\u0301a/a.json", "a/" * 10 + "b", "x" * 200, rnd.choice(entries).name,
    ])


def mutate_entries(entries: list[Entry], rnd: random.Random) -> list[Entry]:
    """A payload mutation (before the manifest is re-listed)."""
    entries = list(entries)
    op = rnd.choice(["data"] * 6 + ["dup", "remove", "add", "rename", "mode", "compress"])
    candidates = [e for e in entries if e.name not in ("manifest.json", "manifest.p7s")] or entries
    e = rnd.choice(candidates)
    i = entries.index(e)
    if op == "data":
        entries[i] = Entry(e.name, mutate_member_data(e, rnd), e.mode, e.compress)
    elif op == "dup":
        entries.insert(rnd.randrange(len(entries) + 1), Entry(e.name, rnd.choice([e.data, mutate_member_data(e, rnd)])))
    elif op == "remove":
        del entries[i]
    elif op == "add":
        entries.append(Entry(rename(e.name, rnd, entries), rnd.choice([b"x", e.data, b"\x00" * 5000])))
    elif op == "rename":
        entries[i] = Entry(rename(e.name, rnd, entries), e.data, e.mode, e.compress)
    elif op == "mode":
        entries[i] = Entry(e.name, e.data, rnd.choice([0o120777, 0o040755, 0o020644, 0o100777, 0]), e.compress)
    elif op == "compress":
        entries[i] = Entry(e.name, e.data, e.mode, zipfile.ZIP_STORED if e.compress else zipfile.ZIP_DEFLATED)
    return entries


def mutate_manifest(entries: list[Entry], rnd: random.Random) -> list[Entry]:
    """A manifest mutation (after re-listing): fields of the manifest itself, or its bytes."""
    out = []
    for e in entries:
        if e.name != "manifest.json":
            out.append(e)
            continue
        doc = json.loads(e.data)
        field = rnd.random()
        if field < 0.35:
            key = rnd.choice(["created", "as_of", "format_version", "schema_version", "profile", "exported_by"])
            doc[key] = rnd.choice([hostile_value(rnd), "2026-02-30", "2026-11-22T09:00:00", "2026-11-22",
                                   "2026-11-22T09:10:00+07:00", "2020-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00",
                                   "22/11/2026"])
        elif field < 0.55:
            doc["agency"] = rnd.choice([{"code": "so-khcn", "name": "x"}, {"code": "khong-ton-tai", "name": "x"},
                                        {"code": "so-y-te"}, {"code": hostile_value(rnd), "name": "x"}, "so-y-te"])
        elif field < 0.7 and doc.get("members"):
            m = rnd.choice(doc["members"])
            m[rnd.choice(["path", "role", "size", "sha256"])] = rnd.choice(
                [hostile_value(rnd), "evidence", "report", "table", "inventory", "log", "scan-xml", 0,
                 m.get("size", 0) + 1])
        elif field < 0.8:
            doc["log"] = rnd.choice([hostile_value(rnd), {"entries": -1, "agency_entries": 0},
                                     {"entries": 10 ** 30, "agency_entries": 0, "head": "0" * 64}])
        else:
            doc = mutate_tree(doc, rnd)
        data = dump_json(doc, rnd) if rnd.random() < 0.9 else mutate_bytes(dump_json(doc, rnd), rnd)
        out.append(Entry(e.name, data, e.mode, e.compress))
    return out


def mutate_archive(path: Path, rnd: random.Random) -> None:
    data = bytearray(path.read_bytes())
    op = rnd.choice(["flip", "cut", "append", "prepend", "flip-cd"])
    if op == "flip":
        for _ in range(rnd.randint(1, 8)):
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    elif op == "cut":
        del data[rnd.randrange(len(data)):]
    elif op == "append":
        data += rnd.choice([b"x", b"PK\x05\x06" + b"\x00" * 18, b"\x00" * 100])
    elif op == "prepend":
        data[:0] = b"MZ" + b"\x00" * 62
    elif op == "flip-cd":
        cd = data.rfind(b"PK\x01\x02")
        if cd >= 0:
            pos = cd + rnd.randrange(46)
            data[pos] = rnd.randrange(256)
    path.write_bytes(bytes(data))


# -- the campaign ---------------------------------------------------------------------------------------
class Campaign:
    def __init__(self, tmp: Path, focus: str = "all") -> None:
        self.tmp = tmp
        self.focus = focus
        src = Workspace.create(tmp / "source")
        populate(src, tmp)
        ca_path, ca_cert, ca_key = make_ca(tmp)
        self.ca = ca_path
        self.ids = {code: make_identity(tmp, code, f"{code} thử nghiệm", ca_cert, ca_key) for code in AGENCIES}
        self.signers = {code: signing.load_signer(i.p12, CERT_PASSWORD) for code, i in self.ids.items()}
        seeds = tmp / "seeds"
        seeds.mkdir()
        self.seeds: dict[str, list[Entry]] = {}
        for code in AGENCIES:
            for signed in (False, True):
                out = seeds / f"{code}-{'signed' if signed else 'plain'}.zip"
                export_bundle(src, LIB, code, out, as_of=AS_OF, actor="it",
                              include_report=signed and code == "so-y-te",
                              signer=self.signers[code] if signed else None)
                self.seeds[out.stem] = read_entries(out)
        src.close()
        self.templates = {}
        for kind in ("empty", "holding"):
            root = tmp / f"template-{kind}"
            ws = Workspace.create(root)
            add_binding(ws, "so-y-te", self.ids["so-y-te"].cert, actor="fuzz", auto_apply=True)
            add_binding(ws, "so-khcn", self.ids["so-khcn"].cert, actor="fuzz")
            if kind == "holding":
                for code in AGENCIES:
                    result = import_bundle(ws, seeds / f"{code}-plain.zip", actor="fuzz")
                    submissions.accept(ws, code, result.submission_id, actor="fuzz")
            ws.close()
            self.templates[kind] = root
        self.bugs: dict[str, list[str]] = {}
        self.outcomes: Counter[str] = Counter()

    def build(self, rnd: random.Random, out: Path) -> str:
        """Write one mutated bundle to ``out``; returns a description of what was done."""
        name = rnd.choice(sorted(self.seeds))
        entries = list(self.seeds[name])
        steps = [name]
        if self.focus == "rows":  # one value of one document changed, re-hashed: reaches the payload checks
            docs = [i for i, e in enumerate(entries) if e.name.startswith(("data/", "inventory/", "log/"))]
            i = rnd.choice(docs)
            entries[i] = Entry(entries[i].name, mutate_member_data(entries[i], rnd), entries[i].mode)
            steps.append(entries[i].name)
            finish = rnd.choice(["relist", "resign"])
        else:
            for _ in range(rnd.choice([1, 1, 1, 2, 3])):
                entries = mutate_entries(entries, rnd)
            finish = rnd.choice(["raw", "relist", "resign", "resign", "manifest"])
        steps.append(finish)
        if finish != "raw":
            with contextlib.suppress(Exception):  # a manifest broken by a mutation cannot be re-listed
                entries = relist(entries)
            if finish == "manifest":
                with contextlib.suppress(Exception):
                    entries = mutate_manifest(entries, rnd)
            if finish in ("resign", "manifest") and any(e.name == "manifest.json" for e in entries):
                code = name.split("-signed")[0].split("-plain")[0]
                if rnd.random() < 0.2:
                    code = rnd.choice(AGENCIES)
                manifest = next(e.data for e in entries if e.name == "manifest.json")
                sig = signing.sign_data(manifest, self.signers[code])
                entries = [e for e in entries if e.name != "manifest.p7s"] + [Entry("manifest.p7s", sig)]
                steps.append(f"signed-by-{code}")
        write_zip(out, entries)
        if rnd.random() < 0.1:
            mutate_archive(out, rnd)
            steps.append("archive")
        return "+".join(steps)

    def bug(self, key: str, detail: str) -> None:
        self.bugs.setdefault(key, []).append(detail)

    def run_case(self, i: int, seed: int, cli_every: int, keep: Path) -> None:
        rnd = random.Random(f"{seed}:{i}")
        case = self.tmp / "case.zip"
        how = self.build(rnd, case)
        recv = self.tmp / "recv"
        shutil.rmtree(recv, ignore_errors=True)
        shutil.copytree(self.templates[rnd.choice(["empty", "holding"])], recv)
        label = f"case {i} ({how})"
        found_before = len(self.bugs)
        ws = Workspace.open(recv)
        try:
            before, hosts_before = full_state(ws), scope(ws)
            _arm(True)
            try:
                verdict = self._guard(label, "verify", lambda: verify_bundle(case, bindings=load_bindings(ws)))
                result = self._guard(label, "import", lambda: import_bundle(ws, case, actor="fuzz"))
            finally:
                _arm(False)
            after = full_state(ws)
            if result in ("refused", "bug"):
                self.outcomes["refused" if result == "refused" else "bug"] += 1
                if after != before:
                    self.bug("refused import changed the workspace", label)
                if verdict is not None and verdict not in ("refused", "bug") and verdict.ok and result == "refused":
                    self.bug("verify ok but import refused", label)
            else:
                self.outcomes["accepted"] += 1
                if verdict is not None and verdict not in ("refused", "bug") and not verdict.ok:
                    self.bug("verify refused but import accepted", f"{label}: {verdict.problems[:2]}")
                if scope(ws) != hosts_before and result.scope != "applied-signed":
                    self.bug("accepted bundle changed the scan scope without the trust rules",
                             f"{label}: scope={result.scope} binding={result.binding}")
                if not result.duplicate:
                    self._downstream(label, recv, result)
        finally:
            ws.close()
        if cli_every and i % cli_every == 0:
            self._cli(label, ["bundle", "verify", str(case)])
            self._cli(label, ["bundle", "import", str(case), "--workspace", str(recv)])
        if len(self.bugs) != found_before or any(label in v[-1] for v in self.bugs.values()):
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(case, keep / f"case-{seed}-{i}.zip")

    def _guard(self, label: str, what: str, fn: Any) -> Any:
        try:
            return fn()
        except SecauditError:
            return "refused"
        except Exception as exc:  # noqa: BLE001 - the point of a fuzzer: any other exception is a bug
            if os.environ.get("FUZZ_TRACE"):
                traceback.print_exc(file=sys.__stderr__)
            frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/secaudit/" in f.filename]
            where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
            self.bug(f"{what}: {type(exc).__name__} at {where}", f"{label}: {str(exc)[:200]}")
            return "bug"

    def _downstream(self, label: str, recv: Path, result: Any) -> None:
        sid = str(result.submission_id)
        for args in (["submissions", "status", result.agency, "--as-of", "22/11/2026"],
                     ["submissions", "show", sid], ["submissions", "history", result.agency],
                     ["submissions", "list"], *([["submissions", "diff", "1", sid]] if sid != "1" else [])):
            self._cli(label, [*args, "--workspace", str(recv)])

    def _cli(self, label: str, args: list[str]) -> None:
        runner = CliRunner()
        _arm(True)
        try:
            with runner.isolation() as (out, err, *_):
                try:
                    code = main(args)
                except Exception as exc:  # noqa: BLE001
                    if os.environ.get("FUZZ_TRACE"):
                        traceback.print_exc(file=sys.__stderr__)
                    self.bug(f"cli {args[0]} {args[1]}: {type(exc).__name__}", f"{label}: {str(exc)[:200]}")
                    return
                text = out.getvalue().decode() + (err.getvalue().decode() if err else "")
        finally:
            _arm(False)
        if "Traceback" in text or (code not in (0, 1, 3)) or (code == 1 and "Error:" not in text and "Lỗi" not in text):
            self.bug(f"cli {args[0]} {args[1]}: exit {code} unclear", f"{label}: {text[-300:]}")


def main_() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--only", type=int, default=None, help="replay one case number")
    parser.add_argument("--cli-every", type=int, default=10)
    parser.add_argument("--focus", choices=["all", "rows"], default="all",
                        help="rows: only one value of data/, inventory/ or log/ changed, always re-hashed")
    parser.add_argument("--keep", type=Path, default=Path("/tmp/fuzz-bundles-bugs"))
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    with tempfile.TemporaryDirectory(prefix="fuzz-bundles-") as tmp:
        started = time.monotonic()
        campaign = Campaign(Path(tmp), args.focus)
        print(f"setup {time.monotonic() - started:.1f} s; seeds: {', '.join(sorted(campaign.seeds))}", flush=True)
        started = time.monotonic()
        cases = [args.only] if args.only is not None else range(args.cases)
        for n, i in enumerate(cases, 1):
            try:
                campaign.run_case(i, args.seed, args.cli_every, args.keep)
            except HangError:
                campaign.bug("hang", f"case {i}")
            if n % 250 == 0:
                print(f"{n} cases, {time.monotonic() - started:.0f} s, {dict(campaign.outcomes)},"
                      f" {len(campaign.bugs)} distinct bugs", flush=True)
        print(f"\n{len(cases)} cases in {time.monotonic() - started:.0f} s: {dict(campaign.outcomes)}")
        for key, where in sorted(campaign.bugs.items()):
            print(f"BUG x{len(where)}: {key}\n    e.g. {where[0]}")
        if not campaign.bugs:
            print("no bugs found")
    return 1 if campaign.bugs else 0


if __name__ == "__main__":
    sys.exit(main_())
