"""An export bundle: a folder, or a ``.zip`` of one, holding manifest.json, participants.csv, events.csv.

Files are read once into memory as bytes, so that what is validated is exactly what is hashed.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from analysis.export.errors import ExportError
from analysis.export.timestamps import EARLIEST_YEAR, LATEST_YEAR

REQUIRED_FILES = ("participants.csv", "events.csv")
OPTIONAL_FILES = ("manifest.json",)
MAX_MEMBER_BYTES = 4 * 1024**3
"""A bundle file larger than this (a zip member once uncompressed) is refused (zip-bomb guard)."""


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

    def sha256(self) -> dict[str, str]:
        """SHA-256 of every file read, by file name."""
        return {name: hashlib.sha256(data).hexdigest() for name, data in sorted(self.files.items())}


def read_bundle(path: Path | str, *, max_member_bytes: int = MAX_MEMBER_BYTES) -> Bundle:
    """Read a bundle folder or ``.zip``.

    Parameters
    ----------
    max_member_bytes
        the largest bundle file accepted, once uncompressed (tests lower it).

    Raises
    ------
    ExportError
        when the path does not exist, a required file is missing, unreadable or too large, the zip
        is damaged, encrypted or holds an unsafe entry, or the manifest cannot be read.
    """
    path = Path(path)
    if not path.exists():
        raise ExportError(f"{path}: export bundle not found")
    try:
        if path.is_dir():
            files = _read_folder(path, max_member_bytes)
        elif zipfile.is_zipfile(path):
            files = _read_zip(path, max_member_bytes)
        else:
            raise ExportError(f"{path}: not a bundle folder or a .zip file")
    except OSError as exc:
        raise ExportError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    for name in REQUIRED_FILES:
        if name not in files:
            raise ExportError(f"{path}: required file {name} is missing from the bundle")
    manifest = parse_manifest(files["manifest.json"]) if "manifest.json" in files else Manifest()
    return Bundle(origin=str(path), files=files, manifest=manifest)


def _read_folder(path: Path, max_member_bytes: int) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        if (path / name).is_file():
            size = (path / name).stat().st_size
            if size > max_member_bytes:
                raise ExportError(f"{path}: {name} is {size} bytes; the limit is {max_member_bytes}; refused")
            files[name] = (path / name).read_bytes()
    return files


def _read_zip(path: Path, max_member_bytes: int) -> dict[str, bytes]:
    """The bundle files of a zip, at its root or inside one top-level folder; unsafe or damaged entries refused."""
    try:
        return _read_zip_members(path, max_member_bytes)
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path}: a file name in the zip is marked UTF-8 but is not ({exc.reason}); refused") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # a bad CRC or a member longer than it declares, a damaged stream, an unsupported method, encryption
        raise ExportError(f"{path}: the zip is damaged or cannot be read ({exc}); refused") from exc


def _read_zip_members(path: Path, max_member_bytes: int) -> dict[str, bytes]:
    wanted = set(REQUIRED_FILES + OPTIONAL_FILES)
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(path) as archive:
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
            if member.name in files:
                raise ExportError(f"{path}: the zip holds more than one {member.name}")
            if info.flag_bits & 0x1:
                raise ExportError(f"{path}: entry '{info.filename}' is encrypted; export the bundle without a password")
            with archive.open(info) as handle:
                data = handle.read(max_member_bytes + 1)
            if len(data) > max_member_bytes:
                raise ExportError(f"{path}: entry '{info.filename}' expands beyond {max_member_bytes} bytes; refused")
            files[member.name] = data
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
