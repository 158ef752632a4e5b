"""A run lands whole or not at all: built in a staging folder beside the output folder, then switched in at once.

The staging folder (``<parent>/.pacer-run-<pid>-<name>``) starts as hard links of the output
folder's current files, so a step whose key is unchanged reuses them; every step of the run then
writes there. :meth:`RunCommit.commit` exchanges the two folders in one ``renameat2(RENAME_EXCHANGE)``
system call (Linux ≥ 3.15; ext4, xfs, btrfs, tmpfs): a reader of the output folder sees the
whole previous run or the whole new one, never a mix — whether the run ends, fails or is killed.
The previous run's folder (now at the staging path) is then removed; a file system without the
exchange is a one-line error before anything changes.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from analysis.store.errors import OutputError, is_user_os_error
from analysis.store.lock import LOCK_NAME, output_lock
from analysis.store.manifest import MANIFEST_NAME
from analysis.store.permissions import output_dir_mode
from analysis.store.staging import STAGING_PREFIX

RUN_STAGING_PREFIX = ".pacer-run-"
RUN_LOG_NAME = "runs.jsonl"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange_folders(first: Path, second: Path) -> None:
    """Swap two folders of one file system atomically (``renameat2`` with ``RENAME_EXCHANGE``).

    Raises
    ------
    OSError
        ``EINVAL`` or ``ENOSYS`` where the file system or kernel cannot exchange.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(first))
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first), None, str(second))


def is_pacer_leftover(name: str) -> bool:
    """A file or folder a killed step leaves inside an output folder (never carried into a new run)."""
    return name == LOCK_NAME or name.startswith(STAGING_PREFIX) or (name.startswith(".") and name.endswith(".tmp"))


