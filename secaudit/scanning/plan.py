"""What one scan command looks at and how it splits into nmap processes.

Targets come only from the inventory (each re-validated here), plus whatever an authorised scope
file adds. IPv4 and IPv6 targets never share a process, and with ``jobs > 1`` each system gets
its own. Each process gets a command line built from the profile, the ports the hosts declare
and the NSE scripts their declared services call for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secaudit.inventory.targets import Target, cidr_size, parse_target
from secaudit.scanning.nmap_argv import NMAP_SERVICES_FILES, build_argv, compress_ports, port_set, validate_options
from secaudit.scanning.profiles import STATS_EVERY, ScanProfile
from secaudit.scanning.rules import Coverage, ScanRules
from secaudit.store.workspace import Workspace

__all__ = ["DeclaredHost", "Group", "Pass", "Unit", "declared_hosts", "plan_groups", "plan_province", "with_servicedb"]


@dataclass
class DeclaredHost:
    """A host as the inventory declares it (or a target an authorised scope adds), validated."""

    system: str
    address: str
    target: Target
    ports: set[int]
    public_web: bool
    declared: bool = True
    services: dict[int, str] = field(default_factory=dict)  # TCP port -> declared service name
    declared_at: str | None = None  # when the host (with these ports and services) was declared

    @property
    def names(self) -> list[str]:
        return [self.target.value] if self.target.kind == "hostname" else []


def declared_hosts(ws: Workspace, agency: str, system: str | None = None) -> list[DeclaredHost]:
    """Every declared host of the agency (or of one system), each target re-validated."""
    ws.require_agency(agency)
    sql = ("select s.code, h.address, h.ports, h.public_web, h.declared_at from hosts h"
           " join systems s on s.id = h.system_id where s.agency = ?")
    params: list[Any] = [agency]
    if system:
        ws.system_id(agency, system)
        sql += " and s.code = ?"
        params.append(system)
    out = []
    for code, address, ports, public_web, declared_at in ws.db.execute(sql + " order by s.position, h.position",
                                                                       params):
        target = parse_target(address)
        specs = [p for p in json.loads(ports or "[]") if p.get("protocol", "tcp") == "tcp"]
        declared = {int(p["port"]) for p in specs}
        services: dict[int, str] = {}
        if target.port:
            declared.add(target.port)
            scheme = address.split("://", 1)[0].lower() if "://" in address else ""
            if scheme in ("http", "https"):
                services[target.port] = scheme
        services.update({int(p["port"]): str(p["service"]).strip().lower() for p in specs if p.get("service")})
        out.append(DeclaredHost(code, address, target, declared, bool(public_web), services=services,
                                declared_at=declared_at))
    return out


@dataclass
class Group:
    """One nmap process: its hosts, its command line and what it covers."""

    system: str
    hosts: list[DeclaredHost]
    argv: list[str]
    coverage: Coverage
    total: int
    scan_id: int = 0
    done: int = 0
    percent: float | None = None
    task: str | None = None
    tail: bytes = b""
    names: dict[int, str] = field(default_factory=dict)  # port -> name nmap is told (declared services)


def _family(target: Target) -> int:
    return target.ip_version or 4  # host names resolve to IPv4 unless nmap runs with -6


def _plan(hosts: list[DeclaredHost], jobs: int) -> list[list[DeclaredHost]]:
    """Split hosts into nmap processes: never IPv4 with IPv6; with ``jobs > 1`` one process per system.

    A system is never split further: the evaluation reads a system's newest scan, so its hosts
    stay together (only an IPv4/IPv6 mix needs two processes, sharing one batch).
    """
    buckets: dict[tuple[str, int], list[DeclaredHost]] = {}
    for host in hosts:
        key = (host.system if jobs > 1 else "", _family(host.target))
        buckets.setdefault(key, []).append(host)
    return list(buckets.values())


def _declared_needs(rule_set: ScanRules, hosts: list[DeclaredHost]) -> tuple[list[str], dict[int, str]]:
    """Scripts the hosts' declared services call for, and the port names nmap must be told for them.

    When two hosts of one nmap process declare the same port differently, the service listed
    first in the rules file names it (https before http: HTTP scripts also run on "https").
    """
    scripts: list[str] = []
    names: dict[int, tuple[int, str]] = {}
    order = {id(s): i for i, s in enumerate(rule_set.declared_services)}
    for host in hosts:
        for port, name in host.services.items():
            need = rule_set.service(name)
            if need is None:
                continue
            scripts += [x for x in need.scripts if x not in scripts]
            rank = order[id(need)]
            if need.nmap_name and (port not in names or rank < names[port][0]):
                names[port] = (rank, need.nmap_name)
    return scripts, {port: name for port, (_, name) in sorted(names.items())}


def _with_scripts(options: list[str], scripts: list[str]) -> list[str]:
    """``options`` (canonical) with ``scripts`` added to its ``--script=`` list (or a new one)."""
    out = list(options)
    if not scripts:
        return out
    for i, option in enumerate(out):
        if option.startswith("--script="):
            have = option.split("=", 1)[1].split(",")
            out[i] = "--script=" + ",".join([*have, *(x for x in scripts if x not in have)])
            return out
    return [*out, "--script=" + ",".join(scripts)]


def with_servicedb(
    ws: Workspace, datadir: Path, argv: list[str], ports: frozenset[int], names: dict[int, str],
) -> list[str]:
    """``argv`` with a ``--datadir`` whose services table names each declared port by its declared service.

    nmap's scripts choose ports by service name, and without ``-sV`` the name comes from that
    table. The table given to nmap is the system one cut to the scanned ports, with the declared
    ports renamed; nmap finds every other data file in its usual place. (``--servicedb`` would
    be the direct option, but it implies ``-F``, which nmap refuses next to ``-p``.) nmap would
    also load scripts from that folder, so it is a fresh private temporary one (``datadir``),
    removed after the run, never a folder anyone else can write to. The table is kept in the
    evidence store and the folder is named by its hash, so the stored command line says which
    table was used.
    """
    lines: list[str] = []
    source = next((Path(p) for p in NMAP_SERVICES_FILES if Path(p).is_file()), None)
    if source is not None:
        with source.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split("\t")
                if len(fields) < 2 or line.startswith("#") or not fields[1].endswith("/tcp"):
                    continue
                number = fields[1][:-4]
                if number.isdigit() and int(number) in ports and int(number) not in names:
                    lines.append(line if line.endswith("\n") else line + "\n")
    lines += [f"{name}\t{port}/tcp\t0.000500\t# secaudit: declared in the inventory\n"
              for port, name in sorted(names.items())]
    data = "".join(lines).encode("utf-8")
    sha = ws.store_blob(data, media_type="text/plain")
    folder = datadir / sha
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / "nmap-services").write_bytes(data)
    at = argv.index("--")
    return [*argv[:at], f"--datadir={folder}", *argv[at:]]


def _coverage(ports: str, argv: list[str]) -> Coverage:
    """What a built (canonical) nmap command line covers: its ports, scripts and ``-sV``."""
    scripts: set[str] = set()
    for option in argv:
        if option.startswith("--script="):
            scripts.update(option.split("=", 1)[1].split(","))
    return Coverage(port_set(ports), frozenset(scripts), "-sV" in argv)


def _needs(
    members: list[DeclaredHost], profile: ScanProfile, rule_set: ScanRules, *, syn: bool, progress: bool,
) -> tuple[str, list[str], dict[int, str]]:
    """What one nmap process over ``members`` needs: its port list, its options and the port names to tell nmap."""
    ports = compress_ports(port_set(profile.port_spec()) | {p for h in members for p in h.ports})
    scripts, names = _declared_needs(rule_set, members)
    options = _with_scripts(validate_options(profile.scan.options), scripts)
    if syn:
        options.insert(0, "-sS")
    if progress:
        options.append(STATS_EVERY)
    return ports, options, names


def _group(
    members: list[DeclaredHost], ports: str, options: list[str], names: dict[int, str], *, syn: bool,
    nmap_binary: str | list[str],
) -> Group:
    targets = list(dict.fromkeys(Target(h.target.kind, h.target.value) for h in members))
    argv = build_argv(targets, ports=ports, options=options, nmap_binary=nmap_binary, privileged=syn)
    systems = {h.system for h in members}
    return Group(systems.pop() if len(systems) == 1 else "", members, argv, _coverage(ports, argv),
                 sum(cidr_size(t) for t in targets), names=names)


def plan_groups(
    hosts: list[DeclaredHost], profile: ScanProfile, rule_set: ScanRules, *, jobs: int, syn: bool, progress: bool,
    nmap_binary: str | list[str],
) -> list[Group]:
    """The nmap processes that scan ``hosts``, each with its checked command line and what it covers.

    ``progress`` adds nmap's periodic statistics, which the progress display reads.
    """
    groups: list[Group] = []
    for members in _plan(hosts, jobs):
        ports, options, names = _needs(members, profile, rule_set, syn=syn, progress=progress)
        groups.append(_group(members, ports, options, names, syn=syn, nmap_binary=nmap_binary))
    return groups


@dataclass
class Unit:
    """One agency's share of a province pass: the hosts its own ``scan AGENCY`` would give one nmap process."""

    agency: str
    group: Group  # command line as the agency's own scan would build it; ``scan_id`` is this unit's scan row


