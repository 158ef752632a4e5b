"""The text dtype of the ingest: Arrow-backed strings, so that every ``.str`` operation runs in Arrow's
vectorized kernels rather than a Python loop over cells (pandas' default ``"string"`` is Python-backed)."""

from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import pyarrow as pa

TEXT = pd.StringDtype("pyarrow")

Result = TypeVar("Result", pd.Series, pd.DataFrame)


def by_distinct(values: pd.Series, cellwise: Callable[[pd.Series], Result]) -> Result:
    """``cellwise(values)``, computed once per distinct value and spread back to every row.

    An export's columns repeat few values over millions of rows (event types, units, codes, the
    participant of each event, readings to one decimal), so a rule that reads one cell at a time is
    worked out on the distinct values only. ``cellwise`` must give each row's result from that row's
    cell alone; the result keeps ``values``' index and ``cellwise``'s dtypes.

    Parameters
    ----------
    values
        text cells (:data:`TEXT`; missing cells are a distinct value of their own).
    cellwise
        a function of a text Series returning a Series or DataFrame aligned with its argument.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        one row per row of ``values``, with ``values``' index.
    """
    text = pa.chunked_array(values.astype(TEXT).array.__arrow_array__()).combine_chunks()
    encoded = text.dictionary_encode(null_encoding="encode")
    distinct = pd.Series(encoded.dictionary, dtype=TEXT) if len(encoded.dictionary) else pd.Series([], dtype=TEXT)
    per_distinct = cellwise(distinct.reset_index(drop=True))
    spread = per_distinct.take(encoded.indices.to_numpy(zero_copy_only=False))
    spread.index = values.index
    return spread
