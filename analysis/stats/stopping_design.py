"""Designing a safety stopping rule: boundaries per number evaluated, calibration to α, the condensed table.

grading.md, "Treatment-related death and stopping rules". A design fixes the method
(:mod:`analysis.stats.stopping_methods`), the null rate p0, the looks n_1 < … < n_K = N (numbers
evaluated at which the rule is checked), the prior and, for the calibrated methods, the overall
type I error α. At look n the **boundary** is the smallest number of events x ≤ n that stops:

- ``thall_simon``: score(x, n) ≥ threshold, the threshold fixed by the settings (Thall and Simon 1994);
- ``bb_calibrated``, ``pocock``, ``obf``, ``sprt``: score(x, n) > c, where the critical value c is
  **calibrated**: the smallest c whose exact probability of ever stopping at p0
  (:mod:`analysis.stats.stopping_oc`) is at most α. That probability only changes where c crosses a
  score value, so c is searched exactly among the scores of every (x, n_k) (binary search; the type I
  error falls as c rises). The rule so found has the largest type I error that does not exceed α
  (Geller et al. 2003).

R's ``stoppingrule::calc.rule.bin`` finds c by 50 bisection steps, locating each boundary with
``uniroot`` at its default tolerance (1.2e-4 on the event scale); its ``cval`` therefore differs
from the exact c by up to about the posterior's slope × 1.2e-4 (3.9e-7 in its README example),
with the same boundaries. For ``pocock`` it reports the nominal level, as here. Unlike its
bisection, the search here is not limited to a bracket around the fixed-sample critical value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.stats.stopping_methods import (
    CALIBRATED_METHODS,
    METHODS,
    THRESHOLD_MEANING,
    method_score,
    posterior_exceedance,
    threshold_from_score,
)
from analysis.stats.stopping_oc import check_looks, operating_characteristics_records, probability_of_stopping


@dataclass(frozen=True)
class StoppingDesign:
    """A stopping rule with its boundaries: what :func:`design_stopping_rule` returns.

    Attributes
    ----------
    method : str
        One of :data:`analysis.stats.stopping_methods.METHODS`.
    p0 : float
        The null rate (``thall_simon``: the unacceptable rate).
    looks : tuple of int
        The numbers evaluated at which the rule is checked; the last is the planned maximum N.
    prior : (float, float)
        Beta(a, b), used by ``thall_simon`` and ``bb_calibrated`` (and for the status's posterior).
    alternative : float or None
        p1 of ``sprt``.
    alpha : float or None
        The target type I error of a calibrated method; None for ``thall_simon``.
    critical_score : float
        The threshold on the method's score (:func:`analysis.stats.stopping_methods.method_score`).
    threshold : float
        The same in the method's natural units (Pocock: the nominal level).
    boundaries : tuple of (int or None)
        Per look, the events that stop; None where no count up to n stops.
    type1_error : float
        The exact P(ever stop | true rate = p0).
    """

    method: str
    p0: float
    looks: tuple[int, ...]
    prior: tuple[float, float]
    alternative: float | None
    alpha: float | None
    critical_score: float
    threshold: float
    boundaries: tuple[int | None, ...]
    type1_error: float

    @property
    def planned(self) -> int:
        """N, the last look."""
        return self.looks[-1]

    def boundary_at(self, evaluated: int) -> int | None:
        """The boundary at ``evaluated``: the look's; beyond N, the same rule at that n; else None (no look)."""
        if evaluated in self.looks:
            return self.boundaries[self.looks.index(evaluated)]
        if evaluated > self.planned:
            return boundaries_for(self, [evaluated], self.critical_score)[0]
        return None

    def operating_characteristics(self, true_rates: Sequence[float]) -> list[dict[str, float]]:
        """The exact OC per true rate (:func:`analysis.stats.stopping_oc.operating_characteristics_records`)."""
        return operating_characteristics_records(self.looks, self.boundaries, true_rates)


def score_matrix(design_like: StoppingDesign | dict, looks: Sequence[int]) -> np.ndarray:
    """Scores of every x = 0 … max(looks) at each look (NaN where x > n): rows looks, columns x."""
    get = design_like.get if isinstance(design_like, dict) else lambda name: getattr(design_like, name)
    top = max(looks)
    x = np.arange(top + 1)[None, :]
    n = np.asarray(looks)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = method_score(
            get("method"),
            np.minimum(x, n),
            n,
            p0=get("p0"),
            planned=get("looks")[-1],
            prior=get("prior"),
            alternative=get("alternative"),
        )
    return np.where(x <= n, scores, np.nan)


def first_stop(scores: np.ndarray, critical_score: float, inclusive: bool) -> list[int | None]:
    """Per row of ``scores``, the first column whose score is ≥ (``inclusive``) or > the critical score."""
    with np.errstate(invalid="ignore"):
        hit = scores >= critical_score if inclusive else scores > critical_score
    found = hit.any(axis=1)
    first = hit.argmax(axis=1)
    return [int(f) if ok else None for f, ok in zip(first, found)]


def boundaries_for(design: StoppingDesign, looks: Sequence[int], critical_score: float) -> list[int | None]:
    """The boundaries of ``design``'s method at ``looks`` for a given critical score."""
    return first_stop(score_matrix(design, looks), critical_score, design.method == "thall_simon")


def calibrate_critical_value(scores: np.ndarray, looks: Sequence[int], p0: float, alpha: float) -> float:
    """The smallest critical score c with P(ever stop | p0) ≤ α when the rule stops at score > c.

    Parameters
    ----------
    scores : numpy.ndarray
        :func:`score_matrix` of the design (rows looks, columns x; NaN where x > n).
    looks : sequence of int
    p0 : float
    alpha : float
        In (0, 1).

    Returns
    -------
    float
        One of the scores: with c at the largest score nothing stops, so a solution always exists.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    candidates = np.unique(scores[~np.isnan(scores)])
    low, high = 0, len(candidates) - 1  # type I error ≤ α holds at `high`
    while low < high:
        middle = (low + high) // 2
        if probability_of_stopping(looks, first_stop(scores, candidates[middle], False), p0) <= alpha:
            high = middle
        else:
            low = middle + 1
    return float(candidates[high])


def design_stopping_rule(
    method: str,
    p0: float,
    looks: Sequence[int],
    *,
    alpha: float | None = None,
    threshold: float | None = None,
    prior: tuple[float, float] = (1.0, 1.0),
    alternative: float | None = None,
) -> StoppingDesign:
    """Design a stopping rule: its boundary at every look and its exact type I error.

    Parameters
    ----------
    method : str
        ``thall_simon`` (needs ``threshold``), ``bb_calibrated``, ``pocock``, ``obf`` or ``sprt`` (need
        ``alpha``; ``sprt`` also ``alternative``).
    p0 : float
        The null rate, in (0, 1).
    looks : sequence of int
        Strictly increasing numbers evaluated; the last is the planned maximum.
    alpha : float, optional
        The target P(ever stop | p0) of a calibrated method.
    threshold : float, optional
        ``thall_simon``'s posterior threshold.
    prior : (float, float)
        Beta prior (a, b).
    alternative : float, optional
        ``sprt``'s p1 (> p0).

    Returns
    -------
    StoppingDesign

    Examples
    --------
    The example of R's ``stoppingrule`` README (30 patients, p0 = 0.20, α = 0.10, Beta(0.6, 2.4)); the
    package prints ``cval`` 0.9630823, 3.9e-7 lower because it locates boundaries with ``uniroot``'s
    default tolerance (same boundaries, same rejection probability 0.09957367):

    >>> rule = design_stopping_rule("bb_calibrated", 0.20, range(1, 31), alpha=0.10, prior=(0.6, 2.4))
    >>> round(rule.threshold, 10), rule.boundaries[-1], round(rule.type1_error, 8)
    (0.9630826917, 11, 0.09957367)
    """
    if method not in METHODS:
        raise ValueError(f"unknown stopping method {method!r}; expected one of {', '.join(METHODS)}")
    if not 0 < p0 < 1:
        raise ValueError(f"p0 must lie in (0, 1), got {p0}")
    looks = tuple(int(n) for n in looks)
    check_looks(looks, [None] * len(looks))
    if prior[0] <= 0 or prior[1] <= 0:
        raise ValueError(f"the Beta prior's parameters must be positive, got {prior}")
    parts = {"method": method, "p0": p0, "looks": looks, "prior": tuple(prior), "alternative": alternative}
    scores = score_matrix(parts, looks)
    if method in CALIBRATED_METHODS:
        if alpha is None:
            raise ValueError(f"{method} needs alpha, the target type I error")
        critical = calibrate_critical_value(scores, looks, p0, alpha)
    else:
        if threshold is None:
            raise ValueError("thall_simon needs the posterior threshold")
        critical, alpha = float(threshold), None
    boundaries = tuple(first_stop(scores, critical, method == "thall_simon"))
    return StoppingDesign(
        method=method,
        p0=float(p0),
        looks=looks,
        prior=(float(prior[0]), float(prior[1])),
        alternative=None if alternative is None else float(alternative),
        alpha=alpha,
        critical_score=critical,
        threshold=threshold_from_score(method, critical),
        boundaries=boundaries,
        type1_error=probability_of_stopping(looks, boundaries, p0),
    )


def boundary_table(design: StoppingDesign) -> list[dict[str, int | None]]:
    """The boundary at every number evaluated 1 … N.

    Returns
    -------
    list of dict
        ``n_evaluated`` and ``boundary`` (None where no look is made or no count stops), n = 1 … N.
    """
    at = dict(zip(design.looks, design.boundaries))
    return [{"n_evaluated": n, "boundary": at.get(n)} for n in range(1, design.planned + 1)]


def condensed_boundaries(design: StoppingDesign) -> list[dict[str, int]]:
    """The rule as a DSMB charter states it: "stop if ≥ k events among n1–n2 evaluated".

    Consecutive looks with the same boundary form one row; looks where no count stops are left out.
    With a look after every participant this is R's ``stoppingrule::table.rule.bin``.

    Returns
    -------
    list of dict
        ``n_from``, ``n_to`` (the first and last look of the run) and ``stop_if_at_least``.
    """
    runs: list[list[int]] = []  # [n_from, n_to, boundary, index of the last look]
    for k, (n, boundary) in enumerate(zip(design.looks, design.boundaries)):
        if boundary is None:
            continue
        if runs and runs[-1][2] == boundary and runs[-1][3] == k - 1:
            runs[-1][1], runs[-1][3] = n, k
        else:
            runs.append([n, n, boundary, k])
    return [{"n_from": first, "n_to": last, "stop_if_at_least": boundary} for first, last, boundary, _ in runs]


@dataclass(frozen=True)
class StoppingStatus:
    """Where a rule stands at the data cut.

    Attributes
    ----------
    events, evaluated : int
    boundary : int or None
        The boundary at ``evaluated`` (:meth:`StoppingDesign.boundary_at`).
    crossed : bool
        events ≥ boundary.
    posterior : float or None
        P(rate > p0 | events, evaluated) for the Bayesian methods, else None.
    """

    events: int
    evaluated: int
    boundary: int | None
    crossed: bool
    posterior: float | None


def status_at_cut(design: StoppingDesign, events: int, evaluated: int) -> StoppingStatus:
    """The rule's status with ``events`` among ``evaluated`` at the cut (grading.md: the CRS-evaluable set).

    Examples
    --------
    >>> rule = design_stopping_rule("thall_simon", 0.25, range(5, 41), threshold=0.90)
    >>> status_at_cut(rule, 2, 14).boundary, status_at_cut(rule, 6, 14).crossed
    (6, True)
    """
    events, evaluated = int(events), int(evaluated)
    if not 0 <= events <= evaluated:
        raise ValueError(f"events must be within 0..evaluated, got {events} of {evaluated}")
    boundary = design.boundary_at(evaluated)
    posterior = None
    if design.method in ("thall_simon", "bb_calibrated"):
        posterior = float(posterior_exceedance(events, evaluated, design.p0, *design.prior))
    return StoppingStatus(events, evaluated, boundary, boundary is not None and events >= boundary, posterior)


def design_tables(design: StoppingDesign, true_rates: Sequence[float]) -> dict[str, list[dict]]:
    """What a protocol or DSMB charter states about a rule, as tables of records (``pacer stopping-rule``).

    Returns
    -------
    dict of str to list of dict
        ``design`` (one record: method, p0, looks, alpha, prior, p1, threshold, its meaning, the exact
        type I error); ``boundaries`` (:func:`boundary_table`); ``condensed``
        (:func:`condensed_boundaries`); ``operating_characteristics`` (exact, at ``true_rates``).
    """
    looks = design.looks
    consecutive = looks == tuple(range(looks[0], looks[-1] + 1))
    summary = {
        "method": design.method,
        "p0": design.p0,
        "looks": f"{looks[0]}-{looks[-1]}, every participant" if consecutive else " ".join(map(str, looks)),
        "alpha": design.alpha,
        "prior_a": design.prior[0],
        "prior_b": design.prior[1],
        "p1": design.alternative,
        "threshold": design.threshold,
        "threshold_meaning": THRESHOLD_MEANING[design.method],
        "type1_error": design.type1_error,
    }
    return {
        "design": [summary],
        "boundaries": boundary_table(design),
        "condensed": condensed_boundaries(design),
        "operating_characteristics": design.operating_characteristics(true_rates),
    }


__all__ = [
    "StoppingDesign",
    "StoppingStatus",
    "boundary_table",
    "calibrate_critical_value",
    "condensed_boundaries",
    "design_stopping_rule",
    "design_tables",
    "status_at_cut",
]
