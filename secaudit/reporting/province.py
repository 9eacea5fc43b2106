"""The province roll-up's data: every agency of a province against the KH 04 tasks, worst first."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from secaudit.errors import InputError, NotFoundError
from secaudit.inventory import records as inventory
from secaudit.reporting.assessment import evaluate_agency
from secaudit.reporting.data import SEVERITIES, check_lang, current_scans, iso, nfc, open_findings, version
from secaudit.requirements.content import Library, ResolvedProfile
from secaudit.requirements.results import Result, Status
from secaudit.store.workspace import Workspace

#: The checklist whose top-level tasks form the columns of the province matrix.
MATRIX_CHECKLIST = "kh04-bcdtw"


@dataclass
class ProvinceData:
    """The province roll-up: agencies × KH 04 tasks, worst first, with totals."""

    lang: str
    as_of: dt.date
    generator: str
    province: str
    profile: dict[str, Any]
    issuer: dict[str, Any]
    tasks: list[dict[str, Any]]
    agencies: list[dict[str, Any]]
    totals: dict[str, Any]


def provinces(ws: Workspace) -> list[str]:
    """Province names present in the workspace, sorted."""
    return sorted({unicodedata.normalize("NFC", r[0]) for r in ws.db.execute("select province from agencies")})


def build_province(
    ws: Workspace, library: Library, province: str | None, *, as_of: dt.date, profile: ResolvedProfile,
    lang: str = "vi",
) -> ProvinceData:
    """Evaluate every agency of ``province`` (all agencies when ``None``) for the roll-up matrix."""
    check_lang(lang)
    known = provinces(ws)
    if province is not None:
        wanted = unicodedata.normalize("NFC", province).strip().casefold()
        match = [p for p in known if p.casefold() == wanted]
        if not match:
            raise NotFoundError(
                f"Không có cơ quan nào thuộc tỉnh '{province}' (có: {', '.join(known) or 'không có'})",
                en=f"no agency in province '{province}' (known: {', '.join(known) or 'none'})",
            )
        selected = match
    else:
        selected = known
    if not selected:
        raise NotFoundError("Workspace chưa có cơ quan nào", en="the workspace has no agencies")
    codes = [r[0] for r in ws.db.execute(
        f"select code from agencies where province in ({','.join('?' * len(selected))}) order by position, code",
        selected)]
    if MATRIX_CHECKLIST not in profile.checklists:
        raise InputError(f"Hồ sơ '{profile.id}' không gồm {MATRIX_CHECKLIST}",
                         en=f"profile '{profile.id}' does not include {MATRIX_CHECKLIST}")
    checklist = library.checklist(MATRIX_CHECKLIST)
    columns = [i for i in checklist.items if i.parent is None and f"{MATRIX_CHECKLIST}:{i.id}" not in profile.excluded]
    tasks: list[dict[str, Any]] = [{"id": i.id, "short": i.short or i.title, "deadline": iso(i.deadline),
                                    "title": i.title_en if lang == "en" and i.title_en else i.title} for i in columns]

    agencies = []
    issuer: dict[str, Any] | None = None
    for code in codes:
        agency = inventory.get_agency(ws, code)
        assessment = evaluate_agency(ws, library, code, as_of=as_of, profile=profile)
        by_id = {r.item: r for r in assessment.results if r.checklist == MATRIX_CHECKLIST}
        cells: list[dict[str, Any]] = []
        for task in tasks:
            res = by_id.get(task["id"])
            cells.append({"status": res.status.value, "overdue": res.overdue, "weight": _weight(res)} if res else
                         {"status": None, "overdue": False, "weight": 1})
        current = current_scans(ws, code, [s.code for s in agency.systems], as_of)
        severities = dict.fromkeys(SEVERITIES, 0)
        for f in open_findings(ws, current):
            severities[f["severity"]] = severities.get(f["severity"], 0) + 1
        overdue = sum(1 for c in cells if c["overdue"])
        not_met = sum(1 for c in cells if c["status"] is not None
                      and not Status(c["status"]).met)
        agencies.append({
            "code": code, "name": agency.name, "kind": agency.kind.value, "systems": len(agency.systems),
            "critical": sum(1 for s in agency.systems if s.critical),
            "approved": sum(1 for s in agency.systems if s.level.approved),
            "cells": cells, "overdue": overdue, "not_met": not_met, "met": not_met == 0,
            "findings": severities, "open_findings": sum(severities.values()),
            "contact": agency.security_contact.name if agency.security_contact else None,
        })
        if issuer is None and agency.kind.value == "cong-an":
            issuer = agency.model_dump(mode="json", exclude={"systems"})
    agencies.sort(key=lambda a: (-a["overdue"], a["met"], -a["not_met"], -a["open_findings"], a["name"], a["code"]))
    for rank, a in enumerate(agencies, 1):
        a["rank"] = rank

    per_task = []
    for i, task in enumerate(tasks):
        counts = {"met": 0, "not_met": 0, "overdue": 0, "not_applicable": 0}
        for a in agencies:
            cell = a["cells"][i]
            if cell["status"] == "khong-ap-dung":
                counts["not_applicable"] += 1
            elif cell["overdue"]:
                counts["overdue"] += 1
            elif cell["status"] is not None and Status(cell["status"]).met:
                counts["met"] += 1
            else:
                counts["not_met"] += 1
        per_task.append({"id": task["id"], **counts})
    totals = {
        "agencies": len(agencies), "compliant": sum(1 for a in agencies if a["met"]),
        "with_overdue": sum(1 for a in agencies if a["overdue"]),
        "systems": sum(a["systems"] for a in agencies), "critical": sum(a["critical"] for a in agencies),
        "approved": sum(a["approved"] for a in agencies),
        "findings": {s: sum(a["findings"][s] for a in agencies) for s in SEVERITIES},
        "per_task": per_task,
    }
    name = ", ".join(selected)
    if issuer is None:
        issuer = {"name": f"Tỉnh {name}" if lang == "vi" else f"{name} province", "parent": None, "place": None,
                  "province": selected[0], "symbol": None, "signer": None, "recipients": []}
    return ProvinceData(
        lang=lang, as_of=as_of, generator=version(), province=nfc(name),
        profile={"id": profile.id, "title": profile.title}, issuer=nfc(issuer), tasks=nfc(tasks),
        agencies=nfc(agencies), totals=totals,
    )


def _weight(res: Result) -> int:
    """Sort key of a matrix cell: overdue 3, not met 2, not yet decided 1, met or not applicable 0."""
    if res.overdue:
        return 3
    if res.status.met:
        return 0
    return 2 if res.status is Status.FAIL else 1
