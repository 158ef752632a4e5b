"""The ARD in the cards layout: one row per ard.parquet row, renamed, never recomputed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.cdisc.ard import CARDS_COLUMNS, cards_json_bytes, derive_cards_ard


def small_ard() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "analysis": ["crs_rate", "crs_rate", "historical_comparison", "km"],
            "group": ["all", "all", "eliana_2018", "RFS"],
            "variable": ["crs_grade3plus", "crs_grade3plus", "crs_penn_grade3plus", "month_12"],
            "stat_name": ["n", "p", "p_value", "surv"],
            "method": ["", "", "binom_exact_1s", ""],
            "stat_value": [4.0, 0.1, 0.0123, np.nan],
            "stat_label": ["events", "proportion", "one-sided exact", "beyond the longest follow-up: not estimable"],
        }
    ).astype({"analysis": "string", "group": "string", "variable": "string", "stat_name": "string", "method": "string"})


def test_cards_rows() -> None:
    cards = derive_cards_ard(small_ard())
    assert list(cards.columns) == CARDS_COLUMNS
    assert cards["group1"].tolist() == ["burden", "burden", "cohort", "PARAMCD"]
    assert cards["group1_level"].tolist() == ["all", "all", "eliana_2018", "RFS"]
    assert cards["context"].tolist() == ["crs_rate", "crs_rate", "historical_comparison.binom_exact_1s", "km"]
    assert cards["fmt_fn"].tolist() == [0, 3, 3, 3]
    assert cards["warning"].isna().tolist() == [True, True, True, False]
    np.testing.assert_array_equal(cards["stat"].to_numpy(), [4.0, 0.1, 0.0123, np.nan])
    assert cards["error"].isna().all() and cards["variable_level"].isna().all()


def test_cards_json_has_null_for_missing() -> None:
    records = json.loads(cards_json_bytes(derive_cards_ard(small_ard())))
    assert records[3]["stat"] is None and records[3]["warning"].endswith("not estimable")
    assert records[0] == {
        "group1": "burden",
        "group1_level": "all",
        "variable": "crs_grade3plus",
        "variable_level": None,
        "context": "crs_rate",
        "stat_name": "n",
        "stat_label": "events",
        "stat": 4.0,
        "fmt_fn": 0,
        "warning": None,
        "error": None,
    }


def test_demo_cards_carry_every_ard_row(demo_adam: Path) -> None:
    ard = pd.read_parquet(demo_adam.parent / "ard.parquet")
    cards = pd.read_csv(
        demo_adam / "ard_cards.csv", keep_default_na=False, na_values=[""], float_precision="round_trip"
    )
    assert len(cards) == len(ard)
    np.testing.assert_array_equal(cards["stat"].to_numpy(), ard["stat_value"].to_numpy())
    assert not cards.duplicated(["group1_level", "variable", "context", "stat_name"]).any()
