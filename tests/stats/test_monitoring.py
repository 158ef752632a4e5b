"""Safety stopping rules (analysis/stats/monitoring.py) against exact beta-binomial calculations.

Worked by hand (Beta(1, 1) prior). For integer a, b the regularized incomplete beta is a binomial
tail: I_x(a, b) = P(Binomial(a + b − 1, x) ≥ a), so P(p > p_u | x, n) = P(Binomial(n + 1, p_u) ≤ x).

- Grade ≥ 4 CRS, p_u = 0.25, n = 5:
  x = 2: P(Bin(6, 0.25) ≤ 2) = 0.75^6 + 6·0.25·0.75^5 + 15·0.25^2·0.75^4
         = 0.177978515625 + 0.35595703125 + 0.296630859375 = 0.83056640625 < 0.90
  x = 3: + 20·0.25^3·0.75^3 = 0.83056640625 + 0.1318359375 = 0.96240234375 ≥ 0.90
  → the boundary at 5 is 3.
- Treatment-related death, p_u = 0.10, n = 5:
  x = 1: P(Bin(6, 0.1) ≤ 1) = 0.9^6 + 6·0.1·0.9^5 = 0.531441 + 0.354294 = 0.885735 < 0.90
  x = 2: + 15·0.01·0.9^4 = 0.885735 + 0.098415 = 0.98415 ≥ 0.90
  → the boundary at 5 is 2.
"""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta, binom

from analysis.settings import AnalysisPlan, StoppingRules
from analysis.stats import monitoring
from analysis.stats.monitoring import (
    MonitoredRule,
    boundary_at,
    operating_characteristics,
    posterior_prob_exceeds,
    rule_status,
    rules_from_settings,
    stopping_boundaries,
)

CRS = MonitoredRule("crs_grade4plus", "grade ≥ 4 CRS", 0.25, 1.0, 1.0, 0.90, 5, 40)
TRD = MonitoredRule("treatment_related_death", "treatment-related death", 0.10, 1.0, 1.0, 0.90, 5, 40)


def exact_boundary(n: int, p_u: float, a: float, b: float, threshold: float) -> int | None:
    """The smallest x with beta.sf(p_u, a + x, b + n - x) >= threshold, written out one x at a time."""
    for x in range(n + 1):
        if beta.sf(p_u, a + x, b + n - x) >= threshold:
            return x
    return None


def test_hand_worked_posteriors():
    assert posterior_prob_exceeds(2, 5, 0.25, 1, 1) == pytest.approx(0.83056640625, abs=1e-12)
    assert posterior_prob_exceeds(3, 5, 0.25, 1, 1) == pytest.approx(0.96240234375, abs=1e-12)
    assert posterior_prob_exceeds(1, 5, 0.10, 1, 1) == pytest.approx(0.885735, abs=1e-12)
    assert posterior_prob_exceeds(2, 5, 0.10, 1, 1) == pytest.approx(0.98415, abs=1e-12)


def test_hand_worked_boundaries():
    assert boundary_at(CRS, 5) == 3
    assert boundary_at(TRD, 5) == 2


@pytest.mark.parametrize("n", [5, 14, 23, 40])
def test_beta_tail_is_binomial_tail(n):
    # the identity used for the hand calculations, checked with scipy for every x
    x = np.arange(n + 1)
    assert np.allclose(beta.sf(0.25, 1 + x, 1 + n - x), binom.cdf(x, n + 1, 0.25), atol=1e-12)


@pytest.mark.parametrize("rule", [CRS, TRD], ids=lambda r: r.name)
def test_boundary_table_matches_exact_calculation(rule):
    table = stopping_boundaries(rule)
    assert table["n_evaluated"].tolist() == list(range(5, 41))
    for row in table.itertuples():
        expected = exact_boundary(row.n_evaluated, rule.unacceptable_rate, 1.0, 1.0, 0.90)
        assert (None if pd.isna(row.stop_at) else int(row.stop_at)) == expected
        # the boundary is where the posterior first reaches the threshold
        assert row.posterior_at_stop >= 0.90
        if expected > 0:
            assert row.posterior_below_stop < 0.90


