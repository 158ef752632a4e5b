"""One step's outputs land together or not at all: staged in the output folder, moved into place, then recorded.

The commit point is the step's record in ``manifest.json``; a commit record in the staging folder
lets the next run on the folder finish a commit that a killed process had started.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.store import tables
from analysis.store.errors import USER_ERRNOS, is_user_os_error, output_error
from analysis.store.lock import output_lock
from analysis.store.manifest import update_manifest
from analysis.store.permissions import ensure_output_dir, output_file_mode

STAGING_PREFIX = ".staging-"
COMMIT_RECORD = ".commit.json"


def recover_killed_steps(out_dir: Path) -> None:
    """Clean up after a run that was killed while writing into ``out_dir``.

    A staging folder with a commit record was killed while moving its files into place: the
    commit is completed (the rest of its files moved, then its manifest record written). Any other
    staging folder, and any half-written temporary file, is removed. Call only while holding the
    folder's lock (then nothing else is writing there).
    """
    for path in sorted(out_dir.glob(f"{STAGING_PREFIX}*")):
        if path.is_dir() and not path.is_symlink():
            _complete_commit(out_dir, path)
            shutil.rmtree(path, ignore_errors=True)
    for folder in (out_dir, out_dir / "report"):
        for path in folder.glob(".*.tmp") if folder.is_dir() else ():
            if path.is_file():
                path.unlink(missing_ok=True)


def _complete_commit(out_dir: Path, staging: Path) -> None:
    try:
        record = json.loads((staging / COMMIT_RECORD).read_text(encoding="utf-8"))
        step, files, details = str(record["step"]), dict(record["files"]), dict(record["details"])
    except (OSError, ValueError, KeyError, TypeError):
        return  # killed before its commit point: the previous outputs stand
    for name in sorted(files):
        source = staging / name
        if source.is_file():  # not moved yet
            if source.parent != staging:
                ensure_output_dir((out_dir / name).parent)
            os.replace(source, out_dir / name)
    update_manifest(out_dir, step, files, details)


class StepWriter:
    """Write one step's outputs so that they land together or not at all.

    Use as a context manager around the whole step (the reuse check included)::

        with StepWriter(out_dir, "derive") as writer:
            if step_is_current(out_dir, "derive", key):
                return ...                     # nothing written
            writer.table("crs.parquet", frame, record)
            ...
            writer.commit({"key": key})        # files into place, then manifest.json

    Entering takes the folder's lock (:func:`output_lock`) and cleans up after a killed run
    (:func:`recover_killed_steps`). Files are written into ``out_dir/.staging-<step>-<pid>/``;
    :meth:`commit` writes a commit record there, moves the files into place (keeping hard links
    to the files they replace) and records the step in ``manifest.json``. An error anywhere in
    the step puts the previous files back and removes the staging folder. A process killed before
    the commit record leaves the previous outputs as they were (its staging folder is removed by
    the next run); one killed after it has its commit completed by the next run on the folder.
    Disk-full and permission errors become one-line :class:`OutputError` s.
    """

    def __init__(self, out_dir: Path, step: str) -> None:
        self.out_dir = Path(out_dir)
        self.step = step
        self.files: dict[str, dict[str, Any]] = {}
        self.staging = self.out_dir / f"{STAGING_PREFIX}{step}-{os.getpid()}"
        self._stack = ExitStack()
        self._unchanged = True

    def __enter__(self) -> StepWriter:
        try:
            self._stack.enter_context(output_lock(self.out_dir))
            self._stack.callback(shutil.rmtree, self.staging, ignore_errors=True)
            recover_killed_steps(self.out_dir)
        except BaseException as exc:
            self._stack.close()
            if is_user_os_error(exc):
                raise output_error(self.out_dir, self.step, exc) from exc
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self._stack.close()
        if exc is not None and is_user_os_error(exc):
            raise output_error(self.out_dir, self.step, exc, self._unchanged) from exc

    def _staged(self, name: str) -> Path:
        path = self.staging / name
        if not self.staging.is_dir():
            ensure_output_dir(self.staging)
        if path.parent != self.staging:
            path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def table(self, name: str, frame: pd.DataFrame, provenance_record: dict[str, Any]) -> None:
        """Stage a Parquet table (:func:`analysis.store.tables.write_table`) as ``name``."""
        self.files[name] = {
            "sha256": tables.write_table(frame, self._staged(name), provenance_record),
            "rows": len(frame),
        }

    def json_file(self, name: str, document: dict[str, Any], rows: int) -> None:
        """Stage a JSON document (:func:`analysis.store.tables.write_json`) as ``name``, recorded with ``rows``."""
        path = self._staged(name)
        tables.write_json(document, path)
        self.files[name] = {"sha256": tables.file_sha256(path), "rows": rows}

    def file(self, name: str, content: bytes) -> None:
        """Stage a file of ``content`` as ``name`` (a path relative to the output folder, e.g. ``report/x.pdf``)."""
        path = self._staged(name)
        tables.write_bytes(content, path)
        self.files[name] = {"sha256": tables.file_sha256(path), "bytes": len(content)}

    def commit(self, details: dict[str, Any]) -> None:
        """Move every staged file into place, then record the step and ``details`` in ``manifest.json``."""
        kept = self.staging / ".previous"
        moved: list[str] = []
        try:
            tables.write_json(
                {"step": self.step, "files": self.files, "details": details}, self.staging / COMMIT_RECORD
            )
            for name in sorted(self.files):
                source, target = self.staging / name, self.out_dir / name
                os.chmod(source, output_file_mode())
                if target.parent != self.out_dir:
                    ensure_output_dir(target.parent)
                if target.exists():
                    (kept / name).parent.mkdir(parents=True, exist_ok=True)
                    _keep(target, kept / name)
                os.replace(source, target)
                moved.append(name)
            update_manifest(self.out_dir, self.step, self.files, details)
        except BaseException:
            try:
                (self.staging / COMMIT_RECORD).unlink(missing_ok=True)
            except OSError:
                pass
            self._unchanged = self._put_back(moved, kept)
            raise

    def _put_back(self, moved: list[str], kept: Path) -> bool:
        """Undo the moves of a failed commit; True when every previous file is back."""
        back = True
        for name in reversed(moved):
            try:
                if (kept / name).exists():
                    os.replace(kept / name, self.out_dir / name)
                else:
                    (self.out_dir / name).unlink(missing_ok=True)
            except OSError:
                back = False
        return back


def _keep(target: Path, keep: Path) -> None:
    """A hard link to the file about to be replaced (a copy where the file system has no hard links)."""
    try:
        os.link(target, keep)
    except OSError as exc:
        if exc.errno in USER_ERRNOS and exc.errno != errno.EPERM:
            raise
        shutil.copy2(target, keep)
