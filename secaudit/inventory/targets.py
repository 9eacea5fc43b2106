"""Turn what a user typed (or an inventory declares) into a scan target nmap cannot misread.

Why this module exists: every target ends up on nmap's command line, and nmap is a very
permissive program. It reads ``-iL file`` as an input list, ``-oN file`` as an output file,
``127.0.0.1-5`` or ``10.0.*.1`` as address ranges, ``127.1`` or ``0x7f.1`` as 127.0.0.1 (via
``inet_aton``), and a hostname with ``/16`` as a whole network. A single inventory cell such as
``"10.0.0.1 -oN /etc/cron.d/x"`` must therefore never get near nmap. We accept only a small,
well-defined language — one IP address, one CIDR range, one DNS host name, optionally with a
port or as an ``http(s)://`` URL — and turn it into a canonical :class:`Target`. Everything else
is refused with :class:`~secaudit.errors.InvalidTargetError` *before* any process is started.

The rules are deliberately stricter than the RFCs (no ``%`` scope ids, no ``_`` in host names,
no ``&`` or ``;`` in URL paths): a refused exotic target costs the user one edit, an accepted
hostile one could cost the agency its scanner host.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from secaudit.errors import InvalidTargetError

__all__ = ["Target", "TargetKind", "check_width", "cidr_size", "parse_target"]

TargetKind = Literal["ip", "cidr", "hostname"]

#: Longest input we look at at all; URLs with long paths are fine, megabyte "targets" are not.
MAX_INPUT_LEN = 2048
#: RFC 1035 limit for a host name written without the trailing dot.
MAX_HOSTNAME_LEN = 253

# Characters with a meaning to a shell, to nmap's target syntax (``,`` and ``*`` are ranges),
# to URLs (``@`` separates credentials) or to IPv6 zone ids (``%``). None of them can appear in
# a target we accept, even inside a URL path (the path is discarded anyway).
_FORBIDDEN_CHARS = frozenset(";|&$`<>(){}\\'\"!*,^~@%+=?#")
_URL_PATH_FORBIDDEN = frozenset(";|&$`<>(){}\\'\"!*,^~@")

_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII)
_HEX_LITERAL_RE = re.compile(r"0x[0-9a-f]*", re.ASCII)
_PORT_RE = re.compile(r"[1-9][0-9]{0,4}", re.ASCII)
_CIDR_RE = re.compile(r"([0-9a-fA-F:.]+)/(0|[1-9][0-9]{0,2})", re.ASCII)
_BRACKET_RE = re.compile(r"\[([0-9a-fA-F:.]+)\](?::([^:]*))?", re.ASCII)
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)

_DEFAULT_URL_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Target:
    """One canonical scan target.

    ``value`` is already normalised (lower-case host name without trailing dot, compressed IPv6,
    CIDR with host bits cleared). ``port`` is set only when the user wrote one, either as
    ``host:port``/``[v6]:port`` or implicitly through an ``http(s)://`` URL; nmap itself never
    sees it (nmap has no ``host:port`` syntax) — the caller folds it into the port list.
    """

    kind: TargetKind
    value: str
    port: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("ip", "cidr", "hostname"):
            raise InvalidTargetError(
                f"Loại mục tiêu không hợp lệ: {self.kind!r}",
                en=f"Invalid target kind: {self.kind!r}",
            )
        port = self.port
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
            raise InvalidTargetError(
                f"Cổng không hợp lệ: {self.port!r} (phải trong khoảng 1–65535)",
                en=f"Invalid port: {self.port!r} (must be in 1–65535)",
            )

    def nmap_arg(self) -> str:
        """The single argv item that names this target to nmap (always after ``--``)."""
        return self.value

    @property
    def ip_version(self) -> int | None:
        """4 or 6 for addresses and ranges, ``None`` for host names (resolved by nmap)."""
        if self.kind == "ip":
            return ipaddress.ip_address(self.value).version
        if self.kind == "cidr":
            return ipaddress.ip_network(self.value).version
        return None

    def __str__(self) -> str:
        if self.port is None:
            return self.value
        if self.kind == "ip" and ":" in self.value:
            return f"[{self.value}]:{self.port}"
        return f"{self.value}:{self.port}"


def _show(text: str) -> str:
    """A safe, short rendering of untrusted input for error messages (control chars escaped)."""
    shown = repr(text)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _refuse(text: str, vi: str, en: str) -> InvalidTargetError:
    return InvalidTargetError(
        f"Mục tiêu quét không hợp lệ: {_show(text)} ({vi})",
        en=f"Invalid scan target: {_show(text)} ({en})",
    )


def parse_target(text: str) -> Target:
    """Parse one target written by a user or an inventory into a canonical :class:`Target`.

    Accepted: an IPv4/IPv6 address, a CIDR range (IPv4 or IPv6, host bits are cleared), an
    RFC 1123 host name, ``host:port``, ``[v6]:port`` and ``http(s)://host[:port][/path]`` (the
    path is dropped, the port defaults to 80/443). Anything else raises
    :class:`InvalidTargetError` — the point is that nothing nmap could interpret as an option,
    an address range, a file or a shell construct ever gets through.
    """
    if not isinstance(text, str):
        raise InvalidTargetError(
            f"Mục tiêu quét phải là chuỗi ký tự, không phải {type(text).__name__}",
            en=f"Scan target must be a string, not {type(text).__name__}",
        )
    if not text:
        raise _refuse(text, "rỗng", "empty")
    if len(text) > MAX_INPUT_LEN:
        raise _refuse(text, "quá dài", "too long")
    if not text.isascii():
        raise _refuse(
            text,
            "chứa ký tự ngoài ASCII; tên miền quốc tế hãy viết dạng xn--",
            "contains non-ASCII characters; write internationalised names as xn--",
        )
    if any(ord(ch) <= 32 or ord(ch) == 127 for ch in text):
        raise _refuse(
            text,
            "chứa khoảng trắng hoặc ký tự điều khiển",
            "contains whitespace or control characters",
        )
    if text.startswith("-"):
        raise _refuse(text, "không được bắt đầu bằng dấu '-'", "must not start with '-'")

    scheme = _SCHEME_RE.match(text)
    if scheme:
        return _parse_url(text, scheme.group(1).lower(), text[scheme.end() :])
    if "://" in text or text.startswith("//"):
        raise _refuse(text, "URL không hợp lệ", "malformed URL")

    bad = _first_forbidden(text, _FORBIDDEN_CHARS)
    if bad is not None:
        if bad == "@":
            raise _refuse(
                text,
                "không được chứa '@' (tên người dùng/mật khẩu)",
                "must not contain '@' (user name/password)",
            )
        raise _refuse(text, f"chứa ký tự đặc biệt {bad!r}", f"contains the character {bad!r}")

    if "/" in text:
        return _parse_cidr(text)
    return _parse_host_port(text, text, default_port=None)


def _first_forbidden(text: str, forbidden: frozenset[str]) -> str | None:
    for ch in text:
        if ch in forbidden:
            return ch
    return None


def _parse_url(text: str, scheme: str, rest: str) -> Target:
    if scheme not in _DEFAULT_URL_PORTS:
        raise _refuse(
            text,
            f"chỉ chấp nhận URL http:// hoặc https://, không chấp nhận {scheme}://",
            f"only http:// and https:// URLs are accepted, not {scheme}://",
        )
    cut = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1:
            cut = min(cut, pos)
    authority, path = rest[:cut], rest[cut:]
    if "@" in authority:
        raise _refuse(
            text,
            "URL không được chứa tên người dùng/mật khẩu",
            "URL must not contain a user name or password",
        )
    bad = _first_forbidden(path, _URL_PATH_FORBIDDEN)
    if bad is not None:
        raise _refuse(text, f"đường dẫn URL chứa ký tự {bad!r}", f"URL path contains {bad!r}")
    if not authority:
        raise _refuse(text, "URL thiếu tên máy", "URL has no host")
    bad = _first_forbidden(authority, _FORBIDDEN_CHARS)
    if bad is not None:
        raise _refuse(text, f"chứa ký tự đặc biệt {bad!r}", f"contains the character {bad!r}")
    return _parse_host_port(text, authority, default_port=_DEFAULT_URL_PORTS[scheme])


def _parse_port(text: str, raw: str) -> int:
    if not _PORT_RE.fullmatch(raw) or not 1 <= int(raw) <= 65535:
        raise _refuse(text, "cổng phải là số từ 1 đến 65535", "port must be a number in 1–65535")
    return int(raw)


def _check_address(text: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Refuse addresses that name no single host: a scan of them means something else entirely.

    ``0.0.0.0``/``::`` mean "this host" to some stacks and "any" to others, a broadcast or
    multicast address reaches every listener on a segment, and ``::ffff:10.0.0.1`` is an IPv4
    host in disguise that would slip past IPv4 scope rules. Returns the canonical text.
    """
    if address.is_unspecified:
        raise _refuse(text, "địa chỉ không xác định (0.0.0.0 hoặc ::) không phải một máy chủ",
                      "the unspecified address (0.0.0.0 or ::) is not a host")
    if isinstance(address, ipaddress.IPv4Address) and address == ipaddress.IPv4Address("255.255.255.255"):
        raise _refuse(text, "địa chỉ quảng bá (broadcast) không phải một máy chủ", "a broadcast address is not a host")
    if address.is_multicast:
        raise _refuse(text, "địa chỉ multicast không phải một máy chủ", "a multicast address is not a host")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise _refuse(text, f"địa chỉ IPv4 viết dạng IPv6 (::ffff:…); hãy ghi thẳng {address.ipv4_mapped}",
                      f"an IPv4-mapped IPv6 address; write {address.ipv4_mapped} instead")
    return str(address)


