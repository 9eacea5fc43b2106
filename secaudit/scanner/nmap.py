"""Run the real ``nmap`` safely and read its XML as evidence.

Three concerns live here, each with its own reason:

* **Command building** (:func:`build_argv`) is allow-list driven. nmap has options that read
  arbitrary files (``-iL``, ``--excludefile``, ``--resume``, ``--script-args-file``), write
  arbitrary files (``-o*``), load code (``--script=/path``, ``--datadir``), or put traffic on
  the wire in someone else's name (``-S``, ``-D``, ``--spoof-mac``, ``--proxies``). A
  compliance tool that lets an inventory or a config file reach those is a remote-code-execution
  tool, so only options we know to be harmless are passed, in canonical form, and targets come
  after ``--`` so GNU getopt can never mistake one for an option.
* **Running** (:func:`run_nmap`) keeps whatever nmap managed to write, even when the user
  presses Ctrl-C or a time limit hits, because a partial scan is still evidence — it is
  recorded as incomplete rather than thrown away.
* **Parsing** (:func:`parse_xml`, :func:`iter_hosts`) goes through defusedxml only: scan files
  are stored and may later be re-imported from elsewhere, so they are untrusted input. The
  parser streams, so a /16 sweep does not need its whole tree in memory, and it survives a
  truncated file (nmap killed mid-scan) by returning what was complete.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from secaudit.errors import InvalidTargetError, ScanError
from secaudit.scanner.targets import Target, parse_target

from .. import clock

__all__ = [
    "ALLOWED_OPTIONS",
    "ALLOWED_SCRIPTS",
    "ALLOWED_SCRIPT_ARGS",
    "BASE_ARGS",
    "MAX_TEXT",
    "HostResult",
    "HostStream",
    "NmapRun",
    "PortResult",
    "ScanResult",
    "ScriptOutput",
    "build_argv",
    "compress_ports",
    "iter_hosts",
    "load_xml",
    "nmap_version",
    "parse_xml",
    "port_set",
    "run_nmap",
    "top_ports",
    "validate_options",
    "validate_ports",
]

# --------------------------------------------------------------------------------------------
# Command building
# --------------------------------------------------------------------------------------------

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


def _binary_prefix(nmap_binary: str | Sequence[str]) -> list[str]:
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
    prefix = _binary_prefix(nmap_binary)
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


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

_INSTALL_HINT_VI = "Không tìm thấy chương trình nmap ({binary}); hãy cài: apt-get install nmap"
_INSTALL_HINT_EN = "nmap program not found ({binary}); install it: apt-get install nmap"
_UNRESOLVED_RE = re.compile(r'^Failed to resolve "([^"\n]*)"\.$', re.MULTILINE)
#: How long nmap gets to exit after SIGTERM before it is killed.
_TERMINATE_GRACE = 5.0
#: How often the waiting loop looks at Ctrl-C, the stop flag and the deadline.
_POLL_SECONDS = 0.01


def _child_env() -> dict[str, str]:
    """A minimal environment for nmap.

    Without ``HOME`` and ``NMAPDIR`` nmap cannot pick up a planted ``~/.nmap/scripts/*.nse``
    or data file in place of the system one; ``LC_ALL=C`` keeps its messages stable.
    """
    return {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C", "LANG": "C"}


def _missing(binary: str, exc: OSError) -> ScanError:
    if isinstance(exc, FileNotFoundError):
        return ScanError(_INSTALL_HINT_VI.format(binary=binary), en=_INSTALL_HINT_EN.format(binary=binary))
    return ScanError(
        f"Không chạy được nmap ({binary}): {exc.strerror or exc}",
        en=f"Cannot run nmap ({binary}): {exc.strerror or exc}",
    )


def nmap_version(binary: str | Sequence[str] = "nmap") -> str:
    """The version string of the installed nmap (e.g. ``"7.93"``), recorded with each scan."""
    argv = [*_binary_prefix(binary), "--version"]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_child_env(),
            timeout=30,
            check=False,
        )
    except OSError as exc:
        raise _missing(argv[0], exc) from exc
    except subprocess.TimeoutExpired as exc:
        raise ScanError("nmap --version không trả lời", en="nmap --version did not answer") from exc
    text = done.stdout.decode("utf-8", "replace")
    match = re.search(r"Nmap version ([0-9][0-9A-Za-z.+-]*)", text)
    if done.returncode != 0 or not match:
        raise ScanError(
            f"Không đọc được phiên bản nmap từ {argv[0]!r}",
            en=f"Cannot read the nmap version from {argv[0]!r}",
        )
    return match.group(1)


@dataclass
class NmapRun:
    """What one nmap process did: its raw XML (the evidence) and how it ended.

    ``interrupted`` (Ctrl-C) and ``timed_out`` (our own ``timeout``) runs still carry the XML
    written so far; :func:`parse_xml` reports such output as incomplete.
    """

    argv: list[str]
    xml: bytes
    stderr: str
    returncode: int
    started: datetime
    finished: datetime
    interrupted: bool = False
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """nmap ran to the end on its own and reported success."""
        return self.returncode == 0 and not self.interrupted and not self.timed_out

    @property
    def duration(self) -> float:
        """Wall-clock seconds the process ran."""
        return (self.finished - self.started).total_seconds()

    @property
    def unresolved(self) -> list[str]:
        """Host names nmap could not resolve.

        nmap only warns about these on stderr, leaves them out of the XML and still exits 0,
        so without this list a typo in an inventory would just look like a missing host.
        """
        names = _UNRESOLVED_RE.findall(self.stderr)
        return list(dict.fromkeys(_text(name) for name in names))

    def parse(self) -> ScanResult:
        """Parse :attr:`xml` (see :func:`parse_xml`)."""
        return parse_xml(self.xml)


class _Drain(threading.Thread):
    """Read one pipe of nmap to the end in the background, handing each chunk to ``on_chunk``.

    Reading both pipes in their own threads (rather than ``communicate``) lets the caller watch
    the XML as nmap writes it — hosts are written as each host group finishes — while the main
    thread stays free to notice Ctrl-C, a stop request or the deadline.
    """

    def __init__(self, pipe: IO[bytes], on_chunk: Callable[[bytes], None] | None = None) -> None:
        super().__init__(daemon=True)
        self._pipe = pipe
        self._on_chunk = on_chunk
        self._chunks: list[bytes] = []
        self.callback_error: BaseException | None = None

    def run(self) -> None:
        fd = self._pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            self._chunks.append(chunk)
            if self._on_chunk is not None and self.callback_error is None:
                try:
                    self._on_chunk(chunk)
                except Exception as exc:  # noqa: BLE001 - a broken progress display must not lose the scan
                    self.callback_error = exc
        self._pipe.close()

    def data(self) -> bytes:
        return b"".join(self._chunks)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """Ask nmap to stop (SIGTERM, so it can flush), then SIGKILL if it does not go quietly."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=_TERMINATE_GRACE)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_nmap(
    argv: list[str],
    *,
    timeout: float | None = None,
    on_output: Callable[[bytes], None] | None = None,
    stop: threading.Event | None = None,
) -> NmapRun:
    """Run nmap (no shell) and capture its XML on stdout, its stderr and its timing.

    Ctrl-C during the scan terminates nmap and *returns* (``interrupted=True``) instead of
    raising, so the caller can store the partial XML as an incomplete scan; setting ``stop``
    (from another thread) does the same. ``timeout`` (seconds) ends the run with
    ``timed_out=True``. ``on_output`` receives stdout chunks as nmap writes them (for progress
    display; it runs in a reader thread and its errors are ignored). A missing nmap raises
    :class:`ScanError`.
    """
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) and "\x00" not in a for a in argv):
        raise ScanError("Lệnh nmap không hợp lệ", en="Invalid nmap command line")
    argv = list(argv)
    program = argv[0]
    if os.sep not in program and shutil.which(program, path=_child_env()["PATH"]) is None:
        raise _missing(program, FileNotFoundError(program))
    started = clock.now()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
            close_fds=True,
        )
    except OSError as exc:
        raise _missing(program, exc) from exc
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Drain(proc.stdout, on_output), _Drain(proc.stderr)
    out.start()
    err.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    interrupted = timed_out = False
    try:
        while True:
            wait = _POLL_SECONDS
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                pass
            if stop is not None and stop.is_set():
                interrupted = True
                _terminate(proc)
                break
            if deadline is not None and time.monotonic() >= deadline:
                timed_out = True
                _terminate(proc)
                break
    except KeyboardInterrupt:
        interrupted = True
        try:
            _terminate(proc)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
            proc.kill()
            proc.wait()
    out.join()
    err.join()
    finished = clock.now()
    return NmapRun(
        argv=argv,
        xml=out.data(),
        stderr=err.data().decode("utf-8", "replace"),
        returncode=proc.returncode if proc.returncode is not None else -1,
        started=started,
        finished=finished,
        interrupted=interrupted,
        timed_out=timed_out,
    )


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------

#: Every string taken from the XML is cut to this many characters; banners and page titles are
#: attacker-controlled and must not be able to bloat reports or the database.
MAX_TEXT = 4096
#: Deepest NSE ``<table>`` nesting we follow; deeper content is dropped (real scripts use < 6).
MAX_NSE_DEPTH = 32

HostState = Literal["up", "down", "unknown"]
# Port states that prove something answered at the address (a TCP connect or an RST).
_ANSWERING_STATES = frozenset({"open", "closed", "unfiltered"})
# expat error codes that mean "the input stopped early" rather than "the input is wrong".
_TRUNCATION_CODES = frozenset({3, 5, 6})  # no element found, unclosed token, partial character


def _cap(value: str | None) -> str | None:
    if value is None:
        return None
    return value[:MAX_TEXT]


def _text(value: str | None) -> str:
    return (value or "")[:MAX_TEXT]


def _epoch(value: str | None) -> datetime | None:
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(slots=True)
class ScriptOutput:
    """One NSE script result: its human-readable ``output`` and its structured ``data``.

    ``data`` mirrors NSE's ``<table>``/``<elem>`` tree: a table whose children carry ``key``
    attributes becomes a ``dict``, one without keys a ``list`` (mixed tables: unkeyed items get
    keys ``"1"``, ``"2"``… like Lua array slots), an ``<elem>`` a ``str``, an empty table ``[]``.
    ``None`` when the script produced only text. All values stay strings, as NSE wrote them.
    """

    id: str
    output: str
    data: Any = None


@dataclass(slots=True)
class PortResult:
    """One scanned TCP port as nmap saw it.

    ``method`` is nmap's service detection method: ``"table"`` means the ``service`` name is only
    a guess from the port number, ``"probed"`` means ``-sV`` really talked to it.
    """

    port: int
    protocol: str
    state: str
    reason: str
    service: str | None = None
    product: str | None = None
    version: str | None = None
    extrainfo: str | None = None
    tunnel: str | None = None
    method: str | None = None
    scripts: dict[str, ScriptOutput] = field(default_factory=dict)


@dataclass(slots=True)
class HostResult:
    """One host element of the scan.

    ``state`` is our judgement, stricter than nmap's: a host nmap marked ``timedout`` is
    ``"unknown"`` (its results were discarded), and a host that is "up" only because we told
    nmap to assume so (``-Pn``, reason ``user-set``) stays ``"unknown"`` unless some port
    actually answered (open or closed). ``nmap_state`` keeps what nmap itself said.
    ``extraports`` counts ports nmap summarised instead of listing, by state.
    """

    address: str
    addrtype: str
    hostnames: list[str]
    state: HostState
    reason: str
    timed_out: bool
    ports: list[PortResult]
    nmap_state: str = ""
    extraports: dict[str, int] = field(default_factory=dict)

    @property
    def open_ports(self) -> list[PortResult]:
        """The ports in state ``open``."""
        return [p for p in self.ports if p.state == "open"]

    def port(self, number: int, protocol: str = "tcp") -> PortResult | None:
        """The result for one port, if nmap listed it individually."""
        for p in self.ports:
            if p.port == number and p.protocol == protocol:
                return p
        return None


@dataclass(slots=True)
class ScanResult:
    """A parsed nmap XML document.

    ``complete`` is true only for well-formed XML that ends with
    ``<runstats><finished exit="success">``; otherwise ``error`` says why (truncation position,
    nmap's own error message, …) and ``hosts`` holds the hosts that were fully written.
    """

    nmap_version: str | None = None
    args: str | None = None
    started: datetime | None = None
    finished: datetime | None = None
    complete: bool = False
    error: str | None = None
    hosts: list[HostResult] = field(default_factory=list)
    #: The TCP port list nmap says it scanned (``<scaninfo services=…>``), when the file has it.
    scanned_ports: str | None = None

    def host_map(self) -> dict[str, HostResult]:
        """Hosts keyed by address (a later element for the same address wins)."""
        return {host.address: host for host in self.hosts}


def _nse_value(node: Element, depth: int) -> Any:
    if node.tag == "elem":
        return _text(node.text)
    if depth >= MAX_NSE_DEPTH:
        return []
    items = [(child.get("key"), _nse_value(child, depth + 1)) for child in node if child.tag in ("elem", "table")]
    if not items:
        return []
    if all(key is None for key, _ in items):
        return [value for _, value in items]
    result: dict[str, Any] = {}
    index = 0
    for key, value in items:
        if key is None:
            index += 1
            key = str(index)
        result[_text(key)] = value
    return result


def _script(elem: Element) -> ScriptOutput:
    data = _nse_value(elem, 0) if any(c.tag in ("elem", "table") for c in elem) else None
    return ScriptOutput(id=_text(elem.get("id")), output=_text(elem.get("output")), data=data)


def _port(elem: Element) -> PortResult | None:
    portid = elem.get("portid", "")
    if not portid.isdigit() or len(portid) > 5 or int(portid) > 65535:
        return None
    state = elem.find("state")
    service = elem.find("service")
    svc = service.attrib if service is not None else {}
    scripts: dict[str, ScriptOutput] = {}
    for script in elem.iterfind("script"):
        out = _script(script)
        scripts[out.id] = out
    return PortResult(
        port=int(portid),
        protocol=_text(elem.get("protocol")),
        state=_text(state.get("state")) if state is not None else "unknown",
        reason=_text(state.get("reason")) if state is not None else "",
        service=_cap(svc.get("name")),
        product=_cap(svc.get("product")),
        version=_cap(svc.get("version")),
        extrainfo=_cap(svc.get("extrainfo")),
        tunnel=_cap(svc.get("tunnel")),
        method=_cap(svc.get("method")),
        scripts=scripts,
    )


def _host(elem: Element) -> HostResult:
    status = elem.find("status")
    nmap_state = _text(status.get("state")) if status is not None else ""
    reason = _text(status.get("reason")) if status is not None else ""
    addresses = elem.findall("address")
    chosen = next((a for a in addresses if a.get("addrtype") in ("ipv4", "ipv6")), None)
    if chosen is None and addresses:
        chosen = addresses[0]
    ports = [p for p in (_port(e) for e in elem.iterfind("ports/port")) if p is not None]
    extraports: dict[str, int] = {}
    for extra in elem.iterfind("ports/extraports"):
        count = extra.get("count", "")
        if count.isdigit() and len(count) <= 6:
            key = _text(extra.get("state"))
            extraports[key] = extraports.get(key, 0) + int(count)
    timed_out = elem.get("timedout") == "true"
    answered = any(p.state in _ANSWERING_STATES for p in ports) or any(extraports.get(s) for s in _ANSWERING_STATES)
    state: HostState
    if timed_out:
        state = "unknown"
    elif nmap_state == "down":
        state = "down"
    elif nmap_state == "up" and (reason != "user-set" or answered):
        state = "up"
    else:
        state = "unknown"
    return HostResult(
        address=_text(chosen.get("addr")) if chosen is not None else "",
        addrtype=_text(chosen.get("addrtype")) if chosen is not None else "",
        hostnames=[_text(h.get("name")) for h in elem.iterfind("hostnames/hostname")],
        state=state,
        reason=reason,
        timed_out=timed_out,
        ports=ports,
        nmap_state=nmap_state,
        extraports=extraports,
    )


class _HeadRecorder:
    """File wrapper that remembers the first bytes read, to tell "nmap XML cut short" from junk."""

    HEAD = 1024

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(self.head) < self.HEAD:
            self.head += data[: self.HEAD - len(self.head)]
        return data

    def looks_like_nmap(self) -> bool:
        head = self.head.lstrip()
        return head.startswith((b"<?xml", b"<!DOCTYPE nmaprun", b"<nmaprun")) and b"nmaprun" in head


class HostStream(Iterator[HostResult]):
    """Iterate over the hosts of an nmap XML file without building the whole tree.

    Each ``<host>`` is converted and then dropped from memory, so a file with tens of thousands
    of hosts costs about one host's worth of elements. :attr:`result` carries the scan-level
    data (version, args, times, ``complete``, ``error``); it is final once iteration ends, and
    its ``hosts`` list stays empty (the hosts are what you iterated over).

    Truncated or malformed XML after the ``<nmaprun>`` start ends the iteration quietly with
    ``result.error`` set (so does nmap output cut off before ``<nmaprun>`` was complete: no
    hosts, ``complete=False``). Input that is not nmap XML at all, or that declares entities,
    raises :class:`ScanError` from the iteration.
    """

    def __init__(self, source: IO[bytes] | str | os.PathLike[str]) -> None:
        self.result = ScanResult()
        self._events = self._generate(source)

    def __iter__(self) -> HostStream:
        return self

    def __next__(self) -> HostResult:
        return next(self._events)

    def _generate(self, source: IO[bytes] | str | os.PathLike[str]) -> Iterator[HostResult]:
        result = self.result
        root: Element | None = None
        depth = 0
        closed = False
        exit_status: str | None = None
        nmap_error: str | None = None
        opened: IO[bytes] | None = None
        if isinstance(source, (str, os.PathLike)):
            try:
                opened = open(source, "rb")  # closed in the finally below
            except OSError as exc:
                raise ScanError(
                    f"Không đọc được tệp XML: {exc.strerror or exc}",
                    en=f"Cannot read XML file: {exc.strerror or exc}",
                ) from exc
            source = opened
        reader = _HeadRecorder(source)
        try:
            events: Iterable[tuple[str, Element]] = SafeET.iterparse(
                reader,
                events=("start", "end"),
                forbid_dtd=False,
                forbid_entities=True,
                forbid_external=True,
            )
            for event, elem in events:
                if event == "start":
                    if depth == 0:
                        if elem.tag != "nmaprun":
                            tag = _text(elem.tag)[:40]
                            raise ScanError(
                                f"Không phải tệp XML của nmap (phần tử gốc {tag!r})",
                                en=f"Not an nmap XML file (root element {tag!r})",
                            )
                        root = elem
                        result.nmap_version = _cap(elem.get("version"))
                        result.args = _cap(elem.get("args"))
                        result.started = _epoch(elem.get("start"))
                    depth += 1
                    continue
                depth -= 1
                if depth == 1 and root is not None:
                    if elem.tag == "host":
                        host = _host(elem)
                        root.clear()
                        yield host
                        continue
                    if elem.tag == "scaninfo" and elem.get("protocol") == "tcp":
                        result.scanned_ports = _cap(elem.get("services"))
                    if elem.tag == "runstats":
                        finished = elem.find("finished")
                        if finished is not None:
                            result.finished = _epoch(finished.get("time"))
                            nmap_error = _cap(finished.get("errormsg"))
                            # Older nmap writes <finished> without exit=: finished, unless it says why not.
                            exit_status = finished.get("exit") or ("error" if nmap_error else "success")
                    root.clear()
                elif depth == 0:
                    closed = True
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            truncated = getattr(exc, "code", None) in _TRUNCATION_CODES
            if root is None and not (truncated and reader.looks_like_nmap()):
                raise ScanError(
                    f"Không đọc được XML của nmap: {exc}",
                    en=f"Cannot read nmap XML: {exc}",
                ) from exc
            kind = "truncated" if truncated else "malformed"
            result.error = f"{kind} XML at line {line}, column {column}"
        except DefusedXmlException as exc:
            raise ScanError(
                "XML của nmap chứa khai báo thực thể (entity) hoặc tham chiếu ngoài — từ chối đọc",
                en="nmap XML declares entities or external references — refused",
            ) from exc
        except OSError as exc:
            raise ScanError(f"Không đọc được tệp XML: {exc}", en=f"Cannot read XML file: {exc}") from exc
        finally:
            if opened is not None:
                opened.close()
        if root is None and result.error is None:
            raise ScanError("Không có dữ liệu XML của nmap", en="No nmap XML data")
        if result.error is None:
            if not closed:
                result.error = "XML ends before </nmaprun>"
            elif exit_status is None:
                result.error = "nmap did not record a finished status (scan incomplete)"
            elif exit_status != "success":
                status = _text(exit_status)[:40]
                result.error = f"nmap reported exit={status}: {nmap_error or 'no message'}"
        result.complete = result.error is None


def iter_hosts(source: IO[bytes] | str | os.PathLike[str]) -> HostStream:
    """Stream the hosts of an nmap XML file object or path; see :class:`HostStream`."""
    return HostStream(source)


def parse_xml(data: bytes) -> ScanResult:
    """Parse nmap XML held in memory into a :class:`ScanResult` (hosts included).

    A truncated document returns what was complete with ``complete=False``; input that is not
    nmap XML, or that tries entity tricks, raises :class:`ScanError`.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ScanError("Dữ liệu XML phải là bytes", en="XML data must be bytes")
    if not bytes(data).strip():
        raise ScanError("nmap không xuất ra dữ liệu XML nào", en="nmap produced no XML output")
    stream = HostStream(io.BytesIO(bytes(data)))
    hosts = list(stream)
    stream.result.hosts = hosts
    return stream.result


def load_xml(path: str | Path) -> ScanResult:
    """Parse an nmap XML file from disk (streamed; hosts collected into the result)."""
    stream = HostStream(os.fspath(path))
    hosts = list(stream)
    stream.result.hosts = hosts
    return stream.result
