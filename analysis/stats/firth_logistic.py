"""Firth's penalized-likelihood logistic regression with profile penalized-likelihood CIs.

Firth (1993) removes the O(1/n) bias of the maximum-likelihood estimate by maximizing

.. math:: \\ell^*(\\beta) = \\ell(\\beta) + \\tfrac12 \\log\\lvert X^\\top W(\\beta) X\\rvert,
          \\qquad W = \\operatorname{diag}\\{p_i (1 - p_i)\\},

the log-likelihood penalized by Jeffreys' prior. Its estimates are finite under complete or
quasi-complete separation (Heinze & Schemper 2002), which is why the cohort comparison of severe
CRS uses it: with 40 trial participants, a cohort or a burden stratum without a single severe CRS
is plausible.

The fit is ``firthmodels.FirthLogisticRegression`` (Newton–Raphson on the modified score, step
halving, tolerance 1e-6), then polished by Fisher scoring on the modified score,
:math:`\\beta \\leftarrow \\beta + (X^\\top W X)^{-1} U^*(\\beta)`, until no coefficient moves by
1e-10 (:func:`_polish`): at tighter tolerances firthmodels' own steps can stall on float noise —
on the demo bundles it hit its iteration cap at 1e-8. Inference follows Heinze & Schemper (2002),
logistf's defaults:

- **confidence limits by the profile penalized likelihood**: the two values ``b`` of each
  coefficient where :math:`2\\{\\ell^*(\\hat\\beta) - \\max_{\\beta_j = b} \\ell^*(\\beta)\\} =
  \\chi^2_{1,1-\\alpha}`, the constrained maximum keeping the full model's penalty
  (``firthmodels`` ``conf_int(method="pl")``, Venzon & Moolgavkar 1988; if that iteration fails a
  bracketing root search on the same function takes over);
- **p-values by the penalized likelihood-ratio test** of each coefficient = 0;
- **standard errors** from the inverse Fisher information :math:`(X^\\top W X)^{-1}` at the
  estimate, as R's ``vcov`` on a ``brglm2`` fit (``firthmodels``' own ``bse_`` uses the augmented
  information :math:`X^\\top W (1 + h) X` and is not used).

Validated in ``tests/stats/test_firth_logistic.py`` against R 4.2 (``tests/fixtures/r/regression.R``):
estimates and standard errors = ``glm(..., method = "brglmFit", type = "AS_mean")`` (brglm2 0.9;
for the logit link identical to ``type = "MPL_Jeffreys"``) to 1e-6; profile limits and
penalized-LR p-values to 1e-4 against an R implementation of logistf's definitions (brglm2's
``confint`` is Wald only and logistf is not installed), which reproduces logistf's published
``endometrial`` figures.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from firthmodels import FirthLogisticRegression, detect_separation
from scipy import optimize, stats
from scipy.special import expit

from analysis.stats.logistic import OddsRatios, binary_outcome, design_matrix

#: firthmodels' Newton–Raphson tolerance on the modified score and the step (its default is 1e-4;
#: much tighter and its quasi-Newton steps can stall on float noise — :func:`_polish` finishes).
FIT_TOL = 1e-6
#: The polishing iterations stop when no coefficient moves by more than this.
POLISH_TOL = 1e-10


@dataclass(frozen=True)
class FirthLogisticResult(OddsRatios):
    """A Firth logistic regression (log-odds scale; ``odds_ratio`` and friends exponentiate).

    Attributes
    ----------
    terms : tuple of str
        ``(Intercept)`` first, then the columns of ``X`` (R's order).
    coef, se : ndarray
        Penalized-likelihood estimates and their standard errors :math:`(X^\\top W X)^{-1/2}`.
    ci_low, ci_high : ndarray
        Profile penalized-likelihood limits, log-odds scale.
    lr_chisq, p_value : ndarray
        Penalized likelihood-ratio statistic of each coefficient = 0 and its χ²₁ p-value.
    pen_loglik : float
        :math:`\\ell^*(\\hat\\beta)`.
    separation : bool
        Whether the data are separated (some maximum-likelihood estimate would be infinite).
    infinite_ml : tuple of str
        The terms whose maximum-likelihood estimate is infinite (Konis's linear program).
    n, events : int
    converged : bool
    alpha : float
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    lr_chisq: np.ndarray
    p_value: np.ndarray
    pen_loglik: float
    separation: bool
    infinite_ml: tuple[str, ...]
    n: int
    events: int
    converged: bool
    alpha: float

    def summary(self) -> pd.DataFrame:
        """One row per term: coef, se, or, or_ci_low, or_ci_high, lr_chisq, p_value, infinite_ml."""
        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "or": self.odds_ratio,
                "or_ci_low": self.or_ci_low,
                "or_ci_high": self.or_ci_high,
                "lr_chisq": self.lr_chisq,
                "p_value": self.p_value,
                "infinite_ml": [t in self.infinite_ml for t in self.terms],
            },
            index=pd.Index(self.terms, name="term"),
        )


