"""The stopping rules in force (analysis/stats/monitoring.py): the settings → one designed rule per event.

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

import numpy as np
import pytest
from pydantic import ValidationError
from scipy.stats import beta, binom

from analysis.settings import AnalysisPlan, StoppingRules
from analysis.stats.monitoring import operating_characteristics, rules_from_settings, stop_limits
from analysis.stats.stopping_design import design_stopping_rule
from analysis.stats.stopping_methods import posterior_exceedance

RULES = {rule.name: rule for rule in rules_from_settings(StoppingRules())}


def exact_boundary(n: int, p_u: float, a: float, b: float, threshold: float) -> int | None:
    """The smallest x with beta.sf(p_u, a + x, b + n - x) >= threshold, written out one x at a time."""
    for x in range(n + 1):
        if beta.sf(p_u, a + x, b + n - x) >= threshold:
            return x
    return None


def test_hand_worked_posteriors():
    assert posterior_exceedance(2, 5, 0.25, 1, 1) == pytest.approx(0.83056640625, abs=1e-12)
    assert posterior_exceedance(3, 5, 0.25, 1, 1) == pytest.approx(0.96240234375, abs=1e-12)
    assert posterior_exceedance(1, 5, 0.10, 1, 1) == pytest.approx(0.885735, abs=1e-12)
    assert posterior_exceedance(2, 5, 0.10, 1, 1) == pytest.approx(0.98415, abs=1e-12)


def test_hand_worked_boundaries():
    assert RULES["crs_grade4plus"].design.boundary_at(5) == 3
    assert RULES["treatment_related_death"].design.boundary_at(5) == 2


@pytest.mark.parametrize("n", [5, 14, 23, 40])
def test_beta_tail_is_binomial_tail(n):
    # the identity used for the hand calculations, checked with scipy for every x
    x = np.arange(n + 1)
    assert np.allclose(beta.sf(0.25, 1 + x, 1 + n - x), binom.cdf(x, n + 1, 0.25), atol=1e-12)


@pytest.mark.parametrize("name", ["crs_grade4plus", "treatment_related_death"])
def test_default_rules_are_the_rules_in_force_before(name):
    # the default (thall_simon, Beta(1, 1), 0.90, looks 5..40) keeps every boundary of the earlier rule
    rule = RULES[name]
    p_u = 0.25 if name == "crs_grade4plus" else 0.10
    assert rule.design.method == "thall_simon" and rule.design.looks == tuple(range(5, 41))
    assert list(rule.design.boundaries) == [exact_boundary(n, p_u, 1.0, 1.0, 0.90) for n in range(5, 41)]
    assert (np.diff(np.array(rule.design.boundaries, dtype=float)) >= 0).all()
    limits = stop_limits(rule)
    assert np.isinf(limits[:4]).all() and limits[4] == rule.design.boundaries[0] and len(limits) == 40


def test_settings_defaults_and_method_switch():
    plan = AnalysisPlan()
    assert plan.stopping == StoppingRules()
    stopping = plan.stopping
    assert (stopping.method, stopping.prior_a, stopping.prior_b, stopping.posterior_threshold) == (
        "thall_simon",
        1.0,
        1.0,
        0.90,
    )
    assert (stopping.crs_grade4plus_unacceptable_rate, stopping.treatment_related_death_unacceptable_rate) == (
        0.25,
        0.10,
    )
    assert (stopping.min_evaluated, stopping.max_evaluated, stopping.looks, stopping.alpha) == (5, 40, None, 0.10)
    assert stopping.look_schedule() == tuple(range(5, 41))
    calibrated = rules_from_settings(StoppingRules(method="bb_calibrated", alpha=0.05, looks=(10, 20, 30, 40)))
    for rule, p0 in zip(calibrated, (0.25, 0.10)):
        assert rule.design == design_stopping_rule("bb_calibrated", p0, (10, 20, 30, 40), alpha=0.05)
        assert rule.design.type1_error <= 0.05
    sprt = rules_from_settings(StoppingRules(method="sprt"))
    assert [rule.design.alternative for rule in sprt] == pytest.approx([0.40, 0.25])


@pytest.mark.parametrize(
    "bad",
    [
        {"looks": (10, 20, 30)},  # does not end at max_evaluated
        {"looks": (20, 10, 40)},
        {"looks": (0, 40)},
        {"min_evaluated": 50},
        {"sprt_rate_increase": 0.8},
        {"method": "wald"},
        {"alpha": 0.0},
    ],
)
def test_incoherent_settings_are_refused(bad):
    with pytest.raises(ValidationError):
        StoppingRules(**bad)


def test_simulated_operating_characteristics_seeded_and_sensible():
    rule = RULES["crs_grade4plus"]
    rates = (0.05, 0.25, 0.45)
    first = operating_characteristics(rule, rates, trials=4000, seed=7)
    again = operating_characteristics(rule, rates, trials=4000, seed=7)
    assert first.equals(again)
    assert first["true_rate"].tolist() == list(rates)
    assert first["prob_stop"].is_monotonic_increasing
    assert first["prob_stop"].iloc[0] < 0.05 and first["prob_stop"].iloc[-1] > 0.9
    assert (first["mean_evaluated"] <= 40).all() and first["mean_evaluated"].is_monotonic_decreasing


def test_simulation_agrees_with_the_exact_operating_characteristics():
    # the Monte Carlo cross-check: within 4 standard errors of the exact recursion at every rate (the
    # number evaluated lies in 1..40, so its standard deviation is at most 20)
    rates = (0.05, 0.10, 0.20, 0.25, 0.30, 0.40)
    for rule in RULES.values():
        simulated = operating_characteristics(rule, rates, trials=20_000, seed=11)
        exact = rule.design.operating_characteristics(rates)
        for sim, ex in zip(simulated.itertuples(), exact):
            se = max(np.sqrt(ex["prob_stop"] * (1 - ex["prob_stop"]) / 20_000), 1e-4)
            assert abs(sim.prob_stop - ex["prob_stop"]) <= 4 * se, (rule.name, sim.true_rate)
            assert abs(sim.mean_evaluated - ex["expected_n"]) <= 4 * 20 / np.sqrt(20_000), (rule.name, sim.true_rate)
