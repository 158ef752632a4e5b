"""The statistics of the safety stopping rules: one score per method, larger meaning more evidence of harm.

grading.md, "Treatment-related death and stopping rules": with x events among n evaluated, each
method reduces the data at a look to one number that rises with x. A rule stops at the first look
whose score reaches its threshold (``thall_simon``: score ≥ threshold, the threshold fixed by the
settings) or exceeds its calibrated critical value (every other method: score > c, c calibrated
by :func:`analysis.stats.stopping_design.calibrate_critical_value`). The boundary at a look is the
smallest x that stops; the critical value of each method is reported in its natural units
(:func:`threshold_from_score`).

References
----------
Thall PF, Simon R. Practical Bayesian guidelines for phase IIB clinical trials. Biometrics
1994;50:337–349.
Geller NL, Follmann D, Leifer ES, Carter SL. Design of early trials in stem cell transplantation: a
hybrid frequentist-Bayesian approach. In: Geller NL (ed.), Advances in Clinical Trial
Biostatistics. Marcel Dekker, 2003.
Pocock SJ. Group sequential methods in the design and analysis of clinical trials. Biometrika
1977;64:191–199.
O'Brien PC, Fleming TR. A multiple testing procedure for clinical trials. Biometrics
1979;35:549–556.
Wald A. Sequential tests of statistical hypotheses. Ann Math Stat 1945;16:117–186.
Martens MJ, Logan BR. Statistical rules for safety monitoring in clinical trials. Clin Trials
2024;21:152–161 (R package ``stoppingrule``, whose binary-data rules these reproduce).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import special

StoppingMethod = Literal["thall_simon", "bb_calibrated", "pocock", "obf", "sprt"]
METHODS: tuple[str, ...] = ("thall_simon", "bb_calibrated", "pocock", "obf", "sprt")
"""grading.md's method names; ``thall_simon`` is the default."""
CALIBRATED_METHODS: tuple[str, ...] = ("bb_calibrated", "pocock", "obf", "sprt")
"""Methods whose critical value is calibrated to P(ever stop | p0) ≤ α."""


def posterior_exceedance(
    events: np.ndarray | int, evaluated: np.ndarray | int, rate: float, prior_a: float, prior_b: float
) -> np.ndarray:
    """P(true rate > ``rate`` | x events in n), Beta(a, b) prior: the score of ``thall_simon`` and ``bb_calibrated``.

    .. math:: \\Pr(p > p_0 \\mid x, n) = 1 - I_{p_0}(a + x,\\; b + n - x)

    As R's ``pbeta(p0, a + x, b + n - x, lower.tail = FALSE)`` (Thall and Simon 1994; Geller et al.
    2003, and ``stoppingrule::calc.rule.bin(type = "BB")``).

    Parameters
    ----------
    events, evaluated : int or array of int
        x and n (broadcast together).
    rate : float
        The rate p0 whose exceedance is monitored.
    prior_a, prior_b : float
        The Beta prior.

    Returns
    -------
    numpy.ndarray
        The posterior probabilities (float).
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(evaluated, dtype=float)
    return special.betaincc(prior_a + x, prior_b + n - x, rate)


def binomial_tail(events: np.ndarray | int, evaluated: np.ndarray | int, p0: float) -> np.ndarray:
    """P(Binomial(n, p0) ≥ x): the nominal one-sided p-value of ``pocock`` at a look.

    Pocock's rule stops when this p-value falls below one nominal level π used at every look
    (Pocock 1977); the score is its negative, so that larger means more evidence. As R's
    ``pbinom(x - 1, n, p0, lower.tail = FALSE)`` (``stoppingrule``'s Pocock boundary is the same
    tail, written ``pbeta(p0, x, n - x + 1)``, the form computed here).

    Returns
    -------
    numpy.ndarray
        The tail probabilities (1 at x = 0).
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(evaluated, dtype=float)
    with np.errstate(invalid="ignore"):
        tail = special.betainc(x, n - x + 1, p0)
    return np.where(x <= 0, 1.0, tail)