def test_boundaries_with_an_informative_prior_and_other_threshold():
    rule = MonitoredRule("crs_grade4plus", "grade ≥ 4 CRS", 0.30, 0.6, 1.4, 0.95, 3, 20)
    table = stopping_boundaries(rule)
    for row in table.itertuples():
        assert (None if pd.isna(row.stop_at) else int(row.stop_at)) == exact_boundary(
            row.n_evaluated, 0.30, 0.6, 1.4, 0.95
        )


def test_no_boundary_when_even_all_events_do_not_stop():
    # with a very demanding threshold, 1 of 1 does not stop: NA in the table, None from boundary_at
    rule = MonitoredRule("x", "events", 0.5, 1.0, 1.0, 0.99, 1, 3)
    # n = 1, x = 1: beta.sf(0.5, 2, 1) = 1 - 0.5^2 = 0.75 < 0.99
    assert boundary_at(rule, 1) is None
    assert pd.isna(stopping_boundaries(rule)["stop_at"].iloc[0])


def test_boundaries_never_decrease_and_settings_defaults():
    plan = AnalysisPlan()
    assert plan.stopping == StoppingRules()
    assert (plan.stopping.prior_a, plan.stopping.prior_b) == (1.0, 1.0)
    assert plan.stopping.crs_grade4plus_unacceptable_rate == 0.25
    assert plan.stopping.treatment_related_death_unacceptable_rate == 0.10
    assert plan.stopping.posterior_threshold == 0.90
    assert (plan.stopping.min_evaluated, plan.stopping.max_evaluated) == (5, 40)
    for rule in rules_from_settings(plan.stopping):
        stops = stopping_boundaries(rule)["stop_at"].astype(int).to_numpy()
        assert (np.diff(stops) >= 0).all()


def test_status_lines():
    assert (
        rule_status(CRS, 2, 14).text == "boundary not crossed: 2 grade ≥ 4 CRS in 14 evaluable; the boundary at 14 is 6"
    )
    crossed = rule_status(CRS, 6, 14)
    assert crossed.crossed and crossed.text.startswith("BOUNDARY CROSSED: 6 grade ≥ 4 CRS in 14 evaluable")
    early = rule_status(TRD, 1, 3)
    assert not early.crossed and early.boundary is None
    assert (
        early.text == "not yet monitored: 1 treatment-related death in 3 evaluable; the rule applies from 5 evaluable"
    )
    assert (
        rule_status(TRD, 2, 9).text
        == "BOUNDARY CROSSED: 2 treatment-related deaths in 9 evaluable; the boundary at 9 is 2"
        " — the DSMB is asked to consider pausing enrollment"
    )
    # beyond the planned maximum the boundary is computed for the actual n
    assert rule_status(TRD, 0, 45).boundary == exact_boundary(45, 0.10, 1, 1, 0.90)
    assert rule_status(CRS, 0, 0).evaluated == 0
    with pytest.raises(ValueError):
        rule_status(CRS, 3, 2)


def test_operating_characteristics_seeded_and_sensible():
    rates = (0.05, 0.25, 0.45)
    first = operating_characteristics(CRS, rates, trials=4000, seed=7)
    again = operating_characteristics(CRS, rates, trials=4000, seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert first["true_rate"].tolist() == list(rates)
    assert first["prob_stop"].is_monotonic_increasing
    assert first["prob_stop"].iloc[0] < 0.05 and first["prob_stop"].iloc[-1] > 0.9
    assert (first["mean_evaluated"] <= 40).all() and first["mean_evaluated"].is_monotonic_decreasing


def test_operating_characteristics_exact_for_a_short_rule():
    # max 5, min 5: one look at n = 5 with boundary 3 -> P(stop) = P(Bin(5, p) >= 3) exactly
    rule = MonitoredRule("crs_grade4plus", "grade ≥ 4 CRS", 0.25, 1.0, 1.0, 0.90, 5, 5)
    oc = operating_characteristics(rule, (0.3,), trials=200_000, seed=1)
    exact = binom.sf(2, 5, 0.3)
    assert oc["prob_stop"].iloc[0] == pytest.approx(exact, abs=4 * oc["mc_se"].iloc[0])


def test_doctest_examples():
    assert doctest.testmod(monitoring).failed == 0
