"""Targets and options are refused before any process starts.

The hostile corpora below go through the same path a scan takes (parse → build_argv → run_nmap)
with a stand-in executable that writes a marker file when started; the marker must never appear.
A control case proves the stand-in does write the marker when the input is fine.
"""

from __future__ import annotations

import os

import pytest

from secaudit.errors import InvalidTargetError
from secaudit.scanning import (
    ALLOWED_SCRIPTS,
    BASE_ARGS,
    Target,
    build_argv,
    check_width,
    cidr_size,
    parse_target,
    run_nmap,
    validate_options,
    validate_ports,
)


def scan_flow(marker_binary, target_text: str, *, options: list[str] | None = None, ports: str = "80") -> None:
    """What a scan does with user input, down to starting the (stand-in) binary."""
    target = parse_target(target_text)
    argv = build_argv([target], ports=ports, options=options or [], nmap_binary=str(marker_binary.path))
    run_nmap(argv, timeout=10)


# --------------------------------------------------------------------------------------------
# Good targets
# --------------------------------------------------------------------------------------------

GOOD = [
    ("127.0.0.1", "ip", "127.0.0.1", None),
    ("10.20.30.40", "ip", "10.20.30.40", None),
    ("::1", "ip", "::1", None),
    ("2001:DB8:0:0:0:0:0:1", "ip", "2001:db8::1", None),
    ("[2001:db8::1]:8443", "ip", "2001:db8::1", 8443),
    ("[::1]", "ip", "::1", None),
    ("10.0.0.7/24", "cidr", "10.0.0.0/24", None),
    ("192.168.1.0/32", "cidr", "192.168.1.0/32", None),
    ("2001:db8::5/64", "cidr", "2001:db8::/64", None),
    ("portal.gov.vn", "hostname", "portal.gov.vn", None),
    ("Portal.Example.GOV.VN.", "hostname", "portal.example.gov.vn", None),
    ("localhost", "hostname", "localhost", None),
    ("db-01.internal", "hostname", "db-01.internal", None),
    ("1-2.example.com", "hostname", "1-2.example.com", None),
    ("xn--bcher-kva.example", "hostname", "xn--bcher-kva.example", None),
    ("mail.example.com:25", "hostname", "mail.example.com", 25),
    ("127.0.0.1:8080", "ip", "127.0.0.1", 8080),
    ("http://example.com", "hostname", "example.com", 80),
    ("https://Example.com/", "hostname", "example.com", 443),
    ("HTTPS://portal.gov.vn:8443/dich-vu/index.php?lang=vi#top", "hostname", "portal.gov.vn", 8443),
    ("http://10.0.0.5:8080/app", "ip", "10.0.0.5", 8080),
    ("https://[2001:db8::1]/", "ip", "2001:db8::1", 443),
    ("https://[::1]:9443/x", "ip", "::1", 9443),
    ("a" * 63 + ".com", "hostname", "a" * 63 + ".com", None),
    (".".join(["a" * 61] * 4), "hostname", ".".join(["a" * 61] * 4), None),
]


@pytest.mark.parametrize(("text", "kind", "value", "port"), GOOD)
def test_good_targets_normalise(text: str, kind: str, value: str, port: int | None) -> None:
    target = parse_target(text)
    assert (target.kind, target.value, target.port) == (kind, value, port)
    assert target.nmap_arg() == value
    # Canonical values parse to themselves: normalisation is idempotent.
    assert parse_target(target.value) == Target(kind, value)  # type: ignore[arg-type]


def test_target_str_and_family() -> None:
    assert str(parse_target("[::1]:8443")) == "[::1]:8443"
    assert str(parse_target("example.com:22")) == "example.com:22"
    assert parse_target("::1").ip_version == 6
    assert parse_target("10.0.0.0/8").ip_version == 4
    assert parse_target("example.com").ip_version is None


# --------------------------------------------------------------------------------------------
# Hostile targets
# --------------------------------------------------------------------------------------------