def _parse_cidr(text: str) -> Target:
    match = _CIDR_RE.fullmatch(text)
    if not match:
        raise _refuse(text, "dải CIDR không hợp lệ", "invalid CIDR range")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _refuse(text, "dải CIDR không hợp lệ", "invalid CIDR range") from None
    if network.num_addresses == 1:
        _check_address(text, network.network_address)
    elif network.is_multicast:
        raise _refuse(text, "dải multicast không phải các máy chủ", "a multicast range is not hosts")
    elif isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
        raise _refuse(text, "dải IPv4 viết dạng IPv6 (::ffff:…); hãy ghi dải IPv4",
                      "an IPv4-mapped IPv6 range; write the IPv4 range instead")
    return Target("cidr", network.with_prefixlen)


def _parse_host_port(text: str, hostport: str, *, default_port: int | None) -> Target:
    if hostport.startswith("["):
        match = _BRACKET_RE.fullmatch(hostport)
        if not match:
            raise _refuse(text, "địa chỉ IPv6 trong [] không hợp lệ", "malformed [IPv6] address")
        try:
            address = ipaddress.IPv6Address(match.group(1))
        except ValueError:
            raise _refuse(text, "địa chỉ IPv6 không hợp lệ", "invalid IPv6 address") from None
        port = default_port if match.group(2) is None else _parse_port(text, match.group(2))
        return Target("ip", _check_address(text, address), port)
    if "[" in hostport or "]" in hostport:
        raise _refuse(text, "dấu [] đặt sai chỗ", "misplaced brackets")

    colons = hostport.count(":")
    if colons >= 2:
        # A bare IPv6 address; a port needs the [v6]:port form to be unambiguous.
        if default_port is not None:
            raise _refuse(text, "URL có IPv6 phải đặt địa chỉ trong []", "IPv6 in a URL needs []")
        try:
            address6 = ipaddress.IPv6Address(hostport)
        except ValueError:
            raise _refuse(text, "địa chỉ IPv6 không hợp lệ", "invalid IPv6 address") from None
        return Target("ip", _check_address(text, address6))

    port = default_port
    host = hostport
    if colons == 1:
        host, raw_port = hostport.split(":")
        port = _parse_port(text, raw_port)
    if not host:
        raise _refuse(text, "thiếu tên máy", "missing host")
    try:
        address4 = ipaddress.IPv4Address(host)
    except ValueError:
        return Target("hostname", _normalise_hostname(text, host), port)
    return Target("ip", _check_address(text, address4), port)


