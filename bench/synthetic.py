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


# -- a realistic nmap XML (issue 14: ``scan import`` of a whole province's sweep) ---------------------------
_XML_PORTS = [
    (22, "ssh", "OpenSSH", "7.4", None, "ssh2-enum-algos"),
    (80, "http", "nginx", "1.18.0", None, "http-title"),
    (443, "https", "nginx", "1.18.0", "ssl", "ssl-cert"),
    (3306, "mysql", "MySQL", "5.7.33", None, None),
    (8080, "http-proxy", "Apache Tomcat", "9.0.41", None, "http-headers"),
    (3389, "ms-wbt-server", None, None, None, None),
    (6379, "redis", "Redis key-value store", "5.0.7", None, None),
]


def _script(name: str, ip: str, rng: random.Random) -> str:
    if name == "http-title":
        return (f'<script id="http-title" output="Cổng thông tin điện tử – {ip}"><elem key="title">Cổng thông tin'
                f" điện tử – {ip}</elem></script>")
    if name == "http-headers":
        return ('<script id="http-headers" output="&#xa;  Server: Apache-Coyote/1.1&#xa;  Content-Type: text/html;'
                ' charset=UTF-8&#xa;  Content-Length: 11250&#xa;  Date: Sun, 22 Nov 2026 09:00:00 GMT&#xa;'
                '  Connection: close&#xa;  &#xa;  (Request type: HEAD)&#xa;"/>')
    if name == "ssh2-enum-algos":
        kex = ["curve25519-sha256", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"]
        enc = ["aes128-ctr", "aes256-ctr", "aes128-cbc", "3des-cbc"]
        out = ("&#xa;  kex_algorithms: (4)&#xa;" + "".join(f"      {k}&#xa;" for k in kex)
               + "  encryption_algorithms: (4)&#xa;" + "".join(f"      {e}&#xa;" for e in enc))
        tables = (f'<table key="kex_algorithms">{"".join(f"<elem>{k}</elem>" for k in kex)}</table>'
                  f'<table key="encryption_algorithms">{"".join(f"<elem>{e}</elem>" for e in enc)}</table>')
        return f'<script id="ssh2-enum-algos" output="{out}">{tables}</script>'
    after = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
    return (f'<script id="ssl-cert" output="Subject: commonName={ip}&#xa;Issuer: commonName=CA thử nghiệm&#xa;'
            f'Public Key type: rsa&#xa;Public Key bits: 2048&#xa;Not valid before: 2025-01-01T00:00:00&#xa;'
            f'Not valid after:  {after.isoformat()}T00:00:00&#xa;MD5:   {rng.getrandbits(128):032x}&#xa;">'
            f'<table key="subject"><elem key="commonName">{ip}</elem></table>'
            f'<table key="issuer"><elem key="commonName">CA thử nghiệm</elem></table>'
            f'<table key="pubkey"><elem key="type">rsa</elem><elem key="bits">2048</elem></table>'
            f'<table key="validity"><elem key="notBefore">2025-01-01T00:00:00</elem>'
            f'<elem key="notAfter">{after.isoformat()}T00:00:00</elem></table>'
            f'<elem key="md5">{rng.getrandbits(128):032x}</elem><elem key="sha1">{rng.getrandbits(160):040x}</elem>'
            "</script>")


def nmap_xml(path: Path, hosts: int, *, base: str = "127.64", seed: int = 14) -> dict[str, int]:
    """An nmap XML of a ``-sV``/NSE sweep of ``hosts`` addresses of ``base``.0.0/18, the way nmap writes it.

    Each host has a few open ports (of 22, 80, 443, 3306, 8080, 3389, 6379) with service versions and
    script output (ssh2-enum-algos, http-title, http-headers, ssl-cert with its tables), the rest
    closed. About 4.5 open ports and 2.7 KB per host. Returns the counts written.
    """
    rng = random.Random(seed)
    ports = ",".join(str(p[0]) for p in _XML_PORTS)
    opened = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -sT'
                  f' -Pn -n -sV --script=ssh2-enum-algos,http-title,http-headers,ssl-cert -p {ports} -oX -'
                  f' {base}.0.0/18" start="1795340400" startstr="Sun Nov 22 09:00:00 2026" version="7.93"'
                  ' xmloutputversion="1.05">\n'
                  f'<scaninfo type="connect" protocol="tcp" numservices="{len(_XML_PORTS)}" services="{ports}"/>\n'
                  '<verbose level="0"/>\n<debugging level="0"/>\n')
        for i in range(hosts):
            ip = f"{base}.{i // 256}.{i % 256}"
            chosen = sorted(rng.sample(_XML_PORTS, rng.choice([3, 4, 5, 5, 6])))
            opened += len(chosen)
            parts = [f'<host starttime="1795340400" endtime="1795340460"><status state="up" reason="syn-ack"'
                     f' reason_ttl="0"/>\n<address addr="{ip}" addrtype="ipv4"/>\n<hostnames>\n</hostnames>\n'
                     f'<ports><extraports state="closed" count="{len(_XML_PORTS) - len(chosen)}">\n'
                     f'<extrareasons reason="conn-refused" count="{len(_XML_PORTS) - len(chosen)}"/>\n'
                     "</extraports>\n"]
            for port, name, product, version, tunnel, script in chosen:
                service = f'<service name="{name}"' + (f' product="{product}"' if product else "") \
                    + (f' version="{version}"' if version else "") + (f' tunnel="{tunnel}"' if tunnel else "") \
                    + ' method="probed" conf="10"><cpe>cpe:/a:' + name + "</cpe></service>"
                extra = _script(script, ip, rng) if script else ""
                parts.append(f'<port protocol="tcp" portid="{port}"><state state="open" reason="syn-ack"'
                             f' reason_ttl="0"/>{service}{extra}</port>\n')
            parts.append("</ports>\n<times srtt=\"120\" rttvar=\"50\" to=\"100000\"/>\n</host>\n")
            out.write("".join(parts))
        out.write('<runstats><finished time="1795340700" timestr="Sun Nov 22 09:05:00 2026" elapsed="300.00"'
                  f' summary="Nmap done; {hosts} IP addresses ({hosts} hosts up)" exit="success"/>'
                  f'<hosts up="{hosts}" down="0" total="{hosts}"/>\n</runstats>\n</nmaprun>\n')
    return {"hosts": hosts, "open_ports": opened}
