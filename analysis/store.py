"""Writing output tables: Parquet (zstd) with run-invariant provenance, atomically, and the run manifest.

outputs.md: every table is typed and sorted by its key; each file's key-value metadata carries,
under the key ``pacer``, JSON with run-invariant provenance only (input SHA-256s, data cut, code
version, package versions, analysis-plan settings and their hash), so that the same bundle, cut
and settings give byte-identical tables. The run's time goes to ``manifest.json`` only.

A step writes through a :class:`StepWriter`: its files land together or not at all (staged in
the output folder, moved into place, then recorded in ``manifest.json``, the commit point), under
an exclusive lock on the output folder (:func:`output_lock`), with the output permissions of
:func:`output_file_mode` and :func:`output_dir_mode`.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PROVENANCE_KEY = b"pacer"
OUTPUT_FILE_MODE = 0o640
"""Default mode of output files: readable by the owner's group, not by other users of the machine."""
OUTPUT_DIR_MODE = 0o750
"""Default mode of output folders: open to the owner's group, closed to other users."""
FILE_MODE_VARIABLE = "PACER_OUTPUT_MODE"
DIR_MODE_VARIABLE = "PACER_DIR_MODE"
LOCK_NAME = ".pacer.lock"
STAGING_PREFIX = ".staging-"
COMMIT_RECORD = ".commit.json"
USER_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file exceeds the size limit",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "a folder stands where an output file goes",
    errno.ENOTDIR: "a file stands where a folder goes",
    errno.ENAMETOOLONG: "a file name is too long",
    errno.ELOOP: "too many levels of symbolic links",
}
"""OS errors that are the machine's state, not a defect: a step reports them in one line (OutputError)."""
PROVENANCE_PACKAGES = ("pacer", "pandas", "numpy", "pyarrow", "scipy", "statsmodels", "lifelines", "pandera", "prefect")


@functools.cache
def code_version() -> str:
    """The pacer version and a fingerprint of its source: ``0.1.0+src.<12 hex>``.

    The fingerprint is the SHA-256 of every file under ``analysis/`` and ``pipelines/`` (names and
    bytes, caches excluded), so any change to the code changes the version that provenance and the
    step cache record, while the same checkout always gives the same version.
    """
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for package in ("analysis", "pipelines"):
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc"):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{metadata.version('pacer')}+src.{digest.hexdigest()[:12]}"


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on."""
    versions = {}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(input_sha256: dict[str, str], data_cut: str, settings_json: str, settings_hash: str) -> dict[str, Any]:
    """The run-invariant provenance stored in every table."""
    return {
        "input_sha256": input_sha256,
        "data_cut": data_cut,
        "code_version": code_version(),
        "package_versions": package_versions(),
        "analysis_plan": json.loads(settings_json),
        "analysis_plan_sha256": settings_hash,
    }


def write_table(frame: pd.DataFrame, path: Path, provenance_record: dict[str, Any]) -> str:
    """Write ``frame`` to ``path`` as Parquet with provenance, atomically; return the file's SHA-256.

    The file is written beside its destination and renamed over it, so a failure never leaves a
    half-written table where a good one was.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata_json = json.dumps(provenance_record, sort_keys=True, separators=(",", ":")).encode()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), PROVENANCE_KEY: metadata_json})
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        pq.write_table(table, temporary, compression="zstd")
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return file_sha256(path)


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write JSON atomically (sorted keys, indented)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2, sort_keys=True, default=str)
            stream.write("\n")
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes(content: bytes, path: Path) -> None:
    """Write ``content`` to ``path`` atomically (beside its destination, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_provenance(path: Path) -> dict[str, Any]:
    """The ``pacer`` provenance of a Parquet file written by :func:`write_table`."""
    return json.loads(pq.read_schema(path).metadata[PROVENANCE_KEY])


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """``out_dir/manifest.json``, or an empty manifest when there is none (or it is unreadable)."""
    path = out_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"files": {}, "steps": {}}


def update_manifest(out_dir: Path, step: str, written: dict[str, dict[str, Any]], details: dict[str, Any]) -> None:
    """Record a step's outputs (file → sha256 and rows) and details in ``out_dir/manifest.json``."""
    manifest = read_manifest(out_dir)
    manifest["files"].update(written)
    manifest["steps"][step] = {**details, "files": sorted(written)}
    write_json(manifest, out_dir / "manifest.json")


def step_is_current(out_dir: Path, step: str, key: str) -> bool:
    """True when ``step`` last ran in ``out_dir`` with this cache key and its files are intact.

    The key covers what really determines a result (input SHA-256s, data cut, time zone,
    settings hash, code version); intact means every file the step wrote is there with the
    SHA-256 the manifest recorded.
    """
    manifest = read_manifest(out_dir)
    record = manifest["steps"].get(step)
    if not record or record.get("key") != key:
        return False
    return all(
        (out_dir / name).is_file() and file_sha256(out_dir / name) == manifest["files"][name]["sha256"]
        for name in record.get("files", [])
    )


