"""What determines each step's outputs: the parts of its cache key, computed without Prefect.

The steps (:func:`pipelines.step_runner.run_step`) and the command line's check that a run has
nothing to do (:mod:`pipelines.reuse`) read the same functions, so they agree on every key. A later
step's key includes the keys of the steps it reads (:func:`step_key`), so it is recomputed when
they change; the code version is part of every key (:func:`step_cache_key`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from analysis.export.bundle import Bundle, read_bundle
from analysis.export.ingest import export_time_zone, resolve_data_cut
from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH
from analysis.settings import AnalysisPlan
from analysis.store import cache_key, code_version, file_sha256, read_manifest


def step_cache_key(parts: dict[str, Any]) -> str:
    """The cache key of a step: its ``parts`` and the code version (:func:`analysis.store.code_version`)."""
    return cache_key({**parts, "code": code_version()})


def step_key(out_dir: Path, step: str) -> str | None:
    """The cache key ``step`` last recorded in ``out_dir/manifest.json`` (None when it has not run there)."""
    return read_manifest(out_dir)["steps"].get(step, {}).get("key")


def ingest_input(export: Path, data_cut: date | None, time_zone: str | None) -> tuple[Bundle, str | None, date]:
    """The bundle an ingest reads, its time zone and its data cut (the cut defaults to the manifest's export date).

    Raises
    ------
    ExportError
        when the bundle cannot be read, or its zone or cut cannot be resolved.
    """
    bundle = read_bundle(export)
    zone = export_time_zone(bundle, time_zone)
    return bundle, zone, resolve_data_cut(data_cut, bundle, zone)


def ingest_key_parts(input_sha256: dict[str, str], cut: date, zone: str | None, plan: AnalysisPlan) -> dict:
    """What determines the ingest's tables: the input bytes, the cut, the time zone and the settings."""
    return {"inputs": input_sha256, "data_cut": cut.isoformat(), "timezone": zone, "settings": plan.settings_hash()}


def derive_key_parts(processed: Path, plan: AnalysisPlan) -> dict:
    """What determines the derived tables: the ingest's own key and the settings."""
    return {"ingest": step_key(processed, "ingest"), "settings": plan.settings_hash()}


def analyze_key_parts(processed: Path, plan: AnalysisPlan, historical: Path | None) -> dict:
    """What determines the analysis results: the derive keys of the trial (and of the historical folder), the
    historical cohorts file and the settings."""
    return {
        "derive": step_key(processed, "derive"),
        "historical": None if historical is None else step_key(historical, "derive"),
        "cohorts": file_sha256(HISTORICAL_COHORTS_PATH),
        "settings": plan.settings_hash(),
    }


def report_key_parts(processed: Path, plan: AnalysisPlan) -> dict:
    """What determines the reports: the derive, analyze and bootstrap steps' keys and the settings (the code,
    templates included, is added by :func:`step_cache_key`)."""
    return {
        "derive": step_key(processed, "derive"),
        "analyze": step_key(processed, "analyze"),
        "bootstrap": step_key(processed, "bootstrap"),
        "settings": plan.settings_hash(),
    }
