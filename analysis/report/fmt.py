"""How numbers are printed: one convention for the whole report."""

from __future__ import annotations

import math

import numpy as np

from analysis.report.ardview import Rate

NOT_ESTIMABLE = "n.e."
DASH = "–"
NBSP = "\u00a0"
"""Between a number and its unit ("30.0 %"), so a narrow column never splits them."""


def is_missing(value: object) -> bool:
    """None, NaN and pandas NA are missing."""
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return True


def count(value: object) -> str:
    """An integer count; a dash when missing."""
    return DASH if is_missing(value) else f"{int(round(float(value)))}"


def number(value: object, digits: int = 1) -> str:
    """A float with ``digits`` decimals; "n.e." (not estimable) when missing."""
    return NOT_ESTIMABLE if is_missing(value) else f"{float(value):.{digits}f}"


def value(value: object, digits: int = 1) -> str:
    """A recorded value in a listing with ``digits`` decimals; a dash when there is none (nothing to estimate)."""
    return DASH if is_missing(value) else f"{float(value):.{digits}f}"


def pct(p: object, digits: int = 1) -> str:
    """A proportion as a percentage, "30.0 %"."""
    return NOT_ESTIMABLE if is_missing(p) else f"{100 * float(p):.{digits}f}{NBSP}%"


def ci(low: object, high: object, percent: bool = True, digits: int = 1) -> str:
    """An interval "6.7–65.2" (as percentages when ``percent``)."""
    if is_missing(low) or is_missing(high):
        return NOT_ESTIMABLE
    scale = 100.0 if percent else 1.0
    return f"{scale * float(low):.{digits}f}–{scale * float(high):.{digits}f}"


def rate(r: Rate) -> str:
    """ "3/10 (30.0 %; 95 % CI 6.7–65.2)" — or "0/0: not estimable"."""
    if not r.estimable:
        return f"{count(r.n)}/{count(r.N)}: not estimable (N{NBSP}={NBSP}0)"
    return f"{count(r.n)}/{count(r.N)} ({pct(r.p)}; 95{NBSP}% CI {ci(r.ci_low, r.ci_high)})"


def rate_cells(r: Rate) -> tuple[str, str]:
    """("3/10", "30.0 % (6.7–65.2)") for tables with an n/N column and an estimate column."""
    if not r.estimable:
        return f"{count(r.n)}/{count(r.N)}", "not estimable"
    return f"{count(r.n)}/{count(r.N)}", f"{pct(r.p)} ({ci(r.ci_low, r.ci_high)})"


def p_value(p: object) -> str:
    """A p-value with 3 decimals, "< 0.001" below."""
    if is_missing(p):
        return NOT_ESTIMABLE
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def n_pct(n: int, total: int) -> str:
    """ "3 (30.0 %)" of a descriptive count; "0" when the total is 0."""
    if total == 0:
        return f"{n}"
    return f"{n}{NBSP}({100 * n / total:.1f}{NBSP}%)"


def median_iqr(values, digits: int = 1) -> str:
    """ "4.0 (2.5–6.0)" of a descriptive distribution (R type 7 quartiles); a dash when empty."""
    data = np.asarray([v for v in values if not is_missing(v)], dtype=float)
    if data.size == 0:
        return DASH
    q1, med, q3 = np.quantile(data, [0.25, 0.5, 0.75])
    return f"{med:.{digits}f} ({q1:.{digits}f}–{q3:.{digits}f})"
