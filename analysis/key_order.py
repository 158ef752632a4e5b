"""Whether a table already sits in the order of its key: the test that lets a sort of sorted rows be skipped.

Sorting millions of rows by several keys costs seconds (and a copy of every column) even when the
rows are already in order, as an export's rows usually are. Comparing each row with the next costs
a few vectorized comparisons per key column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def in_key_order(frame: pd.DataFrame, key: list[str] | tuple[str, ...]) -> bool:
    """True when a stable sort of ``frame`` by ``key`` (ascending) would leave every row where it is.

    Parameters
    ----------
    frame
        The table.
    key
        The columns of the sort, most significant first.

    Returns
    -------
    bool
        Whether each row's key is at most the next row's, compared column by column. False too
        when a key cell is missing (a sort puts those last): the caller then sorts.
    """
    if len(frame) < 2:
        return True
    tied = np.ones(len(frame) - 1, dtype=bool)  # equal to the next row on every key column so far
    for name in key:
        column = frame[name]
        if column.isna().any():
            return False
        values = column.array
        try:
            smaller = np.asarray(values[:-1] < values[1:], dtype=bool)
            larger = np.asarray(values[:-1] > values[1:], dtype=bool)
        except TypeError:  # values that do not compare (an unordered categorical): let the sort decide
            return False
        if (tied & larger).any():
            return False
        tied &= ~smaller
        if not tied.any():
            break
    return True
