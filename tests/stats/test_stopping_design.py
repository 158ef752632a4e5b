"""Stopping-rule designs (analysis/stats/stopping_design.py, stopping_methods.py, stopping_oc.py).

1. The documented example of R's ``stoppingrule`` package, from its README
   (https://github.com/mjmartens/stoppingrule, README.md, "Example"):

       bb_rule = calc.rule.bin(ns=1:30,p0=0.20,alpha=0.10,type="BB",param=c(0.6,2.4))
       print(bb_rule)        # $Rule: N evaluable 1..30, Reject bdry 2 3 3 3 4 4 5 5 5 5 6 6 6 7 7 7 7 8 8 8
                             #        9 9 9 9 10 10 10 10 11 11;  $cval 0.9630823
       table.rule.bin(bb_rule)   # "3 - 4" 3, "5 - 6" 4, "7 - 10" 5, "11 - 13" 6, "14 - 17" 7,
                                 # "18 - 20" 8, "21 - 24" 9, "25 - 28" 10, "29 - 30" 11
       OC.rule.bin(rule=bb_rule,ps=seq(0.2,0.4,0.05))
       #         p Reject Prob E(events)
       # [1,] 0.20  0.09957367  5.651197
       # [2,] 0.25  0.23832301  6.536293
       # [3,] 0.30  0.43615256  6.926712
       # [4,] 0.35  0.64555222  6.819377
       # [5,] 0.40  0.81491087  6.355803

   The boundaries are checked exactly, the rejection probabilities and expected events to half a
   unit of their last printed digit, and ``cval`` to 1e-6 (see test_readme_calibrated_threshold).
2. An independent brute force: every binary sequence of n ≤ 12 participants, its probability
   p^x (1 − p)^(n − x), and the look where it first reaches the boundary.
"""

from __future__ import annotations

import doctest
import itertools

import numpy as np
import pytest
from scipy.stats import beta, binom

from analysis.stats import stopping_design, stopping_oc
from analysis.stats.stopping_design import (
    boundary_table,
    calibrate_critical_value,
    condensed_boundaries,
    design_stopping_rule,
    design_tables,
    first_stop,
    score_matrix,
    status_at_cut,
)
from analysis.stats.stopping_oc import exact_oc, probability_of_stopping

README_BOUNDARIES = [2, 3, 3, 3, 4, 4, 5, 5, 5, 5, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 9, 9, 9, 9, 10, 10, 10, 10, 11, 11]
README_CONDENSED = [(3, 4, 3), (5, 6, 4), (7, 10, 5), (11, 13, 6), (14, 17, 7), (18, 20, 8), (21, 24, 9), (25, 28, 10)]
README_CONDENSED += [(29, 30, 11)]
README_OC = [
    (0.20, 0.09957367, 5.651197),
    (0.25, 0.23832301, 6.536293),
    (0.30, 0.43615256, 6.926712),
    (0.35, 0.64555222, 6.819377),
    (0.40, 0.81491087, 6.355803),
]


@pytest.fixture(scope="module")
def readme_rule():
    return design_stopping_rule("bb_calibrated", 0.20, range(1, 31), alpha=0.10, prior=(0.6, 2.4))


def test_readme_calibrated_threshold(readme_rule):
    # stoppingrule locates each boundary with uniroot() at its default tolerance (1.2e-4 on the event
    # scale), so its bisection stops about slope × tolerance short of the exact jump: its cval
    # 0.9630823 (0.9630823055 unrounded) is 3.9e-7 below the exact 0.96308269167, which R gives with
    # uniroot(..., tol = 1e-12) and tests/fixtures/r/stopping.R gives by exact integer boundaries;
    # both thresholds give the same boundaries.
    assert readme_rule.threshold == pytest.approx(0.9630823, abs=1e-6)
    assert readme_rule.threshold == pytest.approx(0.963082691670337, abs=1e-12)
    assert readme_rule.alpha == 0.10 and readme_rule.p0 == 0.20


