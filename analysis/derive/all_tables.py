"""Every derived table of one data cut, from the processed participants and events (outputs.md).

The order follows the dependencies: CRS first (the timeline feeds the reconciliation), then
anakinra, ICANS and adverse events, then the subject-level and time-to-event datasets, which join
the safety summaries. The queries of every derivation go into one ``queries`` table.
"""

from __future__ import annotations

import pandas as pd

from analysis.derive.adsl import build_adsl
from analysis.derive.adtte import derive_adtte
from analysis.derive.ae import derive_ae
from analysis.derive.anakinra import build_anakinra
from analysis.derive.crs import build_crs_tables
from analysis.derive.date_queries import derive_date_queries
from analysis.derive.icans import build_icans
from analysis.derive.queries import QUERY_COLUMNS, RAISED_COLUMNS, empty_queries
from analysis.derive.reconciliation import derive_grade_discrepancies
from analysis.settings import AnalysisPlan

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "crs_timeline": ("participant_id", "start_hours"),
    "crs": ("participant_id",),
    "icans": ("participant_id",),
    "anakinra": ("participant_id",),
    "ae": ("participant_id", "onset_hours", "term"),
    "adsl": ("participant_id",),
    "adtte": ("participant_id", "paramcd"),
    "queries": ("participant_id", "source", "kind", "detail"),
}
"""Each derived table and the key it is sorted by (outputs.md: sorted by its key)."""


def derive_all_tables(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    """Derive crs_timeline, crs, icans, anakinra, ae, adsl, adtte and queries.

    Text is Arrow-backed throughout (``mode.string_storage``), so the derivations' string operations on
    millions of event rows run in Arrow's kernels instead of a Python loop over cells.
    """
    with pd.option_context("mode.string_storage", "pyarrow"):
        return _derive_all_tables(as_arrow_text(participants), as_arrow_text(events), plan)


def as_arrow_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text column as Arrow-backed ``string``, converted once rather than in each derivation."""
    text = [
        name
        for name, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.StringDtype)
        or (
            pd.api.types.is_object_dtype(dtype)
            and pd.api.types.infer_dtype(frame[name], skipna=True) in ("string", "empty")
        )
    ]
    return frame.astype({name: pd.StringDtype("pyarrow") for name in text})


def _derive_all_tables(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    crs_tables = build_crs_tables(participants, events, plan)
    anakinra, anakinra_queries = build_anakinra(participants, events, plan)
    icans, icans_queries = build_icans(participants, events, plan)
    discrepancies = derive_grade_discrepancies(crs_tables["crs"], icans, crs_tables["crs_timeline"])
    adsl, adsl_queries = build_adsl(participants, events, plan, crs=crs_tables["crs"], icans=icans, anakinra=anakinra)
    adtte = derive_adtte(participants, events, plan)
    queries = combine_queries(
        {
            "crs": crs_tables["queries"],
            "anakinra": anakinra_queries,
            "icans": icans_queries,
            "reconciliation": discrepancies,
            "adsl": adsl_queries,
            "adtte": derive_date_queries(participants, events),
        }
    )
    tables = {
        "crs_timeline": crs_tables["crs_timeline"],
        "crs": crs_tables["crs"],
        "icans": icans,
        "anakinra": anakinra,
        "ae": derive_ae(participants, events),
        "adsl": adsl,
        "adtte": adtte,
        "queries": queries,
    }
    return {name: sort_by_key(frame, TABLE_KEYS[name]) for name, frame in tables.items()}


def combine_queries(by_source: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One queries table: participant_id, kind, detail and the derivation (``source``) that raised it."""
    frames = [
        frame.loc[:, list(RAISED_COLUMNS)].assign(source=source)
        for source, frame in by_source.items()
        if not frame.empty
    ]
    if not frames:
        return empty_queries(QUERY_COLUMNS)
    combined = pd.concat(frames, ignore_index=True)
    return combined.astype(dict.fromkeys(QUERY_COLUMNS, "string"))[list(QUERY_COLUMNS)].drop_duplicates()


def sort_by_key(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """Sort by the table's key, stably, with a fresh index."""
    return frame.sort_values(list(key), kind="stable").reset_index(drop=True)
