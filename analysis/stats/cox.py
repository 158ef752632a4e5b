"""Cox proportional hazards with Efron's ties, as R's ``survival::coxph(ties = "efron")``.

The fit is lifelines' ``CoxPHFitter`` (Efron's approximation is its only one; no penalizer) with its
Newton–Raphson stopping rules tightened (:data:`FIT_OPTIONS`: ``precision`` 1e-16, the bound on
the step norm and on the Newton decrement g'H⁻¹g/2; ``r_precision`` 1e-17 on the relative change
of the log-likelihood). With its defaults (1e-7, 1e-9) lifelines stops after damped steps up to
2e-6 from R's estimate on ``survival::lung``; and since a Newton decrement of ε still allows a step
of order √ε, 1e-12 left a coefficient 5e-7 off on the synthetic cohorts. Tightened, it agrees
with R run at ``coxph.control(eps = 1e-11)`` (the tests' reference) to 2e-8 and with R's default
fit of ``lung`` to 3e-10. statsmodels' ``PHReg(ties="efron")`` agrees as closely; lifelines is used
because the rest of the survival code speaks its language.

Reported, as ``summary(coxph(...))``:

- per term: ``coef``, ``hr`` = exp(coef), ``se`` (inverse observed information), Wald ``z`` and
  two-sided ``p_value``, and the Wald limits exp(coef ± z₁₋α/₂ se) (``conf.int``);
- the model's likelihood-ratio test against the null model (``logtest``: statistic, df, p), with
  the null and fitted log partial likelihoods (``fit$loglik``).

Times are first merged as R's ``aeqSurv`` does (``coxph(timefix = TRUE)``): times closer than
√ε count as tied, which matters for Efron's correction.

**Monotone likelihood.** When, at every event time, the failing subjects have the largest value of
some combination of the covariates (e.g. every death in one group), the partial likelihood keeps
rising and the maximum-likelihood hazard ratio is infinite (Heinze & Schemper 2001). R warns
("Loglik converged before variable 1; coefficient may be infinite") and prints a huge estimate;
lifelines also prints one. :func:`cox_ph` instead checks first, with a linear program in the spirit
of Konis's separation check (see :func:`monotone_likelihood`), and raises
:class:`MonotoneLikelihoodError` naming the terms. (A Firth-penalized Cox model,
``firthmodels.FirthCoxPH``, would give finite estimates; it is not used here.)

Validated in ``tests/stats/test_cox.py`` against ``survival`` 3.5 (R 4.2), ``tests/fixtures/r/regression.R``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from scipy import optimize, stats

from analysis.stats.kaplan_meier import r_timefix
from analysis.stats.logistic import design_matrix

FIT_OPTIONS = {"precision": 1e-16, "r_precision": 1e-17, "max_steps": 500}


class MonotoneLikelihoodError(ValueError):
    """The partial likelihood has no finite maximum: some hazard ratio is 0 or infinite."""

    def __init__(self, message: str, infinite_terms: Sequence[str]):
        super().__init__(message)
        self.infinite_terms = tuple(infinite_terms)


@dataclass(frozen=True)
class CoxResult:
    """A Cox model fitted with Efron's ties.

    Attributes
    ----------
    terms : tuple of str
    coef, se, z, p_value : ndarray
        Log hazard ratios, standard errors, Wald z and two-sided Wald p.
    hr_ci_low, hr_ci_high : ndarray
        Wald limits on the hazard-ratio scale.
    loglik_null, loglik : float
        Log partial likelihood at 0 and at the estimate.
    lr_chisq, lr_p : float
        Likelihood-ratio test of all coefficients = 0, on ``lr_df`` degrees of freedom.
    lr_df : int
    n, events : int
    alpha : float
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    hr_ci_low: np.ndarray
    hr_ci_high: np.ndarray
    loglik_null: float
    loglik: float
    lr_chisq: float
    lr_df: int
    lr_p: float
    n: int
    events: int
    alpha: float

    @property
    def hr(self) -> np.ndarray:
        return np.exp(self.coef)

    def summary(self) -> pd.DataFrame:
        """One row per term: coef, hr, se, z, p_value, hr_ci_low, hr_ci_high."""
        return pd.DataFrame(
            {
                "coef": self.coef,
                "hr": self.hr,
                "se": self.se,
                "z": self.z,
                "p_value": self.p_value,
                "hr_ci_low": self.hr_ci_low,
                "hr_ci_high": self.hr_ci_high,
            },
            index=pd.Index(self.terms, name="term"),
        )


