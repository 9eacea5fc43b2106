"""XLSX, JSON and OSCAL exports of the agency report, read back with the tools their users have.

XLSX is reopened with openpyxl; JSON is validated against its own published schema; OSCAL is validated
against NIST's OSCAL 1.2.3 JSON schema (``tests/data/oscal``, the unmodified release file, hash-checked)
and then checked for what the JSON schema cannot say: unique UUIDs and references that resolve.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import (
    AS_OF,
    answer_example,
    hostile_inventory,
    hostile_services,
    import_file,
    record_recorded_scan,
)

from secaudit import clock
from secaudit.errors import InputError
from secaudit.inventory import records as inventory
from secaudit.reporting import exports
from secaudit.reporting.data import ReportData, build_report
from secaudit.reporting.documents import render_agency
from secaudit.reporting.exports import json_export, oscal, xlsx
from secaudit.requirements.content import Library
from secaudit.store.workspace import Workspace

from conftest import EXAMPLES

OSCAL_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "oscal" / "oscal_complete_schema.json"
#: SHA-256 of oscal_complete_schema.json in the NIST OSCAL v1.2.3 release.
OSCAL_SCHEMA_SHA256 = "384324105c7a817af0f65b120a963146caa0e0d55d969cf0daf60e063b87a206"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Report data for so-khcn (answers, evidence, waiver) and for an agency with two recorded scans."""
    tmp = tmp_path_factory.mktemp("exports")
    ws = Workspace.create(tmp / "ws")
    inventory.import_agencies(ws, inventory.load_agencies(inventory.inventory_files(EXAMPLES / "inventory")),
                              actor="pytest", source="examples")
    lib = Library()
    files = answer_example(ws, lib, tmp)
    with hostile_services() as hostile:
        import_file(ws, hostile_inventory(hostile, tmp))
    record_recorded_scan(ws, "co-quan-doc-hai", "may-chu-ghi-san")
    profile = lib.resolve_profile("tu-danh-gia")
    yield {
        "ws": ws, "lib": lib, "profile": profile, "files": files,
        "khcn": build_report(ws, lib, "so-khcn", as_of=AS_OF, profile=profile),
        "scanned": build_report(ws, lib, "co-quan-doc-hai", as_of=clock.today(), profile=profile),
    }
    ws.close()


def _again(data: Any, code: str, as_of: dt.date, fmt: str) -> bytes:
    return render_agency(data["ws"], data["lib"], code, fmt=fmt, as_of=as_of, profile=data["profile"])


