"""Clopper–Pearson intervals and the rate rows, against R's binom.test (tests/fixtures/r/reference.R)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.stats.ard import NOT_ESTIMABLE_N0, to_frame
from analysis.stats.proportions import clopper_pearson, rate_rows, rate_summary

R = Path(__file__).resolve().parents[1] / "fixtures" / "r"
TOL_CI = 1e-4
CP = pd.read_csv(R / "clopper_pearson.csv")


@pytest.mark.parametrize("row", CP.to_dict("records"), ids=lambda r: f"{r['x']}/{r['n']}")
def test_clopper_pearson_matches_r(row):
    low, high = clopper_pearson(row["x"], row["n"])
    # R: binom.test(x, n)$conf.int   (reference.R, "Clopper–Pearson")
    assert low == pytest.approx(row["ci_low"], abs=TOL_CI)
    assert high == pytest.approx(row["ci_high"], abs=TOL_CI)


def test_clopper_pearson_quoted_example():
    low, high = clopper_pearson(35, 75)
    # R: binom.test(35, 75)$conf.int  ->  0.3505005 0.5855458
    assert low == pytest.approx(0.3505005, abs=1e-6)
    assert high == pytest.approx(0.5855458, abs=1e-6)


def test_degenerate_limits_are_exact():
    # outputs.md: n = 0 gives ci_low = 0; n = N gives ci_high = 1; N = 0 is not estimable.
    assert clopper_pearson(0, 12)[0] == 0.0
    assert clopper_pearson(12, 12)[1] == 1.0
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))
    # R: binom.test(0, 12)$conf.int[2]  ->  0.2646485
    assert clopper_pearson(0, 12)[1] == pytest.approx(0.2646485, abs=1e-6)


def test_rate_summary_and_rows():
    s = rate_summary(3, 20)
    assert (s.n, s.N, s.p) == (3, 20, 0.15)
    frame = to_frame(rate_rows("crs_rate", "all", "crs_any", 3, 20))
    assert list(frame["stat_name"]) == sorted(["n", "N", "p", "ci_low", "ci_high"])
    values = dict(zip(frame["stat_name"], frame["stat_value"]))
    # R: binom.test(3, 20)$conf.int  ->  0.03207094 0.37892683
    assert values["ci_low"] == pytest.approx(0.03207094, abs=1e-6)
    assert values["ci_high"] == pytest.approx(0.37892683, abs=1e-6)
    assert set(frame["method"]) == {""}


def test_rate_rows_n_zero_denominator():
    frame = to_frame(rate_rows("crs_rate", "high_burden", "crs_any", 0, 0))
    values = dict(zip(frame["stat_name"], frame["stat_value"]))
    assert values["n"] == 0 and values["N"] == 0
    assert all(math.isnan(values[k]) for k in ("p", "ci_low", "ci_high"))
    assert set(frame["stat_label"]) == {NOT_ESTIMABLE_N0}


@pytest.mark.parametrize("n, N", [(-1, 5), (6, 5), (1.5, 5), (True, 5)])
def test_invalid_counts(n, N):
    with pytest.raises(ValueError):
        rate_summary(n, N)
