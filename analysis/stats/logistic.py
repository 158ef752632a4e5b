"""Ordinary (maximum-likelihood) logistic regression, as R's ``glm(family = binomial)``.

Validated in ``tests/stats/test_logistic.py`` against R 4.2 (``tests/fixtures/r/regression.R``):

- coefficients, standard errors, Wald z and p = ``summary(glm(y ~ x, family = binomial))``, fitted
  by statsmodels' ``GLM(family=Binomial())`` (IRLS) to 1e-6;
- **Wald** limits ``b ± z se`` = R's ``confint.default(fit)``, exactly;
- **profile-likelihood** limits (the default here) = the two roots of

  .. math:: D(\\beta_j = b) - D(\\hat\\beta) = \\chi^2_{1, 1-\\alpha},

  where :math:`D(\\beta_j = b)` is the deviance minimised over the other coefficients with
  :math:`b\\,x_j` as an offset, found by Brent's method to 1e-10. This matches an exact R root
  (``uniroot`` on ``glm.fit`` deviances with an offset) to 1e-6. **R's own ``confint(fit)`` differs
  on purpose**: ``MASS:::confint.glm`` (``stats`` since R 4.4) profiles on a grid of steps
  proportional to the standard error and interpolates the signed root deviance with a spline, so
  its limits are within about 2.5e-4 standard errors of the exact roots (1.3e-4 on
  ``MASS::birthwt``'s ``ht``, 5.6e-4 on an intercept with se 3.1); the test checks that
  documented difference;
- likelihood-ratio tests for each coefficient = ``drop1(fit, test = "Chisq")``.

Maximum likelihood has no finite estimate under complete or quasi-complete separation (Albert &
Anderson 1984). :func:`logistic` detects it first (Konis's linear program, as the R package
``detectseparation``, via ``firthmodels.detect_separation``) and raises :class:`SeparationError`;
use :func:`analysis.stats.firth_logistic.firth_logistic` there.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from firthmodels import detect_separation
from scipy import optimize, stats
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM

INTERCEPT = "(Intercept)"


class SeparationError(ValueError):
    """The data are (quasi-)completely separated: some maximum-likelihood estimates are infinite."""

    def __init__(self, message: str, infinite_terms: Sequence[str]):
        super().__init__(message)
        self.infinite_terms = tuple(infinite_terms)


def design_matrix(
    X: pd.DataFrame | np.ndarray, intercept: bool = True, names: Sequence[str] | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """The float design matrix and its term names, with R's ``(Intercept)`` first when asked.

    ``X`` is a data frame (its column names become the terms; bools become 0/1) or a 2-D array with
    ``names``. Missing or infinite values are refused: the caller decides on complete cases.
    """
    if isinstance(X, pd.DataFrame):
        terms = tuple(str(c) for c in X.columns)
        arr = X.astype(float).to_numpy()
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        terms = tuple(names) if names is not None else tuple(f"x{i + 1}" for i in range(arr.shape[1]))
    if arr.ndim != 2 or len(terms) != arr.shape[1]:
        raise ValueError("X must be two-dimensional with one name per column")
    if not np.all(np.isfinite(arr)):
        raise ValueError("X has missing or infinite values")
    if intercept:
        arr = np.column_stack([np.ones(arr.shape[0]), arr])
        terms = (INTERCEPT, *terms)
    return arr, terms


def binary_outcome(y, n: int) -> np.ndarray:
    """``y`` as a float 0/1 vector of length ``n`` (bools accepted); anything else is refused."""
    arr = np.asarray(y)
    if arr.dtype == bool:
        arr = arr.astype(float)
    arr = np.asarray(arr, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"y must have {n} values, got shape {arr.shape}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("y must be binary (0/1 or bool) without missing values")
    return arr


class OddsRatios:
    """Odds ratios and their limits from a fit's log-odds ``coef``, ``ci_low`` and ``ci_high``."""

    coef: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray

    @property
    def odds_ratio(self) -> np.ndarray:
        return np.exp(self.coef)

    @property
    def or_ci_low(self) -> np.ndarray:
        return np.exp(self.ci_low)

    @property
    def or_ci_high(self) -> np.ndarray:
        return np.exp(self.ci_high)


