"""The bundle format: its members and roles, the manifest, the limits a reader enforces, and the
strict JSON every document of a bundle is read with.

A submission bundle is one ZIP file that carries an agency's evidence to Công an tỉnh, checkably.
An agency prepares its evidence on its own machine — often on a network kept apart from the
internet — and sends one file. The receiver must be able to tell that it arrived complete and
unaltered, see what it contains without trusting it, and import it without risk to its own data.

Format (``FORMAT_VERSION`` 1), a ZIP archive:

* ``manifest.json`` — format and version, agency, as-of date, creation time, tool and schema
  version, the head of the sender's audit log, and for every other member its path, role, size
  and SHA-256. The SHA-256 of these exact bytes identifies the submission.
* ``manifest.p7s`` — optional detached CMS signature over ``manifest.json`` (see ``signing``).
* ``inventory/<agency>.yaml`` — the agency's inventory, as ``inventory export`` writes it.
* ``data/<table>.json`` — answers, waivers, evidence references, evidence metadata, scans and
  their hosts, ports and findings: rows as JSON objects keyed by column name, so a receiver with
  more or fewer columns reads what it knows; the columns it reads must keep ``tables.COLUMNS``.
* ``log/entries.json`` — the agency's entries of the hash-chained audit log.
* ``evidence/<sha256>[.ext]``, ``scans/scan-<id>.xml`` — evidence files and raw nmap XML.
* ``report/<agency>.pdf`` — the rendered report (optional), PAdES-signed when the bundle is.

Why ZIP rather than tar: it opens with a double click on the Windows machines of most offices, its
central directory lets every name, type, size and compression ratio be checked *before* a single
byte is decompressed, and members are compressed one by one (already-compressed evidence is
stored as is). Members are streamed in 1 MiB chunks both ways, so memory does not grow with the
bundle. Reading is strict: only the names, types and members this format writes are accepted.

``export`` writes a bundle, ``archive`` opens one, ``verify`` checks it, ``receive`` imports it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from pydantic import ValidationError as PydanticError

from secaudit import yamlio
from secaudit.errors import InputError, ValidationError
from secaudit.inventory.models import CODE_PATTERN, Agency, Strict

FORMAT = "secaudit-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.p7s"
CHUNK = 1 << 20
SAMPLE = 64 << 10
#: How far a bundle's ``created`` may lie after the receiver's clock (two machines' clocks differ a
#: little); beyond that the bundle claims to come from the future and is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)

#: Rows of these tables name their agency; a bundle may carry rows of its own agency only.
AGENCY_TABLES = ("answers", "waivers", "evidence_refs", "scans", "findings")

Role = Literal["inventory", "table", "log", "evidence", "scan-xml", "report"]
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,3}$")
ROLE_PATHS: dict[str, re.Pattern[str]] = {
    "inventory": re.compile(r"^inventory/(?P<code>[a-z0-9][a-z0-9_-]{0,63})\.yaml$"),
    "table": re.compile(r"^data/(?P<table>[a-z][a-z0-9_]{0,63})\.json$"),
    "log": re.compile(r"^log/entries\.json$"),
    "evidence": re.compile(r"^evidence/(?P<sha>[0-9a-f]{64})(\.[a-z0-9]{1,8})?$"),
    "scan-xml": re.compile(r"^scans/scan-(?P<id>[0-9]{1,12})\.xml$"),
    "report": re.compile(r"^report/(?P<code>[a-z0-9][a-z0-9_-]{0,63})\.pdf$"),
}
BLOB_ROLES = ("evidence", "scan-xml", "report")


class BundleError(ValidationError):
    """A bundle that cannot be trusted or imported; lists every problem found (``file:member``)."""

    def __init__(self, problems: list[tuple[str, str]], *, en: str | None = None) -> None:
        super().__init__(problems, en=en or "bundle refused")


@dataclass(frozen=True)
class Limits:
    """Bounds that keep a hostile archive from exhausting disk, memory or time.

    Declared sizes are checked before anything is read, and reading never goes past a declared
    size (zipfile stops there and the CRC and SHA-256 then fail), so these bound the real work.
    """

    max_members: int = 50_000
    max_member_bytes: int = 2 << 30
    max_total_bytes: int = 64 << 30
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 << 20
    max_document_bytes: int = 64 << 20
    max_manifest_bytes: int = 16 << 20
    max_signature_bytes: int = 1 << 20


#: The limits used unless a caller passes its own (frozen, so one instance serves every call).
DEFAULT_LIMITS = Limits()


# -- manifest ---------------------------------------------------------------------------------------
class ManifestAgency(Strict):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(max_length=500)


class ManifestTool(Strict):
    name: Literal["secaudit"]
    version: str = Field(max_length=64)


class ManifestLog(Strict):
    entries: int = Field(ge=0)
    agency_entries: int = Field(ge=0)
    head: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class Member(Strict):
    path: str = Field(max_length=300)
    role: Role
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Manifest(Strict):
    """What ``manifest.json`` holds; unknown keys are refused (a new key means a new format version)."""

    format: Literal["secaudit-bundle"]
    format_version: int
    agency: ManifestAgency
    as_of: dt.date
    created: dt.datetime
    tool: ManifestTool
    schema_version: int = Field(ge=1)
    profile: str = Field(max_length=100)
    exported_by: str = Field(max_length=200)
    log: ManifestLog
    members: list[Member]


# -- strict JSON ------------------------------------------------------------------------------------
def strict_json(data: bytes) -> Any:
    """Parse a bundle's JSON document, refusing duplicate keys, NaN/Infinity and deep nesting."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise InputError(f"khóa JSON bị lặp '{key}' / duplicate JSON key")
            out[key] = value
        return out

    try:
        doc = json.loads(data.decode("utf-8"), object_pairs_hook=pairs,
                         parse_constant=lambda c: (_ for _ in ()).throw(InputError(f"giá trị JSON lạ {c}")))
    except UnicodeDecodeError as exc:
        raise InputError("không phải UTF-8 / not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"JSON không hợp lệ (dòng {exc.lineno}) / invalid JSON: {exc.msg}") from exc
    except RecursionError as exc:  # json's decoder recurses once per nesting level
        raise InputError(f"JSON lồng quá sâu (quá {MAX_JSON_DEPTH} cấp) / JSON nested too deeply") from exc
    return _check_depth(doc)


#: No manifest or table nests deeper than a few levels; deeper is an attack on recursive readers.
MAX_JSON_DEPTH = 32


def _check_depth(doc: Any) -> Any:
    """Refuse nesting deeper than MAX_JSON_DEPTH (walked without recursion) before anything recurses into it."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise InputError(f"JSON lồng quá sâu (quá {MAX_JSON_DEPTH} cấp) / JSON nested too deeply")
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return doc


def agency_from_yaml(text: str, where: str) -> Agency:
    """Validate an inventory YAML text (from a bundle) into the strict ``Agency`` model."""
    located = yamlio.loads(text, where)
    try:
        return Agency.model_validate(located.data)
    except PydanticError as exc:
        yamlio.raise_pydantic(exc, located)
        raise

