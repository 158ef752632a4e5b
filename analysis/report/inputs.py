"""Reading one output folder for the report: the tables of outputs.md, the ARD and the analyze step's other
tables, the comparison notes, the manifest, provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.store import read_provenance

TABLES: tuple[str, ...] = (
    "participants",
    "events",
    "quarantine",
    "crs",
    "crs_timeline",
    "icans",
    "anakinra",
    "ae",
    "adsl",
    "adtte",
    "queries",
    "ard",
    "comparison_plan",
    "published_outcomes",
    "km_curves",
    "cif_curves",
)
"""Every table the report reads: outputs.md's, and the analyze step's tables beside the ARD."""
COMPARISON_NOTES = "comparison_notes.json"
"""The analyze step's notes on the historical comparisons not made."""

PROVENANCE_FROM: tuple[str, ...] = ("ard", "adsl", "participants")
"""The tables whose ``pacer`` metadata is read for the front page, first found wins."""


class ReportInputError(ValueError):
    """An output folder the report cannot be built from (a missing table or manifest)."""


@dataclass(frozen=True)
class ReportInputs:
    """What one report is built from.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Every table of :data:`TABLES`, as stored.
    manifest : dict
        ``manifest.json``.
    provenance : dict
        The run-invariant ``pacer`` metadata of the tables (input SHA-256s, data cut, code version,
        analysis plan and its hash).
    comparison_notes : list of str
        The analyze step's notes on comparisons not made (``comparison_notes.json``).
    map_prior_densities : DataFrame or None
        ``map_prior_densities.parquet`` (the MAP-prior figure's curves), None when absent.
    iptw_bootstrap : DataFrame or None
        ``iptw_bootstrap.parquet`` (``pacer bootstrap``: the IPTW risk difference's bootstrap interval),
        None when absent.
    """

    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    provenance: dict[str, Any]
    comparison_notes: list[str]
    map_prior_densities: pd.DataFrame | None = None
    iptw_bootstrap: pd.DataFrame | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def data_cut(self) -> str:
        """The data cut (YYYY-MM-DD), from the provenance, else the manifest."""
        cut = self.provenance.get("data_cut") or self.manifest.get("steps", {}).get("ingest", {}).get("data_cut")
        if not cut:
            raise ReportInputError("the data cut is recorded neither in the tables' provenance nor in manifest.json")
        return str(cut)


def load_inputs(processed: Path) -> ReportInputs:
    """Read every table of :data:`TABLES`, ``comparison_notes.json``, ``manifest.json`` and the provenance.

    Raises
    ------
    ReportInputError
        naming every missing file.
    """
    processed = Path(processed)
    missing = [f"{name}.parquet" for name in TABLES if not (processed / f"{name}.parquet").exists()]
    missing += [name for name in (COMPARISON_NOTES, "manifest.json") if not (processed / name).exists()]
    if missing:
        raise ReportInputError(f"{processed}: cannot build the report, missing {', '.join(missing)}")
    tables = {name: pd.read_parquet(processed / f"{name}.parquet") for name in TABLES}
    manifest = json.loads((processed / "manifest.json").read_text(encoding="utf-8"))
    notes = json.loads((processed / COMPARISON_NOTES).read_text(encoding="utf-8"))["skipped_comparisons"]
    densities_path = processed / "map_prior_densities.parquet"
    densities = pd.read_parquet(densities_path) if densities_path.exists() else None
    bootstrap_path = processed / "iptw_bootstrap.parquet"
    bootstrap = pd.read_parquet(bootstrap_path) if bootstrap_path.exists() else None
    return ReportInputs(tables, manifest, _provenance(processed), notes, densities, bootstrap)


def _provenance(processed: Path) -> dict[str, Any]:
    for name in PROVENANCE_FROM:
        try:
            return read_provenance(processed / f"{name}.parquet")
        except (KeyError, TypeError):
            continue
    raise ReportInputError(f"{processed}: no table carries the 'pacer' provenance metadata")
