"""One trial rate x / n against one historical rate m / M.

Every function takes the trial's events ``x`` out of ``n`` and the historical cohort's ``m`` out of
``M`` (outputs.md, ``historical_comparison``). Each mirrors an R computation, checked in
``tests/stats/test_comparisons.py`` against ``tests/fixtures/r/reference.R``:

=========================  ==============================================  ======================
function                   what                                            R
=========================  ==============================================  ======================
:func:`binom_exact_less`   exact one-sample binomial test, one-sided,      ``binom.test(x, n, p = m/M,
                           H1: trial rate < m / M (historical rate taken   alternative = "less")``
                           as a fixed, known p)
:func:`fisher_exact`       Fisher's exact test, two-sided                  ``fisher.test(matrix(c(x, n-x,
                                                                           m, M-m), 2, byrow = TRUE))``
:func:`newcombe_hybrid`    risk difference x/n − m/M with Newcombe's       explicit formula (base R)
                           hybrid score CI (1998, method 10)
:func:`katz_log_rr`        risk ratio (x/n)/(m/M), Katz log Wald CI and    explicit formula (base R)
                           the Wald test of log RR
:func:`prob_trial_lower`   P(p_trial < p_hist), Beta(1, 1) priors          ``integrate()``
=========================  ==============================================  ======================

Zero cells (risk ratio only): when any of the four cells x, n − x, m, M − m is 0, 0.5 is added to
**all four** cells (Haldane–Anscombe) before the ratio, its standard error and the test are
computed, and :attr:`KatzResult.corrected` says so. Without a zero cell nothing is added. A side with
N = 0 makes every comparison NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

#: R's relative tolerance in fisher.test: tables as likely as the observed one, within 1e-7, count.
_FISHER_REL_ERR = 1.0 + 1e-7


def _check(x: int, n: int, name: str = "x/n") -> tuple[int, int]:
    if isinstance(x, bool) or isinstance(n, bool) or int(x) != x or int(n) != n:
        raise ValueError(f"{name}: counts must be whole numbers, got {x!r}/{n!r}")
    x, n = int(x), int(n)
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"{name}: need 0 <= events <= total, got {x}/{n}")
    return x, n


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - conf_level) / 2))


def binom_exact_less(x: int, n: int, p0: float) -> float:
    """Exact one-sided binomial test of H0: p = p0 against H1: p < p0.

    The p-value is :math:`P(X \\le x)` for :math:`X \\sim \\mathrm{Bin}(n, p_0)`, as R's
    ``binom.test(x, n, p = p0, alternative = "less")$p.value``. The historical rate enters as a
    fixed, known ``p0 = m / M``: its own sampling error is ignored (that is what the one-sample
    test means). NaN when n = 0 or p0 is NaN.

    Examples
    --------
    >>> round(binom_exact_less(3, 20, 35 / 75), 8)   # R: binom.test(3, 20, p = 35/75, alternative = "less")
    0.00321642
    """
    x, n = _check(x, n)
    if n == 0 or not (0.0 <= p0 <= 1.0):
        return math.nan
    return float(min(1.0, stats.binom.cdf(x, n, p0)))


def fisher_exact(x: int, n: int, m: int, M: int) -> float:
    """Fisher's exact test of the 2 × 2 table [[x, n − x], [m, M − m]], two-sided, as R.

    R's ``fisher.test`` sums the hypergeometric probabilities of every table (margins fixed) whose
    probability is at most the observed table's times ``1 + 1e-7``; this does the same (the
    "minimum-likelihood" two-sided p-value with R's tolerance). NaN when a row total is 0.
    """
    x, n = _check(x, n, "trial")
    m, M = _check(m, M, "historical")
    if n == 0 or M == 0:
        return math.nan
    events, non_events, k = x + m, (n - x) + (M - m), n
    lo, hi = max(0, k - non_events), min(k, events)
    support = np.arange(lo, hi + 1)
    logd = stats.hypergeom.logpmf(support, events + non_events, events, k)
    d = np.exp(logd - logd.max())
    d /= d.sum()
    p = d[d <= d[x - lo] * _FISHER_REL_ERR].sum()
    return float(min(1.0, p))


def wilson_interval(x: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval without continuity correction (Newcombe 1998, method 3).

    .. math:: \\frac{2x + z^2 \\mp z\\sqrt{z^2 + 4x(1 - x/n)}}{2(n + z^2)}
    """
    x, n = _check(x, n)
    if n == 0:
        return math.nan, math.nan
    z = _z(conf_level)
    p = x / n
    centre = 2 * x + z * z
    half = z * math.sqrt(z * z + 4 * x * (1 - p))
    denom = 2 * (n + z * z)
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