@dataclass
class Pass:
    """One nmap process of a province pass: the units that need exactly the same command line, scanned together."""

    units: list[Unit]
    group: Group  # the process actually run, over the union of the units' targets


def plan_province(
    hosts_by_agency: dict[str, list[DeclaredHost]], profile: ScanProfile, rule_set: ScanRules, *, syn: bool,
    progress: bool, nmap_binary: str | list[str],
) -> list[Pass]:
    """Plan one pass over every agency's declared hosts, in as few nmap processes as the profile allows.

    Each agency is first planned exactly as ``scan AGENCY`` plans it (one process per address
    family, over the profile's ports plus every port the agency declares, with the scripts and
    port names its declared services call for). Agencies whose processes would differ only in
    their targets share one process; any other difference (a port only one agency declares, a
    script, a port named differently) keeps them apart, so every host is scanned with exactly the
    command line its agency's own scan would use and the results are the same as separate runs.
    """
    passes: dict[tuple[Any, ...], Pass] = {}
    for agency, hosts in hosts_by_agency.items():
        for members in _plan(hosts, 1):
            ports, options, names = _needs(members, profile, rule_set, syn=syn, progress=progress)
            unit = Unit(agency, _group(members, ports, options, names, syn=syn, nmap_binary=nmap_binary))
            key = (_family(members[0].target), ports, tuple(options), tuple(sorted(names.items())))
            if key in passes:
                passes[key].units.append(unit)
            else:
                passes[key] = Pass([unit], unit.group)
    out: list[Pass] = []
    for (_, ports, options, names), one in passes.items():
        if len(one.units) > 1:
            members = [h for u in one.units for h in u.group.hosts]
            one.group = _group(members, ports, list(options), dict(names), syn=syn, nmap_binary=nmap_binary)
        out.append(one)
    return out
