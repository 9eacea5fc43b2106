"""Staging of incoming evidence files: written under ``evidence/.import-*`` and moved into the store
only once everything that brought them checks out.

Each staging folder is paired with ``evidence/.import-*.lock``, locked (flock) by the process that
stages for as long as it lives: a folder whose lock nobody holds belongs to a process that was
killed, and ``clean_interrupted_imports`` removes it (the workspace does so when it is opened). The
lock file is created and locked before the folder exists and removed after it is gone, so a live
folder always has one. Nothing in a staging folder is ever referenced, so removing it is all the
recovery there is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from secaudit import clock

STAGING_PREFIX = ".import-"


def _lock_free(fd: int) -> bool:
    """Take an exclusive lock without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the age of the folder decides, see clean_interrupted_imports
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _same_file(path: Path, fd: int) -> bool:
    try:
        st = path.stat()
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (os.fstat(fd).st_dev, os.fstat(fd).st_ino)


class Staging:
    """One staging folder: files named by their SHA-256, moved to ``evidence_path(sha)`` on commit.

    ``evidence_path`` is the workspace's content-addressed location of a blob (passed in so that
    the store's lower half does not depend on the workspace class).
    """

    def __init__(self, evidence_dir: Path, evidence_path: Callable[[str], Path]) -> None:
        evidence_dir.mkdir(parents=True, exist_ok=True)
        self.evidence_path = evidence_path
        while True:
            fd, lock_name = tempfile.mkstemp(dir=evidence_dir, prefix=STAGING_PREFIX, suffix=".lock")
            lock = Path(lock_name)
            if _lock_free(fd) and _same_file(lock, fd):
                break
            os.close(fd)  # a cleaner removed it between creation and lock: take another
        self._lock_fd = fd
        self._lock_path = lock
        self.dir = lock.with_suffix("")
        self.dir.mkdir()
        self.files: dict[str, Path] = {}
        self._out: IO[bytes] | None = None

    def sink(self, sha256: str | None) -> Callable[[bytes], Any] | None:
        """Where to write the next file's bytes; None when ``sha256`` is None, already staged or
        already in the store. Closes the file staged before it."""
        if self._out is not None:
            self._finish()
        if sha256 is None or sha256 in self.files:
            return None
        if self.evidence_path(sha256).is_file():
            return None  # already in the store: hash it, keep nothing
        target = self.dir / sha256
        self.files[sha256] = target
        self._out = target.open("wb")
        return self._out.write

    def _finish(self) -> None:
        assert self._out is not None
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None

    def commit_files(self) -> int:
        """Move every staged blob to its content-addressed place; returns how many were new."""
        if self._out is not None:
            self._finish()
        moved = 0
        for sha, staged in self.files.items():
            target = self.evidence_path(sha)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
            moved += 1
        return moved

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self._lock_path.unlink()
        os.close(self._lock_fd)


def clean_interrupted_imports(evidence_dir: Path, *, stale_after: dt.timedelta = dt.timedelta(hours=24)) \
        -> list[str]:
    """Remove the staging folders of imports that were killed (their lock is held by no process).

    Returns the names removed; a live import's folder is left alone.
    """
    removed: list[str] = []
    try:
        entries = [p for p in evidence_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]
    except OSError:
        return removed
    locks = {p for p in entries if p.name.endswith(".lock")}
    try:
        import fcntl  # noqa: F401
        has_flock = True
    except ImportError:
        has_flock = False
    for lock in sorted(locks):
        try:
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            old = clock.now().timestamp() - os.fstat(fd).st_mtime > stale_after.total_seconds()
            if (has_flock or old) and _lock_free(fd) and _same_file(lock, fd):
                folder = lock.with_suffix("")
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    lock.unlink()
                    removed.append(folder.name)
        except OSError:
            pass
        finally:
            os.close(fd)
    for folder in sorted(p for p in entries if p not in locks and p.is_dir()):
        if folder.with_name(folder.name + ".lock").exists():
            continue
        # A folder without its lock: left by a secaudit from before the lock, or by a cleaner stopped
        # between removing the folder and the lock; either way no live import owns it.
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            removed.append(folder.name)
    return removed
