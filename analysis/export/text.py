"""The text dtype of the ingest: Arrow-backed strings, so that every ``.str`` operation runs in Arrow's
vectorized kernels rather than a Python loop over cells (pandas' default ``"string"`` is Python-backed)."""

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pd.StringDtype("pyarrow")

Result = TypeVar("Result", pd.Series, pd.DataFrame)


class DistinctCells:
    """A text column as its distinct values and each row's position among them (Arrow's dictionary encoding).

    An export's columns repeat few values over millions of rows (event types, units, codes, the
    participant of each event, readings to one decimal), so a rule that reads one cell at a time is
    worked out on the distinct values only (:meth:`apply`). Missing cells are a distinct value of their own.
    """

    def __init__(self, values: pd.Series) -> None:
        encoded = encoding(values)
        self.index = values.index
        self.distinct = pd.Series(encoded.distinct, dtype=TEXT) if len(encoded.distinct) else pd.Series([], dtype=TEXT)
        self.positions = encoded.positions

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

    def positions_among(
        self, cellwise: Callable[[pd.Series], pd.Series], categories: pd.Index, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """The position among ``categories`` of ``cellwise``'s result for each row's cell (or the ``rows``' only), -1 where not among them.

        Worked out once per distinct cell, like :meth:`apply`; the rows get integers, no text.
        """
        found = categories.get_indexer(cellwise(self.distinct).astype(object))
        return found[self.positions if rows is None else self.positions[rows]]

    def apply_as_categorical(self, cellwise: Callable[[pd.Series], pd.Series]) -> pd.Series:
        """:meth:`apply` for a ``cellwise`` giving text, as a categorical: a look-up or comparison then reads its codes.

        Returns
        -------
        pandas.Series
            of dtype ``category``, its categories the distinct results; missing where ``cellwise`` gives NA.
        """
        codes, categories = pd.factorize(cellwise(self.distinct))
        return pd.Series(pd.Categorical.from_codes(codes[self.positions], categories=categories), index=self.index)


@dataclass(frozen=True)
class Encoding:
    """A text column's distinct values (missing among them, if any) and each row's position among them."""

    distinct: pa.Array
    positions: np.ndarray


_ENCODINGS: dict[int, tuple[weakref.ref, Encoding]] = {}
"""The encoding of each live Arrow column encoded so far, by the column's identity: the duplicate
check and the rules of a file read the same columns, and hashing millions of cells once is enough."""


def encoding(values: pd.Series) -> Encoding:
    """The dictionary encoding of a text column, worked out once per Arrow column and remembered while it lives."""
    column = _arrow_text(values)
    known = _ENCODINGS.get(id(column))
    if known is not None and known[0]() is column:
        return known[1]
    encoded = column.dictionary_encode(null_encoding="encode")
    chunks = encoded.chunks
    found = Encoding(
        distinct=chunks[-1].dictionary if chunks else pa.array([], type=pa.string()),
        positions=np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in chunks])
        if chunks
        else np.empty(0, dtype=np.int32),
    )
    _remember(column, found)
    return found


def _arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """The Arrow column behind a text Series (converted to :data:`TEXT` first when it is not)."""
    return values.astype(TEXT).array.__arrow_array__()


def _remember(column: pa.ChunkedArray, found: Encoding) -> None:
    key = id(column)
    _ENCODINGS[key] = (weakref.ref(column, lambda _, key=key: _ENCODINGS.pop(key, None)), found)


KEY_LIMIT = 1 << 62
"""Each integer key of :func:`repeated_rows` stays below this, within int64."""
MIX = np.uint64(0x9E3779B97F4A7C15)
"""An odd 64-bit multiplier that folds several integer keys into one (arithmetic modulo 2**64)."""