def _fit(X: np.ndarray, y: np.ndarray) -> FirthLogisticRegression:
    """firthmodels fit on a design that already holds its intercept column."""
    model = FirthLogisticRegression(
        fit_intercept=False, gtol=FIT_TOL, xtol=FIT_TOL, max_iter=200, max_halfstep=40, backend="numpy"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is judged after polishing
        model.fit(X, y)
    return model


def _penalized(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """ℓ*(β), the modified score X'(y − p + h (½ − p)) and the Fisher information X'WX."""
    eta = X @ beta
    p = expit(eta)
    w = p * (1.0 - p)
    info = X.T @ (w[:, None] * X)
    sign, logdet = np.linalg.slogdet(info)
    if sign <= 0:
        return -math.inf, np.full(beta.shape, np.nan), info
    h = w * np.einsum("ij,ij->i", X @ np.linalg.inv(info), X)
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)) + 0.5 * logdet)
    return loglik, X.T @ (y - p + h * (0.5 - p)), info


def _constrained_max(X: np.ndarray, y: np.ndarray, j: int, b: float, start: np.ndarray) -> float:
    """max ℓ*(β) over β with β_j = b (the full model's penalty), by Newton steps with halving."""
    beta = start.astype(float).copy()
    beta[j] = b
    free = np.arange(len(beta)) != j
    loglik, score, info = _penalized(X, y, beta)
    if not free.any():
        return loglik
    for _ in range(500):
        if np.max(np.abs(score[free])) < 1e-10:
            break
        step = np.linalg.solve(info[np.ix_(free, free)], score[free])
        for halving in range(60):
            cand = beta.copy()
            cand[free] += step / 2.0**halving
            cand_loglik, cand_score, cand_info = _penalized(X, y, cand)
            if cand_loglik >= loglik - 1e-13:
                break
        else:
            break
        beta, loglik, score, info = cand, cand_loglik, cand_score, cand_info
    return loglik


