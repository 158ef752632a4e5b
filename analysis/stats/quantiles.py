"""Descriptive summaries with R's type-7 quantiles (``quantile(x, type = 7)``, R's default).

Type 7: for probability p and the n sorted values x₍₁₎ ≤ … ≤ x₍ₙ₎, h = (n − 1)p + 1 and
Q(p) = x₍⌊h⌋₎ + (h − ⌊h⌋)(x₍⌊h⌋+1₎ − x₍⌊h⌋₎) — numpy's ``method="linear"``. Missing values (NaN,
None) are dropped first (R ``na.rm = TRUE``); ``n`` counts the values kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from analysis.stats.ard import NOT_ESTIMABLE_N0, ArdRow, ard_row

SUMMARY_STATS: tuple[str, ...] = ("n", "median", "q1", "q3", "min", "max")


def quantile7(values: Iterable[float], probs: Iterable[float]) -> np.ndarray:
    """R ``quantile(values, probs, type = 7, na.rm = TRUE)``; NaN for every p when no value is left.

    Examples
    --------
    >>> quantile7([3, 1, 4, 1, 5, 9, 2, 6], [0.25, 0.5, 0.75]).tolist()  # R: quantile(c(3,1,4,1,5,9,2,6), c(.25,.5,.75))
    [1.75, 3.5, 5.25]
    """
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    p = np.asarray(list(probs), dtype=float)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("probabilities must lie in [0, 1]")
    if x.size == 0:
        return np.full(p.shape, np.nan)
    return np.quantile(x, p, method="linear")


@dataclass(frozen=True)
class Summary:
    """n, median, quartiles (type 7), minimum and maximum."""

    n: int
    median: float
    q1: float
    q3: float
    min: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n": float(self.n),
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "min": self.min,
            "max": self.max,
        }


def summarize(values: Iterable[float]) -> Summary:
    """n and the five-number summary (type-7 quartiles) of the non-missing values."""
    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    q0, q1, q2, q3, q4 = quantile7(x, (0.0, 0.25, 0.5, 0.75, 1.0))
    return Summary(int(x.size), float(q2), float(q1), float(q3), float(q0), float(q4))


def summary_ard_rows(analysis: str, group: str, variable: str, values: Iterable[float]) -> list[ArdRow]:
    """ARD rows ``n``, ``median``, ``q1``, ``q3``, ``min``, ``max`` (e.g. ``fever_to_anakinra``).

    No value gives ``n`` = 0 and NaN for the rest, labelled "not estimable (N = 0)".
    """
    s = summarize(values)
    if s.n == 0:
        return [
            ard_row(analysis, group, variable, name, 0.0 if name == "n" else math.nan, NOT_ESTIMABLE_N0)
            for name in SUMMARY_STATS
        ]
    labels = {
        "n": "participants with a value",
        "median": "median",
        "q1": "first quartile (R type 7)",
        "q3": "third quartile (R type 7)",
        "min": "minimum",
        "max": "maximum",
    }
    return [ard_row(analysis, group, variable, name, value, labels[name]) for name, value in s.as_dict().items()]


__all__ = ["SUMMARY_STATS", "Summary", "quantile7", "summarize", "summary_ard_rows"]
