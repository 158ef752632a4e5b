"""Safety stopping rules: Bayesian beta-binomial monitoring in the style of Thall & Simon (1994).

Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical trials. Biometrics
1994;50(2):337–349. Issue 6: a rule for grade ≥ 4 CRS and one for treatment-related death
(grading.md, "Treatment-related death and stopping rules"), over the CRS-evaluable set, configured
by :class:`analysis.settings.StoppingRules`.

With a Beta(a, b) prior on the true event rate p and x events among n evaluated, the posterior is
Beta(a + x, b + n − x) and

.. math:: \\Pr(p > p_u \\mid x, n) = 1 - I_{p_u}(a + x,\\; b + n - x)

(``scipy.stats.beta.sf``), where :math:`p_u` is the unacceptable rate and :math:`I` the regularized
incomplete beta function. A stop is signalled at n ≥ ``min_evaluated`` when this reaches the
threshold. The probability rises with x, so the **boundary** at n is the smallest x that signals a
stop; when even x = n does not, there is no boundary at n (``pd.NA``).

The **operating characteristics** assume continuous monitoring (one look per newly evaluated
participant, n = ``min_evaluated`` … ``max_evaluated``): the probability that a trial with true rate p
ever crosses a boundary, and the expected number evaluated when it stops (or ``max_evaluated``).
They are estimated by seeded simulation (:func:`operating_characteristics`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.settings import StoppingRules


@dataclass(frozen=True)
class MonitoredRule:
    """One stopping rule: what is counted and the rate the DSMB will not accept.

    Attributes
    ----------
    name : str
        Machine name (``crs_grade4plus``, ``treatment_related_death``).
    event_label : str
        The event as the status line counts it, singular ("grade ≥ 4 CRS", "treatment-related death");
        an ``s`` is added for other counts unless ``event_label`` ends with "CRS".
    unacceptable_rate : float
    prior_a, prior_b, threshold : float
    min_evaluated, max_evaluated : int
    """

    name: str
    event_label: str
    unacceptable_rate: float
    prior_a: float
    prior_b: float
    threshold: float
    min_evaluated: int
    max_evaluated: int


def rules_from_settings(stopping: StoppingRules) -> list[MonitoredRule]:
    """The two rules of issue 6 with the settings in force."""
    common = dict(
        prior_a=stopping.prior_a,
        prior_b=stopping.prior_b,
        threshold=stopping.posterior_threshold,
        min_evaluated=stopping.min_evaluated,
        max_evaluated=stopping.max_evaluated,
    )
    return [
        MonitoredRule("crs_grade4plus", "grade ≥ 4 CRS", stopping.crs_grade4plus_unacceptable_rate, **common),
        MonitoredRule(
            "treatment_related_death",
            "treatment-related death",
            stopping.treatment_related_death_unacceptable_rate,
            **common,
        ),
    ]


def posterior_prob_exceeds(x: np.ndarray | int, n: np.ndarray | int, rate: float, a: float, b: float) -> np.ndarray:
    """P(p > ``rate`` | x events in n), Beta(a, b) prior: ``beta.sf(rate, a + x, b + n − x)``."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    return stats.beta.sf(rate, a + x, b + n - x)


def boundary_at(rule: MonitoredRule, n: int) -> int | None:
    """The smallest number of events among ``n`` evaluated that signals a stop; None if none does.

    Below ``rule.min_evaluated`` no stop is signalled (None).
    """
    if n < rule.min_evaluated:
        return None
    x = np.arange(n + 1)
    hit = np.flatnonzero(
        posterior_prob_exceeds(x, n, rule.unacceptable_rate, rule.prior_a, rule.prior_b) >= rule.threshold
    )
    return int(hit[0]) if hit.size else None


def stopping_boundaries(rule: MonitoredRule) -> pd.DataFrame:
    """The table of boundaries for n = ``min_evaluated`` … ``max_evaluated``.

    Returns
    -------
    pandas.DataFrame
        ``n_evaluated`` (int64); ``stop_at`` (Int64, NA where no count stops); ``posterior_at_stop`` =
        P(p > p_u | stop_at, n); ``posterior_below_stop`` = P(p > p_u | stop_at − 1, n) (NaN where
        ``stop_at`` is 0 or NA) — the boundary is where the posterior first reaches the threshold.
    """
    ns = np.arange(rule.min_evaluated, rule.max_evaluated + 1)
    stop = [boundary_at(rule, int(n)) for n in ns]
    at = [
        np.nan if s is None else float(posterior_prob_exceeds(s, n, rule.unacceptable_rate, rule.prior_a, rule.prior_b))
        for s, n in zip(stop, ns)
    ]
    below = [
        np.nan
        if s is None or s == 0
        else float(posterior_prob_exceeds(s - 1, n, rule.unacceptable_rate, rule.prior_a, rule.prior_b))
        for s, n in zip(stop, ns)
    ]
    return pd.DataFrame(
        {
            "n_evaluated": ns.astype("int64"),
            "stop_at": pd.array(stop, dtype="Int64"),
            "posterior_at_stop": np.asarray(at, dtype=float),
            "posterior_below_stop": np.asarray(below, dtype=float),
        }
    )


