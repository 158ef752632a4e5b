"""The text dtype of the ingest: Arrow-backed strings, so that every ``.str`` operation runs in Arrow's
vectorized kernels rather than a Python loop over cells (pandas' default ``"string"`` is Python-backed)."""

from collections.abc import Callable
from typing import TypeVar

import numpy as np
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

    def apply(self, cellwise: Callable[[pd.Series], Result], rows: np.ndarray | None = None) -> Result:
        """``cellwise`` of every row's cell (or of the ``rows`` only), computed once per distinct value.

        Parameters
        ----------
        cellwise
            a function of a text Series returning a Series or DataFrame aligned with its argument, each
            row's result from that row's cell alone.
        rows
            a boolean mask of the rows wanted; all rows when None.

        Returns
        -------
        pandas.Series or pandas.DataFrame
            one row per (wanted) row of the column, with its index and ``cellwise``'s dtypes.
        """
        positions, index = (self.positions, self.index) if rows is None else (self.positions[rows], self.index[rows])
        spread = cellwise(self.distinct).take(positions)
        spread.index = index
        return spread

    def apply_as_categorical(self, cellwise: Callable[[pd.Series], pd.Series]) -> pd.Series:
        """:meth:`apply` for a ``cellwise`` giving text, as a categorical: a look-up or comparison then reads its codes.

        Returns
        -------
        pandas.Series
            of dtype ``category``, its categories the distinct results; missing where ``cellwise`` gives NA.
        """
        codes, categories = pd.factorize(cellwise(self.distinct))
        return pd.Series(pd.Categorical.from_codes(codes[self.positions], categories=categories), index=self.index)


def by_distinct(values: pd.Series, cellwise: Callable[[pd.Series], Result]) -> Result:
    """``cellwise(values)``, computed once per distinct value of ``values`` (:class:`DistinctCells`)."""
    return DistinctCells(values).apply(cellwise)
