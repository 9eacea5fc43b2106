"""Run the real ``nmap`` process and keep whatever it wrote, even when it is stopped early.

A partial scan is still evidence: when the user presses Ctrl-C, another thread asks for a stop
(the scan got SIGTERM or SIGHUP) or the time limit hits, nmap is terminated politely and its XML
so far is returned (the run is marked interrupted or timed out) rather than thrown away. nmap runs
in its own process group, which is what gets terminated. Both pipes are read in threads so the
caller can follow progress while the main thread stays free to notice Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING

from secaudit import clock
from secaudit.errors import ScanError, os_reason
from secaudit.scanning.nmap_argv import binary_prefix

if TYPE_CHECKING:
    from secaudit.scanning.nmap_xml import ScanResult

__all__ = ["NmapRun", "nmap_version", "run_nmap"]

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
        f"Không chạy được nmap ({binary}): {os_reason(exc)}",
        en=f"Cannot run nmap ({binary}): {exc.strerror or exc}",
    )


def nmap_version(binary: str | Sequence[str] = "nmap") -> str:
    """The version string of the installed nmap (e.g. ``"7.93"``), recorded with each scan."""
    argv = [*binary_prefix(binary), "--version"]
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
        from secaudit.scanning.nmap_xml import MAX_TEXT  # the XML reader loads while nmap runs, not before

        names = _UNRESOLVED_RE.findall(self.stderr)
        return list(dict.fromkeys(name[:MAX_TEXT] for name in names))

    def parse(self) -> ScanResult:
        """Parse :attr:`xml` (see :func:`parse_xml`)."""
        from secaudit.scanning.nmap_xml import parse_xml

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


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """Send ``signum`` to nmap's own process group (anything it started goes too).

    Only while nmap is not yet reaped: until then its pid, which is also the group id, cannot
    have been given to another process.
    """
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:
        pass
    except OSError:
        proc.send_signal(signum)


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    """Ask nmap to stop (SIGTERM, so it can flush), then SIGKILL if it does not go quietly."""
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=_TERMINATE_GRACE)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
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
            start_new_session=True,  # its own process group: stopped as a whole, never left behind
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
            _signal_group(proc, signal.SIGKILL)
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
