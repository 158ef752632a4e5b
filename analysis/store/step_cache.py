"""The step cache: a step reuses its outputs when what determines them (its key) is unchanged and they are intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from analysis.store.manifest import read_manifest
from analysis.store.tables import file_sha256


def cache_key(parts: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of what determines a step's result."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


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
