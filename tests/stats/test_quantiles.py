"""Type-7 quantile summaries, against R quantile(type = 7) (tests/fixtures/r/reference.R, "Quantiles")."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.stats.ard import NOT_ESTIMABLE_N0, to_frame
from analysis.stats.quantiles import quantile7, summarize, summary_ard_rows

R = Path(__file__).resolve().parents[1] / "fixtures" / "r"
TOL_EST = 1e-6
DATA = pd.read_csv(R / "quantile_data.csv", na_values=["NA"])
EXPECTED = pd.read_csv(R / "quantile7.csv")


@pytest.mark.parametrize("row", EXPECTED.to_dict("records"), ids=lambda r: r["id"])
def test_summary_matches_r_type7(row):
    values = DATA.loc[DATA["id"] == row["id"], "value"]
    s = summarize(values)
    # R: quantile(v, c(0, 0.25, 0.5, 0.75, 1), type = 7, na.rm = TRUE); sum(!is.na(v))
    assert s.n == row["n"]
    for name in ("min", "q1", "median", "q3", "max"):
        assert getattr(s, name) == pytest.approx(row[name], abs=TOL_EST), name


def test_quoted_example():
    # R: quantile(c(2.5, 10, 7.25, 0.5, 3), c(0.25, 0.5, 0.75))  ->  2.5 3 7.25
    assert quantile7([2.5, 10, 7.25, 0.5, 3], [0.25, 0.5, 0.75]).tolist() == [2.5, 3.0, 7.25]


def test_empty_and_rows():
    s = summarize([None, float("nan")])
    assert s.n == 0 and math.isnan(s.median)
    frame = to_frame(summary_ard_rows("fever_to_anakinra", "all", "hours", []))
    values = dict(zip(frame["stat_name"], frame["stat_value"]))
    assert values["n"] == 0 and all(math.isnan(values[k]) for k in ("median", "q1", "q3", "min", "max"))
    assert set(frame["stat_label"]) == {NOT_ESTIMABLE_N0}
    frame = to_frame(summary_ard_rows("fever_to_anakinra", "all", "hours", [3, 1, 4, 1, 5, 9, 2, 6]))
    values = dict(zip(frame["stat_name"], frame["stat_value"]))
    # R: quantile(c(3, 1, 4, 1, 5, 9, 2, 6), type = 7)  ->  1 1.75 3.5 5.25 9
    assert [values[k] for k in ("min", "q1", "median", "q3", "max")] == [1, 1.75, 3.5, 5.25, 9]


def test_bad_probability():
    with pytest.raises(ValueError):
        quantile7([1, 2], [1.5])