# -- XLSX ---------------------------------------------------------------------------------------
def test_xlsx_reads_back_with_every_sheet(data: Any) -> None:
    from openpyxl import load_workbook

    d = data["khcn"]
    wb = load_workbook(io.BytesIO(xlsx.render(d)))
    assert wb.sheetnames == ["Tổng hợp", "Hệ thống", "Yêu cầu", "Phát hiện", "Minh chứng", "Lần quét", "Miễn trừ"]
    summary = {r[0]: r[1] for r in wb["Tổng hợp"].iter_rows(min_row=2, max_col=2, values_only=True) if r[0]}
    assert summary["Cơ quan"] == "Sở Khoa học và Công nghệ"
    assert summary["Số liệu đến ngày"] == dt.datetime(2026, 5, 1)  # a real date cell, not text
    assert summary["SHA-256 bảng kê minh chứng"] == d.manifest_sha256
    systems = list(wb["Hệ thống"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in systems] == [s["code"] for s in d.systems]
    lgsp = next(r for r in systems if r[0] == "lgsp-tinh")
    assert lgsp[6:8] == (3, 3) and lgsp[10] == "123/QĐ-SKHCN" and lgsp[11] == dt.datetime(2026, 4, 10)
    requirements = list(wb["Yêu cầu"].iter_rows(min_row=2, values_only=True))
    expected = sum(1 + len(it["systems"]) for c in d.checklists for it in c["items"])
    assert len(requirements) == expected
    t5 = next(r for r in requirements if r[1] == "t5-giam-sat" and r[3] is None)
    assert t5[8] == "chua-dat" and t5[9] == "CHƯA ĐẠT" and t5[10] == "Có"
    evidence = list(wb["Minh chứng"].iter_rows(min_row=2, values_only=True))
    assert {r[7] for r in evidence} == {hashlib.sha256(p.read_bytes()).hexdigest() for p in data["files"].values()}
    waivers = list(wb["Miễn trừ"].iter_rows(min_row=2, values_only=True))
    assert waivers == [("kh04-bcdtw", "t6-soc", None, "Dùng SOC dùng chung của tỉnh theo chỉ đạo",
                        "Giám đốc Sở KH&CN", dt.datetime(2026, 12, 31), "Có")]
    assert wb["Yêu cầu"].freeze_panes == "A2" and wb["Yêu cầu"].auto_filter.ref.startswith("A1:")


def test_xlsx_findings_and_scans(data: Any) -> None:
    from openpyxl import load_workbook

    d = data["scanned"]
    wb = load_workbook(io.BytesIO(xlsx.render(d)))
    findings = list(wb["Phát hiện"].iter_rows(min_row=2, values_only=True))
    assert len(findings) == len(d.findings) >= 2
    assert {(r[1], r[2]) for r in findings} >= {("127.0.7.1", 18025), ("127.0.7.1", 18099)}
    scans = list(wb["Lần quét"].iter_rows(min_row=2, values_only=True))
    assert [r[8] for r in scans] == [s["xml_sha256"] for s in d.scans]


def test_xlsx_text_is_never_a_formula(data: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    d = data["khcn"]
    hostile = ReportData(**{**d.__dict__, "systems": [{**d.systems[0], "name": "=HYPERLINK(\"http://x\",\"y\")",
                                                       "owner": "+cmd|' /C calc'!A0"}]})
    raw = xlsx.render(hostile)
    sheet = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet2.xml").decode("utf-8")
    assert "<f>" not in sheet  # no formula cell anywhere on the systems sheet
    wb = load_workbook(io.BytesIO(raw))
    row = next(wb["Hệ thống"].iter_rows(min_row=2, values_only=True))
    assert row[1] == "=HYPERLINK(\"http://x\",\"y\")" and row[3] == "+cmd|' /C calc'!A0"


def test_xlsx_english_sheet_names(data: Any) -> None:
    from openpyxl import load_workbook

    d = build_report(data["ws"], data["lib"], "so-khcn", as_of=AS_OF, profile=data["profile"], lang="en")
    assert load_workbook(io.BytesIO(xlsx.render(d))).sheetnames[:5] == [
        "Summary", "Systems", "Requirements", "Findings", "Evidence"]


def test_xlsx_is_reproducible_with_fixed_zip_dates(data: Any) -> None:
    first = _again(data, "so-khcn", AS_OF, "xlsx")
    second = _again(data, "so-khcn", AS_OF, "xlsx")
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2026, 5, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-05-01T00:00:00Z" in core


# -- JSON ---------------------------------------------------------------------------------------
def test_json_validates_against_its_schema(data: Any) -> None:
    import jsonschema

    for key in ("khcn", "scanned"):
        doc = json.loads(json_export.render(data[key]))
        jsonschema.validate(doc, json_export.SCHEMA, cls=jsonschema.Draft202012Validator)
        assert doc["schema"] == json_export.SCHEMA_ID


def test_json_schema_catches_drift(data: Any) -> None:
    import jsonschema

    doc = json.loads(json_export.render(data["khcn"]))
    doc["systems"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json_export.SCHEMA, cls=jsonschema.Draft202012Validator)


def test_json_content_and_stable_order(data: Any) -> None:
    raw = json_export.render(data["khcn"])
    doc = json.loads(raw)
    assert raw == json_export.dumps(doc)  # canonical: sorted keys, fixed indent
    assert list(doc) == sorted(doc)
    assert doc["as_of"] == "2026-05-01" and doc["agency"]["code"] == "so-khcn"
    tasks = {(t["checklist"], t["id"]): t for t in doc["summary"]["tasks"]}
    assert tasks[("kh04-bcdtw", "t6-soc")]["status"] == "mien-tru"
    assert tasks[("kh04-bcdtw", "t5-giam-sat")] == {"checklist": "kh04-bcdtw", "id": "t5-giam-sat",
                                                    "short": "Giải pháp giám sát, bảo mật tổng thể",
                                                    "status": "chua-dat", "deadline": "2026-04-30", "overdue": True}
    assert [r["overdue"] for r in doc["remaining"]] == sorted((r["overdue"] for r in doc["remaining"]), reverse=True)
    assert _again(data, "so-khcn", AS_OF, "json") == _again(data, "so-khcn", AS_OF, "json")


# -- OSCAL --------------------------------------------------------------------------------------
def _oscal_validator() -> Any:
    """NIST's schema with its XML-Schema regexes made readable by Python's ``re``.

    The schema's token pattern uses ``\\p{L}`` and ``\\p{N}``, which ``re`` lacks; the pattern keyword is
    replaced by one that maps them to ``[^\\W\\d_]`` (letters) and ``\\d`` (digits), which is what they mean
    for the identifiers we write. Everything else in the schema is applied as published.
    """
    import jsonschema
    from jsonschema import validators

    raw = OSCAL_SCHEMA.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == OSCAL_SCHEMA_SHA256, "tests/data/oscal was modified"
    schema = json.loads(raw)

    def pattern(validator: Any, value: str, instance: Any, _schema: Any) -> Any:
        if not isinstance(instance, str):
            return
        translated = value.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")
        if not re.search(translated, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {value!r}")

    cls = validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})
    return cls(schema)


def test_oscal_validates_against_the_nist_schema(data: Any) -> None:
    validator = _oscal_validator()
    for key in ("khcn", "scanned"):
        doc = json.loads(oscal.render(data[key]))
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, [(list(e.absolute_path), e.message[:200]) for e in errors[:5]]


def test_oscal_schema_check_can_fail(data: Any) -> None:
    validator = _oscal_validator()
    doc = json.loads(oscal.render(data["khcn"]))
    doc["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "maybe"
    assert list(validator.iter_errors(doc))
    doc = json.loads(oscal.render(data["khcn"]))
    del doc["assessment-results"]["import-ap"]
    assert list(validator.iter_errors(doc))


def test_oscal_findings_observations_and_references(data: Any) -> None:
    d = data["scanned"]
    doc = json.loads(oscal.render(d))["assessment-results"]
    result = doc["results"][0]
    items = [(c["id"], it) for c in d.checklists for it in c["items"]]
    assert len(result["findings"]) == len(items)
    controls = [c["control-id"] for c in result["reviewed-controls"]["control-selections"][0]["include-controls"]]
    assert [f["target"]["target-id"] for f in result["findings"]] == controls
    for finding, (_, it) in zip(result["findings"], items, strict=True):
        state = finding["target"]["status"]["state"]
        assert state == ("satisfied" if it["status"] in ("dat", "khong-ap-dung", "mien-tru") else "not-satisfied")
        assert {"name": "status", "ns": oscal.NS, "value": it["status"]} in finding["props"]
    uuids = [doc["uuid"], result["uuid"], *(o["uuid"] for o in result["observations"]),
             *(f["uuid"] for f in result["findings"]), *(r["uuid"] for r in doc["back-matter"]["resources"]),
             *(c["uuid"] for c in result["local-definitions"]["components"])]
    assert len(uuids) == len(set(uuids))
    observations = {o["uuid"]: o for o in result["observations"]}
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    components = {c["uuid"] for c in result["local-definitions"]["components"]}
    assert doc["import-ap"]["href"][1:] in resources
    for o in observations.values():
        for ev in o.get("relevant-evidence", []):
            assert ev["href"][1:] in resources
        for subject in o.get("subjects", []):
            assert subject["subject-uuid"] in components
    for f in result["findings"]:
        for rel in f.get("related-observations", []):
            assert rel["observation-uuid"] in observations
    scans = [o for o in observations.values() if "discovery" in o["types"]]
    assert len(scans) == len(d.scans)
    hashes = {h["value"] for r in resources.values() for link in r.get("rlinks", []) for h in link["hashes"]}
    assert {s["xml_sha256"] for s in d.scans} <= hashes
    t1 = next(f for f in result["findings"] if f["target"]["target-id"] == "kh04-bcdtw.t1-lo-hong")
    related = [observations[r["observation-uuid"]] for r in t1["related-observations"]]
    assert related and all("finding" in o["types"] for o in related)  # the scan findings bear on task 1


def test_oscal_evidence_documents_are_examined_observations(data: Any) -> None:
    d = data["khcn"]
    doc = json.loads(oscal.render(d))["assessment-results"]
    examined = [o for o in doc["results"][0]["observations"] if o["methods"] == ["EXAMINE"]]
    assert len(examined) == len(data["files"])
    resources = {r["uuid"]: r for r in doc["back-matter"]["resources"]}
    for o in examined:
        resource = resources[o["relevant-evidence"][0]["href"][1:]]
        sha = resource["rlinks"][0]["hashes"][0]["value"]
        assert hashlib.sha256(data["ws"].read_blob(sha)).hexdigest() == sha


def test_oscal_is_reproducible_and_escapes_markup(data: Any) -> None:
    assert _again(data, "so-khcn", AS_OF, "oscal") == _again(data, "so-khcn", AS_OF, "oscal")
    doc = json.loads(oscal.render(data["scanned"]))["assessment-results"]
    components = doc["results"][0]["local-definitions"]["components"]
    hostile = next(c for c in components if c["props"][0]["value"] == "he-thong-doc-hai")
    assert hostile["title"] == r'\<img src="file:///etc/passwd"\>'  # literal text in Markdown, not HTML


def test_unknown_export_format_is_an_error() -> None:
    with pytest.raises(InputError):
        exports.formatter("docx")