def repeated_rows(columns: list[pd.Series]) -> np.ndarray:
    """True for each row whose cells equal, column by column, those of an earlier row.

    Each column's dictionary positions (:func:`encoding`) are combined into integer keys, as many
    columns per key as fit in int64, so rows are compared by hashing integers rather than their
    text. Several keys are folded into one 64-bit number: rows that share it are the candidates,
    compared exactly on their keys (two different rows may fold alike, equal rows always do).
    """
    rows = len(columns[0]) if columns else 0
    keys: list[np.ndarray] = []
    key, combinations = np.zeros(rows, dtype=np.int64), 1
    for column in columns:
        encoded = encoding(column)
        size = max(len(encoded.distinct), 1)
        if combinations * size > KEY_LIMIT:
            keys.append(key)
            key, combinations = np.zeros(rows, dtype=np.int64), 1
        key = key * size + encoded.positions
        combinations *= size
    keys.append(key)
    if len(keys) == 1:
        return pd.Series(key).duplicated(keep="first").to_numpy()
    folded = keys[0].astype(np.uint64)
    for other in keys[1:]:
        folded = folded * MIX + other.astype(np.uint64)
    candidates = pd.Series(folded).duplicated(keep=False).to_numpy()
    del folded
    repeated = np.zeros(rows, dtype=bool)
    if candidates.any():
        exact = pd.DataFrame({position: other[candidates] for position, other in enumerate(keys)})
        repeated[candidates] = exact.duplicated(keep="first").to_numpy()
    return repeated


def kept_rows(values: pd.Series, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The text cells of ``rows`` (a boolean mask), as an array whose encoding carries over from ``values``."""
    kept = values.array[rows]
    column = kept.__arrow_array__()
    known = _ENCODINGS.get(id(_arrow_text(values)))
    if known is not None:
        _remember(column, Encoding(distinct=known[1].distinct, positions=known[1].positions[rows]))
    return kept


def categorical_as_text(values: pd.Series) -> pd.Series:
    """A categorical of text as :data:`TEXT` (missing stays missing), each row's text taken from its category by Arrow."""
    codes = values.cat.codes.to_numpy()
    categories = pa.array(list(values.cat.categories), type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(categories.take(pa.array(codes, mask=codes < 0))), index=values.index)


def text_of_positions(distinct: pd.Series, positions: np.ndarray, index: pd.Index) -> pd.Series:
    """:data:`TEXT` with, for each row, the value of ``distinct`` at its position (missing where the position is -1)."""
    column = distinct.astype(TEXT).array.__arrow_array__()
    taken = column.take(pa.array(positions, mask=positions < 0))
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=index)


def text_where(mask: np.ndarray, text: str, index: pd.Index) -> pd.Series:
    """:data:`TEXT` holding ``text`` where ``mask`` is true and missing elsewhere."""
    filled = pc.if_else(
        pa.array(mask, type=pa.bool_()), pa.scalar(text, pa.large_string()), pa.scalar(None, pa.large_string())
    )
    return pd.Series(pd.arrays.ArrowStringArray(filled), index=index)


def edge_byte_in(values: pd.Series, accepted: bytes, *, last: bool = False) -> np.ndarray:
    """True for each cell (not missing, not empty) whose first byte (``last``: last byte) is one of ``accepted``.

    Read from Arrow's offsets and data buffers: one look-up per cell, nothing copied.
    """
    wanted = np.zeros(256, dtype=bool)
    wanted[list(accepted)] = True
    found = [np.zeros(0, dtype=bool)]
    for chunk in _arrow_text(values).chunks:
        offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        _, offset_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(
            offset_buffer, dtype=offset_type, count=len(chunk) + 1, offset=chunk.offset * np.dtype(offset_type).itemsize
        )
        starts, ends = offsets[:-1], offsets[1:]
        if data_buffer is None or data_buffer.size == 0:
            found.append(np.zeros(len(chunk), dtype=bool))
            continue
        at = ends - 1 if last else starts
        edge = wanted[np.frombuffer(data_buffer, dtype=np.uint8).take(at, mode="clip")] & (ends > starts)
        if chunk.null_count:
            edge &= chunk.is_valid().to_numpy(zero_copy_only=False)
        found.append(edge)
    return np.concatenate(found)


def by_distinct(values: pd.Series, cellwise: Callable[[pd.Series], Result]) -> Result:
    """``cellwise(values)``, computed once per distinct value of ``values`` (:class:`DistinctCells`)."""
    return DistinctCells(values).apply(cellwise)
