"""Kaplan–Meier estimator with the log-log confidence interval, as R's ``survival::survfit``.

Validated in ``tests/stats/test_kaplan_meier.py`` against ``survival`` 3.5 (R 4.2):

- the curve (:func:`kaplan_meier`) = ``survfit(Surv(time, status) ~ 1, conf.type = "log-log")``:
  one row per distinct time (events *and* censorings), ``surv`` = ∏ (n − d)/n, ``std_err`` the
  Greenwood standard error of the cumulative hazard, √Σ d / (n (n − d)), and

  .. math:: \\text{lower}, \\text{upper} = \\exp\\{-\\exp[\\log(-\\log S) \\mp z\\,se/\\log S]\\}

  which R leaves NA where S is 0 or 1; near-equal times are merged first as R's ``aeqSurv``
  (``timefix = TRUE``) does;
- values at given times (:func:`survival_at`) = ``summary(fit, times = t, extend = TRUE)``: the curve
  just after the last time ≤ t, and ``n_risk`` = number still under observation at t (time ≥ t).
  Two rules are R's and kept: before the first observed time R's ``survfit0`` row applies
  (S = 1 with limits 1 and 1), while at or after a censoring that precedes every event S = 1 with
  NA limits. **One rule differs on purpose** (outputs.md): at a time beyond the longest follow-up
  R (``extend = TRUE``) carries the last estimate forward with ``n.risk`` 0; here the estimate and
  its limits are NaN and ``n_risk`` 0. (With ``extend = FALSE`` R drops such times.)
- the median and its CI (:func:`median_survival`) as ``print.survfit``: the first time S < 0.5 (up to
  √ε); when S equals 0.5 on a flat stretch, the midpoint of that stretch; the limits are the same
  rule applied to the lower and upper curves (NA where a curve never goes below 0.5).
- the median follow-up (:func:`median_follow_up`) by reverse Kaplan–Meier:
  ``survfit(Surv(time, 1 - status) ~ 1)``, censorings as events. Ties between a death and a
  censoring are handled as R does with the flipped status (at a tied time, the "events" — here the
  censorings — happen first; the deaths are still at risk).

lifelines is not used: its ``KaplanMeierFitter`` gives the same survival estimates, but its
confidence bands and median CIs follow its own conventions (see the test module).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.ard import NOT_ESTIMABLE_N0, ArdRow, ard_row

#: survival's default tolerance (aeqSurv and the median rule): sqrt(.Machine$double.eps).
R_TOLERANCE = math.sqrt(np.finfo(float).eps)


def r_timefix(time: np.ndarray, tolerance: float = R_TOLERANCE) -> np.ndarray:
    """Merge near-equal times as R's ``aeqSurv`` (``survfit(..., timefix = TRUE)``).

    Among the sorted distinct finite times, a time whose gap to the previous one is ≤ ``tolerance``
    absolutely, or ≤ ``tolerance`` relative to the mean absolute time, is replaced by the first time
    of its run.
    """
    time = np.asarray(time, dtype=float)
    y = np.unique(time[np.isfinite(time)])
    if y.size < 2:
        return time
    dy = np.diff(y)
    scale = np.mean(np.abs(y))
    tied = (dy <= tolerance) | ((dy / scale) <= tolerance if scale > 0 else np.zeros_like(dy, dtype=bool))
    if not tied.any():
        return time
    cuts = y[np.concatenate(([True], ~tied))]
    return cuts[np.searchsorted(cuts, time, side="right") - 1]


def _loglog_limits(surv: np.ndarray, std_err: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``survfit_confint(conf.type = "log-log")``; NaN where S is 0 or 1."""
    xx = np.where((surv > 0) & (surv < 1), surv, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_xx = np.log(xx)
        se2 = z * std_err / log_xx
        centre = np.log(-log_xx)
        lower = np.exp(-np.exp(centre - se2))
        upper = np.exp(-np.exp(centre + se2))
    return lower, upper


@dataclass(frozen=True)
class KaplanMeierFit:
    """A Kaplan–Meier curve as R's ``survfit`` object: one entry per distinct observed time.

    Attributes
    ----------
    time, n_risk, n_event, n_censor, surv, std_err, lower, upper : numpy.ndarray
        As ``fit$time``, ``fit$n.risk``, … of R; ``std_err`` is the Greenwood standard error of the
        cumulative hazard (``fit$std.err``), ``inf`` once everyone at risk has died.
    n : int
        Number of subjects.
    conf_level : float
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int
    conf_level: float

    @property
    def max_time(self) -> float:
        """The longest follow-up (largest observed time); NaN for an empty fit."""
        return float(self.time[-1]) if self.time.size else math.nan

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "surv": self.surv,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )


def _as_event(event: Iterable) -> np.ndarray:
    ev = np.asarray(event)
    if ev.dtype == bool:
        return ev.astype(int)
    ev = ev.astype(float)
    if np.isnan(ev).any() or not np.isin(ev, (0.0, 1.0)).all():
        raise ValueError("event must be 0/1 (or bool) without missing values")
    return ev.astype(int)


def kaplan_meier(
    time: Iterable[float], event: Iterable, conf_level: float = 0.95, timefix: bool = True
) -> KaplanMeierFit:
    """Kaplan–Meier estimate with Greenwood standard error and log-log CI.

    Parameters
    ----------
    time : array-like of float
        Follow-up times (≥ 0, finite).
    event : array-like of 0/1 or bool
        1 (True) for an event, 0 for a censoring.
    conf_level : float
        Confidence level of the pointwise interval.
    timefix : bool
        Merge near-equal times as R's ``aeqSurv`` (R's default).

    Returns
    -------
    KaplanMeierFit

    Examples
    --------
    R: ``survfit(Surv(time, status) ~ 1, data = aml, conf.type = "log-log")``

    >>> fit = kaplan_meier([9, 13, 13, 18], [1, 1, 0, 1])
    >>> fit.surv.round(4).tolist()
    [0.75, 0.5, 0.0]
    """
    t = np.asarray(time, dtype=float)
    ev = _as_event(event)
    if t.shape != ev.shape or t.ndim != 1:
        raise ValueError("time and event must be 1-d and of equal length")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("times must be finite and >= 0")
    if timefix:
        t = r_timefix(t)
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    if t.size == 0:
        empty = np.array([], dtype=float)
        return KaplanMeierFit(
            empty, empty.astype(int), empty.astype(int), empty.astype(int), empty, empty, empty, empty, 0, conf_level
        )
    uniq, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=ev, minlength=uniq.size).astype(int)
    n_total = np.bincount(inverse, minlength=uniq.size).astype(int)
    n_censor = n_total - n_event
    n_risk = (t.size - np.concatenate(([0], np.cumsum(n_total)[:-1]))).astype(int)
    surv = np.cumprod((n_risk - n_event) / n_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event).astype(float)), 0.0)
    std_err = np.sqrt(np.cumsum(terms))
    lower, upper = _loglog_limits(surv, std_err, z)
    return KaplanMeierFit(uniq, n_risk, n_event, n_censor, surv, std_err, lower, upper, int(t.size), conf_level)


def survival_at(fit: KaplanMeierFit, times: Iterable[float]) -> pd.DataFrame:
    """Survival, log-log CI and number at risk at given times (R ``summary(fit, times, extend = TRUE)``).

    Returns a frame with ``time``, ``surv``, ``ci_low``, ``ci_high``, ``n_risk``, ``beyond_follow_up``,
    one row per requested time in the order given. A time beyond the longest follow-up gives NaN
    estimates and ``n_risk`` 0 (outputs.md; R would carry the last estimate forward). An empty fit
    gives NaN and 0 everywhere.
    """
    req = np.asarray(list(times), dtype=float)
    out = pd.DataFrame({"time": req})
    if fit.time.size == 0:
        out["surv"] = out["ci_low"] = out["ci_high"] = np.nan
        out["n_risk"] = 0
        out["beyond_follow_up"] = True
        return out
    # survfit0: a row at time 0 (S = 1, limits 1) unless the first time is 0.
    if fit.time[0] == 0:
        t0, s0, lo0, up0, nr0 = fit.time, fit.surv, fit.lower, fit.upper, fit.n_risk
    else:
        t0 = np.concatenate(([0.0], fit.time))
        s0 = np.concatenate(([1.0], fit.surv))
        lo0 = np.concatenate(([1.0], fit.lower))
        up0 = np.concatenate(([1.0], fit.upper))
        nr0 = np.concatenate(([fit.n_risk[0]], fit.n_risk))
    row = np.maximum(np.searchsorted(t0, req, side="right"), 1) - 1
    at_risk_row = np.searchsorted(t0, req, side="left")
    beyond = req > fit.max_time
    out["surv"] = np.where(beyond, np.nan, s0[row])
    out["ci_low"] = np.where(beyond, np.nan, lo0[row])
    out["ci_high"] = np.where(beyond, np.nan, up0[row])
    out["n_risk"] = np.concatenate((nr0, [0]))[at_risk_row].astype(int)
    out["beyond_follow_up"] = beyond
    return out


def _r_minmin(y: np.ndarray, x: np.ndarray, tolerance: float = R_TOLERANCE) -> float:
    """print.survfit's median rule (``survmean``'s ``minmin``)."""
    keep = ~np.isnan(y) & (y < 0.5 + tolerance)
    if not keep.any():
        return math.nan
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - 0.5) < tolerance and (yk < yk[0]).any():
        return float((xk[0] + xk[np.argmax(yk < yk[0])]) / 2)
    return float(xk[0])


@dataclass(frozen=True)
class MedianResult:
    """A median time with its confidence limits (NaN when not reached)."""

    median: float
    ci_low: float
    ci_high: float


def median_survival(fit: KaplanMeierFit) -> MedianResult:
    """Median survival and its CI, as R's ``print.survfit`` (``summary(fit)$table``).

    The lower limit comes from the lower confidence curve and the upper limit from the upper curve;
    a limit whose curve never falls below 0.5 (or is NA there, as where S reaches 0) is NaN.
    """
    if fit.time.size == 0:
        return MedianResult(math.nan, math.nan, math.nan)
    return MedianResult(
        median=_r_minmin(fit.surv, fit.time),
        ci_low=_r_minmin(fit.lower, fit.time),
        ci_high=_r_minmin(fit.upper, fit.time),
    )


def median_follow_up(time: Iterable[float], event: Iterable, conf_level: float = 0.95) -> MedianResult:
    """Median follow-up by reverse Kaplan–Meier: R ``survfit(Surv(time, 1 - status) ~ 1)``'s median.

    ``event`` is the event indicator of the survival endpoint (for PACER: OS, death = 1); the
    censorings become the events.
    """
    ev = _as_event(event)
    return median_survival(kaplan_meier(time, 1 - ev, conf_level))


ARD_MONTHS: dict[str, int] = {"month_3": 3, "month_6": 6, "month_12": 12}
"""The ARD's time points (variable → months) of the ``km``, ``cif`` and ``cohort_km`` rows (O "Analysis results")."""