def foreign_content_refusal(out_dir: Path) -> str | None:
    """Why a run must not write into ``out_dir``, which holds files that are not a pacer run's; None when it may.

    A folder that is missing, empty, or holds only the run log (``runs.jsonl``) and what killed
    runs left is free; one with a ``manifest.json`` is a pacer output folder. Anything else belongs to
    somebody else, and no option replaces it (``--force`` replaces only another run's outputs).
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir() or (out_dir / MANIFEST_NAME).is_file():
        return None
    foreign = sorted(entry.name for entry in out_dir.iterdir() if not _is_pipeline_file(entry.name))
    if not foreign:
        return None
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    return (
        f"output folder {out_dir} holds files that are not a pacer run's outputs ({shown}; no {MANIFEST_NAME}); "
        "give an empty or new folder with --out (--force never replaces files the pipeline did not write)"
    )


def _is_pipeline_file(name: str) -> bool:
    return name == RUN_LOG_NAME or is_pacer_leftover(name)


def _link_file(source: Path, destination: Path) -> None:
    """``destination`` as a hard link of ``source`` (a copy where the file system has none)."""
    try:
        os.link(source, destination)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copy2(source, destination)


def _link_tree(source: Path, target: Path) -> None:
    """``target`` as a copy of ``source`` made of hard links (copies where the file system has none)."""
    for entry in sorted(source.iterdir()):
        if is_pacer_leftover(entry.name):
            continue
        destination = target / entry.name
        if entry.is_dir() and not entry.is_symlink():
            destination.mkdir()
            os.chmod(destination, entry.stat().st_mode & 0o7777)
            _link_tree(entry, destination)
        elif entry.is_file() and not entry.is_symlink():
            _link_file(entry, destination)


class RunCommit:
    """The output folder of one run, switched in whole when the run ends well.

    Use around the whole run::

        with hold_output_locks(), RunCommit(out_dir) as run:
            ...every step writes into run.folder...
            run.commit()

    Entering locks ``out_dir`` (created when missing), removes what killed runs left beside it
    (:meth:`recover`), and makes the staging folder. Leaving without :meth:`commit` (an error, an
    interrupt) removes the staging folder: the output folder is as it was. ``fresh``: the staging
    folder starts with the run log alone instead (a forced run replacing another export's or cut's
    outputs). The run log ``runs.jsonl`` of a folder named with ``--out`` is carried as a hard link,
    so the lines a run appends while it stages are in the folder whichever run ends up switched in.

    Raises
    ------
    OutputError
        when ``out_dir`` holds files the pipeline did not write (:func:`foreign_content_refusal`),
        and for disk-full or permission errors while staging.
    """

    def __init__(self, out_dir: Path, fresh: bool = False) -> None:
        self.out_dir = Path(os.path.abspath(out_dir))
        self.fresh = fresh
        self.folder = self.out_dir.parent / f"{RUN_STAGING_PREFIX}{os.getpid()}-{self.out_dir.name}"
        self._stack = ExitStack()
        self.committed = False

    def __enter__(self) -> RunCommit:
        try:
            self._stack.enter_context(output_lock(self.out_dir))
            self.recover()
            self._check_is_output_folder()
            self._stack.callback(shutil.rmtree, self.folder, ignore_errors=True)
            self.folder.mkdir()
            os.chmod(self.folder, self.out_dir.stat().st_mode & 0o7777 if self._has_content() else output_dir_mode())
            if not self.fresh:
                _link_tree(self.out_dir, self.folder)
            elif (self.out_dir / RUN_LOG_NAME).is_file():
                _link_file(self.out_dir / RUN_LOG_NAME, self.folder / RUN_LOG_NAME)
        except BaseException as exc:
            self._stack.close()
            if is_user_os_error(exc):
                raise OutputError(
                    f"cannot prepare the run's staging folder {self.folder} beside the output folder "
                    f"{self.out_dir}: {os.strerror(exc.errno)} (the run writes beside the folder, then switches it in)"
                ) from exc
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _has_content(self) -> bool:
        return any(not is_pacer_leftover(entry.name) for entry in self.out_dir.iterdir())

    def _check_is_output_folder(self) -> None:
        refusal = foreign_content_refusal(self.out_dir)
        if refusal is not None:
            raise OutputError(refusal)

    def recover(self) -> None:
        """Remove what killed runs left beside the output folder (call while holding its lock).

        A leftover staging folder is a run killed before its switch (the output folder still
        holds the run before it), or the previous run's folder of a run killed just after its
        switch; neither is read by anyone.
        """
        for leftover in staging_folders(self.out_dir):
            shutil.rmtree(leftover, ignore_errors=True)

    def commit(self) -> None:
        """Switch the staging folder in as the output folder in one step; remove the previous run's folder.

        Raises
        ------
        OutputError
            when the file system cannot exchange two folders (the output folder is unchanged).
        """
        (self.folder / LOCK_NAME).unlink(missing_ok=True)  # the steps' lock on the staging folder stays behind
        try:
            exchange_folders(self.folder, self.out_dir)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                raise
            raise OutputError(
                f"the file system of {self.out_dir} cannot exchange two folders atomically (renameat2); "
                "write the outputs to a local file system (ext4, xfs, btrfs, tmpfs)"
            ) from exc
        self.committed = True
        shutil.rmtree(self.folder, ignore_errors=True)  # the previous run, now at the staging path

    def public(self, text: str) -> str:
        """``text`` with the staging folder's path replaced by the output folder's (for messages and the run log)."""
        return text.replace(str(self.folder), str(self.out_dir))

    def public_path(self, path: Path) -> Path:
        """``path`` inside the staging folder, as it is inside the output folder after the switch."""
        path = Path(os.path.abspath(path))
        return self.out_dir / path.relative_to(self.folder) if path.is_relative_to(self.folder) else path


def staging_folders(out_dir: Path) -> Iterator[Path]:
    """Run staging folders of ``out_dir`` beside it (``.pacer-run-<pid>-<name>``: a killed run's, until the next run removes them)."""
    out_dir = Path(os.path.abspath(out_dir))
    for path in sorted(out_dir.parent.glob(f"{RUN_STAGING_PREFIX}*")):
        pid, _, name = path.name.removeprefix(RUN_STAGING_PREFIX).partition("-")
        if pid.isdigit() and name == out_dir.name:
            yield path
