"""Benchmark: cost of the security-level rules (secaudit.levels) and of the level baselines in ``status``.

Three measurements on a synthetic province (bench/synthetic.py), medians over repeats:

1. ``levels.suggest`` per system, with every attribute known and with the synthetic inventory's
   unknowns (which make the engine enumerate each unknown attribute's answers).
2. ``evaluate_agency`` for every agency with the self-assessment profile minus the two level
   baseline checklists (the baseline) and with them (``tu-danh-gia`` as shipped).
3. ``levels.assess_all`` (what ``secaudit level list`` does) for the whole province.

Run by hand: ``.venv/bin/python bench/bench_levels.py --agencies 20 --systems 10 --repeat 5``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

from secaudit import levels
from secaudit.inventory import records as inventory
from secaudit.inventory.models import Agency
from secaudit.reporting.assessment import evaluate_agency
from secaudit.requirements.content import Library
from secaudit.store.workspace import Workspace

AS_OF = dt.date(2026, 11, 22)


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    docs = synthetic.province(args.agencies, args.systems)
    agencies = [Agency.model_validate(d) for d in docs]
    systems = [s for a in agencies for s in a.systems]
    rng = random.Random(5)
    known = []
    for s in systems:
        fill = {"online_service": rng.random() < 0.5, "conditional_business": False, "data_subjects_sensitive": 0,
                "national_security_impact": False, "industrial_control_grade": "none",
                "infrastructure_scope": rng.choice(["none", "co-quan", "tinh"]), "national_egov_247": False}
        level = s.level.model_copy(update={"private_info": True})
        known.append(s.model_copy(update={**fill, "level": level}))
    rules = levels.load_rules()
    facts_known = [levels.facts_of(s) for s in known]
    facts_unknown = [levels.facts_of(s) for s in systems]
    n = len(systems)
    t_known = _median(lambda: [levels.suggest(f, as_of=AS_OF, rules=rules) for f in facts_known], args.repeat)
    t_unknown = _median(lambda: [levels.suggest(f, as_of=AS_OF, rules=rules) for f in facts_unknown], args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create(Path(tmp) / "ws")
        inventory.import_agencies(ws, agencies, actor="bench", source="synthetic")
        lib = Library()
        full = lib.resolve_profile("tu-danh-gia")
        base = dataclasses.replace(full, checklists=[c for c in full.checklists if not c.startswith("cap-do-")])
        codes = inventory.agency_codes(ws)

        def status(profile) -> None:
            for code in codes:
                evaluate_agency(ws, lib, code, as_of=AS_OF, profile=profile)

        status(full)  # warm caches (checklists parsed, rule files loaded)
        t_base = _median(lambda: status(base), args.repeat)
        t_full = _median(lambda: status(full), args.repeat)
        t_list = _median(lambda: levels.assess_all(ws, as_of=AS_OF), args.repeat)
        ws.close()

    print(f"systems: {n} ({args.agencies} agencies x {args.systems}), repeat {args.repeat}")
    print("| measurement | median total (s) | per system (ms) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| suggest, all attributes known | {t_known:.3f} | {t_known / n * 1000:.2f} | 1.00 |")
    print(f"| suggest, synthetic unknowns | {t_unknown:.3f} | {t_unknown / n * 1000:.2f} | {t_unknown / t_known:.2f} |")
    print(f"| status, profile without level baselines | {t_base:.3f} | {t_base / n * 1000:.2f} | 1.00 |")
    print(f"| status, tu-danh-gia with level baselines | {t_full:.3f} | {t_full / n * 1000:.2f} | "
          f"{t_full / t_base:.2f} |")
    print(f"| level list (assess_all) | {t_list:.3f} | {t_list / n * 1000:.2f} | {t_list / t_base:.2f} |")


if __name__ == "__main__":
    main()
