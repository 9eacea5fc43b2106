"""Benchmark: what an assessment costs as agencies grow (``status``, the interactive walk, the template).

For agencies of 5, 50 and 200 systems (every system answered for every applicable item, evidence
attached), medians over repeats of:

- the baseline: reading everything the evaluator needs from SQLite (``_load_context``);
- ``evaluate_agency`` (what ``status AGENCY`` does), with ``tu-danh-gia``;
- ``walk_steps`` (what the interactive ``assess AGENCY`` computes before its first question);
- ``answers_template`` (``assess AGENCY --export-template``).

Run by hand: ``.venv/bin/python bench/bench_assess.py --systems 5,50,200 --repeat 5``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from secaudit.inventory import records as inventory
from secaudit.inventory.models import Agency
from secaudit.reporting.assessment import answers_template, collaborators, evaluate_agency, walk_steps
from secaudit.requirements.answers import Evidence, record_answer
from secaudit.requirements.content import Library
from secaudit.requirements.evaluate import _load_context
from secaudit.store.workspace import Workspace

AS_OF = dt.date(2026, 11, 22)


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _agency(code: str, systems: int) -> Agency:
    return Agency.model_validate({
        "code": code, "name": f"Cơ quan {code}", "kind": "so-ban-nganh", "private_data_centre": True,
        "systems": [{"code": f"ht-{i:03d}", "name": f"Hệ thống {i}", "critical": i % 3 == 0,
                     "restricted_sector": "co-yeu" if i % 17 == 0 else "none",
                     "hosting": "trung-tam-du-lieu-rieng", "level": {"proposed": 2 + i % 3}}
                    for i in range(systems)],
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--systems", default="5,50,200")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    lib = Library()
    profile = lib.resolve_profile("tu-danh-gia")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws")
        evidence = Path(tmp) / "minh-chung.pdf"
        evidence.write_bytes(b"%PDF-1.4 minh chung")
        print("| systems | answers | baseline load (s) | evaluate (s) | vs load | walk (s) | template (s) |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for count in (int(n) for n in args.systems.split(",")):
            code = f"co-quan-{count}"
            inventory.import_agencies(ws, [_agency(code, count)], actor="bench", source="bench")
            steps = walk_steps(ws, lib, code, system=None, as_of=AS_OF, profile=profile)
            with ws.transaction():
                for step in steps:
                    kind = (step.item.evidence.documents or ["van-ban"])[0]
                    record_answer(ws, agency=code, system=step.system, checklist=step.checklist.id,
                                  item=step.item.id, status="dat", note="bench",
                                  files=[Evidence(evidence, kind)], actor="bench",
                                  effective=dt.date(2026, 4, 1))
            load = _median(lambda code=code: _load_context(ws, code, AS_OF, profile.vars, collaborators()), args.repeat)
            evaluate = _median(lambda code=code: evaluate_agency(ws, lib, code, as_of=AS_OF, profile=profile),
                               args.repeat)
            walk = _median(lambda code=code: walk_steps(ws, lib, code, system=None, as_of=AS_OF,
                                                                profile=profile), args.repeat)
            template = _median(lambda code=code: answers_template(ws, lib, code, system=None, as_of=AS_OF,
                                                                          profile=profile), args.repeat)
            print(f"| {count} | {len(steps)} | {load:.3f} | {evaluate:.3f} | {evaluate / load:.1f} | {walk:.3f} |"
                  f" {template:.3f} |")
        ws.close()


if __name__ == "__main__":
    main()