@dataclass(frozen=True)
class LogisticResult(OddsRatios):
    """A fitted logistic regression (log-odds scale; :attr:`odds_ratio` and friends exponentiate).

    Attributes
    ----------
    terms : tuple of str
        ``(Intercept)`` first, then the columns of ``X``.
    coef, se, z, p_value : ndarray
        Estimates, standard errors (inverse Fisher information), Wald z and two-sided Wald p
        (R's ``summary(fit)$coefficients``).
    ci_low, ci_high : ndarray
        Limits on the log-odds scale by :attr:`ci_method`.
    ci_method : {"profile", "wald"}
    lr_chisq, lr_p : ndarray
        Likelihood-ratio test of each coefficient = 0 (``drop1(fit, test = "Chisq")``).
    deviance, null_deviance : float
    n, events : int
    fitted : ndarray
        Fitted probabilities.
    alpha : float
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ci_method: str
    lr_chisq: np.ndarray
    lr_p: np.ndarray
    deviance: float
    null_deviance: float
    n: int
    events: int
    fitted: np.ndarray
    alpha: float

    def summary(self) -> pd.DataFrame:
        """One row per term: coef, se, z, p_value (Wald), or, or_ci_low, or_ci_high, lr_chisq, lr_p."""
        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "z": self.z,
                "p_value": self.p_value,
                "or": self.odds_ratio,
                "or_ci_low": self.or_ci_low,
                "or_ci_high": self.or_ci_high,
                "lr_chisq": self.lr_chisq,
                "lr_p": self.lr_p,
            },
            index=pd.Index(self.terms, name="term"),
        )


class ConvergenceError(ValueError):
    """The iteratively reweighted least squares fit did not converge: the model is reported as not estimable."""


def _glm_fit(y: np.ndarray, X: np.ndarray, offset: np.ndarray | None = None):
    # No start_params: statsmodels 0.14's IRLS can diverge from a supplied start with an offset.
    model = GLM(y, X, family=Binomial(), offset=offset)  # not statsmodels.api: it loads all of statsmodels (0.3 s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' perfect-prediction warnings: separation is checked first
        fit = model.fit(method="IRLS", tol=1e-13, maxiter=200)
    if not fit.converged and not _converged_relative(fit.fit_history["deviance"]):
        raise ConvergenceError("IRLS did not converge")
    return fit


def _converged_relative(deviances: list[float], epsilon: float = 1e-12) -> bool:
    """R's glm criterion |dev − dev_old| / (|dev| + 0.1) < ε, for large samples where statsmodels' absolute
    tolerance of 1e-13 lies below the deviance's floating-point resolution."""
    return len(deviances) >= 2 and abs(deviances[-1] - deviances[-2]) / (abs(deviances[-1]) + 0.1) < epsilon


def _binomial_deviance(y: np.ndarray, eta: np.ndarray) -> float:
    # -2 log-likelihood of 0/1 data (the saturated model's is 0): 2 Σ log(1 + e^η) − y η.
    return float(2.0 * np.sum(np.logaddexp(0.0, eta) - y * eta))


def _profile_deviance(y: np.ndarray, X: np.ndarray, j: int, b: float) -> float:
    """Deviance minimised over every coefficient but ``j``, which is held at ``b``."""
    offset = b * X[:, j]
    if X.shape[1] == 1:
        return _binomial_deviance(y, offset)
    rest = np.delete(X, j, axis=1)
    fit = _glm_fit(y, rest, offset=offset)
    return _binomial_deviance(y, rest @ fit.params + offset)


def _profile_limit(y, X, j, beta, se, dev0, crit, direction: int) -> float:
    def f(b: float) -> float:
        return _profile_deviance(y, X, j, b) - dev0 - crit

    step = se[j] if np.isfinite(se[j]) and se[j] > 0 else 1.0
    far = beta[j] + direction * step
    for _ in range(60):
        if f(far) > 0:
            break
        far = beta[j] + 2.0 * (far - beta[j])
    else:  # pragma: no cover - only without separation check
        return direction * math.inf
    lo, hi = sorted((beta[j], far))
    return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200))


