"""Build the nmap command line from an allow-list, so no inventory cell or profile can reach a dangerous option.

nmap has options that read arbitrary files (``-iL``, ``--excludefile``, ``--resume``,
``--script-args-file``), write arbitrary files (``-o*``), load code (``--script=/path``,
``--datadir``), or put traffic on the wire in someone else's name (``-S``, ``-D``,
``--spoof-mac``, ``--proxies``). A compliance tool that lets an inventory or a config file reach
those is a remote-code-execution tool, so only options we know to be harmless are passed, in
canonical form, and targets come after ``--`` so GNU getopt can never mistake one for an option.
Port lists live here too: they are part of the command line and follow the same strict grammar.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from secaudit.errors import InvalidTargetError, ScanError
from secaudit.inventory.targets import Target, parse_target

__all__ = [
    "ALLOWED_OPTIONS",
    "ALLOWED_SCRIPTS",
    "ALLOWED_SCRIPT_ARGS",
    "BASE_ARGS",
    "NMAP_SERVICES_FILES",
    "UNPRIVILEGED_ARG",
    "binary_prefix",
    "build_argv",
    "compress_ports",
    "port_set",
    "top_ports",
    "validate_options",
    "validate_ports",
]

#: Always passed, in this order, right after the scan type (``-sT``, or ``-sS`` when privileged).
#:
#: * ``-Pn``: the targets come from an inventory, so scan them even when nmap's ping finds
#:   nothing; without it a host whose firewall drops ports 80/443 silently vanishes from the
#:   report. The price is that nmap then calls every host "up" (reason ``user-set``); the
#:   parser corrects that (see :class:`HostResult`).
#: * ``-n``: no reverse DNS — no lookups leaking to outside resolvers, and faster.
#: * ``--no-stylesheet``: the evidence XML must not reference a local ``file:///…/nmap.xsl``.
#: * ``-oX -``: XML to stdout (nmap then prints nothing else there), so nmap writes no files.
#: * ``--noninteractive``: nmap must not read key presses from a terminal it shares with us.
BASE_ARGS: tuple[str, ...] = ("-Pn", "-n", "--no-stylesheet", "-oX", "-", "--noninteractive")

#: Added unless the scan is privileged: nmap behaves the same whether we run as root or not
#: (no raw sockets, even for NSE), which keeps results reproducible across operators.
UNPRIVILEGED_ARG = "--unprivileged"

#: NSE scripts that may be requested, by bare *name* (never a path, category or pattern).
#: All are "safe"/"default"-category, read-only checks that matter for a compliance audit.
ALLOWED_SCRIPTS: frozenset[str] = frozenset(
    {
        "banner",
        "http-headers",
        "http-security-headers",
        "http-server-header",
        "http-title",
        "ssh2-enum-algos",
        "ssl-cert",
        "ssl-enum-ciphers",
    }
)

_DURATION_RE = re.compile(r"[0-9]{1,7}(?:\.[0-9]{1,3})?(?:ms|s|m|h)?", re.ASCII)
_RATE_RE = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,3})?", re.ASCII)
_INT_RE = re.compile(r"[0-9]{1,6}", re.ASCII)
_TOKEN_RE = re.compile(r"[A-Za-z0-9._/+-]{1,100}", re.ASCII)
_PORT_ITEM_RE = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", re.ASCII)
#: Long enough for nmap's top 1000 TCP ports written out as ranges (about 3,800 characters).
MAX_PORTS_LEN = 8192


def _hostname_arg(value: str) -> bool:
    try:
        target = parse_target(value)
    except InvalidTargetError:
        return False
    return target.kind == "hostname" and target.port is None and target.value == value


#: ``--script-args`` keys that may be set, each with a validator for its value. Only arguments
#: that change *what name we present* to the service (SNI, Host header, User-Agent) — nothing
#: that points a script at a file, a URL elsewhere or a credential.
ALLOWED_SCRIPT_ARGS: dict[str, Callable[[str], bool]] = {
    "tls.servername": _hostname_arg,
    "http.host": _hostname_arg,
    "http.useragent": lambda v: bool(_TOKEN_RE.fullmatch(v)),
}


def _int_between(low: int, high: int) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return bool(_INT_RE.fullmatch(value)) and low <= int(value) <= high

    return check


def _rate(value: str) -> bool:
    return bool(_RATE_RE.fullmatch(value)) and 0 < float(value) <= 1_000_000


def _duration(value: str) -> bool:
    return bool(_DURATION_RE.fullmatch(value))


def _scripts(value: str) -> bool:
    names = value.split(",")
    return all(name in ALLOWED_SCRIPTS for name in names)


def _script_args(value: str) -> bool:
    for item in value.split(","):
        key, sep, arg = item.partition("=")
        check = ALLOWED_SCRIPT_ARGS.get(key)
        if not sep or check is None or not check(arg):
            return False
    return True


#: Options a caller may add. ``None`` means a flag without a value; a callable validates the
#: value (given either as ``--opt value`` or ``--opt=value``; always emitted as ``--opt=value``).
#: ``-T0`` … ``-T5`` and ``-sS`` are handled separately (see :func:`build_argv`).
ALLOWED_OPTIONS: dict[str, Callable[[str], bool] | None] = {
    "-sV": None,
    "--version-light": None,
    "--version-all": None,
    "--version-intensity": _int_between(0, 9),
    "--host-timeout": _duration,
    "--script-timeout": _duration,
    "--scan-delay": _duration,
    "--max-scan-delay": _duration,
    "--initial-rtt-timeout": _duration,
    "--min-rtt-timeout": _duration,
    "--max-rtt-timeout": _duration,
    "--stats-every": _duration,
    "--max-retries": _int_between(0, 20),
    "--min-rate": _rate,
    "--max-rate": _rate,
    "--min-parallelism": _int_between(1, 1024),
    "--max-parallelism": _int_between(1, 1024),
    "--min-hostgroup": _int_between(1, 4096),
    "--max-hostgroup": _int_between(1, 4096),
    "--script": _scripts,
    "--script-args": _script_args,
}
_TIMING_TEMPLATES = frozenset(f"-T{level}" for level in range(6))
_PRIVILEGED_SCAN = "-sS"
# Options where a second occurrence (or a sibling) would silently override the first.
_EXCLUSIVE = (
    frozenset(_TIMING_TEMPLATES),
    frozenset({"--version-light", "--version-all", "--version-intensity"}),
)


def _option_error(option: str, vi_reason: str, en_reason: str) -> InvalidTargetError:
    shown = repr(option) if len(option) <= 80 else repr(option[:77]) + "..."
    return InvalidTargetError(
        f"Tuỳ chọn nmap không được phép: {shown} ({vi_reason})",
        en=f"nmap option not allowed: {shown} ({en_reason})",
    )


def validate_ports(ports: str) -> str:
    """Check a port list against a strict grammar and return it unchanged.

    Grammar: ``[T:]item(,item)*`` where an item is ``N`` or ``A-B`` with 1 ≤ A ≤ B ≤ 65535.
    No names (``http``), no wildcards, no open ranges (``-`` alone, ``1-``), no UDP/SCTP.
    """
    if not isinstance(ports, str) or not ports or len(ports) > MAX_PORTS_LEN:
        raise InvalidTargetError(
            f"Danh sách cổng không hợp lệ: {ports!r:.80}",
            en=f"Invalid port list: {ports!r:.80}",
        )
    body = ports.removeprefix("T:")
    for item in body.split(","):
        match = _PORT_ITEM_RE.fullmatch(item)
        ok = bool(match)
        if match:
            low = int(match.group(1))
            high = int(match.group(2)) if match.group(2) is not None else low
            ok = 1 <= low <= high <= 65535
        if not ok:
            raise InvalidTargetError(
                f"Danh sách cổng không hợp lệ: {ports!r:.80} (mục {item!r:.20}; dùng dạng "
                "22,80,8000-8100 với cổng 1–65535)",
                en=f"Invalid port list: {ports!r:.80} (item {item!r:.20}; use 22,80,8000-8100 with ports 1–65535)",
            )
    return ports


def port_set(ports: str) -> frozenset[int]:
    """The port numbers a (validated) port list names, e.g. ``"22,80-82"`` -> {22, 80, 81, 82}."""
    validate_ports(ports)
    found: set[int] = set()
    for item in ports.removeprefix("T:").split(","):
        low, _, high = item.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return frozenset(found)


def compress_ports(ports: Iterable[int]) -> str:
    """Write port numbers as nmap's shortest list, e.g. {22, 80, 81, 82} -> ``"22,80-82"``."""
    numbers = sorted(set(ports))
    parts: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if i == j else f"{numbers[i]}-{numbers[j]}")
        i = j + 1
    return ",".join(parts)


