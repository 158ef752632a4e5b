"""The log-rank test of equal survival across groups, as R's ``survival::survdiff`` (``rho = 0``).

At each distinct event time t, with :math:`n` at risk and :math:`d` events in all, and
:math:`n_g`, :math:`d_g` in group g:

.. math::
    O_g = \\sum_t d_g, \\qquad E_g = \\sum_t d \\frac{n_g}{n}, \\qquad
    V_{gh} = \\sum_t d \\frac{(n - d)}{(n - 1)} \\frac{n_g}{n}
             \\Big(\\delta_{gh} - \\frac{n_h}{n}\\Big)

(hypergeometric variance; terms with n = 1 contribute 0). The statistic is
:math:`\\chi^2 = (O - E)^\\top V^{-} (O - E)` over the groups with :math:`E_g > 0`, the first of them
dropped, on (number of such groups − 1) degrees of freedom — ``survdiff``'s own computation.
Groups are sorted as R sorts factor levels (``sorted(set(group))``). Times are first merged as
R's ``aeqSurv`` does (``survdiff(timefix = TRUE)``).

Validated in ``tests/stats/test_log_rank.py`` against ``survival`` 3.5 (R 4.2): observed, expected,
variance, chisq and p on ``survival::lung`` (by sex; by ECOG score, four groups) and on the synthetic
cohorts, to 1e-6 / 1e-4 (``tests/fixtures/r/regression.R``). Implemented directly in numpy rather
than through lifelines' ``logrank_test`` so that the per-group observed and expected counts R prints
come with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.kaplan_meier import r_timefix


@dataclass(frozen=True)
class LogRankResult:
    """A log-rank test.

    Attributes
    ----------
    groups : tuple
        The group labels, sorted.
    n, observed, expected : ndarray
        Per group: subjects, observed and expected events.
    variance : ndarray
        The (groups × groups) variance matrix of O − E.
    chisq : float
    df : int
    p_value : float
    """

    groups: tuple
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chisq: float
    df: int
    p_value: float

    def summary(self) -> pd.DataFrame:
        """One row per group: N, Observed, Expected, (O−E)²/E, (O−E)²/V — ``print(survdiff(...))``."""
        oe = self.observed - self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            return pd.DataFrame(
                {
                    "n": self.n,
                    "observed": self.observed,
                    "expected": self.expected,
                    "oe2_e": oe**2 / self.expected,
                    "oe2_v": oe**2 / np.diag(self.variance),
                },
                index=pd.Index(list(self.groups), name="group"),
            )


def log_rank_test(time, event, group, *, timefix: bool = True) -> LogRankResult:
    """Log-rank test of equal hazards across the groups, as ``survdiff(Surv(time, event) ~ group)``.

    Parameters
    ----------
    time : array-like of float
    event : array-like of 0/1 or bool
        1 = event (ADTTE ``cnsr == 0``).
    group : array-like
        Group labels (two or more).
    timefix : bool
        Merge near-equal times as R does.

    Returns
    -------
    LogRankResult

    Examples
    --------
    >>> res = log_rank_test([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 1, 0, 1], list("aabababb"))
    >>> # R: survdiff(Surv(1:8, c(1,1,0,1,1,1,0,1)) ~ strsplit("aabababb", "")[[1]])$chisq -> 3.809248
    >>> round(res.chisq, 6), res.df, round(res.p_value, 6)
    (3.809248, 1, 0.05097)
    """
    t = np.asarray(time, dtype=float)
    ev = np.asarray(event)
    ev = ev.astype(bool) if ev.dtype == bool else np.asarray(ev, dtype=float) == 1
    g = np.asarray(group)
    if not (t.shape == ev.shape == g.shape) or t.ndim != 1:
        raise ValueError("time, event and group must be one-dimensional and of equal length")
    if not np.all(np.isfinite(t)):
        raise ValueError("times must be finite")
    if timefix:
        t = r_timefix(t)
    labels = tuple(sorted(set(g.tolist())))
    if len(labels) < 2:
        raise ValueError("the log-rank test needs at least two groups")
    member = np.stack([g == lab for lab in labels], axis=1).astype(float)  # n × k

    k = len(labels)
    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    for u in np.unique(t[ev]):
        at_risk = t >= u
        dead = at_risk & ev & (t == u)
        n_g = member[at_risk].sum(axis=0)
        d_g = member[dead].sum(axis=0)
        n_all, d_all = n_g.sum(), d_g.sum()
        frac = n_g / n_all
        observed += d_g
        expected += d_all * frac
        if n_all > 1:
            variance += d_all * (n_all - d_all) / (n_all - 1) * (np.diag(frac) - np.outer(frac, frac))

    keep = expected > 0
    df = int(keep.sum()) - 1
    if df < 1:
        chisq = 0.0
    else:
        idx = np.flatnonzero(keep)[1:]
        diff = (observed - expected)[idx]
        chisq = float(diff @ np.linalg.solve(variance[np.ix_(idx, idx)], diff))
    p_value = float(stats.chi2.sf(chisq, df)) if df >= 1 else float("nan")
    return LogRankResult(
        groups=labels,
        n=member.sum(axis=0),
        observed=observed,
        expected=expected,
        variance=variance,
        chisq=chisq,
        df=df,
        p_value=p_value,
    )