def logistic(
    X: pd.DataFrame | np.ndarray,
    y,
    *,
    alpha: float = 0.05,
    ci: Literal["profile", "wald"] = "profile",
    intercept: bool = True,
    names: Sequence[str] | None = None,
) -> LogisticResult:
    """Fit ``logit P(y = 1) = X b`` by maximum likelihood, as R's ``glm(y ~ X, family = binomial)``.

    Parameters
    ----------
    X : DataFrame or 2-D array
        Covariates (no intercept column; one is added when ``intercept``). Bools become 0/1.
    y : array-like of 0/1 or bool
    alpha : float
        1 − confidence level of the limits.
    ci : {"profile", "wald"}
        ``"profile"``: exact profile-likelihood limits (see the module notes on R's ``confint``);
        ``"wald"``: ``b ± z se``, R's ``confint.default``.
    intercept : bool
    names : sequence of str, optional
        Term names when ``X`` is an array.

    Returns
    -------
    LogisticResult

    Raises
    ------
    SeparationError
        When an estimate is infinite (separation); the error lists the terms.
    ValueError
        For a constant outcome, fewer observations than coefficients, or bad input.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"dose": [0, 1, 2, 3, 4, 5, 6, 7]})
    >>> fit = logistic(X, [0, 0, 1, 0, 1, 0, 1, 1], ci="wald")
    >>> # R: coef(glm(c(0,0,1,0,1,0,1,1) ~ I(0:7), family = binomial)) -> -2.0792953  0.5940844
    >>> [round(float(v), 6) for v in fit.coef]
    [-2.079295, 0.594084]
    """
    Xd, terms = design_matrix(X, intercept, names)
    yv = binary_outcome(y, Xd.shape[0])
    n, k = Xd.shape
    if yv.min() == yv.max():
        raise ValueError("the outcome is constant: no logistic regression is estimable")
    if n <= k:
        raise ValueError(f"{n} observations for {k} coefficients")
    sep = detect_separation(Xd, yv, fit_intercept=False)
    if sep.separation:
        infinite = [t for t, finite in zip(terms, sep.is_finite) if not finite]
        raise SeparationError(f"separation: maximum-likelihood estimates are infinite for {infinite}", infinite)

    fit = _glm_fit(yv, Xd)
    beta = np.asarray(fit.params, dtype=float)
    se = np.asarray(fit.bse, dtype=float)
    z = beta / se
    p = 2.0 * stats.norm.sf(np.abs(z))
    eta = Xd @ beta
    dev0 = _binomial_deviance(yv, eta)
    ybar = yv.mean()
    null_eta = np.full(n, math.log(ybar / (1 - ybar)) if intercept else 0.0)
    null_dev = _binomial_deviance(yv, null_eta)
    crit = float(stats.chi2.ppf(1 - alpha, 1))

    lr = np.array([max(_profile_deviance(yv, Xd, j, 0.0) - dev0, 0.0) for j in range(k)])
    lr_p = stats.chi2.sf(lr, 1)
    if ci == "wald":
        zc = stats.norm.ppf(1 - alpha / 2)
        lo, hi = beta - zc * se, beta + zc * se
    elif ci == "profile":
        lo = np.array([_profile_limit(yv, Xd, j, beta, se, dev0, crit, -1) for j in range(k)])
        hi = np.array([_profile_limit(yv, Xd, j, beta, se, dev0, crit, +1) for j in range(k)])
    else:
        raise ValueError(f"ci must be 'profile' or 'wald', got {ci!r}")
    return LogisticResult(
        terms=terms,
        coef=beta,
        se=se,
        z=z,
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        ci_method=ci,
        lr_chisq=lr,
        lr_p=lr_p,
        deviance=dev0,
        null_deviance=null_dev,
        n=n,
        events=int(yv.sum()),
        fitted=1.0 / (1.0 + np.exp(-eta)),
        alpha=alpha,
    )