def test_readme_boundaries(readme_rule):
    # R prints 2 and 3 at n = 1 and 2: boundaries above n, "rejection is impossible" there (None here)
    expected = [b if b <= n else None for n, b in enumerate(README_BOUNDARIES, start=1)]
    assert list(readme_rule.boundaries) == expected
    assert [r["boundary"] for r in boundary_table(readme_rule)] == expected


def test_readme_condensed_table(readme_rule):
    rows = [(r["n_from"], r["n_to"], r["stop_if_at_least"]) for r in condensed_boundaries(readme_rule)]
    assert rows == README_CONDENSED


@pytest.mark.parametrize(("rate", "reject", "events"), README_OC)
def test_readme_operating_characteristics(readme_rule, rate, reject, events):
    oc = exact_oc(readme_rule.looks, readme_rule.boundaries, rate)
    assert oc.prob_stop == pytest.approx(reject, abs=5e-9)
    assert oc.expected_events == pytest.approx(events, abs=5e-7)
    assert readme_rule.type1_error == pytest.approx(0.09957367, abs=5e-9)


def test_readme_threshold_is_the_posterior_at_a_boundary_point(readme_rule):
    # the calibrated critical value is a posterior probability at some (x, n): lowering it to the next
    # smaller score adds that point to the stopping set and breaks the level (the largest level ≤ α)
    scores = score_matrix(readme_rule, readme_rule.looks)
    values = np.unique(scores[~np.isnan(scores)])
    index = int(np.searchsorted(values, readme_rule.critical_score))
    assert values[index] == readme_rule.critical_score
    looser = first_stop(scores, values[index - 1], inclusive=False)
    assert probability_of_stopping(readme_rule.looks, looser, 0.20) > 0.10 >= readme_rule.type1_error
    x = np.arange(31)
    hits = [(n, k) for n in range(1, 31) for k in x[: n + 1] if beta.sf(0.2, 0.6 + k, 2.4 + n - k) == values[index]]
    assert hits, "the threshold is attained at some (x, n)"


# --- brute force over every binary sequence ------------------------------------------------------


def brute_force(looks, boundaries, p):
    """P(stop), E(events at stop or end), E(n at stop or end) by listing all 2^N sequences."""
    planned = looks[-1]
    stop = events = evaluated = 0.0
    limits = dict(zip(looks, boundaries))
    for sequence in itertools.product((0, 1), repeat=planned):
        weight = p ** sum(sequence) * (1 - p) ** (planned - sum(sequence))
        count, stopped_at = 0, None
        for n, outcome in enumerate(sequence, start=1):
            count += outcome
            limit = limits.get(n)
            if limit is not None and count >= limit:
                stopped_at = n
                break
        if stopped_at is None:
            events += weight * count
            evaluated += weight * planned
        else:
            stop += weight
            events += weight * count
            evaluated += weight * stopped_at
    return stop, events, evaluated


BRUTE_DESIGNS = [
    ("thall_simon", 0.25, tuple(range(3, 13)), {"threshold": 0.90}),
    ("bb_calibrated", 0.20, tuple(range(1, 13)), {"alpha": 0.10, "prior": (0.6, 2.4)}),
    ("bb_calibrated", 0.30, (4, 8, 12), {"alpha": 0.05}),
    ("pocock", 0.20, tuple(range(1, 11)), {"alpha": 0.10}),
    ("obf", 0.15, tuple(range(2, 12)), {"alpha": 0.10}),
    ("sprt", 0.10, tuple(range(1, 13)), {"alpha": 0.05, "alternative": 0.35}),
]


