"""Strict, bounded YAML reading and deterministic YAML writing.

Inventories and checklists are written by people, so errors must point at ``file:line``. PyYAML's
``safe_load`` loses positions, silently keeps the last of two duplicate keys and happily expands an
alias bomb. Here we compose the node tree ourselves: positions are recorded for every value,
duplicate keys and non-string keys are errors, and alias expansion is bounded.
"""

from __future__ import annotations

import datetime as dt
import stat
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from secaudit.errors import InputError, ValidationError, os_reason

MAX_BYTES = 10 * 1024 * 1024
# libyaml's parser when present (about 9x faster here), with the same node marks; else pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Nodes an alias may add beyond the document's own (a plain file of any allowed size is never refused).
MAX_NODES = 200_000
#: Nesting deeper than this is no inventory; it is an attack on the recursive builder below.
MAX_DEPTH = 64

Loc = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed document and the line of every value in it, keyed by its path."""

    path: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def where(self, loc: Loc) -> str:
        """``file:line`` for the deepest known prefix of ``loc``."""
        probe = tuple(loc)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        return f"{self.path}:{line}"


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file with a size cap; a wrong encoding names the line it breaks on."""
    size = check_regular_file(path)
    if size > max_bytes:
        raise _too_large(path, size, max_bytes)
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise InputError(f"Không đọc được tệp: {os_reason(exc)}", en=f"cannot read file: {exc.strerror}",
                         where=str(path)) from exc
    if len(raw) > max_bytes:
        raise _too_large(path, len(raw), max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            "Tệp không phải UTF-8 (hãy lưu lại với mã hóa UTF-8)",
            en="file is not UTF-8 encoded (save it as UTF-8)",
            where=f"{path}:{line}",
        ) from exc
    return text


def check_regular_file(path: Path) -> int:
    """The size of ``path``; an error unless it is a regular file (a folder, a device such as
    /dev/zero or a named pipe would fail with a traceback or never end)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(f"Không đọc được tệp: {os_reason(exc)}", en=f"cannot read file: {exc.strerror}",
                         where=str(path)) from exc
    if not stat.S_ISREG(info.st_mode):
        what = ("là một thư mục", "is a folder") if stat.S_ISDIR(info.st_mode) else ("không phải tệp thông thường",
                                                                                  "is not a regular file")
        raise InputError(f"Không đọc được: {what[0]}", en=f"cannot read: {what[1]}", where=str(path))
    return info.st_size


def _too_large(path: Path, size: int, max_bytes: int) -> InputError:
    return InputError(
        f"Tệp quá lớn ({size} byte, tối đa {max_bytes})", en=f"file too large ({size} bytes, limit {max_bytes})",
        where=f"{path}:1",
    )


def load(path: Path, *, max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES) -> Located:
    """Load one YAML document from ``path`` with positions, strictly."""
    return loads(read_text(path, max_bytes=max_bytes), str(path), max_nodes=max_nodes)


def loads(text: str, name: str, *, max_nodes: int = MAX_NODES) -> Located:
    """Parse YAML text (named ``name`` in errors) into plain data plus a line map."""
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "cú pháp không hợp lệ"
        raise InputError(
            f"YAML không hợp lệ: {problem}", en=f"invalid YAML: {problem}", where=f"{name}:{line}"
        ) from exc
    except yaml.reader.ReaderError as exc:  # a control character (NUL, …): name its real line
        bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
        line = text.count("\n", 0, bad.start()) + 1 if bad else 1
        code = f"U+{ord(bad.group()):04X}" if bad else "?"
        raise InputError(
            f"YAML không hợp lệ: chứa ký tự điều khiển {code} không được phép",
            en=f"invalid YAML: control character {code} is not allowed", where=f"{name}:{line}",
        ) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"YAML không hợp lệ: {exc}", en="invalid YAML", where=f"{name}:1") from exc
    except RecursionError as exc:  # the pure-Python composer on very deep nesting
        raise _too_deep(name, 1) from exc
    located = Located(name, None)
    if node is None:
        located.data = None
        return located
    located.data = _Builder(located, max_nodes).build(node, (), 0)
    return located


def _too_deep(name: str, line: int) -> InputError:
    return InputError(
        f"YAML lồng quá sâu (quá {MAX_DEPTH} cấp)", en=f"YAML nested too deeply (more than {MAX_DEPTH} levels)",
        where=f"{name}:{line}",
    )


_SCALAR = yaml.SafeLoader("")  # only used for its scalar constructors; holds no document state


def _construct(node: yaml.Node) -> Any:
    """A scalar's value by PyYAML's own constructors, the node forgotten afterwards.

    The loader is shared and remembers every node it builds; kept, they grew a long-running server by
    about 4 MB per page that reads the checklists.
    """
    try:
        return _SCALAR.construct_object(node)
    finally:
        _SCALAR.constructed_objects.pop(node, None)
        _SCALAR.recursive_objects.pop(node, None)


def _typed_patterns() -> dict[str, list[Any]]:
    """The patterns a scalar's text must match to be a bool, int, float or timestamp.

    PyYAML's constructors for these tags assume their pattern already matched (implicit typing), so
    an explicit tag on anything else (``!!bool x``, ``!!int ''``, ``!!timestamp x``) crashed them
    with AttributeError, KeyError or IndexError instead of a ``file:line`` error.
    """
    patterns: dict[str, list[Any]] = {f"tag:yaml.org,2002:{t}": [] for t in ("bool", "int", "float", "timestamp")}
    for resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.values():
        for tag, regexp in resolvers:
            if tag in patterns and regexp not in patterns[tag]:
                patterns[tag].append(regexp)
    patterns["tag:yaml.org,2002:float"] += patterns["tag:yaml.org,2002:int"]  # "!!float 1" is a float
    return patterns


_TYPED_PATTERNS = _typed_patterns()


def _check_typed_scalar(node: yaml.Node) -> None:
    """Raise ``ValueError`` when an explicitly typed scalar's text is not of that type."""
    patterns = _TYPED_PATTERNS.get(node.tag)
    if patterns is not None and not any(p.match(node.value) for p in patterns):
        raise ValueError(f"not a valid {node.tag.rsplit(':', 1)[-1]}")


