"""The safety stopping rules in force: one rule per monitored event, designed from the settings.

grading.md, "Treatment-related death and stopping rules": a rule for grade ≥ 4 CRS (ASTCT) and one
for treatment-related death, over the CRS-evaluable set, checked at the settings' looks (by default
after every newly evaluable participant from ``min_evaluated`` to ``max_evaluated``). The method
and its parameters come from :class:`analysis.settings.StoppingRules`; each rule's p0 is its
``*_unacceptable_rate``. The default method, ``thall_simon``, is the rule of Thall and Simon (1994):
with a Beta(a, b) prior, stop when P(true rate > p0 | x events in n) ≥ ``posterior_threshold``.

The boundaries and the exact operating characteristics come from
:mod:`analysis.stats.stopping_design` and :mod:`analysis.stats.stopping_oc`. The seeded simulation
of :func:`operating_characteristics` (and the blocked one of :mod:`analysis.stats.oc_simulation`)
is only a cross-check of the exact figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.settings import StoppingRules
from analysis.stats.stopping_design import StoppingDesign, design_stopping_rule


@dataclass(frozen=True)
class MonitoredRule:
    """One stopping rule: what is counted and its design.

    Attributes
    ----------
    name : str
        Machine name (``crs_grade4plus``, ``treatment_related_death``): the ARD group of its rows.
    event_label : str
        The event as a count names it ("grade ≥ 4 CRS", "treatment-related death").
    design : StoppingDesign
        The method, p0, looks, boundaries and exact type I error.
    """

    name: str
    event_label: str
    design: StoppingDesign

    @property
    def max_evaluated(self) -> int:
        """The planned maximum number evaluated (the last look)."""
        return self.design.planned


def design_from_settings(stopping: StoppingRules, p0: float) -> StoppingDesign:
    """The rule of ``stopping.method`` for a monitored event whose p0 is ``p0``."""
    return design_stopping_rule(
        stopping.method,
        p0,
        stopping.look_schedule(),
        alpha=stopping.alpha,
        threshold=stopping.posterior_threshold,
        prior=(stopping.prior_a, stopping.prior_b),
        alternative=p0 + stopping.sprt_rate_increase if stopping.method == "sprt" else None,
    )


def rules_from_settings(stopping: StoppingRules) -> list[MonitoredRule]:
    """The two monitored events with the rule in force for each."""
    return [
        MonitoredRule(
            "crs_grade4plus", "grade ≥ 4 CRS", design_from_settings(stopping, stopping.crs_grade4plus_unacceptable_rate)
        ),
        MonitoredRule(
            "treatment_related_death",
            "treatment-related death",
            design_from_settings(stopping, stopping.treatment_related_death_unacceptable_rate),
        ),
    ]


def stop_limits(rule: MonitoredRule) -> np.ndarray:
    """Events needed to stop at n = 1 … N (inf where no look is made or no count stops)."""
    limit = np.full(rule.max_evaluated, np.inf)
    for n, boundary in zip(rule.design.looks, rule.design.boundaries):
        if boundary is not None:
            limit[n - 1] = boundary
    return limit


def operating_characteristics(
    rule: MonitoredRule, true_rates: tuple[float, ...], trials: int, seed: int
) -> pd.DataFrame:
    """Probability of stopping under each true rate, by seeded, vectorized simulation (a cross-check).

    Each simulated trial evaluates N participants one at a time, each an event with probability p;
    it stops at the first look whose cumulative count reaches the boundary. The exact figures are
    :meth:`analysis.stats.stopping_design.StoppingDesign.operating_characteristics`.

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
        most half of N evaluated); ``mean_evaluated`` (the stop n, else N); ``mc_se`` (Monte Carlo
        standard error of ``prob_stop``); ``trials``.
    """
    limit = stop_limits(rule)
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


__all__ = ["MonitoredRule", "design_from_settings", "operating_characteristics", "rules_from_settings", "stop_limits"]