@pytest.mark.parametrize(("method", "p0", "looks", "options"), BRUTE_DESIGNS, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_recursion_equals_brute_force(method, p0, looks, options, rate):
    rule = design_stopping_rule(method, p0, looks, **options)
    oc = exact_oc(rule.looks, rule.boundaries, rate)
    stop, events, evaluated = brute_force(rule.looks, rule.boundaries, rate)
    assert oc.prob_stop == pytest.approx(stop, abs=1e-12)
    assert oc.expected_events == pytest.approx(events, abs=1e-12)
    assert oc.expected_n == pytest.approx(evaluated, abs=1e-12)
    assert oc.stop_by_look.sum() == pytest.approx(stop, abs=1e-12)


@pytest.mark.parametrize(("method", "p0", "looks", "options"), BRUTE_DESIGNS[1:], ids=lambda v: str(v)[:20])
def test_calibration_is_the_largest_level_not_above_alpha(method, p0, looks, options):
    rule = design_stopping_rule(method, p0, looks, **options)
    alpha = options["alpha"]
    # by brute force: the design's own type I error, and that of the next less demanding critical value
    assert brute_force(rule.looks, rule.boundaries, p0)[0] == pytest.approx(rule.type1_error, abs=1e-12)
    assert rule.type1_error <= alpha
    scores = score_matrix(rule, rule.looks)
    values = np.unique(scores[~np.isnan(scores)])
    below = values[values < rule.critical_score].max()
    assert brute_force(rule.looks, first_stop(scores, below, inclusive=False), p0)[0] > alpha
    assert calibrate_critical_value(scores, rule.looks, p0, alpha) == rule.critical_score


# --- hand-worked values -------------------------------------------------------------------------


def test_one_look_by_hand():
    # one look at n = 5, boundary 3, p = 0.3: P(stop) = P(Bin(5, 0.3) >= 3)
    #   = 10·0.027·0.49 + 5·0.0081·0.7 + 0.00243 = 0.1323 + 0.02835 + 0.00243 = 0.16308
    # E(events) = n·p = 1.5 (every path is counted, at the look or at the end); E(n) = 5
    oc = exact_oc([5], [3], 0.3)
    assert oc.prob_stop == pytest.approx(0.16308, abs=1e-15)
    assert oc.expected_events == pytest.approx(1.5, abs=1e-15)
    assert oc.expected_n == pytest.approx(5, abs=1e-14)


def test_two_looks_by_hand():
    # looks 1 and 2, boundary 1 at both, p = 0.4: stop at 1 with 0.4; at 2 with 0.6·0.4 = 0.24
    # E(events) = 0.4·1 + 0.24·1 + 0 = 0.64; E(n) = 0.4·1 + 0.24·2 + 0.36·2 = 1.6
    oc = exact_oc([1, 2], [1, 1], 0.4)
    assert oc.prob_stop == pytest.approx(0.64, abs=1e-15)
    assert oc.expected_events == pytest.approx(0.64, abs=1e-15)
    assert oc.expected_n == pytest.approx(1.6, abs=1e-15)
    assert list(oc.stop_by_look) == pytest.approx([0.4, 0.24], abs=1e-15)


def test_method_scores_by_hand():
    # Pocock: P(Bin(5, 0.2) >= 3) = 10·0.008·0.64 + 5·0.0016·0.8 + 0.00032 = 0.05792
    rule = design_stopping_rule("pocock", 0.2, [5], alpha=0.06)
    assert -score_matrix(rule, [5])[0, 3] == pytest.approx(0.05792, abs=1e-15)
    assert -score_matrix(rule, [5])[0, 3] == pytest.approx(binom.sf(2, 5, 0.2), abs=1e-15)
    # one look at α = 0.06: x >= 3 stops (type I error 0.05792 <= 0.06; x >= 2 would give 0.26272);
    # the calibrated nominal level is the tail one event below the boundary (stop when the tail is below it)
    assert rule.boundaries == (3,) and rule.type1_error == pytest.approx(0.05792, abs=1e-15)
    assert rule.threshold == pytest.approx(binom.sf(1, 5, 0.2), abs=1e-15)
    # OBF: (x − n p0)/√(N p0 q0) at x = 4, n = 10, N = 20, p0 = 0.2: (4 − 2)/√3.2 = 1.118033988749895
    obf = design_stopping_rule("obf", 0.2, range(1, 21), alpha=0.1)
    assert score_matrix(obf, [10])[0, 4] == pytest.approx(2 / np.sqrt(3.2), abs=1e-15)
    # SPRT: 2·log(0.4/0.2) + 3·log(0.6/0.8) = 1.3862944 − 0.8630462 = 0.5232481
    sprt = design_stopping_rule("sprt", 0.2, [5], alpha=0.1, alternative=0.4)
    assert score_matrix(sprt, [5])[0, 2] == pytest.approx(2 * np.log(2) + 3 * np.log(0.75), abs=1e-15)


def test_thall_simon_uses_the_fixed_threshold_inclusively():
    # Beta(1, 1), p_u = 0.25, n = 5: P(p > 0.25 | 3 of 5) = P(Bin(6, 0.25) <= 3) = 0.96240234375 >= 0.9,
    # and 0.83056640625 < 0.9 at 2 of 5: the boundary at 5 is 3; with threshold = 0.96240234375 exactly
    # the boundary is still 3 (≥), with anything above it 4
    assert design_stopping_rule("thall_simon", 0.25, [5], threshold=0.9).boundaries == (3,)
    assert design_stopping_rule("thall_simon", 0.25, [5], threshold=0.96240234375).boundaries == (3,)
    assert design_stopping_rule("thall_simon", 0.25, [5], threshold=0.9625).boundaries == (4,)
    assert design_stopping_rule("thall_simon", 0.25, [5], threshold=0.9).alpha is None


def test_status_at_the_cut():
    rule = design_stopping_rule("thall_simon", 0.25, range(5, 41), threshold=0.90)
    below = status_at_cut(rule, 2, 14)
    assert (below.boundary, below.crossed) == (6, False)
    assert below.posterior == pytest.approx(beta.sf(0.25, 3, 13), abs=1e-15)
    assert status_at_cut(rule, 6, 14).crossed
    early = status_at_cut(rule, 1, 3)
    assert early.boundary is None and not early.crossed
    # beyond the planned maximum the same rule is applied at the actual n
    late = status_at_cut(rule, 0, 45)
    assert late.boundary == next(x for x in range(46) if beta.sf(0.25, 1 + x, 46 - x) >= 0.9)
    assert status_at_cut(design_stopping_rule("obf", 0.2, range(1, 21), alpha=0.1), 3, 10).posterior is None
    with pytest.raises(ValueError):
        status_at_cut(rule, 3, 2)


def test_a_look_schedule():
    rule = design_stopping_rule("bb_calibrated", 0.2, (10, 20, 30, 40), alpha=0.1)
    table = boundary_table(rule)
    assert [r["n_evaluated"] for r in table] == list(range(1, 41))
    assert {r["n_evaluated"] for r in table if r["boundary"] is not None} == {10, 20, 30, 40}
    assert [r["n_from"] for r in condensed_boundaries(rule)] == [10, 20, 30, 40]
    assert status_at_cut(rule, 9, 15).boundary is None  # no look at 15


def test_design_tables_hold_what_the_charter_states(readme_rule):
    tables = design_tables(readme_rule, [0.2, 0.3])
    assert tables["design"][0]["looks"] == "1-30, every participant"
    assert tables["design"][0]["type1_error"] == readme_rule.type1_error
    assert [r["true_rate"] for r in tables["operating_characteristics"]] == [0.2, 0.3]
    assert len(tables["boundaries"]) == 30 and len(tables["condensed"]) == 9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "bayes", "p0": 0.2, "looks": [5]}, "unknown stopping method"),
        ({"method": "bb_calibrated", "p0": 0.2, "looks": [5]}, "needs alpha"),
        ({"method": "thall_simon", "p0": 0.2, "looks": [5]}, "needs the posterior threshold"),
        ({"method": "sprt", "p0": 0.2, "looks": [5], "alpha": 0.1}, "alternative"),
        ({"method": "sprt", "p0": 0.2, "looks": [5], "alpha": 0.1, "alternative": 0.1}, "p1 must lie"),
        ({"method": "pocock", "p0": 0.2, "looks": [5, 5], "alpha": 0.1}, "strictly increasing"),
        ({"method": "pocock", "p0": 1.2, "looks": [5], "alpha": 0.1}, "p0 must lie"),
        ({"method": "pocock", "p0": 0.2, "looks": [5], "alpha": 1.5}, "alpha must lie"),
    ],
)
def test_bad_designs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        design_stopping_rule(**kwargs)


def test_doctest_examples():
    assert doctest.testmod(stopping_design).failed == 0
    assert doctest.testmod(stopping_oc).failed == 0
