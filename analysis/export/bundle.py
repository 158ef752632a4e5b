"""An export bundle: a folder, or a ``.zip`` of one, holding manifest.json, participants.csv, events.csv.

Files are read once into memory as bytes, so that what is validated is exactly what is hashed.
Every read is bounded: only regular files and folders are read (a FIFO, socket or device is refused
at once, never opened for a blocking read); each file is read in chunks, by size
(``MAX_MEMBER_BYTES``) and by time (``MAX_READ_SECONDS``). A zip member is refused before a byte of
it is decompressed when it declares more than ``MAX_COMPRESSION_RATIO`` times its compressed size
(a zip bomb) or a compressed size beyond the archive's own; the decompressor never yields more than
the declared size (a member longer than it declares fails its CRC), so memory stays bounded by
the archive's real size, not by what it claims to hold. Every operating-system error on the path (no such file, permission denied, name too long,
too many symbolic links, ...) is one line naming the path.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from analysis.export.errors import ExportError
from analysis.export.timestamps import EARLIEST_YEAR, LATEST_YEAR

REQUIRED_FILES = ("participants.csv", "events.csv")
OPTIONAL_FILES = ("manifest.json",)
MAX_MEMBER_BYTES = 4 * 1024**3
"""A bundle file larger than this (a zip member once uncompressed) is refused (zip-bomb guard)."""
MAX_COMPRESSION_RATIO = 100
"""A zip member expanding to more than this many times its compressed size is refused (a CSV export
compresses about 3 to 10 times; a zip bomb a thousand times and more) ..."""
RATIO_CHECKED_FROM_BYTES = 1024**2
"""... once it has expanded beyond this (a tiny member's ratio says nothing)."""
MAX_READ_SECONDS = 600.0
"""Reading the bundle's files may take this long at most (a stalled network share or device)."""
READ_CHUNK_BYTES = 1024**2


@dataclass(frozen=True)
class Manifest:
    """The optional manifest.json of export-format.md."""

    study_id: str | None = None
    exported_at: datetime | None = None
    source: str | None = None
    format_version: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Bundle:
    """The bytes of each file of a bundle, its SHA-256 and the parsed manifest."""

    origin: str
    files: dict[str, bytes]
    manifest: Manifest = field(default_factory=Manifest)
    sdtm: Any = None
    """An SDTM export's mapping result (:class:`analysis.export.sdtm.SdtmIntake`), None for a CSV bundle."""

    def sha256(self) -> dict[str, str]:
        """SHA-256 of every file read, by file name."""
        return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(self.files.items())}


