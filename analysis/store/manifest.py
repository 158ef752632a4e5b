"""``manifest.json``: every file of the output folder with its SHA-256, and each step's record (key, details, files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.store.tables import write_json

MANIFEST_NAME = "manifest.json"


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """``out_dir/manifest.json``, or an empty manifest when there is none (or it is unreadable)."""
    try:
        return json.loads((Path(out_dir) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"files": {}, "steps": {}}


def update_manifest(out_dir: Path, step: str, written: dict[str, dict[str, Any]], details: dict[str, Any]) -> None:
    """Record a step's outputs (file → sha256 and rows) and details in ``out_dir/manifest.json``."""
    manifest = read_manifest(out_dir)
    manifest["files"].update(written)
    manifest["steps"][step] = {**details, "files": sorted(written)}
    write_json(manifest, Path(out_dir) / MANIFEST_NAME)
