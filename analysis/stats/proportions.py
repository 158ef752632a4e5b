"""Proportions with the exact Clopper–Pearson interval, and the rate rows of the ARD.

The interval is the one of R's ``binom.test(n, N)$conf.int`` (two-sided, 95 %):

.. math::

    \\text{low} = B^{-1}(\\alpha/2;\\ n,\\ N-n+1), \\qquad
    \\text{high} = B^{-1}(1-\\alpha/2;\\ n+1,\\ N-n)

with :math:`B^{-1}` the beta quantile; ``low`` is 0 when n = 0 and ``high`` is 1 when n = N
(outputs.md, "Rules for every row"). N = 0 is not estimable: p and both limits are NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from analysis.stats.ard import NOT_ESTIMABLE_N0, ArdRow, not_estimable_rows, stats_rows

RATE_STATS: tuple[str, ...] = ("n", "N", "p", "ci_low", "ci_high")


def _check_counts(n: int, N: int) -> tuple[int, int]:
    if isinstance(n, bool) or isinstance(N, bool) or int(n) != n or int(N) != N:
        raise ValueError(f"counts must be whole numbers, got n={n!r}, N={N!r}")
    n, N = int(n), int(N)
    if N < 0 or n < 0 or n > N:
        raise ValueError(f"need 0 <= n <= N, got n={n}, N={N}")
    return n, N


def clopper_pearson(n: int, N: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) two-sided confidence interval for a binomial proportion.

    Parameters
    ----------
    n : int
        Number of participants with the event.
    N : int
        Number of participants (denominator).
    conf_level : float
        Two-sided confidence level.

    Returns
    -------
    (float, float)
        ``(ci_low, ci_high)``; ``(0, …)`` when n = 0, ``(…, 1)`` when n = N, ``(nan, nan)`` when N = 0.

    Examples
    --------
    >>> [round(v, 6) for v in clopper_pearson(3, 20)]   # R: binom.test(3, 20)$conf.int
    [0.032071, 0.378927]
    """
    n, N = _check_counts(n, N)
    if N == 0:
        return math.nan, math.nan
    alpha = 1.0 - conf_level
    low = 0.0 if n == 0 else float(stats.beta.ppf(alpha / 2, n, N - n + 1))
    high = 1.0 if n == N else float(stats.beta.ppf(1 - alpha / 2, n + 1, N - n))
    return low, high


@dataclass(frozen=True)
class RateSummary:
    """A proportion with its exact CI. ``p``, ``ci_low``, ``ci_high`` are NaN when N = 0."""

    n: int
    N: int
    p: float
    ci_low: float
    ci_high: float

    @property
    def estimable(self) -> bool:
        return self.N > 0

    def as_dict(self) -> dict[str, float]:
        return {"n": float(self.n), "N": float(self.N), "p": self.p, "ci_low": self.ci_low, "ci_high": self.ci_high}


def rate_summary(n: int, N: int, conf_level: float = 0.95) -> RateSummary:
    """n / N with its Clopper–Pearson interval (see :func:`clopper_pearson`)."""
    n, N = _check_counts(n, N)
    low, high = clopper_pearson(n, N, conf_level)
    return RateSummary(n=n, N=N, p=(n / N) if N else math.nan, ci_low=low, ci_high=high)


def rate_rows(analysis: str, group: str, variable: str, n: int, N: int, conf_level: float = 0.95) -> list[ArdRow]:
    """The five ARD rows ``n``, ``N``, ``p``, ``ci_low``, ``ci_high`` (method ``""``) of one rate.

    Used for ``crs_rate`` and ``response``. N = 0 gives the degenerate rows of outputs.md.
    """
    summary = rate_summary(n, N, conf_level)
    if not summary.estimable:
        return not_estimable_rows(analysis, group, variable, RATE_STATS)
    pct = round(100 * conf_level)
    labels = {
        "n": "participants with the event",
        "N": "participants in the set",
        "p": "proportion n / N",
        "ci_low": f"exact Clopper–Pearson {pct} % CI, lower limit",
        "ci_high": f"exact Clopper–Pearson {pct} % CI, upper limit",
    }
    return stats_rows(analysis, group, variable, summary.as_dict(), labels)


__all__ = ["NOT_ESTIMABLE_N0", "RATE_STATS", "RateSummary", "clopper_pearson", "rate_rows", "rate_summary"]