def cache_key(parts: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what determines a step's result."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


# --- the output folder: errors, permissions, the lock, whole-step writes ---------------------------


class OutputError(RuntimeError):
    """A user-facing error about the output folder (in use, full, read-only, not permitted) or its mode settings.

    The message is one line; the command-line tool prints it without a traceback.
    """


class OutputBusyError(OutputError):
    """Another run holds the output folder's lock."""


def _mode_setting(variable: str, default: int, owner_bits: int, what: str) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777 or mode & owner_bits != owner_bits:
        raise OutputError(
            f"{variable}={text!r} is not an octal {what} mode such as {default:04o} "
            f"(at most 0777, and the owner keeps {owner_bits:04o})"
        )
    return mode


def output_file_mode() -> int:
    """Mode of every output file: ``PACER_OUTPUT_MODE`` (octal, e.g. ``0640``), default 0640."""
    return _mode_setting(FILE_MODE_VARIABLE, OUTPUT_FILE_MODE, 0o600, "file")


def output_dir_mode() -> int:
    """Mode of every output folder: ``PACER_DIR_MODE`` (octal, e.g. ``0750``), default 0750."""
    return _mode_setting(DIR_MODE_VARIABLE, OUTPUT_DIR_MODE, 0o700, "folder")


def ensure_output_dir(path: Path) -> bool:
    """Create the folder ``path`` when missing, with the output folder mode; True when it was created.

    Parents are created with the default mode; only the output folder itself (and the folders a
    step writes inside it) get :func:`output_dir_mode`. A folder that already exists keeps its
    mode: ``--out`` may name a folder whose mode its owner chose (never chmod ``--out /tmp``).
    """
    mode = output_dir_mode()
    if path.is_dir():
        return False
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        return False
    os.chmod(path, mode)  # mkdir's mode is masked by the umask
    return True


def output_error(out_dir: Path, step: str, exc: OSError, unchanged: bool = True) -> OutputError:
    """One line for an OS error of :data:`USER_ERRNOS` met while a step used ``out_dir``."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    after = (
        "the previous outputs there are unchanged"
        if unchanged
        else f"the {step} step will be recomputed by the next run"
    )
    return OutputError(
        f"the {step} step cannot write to the output folder {out_dir}: {USER_ERRNOS[exc.errno]}{where}; {after}"
    )


def is_user_os_error(exc: BaseException) -> bool:
    """True for an OSError that is the machine's state (disk full, permission, read-only), not a defect."""
    return isinstance(exc, OSError) and not isinstance(exc, BlockingIOError) and exc.errno in USER_ERRNOS


_lock_guard = threading.RLock()
_locks: dict[Path, dict[str, Any]] = {}
_hold_sessions: list[set[Path]] = []


@contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``out_dir`` (``fcntl.flock`` on ``out_dir/.pacer.lock``, created with the folder).

    Never waits: when another process holds it, raises :class:`OutputBusyError` naming that
    process's pid. Re-entrant within a process (a step inside a run that already holds it).
    The kernel drops the lock when its process dies, so a killed run leaves no stale lock; the
    lock file is removed on release, and a folder the lock created is removed if it is left empty.
    """
    key = Path(os.path.realpath(out_dir))
    with _lock_guard:
        entry = _locks.get(key)
        if entry is None:
            output_file_mode()  # a bad mode setting stops the step before anything is made
            created = ensure_output_dir(key)
            try:
                fd = _acquire(key)
            except BaseException:
                if created:
                    _remove_if_empty(key)
                raise
            entry = _locks[key] = {"fd": fd, "depth": 0, "created": created}
        entry["depth"] += 1
        if _hold_sessions and key not in _hold_sessions[-1]:
            _hold_sessions[-1].add(key)
            entry["depth"] += 1
    try:
        yield
    finally:
        _release(key)


@contextmanager
def hold_output_locks() -> Iterator[None]:
    """Keep every output lock taken inside the block until the block ends.

    A run holds its output folders from its first step to its last, so no other run can write
    between two of its steps.
    """
    with _lock_guard:
        _hold_sessions.append(set())
    try:
        yield
    finally:
        with _lock_guard:
            held = _hold_sessions.pop()
        for key in held:
            _release(key)


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


def _release(key: Path) -> None:
    with _lock_guard:
        entry = _locks[key]
        entry["depth"] -= 1
        if entry["depth"] > 0:
            return
        del _locks[key]
        try:
            (key / LOCK_NAME).unlink(missing_ok=True)  # while still holding it: see _acquire
        except OSError:
            pass
        os.close(entry["fd"])
        if entry["created"]:
            _remove_if_empty(key)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


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
        """Stage a Parquet table (:func:`write_table`) as ``name``."""
        self.files[name] = {"sha256": write_table(frame, self._staged(name), provenance_record), "rows": len(frame)}

    def json_file(self, name: str, document: dict[str, Any], rows: int) -> None:
        """Stage a JSON document (:func:`write_json`) as ``name``, recorded with ``rows``."""
        path = self._staged(name)
        write_json(document, path)
        self.files[name] = {"sha256": file_sha256(path), "rows": rows}

    def file(self, name: str, content: bytes) -> None:
        """Stage a file of ``content`` as ``name`` (a path relative to the output folder, e.g. ``report/x.pdf``)."""
        path = self._staged(name)
        write_bytes(content, path)
        self.files[name] = {"sha256": file_sha256(path), "bytes": len(content)}

    def commit(self, details: dict[str, Any]) -> None:
        """Move every staged file into place, then record the step and ``details`` in ``manifest.json``."""
        kept = self.staging / ".previous"
        moved: list[str] = []
        try:
            write_json({"step": self.step, "files": self.files, "details": details}, self.staging / COMMIT_RECORD)
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
