"""Which folder a run writes, and whether it may replace what the folder holds (no Prefect here: the command
line checks this before any server starts)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from analysis.export.bundle import read_bundle
from analysis.export.ingest import export_time_zone, resolve_data_cut
from pipelines.paths import default_out_dir


def ingest_target(
    export: Path, data_cut: date | None, out_dir: Path | None, time_zone: str | None, out_parent: Path | None = None
) -> Path:
    """The output folder of an ingest: ``out_dir``, else ``<out_parent>/<data cut>/`` (default ``data/processed/<data cut>/``;
    the cut read from the bundle's manifest).

    Raises
    ------
    ExportError
        when the bundle cannot be read or has no data cut.
    """
    if out_dir is not None:
        return Path(out_dir)
    bundle = read_bundle(export)
    return default_out_dir(resolve_data_cut(data_cut, bundle, time_zone or bundle.manifest.timezone), out_parent)


def overwrite_refusal(target: Path, export: Path, data_cut: date | None, time_zone: str | None) -> str | None:
    """Why a run of ``export`` at ``data_cut`` must not replace what ``target`` holds, or None when it may.

    An output folder holding the ingest of a different export (other input SHA-256s in its
    ``manifest.json``) or another data cut is not silently replaced: the run needs ``--force``.
    A new or empty folder, or one holding this export at this cut (a re-run, which reuses its
    steps), may be written.

    Raises
    ------
    ExportError
        when the bundle cannot be read or has no data cut.
    """
    import json

    try:
        record = json.loads((Path(target) / "manifest.json").read_text(encoding="utf-8"))["steps"]["ingest"]
        held_inputs = {name: entry["sha256"] for name, entry in record["inputs"].items()}
        held_cut = record["data_cut"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    bundle = read_bundle(export)
    cut = resolve_data_cut(data_cut, bundle, export_time_zone(bundle, time_zone)).isoformat()
    if held_inputs == bundle.sha256() and held_cut == cut:
        return None
    what = "another export" if held_inputs != bundle.sha256() else "this export"
    return (
        f"output folder {target} holds the outputs of {what} ({record.get('export', '?')}) at data cut {held_cut}, "
        f"not of {export} at data cut {cut}; give another --out, or --force to replace them"
    )
