"""Cumulative incidence under competing risks (Aalen–Johansen), as R's ``cmprsk::cuminc``.

Validated in ``tests/stats/test_cumulative_incidence.py`` against ``cmprsk`` 2.2:

- :func:`cuminc` = ``cuminc(ftime, fstatus, cencode = 0)[["1 <cause>"]]`` (one group, no strata):
  the estimate

  .. math:: F_k(t) = \\sum_{t_j \\le t} \\hat S(t_{j-1})\\, d_{kj} / n_j

  with :math:`\\hat S` the all-cause Kaplan–Meier, and **cuminc's variance**: the delta-method
  estimator of Gray's ``cinc`` routine (Robert Gray, cmprsk, Fortran), re-implemented here from its
  published source. Over the tied failure times t_j (n_j at risk, d_1j failures of the cause of
  interest, d_2j of the others; S_j = S(t_j), F_j = F(t_j)) it accumulates

  .. math::

      v_1 \\mathrel{+}= a_j^2 w_j,\\ v_2 \\mathrel{+}= b_j a_j w_j,\\ v_3 \\mathrel{+}= b_j^2 w_j,
      \\qquad w_j = \\frac{S_{j-1}^2\\, d\\, (1 - (d-1)/(n_j-1))}{n_j^2}

  once with d = d_2j, a_j = F_j / S_j, b_j = 1 / S_j (skipped when S_j = 0), and once with
  d = d_1j, a_j = 1 + F_j / S_j, b_j = 1 / S_j (b_j = 0 when S_j = 0); at each jump of F_k the
  variance is :math:`v_1 + F_j^2 v_3 - 2 F_j v_2`. As in cmprsk, the variance is stored only at the
  jumps of F_k: between jumps it is the value of the last jump, even if competing events occurred
  since.
- :func:`cif_at` = ``timepoints(fit, times)``: the estimate and variance just after the last time
  ≤ t; NaN beyond the longest follow-up (as ``timepoints``, and outputs.md) and for t < 0. Ties are
  exact equality of times (cuminc does not merge near-equal times, unlike ``survfit``).

The 95 % interval is grading.md's F^exp(±1.96·√var/(F·log F)) (the log(−log) transform), lower
limit F^exp(−z√var/(F log F)); it is NaN where F is 0 or 1 (the transform is undefined there) —
the ARD label says "not estimable".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.stats.ard import NOT_ESTIMABLE_N0, ArdRow, ard_row


@dataclass(frozen=True)
class CumulativeIncidenceFit:
    """The step function of ``cuminc`` for one cause: corner points as cmprsk returns them.

    ``time`` starts at 0, repeats each jump time twice (value before, value after) and ends at the
    longest follow-up; ``est`` and ``var`` are the estimate and cuminc's variance at each corner.
    """

    time: np.ndarray
    est: np.ndarray
    var: np.ndarray
    cause: int
    n: int

    @property
    def max_time(self) -> float:
        return float(self.time[-1]) if self.n else math.nan

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time": self.time, "est": self.est, "var": self.var})


def _tie_weight(d: int, rs: float) -> float:
    return 1.0 if d <= 1 else 1.0 - (d - 1.0) / (rs - 1.0)


def cuminc(time: Iterable[float], status: Iterable[int], cause: int = 1, cencode: int = 0) -> CumulativeIncidenceFit:
    """Aalen–Johansen cumulative incidence of one cause with cmprsk's variance.

    Parameters
    ----------
    time : array-like of float
        Follow-up times (finite, ≥ 0).
    status : array-like of int
        ``cencode`` for a censoring, else the cause of failure (PACER's CIR: 1 relapse, 2 death
        without relapse).
    cause : int
        The cause whose incidence is estimated.
    cencode : int
        The censoring code.

    Returns
    -------
    CumulativeIncidenceFit

    Examples
    --------
    R: ``cuminc(c(1, 2, 2, 3), c(1, 2, 1, 0))$"1 1"$est``

    >>> cuminc([1, 2, 2, 3], [1, 2, 1, 0]).est.round(4).tolist()
    [0.0, 0.0, 0.25, 0.25, 0.5, 0.5]
    """
    t = np.asarray(time, dtype=float)
    st = np.asarray(status)
    if t.shape != st.shape or t.ndim != 1:
        raise ValueError("time and status must be 1-d and of equal length")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("times must be finite and >= 0")
    st_f = st.astype(float)
    if np.isnan(st_f).any() or (st_f != np.round(st_f)).any():
        raise ValueError("status must be whole-number codes without missing values")
    st = st_f.astype(int)
    n = t.size
    if n == 0:
        empty = np.array([], dtype=float)
        return CumulativeIncidenceFit(empty, empty, empty, cause, 0)

    order = np.argsort(t, kind="mergesort")
    t, st = t[order], st[order]
    failed = st != cencode
    of_cause = st == cause

    xs, fs, vs = [0.0], [0.0], [0.0]
    surv = 1.0  # all-cause Kaplan–Meier just before the current time
    v1 = v2 = v3 = 0.0
    at_risk = float(n)
    uniq, start = np.unique(t, return_index=True)
    stop = np.append(start[1:], n)
    for tj, a, b in zip(uniq, start, stop):
        d1 = int(of_cause[a:b].sum())
        d2 = int(failed[a:b].sum()) - d1
        if d1 + d2 > 0:
            surv_next = surv * (at_risk - (d1 + d2)) / at_risk
            if d1 > 0:
                xs += [float(tj), float(tj)]
                fs += [fs[-1], fs[-1] + surv * d1 / at_risk]
            f_now = fs[-1]
            if d2 > 0 and surv_next > 0:
                w = surv * surv * _tie_weight(d2, at_risk) * d2 / (at_risk * at_risk)
                inv = 1.0 / surv_next
                a_j = f_now / surv_next
                v1 += a_j * a_j * w
                v2 += inv * a_j * w
                v3 += inv * inv * w
            if d1 > 0:
                w = surv * surv * _tie_weight(d1, at_risk) * d1 / (at_risk * at_risk)
                inv = 1.0 / surv_next if surv_next > 0 else 0.0
                a_j = 1.0 + inv * f_now
                v1 += a_j * a_j * w
                v2 += inv * a_j * w
                v3 += inv * inv * w
                vs += [vs[-1], v1 + f_now * f_now * v3 - 2.0 * f_now * v2]
            surv = surv_next
        at_risk = float(n - b)
    xs.append(float(t[-1]))
    fs.append(fs[-1])
    vs.append(vs[-1])
    return CumulativeIncidenceFit(np.array(xs), np.array(fs), np.array(vs), cause, n)


def cif_confint(est: np.ndarray, var: np.ndarray, conf_level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """grading.md's interval F^exp(∓z√var/(F·log F)); NaN where F is 0, 1 or NaN."""
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    est = np.asarray(est, dtype=float)
    var = np.asarray(var, dtype=float)
    ff = np.where((est > 0) & (est < 1), est, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = z * np.sqrt(var) / (ff * np.log(ff))
        return ff ** np.exp(-a), ff ** np.exp(a)


def cif_at(fit: CumulativeIncidenceFit, times: Iterable[float], conf_level: float = 0.95) -> pd.DataFrame:
    """Estimate, variance and CI at given times, as ``cmprsk::timepoints`` (plus the CI).

    Returns ``time``, ``cif``, ``var``, ``ci_low``, ``ci_high``, ``beyond_follow_up`` in the order
    the times are given (``timepoints`` sorts them). Beyond the longest follow-up, or before 0,
    everything is NaN.
    """
    req = np.asarray(list(times), dtype=float)
    out = pd.DataFrame({"time": req})
    if fit.n == 0:
        out["cif"] = out["var"] = out["ci_low"] = out["ci_high"] = np.nan
        out["beyond_follow_up"] = True
        return out
    x = fit.time
    last = x.size - 1
    idx = np.searchsorted(x, req, side="right")
    idx = np.where(req == x[last], last, idx)
    valid = (req <= x[last]) & (idx > 0)
    safe = np.clip(idx, 0, last)
    est = np.where(valid, fit.est[safe], np.nan)
    var = np.where(valid, fit.var[safe], np.nan)
    low, high = cif_confint(est, var, conf_level)
    out["cif"], out["var"], out["ci_low"], out["ci_high"] = est, var, low, high
    out["beyond_follow_up"] = req > x[last]
    return out


def cif_ard_rows(
    fit: CumulativeIncidenceFit,
    timepoints: Mapping[str, float],
    group: str = "CIR",
    analysis: str = "cif",
    conf_level: float = 0.95,
) -> list[ArdRow]:
    """ARD rows ``cif``, ``ci_low``, ``ci_high`` for each named time point (e.g. ``month_3``)."""
    at = cif_at(fit, timepoints.values(), conf_level)
    pct = round(100 * conf_level)
    rows: list[ArdRow] = []
    for variable, rec in zip(timepoints, at.itertuples(index=False)):
        if fit.n == 0:
            labels = dict.fromkeys(("cif", "ci_low", "ci_high"), NOT_ESTIMABLE_N0)
        elif rec.beyond_follow_up:
            labels = dict.fromkeys(("cif", "ci_low", "ci_high"), "beyond the longest follow-up: not estimable")
        else:
            ci_note = "" if not np.isnan(rec.ci_low) else " (not estimable: F = 0 or 1)"
            labels = {
                "cif": "Aalen–Johansen cumulative incidence (cmprsk::cuminc)",
                "ci_low": f"{pct} % CI F^exp(-z·sqrt(var)/(F·log F)), cuminc variance, lower limit{ci_note}",
                "ci_high": f"{pct} % CI F^exp(+z·sqrt(var)/(F·log F)), cuminc variance, upper limit{ci_note}",
            }
        values = {"cif": rec.cif, "ci_low": rec.ci_low, "ci_high": rec.ci_high}
        rows.extend(ard_row(analysis, group, variable, name, value, labels[name]) for name, value in values.items())
    return rows


__all__ = ["CumulativeIncidenceFit", "cif_ard_rows", "cif_at", "cif_confint", "cuminc"]
