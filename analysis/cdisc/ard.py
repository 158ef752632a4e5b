"""The Analysis Results Data in the pharmaverse ``cards`` layout, from ``ard.parquet``.

``cards`` (the R package of the pharmaverse) holds one statistic per row: ``group1`` (the
grouping variable) and ``group1_level`` (its level), ``variable`` and ``variable_level``,
``context`` (the kind of analysis), ``stat_name``, ``stat_label``, ``stat``, ``fmt_fn`` (decimals
to show), ``warning`` and ``error``. Every row of ard.parquet becomes one row here, renamed, never
recomputed; docs/cdisc.md maps the columns onto the CDISC Analysis Results Standard.
"""

from __future__ import annotations

import json
import math

import pandas as pd

CARDS_COLUMNS: list[str] = [
    "group1",
    "group1_level",
    "variable",
    "variable_level",
    "context",
    "stat_name",
    "stat_label",
    "stat",
    "fmt_fn",
    "warning",
    "error",
]
"""The columns of a cards ARD, in cards' order."""

GROUPING_VARIABLES: dict[str, str] = {
    "crs_rate": "burden",
    "historical_comparison": "cohort",
    "map_prior": "endpoint_scale",
    "stopping_rule": "rule",
    "stopping_oc": "rule",
    "stopping_status": "rule",
    "km": "PARAMCD",
    "cif": "PARAMCD",
    "published_outcome": "cohort",
    "trial_cox": "term",
    "trial_logistic": "term",
}
"""The name of ard.parquet's ``group`` for each analysis (outputs.md); any other: ``population``."""

COUNT_STATS = frozenset(
    {
        "n",
        "N",
        "n_risk",
        "events",
        "evaluated",
        "boundary",
        "crossed",
        "n_studies",
        "burden_matched",
        "trial_n",
        "trial_N",
        "historical_n",
        "historical_N",
        "lr_df",
    }
)
"""Statistics that are whole numbers: ``fmt_fn`` 0; every other statistic 3 decimals."""
NOT_ESTIMABLE = "not estimable"


def derive_cards_ard(ard: pd.DataFrame) -> pd.DataFrame:
    """ard.parquet in the cards layout.

    Parameters
    ----------
    ard
        ``ard.parquet`` (outputs.md: ``analysis``, ``group``, ``variable``, ``stat_name``,
        ``method``, ``stat_value``, ``stat_label``).

    Returns
    -------
    pandas.DataFrame
        :data:`CARDS_COLUMNS`, one row per ard.parquet row, in its order: ``group1`` from
        :data:`GROUPING_VARIABLES`, ``group1_level`` = group; ``context`` = analysis, with
        ``.method`` where the statistic has a named method (so rows stay unique);
        ``stat`` = stat_value; ``fmt_fn`` 0 for counts, else 3; ``warning`` = the label of a
        not-estimable statistic; ``variable_level`` and ``error`` empty.
    """
    analysis = ard["analysis"].astype("string")
    method = ard["method"].astype("string").fillna("")
    stat_name = ard["stat_name"].astype("string")
    label = ard["stat_label"].astype("string")
    out = pd.DataFrame(
        {
            "group1": analysis.map(lambda name: GROUPING_VARIABLES.get(name, "population")).astype("string"),
            "group1_level": ard["group"].astype("string"),
            "variable": ard["variable"].astype("string"),
            "variable_level": pd.Series(pd.NA, index=ard.index, dtype="string"),
            "context": (analysis + method.map(lambda text: f".{text}" if text else "")).astype("string"),
            "stat_name": stat_name,
            "stat_label": label,
            "stat": ard["stat_value"].astype("float64"),
            "fmt_fn": stat_name.isin(COUNT_STATS).map({True: 0, False: 3}).astype("int64"),
            "warning": label.where(label.str.contains(NOT_ESTIMABLE, regex=False).fillna(False)),
            "error": pd.Series(pd.NA, index=ard.index, dtype="string"),
        }
    )
    return out[CARDS_COLUMNS].reset_index(drop=True)


def cards_json_bytes(cards: pd.DataFrame) -> bytes:
    """The cards ARD as JSON: a list of row objects, missing values and NaN as ``null``."""
    records = []
    for row in cards.itertuples(index=False):
        record = {}
        for name, value in zip(CARDS_COLUMNS, row, strict=True):
            missing = value is pd.NA or value is None or (isinstance(value, float) and math.isnan(value))
            record[name] = None if missing else (int(value) if name == "fmt_fn" else value)
        records.append(record)
    return (json.dumps(records, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def cards_csv_bytes(cards: pd.DataFrame) -> bytes:
    """The cards ARD as CSV (UTF-8, empty cell = missing, ``stat`` with 17 significant digits)."""
    return cards.to_csv(index=False, lineterminator="\n", float_format="%.17g").encode("utf-8")