def _event(event) -> np.ndarray:
    arr = np.asarray(event)
    if arr.dtype == bool:
        return arr
    arr = np.asarray(arr, dtype=float)
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("event must be 0/1 or bool (1 = event)")
    return arr == 1


MAX_LP_PAIRS = 250_000
"""Above this many (event, subject at risk) pairs the exact linear-programming check would need too much memory
(it is quadratic in n); large samples are checked after the fit instead (:data:`MAX_LOG_HR_PER_SD`)."""
MAX_LOG_HR_PER_SD = 10.0
"""A fitted log hazard ratio beyond this many units per standard deviation of its covariate (a hazard ratio
above e^10 ≈ 22,000 per SD), or a standard error beyond 10 × that, is taken as diverging."""


def risk_set_pairs(time: np.ndarray, event: np.ndarray) -> int:
    """Number of (event i, subject k ≠ i at risk at tᵢ) pairs: the rows of the monotone-likelihood program."""
    ordered = np.sort(time)
    at_risk = len(time) - np.searchsorted(ordered, time[event], side="left")
    return int(np.sum(at_risk - 1))


def monotone_likelihood(time, event, X: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Directions along which the Cox partial likelihood rises for ever; zeros when it has a maximum.

    Solves the linear program: maximize Σ dᵀ(xᵢ − xₖ) over events i and subjects k at risk at tᵢ,
    subject to dᵀ(xᵢ − xₖ) ≥ 0 for each such pair and −1 ≤ d ≤ 1. A solution with positive
    objective is a direction in which every event's linear predictor stays the largest in its risk
    set (tied events equal — Efron's term would otherwise vanish), so the log partial likelihood
    increases without bound; coefficients with \\|d_j\\| > ``tol`` are infinite in that direction.

    Returns
    -------
    ndarray of int
        Sign of the infinite direction per column of ``X`` (0 = finite).
    """
    time = np.asarray(time, dtype=float)
    ev = _event(event)
    X = np.asarray(X, dtype=float)
    rows = []
    for i in np.flatnonzero(ev):
        at_risk = time >= time[i]
        at_risk[i] = False
        if at_risk.any():
            rows.append(X[i] - X[at_risk])
    if not rows:
        return np.zeros(X.shape[1], dtype=int)
    diffs = np.vstack(rows)
    scale = np.maximum(np.abs(diffs).max(axis=0), 1e-300)
    diffs = diffs / scale  # columns on a common scale; the sign pattern is unchanged
    res = optimize.linprog(
        -diffs.sum(axis=0), A_ub=-diffs, b_ub=np.zeros(len(diffs)), bounds=[(-1.0, 1.0)] * X.shape[1], method="highs"
    )
    if not res.success or -res.fun <= tol:
        return np.zeros(X.shape[1], dtype=int)
    d = res.x
    return np.where(np.abs(d) > tol, np.sign(d), 0).astype(int)


def cox_ph(
    time,
    event,
    X: pd.DataFrame | np.ndarray,
    *,
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
    timefix: bool = True,
) -> CoxResult:
    """Fit a Cox model with Efron's ties, as ``coxph(Surv(time, event) ~ X, ties = "efron")``.

    Parameters
    ----------
    time : array-like of float
        Follow-up times (> 0).
    event : array-like of 0/1 or bool
        1 = event, 0 = censored (ADTTE: ``cnsr == 0`` is an event).
    X : DataFrame or 2-D array
        Covariates; bools become 0/1.
    alpha : float
        1 − confidence level of the Wald limits.
    names : sequence of str, optional
        Term names when ``X`` is an array.
    timefix : bool
        Merge near-equal times as R does.

    Returns
    -------
    CoxResult

    Raises
    ------
    MonotoneLikelihoodError
        When some coefficient's estimate is infinite.
    ValueError
        Without events, with a constant covariate, or on bad input.

    Examples
    --------
    >>> import pandas as pd
    >>> fit = cox_ph([1, 2, 2, 3, 4, 5, 6, 7], [1, 1, 1, 0, 1, 1, 0, 1],
    ...              pd.DataFrame({"x": [1, 0, 1, 1, 0, 1, 0, 0]}))
    >>> # R: coef(coxph(Surv(t, e) ~ x, ties = "efron", control = coxph.control(eps = 1e-11))) -> 0.901098523838
    >>> round(float(fit.coef[0]), 6)
    0.901099
    """
    Xd, terms = design_matrix(X, intercept=False, names=names)
    t = np.asarray(time, dtype=float)
    ev = _event(event)
    n = Xd.shape[0]
    if t.shape != (n,) or ev.shape != (n,):
        raise ValueError("time, event and X must have the same number of rows")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("times must be finite and positive")
    if not ev.any():
        raise ValueError("no events: the Cox model is not estimable")
    constant = [term for term, col in zip(terms, Xd.T) if np.ptp(col) == 0]
    if constant:
        raise ValueError(f"constant covariates: {constant}")
    if timefix:
        t = r_timefix(t)
    if risk_set_pairs(t, ev) <= MAX_LP_PAIRS:
        directions = monotone_likelihood(t, ev, Xd)
        if directions.any():
            infinite = [term for term, d in zip(terms, directions) if d != 0]
            raise MonotoneLikelihoodError(
                f"monotone likelihood: the hazard ratio is not finite for {infinite}", infinite
            )

    cols = [f"x{i}" for i in range(len(terms))]
    frame = pd.DataFrame(Xd, columns=cols).assign(_time=t, _event=ev.astype(int))
    fitter = CoxPHFitter(alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines' low-variance hints; monotone likelihood is checked above
        fitter.fit(frame, duration_col="_time", event_col="_event", fit_options=FIT_OPTIONS)
    coef = fitter.params_[cols].to_numpy(float)
    se = fitter.standard_errors_[cols].to_numpy(float)
    spread = Xd.std(axis=0)
    diverging = [
        term
        for term, c, s, sd in zip(terms, coef, se, spread)
        if abs(c) * sd > MAX_LOG_HR_PER_SD or s * sd > 10 * MAX_LOG_HR_PER_SD
    ]
    if diverging:
        raise MonotoneLikelihoodError(f"monotone likelihood: the hazard ratio is not finite for {diverging}", diverging)
    z = coef / se
    zc = stats.norm.ppf(1 - alpha / 2)
    lr = fitter.log_likelihood_ratio_test()
    return CoxResult(
        terms=terms,
        coef=coef,
        se=se,
        z=z,
        p_value=2.0 * stats.norm.sf(np.abs(z)),
        hr_ci_low=np.exp(coef - zc * se),
        hr_ci_high=np.exp(coef + zc * se),
        loglik_null=float(fitter._ll_null_),
        loglik=float(fitter.log_likelihood_),
        lr_chisq=float(lr.test_statistic),
        lr_df=int(lr.degrees_freedom),
        lr_p=float(lr.p_value),
        n=n,
        events=int(ev.sum()),
        alpha=alpha,
    )


__all__ = ["CoxResult", "MonotoneLikelihoodError", "cox_ph", "monotone_likelihood"]
