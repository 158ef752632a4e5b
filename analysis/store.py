"""Writing output tables: Parquet (zstd) with run-invariant provenance, atomically, and the run manifest.

outputs.md: every table is typed and sorted by its key; each file's key-value metadata carries,
under the key ``pacer``, JSON with run-invariant provenance only (input SHA-256s, data cut, code
version, package versions, analysis-plan settings and their hash), so that the same bundle, cut
and settings give byte-identical tables. The run's time goes to ``manifest.json`` only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PROVENANCE_KEY = b"pacer"
OUTPUT_FILE_MODE = 0o640
"""Outputs are readable by the owner's group, not by other users of the machine."""
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
        os.chmod(temporary, OUTPUT_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return file_sha256(path)


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write JSON atomically (sorted keys, indented)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, sort_keys=True, default=str)
        stream.write("\n")
    os.chmod(temporary, OUTPUT_FILE_MODE)
    os.replace(temporary, path)


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
    return all((out_dir / name).is_file() and file_sha256(out_dir / name) == manifest["files"][name]["sha256"]
               for name in record.get("files", []))


def cache_key(parts: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what determines a step's result."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()