def month_timepoints(days_per_month: float) -> dict[str, float]:
    """The ARD's time points in days: ``{"month_3": 3 × days_per_month, …}`` (settings ``days_per_month``).

    Parameters
    ----------
    days_per_month : float
        Days in a month (the analysis plan's ``days_per_month``, 30.4375 by default).

    Returns
    -------
    dict of str to float
        :data:`ARD_MONTHS`, each in days.
    """
    return {name: months * days_per_month for name, months in ARD_MONTHS.items()}


def km_ard_rows(
    fit: KaplanMeierFit,
    group: str,
    timepoints: Mapping[str, float],
    analysis: str = "km",
) -> list[ArdRow]:
    """ARD rows ``surv``, ``ci_low``, ``ci_high``, ``n_risk`` for each named time point.

    ``timepoints`` maps the ARD variable (``"month_3"``) to a time in the fit's unit. An empty fit
    gives NaN with ``n_risk`` 0 and the label "not estimable (N = 0)".
    """
    at = survival_at(fit, timepoints.values())
    pct = round(100 * fit.conf_level)
    rows: list[ArdRow] = []
    for (variable, _), rec in zip(timepoints.items(), at.itertuples(index=False)):
        if fit.n == 0:
            note = NOT_ESTIMABLE_N0
            labels = dict.fromkeys(("surv", "ci_low", "ci_high", "n_risk"), note)
        elif rec.beyond_follow_up:
            note = "beyond the longest follow-up: not estimable"
            labels = dict.fromkeys(("surv", "ci_low", "ci_high"), note) | {"n_risk": "number at risk"}
        else:
            ci_note = "" if not np.isnan(rec.ci_low) else " (not estimable: S = 0 or 1)"
            labels = {
                "surv": "Kaplan–Meier estimate",
                "ci_low": f"log-log {pct} % CI (Greenwood), lower limit{ci_note}",
                "ci_high": f"log-log {pct} % CI (Greenwood), upper limit{ci_note}",
                "n_risk": "number at risk",
            }
        values = {"surv": rec.surv, "ci_low": rec.ci_low, "ci_high": rec.ci_high, "n_risk": float(rec.n_risk)}
        rows.extend(ard_row(analysis, group, variable, name, value, labels[name]) for name, value in values.items())
    return rows


def follow_up_ard_rows(result: MedianResult, n: int, scale: float = 1.0, variable: str = "months") -> list[ArdRow]:
    """The ``follow_up`` row: reverse-KM median follow-up divided by ``scale`` (e.g. 30.4375 days a month)."""
    if n == 0:
        return [ard_row("follow_up", "all", variable, "median", math.nan, NOT_ESTIMABLE_N0)]
    label = "median follow-up, reverse Kaplan–Meier" + ("" if not np.isnan(result.median) else " (not reached)")
    return [ard_row("follow_up", "all", variable, "median", result.median / scale, label)]


__all__ = [
    "ARD_MONTHS",
    "R_TOLERANCE",
    "KaplanMeierFit",
    "MedianResult",
    "follow_up_ard_rows",
    "kaplan_meier",
    "km_ard_rows",
    "median_follow_up",
    "median_survival",
    "month_timepoints",
    "r_timefix",
    "survival_at",
]
