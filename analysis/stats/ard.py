"""Analysis Results Data (ARD): the long table every statistic of ``ard.parquet`` lands in.

One row is one number: ``analysis``, ``group``, ``variable``, ``stat_name``, ``method``,
``stat_value`` (float), ``stat_label``. The key (``analysis``, ``group``, ``variable``,
``stat_name``, ``method``) is unique; ``method`` is ``""`` where a statistic has one method
(outputs.md, "Analysis results that must be in ard.parquet").

Degenerate groups (outputs.md, "Rules for every row"): N = 0 gives ``n`` = 0, ``N`` = 0 and NaN for
the rest, with ``stat_label`` :data:`NOT_ESTIMABLE_N0`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass

import pandas as pd

ARD_COLUMNS: tuple[str, ...] = ("analysis", "group", "variable", "stat_name", "method", "stat_value", "stat_label")
ARD_KEY: tuple[str, ...] = ("analysis", "group", "variable", "stat_name", "method")
NOT_ESTIMABLE_N0 = "not estimable (N = 0)"


class ArdError(ValueError):
    """An ARD table that breaks the contract of outputs.md (every problem is listed)."""


@dataclass(frozen=True)
class ArdRow:
    """One analysis result.

    Parameters
    ----------
    analysis, group, variable, stat_name : str
        Where the number belongs, e.g. ``("crs_rate", "all", "crs_any", "ci_low")``.
    method : str
        The method when a statistic has several (``"fisher_exact"``), else ``""``.
    stat_value : float
        The number; NaN when not estimable.
    stat_label : str
        A human label; for a degenerate group, why the value is NaN.
    """

    analysis: str
    group: str
    variable: str
    stat_name: str
    method: str
    stat_value: float
    stat_label: str

    def __post_init__(self) -> None:
        for name in ("analysis", "group", "variable", "stat_name", "method", "stat_label"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"ArdRow.{name} must be str, got {type(getattr(self, name)).__name__}")
        if not self.analysis or not self.group or not self.variable or not self.stat_name:
            raise ValueError(f"ArdRow key fields must be non-empty: {self.key}")
        value = self.stat_value
        if value is None:
            value = math.nan
        if isinstance(value, bool):
            value = float(value)
        object.__setattr__(self, "stat_value", float(value))

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.analysis, self.group, self.variable, self.stat_name, self.method)


def ard_row(
    analysis: str,
    group: str,
    variable: str,
    stat_name: str,
    stat_value: float | int | None,
    stat_label: str = "",
    method: str = "",
) -> ArdRow:
    """Build one :class:`ArdRow` (``None`` becomes NaN, ints and bools become floats)."""
    return ArdRow(
        analysis, group, variable, stat_name, method, math.nan if stat_value is None else stat_value, stat_label
    )


def stats_rows(
    analysis: str,
    group: str,
    variable: str,
    values: Mapping[str, float | int | None],
    labels: Mapping[str, str] | None = None,
    method: str = "",
    default_label: str = "",
) -> list[ArdRow]:
    """Rows for several statistics that share analysis, group, variable and method.

    ``values`` maps stat_name → value in the order wanted; ``labels`` maps stat_name → label
    (missing names get ``default_label``).
    """
    labels = labels or {}
    return [
        ard_row(analysis, group, variable, name, value, labels.get(name, default_label), method)
        for name, value in values.items()
    ]


def not_estimable_rows(
    analysis: str,
    group: str,
    variable: str,
    stat_names: Iterable[str],
    method: str = "",
    count_names: Iterable[str] = ("n", "N"),
) -> list[ArdRow]:
    """The degenerate rows of outputs.md for N = 0: counts 0, every other statistic NaN.

    Every row is labelled :data:`NOT_ESTIMABLE_N0`.
    """
    counts = set(count_names)
    return [
        ard_row(analysis, group, variable, name, 0.0 if name in counts else math.nan, NOT_ESTIMABLE_N0, method)
        for name in stat_names
    ]


def to_frame(rows: Iterable[ArdRow]) -> pd.DataFrame:
    """The rows as a typed, key-sorted ARD data frame (strings, ``stat_value`` float64); validated."""
    rows = list(rows)
    frame = pd.DataFrame([astuple(r) for r in rows], columns=list(ARD_COLUMNS))
    for col in ARD_COLUMNS:
        frame[col] = frame[col].astype("float64" if col == "stat_value" else "string")
    frame = frame.sort_values(list(ARD_KEY), kind="mergesort").reset_index(drop=True)
    validate_ard(frame)
    return frame


def validate_ard(frame: pd.DataFrame) -> pd.DataFrame:
    """Check an ARD frame against outputs.md; return it unchanged or raise :class:`ArdError`.

    Checks: the seven columns are present; key columns are strings without missing values (``method``
    may be ``""``, the others not); ``stat_value`` is float; the key is unique.
    """
    problems: list[str] = []
    missing = [c for c in ARD_COLUMNS if c not in frame.columns]
    if missing:
        raise ArdError(f"ARD is missing columns: {missing}")
    for col in ARD_COLUMNS:
        if col == "stat_value":
            if not pd.api.types.is_float_dtype(frame[col]):
                problems.append(f"stat_value must be float, got {frame[col].dtype}")
            continue
        if frame[col].isna().any():
            problems.append(f"{col} has missing values in {int(frame[col].isna().sum())} rows")
        if col not in ("method", "stat_label") and (frame[col].astype(str) == "").any():
            problems.append(f"{col} is empty in {int((frame[col].astype(str) == '').sum())} rows")
    dup = frame.duplicated(list(ARD_KEY), keep=False)
    if dup.any():
        keys = sorted({tuple(map(str, k)) for k in frame.loc[dup, list(ARD_KEY)].itertuples(index=False)})
        problems.append(f"{len(keys)} duplicated keys (analysis, group, variable, stat_name, method), e.g. {keys[:5]}")
    if problems:
        raise ArdError("; ".join(problems))
    return frame
