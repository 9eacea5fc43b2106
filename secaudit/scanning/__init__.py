"""Network scanning for evidence: safe target parsing, allow-listed nmap runs, safe XML reading.

The package root re-exports only the nmap layer (targets, command line, process, XML); the scan
service (profiles, plan, batch, recording, import, history) is imported from its own modules, so
that importing a target parser does not pull in the workspace.

Kept as one package so that the only way from an inventory entry to an nmap process goes through
:func:`parse_target` and :func:`build_argv`, both of which refuse anything not allow-listed.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from secaudit.inventory.targets import Target, TargetKind, check_width, cidr_size, parse_target
    from secaudit.scanning.nmap_argv import (
        ALLOWED_OPTIONS,
        ALLOWED_SCRIPT_ARGS,
        ALLOWED_SCRIPTS,
        BASE_ARGS,
        build_argv,
        compress_ports,
        port_set,
        top_ports,
        validate_options,
        validate_ports,
    )
    from secaudit.scanning.nmap_run import NmapRun, nmap_version, run_nmap
    from secaudit.scanning.nmap_xml import (
        MAX_TEXT,
        HostResult,
        HostStream,
        PortResult,
        ScanResult,
        ScriptOutput,
        iter_hosts,
        load_xml,
        parse_xml,
    )

#: Where each re-exported name lives. They load on first use (PEP 562), so that ``scan AGENCY``, which
#: imports ``secaudit.scanning.owners`` to open the workspace, reads the XML parser only while nmap
#: runs (issue 14).
_HOMES = {
    **dict.fromkeys(("Target", "TargetKind", "check_width", "cidr_size", "parse_target"), "secaudit.inventory.targets"),
    **dict.fromkeys(("ALLOWED_OPTIONS", "ALLOWED_SCRIPT_ARGS", "ALLOWED_SCRIPTS", "BASE_ARGS", "build_argv",
                     "compress_ports", "port_set", "top_ports", "validate_options", "validate_ports"),
                    "secaudit.scanning.nmap_argv"),
    **dict.fromkeys(("NmapRun", "nmap_version", "run_nmap"), "secaudit.scanning.nmap_run"),
    **dict.fromkeys(("MAX_TEXT", "HostResult", "HostStream", "PortResult", "ScanResult", "ScriptOutput", "iter_hosts",
                     "load_xml", "parse_xml"), "secaudit.scanning.nmap_xml"),
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


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
