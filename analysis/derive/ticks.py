"""Time as integer ticks, and the sorted look-ups the physiological state is built with.

Time inside :mod:`analysis.derive.physiology`, :mod:`analysis.derive.penn` and
:mod:`analysis.derive.crs` is an integer number of *ticks*, ``TICKS_PER_HOUR`` ticks to the hour
(one tick = 3.6 ms), so that "exactly 24 h", "≥ 3 h" and "m ≤ b ≤ m + 72 h" are exact integer
comparisons, free of floating-point residue. Outputs are hours again (:func:`to_hours`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ArrayLike = np.ndarray | pd.Series | Sequence[float]

TICKS_PER_HOUR = 1_000_000
"""Internal time resolution: 10⁻⁶ h (3.6 ms)."""

NEVER = np.int64(2**62)
"""A tick later than any real time: "no end", "no next row", "no such time"."""

KEY_SHIFT = 36
"""(participant, tick) pairs are packed as ``pid << 36 | tick``: ticks up to 2³⁶ (≈ 7.8 years)."""


# --------------------------------------------------------------------------------------------
# time helpers


def to_ticks(hours: ArrayLike, missing: np.int64 = NEVER) -> np.ndarray:
    """Hours (float, NaN allowed) to integer ticks; NaN becomes ``missing``.

    Two arrays the size of ``hours`` are made (the scaled hours, rounded in place, and the ticks):
    over millions of readings the memory a conversion touches is most of its cost.
    """
    scaled = np.multiply(np.asarray(hours, dtype="float64"), TICKS_PER_HOUR)
    np.round(scaled, out=scaled)
    unknown = np.isnan(scaled)
    scaled[unknown] = 0.0
    out = scaled.astype("int64")
    out[unknown] = missing
    return out


def to_hours(ticks: ArrayLike) -> np.ndarray:
    """Integer ticks to hours; ``NEVER`` (or anything at or beyond it) becomes NaN."""
    t = np.asarray(ticks, dtype="int64")
    out = t.astype("float64") / TICKS_PER_HOUR
    out[t >= NEVER] = np.nan
    return out


def hours_to_ticks(hours: float) -> np.int64:
    """One duration from the analysis plan, in ticks."""
    return np.int64(round(hours * TICKS_PER_HOUR))


def pack(participant_code: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """(participant code, tick) pairs as one sortable int64: ``code << KEY_SHIFT | tick``."""
    return (np.asarray(participant_code, dtype="int64") << KEY_SHIFT) | np.asarray(ticks, dtype="int64")


def asof_index(right_code: np.ndarray, right_t: np.ndarray, left_code: np.ndarray, left_t: np.ndarray) -> np.ndarray:
    """For each left (participant, time), the index of the last right row of the same participant at or before it.

    Parameters
    ----------
    right_code, right_t
        Integer participant codes and ticks, sorted by (participant, time).
    left_code, left_t
        The query points, in any order.

    Returns
    -------
    numpy.ndarray
        int64 positions into the right arrays; -1 where the participant has no right row at or
        before the query time.
    """
    if len(right_code) == 0:
        return np.full(len(left_code), -1, dtype="int64")
    keys = pack(right_code, right_t)
    idx = np.searchsorted(keys, pack(left_code, left_t), side="right").astype("int64") - 1
    ok = idx >= 0
    ok[ok] = np.asarray(right_code)[idx[ok]] == np.asarray(left_code)[ok]
    return np.where(ok, idx, -1)


def take_or(values: np.ndarray, idx: np.ndarray, fill):
    """``values[idx]`` with ``fill`` where ``idx`` is -1."""
    values = np.asarray(values)
    if len(values) == 0:
        return np.full(len(idx), fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], fill)


def next_in_group(group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The next row's time within the same group (rows sorted by group, time); ``NEVER`` for the last."""
    nxt = np.full(len(t), NEVER, dtype="int64")
    if len(t) > 1:
        same = group[1:] == group[:-1]
        nxt[:-1] = np.where(same, t[1:], NEVER)
    return nxt


def previous_in_group(group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The previous row's time within the same group (rows sorted by group, time); ``-NEVER`` for the first."""
    prev = np.full(len(t), -NEVER, dtype="int64")
    if len(t) > 1:
        same = group[1:] == group[:-1]
        prev[1:] = np.where(same, t[:-1], -NEVER)
    return prev


def runs(
    participant_code: np.ndarray, flag: np.ndarray, duration: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximal runs of consecutive grid intervals where ``flag`` holds.

    Grid intervals of one participant are contiguous, so consecutive rows with the flag form an
    uninterrupted run of time.

    Returns
    -------
    run_start : bool array, true on the first interval of each run
    run_id : int array, the run's number (-1 outside runs)
    run_ticks : int array, the run's total length in ticks (0 outside runs)
    """
    flag = np.asarray(flag, dtype=bool)
    n = len(flag)
    first_of_pid = np.ones(n, dtype=bool)
    if n > 1:
        first_of_pid[1:] = participant_code[1:] != participant_code[:-1]
    prev_flag = np.zeros(n, dtype=bool)
    if n > 1:
        prev_flag[1:] = flag[:-1]
    run_start = flag & (first_of_pid | ~prev_flag)
    run_id = np.cumsum(run_start) - 1
    run_id = np.where(flag, run_id, -1)
    total = np.bincount(run_id[flag], weights=duration[flag].astype("float64"), minlength=int(run_start.sum()))
    run_ticks = np.where(flag, np.round(take_or(total, run_id, 0.0)).astype("int64"), 0)
    return run_start, run_id, run_ticks
