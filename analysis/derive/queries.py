"""The one schema of the data queries (outputs.md, ``queries.parquet``): every derivation raises its queries in it.

A derivation returns its queries as ``participant_id``, ``kind``, ``detail`` (:data:`RAISED_COLUMNS`,
plus any column it sorts by); :func:`analysis.derive.all_tables.combine_queries` adds ``source``,
the derivation that raised each, and writes :data:`QUERY_COLUMNS`.
"""

from __future__ import annotations

import pandas as pd

QUERY_COLUMNS: tuple[str, ...] = ("participant_id", "kind", "detail", "source")
"""``queries.parquet``: the participant, the kind of query, the detail in plain words, the derivation."""

RAISED_COLUMNS: tuple[str, ...] = QUERY_COLUMNS[:3]
"""What a derivation raises: every query column but ``source``, which the combination adds."""


def empty_queries(columns: tuple[str, ...] = RAISED_COLUMNS) -> pd.DataFrame:
    """A query table with no rows and text ``columns`` (the raised columns unless told)."""
    return pd.DataFrame({column: pd.Series(dtype="string") for column in columns})


def queries_from_records(records: list[dict[str, str]]) -> pd.DataFrame:
    """Raised queries from one dict per query, as text, sorted by participant and kind (stable)."""
    if not records:
        return empty_queries()
    frame = pd.DataFrame(records, columns=list(RAISED_COLUMNS)).astype("string")
    return frame.sort_values(["participant_id", "kind"], kind="mergesort").reset_index(drop=True)
