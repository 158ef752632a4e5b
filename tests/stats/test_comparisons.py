"""Trial rate vs one historical rate, against R (tests/fixtures/r/reference.R, "Proportions and comparisons").

Cases are (x/n trial, m/M historical); they include zero cells, full cells and PACER-sized tables.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from analysis.stats.comparisons import (
    binom_exact_less,
    compare_rates,
    fisher_exact,
    katz_log_rr,
    newcombe_hybrid,
    prob_trial_lower,
    wilson_interval,
)

R = Path(__file__).resolve().parents[1] / "fixtures" / "r"
TOL_EST = 1e-6
TOL_CI = 1e-4


def _records(name):
    return pd.read_csv(R / name).to_dict("records")


def _id(r):
    return f"{r['x']}/{r['n']}-vs-{r['m']}/{r['M']}"


@pytest.mark.parametrize("row", _records("binom.csv"), ids=_id)
def test_binom_exact_one_sided_matches_r(row):
    # R: binom.test(x, n, p = m / M, alternative = "less")$p.value
    assert binom_exact_less(row["x"], row["n"], row["m"] / row["M"]) == pytest.approx(row["p_value"], abs=TOL_CI)


@pytest.mark.parametrize("row", _records("fisher.csv"), ids=_id)
def test_fisher_two_sided_matches_r(row):
    # R: fisher.test(matrix(c(x, n - x, m, M - m), nrow = 2, byrow = TRUE))$p.value
    assert fisher_exact(row["x"], row["n"], row["m"], row["M"]) == pytest.approx(row["p_value"], abs=TOL_CI)


@pytest.mark.parametrize("row", _records("newcombe.csv"), ids=_id)
def test_newcombe_hybrid_matches_r_formula(row):
    res = newcombe_hybrid(row["x"], row["n"], row["m"], row["M"])
    # R (base, explicit): rd - sqrt((p1 - l1)^2 + (u2 - p2)^2), rd + sqrt((u1 - p1)^2 + (p2 - l2)^2),
    #   Wilson limits without continuity correction (reference.R, wilson())
    assert res.rd == pytest.approx(row["rd"], abs=TOL_EST)
    assert res.ci_low == pytest.approx(row["ci_low"], abs=TOL_CI)
    assert res.ci_high == pytest.approx(row["ci_high"], abs=TOL_CI)


@pytest.mark.parametrize("row", _records("katz.csv"), ids=_id)
def test_katz_log_rr_matches_r_formula(row):
    res = katz_log_rr(row["x"], row["n"], row["m"], row["M"])
    # R (base, explicit): rr <- (a/(a+b))/(c/(c+d)); se <- sqrt(1/a - 1/(a+b) + 1/c - 1/(c+d));
    #   exp(log(rr) -/+ qnorm(0.975) * se); 2 * pnorm(-abs(log(rr) / se)); +0.5 to all cells if any is 0
    assert res.corrected == bool(row["corrected"])
    assert res.rr == pytest.approx(row["rr"], abs=TOL_EST)
    assert res.ci_low == pytest.approx(row["ci_low"], abs=TOL_CI)
    assert res.ci_high == pytest.approx(row["ci_high"], abs=TOL_CI)
    assert res.p_value == pytest.approx(row["p_value"], abs=TOL_CI)


@pytest.mark.parametrize("row", _records("bayes.csv"), ids=_id)
def test_prob_lower_matches_r_integrate(row):
    # R: integrate(function(u) dbeta(u, m + 1, M - m + 1) * pbeta(u, x + 1, n - x + 1), 0, 1,
    #              rel.tol = 1e-10, subdivisions = 1000L)$value
    assert prob_trial_lower(row["x"], row["n"], row["m"], row["M"]) == pytest.approx(row["prob_lower"], abs=TOL_CI)


def _closed_form_prob_lower(x, n, m, M):
    """P(p_hist > p_trial) by the exact finite sum for integer Beta parameters (independent check)."""
    a1, b1, a2, b2 = x + 1, n - x + 1, m + 1, M - m + 1
    i = np.arange(a2)
    logs = special.betaln(a1 + i, b1 + b2) - np.log(b2 + i) - special.betaln(1 + i, b2) - special.betaln(a1, b1)
    return float(np.exp(logs).sum())


@pytest.mark.parametrize(
    "x, n, m, M",
    [
        (3, 20, 35, 75),
        (0, 12, 35, 75),
        (12, 12, 35, 75),
        (5, 20, 41, 255),
        (1, 30, 69, 255),
        (40, 300, 140, 768),
        (0, 1, 0, 1),
    ],
)
def test_prob_lower_quadrature_accuracy(x, n, m, M):
    # Documented accuracy: the quadrature agrees with the closed-form sum to 1e-10.
    assert prob_trial_lower(x, n, m, M) == pytest.approx(_closed_form_prob_lower(x, n, m, M), abs=1e-10)


def test_primary_example_quoted():
    c = compare_rates(3, 20, 35, 75)
    # R: binom.test(3, 20, p = 35/75, alternative = "less")$p.value  ->  0.003216418905
    assert c.p_binom_exact_1s == pytest.approx(0.003216418905, abs=1e-10)
    # R: fisher.test(matrix(c(3, 17, 35, 40), 2, byrow = TRUE))$p.value  ->  0.01079196601
    assert c.p_fisher_exact == pytest.approx(0.01079196601, abs=1e-10)
    # R: integrate(function(u) dbeta(u, 36, 41) * pbeta(u, 4, 18), 0, 1, rel.tol = 1e-10)$value  ->  0.9951033013
    assert c.prob_lower == pytest.approx(0.9951033013, abs=1e-9)
    assert c.trial_p == 0.15 and c.historical_p == pytest.approx(35 / 75)


def test_fisher_uses_r_relative_tolerance():
    # A symmetric-ish table where the observed and mirrored tables tie; R sums both.
    # R: fisher.test(matrix(c(7, 8, 13, 13), 2, byrow = TRUE))$p.value  ->  1
    assert fisher_exact(7, 15, 13, 26) == pytest.approx(1.0, abs=1e-12)


def test_wilson_limits_at_the_edges():
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0


def test_katz_zero_cell_rule():
    # No zero cell: nothing added.
    assert not katz_log_rr(3, 20, 35, 75).corrected
    # A zero cell anywhere (here n - x = 0): 0.5 added to all four cells.
    res = katz_log_rr(12, 12, 35, 75)
    assert res.corrected
    assert res.rr == pytest.approx((12.5 / 13) / (35.5 / 76))


def test_empty_side_is_nan():
    c = compare_rates(0, 0, 35, 75)
    assert math.isnan(c.p_binom_exact_1s) and math.isnan(c.p_fisher_exact) and math.isnan(c.prob_lower)
    assert math.isnan(c.difference.rd) and math.isnan(c.ratio.rr)
    assert math.isnan(compare_rates(3, 20, 0, 0).p_binom_exact_1s)


@pytest.mark.parametrize("args", [(5, 4, 1, 2), (-1, 4, 1, 2), (1, 4, 3, 2), (1.5, 4, 1, 2)])
def test_invalid_counts(args):
    with pytest.raises(ValueError):
        compare_rates(*args)
