"""Parsing nmap XML recorded from real scans, plus damaged and hostile variants of it.

The files in ``data/`` were produced by nmap 7.93 through ``build_argv`` + ``run_nmap``:

* ``loopback-services.xml`` — 127.0.7.1 with an HTTPS portal on 8443 (Python ``ssl``, self-signed
  ``openssl req -x509`` certificate with a Vietnamese O=, TLS 1.0–1.3 and anonymous ciphers
  enabled), a hostile HTTP service on 8080 (``Server: url(http://127.0.0.1:9/x)``, header
  ``X-Hostile: <script>alert(1)</script>``, a ``<script>`` in the page, a title with entity-escaped
  markup, ``{{7*7}}`` and ``${jndi:…}``), an SMTP-like banner with HTML and ANSI escapes on 18025,
  and a bound-but-not-listening port 18099; plus 127.0.7.2 with nothing listening. Options:
  ``-sV --script=ssl-cert,ssl-enum-ciphers,http-title,http-headers,http-server-header,banner``.
* ``ssh-algos.xml`` — ``-sV --script=ssh2-enum-algos,banner`` against a minimal SSH server
  (banner + KEXINIT offering weak algorithms).
* ``host-timeout.xml`` — ``--scan-delay=300ms --host-timeout=1s -p 1-100`` (nmap gives up).
* ``blackhole.xml`` — ``ip netns exec NS nmap`` against 127.0.5.5 routed to ``blackhole``.
* ``with-stylesheet.xml`` — nmap run directly without ``--no-stylesheet`` (has the xsl PI).

http-title cannot carry a literal ``<`` (NSE's pattern stops at it), so the raw ``<script>``
reaches the XML through http-headers and the ``-sV`` fingerprint instead.
"""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secaudit.errors import ScanError
from secaudit.scanning import MAX_TEXT, HostResult, ScanResult, iter_hosts, load_xml, parse_xml


def load(data: Path, name: str) -> ScanResult:
    return parse_xml((data / name).read_bytes())


@pytest.fixture(scope="module")
def services(scanner_data: Path) -> ScanResult:
    return load(scanner_data, "loopback-services.xml")


@pytest.fixture(scope="module")
def portal(services: ScanResult) -> HostResult:
    return services.host_map()["127.0.7.1"]


def test_scan_metadata(services: ScanResult) -> None:
    assert services.complete is True
    assert services.error is None
    assert services.nmap_version == "7.93"
    assert services.args is not None and services.args.startswith("nmap -sT -Pn -n --no-stylesheet -oX -")
    assert services.started is not None and services.finished is not None
    assert services.started.tzinfo is UTC and services.finished >= services.started
    assert [h.address for h in services.hosts] == ["127.0.7.1", "127.0.7.2"]


def test_ports_and_states(portal: HostResult) -> None:
    assert portal.state == "up" and portal.nmap_state == "up" and portal.reason == "user-set"
    assert portal.addrtype == "ipv4" and portal.hostnames == [] and not portal.timed_out
    assert {p.port: p.state for p in portal.ports} == {8080: "open", 8443: "open", 18025: "open", 18099: "closed"}
    assert [p.port for p in portal.open_ports] == [8080, 8443, 18025]
    closed = portal.port(18099)
    assert closed is not None and closed.reason == "conn-refused" and closed.scripts == {}
    assert portal.port(9999) is None


def test_nothing_listening_host_is_up_with_closed_ports(services: ScanResult) -> None:
    empty = services.host_map()["127.0.7.2"]
    # The kernel answers RST for every 127/8 address, so nmap has proof the host exists.
    assert empty.state == "up"
    assert {p.state for p in empty.ports} == {"closed"}
    assert {p.reason for p in empty.ports} == {"conn-refused"}


def test_tls_service(portal: HostResult) -> None:
    https = portal.port(8443)
    assert https is not None
    assert https.tunnel == "ssl"
    assert https.service == "https-alt" and https.method == "probed"
    assert https.product == "secaudit-test-portal/1.0"
    assert set(https.scripts) >= {"ssl-cert", "ssl-enum-ciphers", "http-title", "http-headers"}
    plain = portal.port(8080)
    assert plain is not None and plain.tunnel is None