def read_bundle(
    path: Path | str, *, max_member_bytes: int = MAX_MEMBER_BYTES, max_read_seconds: float = MAX_READ_SECONDS
) -> Bundle:
    """Read a bundle folder or ``.zip``.

    Parameters
    ----------
    max_member_bytes
        the largest bundle file accepted, once uncompressed (tests lower it).
    max_read_seconds
        the longest the files may take to read, all together (tests lower it).

    Raises
    ------
    ExportError
        when the path does not exist or is neither a folder nor a regular file, an OS error stops a
        read, a required file is missing, not a regular file, too large or too slow to read, the zip
        is damaged, encrypted, a zip bomb or holds an unsafe entry, or the manifest cannot be read.
    """
    path = Path(path)
    deadline = _Deadline(path, max_read_seconds)
    from analysis.export.sdtm import is_sdtm_folder, read_sdtm_bundle

    if is_sdtm_folder(path):
        return read_sdtm_bundle(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise ExportError(f"{path}: export bundle not found") from exc
        raise ExportError(os_error_line(path, exc)) from exc
    if stat.S_ISDIR(mode):
        files = _read_folder(path, max_member_bytes, deadline)
    elif stat.S_ISREG(mode):
        files = _read_zip(path, max_member_bytes, deadline)
    else:
        raise ExportError(f"{path}: {file_kind(mode)}, not a bundle folder or a .zip file; refused")
    for name in REQUIRED_FILES:
        if name not in files:
            raise ExportError(f"{path}: required file {name} is missing from the bundle")
    manifest = parse_manifest(files["manifest.json"]) if "manifest.json" in files else Manifest()
    return Bundle(origin=str(path), files=files, manifest=manifest)


def input_path_problem(path: Path | str) -> str | None:
    """Why an input path (an export, a settings file) cannot be read, in one line; None when it can be tried.

    A path that does not exist gives None (the caller says "not found" in its own words); any other
    OS error, or a path that is neither a regular file nor a folder (a FIFO would block a read
    forever), gives its line.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return os_error_line(path, exc)
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    return f"{path}: {file_kind(mode)}, not a regular file or folder; refused"


def os_error_line(path: Path | str, exc: OSError) -> str:
    """One line for an operating-system error on ``path``: the path, the error's words and its symbol.

    e.g. ``/data/x: cannot be read (File name too long, ENAMETOOLONG)``.
    """
    symbol = errno.errorcode.get(exc.errno, "") if exc.errno is not None else ""
    words = exc.strerror or str(exc)
    return f"{path}: cannot be read ({words}{', ' + symbol if symbol else ''})"


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words (for the refusal)."""
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"))
    kinds += ((stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))
    return next((words for test, words in kinds if test(mode)), "not a regular file")


class _Deadline:
    """The time by which every file of a bundle must have been read."""

    def __init__(self, path: Path, seconds: float) -> None:
        self.path, self.seconds, self.end = path, seconds, time.monotonic() + seconds

    def check(self, name: str) -> None:
        if time.monotonic() > self.end:
            raise ExportError(
                f"{self.path}: reading {name} took longer than {self.seconds:g} s (a stalled drive or share?); refused"
            )


def _open_regular(path: Path) -> io.BufferedReader:
    """Open a regular file for reading without ever blocking on a FIFO (checked on the open descriptor)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise ExportError(f"{path}: {file_kind(mode)}, not a regular file; refused")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def _read_bounded(stream: io.RawIOBase, where: str, name: str, limit: int, deadline: _Deadline) -> bytes:
    """Read ``stream`` to its end in chunks, refusing it beyond ``limit`` bytes or past the deadline.

    ``name`` is how the refusal names the file (``events.csv``, or ``entry 'x/events.csv'`` in a zip).
    """
    chunks, total = [], 0
    while chunk := stream.read(READ_CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise ExportError(f"{where}: {name} expands beyond {limit} bytes; refused")
        deadline.check(name)
        chunks.append(chunk)
    return b"".join(chunks)


def _read_folder(path: Path, max_member_bytes: int, deadline: _Deadline) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        try:
            with _open_regular(path / name) as handle:
                size = os.fstat(handle.fileno()).st_size
                if size > max_member_bytes:
                    raise ExportError(f"{path}: {name} is {size} bytes; the limit is {max_member_bytes}; refused")
                files[name] = _read_bounded(handle, str(path), name, max_member_bytes, deadline)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ExportError(os_error_line(path / name, exc)) from exc
    return files


def _read_zip(path: Path, max_member_bytes: int, deadline: _Deadline) -> dict[str, bytes]:
    """The bundle files of a zip, at its root or inside one top-level folder; unsafe or damaged entries refused."""
    try:
        with _open_regular(path) as handle:
            if not zipfile.is_zipfile(handle):
                raise ExportError(f"{path}: not a bundle folder or a .zip file")
            archive_bytes = os.fstat(handle.fileno()).st_size
            return _read_zip_members(handle, path, archive_bytes, max_member_bytes, deadline)
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: a file name in the zip is marked UTF-8 but is not ({exc.reason}); refused") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # a bad CRC or a member longer than it declares, a damaged stream, an unsupported method, encryption
        raise ExportError(f"{path}: the zip is damaged or cannot be read ({exc}); refused") from exc
    except OSError as exc:
        raise ExportError(os_error_line(path, exc)) from exc


def _read_zip_members(
    handle: io.BufferedReader, path: Path, archive_bytes: int, max_member_bytes: int, deadline: _Deadline
) -> dict[str, bytes]:
    wanted = set(REQUIRED_FILES + OPTIONAL_FILES)
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(handle) as archive:
        for info in archive.infolist():
            member = PurePosixPath(info.filename.replace("\\", "/"))
            if member.is_absolute() or ".." in member.parts:
                raise ExportError(f"{path}: unsafe entry '{info.filename}' in the zip (absolute path or '..'); refused")
            if info.is_dir() or member.name not in wanted or len(member.parts) > 2:
                continue
            if info.file_size > max_member_bytes:
                raise ExportError(
                    f"{path}: entry '{info.filename}' expands to {info.file_size} bytes; the limit is {max_member_bytes}; refused"
                )
            if (
                info.file_size > RATIO_CHECKED_FROM_BYTES
                and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size
            ):
                raise ExportError(
                    f"{path}: entry '{info.filename}' expands to {info.file_size} bytes from {info.compress_size}, "
                    f"more than {MAX_COMPRESSION_RATIO} times (a zip bomb?); refused"
                )
            if info.compress_size > archive_bytes:
                raise ExportError(
                    f"{path}: entry '{info.filename}' declares {info.compress_size} compressed bytes, more than "
                    f"the {archive_bytes} bytes of the zip; refused"
                )
            if member.name in files:
                raise ExportError(f"{path}: the zip holds more than one {member.name}")
            if info.flag_bits & 0x1:
                raise ExportError(f"{path}: entry '{info.filename}' is encrypted; export the bundle without a password")
            with archive.open(info) as stream:
                files[member.name] = _read_bounded(
                    stream, str(path), f"entry '{info.filename}'", max_member_bytes, deadline
                )
    return files


def parse_manifest(data: bytes) -> Manifest:
    """Parse manifest.json; ``exported_at`` must be an ISO-8601 date-time with an offset.

    Raises
    ------
    ExportError
        naming manifest.json and the field at fault.
    """
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"manifest.json: not valid UTF-8 JSON ({exc})") from exc
    except RecursionError as exc:
        raise ExportError("manifest.json: not a manifest (JSON nested too deeply)") from exc
    if not isinstance(raw, dict):
        raise ExportError("manifest.json: expected a JSON object")
    exported_at = None
    if raw.get("exported_at"):
        try:
            exported_at = datetime.fromisoformat(str(raw["exported_at"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ExportError(
                f"manifest.json: exported_at '{raw['exported_at']}' is not an ISO-8601 date-time"
            ) from exc
        if exported_at.tzinfo is None:
            raise ExportError(f"manifest.json: exported_at '{raw['exported_at']}' has no UTC offset")
        if not EARLIEST_YEAR <= exported_at.year <= LATEST_YEAR:
            raise ExportError(
                f"manifest.json: exported_at '{raw['exported_at']}' is outside the years {EARLIEST_YEAR}–{LATEST_YEAR}"
            )
    timezone = raw.get("timezone") or None
    if timezone is not None:
        check_timezone(str(timezone), "manifest.json: timezone")
    return Manifest(
        study_id=raw.get("study_id"),
        exported_at=exported_at,
        source=raw.get("source"),
        format_version=None if raw.get("format_version") is None else str(raw["format_version"]),
        timezone=timezone,
    )


def check_timezone(name: str, where: str) -> None:
    """Raise ExportError unless ``name`` is an IANA time zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ExportError(f"{where} '{name}' is not an IANA time zone name") from exc