HOSTILE_TARGETS = [
    "-iL /etc/passwd",
    "-iL",
    "127.0.0.1 -oN file",
    "127.0.0.1 --script x",
    "; rm -rf /",
    "$(id)",
    "`id`",
    "127.0.0.1\n-oN x",
    "127.0.0.1\r",
    "--datadir=/tmp",
    "-",
    "--",
    "-sS",
    "file:///etc/passwd",
    "ftp://example.com/",
    "gopher://127.0.0.1:25/",
    "javascript:alert(1)",
    "http://user:pw@host/",
    "http://user@host/",
    "https://example.com@evil.example/",
    "http:///path-without-host",
    "http://example.com:99999/",
    "http://example.com/a;id",
    "127.0.0.1-5",
    "127.0.0.*",
    "10.0.0.1,2",
    "10.0-3.0.1",
    "127.1",
    "0x7f.1",
    "0x7f000001",
    "2130706433",
    "010.0.0.1",
    "256.1.1.1",
    "1.2.3.4.5",
    "127.0.0.1.",
    "exаmple.com",  # Cyrillic а (U+0430)
    "exa\u200bmple.com",  # zero-width space
    "\u212aelvin.example",  # Kelvin sign lower-cases to ASCII k
    "127.0.0.1\x00",
    "host\x7f",
    "a" * 64 + ".com",
    "a." * 127 + "com",
    "x" * 5000,
    "..",
    ".",
    "example..com",
    ".example.com",
    "example.com..",
    "-example.com",
    "example-.com",
    "_dmarc.example.com",
    "example.com/24",
    "10.0.0.0/33",
    "10.0.0.0/255.0.0.0",
    "10.0.0.0/8/8",
    "fe80::1%eth0",
    "[127.0.0.1]:80",
    "[::1]:0",
    "[::1]:99999",
    "[::1",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "127.0.0.1:080",
    "host:80:90",
    "host:-1",
    "host:",
    ":80",
    "",
    " ",
    "\t127.0.0.1",
    "127.0.0.1 ",
    "host|id",
    "host&",
    "host>out",
    "<x>",
    "a'b",
    'a"b',
    "\\\\server\\share",
    "${IFS}",
    # no single host: unspecified, broadcast, multicast, IPv4 hidden in IPv6 (issue 13)
    "0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1", "::ffff:192.0.2.1", "[::ffff:127.0.0.1]:80",
    "host{1,2}",
    "%0a",
    "host!",
    "host~",
]


def test_hostile_corpus_is_large_enough() -> None:
    assert len(HOSTILE_TARGETS) >= 30


@pytest.mark.parametrize("text", HOSTILE_TARGETS, ids=lambda t: repr(t)[:40])
def test_hostile_target_refused_before_anything_runs(text: str, marker_binary) -> None:
    with pytest.raises(InvalidTargetError) as info:
        scan_flow(marker_binary, text)
    assert info.value.message.startswith("Mục tiêu quét không hợp lệ: ")
    assert info.value.en
    assert not marker_binary.ran


def test_error_message_is_bilingual_and_escaped() -> None:
    with pytest.raises(InvalidTargetError) as info:
        parse_target("127.0.0.1\n-oN x")
    err = info.value
    assert err.message.startswith("Mục tiêu quét không hợp lệ: ")
    assert err.en is not None and err.en.startswith("Invalid scan target: ")
    assert "\n" not in err.message and "\\n" in err.message  # control characters shown escaped


def test_non_string_target_refused() -> None:
    with pytest.raises(InvalidTargetError):
        parse_target(2130706433)  # type: ignore[arg-type]


def test_control_case_marker_binary_does_run(marker_binary) -> None:
    """Without this, 'the marker never appeared' would prove nothing."""
    scan_flow(marker_binary, "127.0.0.1", options=["-sV"])
    assert marker_binary.ran
    recorded = marker_binary.marker.read_text().split()
    assert recorded[-2:] == ["--", "127.0.0.1"]


HANDMADE = [
    Target("hostname", "-iL /etc/passwd"),
    Target("hostname", "example.com -oN x"),
    Target("ip", "127.0.0.1 --script=vuln"),
    Target("ip", "127.0.0.1-5"),
    Target("cidr", "10.0.0.1/24"),  # not canonical: nmap would get host bits
    Target("ip", "example.com"),  # wrong kind
    Target("hostname", "127.0.0.1"),
    Target("hostname", "Example.COM"),
]


@pytest.mark.parametrize("target", HANDMADE, ids=lambda t: t.value)
def test_hand_built_targets_are_revalidated(target: Target, marker_binary) -> None:
    with pytest.raises(InvalidTargetError):
        run_nmap(build_argv([target], ports="80", nmap_binary=str(marker_binary.path)))
    assert not marker_binary.ran


def test_target_rejects_bad_kind_and_port() -> None:
    with pytest.raises(InvalidTargetError):
        Target("url", "example.com")  # type: ignore[arg-type]
    with pytest.raises(InvalidTargetError):
        Target("hostname", "example.com", 0)
    with pytest.raises(InvalidTargetError):
        Target("hostname", "example.com", True)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Width checks
# --------------------------------------------------------------------------------------------