def _normalise_hostname(text: str, host: str) -> str:
    name = host.lower()
    name = name.removesuffix(".")
    if len(name) > MAX_HOSTNAME_LEN:
        raise _refuse(text, "tên máy dài quá 253 ký tự", "host name longer than 253 characters")
    labels = name.split(".")
    if any(not label for label in labels):
        raise _refuse(
            text,
            "có dấu chấm thừa ở đầu, ở cuối hoặc hai dấu chấm liền nhau",
            "has a leading, trailing or doubled dot",
        )
    for label in labels:
        if not _LABEL_RE.fullmatch(label):
            raise _refuse(
                text,
                f"nhãn {label[:63]!r} không hợp lệ (chỉ gồm chữ, số, '-', không bắt đầu/kết thúc "
                "bằng '-', tối đa 63 ký tự)",
                f"label {label[:63]!r} is invalid (letters, digits and '-', not at either end, at most 63 characters)",
            )
    last = labels[-1]
    if not any(ch.isalpha() for ch in last) or _HEX_LITERAL_RE.fullmatch(last):
        # 127.1, 0x7f.1, 10.0.0.1-5 and friends: nmap or inet_aton would read them as
        # addresses or ranges. Real top-level domains always contain a letter.
        raise _refuse(
            text,
            "không phải địa chỉ IP hợp lệ, cũng không phải tên máy (phần cuối toàn số); "
            "nmap sẽ hiểu thành địa chỉ hoặc dải địa chỉ khác",
            "neither a valid IP address nor a host name (numeric last label); "
            "nmap would read it as some other address or range",
        )
    return name


def cidr_size(target: Target) -> int:
    """How many addresses nmap will scan for ``target`` (1 for an address or a host name)."""
    if target.kind == "cidr":
        return ipaddress.ip_network(target.value).num_addresses
    return 1


def check_width(
    target: Target,
    max_prefix_v4: int = 24,
    max_prefix_v6: int = 120,
    allow_large: bool = False,
) -> None:
    """Refuse a CIDR range wider than the limit unless ``allow_large`` is set.

    A typo such as ``10.0.0.0/8`` instead of ``/28`` turns an audit of one server room into a
    scan of a whole ministry network; that has to be a deliberate decision, not an accident.
    """
    if target.kind != "cidr" or allow_large:
        return
    network = ipaddress.ip_network(target.value)
    limit = max_prefix_v4 if network.version == 4 else max_prefix_v6
    if network.prefixlen < limit:
        raise InvalidTargetError(
            f"Dải địa chỉ quá rộng: {target.value} ({network.num_addresses} địa chỉ); giới hạn là "
            f"/{limit} — chỉ quét dải lớn hơn khi đã được cho phép rõ ràng",
            en=f"Address range too wide: {target.value} ({network.num_addresses} addresses); the "
            f"limit is /{limit} — scan wider ranges only when explicitly allowed",
        )