class _Builder:
    """Turns a composed node tree into plain data, bounded in depth and in alias expansion.

    Nodes seen for the first time are free (their number is bounded by the file size); every
    node reached again through an alias counts against ``max_nodes``, so a plain 10 MB inventory
    loads while a "billion laughs" does not. An alias inside its own anchor (``x: &r [*r]``) is a
    cycle and is refused instead of recursing forever.
    """

    def __init__(self, out: Located, max_nodes: int) -> None:
        self.out = out
        self.budget = max_nodes
        self.seen: set[int] = set()
        self.open: set[int] = set()  # ids of the nodes being built (the ancestors)

    def _where(self, node: yaml.Node) -> str:
        return f"{self.out.path}:{node.start_mark.line + 1}"

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        out = self.out
        key = id(node)
        if key in self.open:
            raise InputError(
                "YAML có alias trỏ vào chính nó (vòng lặp)", en="YAML alias refers to itself (a cycle)",
                where=self._where(node),
            )
        if depth > MAX_DEPTH:
            raise _too_deep(out.path, node.start_mark.line + 1)
        if key in self.seen:
            self.budget -= 1
            if self.budget < 0:
                raise InputError(
                    "Tài liệu YAML quá lớn sau khi mở rộng alias (nghi là 'alias bomb')",
                    en="YAML document too large after alias expansion (alias bomb?)",
                    where=self._where(node),
                )
        else:
            self.seen.add(key)
        out.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            self.open.add(key)
            try:
                return self._mapping(node, loc, depth)
            finally:
                self.open.discard(key)
        if isinstance(node, yaml.SequenceNode):
            self.open.add(key)
            try:
                return [self.build(child, (*loc, i), depth + 1) for i, child in enumerate(node.value)]
            finally:
                self.open.discard(key)
        try:
            _check_typed_scalar(node)
            return _construct(node)
        except (ValueError, yaml.constructor.ConstructorError) as exc:
            dotted = ".".join(str(p) for p in loc)
            raise InputError(
                f"{dotted}: giá trị không hợp lệ: {node.value!r}", en=f"invalid value {node.value!r}: {exc}",
                where=self._where(node),
            ) from exc

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        out = self.out
        result: dict[str, Any] = {}
        try:
            _SCALAR.flatten_mapping(node)
        except yaml.constructor.ConstructorError as exc:
            raise InputError("Khóa gộp '<<' không hợp lệ", en=f"invalid merge key: {exc.problem}",
                             where=self._where(node)) from exc
        except RecursionError as exc:  # merge keys that include themselves
            raise InputError("YAML có alias trỏ vào chính nó (vòng lặp)", en="YAML alias refers to itself (a cycle)",
                             where=self._where(node)) from exc
        for key_node, value_node in node.value:
            key = _construct(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{out.path}:{key_node.start_mark.line + 1}"
            if not isinstance(key, str):
                raise InputError("Khóa phải là chuỗi", en="keys must be strings", where=where)
            if key in result:
                raise InputError(f"Khóa '{key}' bị lặp", en=f"duplicate key '{key}'", where=where)
            out.lines[(*loc, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*loc, key), depth + 1)
        return result


def raise_pydantic(exc: Any, located: Located, *, prefix: Loc = ()) -> None:
    """Turn a pydantic ``ValidationError`` into our ``ValidationError`` with ``file:line`` each."""
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        dotted = ".".join(str(p) for p in loc) or "(gốc)"
        problems.append((located.where(loc), f"{dotted}: {error_message(err)}"))
    raise ValidationError(problems, en="the file does not match the schema")


_MESSAGES_VI = {
    "extra_forbidden": "khóa không được phép (sai chính tả?)",
    "missing": "thiếu trường bắt buộc",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "bool_type": "phải là true/false",
    "bool_parsing": "phải là true/false",
    "string_type": "phải là chuỗi",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "list_type": "phải là danh sách",
    "dict_type": "phải là ánh xạ (mapping)",
    "model_type": "phải là ánh xạ (mapping)",
    "literal_error": "giá trị không nằm trong danh sách cho phép",
    "enum": "giá trị không nằm trong danh sách cho phép",
    "greater_than_equal": "giá trị quá nhỏ",
    "less_than_equal": "giá trị quá lớn",
    "string_pattern_mismatch": "sai định dạng",
    "date_from_datetime_inexact": "phải là ngày (không kèm giờ) dạng YYYY-MM-DD",
    "datetime_type": "phải là ngày giờ dạng YYYY-MM-DDTHH:MM",
    "datetime_parsing": "phải là ngày giờ dạng YYYY-MM-DDTHH:MM",
    "datetime_from_date_parsing": "phải là ngày giờ dạng YYYY-MM-DDTHH:MM",
    "date_past": "ngày phải ở quá khứ",
    "date_future": "ngày phải ở tương lai",
    "too_short": "quá ít mục",
    "too_long": "quá nhiều mục",
    "string_too_short": "chuỗi quá ngắn",
    "string_too_long": "chuỗi quá dài",
    "string_unicode": "phải là chuỗi Unicode hợp lệ",
    "greater_than": "giá trị quá nhỏ",
    "less_than": "giá trị quá lớn",
    "float_type": "phải là số",
    "float_parsing": "phải là số",
    "int_from_float": "phải là số nguyên",
    "set_type": "phải là danh sách",
    "frozen_set_type": "phải là danh sách",
    "mapping_type": "phải là ánh xạ (mapping)",
    "url_parsing": "sai định dạng địa chỉ URL",
}


def error_message(err: dict[str, Any]) -> str:
    """A pydantic error as 'Vietnamese / English' text (shared by YAML and XLSX imports)."""
    vi = _MESSAGES_VI.get(err["type"])
    en = err["msg"]
    if err["type"] in ("value_error", "assertion_error"):
        return en.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"{vi} / {en}" if vi else en


class _Dumper(yaml.SafeDumper):
    """Block style, unicode kept, keys in model order: exports diff cleanly and round-trip."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)
_Dumper.add_representer(dt.date, lambda d, v: d.represent_scalar("tag:yaml.org,2002:timestamp", v.isoformat()))
_Dumper.add_multi_representer(StrEnum, lambda d, v: _str_presenter(d, v.value))


def dumps(data: Any) -> str:
    """Deterministic YAML text for ``data``."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