def obf_statistic(events: np.ndarray | int, evaluated: np.ndarray | int, p0: float, planned: int) -> np.ndarray:
    """The O'Brien–Fleming type score (x − n·p0) / √(N·p0·(1 − p0)), N the planned maximum.

    The standardized excess Z_n = (x − n p0)/√(n p0 (1 − p0)) weighted by √(n/N), so that a constant
    critical value c gives the O'Brien–Fleming shape: stop when Z_n > c·√(N/n), demanding early and
    close to the fixed-sample test at the end (O'Brien and Fleming 1979; ``stoppingrule``'s ``"OBF"``,
    boundary c·(n/N)^(−1/2)·√(n p0 (1 − p0)) + n p0).

    Returns
    -------
    numpy.ndarray
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(evaluated, dtype=float)
    return (x - n * p0) / np.sqrt(planned * p0 * (1 - p0))


def sprt_log_likelihood_ratio(
    events: np.ndarray | int, evaluated: np.ndarray | int, p0: float, p1: float
) -> np.ndarray:
    """The log-likelihood ratio of rate p1 against p0 after x events in n: the truncated SPRT's score.

    .. math:: \\log \\Lambda_n = x \\log\\frac{p_1}{p_0} + (n - x) \\log\\frac{1 - p_1}{1 - p_0}

    Wald's SPRT with only the upper (stopping) boundary, truncated at the planned maximum
    (``stoppingrule``'s ``"SPRT"`` with ``param = p1``). ``p1`` must exceed ``p0``.

    Returns
    -------
    numpy.ndarray
    """
    if not p0 < p1 < 1:
        raise ValueError(f"the SPRT's alternative p1 must lie in (p0, 1), got p0 = {p0}, p1 = {p1}")
    x = np.asarray(events, dtype=float)
    n = np.asarray(evaluated, dtype=float)
    return x * np.log(p1 / p0) + (n - x) * np.log((1 - p1) / (1 - p0))


def method_score(
    method: str,
    events: np.ndarray | int,
    evaluated: np.ndarray | int,
    *,
    p0: float,
    planned: int,
    prior: tuple[float, float] = (1.0, 1.0),
    alternative: float | None = None,
) -> np.ndarray:
    """The score of ``method`` at (x, n): rises with x; a rule stops when it reaches its critical value.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    events, evaluated : int or array of int
    p0 : float
        The null rate (for ``thall_simon``, the unacceptable rate).
    planned : int
        The planned maximum number evaluated N (``obf`` only).
    prior : (float, float)
        The Beta prior (``thall_simon``, ``bb_calibrated``).
    alternative : float, optional
        p1 of ``sprt``.

    Returns
    -------
    numpy.ndarray
        ``pocock``: minus the binomial tail; the others: the statistic itself.
    """
    if method in ("thall_simon", "bb_calibrated"):
        return posterior_exceedance(events, evaluated, p0, *prior)
    if method == "pocock":
        return -binomial_tail(events, evaluated, p0)
    if method == "obf":
        return obf_statistic(events, evaluated, p0, planned)
    if method == "sprt":
        if alternative is None:
            raise ValueError("sprt needs the alternative rate p1")
        return sprt_log_likelihood_ratio(events, evaluated, p0, alternative)
    raise ValueError(f"unknown stopping method {method!r}; expected one of {', '.join(METHODS)}")


def threshold_from_score(method: str, critical_score: float) -> float:
    """The critical value in the method's natural units: Pocock's nominal level π = −score; else the score."""
    return -critical_score if method == "pocock" else critical_score


THRESHOLD_MEANING = {
    "thall_simon": "stop when P(rate > p0 | data) ≥ threshold",
    "bb_calibrated": "stop when P(rate > p0 | data) > threshold",
    "pocock": "stop when P(Binomial(n, p0) ≥ events) < threshold (the nominal level at every look)",
    "obf": "stop when (events − n·p0) / √(N·p0·(1 − p0)) > threshold",
    "sprt": "stop when the log-likelihood ratio of p1 against p0 > threshold",
}
"""What the threshold of each method means (labels of the ARD design rows, the CLI, the report)."""


__all__ = [
    "CALIBRATED_METHODS",
    "METHODS",
    "THRESHOLD_MEANING",
    "StoppingMethod",
    "binomial_tail",
    "method_score",
    "obf_statistic",
    "posterior_exceedance",
    "sprt_log_likelihood_ratio",
    "threshold_from_score",
]