def test_cidr_size() -> None:
    assert cidr_size(parse_target("10.0.0.0/24")) == 256
    assert cidr_size(parse_target("10.0.0.9/30")) == 4
    assert cidr_size(parse_target("2001:db8::/120")) == 256
    assert cidr_size(parse_target("10.0.0.9")) == 1
    assert cidr_size(parse_target("example.com")) == 1


def test_check_width() -> None:
    check_width(parse_target("10.0.0.0/24"))
    check_width(parse_target("10.0.0.0/28"))
    check_width(parse_target("2001:db8::/120"))
    check_width(parse_target("example.com"))
    for wide in ("10.0.0.0/23", "10.0.0.0/8", "0.0.0.0/0", "2001:db8::/64"):
        with pytest.raises(InvalidTargetError) as info:
            check_width(parse_target(wide))
        assert "quá rộng" in info.value.message
        check_width(parse_target(wide), allow_large=True)
    check_width(parse_target("10.0.0.0/16"), max_prefix_v4=16)
    with pytest.raises(InvalidTargetError):
        check_width(parse_target("10.0.0.0/24"), max_prefix_v4=26)


# --------------------------------------------------------------------------------------------
# Ports and options
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ports", ["80", "T:22,80,443", "1-65535", "22,8000-8100,8443", "65535"])
def test_good_ports(ports: str) -> None:
    assert validate_ports(ports) == ports


BAD_PORTS = [
    "",
    "0",
    "65536",
    "1-",
    "-",
    "-p-",
    "80,",
    ",80",
    "U:53",
    "T:U:53",
    "http",
    "1-70000",
    "100-10",
    "80;id",
    "80 -oN x",
    "80\n",
    "t:80",
    "0x50",
    "+80",
    "1" * 2000,
]


@pytest.mark.parametrize("ports", BAD_PORTS, ids=lambda p: repr(p)[:30])
def test_bad_ports_refused(ports: str, marker_binary) -> None:
    with pytest.raises(InvalidTargetError):
        scan_flow(marker_binary, "127.0.0.1", ports=ports)
    assert not marker_binary.ran


HOSTILE_OPTIONS = [
    ["-iL", "x"],
    ["-iL/etc/passwd"],
    ["-oN", "x"],
    ["-oX", "/tmp/x"],
    ["-oA", "x"],
    ["-oG", "-"],
    ["--script=/tmp/evil.nse"],
    ["--script=../x"],
    ["--script=default"],
    ["--script=vuln"],
    ["--script", "ssl-cert,vuln"],
    ["--script=ssl-*"],
    ["--script=not intrusive"],
    ["--script=http-title,/tmp/x.nse"],
    ["--script=SSL-CERT"],
    ["--script="],
    ["--script=ssl-cert", "--script=http-title"],
    ["--datadir", "/tmp"],
    ["--datadir=/tmp"],
    ["--resume", "f"],
    ["--stylesheet", "http://x"],
    ["--script-args-file", "x"],
    ["--script-args", "http.useragent=x,creds.global=a:b"],
    ["--script-args=newtargets"],
    ["--script-args=tls.servername=-oN"],
    ["--script-args=http.useragent={a}"],
    ["-e", "lo"],
    ["--proxies", "x"],
    ["--excludefile", "x"],
    ["--exclude", "10.0.0.1"],
    ["-sS"],
    ["--servicedb", "x"],
    ["--versiondb", "x"],
    ["--spoof-mac", "0"],
    ["-D", "RND:10"],
    ["-S", "1.2.3.4"],
    ["--data-string", "x"],
    ["-O"],
    ["-A"],
    ["-sU"],
    ["-6"],
    ["--privileged"],
    ["--unprivileged"],
    ["--send-eth"],
    ["-T6"],
    ["-T4", "-T5"],
    ["--version-light", "--version-all"],
    ["-sV", "-sV"],
    ["--host-timeout", "-oN"],
    ["--host-timeout"],
    ["--host-timeout=30s;id"],
    ["--host-timeout=30 s"],
    ["--max-retries=999"],
    ["--version-intensity=10"],
    ["--min-rate=0"],
    ["127.0.0.1"],
    ["-sV", "-iL/etc/passwd"],
    ["--scri=ssl-cert"],
    ["-script=ssl-cert"],
    ["-sV=1"],
    ["--version-light=1"],
    ["-v"],
    ["-d"],
    ["--packet-trace"],
    ["--iflist"],
    ["--"],
    ["-p", "1-65535"],
    ["--top-ports", "1000"],
    ["--script-updatedb"],
    ["-sT\x00"],
    ["--host-timeout", "３０s"],  # full-width digits
]


def test_hostile_option_corpus_is_large_enough() -> None:
    assert len(HOSTILE_OPTIONS) >= 15