#: Where Debian's and nmap's own installs keep ``nmap-services`` (port frequencies).
NMAP_SERVICES_FILES = ("/usr/share/nmap/nmap-services", "/usr/local/share/nmap/nmap-services")


def top_ports(count: int, services_file: str | os.PathLike[str] | None = None) -> str:
    """nmap's ``count`` most frequently open TCP ports, as an explicit port list.

    Equivalent to ``--top-ports`` but written out, so declared ports can be added to the same
    ``-p`` list (nmap refuses ``-p`` together with ``--top-ports`` as a union) and the stored
    command line says exactly which ports were looked at.
    """
    if not 1 <= count <= 65535:
        raise InvalidTargetError(f"Số cổng phổ biến không hợp lệ: {count}", en=f"invalid top-ports count: {count}")
    candidates = [Path(services_file)] if services_file else [Path(p) for p in NMAP_SERVICES_FILES]
    path = next((c for c in candidates if c.is_file()), None)
    if path is None:
        raise ScanError(
            "Không tìm thấy tệp nmap-services để chọn các cổng phổ biến; hãy cài: apt-get install nmap",
            en="nmap-services not found (needed for top ports); install it: apt-get install nmap",
        )
    ranked: list[tuple[float, int]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            number, _, proto = parts[1].partition("/")
            if proto != "tcp" or not number.isdigit():
                continue
            try:
                ranked.append((float(parts[2]), int(number)))
            except ValueError:
                continue
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return compress_ports(port for _, port in ranked[:count])


def validate_options(options: Sequence[str], *, privileged: bool = False) -> list[str]:
    """Check extra nmap options against the allow-list; return them in canonical form.

    Values may be given as ``--opt value`` or ``--opt=value``; the result always uses
    ``--opt=value`` so no value can be read as an option of its own. ``-sS`` is accepted only
    with ``privileged=True`` while running as root. Raises :class:`InvalidTargetError`.
    """
    syn, canonical = _normalise_options(options, privileged=privileged)
    return [_PRIVILEGED_SCAN, *canonical] if syn else canonical


def _normalise_options(options: Sequence[str], *, privileged: bool) -> tuple[bool, list[str]]:
    """Validate ``options``; return (use SYN scan, canonical option list without ``-sS``)."""
    if isinstance(options, str):
        raise _option_error(options, "phải là danh sách, không phải chuỗi", "must be a list, not a string")
    items = list(options)
    out: list[str] = []
    seen: set[str] = set()
    syn = False
    i = 0
    while i < len(items):
        item = items[i]
        i += 1
        if not isinstance(item, str) or not item or not item.isascii() or not item.isprintable():
            raise _option_error(str(item), "ký tự không hợp lệ", "invalid characters")
        if any(ch.isspace() for ch in item):
            raise _option_error(item, "chứa khoảng trắng", "contains whitespace")
        if not item.startswith("-"):
            raise _option_error(item, "không phải tuỳ chọn", "not an option")
        name, eq, value = item.partition("=") if item.startswith("--") else (item, "", "")
        if name in _TIMING_TEMPLATES:
            key = name
        elif name == _PRIVILEGED_SCAN:
            if not privileged or os.geteuid() != 0:
                raise _option_error(
                    item,
                    "quét SYN cần privileged=True và chạy với quyền root",
                    "a SYN scan needs privileged=True and running as root",
                )
            if "syn" in seen:
                raise _option_error(item, "lặp lại", "given twice")
            seen.add("syn")
            syn = True
            continue
        elif name in ALLOWED_OPTIONS:
            key = name
        else:
            raise _option_error(item, "không nằm trong danh sách cho phép", "not in the allow-list")
        validator = ALLOWED_OPTIONS.get(name)
        if validator is None:
            if eq:
                raise _option_error(item, "tuỳ chọn này không nhận giá trị", "takes no value")
            canonical = name
        else:
            if not eq:
                if i >= len(items) or not isinstance(items[i], str):
                    raise _option_error(item, "thiếu giá trị", "missing value")
                value = items[i]
                i += 1
            if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
                raise _option_error(f"{name} {value}", "giá trị không hợp lệ", "invalid value")
            if not validator(value):
                if name == "--script":
                    raise _option_error(
                        f"{name}={value}",
                        "chỉ được dùng tên script NSE trong danh sách cho phép: " + ", ".join(sorted(ALLOWED_SCRIPTS)),
                        "only allow-listed NSE script names may be used: " + ", ".join(sorted(ALLOWED_SCRIPTS)),
                    )
                raise _option_error(f"{name}={value}", "giá trị không hợp lệ", "invalid value")
            canonical = f"{name}={value}"
        group = next((g for g in _EXCLUSIVE if key in g), frozenset({key}))
        if seen & group:
            raise _option_error(
                item,
                "trùng hoặc mâu thuẫn với tuỳ chọn đã có",
                "duplicates or conflicts with an earlier option",
            )
        seen.add(key)
        out.append(canonical)
    return syn, out


def binary_prefix(nmap_binary: str | Sequence[str]) -> list[str]:
    parts = [nmap_binary] if isinstance(nmap_binary, str) else list(nmap_binary)
    if not parts or any(not isinstance(p, str) or not p or "\x00" in p for p in parts) or parts[0].startswith("-"):
        raise ScanError(
            f"Đường dẫn chương trình nmap không hợp lệ: {nmap_binary!r:.80}",
            en=f"Invalid nmap program path: {nmap_binary!r:.80}",
        )
    return parts


def build_argv(
    targets: Sequence[Target],
    *,
    ports: str,
    options: Sequence[str] = (),
    nmap_binary: str | Sequence[str] = "nmap",
    privileged: bool = False,
) -> list[str]:
    """Build a fresh argv list for an nmap TCP scan, refusing anything not allow-listed.

    ``nmap_binary`` may be a path or a command prefix (e.g. ``["ip", "netns", "exec", "ns",
    "nmap"]``). Targets are re-validated here even though they are :class:`Target` objects,
    because a dataclass can be built by hand around any string; duplicates are passed once
    (a ``Target`` with and without a port is the same host to nmap). IPv6 targets switch on
    ``-6``; mixing IPv4 and IPv6 literals in one run is refused because nmap cannot do it.
    An empty ``targets`` list is accepted so that a caller can check ports and options up front
    (nmap given no target scans nothing). Raises :class:`InvalidTargetError` for any refused
    target, port list or option.
    """
    prefix = binary_prefix(nmap_binary)
    if isinstance(targets, (str, Target)):
        raise InvalidTargetError(
            "Mục tiêu quét phải là một danh sách Target",
            en="Scan targets must be a list of Target",
        )
    target_args: list[str] = []
    versions: set[int] = set()
    for target in targets:
        if not isinstance(target, Target):
            raise InvalidTargetError(
                f"Mục tiêu quét phải là Target, không phải {type(target).__name__}",
                en=f"Scan target must be a Target, not {type(target).__name__}",
            )
        again = parse_target(target.value)
        if again.kind != target.kind or again.value != target.value or again.port is not None:
            raise InvalidTargetError(
                f"Mục tiêu quét không ở dạng chuẩn: {target.value!r:.80}",
                en=f"Scan target is not in canonical form: {target.value!r:.80}",
            )
        if target.ip_version is not None:
            versions.add(target.ip_version)
        if target.nmap_arg() not in target_args:
            target_args.append(target.nmap_arg())
    if len(versions) > 1:
        raise InvalidTargetError(
            "Không thể quét lẫn địa chỉ IPv4 và IPv6 trong cùng một lần chạy nmap",
            en="IPv4 and IPv6 addresses cannot be mixed in one nmap run",
        )
    validate_ports(ports)
    syn, extra = _normalise_options(options, privileged=privileged)

    argv = [*prefix, "-sS" if syn else "-sT", *BASE_ARGS]
    if not syn:
        argv.append(UNPRIVILEGED_ARG)
    if versions == {6}:
        argv.append("-6")
    argv += ["-p", ports, *extra, "--", *target_args]
    return argv
