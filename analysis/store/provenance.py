"""The run-invariant provenance every table carries (outputs.md): inputs, cut, code, packages, settings.

Run-invariant only, so that the same bundle, cut and settings give byte-identical tables; the
run's time goes to ``manifest.json``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

PROVENANCE_PACKAGES = ("pacer", "pandas", "numpy", "pyarrow", "scipy", "statsmodels", "lifelines", "pandera", "prefect")
SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The checkout: ``analysis/`` and ``pipelines/`` below it are the code the version fingerprints."""


@functools.cache
def code_version() -> str:
    """The pacer version and a fingerprint of its source: ``0.1.0+src.<12 hex>``.

    The fingerprint is the SHA-256 of every file under ``analysis/`` and ``pipelines/`` (names and
    bytes, caches excluded), so any change to the code changes the version that provenance and the
    step cache record, while the same checkout always gives the same version.
    """
    digest = hashlib.sha256()
    for package in ("analysis", "pipelines"):
        for path in sorted((SOURCE_ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc"):
                digest.update(path.relative_to(SOURCE_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
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
