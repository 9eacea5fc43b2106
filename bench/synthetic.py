"""A synthetic province for benchmarks and crash tests: N agencies with M systems each.

Deterministic (seeded), valid against the inventory model, and shaped like the examples: a mix
of agency kinds, some critical systems with approved levels and decisions, some unknowns, one or
two declared hosts per system on loopback addresses with a few expected ports.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

KINDS = ["so-ban-nganh", "ubnd-xa", "ubnd-xa", "so-ban-nganh", "co-quan-dang", "khac"]
HOSTING = ["trung-tam-du-lieu-tinh", "trung-tam-du-lieu-rieng", "tai-co-quan", "dien-toan-dam-may", None]
SERVICES = [(443, "https"), (80, "http"), (22, "ssh"), (8080, "http"), (25, "smtp"), (3389, "ms-wbt-server")]


def agency_document(index: int, systems: int, rng: random.Random) -> dict[str, Any]:
    """One agency as the YAML document an agency would write."""
    code = f"co-quan-{index:03d}"
    doc: dict[str, Any] = {
        "code": code, "name": f"Cơ quan thử nghiệm số {index}", "kind": rng.choice(KINDS),
        "parent": "UBND TỈNH NGHỆ AN", "symbol": f"CQ{index}", "private_data_centre": rng.random() < 0.1,
        "security_contact": {"name": f"Cán bộ {index}", "title": "Chuyên viên CNTT", "phone": f"0238 3{index:06d}",
                             "email": f"cb{index}@nghean.example"},
        "recipients": ["Công an tỉnh (PA05)", "Sở Khoa học và Công nghệ", "Lưu: VT"],
        "systems": [],
    }
    for s in range(systems):
        approved = rng.random() < 0.5
        level = rng.choice([1, 2, 3, 3, 4])
        system: dict[str, Any] = {
            "code": f"he-thong-{s:02d}", "name": f"Hệ thống thông tin {s} của cơ quan {index}",
            "purpose": "Phục vụ công tác chuyên môn, quản lý hồ sơ và cung cấp dịch vụ công trực tuyến",
            "sector": rng.choice(["Y tế", "Giáo dục", "Cải cách hành chính", "Hạ tầng số"]),
            "owner": doc["name"], "operator": "Trung tâm CNTT", "critical": rng.choice([True, False, None]),
            "admin_procedures": rng.choice([True, False]), "users": rng.randint(5, 50_000),
            "data_subjects_basic": rng.randint(0, 200_000), "state_secrets": False,
            "hosting": rng.choice(HOSTING), "go_live": dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3650)),
            "level": {"proposed": level},
            "hosts": [],
        }
        if approved:
            system["level"].update({"approved": level, "dossier_state": "da-phe-duyet",
                                    "decision_number": f"{rng.randint(1, 999)}/QĐ-CQ{index}",
                                    "decision_date": dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 800)),
                                    "appraised_by": "Đơn vị chuyên trách", "approved_by": "Thủ trưởng cơ quan"})
        for h in range(rng.randint(1, 2)):
            ports = rng.sample(SERVICES, rng.randint(1, 3))
            system["hosts"].append({
                "address": f"127.{(index // 250) + 40}.{index % 250}.{s * 2 + h + 1}",
                "ports": [{"port": p, "service": name} for p, name in ports],
                "public_web": any(p in (80, 443) for p, _ in ports),
            })
        doc["systems"].append({k: v for k, v in system.items() if v is not None})
    return doc


def province(agencies: int, systems_per_agency: int, seed: int = 57) -> list[dict[str, Any]]:
    """The whole synthetic province as agency documents."""
    rng = random.Random(seed)
    return [agency_document(i, systems_per_agency, rng) for i in range(agencies)]


def write_yaml(folder: Path, documents: list[dict[str, Any]]) -> Path:
    """One ``<code>.yaml`` per agency, as ``secaudit inventory export`` would write them."""
    from secaudit import yamlio

    folder.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        (folder / f"{doc['code']}.yaml").write_text(yamlio.dumps(doc), encoding="utf-8")
    return folder


def write_xlsx(path: Path, documents: list[dict[str, Any]]) -> Path:
    """The same province as one workbook."""
    from secaudit.inventory import xlsx
    from secaudit.inventory.models import Agency

    xlsx.write_workbook(path, [Agency.model_validate(doc) for doc in documents])
    return path