@dataclass(frozen=True)
class RuleStatus:
    """Where one rule stands at a data cut.

    Attributes
    ----------
    rule : MonitoredRule
    events, evaluated : int
    boundary : int or None
        The boundary at ``evaluated`` (None below the minimum or where no count stops).
    posterior : float
        P(p > unacceptable rate | events, evaluated).
    crossed : bool
    text : str
        The plain-language status line.
    """

    rule: MonitoredRule
    events: int
    evaluated: int
    boundary: int | None
    posterior: float
    crossed: bool
    text: str


def rule_status(rule: MonitoredRule, events: int, evaluated: int) -> RuleStatus:
    """The status of ``rule`` with ``events`` among ``evaluated`` (the CRS-evaluable set at the cut).

    Example
    -------
    >>> rule = MonitoredRule("crs_grade4plus", "grade ≥ 4 CRS", 0.25, 1, 1, 0.9, 5, 40)
    >>> rule_status(rule, 2, 14).text
    'boundary not crossed: 2 grade ≥ 4 CRS in 14 evaluable; the boundary at 14 is 6'
    """
    events, evaluated = int(events), int(evaluated)
    if not 0 <= events <= evaluated:
        raise ValueError(f"events must be within 0..evaluated, got {events} of {evaluated}")
    posterior = float(posterior_prob_exceeds(events, evaluated, rule.unacceptable_rate, rule.prior_a, rule.prior_b))
    counted = f"{events} {counted_label(rule, events)} in {evaluated} evaluable"
    if evaluated < rule.min_evaluated:
        return RuleStatus(
            rule,
            events,
            evaluated,
            None,
            posterior,
            False,
            f"not yet monitored: {counted}; the rule applies from {rule.min_evaluated} evaluable",
        )
    boundary = boundary_at(rule, evaluated)
    if boundary is None:
        return RuleStatus(
            rule,
            events,
            evaluated,
            None,
            posterior,
            False,
            f"boundary not crossed: {counted}; no count stops at {evaluated}",
        )
    crossed = events >= boundary
    head = "BOUNDARY CROSSED" if crossed else "boundary not crossed"
    text = f"{head}: {counted}; the boundary at {evaluated} is {boundary}"
    if crossed:
        text += " — the DSMB is asked to consider pausing enrollment"
    return RuleStatus(rule, events, evaluated, boundary, posterior, crossed, text)


def counted_label(rule: MonitoredRule, count: int) -> str:
    """The event label for ``count`` events ("1 treatment-related death", "2 treatment-related deaths")."""
    plural = count != 1 and not rule.event_label.endswith("CRS")
    return rule.event_label + ("s" if plural else "")


def operating_characteristics(
    rule: MonitoredRule, true_rates: tuple[float, ...], trials: int, seed: int
) -> pd.DataFrame:
    """Probability of stopping under each true rate, by seeded, vectorized simulation.

    Each simulated trial evaluates ``max_evaluated`` participants one at a time, each an event with
    probability p; it stops at the first n ≥ ``min_evaluated`` whose cumulative count reaches the
    boundary at n.

    Parameters
    ----------
    rule : MonitoredRule
    true_rates : tuple of float
    trials : int
        Simulated trials per true rate.
    seed : int
        Seed of ``numpy.random.default_rng``: the same arguments give the same table.

    Returns
    -------
    pandas.DataFrame
        ``true_rate``; ``prob_stop`` (share of trials that stop); ``prob_stop_by_half`` (stop with at
        most half of ``max_evaluated`` evaluated); ``mean_evaluated`` (expected number evaluated:
        the stop n, else ``max_evaluated``); ``mc_se`` (Monte Carlo standard error of ``prob_stop``);
        ``trials``.
    """
    table = stopping_boundaries(rule)
    limit = np.full(rule.max_evaluated, np.inf)
    limit[table["n_evaluated"].to_numpy() - 1] = table["stop_at"].astype("float64").fillna(np.inf).to_numpy()
    rng = np.random.default_rng(seed)
    rows = []
    for p in true_rates:
        counts = np.cumsum(rng.random((trials, rule.max_evaluated)) < p, axis=1)
        hit = counts >= limit
        stopped = hit.any(axis=1)
        stop_n = np.where(stopped, hit.argmax(axis=1) + 1, rule.max_evaluated)
        prob = float(stopped.mean())
        rows.append(
            {
                "true_rate": float(p),
                "prob_stop": prob,
                "prob_stop_by_half": float((stopped & (stop_n <= rule.max_evaluated // 2)).mean()),
                "mean_evaluated": float(stop_n.mean()),
                "mc_se": float(np.sqrt(prob * (1 - prob) / trials)),
                "trials": int(trials),
            }
        )
    return pd.DataFrame(rows)


def monitoring_summary(stopping: StoppingRules, counts: dict[str, tuple[int, int]]) -> list[RuleStatus]:
    """The status of every rule from ``{rule name: (events, evaluated)}``."""
    return [rule_status(rule, *counts[rule.name]) for rule in rules_from_settings(stopping)]


__all__ = [
    "MonitoredRule",
    "RuleStatus",
    "boundary_at",
    "counted_label",
    "monitoring_summary",
    "operating_characteristics",
    "posterior_prob_exceeds",
    "rule_status",
    "rules_from_settings",
    "stopping_boundaries",
]
