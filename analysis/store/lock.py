"""The exclusive lock of an output folder: one run writes into a folder at a time.

``fcntl.flock`` on ``<folder>/.pacer.lock``: never waits (a second run stops at once, naming the
holder's pid), re-entrant within a process, dropped by the kernel when its process dies (a killed
run leaves no stale lock). Needs a local file system (not NFS).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analysis.store.errors import OutputBusyError
from analysis.store.permissions import ensure_output_dir, output_file_mode

LOCK_NAME = ".pacer.lock"


@dataclass
class _HeldLock:
    fd: int
    created: bool
    depth: int = 0


@dataclass
class _ProcessLocks:
    """The output locks this process holds: by folder, with their depth, and the sessions that keep them."""

    guard: threading.RLock = field(default_factory=threading.RLock)
    held: dict[Path, _HeldLock] = field(default_factory=dict)
    sessions: list[set[Path]] = field(default_factory=list)

    def take(self, key: Path) -> None:
        with self.guard:
            entry = self.held.get(key)
            if entry is None:
                output_file_mode()  # a bad mode setting stops the step before anything is made
                created = ensure_output_dir(key)
                try:
                    fd = _acquire(key)
                except BaseException:
                    if created:
                        _remove_if_empty(key)
                    raise
                entry = self.held[key] = _HeldLock(fd, created)
            entry.depth += 1
            if self.sessions and key not in self.sessions[-1]:
                self.sessions[-1].add(key)
                entry.depth += 1

    def release(self, key: Path) -> None:
        with self.guard:
            entry = self.held[key]
            entry.depth -= 1
            if entry.depth > 0:
                return
            del self.held[key]
            _unlink_if_same(key / LOCK_NAME, entry.fd)  # while still holding it: see _acquire
            os.close(entry.fd)
            if entry.created:
                _remove_if_empty(key)


_PROCESS_LOCKS = _ProcessLocks()


@contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``out_dir`` (``fcntl.flock`` on ``out_dir/.pacer.lock``, created with the folder).

    Never waits: when another process holds it, raises :class:`OutputBusyError` naming that
    process's pid. Re-entrant within a process (a step inside a run that already holds it).
    The kernel drops the lock when its process dies, so a killed run leaves no stale lock; the
    lock file is removed on release, and a folder the lock created is removed if it is left empty.
    """
    key = Path(os.path.realpath(out_dir))
    _PROCESS_LOCKS.take(key)
    try:
        yield
    finally:
        _PROCESS_LOCKS.release(key)


@contextmanager
def hold_output_locks() -> Iterator[None]:
    """Keep every output lock taken inside the block until the block ends.

    A run holds its output folders from its first step to its last, so no other run can write
    between two of its steps.
    """
    with _PROCESS_LOCKS.guard:
        _PROCESS_LOCKS.sessions.append(set())
    try:
        yield
    finally:
        with _PROCESS_LOCKS.guard:
            held = _PROCESS_LOCKS.sessions.pop()
        for key in held:
            _PROCESS_LOCKS.release(key)


def _acquire(out_dir: Path) -> int:
    path = out_dir / LOCK_NAME
    for _ in range(100):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, output_file_mode())
        except FileNotFoundError:  # the folder was removed by a run releasing it: make it again
            ensure_output_dir(out_dir)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputBusyError(
                f"output folder {out_dir} is in use by another run (pid {holder}); "
                "wait for it to finish, or write to another folder"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        try:  # the holder before us may have removed the file as it released it: lock the file that is there
            current = os.stat(path)
            opened = os.fstat(fd)
            same = (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino)
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)
    raise OutputBusyError(f"output folder {out_dir}: could not take its lock {path}")


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _unlink_if_same(path: Path, fd: int) -> None:
    """Remove the lock file ``path`` if it is still the file ``fd`` locks (a folder switched in by a run may hold another)."""
    try:
        current, held = os.stat(path), os.fstat(fd)
        if (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            path.unlink()
    except OSError:
        pass
