"""The inventory model: impossible states refused, every field described, the published schema current."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from secaudit.inventory import fields, schema
from secaudit.inventory import records as inventory
from secaudit.inventory.models import VALUE_LABELS, Agency, Contact, Host, Level, System

from conftest import EXAMPLES, ROOT

DECIDED = {"decision_number": "12/QĐ-UBND", "decision_date": dt.date(2026, 3, 1)}


@pytest.mark.parametrize("level, fragment", [
    ({"approved": 3}, "decision"),
    ({"approved": 3, "decision_number": "1/QĐ", "dossier_state": "da-phe-duyet"}, "decision"),
    ({"decision_number": "1/QĐ"}, "no approved level"),
    ({"decision_date": dt.date(2026, 1, 1)}, "no approved level"),
    ({"approved": 3, **DECIDED}, "dossier_state"),  # approved, but the dossier is still 'chua-lap'
    ({"dossier_state": "da-phe-duyet"}, "dossier_state"),  # dossier approved, no level
    ({"proposed": 0}, "greater than or equal"),
    ({"approved": 6, "dossier_state": "da-phe-duyet", **DECIDED}, "less than or equal"),
])
def test_impossible_level_states_are_refused(level: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Level.model_validate(level)


def test_consistent_level_is_accepted() -> None:
    level = Level.model_validate({"proposed": 3, "approved": 3, "dossier_state": "da-phe-duyet", **DECIDED})
    assert level.approved == 3


def test_duplicate_hosts_and_ports_are_refused() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        Host.model_validate({"address": "127.0.0.1", "ports": [{"port": 22}, {"port": 22, "protocol": "tcp"}]})
    Host.model_validate({"address": "127.0.0.1", "ports": [{"port": 53}, {"port": 53, "protocol": "udp"}]})
    with pytest.raises(ValidationError, match="listed twice"):
        System.model_validate({"code": "a", "name": "A", "hosts": [{"address": "10.0.0.1"}, {"address": "10.0.0.1"}]})


@pytest.mark.parametrize("address", ["-oN x", "127.0.0.1 --script x", "10.0.0.1-5", "a;b", "", "file:///etc/passwd"])
def test_hosts_must_be_plain_targets(address: str) -> None:
    with pytest.raises(ValidationError):
        Host.model_validate({"address": address})


def test_blank_optional_text_is_unknown_and_blank_required_text_is_an_error() -> None:
    system = System.model_validate({"code": "a", "name": "A", "purpose": "   ", "owner": ""})
    assert system.purpose is None and system.owner is None
    with pytest.raises(ValidationError, match="must not be empty"):
        System.model_validate({"code": "a", "name": "  "})


def test_control_characters_and_multi_line_recipients_are_refused() -> None:
    with pytest.raises(ValidationError, match="control character"):
        System.model_validate({"code": "a", "name": "A\x1b[31m"})
    with pytest.raises(ValidationError, match="control character"):
        System.model_validate({"code": "a", "name": "A", "purpose": "x\x00"})
    with pytest.raises(ValidationError, match="single line"):
        Agency.model_validate({"code": "a", "name": "A", "kind": "khac", "recipients": ["UBND\nCông an"]})
    assert System.model_validate({"code": "a", "name": "A", "purpose": "dòng 1\ndòng 2"}).purpose == "dòng 1\ndòng 2"


def test_email_and_service_shapes() -> None:
    assert Contact(name="A", email="a@b.gov.vn").email == "a@b.gov.vn"
    assert Contact(name="A", email="").email is None
    with pytest.raises(ValidationError):
        Contact(name="A", email="not an address")
    with pytest.raises(ValidationError):
        Host.model_validate({"address": "127.0.0.1", "ports": [{"port": 80, "service": "http; rm"}]})


def test_every_field_has_a_vietnamese_title_and_an_english_description() -> None:
    for spec in [*fields.AGENCY_FIELDS, *fields.SYSTEM_FIELDS, *fields.HOST_FIELDS]:
        assert spec.title and spec.title != spec.key.split(".")[-1], spec.key
        assert spec.description, spec.key


def test_every_coded_value_has_a_distinct_label() -> None:
    for spec in [*fields.AGENCY_FIELDS, *fields.SYSTEM_FIELDS]:
        if spec.kind != "choice":
            continue
        assert set(spec.choices) == set(spec.labels), spec.key
        labels = [spec.labels[c].casefold() for c in spec.choices]
        assert len(set(labels)) == len(labels), spec.key
        # a label may not be another value's code, or reading it back would be ambiguous
        for code in spec.choices:
            assert all(spec.labels[other].casefold() != code.casefold() for other in spec.choices if other != code)
    assert set(VALUE_LABELS) >= {"AgencyKind", "Hosting", "InfraScope", "DossierState", "RestrictedSector"}


SAMPLES = {
    "text": "Trung tâm CNTT", "int": 18500, "bool": True, "date": dt.date(2026, 4, 10),
    "lines": ["UBND tỉnh", "Lưu: VT"], "ports": [{"port": 443, "protocol": "tcp", "service": "https"},
                                                 {"port": 53, "protocol": "udp"}],
}


@pytest.mark.parametrize("spec", [*fields.AGENCY_FIELDS, *fields.SYSTEM_FIELDS, *fields.HOST_FIELDS],
                         ids=lambda s: s.key)
def test_each_field_reads_back_what_it_displays(spec: fields.FieldSpec) -> None:
    values = list(spec.choices) if spec.kind == "choice" else [SAMPLES[spec.kind]]
    if spec.kind == "bool":
        values.append(False)
    for value in values:
        expected = spec.default if value == "" else value
        assert spec.parse(spec.display(value)) == expected
        assert spec.parse(spec.text(value)) == expected


def test_field_parsing_accepts_what_people_type() -> None:
    specs = {s.key: s for s in fields.SYSTEM_FIELDS}
    assert specs["critical"].parse("Có") is True and specs["critical"].parse("KHÔNG") is False
    assert specs["critical"].parse("") is None
    assert specs["users"].parse("18.500") == 18500 and specs["users"].parse(42.0) == 42
    assert specs["go_live"].parse("15/06/2021") == dt.date(2021, 6, 15)
    assert specs["go_live"].parse(dt.datetime(2021, 6, 15)) == dt.date(2021, 6, 15)
    assert specs["hosting"].parse("Trung tâm dữ liệu tỉnh") == "trung-tam-du-lieu-tinh"
    assert specs["hosting"].parse("trung-tam-du-lieu-tinh") == "trung-tam-du-lieu-tinh"
    for key, bad in [("critical", "maybe"), ("users", "1,5"), ("go_live", "2026-13-45"), ("hosting", "ở nhà"),
                     ("users", True), ("name", dt.date(2026, 1, 1))]:
        with pytest.raises(ValueError, match=" / "):
            specs[key].parse(bad)


def test_published_schema_is_current() -> None:
    committed = (ROOT / "docs" / "inventory.schema.json").read_text(encoding="utf-8")
    assert committed == schema.schema_text(), "run: secaudit inventory schema -o docs/inventory.schema.json"


def test_published_schema_accepts_the_examples_and_refuses_bad_files() -> None:
    validator = jsonschema.Draft202012Validator(json.loads((ROOT / "docs" / "inventory.schema.json").read_text()))
    for path in sorted((EXAMPLES / "inventory").glob("*.yaml")):
        document = json.loads(json.dumps(inventory.agency_document(inventory.load_agency(path)), default=str))
        assert list(validator.iter_errors(document)) == [], path.name
    good = {"code": "so-thu", "name": "Sở Thử", "kind": "khac", "systems": [{"code": "a", "name": "A"}]}
    assert validator.is_valid(good)
    for bad in [
        {**good, "kinnd": "khac"},
        {**good, "kind": "bo"},
        {**good, "systems": [{"code": "a", "name": "A", "level": {"approved": 7}}]},
        {**good, "systems": [{"code": "A B", "name": "A"}]},
        {**good, "systems": [{"code": "a", "name": "A", "hosts": [{"address": "x", "ports": [{"port": 70000}]}]}]},
    ]:
        assert not validator.is_valid(bad), bad


def test_user_documentation_covers_every_field_and_its_example_is_valid() -> None:
    import re

    import yaml

    text = (ROOT / "docs" / "inventory.md").read_text(encoding="utf-8")
    missing = [s.key for s in [*fields.AGENCY_FIELDS, *fields.SYSTEM_FIELDS, *fields.HOST_FIELDS]
               if f"`{s.key}`" not in text]
    assert missing == [], f"docs/inventory.md does not describe {missing}"
    example = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert example is not None
    Agency.model_validate(yaml.safe_load(example.group(1)))