def _polish(X: np.ndarray, y: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Finish the fit by Fisher scoring on the modified score, β += (X'WX)⁻¹ U*(β), with halving.

    Returns (β, ℓ*(β), converged); converged when the last step moved no coefficient by more than
    1e-8 (the loop itself runs to :data:`POLISH_TOL`).
    """
    beta = np.asarray(start, dtype=float).copy()
    loglik, score, info = _penalized(X, y, beta)
    last = math.inf
    for _ in range(200):
        if not np.all(np.isfinite(score)):
            return beta, loglik, False
        step = np.linalg.solve(info, score)
        for halving in range(40):
            cand = beta + step / 2.0**halving
            cand_loglik, cand_score, cand_info = _penalized(X, y, cand)
            if cand_loglik >= loglik - 1e-12 * max(1.0, abs(loglik)):
                break
        else:
            break
        last = float(np.max(np.abs(cand - beta)))
        beta, loglik, score, info = cand, cand_loglik, cand_score, cand_info
        if last < POLISH_TOL:
            break
    return beta, loglik, bool(last < 1e-8)


def _penalized_lr(X: np.ndarray, y: np.ndarray, j: int, b: float, beta_hat: np.ndarray, loglik_hat: float) -> float:
    """2 {ℓ*(β̂) − max ℓ*(β | β_j = b)}."""
    return max(0.0, 2.0 * (loglik_hat - _constrained_max(X, y, j, b, beta_hat)))


def _profile_limit_by_root(X, y, j, beta, se, crit, direction: int) -> float:
    """One profile limit by bracketing and Brent's method (the fallback to Venzon–Moolgavkar)."""
    loglik_hat = _penalized(X, y, beta)[0]

    def f(b: float) -> float:
        return -crit if b == beta[j] else _penalized_lr(X, y, j, b, beta, loglik_hat) - crit

    step = se[j] if np.isfinite(se[j]) and se[j] > 0 else 1.0
    far = beta[j] + direction * step
    for _ in range(40):
        value = f(far)
        if not np.isfinite(value):
            return math.nan
        if value > 0:
            break
        far = beta[j] + 2.0 * (far - beta[j])
    else:
        return direction * math.inf
    lo, hi = sorted((beta[j], far))
    return float(optimize.brentq(f, lo, hi, xtol=1e-10, maxiter=200))


def firth_logistic(
    X: pd.DataFrame | np.ndarray,
    y,
    *,
    alpha: float = 0.05,
    intercept: bool = True,
    names: Sequence[str] | None = None,
) -> FirthLogisticResult:
    """Fit Firth's penalized-likelihood logistic regression with profile penalized-likelihood CIs.

    Parameters
    ----------
    X : DataFrame or 2-D array
        Covariates, without an intercept column (one is added when ``intercept``); bools are 0/1.
    y : array-like of 0/1 or bool
        The outcome; it needs at least one event and one non-event.
    alpha : float
        1 − confidence level.
    intercept : bool
    names : sequence of str, optional
        Term names when ``X`` is an array.

    Returns
    -------
    FirthLogisticResult

    Raises
    ------
    ValueError
        For a constant outcome, more coefficients than observations, or bad input.

    Examples
    --------
    All four events in the exposed group (quasi-complete separation): maximum likelihood has no
    finite odds ratio; Firth's has one, with a finite profile CI.

    >>> import pandas as pd
    >>> X = pd.DataFrame({"exposed": [0, 0, 0, 0, 1, 1, 1, 1]})
    >>> fit = firth_logistic(X, [0, 0, 0, 0, 0, 1, 1, 1])
    >>> fit.separation, fit.infinite_ml
    (True, ('(Intercept)', 'exposed'))
    >>> # R: coef(glm(y ~ exposed, family = binomial, method = "brglmFit")) -> -2.197225  3.044522
    >>> [round(float(v), 6) for v in fit.coef]
    [-2.197225, 3.044522]
    >>> round(float(fit.odds_ratio[1]), 6)  # (3.5 / 1.5) / (0.5 / 4.5): in a 2 x 2 table Firth adds 1/2 to each cell
    21.0
    """
    Xd, terms = design_matrix(X, intercept, names)
    yv = binary_outcome(y, Xd.shape[0])
    n, k = Xd.shape
    if yv.min() == yv.max():
        raise ValueError("the outcome is constant: no logistic regression is estimable")
    if n <= k:
        raise ValueError(f"{n} observations for {k} coefficients")

    model = _fit(Xd, yv)
    beta, pen_loglik, converged = _polish(Xd, yv, model.coef_)
    # Inference below starts from the polished estimate (firthmodels reads these attributes).
    model.coef_, model.loglik_, model.converged_ = beta.copy(), pen_loglik, converged

    eta = Xd @ beta
    p = expit(eta)
    info = Xd.T @ ((p * (1.0 - p))[:, None] * Xd)
    se = np.sqrt(np.diag(np.linalg.inv(info)))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.lrt()
        ci = model.conf_int(alpha=alpha, method="pl", tol=1e-9, max_iter=200)
    lr = np.where(np.isinf(model.lrt_bse_), 0.0, (beta / model.lrt_bse_) ** 2)
    pvalues = np.asarray(model.lrt_pvalues_, dtype=float)
    crit = float(stats.chi2.ppf(1 - alpha, 1))
    ci = np.array(ci, dtype=float)
    for j in range(k):
        for col, direction in ((0, -1), (1, 1)):
            if not np.isfinite(ci[j, col]):
                ci[j, col] = _profile_limit_by_root(Xd, yv, j, beta, se, crit, direction)
        if not np.isfinite(pvalues[j]):
            lr[j] = _penalized_lr(Xd, yv, j, 0.0, beta, _penalized(Xd, yv, beta)[0])
            pvalues[j] = stats.chi2.sf(lr[j], 1)

    sep = detect_separation(Xd, yv, fit_intercept=False)
    infinite = tuple(t for t, finite in zip(terms, sep.is_finite) if not finite)
    return FirthLogisticResult(
        terms=terms,
        coef=beta,
        se=se,
        ci_low=ci[:, 0],
        ci_high=ci[:, 1],
        lr_chisq=lr,
        p_value=pvalues,
        pen_loglik=float(pen_loglik),
        separation=bool(sep.separation),
        infinite_ml=infinite,
        n=n,
        events=int(yv.sum()),
        converged=converged,
        alpha=alpha,
    )
