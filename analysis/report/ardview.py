"""Looking numbers up in ``ard.parquet``: the only source of every estimate the report prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

RATE_STATS = ("n", "N", "p", "ci_low", "ci_high")


@dataclass(frozen=True)
class Rate:
    """One ``n / N`` with its proportion and exact CI, as the ARD holds it."""

    n: float
    N: float
    p: float
    ci_low: float
    ci_high: float

    @property
    def estimable(self) -> bool:
        return not math.isnan(self.N) and self.N > 0


class ArdView:
    """Read-only lookups in an ARD frame (outputs.md: unique on analysis, group, variable, stat_name, method).

    A missing row reads as NaN: the report then prints "not available" instead of inventing a value.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        keys = zip(
            frame["analysis"].astype(str),
            frame["group"].astype(str),
            frame["variable"].astype(str),
            frame["stat_name"].astype(str),
            frame["method"].fillna("").astype(str),
        )
        keys = list(keys)
        self._values = dict(zip(keys, frame["stat_value"].astype(float)))
        self._labels = dict(zip(keys, frame["stat_label"].fillna("").astype(str)))
        self._frame = frame

    def value(self, analysis: str, group: str, variable: str, stat_name: str, method: str = "") -> float:
        """The ``stat_value``, NaN when the row is absent."""
        return self._values.get((analysis, group, variable, stat_name, method), math.nan)

    def label(self, analysis: str, group: str, variable: str, stat_name: str, method: str = "") -> str:
        """The ``stat_label``, ``""`` when the row is absent."""
        return self._labels.get((analysis, group, variable, stat_name, method), "")

    def has(self, analysis: str, group: str | None = None, variable: str | None = None) -> bool:
        """Whether any row matches."""
        return any(
            k[0] == analysis and (group is None or k[1] == group) and (variable is None or k[2] == variable)
            for k in self._values
        )

    def rate(self, analysis: str, group: str, variable: str) -> Rate:
        """``n``, ``N``, ``p``, ``ci_low``, ``ci_high`` of one group and variable."""
        return Rate(*(self.value(analysis, group, variable, s) for s in RATE_STATS))

    def pairs(self, analysis: str) -> list[tuple[str, str]]:
        """The (group, variable) pairs of an analysis, in ARD (key-sorted) order."""
        seen: dict[tuple[str, str], None] = {}
        for k in self._values:
            if k[0] == analysis:
                seen.setdefault((k[1], k[2]), None)
        return list(seen)