@dataclass(frozen=True)
class DifferenceResult:
    """Risk difference trial − historical with its CI."""

    rd: float
    ci_low: float
    ci_high: float


def newcombe_hybrid(x: int, n: int, m: int, M: int, conf_level: float = 0.95) -> DifferenceResult:
    """Risk difference x/n − m/M with Newcombe's hybrid score interval (1998, method 10).

    With Wilson limits (l1, u1) for p1 = x/n and (l2, u2) for p2 = m/M:

    .. math::

        L = (p_1 - p_2) - \\sqrt{(p_1 - l_1)^2 + (u_2 - p_2)^2}, \\qquad
        U = (p_1 - p_2) + \\sqrt{(u_1 - p_1)^2 + (p_2 - l_2)^2}

    Reference: Newcombe RG. Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Stat Med 1998;17:873–890.
    """
    x, n = _check(x, n, "trial")
    m, M = _check(m, M, "historical")
    if n == 0 or M == 0:
        return DifferenceResult(math.nan, math.nan, math.nan)
    p1, p2 = x / n, m / M
    l1, u1 = wilson_interval(x, n, conf_level)
    l2, u2 = wilson_interval(m, M, conf_level)
    rd = p1 - p2
    return DifferenceResult(
        rd=rd,
        ci_low=rd - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        ci_high=rd + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


@dataclass(frozen=True)
class KatzResult:
    """Risk ratio with the Katz log interval and the Wald test of log RR = 0.

    ``corrected`` is True when 0.5 was added to every cell because one cell was 0; ``rr`` is then
    the corrected ratio, the one the interval is centred on.
    """

    rr: float
    ci_low: float
    ci_high: float
    p_value: float
    corrected: bool


def katz_log_rr(x: int, n: int, m: int, M: int, conf_level: float = 0.95) -> KatzResult:
    """Risk ratio (x/n)/(m/M), Katz log Wald interval and two-sided Wald p-value.

    .. math::

        \\widehat{RR} = \\frac{a/(a+b)}{c/(c+d)}, \\quad
        SE(\\log \\widehat{RR}) = \\sqrt{\\tfrac1a - \\tfrac1{a+b} + \\tfrac1c - \\tfrac1{c+d}},

        CI = \\exp(\\log\\widehat{RR} \\pm z\\,SE), \\quad p = 2\\,\\Phi(-|\\log\\widehat{RR}|/SE)

    with a = x, b = n − x, c = m, d = M − m; when any cell is 0, every cell gets + 0.5 first.
    Reference: Katz D, Baptista J, Azen SP, Pike MC. Biometrics 1978;34:469–474.
    """
    x, n = _check(x, n, "trial")
    m, M = _check(m, M, "historical")
    if n == 0 or M == 0:
        return KatzResult(math.nan, math.nan, math.nan, math.nan, False)
    a, b, c, d = float(x), float(n - x), float(m), float(M - m)
    corrected = min(a, b, c, d) == 0.0
    if corrected:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    rr = (a / (a + b)) / (c / (c + d))
    se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    z = _z(conf_level)
    log_rr = math.log(rr)
    p = 2 * stats.norm.sf(abs(log_rr) / se)
    return KatzResult(rr, math.exp(log_rr - z * se), math.exp(log_rr + z * se), float(p), corrected)


#: Absolute accuracy demanded of the Bayesian integral (QUADPACK's own error estimate); tests also
#: check the result against the closed-form finite sum to 1e-10.
BAYES_ABS_TOL = 1e-10


def prob_trial_lower(x: int, n: int, m: int, M: int) -> float:
    """Posterior probability that the trial's rate is below the historical rate.

    Independent Beta(1, 1) priors: p_trial | data ~ Beta(x + 1, n − x + 1) and
    p_hist | data ~ Beta(m + 1, M − m + 1), so

    .. math:: P(p_{trial} < p_{hist}) = \\int_0^1 f_{hist}(u)\\, F_{trial}(u)\\, du

    computed deterministically by adaptive Gauss–Kronrod quadrature (``scipy.integrate.quad``,
    QUADPACK QAGP with break points at both posterior modes, epsabs 1e-13, epsrel 1e-11). The
    routine raises if QUADPACK's error estimate exceeds :data:`BAYES_ABS_TOL`. A side with N = 0
    gives NaN (no data, not the prior).

    Examples
    --------
    >>> round(prob_trial_lower(3, 20, 35, 75), 6)   # R: integrate(function(u) dbeta(u, 36, 41) * pbeta(u, 4, 18), 0, 1)
    0.995103
    """
    x, n = _check(x, n, "trial")
    m, M = _check(m, M, "historical")
    if n == 0 or M == 0:
        return math.nan
    at, bt = x + 1.0, n - x + 1.0
    ah, bh = m + 1.0, M - m + 1.0

    def integrand(u: float) -> float:
        return float(np.exp(stats.beta.logpdf(u, ah, bh)) * special.betainc(at, bt, u))

    modes = sorted({(at - 1) / (at + bt - 2), (ah - 1) / (ah + bh - 2)} - {0.0, 1.0})
    value, abserr = integrate.quad(integrand, 0.0, 1.0, points=modes or None, epsabs=1e-13, epsrel=1e-11, limit=500)
    if abserr > BAYES_ABS_TOL:
        raise ArithmeticError(f"Bayesian integral not accurate enough: estimate {value}, error {abserr}")
    return float(min(1.0, max(0.0, value)))


@dataclass(frozen=True)
class RateComparison:
    """Every comparison of outputs.md for one trial rate against one historical rate."""

    x: int
    n: int
    m: int
    M: int
    p_binom_exact_1s: float
    p_fisher_exact: float
    difference: DifferenceResult
    ratio: KatzResult
    prob_lower: float

    @property
    def trial_p(self) -> float:
        return self.x / self.n if self.n else math.nan

    @property
    def historical_p(self) -> float:
        return self.m / self.M if self.M else math.nan


def compare_rates(x: int, n: int, m: int, M: int, conf_level: float = 0.95) -> RateComparison:
    """Run all five comparisons of trial x/n against historical m/M."""
    x, n = _check(x, n, "trial")
    m, M = _check(m, M, "historical")
    return RateComparison(
        x=x,
        n=n,
        m=m,
        M=M,
        p_binom_exact_1s=binom_exact_less(x, n, m / M) if M else math.nan,
        p_fisher_exact=fisher_exact(x, n, m, M),
        difference=newcombe_hybrid(x, n, m, M, conf_level),
        ratio=katz_log_rr(x, n, m, M, conf_level),
        prob_lower=prob_trial_lower(x, n, m, M),
    )


__all__ = [
    "BAYES_ABS_TOL",
    "DifferenceResult",
    "KatzResult",
    "RateComparison",
    "binom_exact_less",
    "compare_rates",
    "fisher_exact",
    "katz_log_rr",
    "newcombe_hybrid",
    "prob_trial_lower",
    "wilson_interval",
]