def test_ssl_enum_ciphers_structured(portal: HostResult) -> None:
    https = portal.port(8443)
    assert https is not None
    data = https.scripts["ssl-enum-ciphers"].data
    assert isinstance(data, dict)
    assert [k for k in data if k.startswith("TLS")] == ["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert data["least strength"] == "F"
    tls10 = data["TLSv1.0"]
    assert isinstance(tls10["ciphers"], list)
    names = {c["name"] for c in tls10["ciphers"]}
    assert "TLS_ECDH_anon_WITH_AES_256_CBC_SHA" in names
    grades = {c["name"]: c["strength"] for v in ("TLSv1.0", "TLSv1.2") for c in data[v]["ciphers"]}
    assert grades["TLS_ECDH_anon_WITH_AES_128_CBC_SHA"] == "F"
    assert grades["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"] == "A"
    assert set(grades.values()) <= set("ABCDEF")
    assert tls10["compressors"] == ["NULL"]
    assert tls10["cipher preference"] == "server"
    assert tls10["warnings"] == ["Anonymous key exchange, score capped at F"]
    assert data["TLSv1.3"]["ciphers"][0] == {
        "strength": "A",
        "name": "TLS_AKE_WITH_AES_256_GCM_SHA384",
        "kex_info": "ecdh_x25519",
    }
    assert "TLSv1.0:" in https.scripts["ssl-enum-ciphers"].output


def test_ssl_cert_structured(portal: HostResult) -> None:
    https = portal.port(8443)
    assert https is not None
    cert = https.scripts["ssl-cert"].data
    assert cert["subject"]["commonName"] == "secaudit-test.local"
    assert cert["subject"] == cert["issuer"]  # self-signed
    # nmap writes non-ASCII bytes as literal \xNN text; we keep what nmap wrote.
    assert cert["subject"]["organizationName"] == r"C\xC6\xA1 quan Th\xE1\xBB\xAD nghi\xE1\xBB\x87m"
    not_before = datetime.fromisoformat(cert["validity"]["notBefore"])
    not_after = datetime.fromisoformat(cert["validity"]["notAfter"])
    assert (not_after - not_before).days == 365
    assert cert["pubkey"]["type"] == "rsa" and cert["pubkey"]["bits"] == "2048"
    assert cert["sig_algo"] == "sha256WithRSAEncryption"
    assert cert["pem"].startswith("-----BEGIN CERTIFICATE-----\n")
    extensions = {e["name"]: e["value"] for e in cert["extensions"]}
    assert extensions["X509v3 Subject Alternative Name"] == "DNS:secaudit-test.local, IP Address:127.0.0.1"


def test_hostile_strings_kept_verbatim(portal: HostResult) -> None:
    plain = portal.port(8080)
    assert plain is not None
    assert plain.product == "url(http://127.0.0.1:9/x)"
    assert plain.scripts["http-server-header"].output == "url(http://127.0.0.1:9/x)"
    headers = plain.scripts["http-headers"].output
    assert "\n  Server: url(http://127.0.0.1:9/x)\n" in headers
    assert "X-Hostile: <script>alert(1)</script>" in headers
    title = plain.scripts["http-title"]
    assert title.data == {"title": "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} ${jndi:ldap://x}"}
    fingerprint = plain.scripts["fingerprint-strings"].data
    assert "<title>&lt;script&gt;" in fingerprint["FourOhFourRequest, GetRequest"]
    assert "<script>alert(1)</script>" in fingerprint["FourOhFourRequest, GetRequest"]
    banner = portal.port(18025)
    assert banner is not None
    assert banner.scripts["banner"].output == r"220 secaudit-test ESMTP <b>ready</b> \x1B[31mred\x1B[0m"
    assert banner.scripts["banner"].data is None


def test_ssh2_enum_algos(scanner_data: Path) -> None:
    result = load(scanner_data, "ssh-algos.xml")
    port = result.hosts[0].port(2222)
    assert port is not None and port.service == "ssh" and port.extrainfo == "protocol 2.0"
    algos = port.scripts["ssh2-enum-algos"].data
    assert algos["kex_algorithms"] == [
        "curve25519-sha256",
        "diffie-hellman-group14-sha256",
        "diffie-hellman-group1-sha1",
    ]
    assert "ssh-dss" in algos["server_host_key_algorithms"]
    assert "3des-cbc" in algos["encryption_algorithms"]
    assert algos["mac_algorithms"] == ["hmac-sha2-256", "hmac-md5"]
    assert port.scripts["banner"].output == "SSH-2.0-OpenSSH_7.4 <b>secaudit-test</b>"


def test_host_timeout_is_unknown(scanner_data: Path) -> None:
    result = load(scanner_data, "host-timeout.xml")
    assert result.complete
    host = result.hosts[0]
    assert host.timed_out is True
    assert host.nmap_state == "up"  # nmap still says "up" (user-set) …
    assert host.state == "unknown"  # … but nothing was learned, and its ports were discarded.
    assert host.ports == [] and host.extraports == {}


def test_blackholed_host_is_not_up(scanner_data: Path) -> None:
    result = load(scanner_data, "blackhole.xml")
    host = result.hosts[0]
    assert (host.nmap_state, host.reason) == ("up", "user-set")  # -Pn made nmap assume it
    assert host.state == "unknown"
    assert {p.state for p in host.ports} == {"filtered"}


def test_stylesheet_pi_and_doctype_variants_accepted(scanner_data: Path) -> None:
    result = load(scanner_data, "with-stylesheet.xml")
    assert result.complete and result.hosts[0].address == "127.0.7.4"
    raw = (scanner_data / "host-timeout.xml").read_bytes()
    for doctype in (
        b'<!DOCTYPE nmaprun PUBLIC "-//IDN nmap.org//DTD Nmap XML 1.04//EN" "https://svn.nmap.org/nmap/docs/nmap.dtd">',
        b'<!DOCTYPE nmaprun SYSTEM "file:///etc/passwd">',  # never fetched
        b"",
    ):
        assert parse_xml(raw.replace(b"<!DOCTYPE nmaprun>", doctype)).complete


# --------------------------------------------------------------------------------------------
# Damaged input
# --------------------------------------------------------------------------------------------


def _second_host_offset(raw: bytes) -> int:
    return raw.index(b"<host ", raw.index(b"</host>"))


@pytest.mark.parametrize(
    ("where", "complete_hosts"),
    [
        ("inside-attribute", ["127.0.7.1"]),
        ("between-elements", ["127.0.7.1"]),
        ("inside-second-host", ["127.0.7.1"]),
        ("before-runstats", ["127.0.7.1", "127.0.7.2"]),
    ],
)
def test_truncated_file_returns_what_was_complete(scanner_data: Path, where: str, complete_hosts: list[str]) -> None:
    raw = (scanner_data / "loopback-services.xml").read_bytes()
    second = _second_host_offset(raw)
    cut = {
        "inside-attribute": raw.index(b'addr="127.0.7.2') + 10,
        "between-elements": second,
        "inside-second-host": raw.index(b"</ports>", second),
        "before-runstats": raw.index(b"<runstats>"),
    }[where]
    result = parse_xml(raw[:cut])
    assert result.complete is False
    assert result.error is not None and result.error.startswith("truncated XML at line ")
    assert [h.address for h in result.hosts] == complete_hosts
    assert result.hosts[0].port(8443) is not None
    assert result.nmap_version == "7.93" and result.finished is None


def test_truncated_in_the_middle_of_the_first_host(scanner_data: Path) -> None:
    raw = (scanner_data / "loopback-services.xml").read_bytes()
    result = parse_xml(raw[: len(raw) // 2])
    assert not result.complete and result.hosts == [] and result.error is not None


def test_truncated_stream_sets_error_on_result(scanner_data: Path, tmp_path: Path) -> None:
    raw = (scanner_data / "loopback-services.xml").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(raw[: raw.index(b"<runstats>") + 5])
    stream = iter_hosts(path)
    assert [h.address for h in stream] == ["127.0.7.1", "127.0.7.2"]
    assert stream.result.complete is False
    assert stream.result.error is not None and "truncated" in stream.result.error
    assert load_xml(path).error == stream.result.error


def test_no_runstats_is_incomplete(scanner_data: Path) -> None:
    raw = (scanner_data / "host-timeout.xml").read_bytes()
    start, end = raw.index(b"<runstats>"), raw.index(b"</runstats>") + len(b"</runstats>")
    result = parse_xml(raw[:start] + raw[end:])
    assert not result.complete and result.error is not None and "finished" in result.error


def test_nmap_error_exit_is_incomplete(scanner_data: Path) -> None:
    raw = (scanner_data / "host-timeout.xml").read_bytes()
    raw = raw.replace(b'exit="success"', b'exit="error" errormsg="Failed to open device lo"')
    result = parse_xml(raw)
    assert not result.complete
    assert result.error == "nmap reported exit=error: Failed to open device lo"


def test_junk_after_document_is_incomplete(scanner_data: Path) -> None:
    raw = (scanner_data / "host-timeout.xml").read_bytes()
    result = parse_xml(raw + b"<nmaprun>again</nmaprun>")
    assert not result.complete and result.error is not None and result.error.startswith("malformed XML")
    assert len(result.hosts) == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"garbage",
        b"\x00\x01\x02binary\xff",
        b'{"json": true}',
        b"Starting Nmap 7.93 ( https://nmap.org )\nNmap scan report for 127.0.0.1\n",
        b"<html><body>not nmap</body></html>",
        b"<<<>>>",
    ],
    ids=lambda d: repr(d)[:30],
)
def test_garbage_raises_scan_error(data: bytes) -> None:
    with pytest.raises(ScanError):
        parse_xml(data)


@pytest.mark.parametrize("keep", ["declaration", "doctype", "comment", "half-root-tag", "root-tag"])
def test_output_cut_before_any_host_is_an_empty_incomplete_scan(scanner_data: Path, keep: str) -> None:
    """nmap killed right after starting: not garbage, just an incomplete scan with no hosts."""
    raw = (scanner_data / "loopback-services.xml").read_bytes()
    cut = {
        "declaration": raw.index(b"<!DOCTYPE"),
        "doctype": raw.index(b"<!--"),
        "comment": raw.index(b"<!--") + 30,
        "half-root-tag": raw.index(b"<nmaprun") + 40,
        "root-tag": raw.index(b"<scaninfo"),
    }[keep]
    if keep == "declaration":
        with pytest.raises(ScanError):  # nothing says this was going to be nmap output
            parse_xml(raw[:cut])
        return
    result = parse_xml(raw[:cut])
    assert result.complete is False and result.hosts == []
    assert result.error is not None and result.error.startswith("truncated XML")


def test_missing_file_raises_scan_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError):
        load_xml(tmp_path / "absent.xml")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<nmaprun scanner="nmap" args="&lol9;" version="7.93"></nmaprun>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<nmaprun scanner="nmap" version="7.93"><host><status state="up" reason="x"/>
