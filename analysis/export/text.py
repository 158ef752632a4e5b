"""The text dtype of the ingest: Arrow-backed strings, so that every ``.str`` operation runs in Arrow's
vectorized kernels rather than a Python loop over cells (pandas' default ``"string"`` is Python-backed)."""

from collections.abc import Callable
from typing import TypeVar

import pandas as pd
import pyarrow as pa

TEXT = pd.StringDtype("pyarrow")

Result = TypeVar("Result", pd.Series, pd.DataFrame)


class DistinctCells:
    """A text column as its distinct values and each row's position among them (Arrow's dictionary encoding).

    An export's columns repeat few values over millions of rows (event types, units, codes, the
    participant of each event, readings to one decimal), so a rule that reads one cell at a time is
    worked out on the distinct values only (:meth:`apply`). Missing cells are a distinct value of their own.
    """

    def __init__(self, values: pd.Series) -> None:
        text = pa.chunked_array(values.astype(TEXT).array.__arrow_array__()).combine_chunks()
        encoded = text.dictionary_encode(null_encoding="encode")
        self.index = values.index
        self.distinct = (
            pd.Series(encoded.dictionary, dtype=TEXT) if len(encoded.dictionary) else pd.Series([], dtype=TEXT)
        )
        self.positions = encoded.indices.to_numpy(zero_copy_only=False)

    def apply(self, cellwise: Callable[[pd.Series], Result]) -> Result:
        """``cellwise`` of every row's cell, computed once per distinct value.

        Parameters
        ----------
        cellwise
            a function of a text Series returning a Series or DataFrame aligned with its argument, each
            row's result from that row's cell alone.

        Returns
        -------
        pandas.Series or pandas.DataFrame
            one row per row of the column, with its index and ``cellwise``'s dtypes.
        """
        spread = cellwise(self.distinct).take(self.positions)
        spread.index = self.index
        return spread


def by_distinct(values: pd.Series, cellwise: Callable[[pd.Series], Result]) -> Result:
    """``cellwise(values)``, computed once per distinct value of ``values`` (:class:`DistinctCells`)."""
    return DistinctCells(values).apply(cellwise)
