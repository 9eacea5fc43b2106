"""Network scanning for evidence: safe target parsing, allow-listed nmap runs, safe XML reading.

Kept as one package so that the only way from an inventory entry to an nmap process goes through
:func:`parse_target` and :func:`build_argv`, both of which refuse anything not allow-listed.
"""

from secaudit.scanner.nmap import (
    ALLOWED_OPTIONS,
    ALLOWED_SCRIPT_ARGS,
    ALLOWED_SCRIPTS,
    BASE_ARGS,
    MAX_TEXT,
    HostResult,
    HostStream,
    NmapRun,
    PortResult,
    ScanResult,
    ScriptOutput,
    build_argv,
    compress_ports,
    iter_hosts,
    load_xml,
    nmap_version,
    parse_xml,
    port_set,
    run_nmap,
    top_ports,
    validate_options,
    validate_ports,
)
from secaudit.scanner.targets import (
    Target,
    TargetKind,
    check_width,
    cidr_size,
    parse_target,
)

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
    "Target",
    "TargetKind",
    "build_argv",
    "check_width",
    "cidr_size",
    "compress_ports",
    "iter_hosts",
    "load_xml",
    "nmap_version",
    "parse_target",
    "parse_xml",
    "port_set",
    "run_nmap",
    "top_ports",
    "validate_options",
    "validate_ports",
]