@pytest.mark.parametrize("options", HOSTILE_OPTIONS, ids=lambda o: repr(o)[:50])
def test_hostile_options_refused_before_anything_runs(options: list[str], marker_binary) -> None:
    with pytest.raises(InvalidTargetError) as info:
        scan_flow(marker_binary, "127.0.0.1", options=options)
    assert info.value.en
    assert not marker_binary.ran


def test_options_as_a_single_string_refused() -> None:
    with pytest.raises(InvalidTargetError):
        build_argv([parse_target("127.0.0.1")], ports="80", options="-sV")  # type: ignore[arg-type]


def test_script_error_names_the_allow_list() -> None:
    with pytest.raises(InvalidTargetError) as info:
        validate_options(["--script=vuln"])
    assert "ssl-enum-ciphers" in info.value.message


def test_options_canonicalised() -> None:
    options = [
        "-sV",
        "--version-intensity",
        "5",
        "--host-timeout",
        "30s",
        "--script",
        "ssl-cert,ssl-enum-ciphers",
        "--script-args=tls.servername=portal.gov.vn,http.useragent=secaudit/0.1",
        "-T4",
        "--max-retries=2",
        "--min-rate",
        "10.5",
        "--stats-every=10s",
    ]
    assert validate_options(options) == [
        "-sV",
        "--version-intensity=5",
        "--host-timeout=30s",
        "--script=ssl-cert,ssl-enum-ciphers",
        "--script-args=tls.servername=portal.gov.vn,http.useragent=secaudit/0.1",
        "-T4",
        "--max-retries=2",
        "--min-rate=10.5",
        "--stats-every=10s",
    ]


def test_every_allowed_script_is_accepted_alone() -> None:
    for name in sorted(ALLOWED_SCRIPTS):
        assert validate_options([f"--script={name}"]) == [f"--script={name}"]


def test_argv_layout() -> None:
    targets = [parse_target("10.0.0.1"), parse_target("https://portal.gov.vn"), parse_target("portal.gov.vn:22")]
    argv = build_argv(targets, ports="22,443", options=["-sV"], nmap_binary="/usr/bin/nmap")
    assert argv == [
        "/usr/bin/nmap",
        "-sT",
        *BASE_ARGS,
        "--unprivileged",
        "-p",
        "22,443",
        "-sV",
        "--",
        "10.0.0.1",
        "portal.gov.vn",
    ]
    assert {"-Pn", "-n", "-oX", "--noninteractive", "--no-stylesheet"} <= set(argv)
    # Fresh list every time: callers may mutate it.
    argv.append("mutated")
    assert build_argv(targets, ports="22,443", options=["-sV"], nmap_binary="/usr/bin/nmap")[-1] == "portal.gov.vn"


def test_argv_with_command_prefix_and_ipv6() -> None:
    argv = build_argv([parse_target("::1")], ports="80", nmap_binary=["ip", "netns", "exec", "ns1", "nmap"])
    assert argv[:6] == ["ip", "netns", "exec", "ns1", "nmap", "-sT"]
    assert "-6" in argv and argv[-2:] == ["--", "::1"]


def test_empty_target_list_checks_options_only() -> None:
    assert build_argv([], ports="80")[-1] == "--"
    with pytest.raises(InvalidTargetError):
        build_argv([], ports="80", options=["-iL", "x"])


def test_bad_target_containers_refused() -> None:
    with pytest.raises(InvalidTargetError):
        build_argv("127.0.0.1", ports="80")  # type: ignore[arg-type]
    with pytest.raises(InvalidTargetError):
        build_argv(["127.0.0.1"], ports="80")  # type: ignore[list-item]


def test_mixing_ipv4_and_ipv6_refused() -> None:
    with pytest.raises(InvalidTargetError):
        build_argv([parse_target("127.0.0.1"), parse_target("::1")], ports="80")


def test_syn_scan_needs_privileged_flag_and_root() -> None:
    target = [parse_target("127.0.0.1")]
    with pytest.raises(InvalidTargetError):
        build_argv(target, ports="80", options=["-sS"])
    if os.geteuid() == 0:
        argv = build_argv(target, ports="80", options=["-sS"], privileged=True)
        assert "-sS" in argv and "-sT" not in argv and "--unprivileged" not in argv
    else:
        with pytest.raises(InvalidTargetError):
            build_argv(target, ports="80", options=["-sS"], privileged=True)


def test_bad_binary_refused() -> None:
    from secaudit.errors import ScanError

    for binary in ("", "-iL", ["ip", ""], []):
        with pytest.raises(ScanError):
            build_argv([parse_target("127.0.0.1")], ports="80", nmap_binary=binary)