<address addr="127.0.0.1" addrtype="ipv4"/><hostnames><hostname name="&xxe;"/></hostnames></host></nmaprun>
"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]>
<nmaprun scanner="nmap" version="7.93"></nmaprun>
"""

UNPARSED_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE nmaprun [<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "file:///etc/passwd" NDATA n>]>
<nmaprun scanner="nmap" version="7.93"></nmaprun>
"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, XXE, PARAMETER_ENTITY, UNPARSED_ENTITY],
    ids=["billion-laughs", "xxe", "parameter-entity", "unparsed-entity"],
)
def test_entity_tricks_refused(data: bytes) -> None:
    with pytest.raises(ScanError) as info:
        parse_xml(data)
    assert "entit" in (info.value.en or "")


def test_entity_tricks_refused_when_streaming() -> None:
    with pytest.raises(ScanError):
        list(iter_hosts(io.BytesIO(BILLION_LAUGHS)))


def test_unknown_encoding_is_a_clear_error_not_a_traceback() -> None:
    # expat raises LookupError for an encoding it does not know; it used to escape as a traceback.
    data = b'<?xml version="1.0" encoding="UcF-8"?><nmaprun scanner="nmap"></nmaprun>'
    with pytest.raises(ScanError) as info:
        parse_xml(data)
    assert "unknown encoding" in (info.value.en or "")
    with pytest.raises(ScanError):
        list(iter_hosts(io.BytesIO(data)))


def test_damaged_files_give_hosts_or_a_clear_error_never_anything_else(scanner_data: Path) -> None:
    # Seeded random damage (bytes changed, cut, NSE tables and stray elements inserted): every variant
    # either reads (possibly incomplete) or raises ScanError — no other exception reaches the caller.
    import random

    raw = (scanner_data / "loopback-services.xml").read_bytes()
    rnd = random.Random(20261206)
    pieces = [b"<table>", b"</table>", b'<elem key="k">v</elem>', b"<elem>", b"</elem>", b"<host>", b"</host>",
              b"<x>", b"&", b"<!ENTITY e 'x'>", b'<?xml version="1.0" encoding="nope"?>', b"\xff\xfe"]
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(raw)
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(data))
            choice = rnd.random()
            if choice < 0.4:
                data[i] = rnd.choice(b'<>/="& \nabc')
            elif choice < 0.7:
                del data[i:i + rnd.randint(1, 40)]
            else:
                data[i:i] = rnd.choice(pieces)
        try:
            result = parse_xml(bytes(data))
        except ScanError:
            outcomes["refused"] += 1
        else:
            assert isinstance(result, ScanResult)
            outcomes["read"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0


def test_hosts_arrive_one_by_one_across_read_chunks() -> None:
    # Hosts are handed over as they close, whatever the read size cuts through.
    host = (b'<host><status state="up" reason="syn-ack"/><address addr="127.0.9.%d" addrtype="ipv4"/>'
            b'<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>'
            b'<script id="ssh2-enum-algos" output="x"><table key="kex_algorithms"><elem>%s</elem></table>'
            b"</script></port></ports></host>")
    body = b"".join(host % (i, b"diffie-hellman-group1-sha1" * (i * 40)) for i in range(1, 40))
    data = (b'<?xml version="1.0"?><nmaprun scanner="nmap" version="7.93">' + body
            + b'<runstats><finished time="1" exit="success"/></runstats></nmaprun>')
    assert len(data) > 3 * 64 * 1024  # several reads
    stream = iter_hosts(io.BytesIO(data))
    first = next(stream)
    assert first.address == "127.0.9.1" and stream.result.complete is False  # not final before the end
    rest = list(stream)
    assert [h.address for h in rest][-1] == "127.0.9.39" and len(rest) == 38 and stream.result.complete
    algos = rest[-1].ports[0].scripts["ssh2-enum-algos"].data
    assert algos == {"kex_algorithms": [("diffie-hellman-group1-sha1" * (39 * 40))[:MAX_TEXT]]}  # text capped


# --------------------------------------------------------------------------------------------
# Untrusted content limits and NSE shapes
# --------------------------------------------------------------------------------------------


def _one_port(inner: bytes, service: bytes = b'<service name="http" method="table" conf="3"/>') -> bytes:
    return (
        b'<?xml version="1.0"?><nmaprun scanner="nmap" version="7.93"><host><status state="up" reason="syn-ack"/>'
        b'<address addr="192.0.2.1" addrtype="ipv4"/><ports><port protocol="tcp" portid="80">'
        b'<state state="open" reason="syn-ack"/>' + service + inner + b"</port></ports></host>"
        b'<runstats><finished time="1" exit="success"/></runstats></nmaprun>'
    )


def test_long_strings_are_capped() -> None:
    long = "A" * (MAX_TEXT * 3)
    xml = _one_port(
        f'<script id="banner" output="{long}"><elem key="{long}">{long}</elem></script>'.encode(),
        service=f'<service name="http" product="{long}"/>'.encode(),
    )
    port = parse_xml(xml).hosts[0].ports[0]
    assert len(port.product or "") == MAX_TEXT
    script = port.scripts["banner"]
    assert len(script.output) == MAX_TEXT
    ((key, value),) = script.data.items()
    assert len(key) == MAX_TEXT and len(value) == MAX_TEXT


def test_deep_nse_nesting_does_not_recurse_forever() -> None:
    depth = 5000
    inner = b'<table key="t">' * depth + b"<elem>x</elem>" + b"</table>" * depth
    data = (
        parse_xml(_one_port(b'<script id="s" output="o">' + inner + b"</script>")).hosts[0].ports[0].scripts["s"].data
    )
    level = 0
    while isinstance(data, dict):
        data = data["t"]
        level += 1
    assert level <= 40


def test_mixed_and_empty_nse_tables() -> None:
    xml = _one_port(
        b'<script id="s" output="o"><elem>first</elem><elem key="k">v</elem><elem>second</elem>'
        b'<table key="empty"></table><table key="list"><elem>a</elem><elem>b</elem></table></script>'
    )
    data = parse_xml(xml).hosts[0].ports[0].scripts["s"].data
    assert data == {"1": "first", "k": "v", "2": "second", "empty": [], "list": ["a", "b"]}


def test_malformed_port_ids_are_skipped_and_user_set_logic() -> None:
    xml = _one_port(b"").replace(b'portid="80"', b'portid="http"')
    host = parse_xml(xml).hosts[0]
    assert host.ports == [] and host.state == "up"  # reason syn-ack: nmap had proof
    extra = (
        b'<?xml version="1.0"?><nmaprun scanner="nmap"><host><status state="up" reason="user-set"/>'
        b'<address addr="192.0.2.9" addrtype="ipv4"/><ports><extraports state="closed" count="998"/>'
        b'</ports></host><runstats><finished time="1" exit="success"/></runstats></nmaprun>'
    )
    host = parse_xml(extra).hosts[0]
    assert host.extraports == {"closed": 998} and host.state == "up"  # RSTs prove the host is there
    down = extra.replace(b'state="up" reason="user-set"', b'state="down" reason="no-response"')
    assert parse_xml(down).hosts[0].state == "down"


def test_host_map_keys_by_address(services: ScanResult) -> None:
    mapping = services.host_map()
    assert set(mapping) == {"127.0.7.1", "127.0.7.2"}
    assert mapping["127.0.7.1"] is services.hosts[0]


# --------------------------------------------------------------------------------------------
# Streaming
# --------------------------------------------------------------------------------------------


def test_streaming_ten_thousand_hosts(scanner_data: Path, tmp_path: Path) -> None:
    raw = (scanner_data / "loopback-services.xml").read_bytes()
    second = _second_host_offset(raw)
    host = raw[second : raw.index(b"</host>", second) + len(b"</host>\n")]
    head = raw[: raw.index(b"<host ")]
    tail = raw[raw.rindex(b"</host>") + len(b"</host>\n") :]
    path = tmp_path / "big.xml"
    path.write_bytes(head + host * 10_000 + tail)
    size = path.stat().st_size

    tracemalloc.start()
    try:
        stream = iter_hosts(path)
        count = 0
        for item in stream:
            count += 1
            assert item.address == "127.0.7.2"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 10_000
    assert stream.result.complete and stream.result.hosts == []
    assert size > 7_000_000
    assert peak < 2_000_000, f"streaming kept too much in memory: peak {peak} bytes for a {size}-byte file"


def test_iter_hosts_accepts_file_objects(scanner_data: Path) -> None:
    with (scanner_data / "loopback-services.xml").open("rb") as handle:
        stream = iter_hosts(handle)
        assert sum(1 for _ in stream) == 2
    assert stream.result.complete and stream.result.nmap_version == "7.93"
