"""The building blocks every output schema is made of: the column field, the base model, the table entry.

A schema *describes* a table as the pipeline writes it; it never coerces. Each column's dtype is the
pandas dtype of the frame handed to the writer, which fixes the Parquet (Arrow) type and the bytes
of the file, so a change of dtype fails validation instead of silently changing the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.api.pandas.model
import pandera.pandas as pa
import pyarrow
from pandera.engines import pandas_engine
from pandera.typing import Index, Series

from analysis.key_order import in_key_order

ARROW_TEXT = {"storage": "pyarrow"}
"""Arrow-backed pandas strings (``string[pyarrow]``), written as Arrow ``large_string``."""
PYTHON_TEXT = {"storage": "python"}
"""Python-backed pandas strings (``string[python]``), written as Arrow ``string``."""
UTC_INSTANT = {"unit": "ns", "tz": "UTC"}
"""Time-zone-aware instants in UTC, nanoseconds (``datetime64[ns, UTC]``)."""


def pandas_index_types() -> set[type]:
    """The index annotations a model of this package may use: pandera's pandas ``Index``.

    pandera 0.35 answers this and :func:`pandas_series_types` (``pandera.typing.get_index_types`` and
    ``get_series_types``, asked the first time a model builds its schema) by importing its Dask, Modin,
    PySpark and GeoPandas typing modules, and with them ``dask.dataframe``: 1.5–2 s of import in every
    process that validates a table, for backends no schema here uses. Every schema of this package is
    a pandas model, so the pandas answers are exact; ``tests/schemas`` checks both the answers and that
    validating a table imports no ``dask.dataframe``.
    """
    return {Index}


def pandas_series_types() -> set[type]:
    """The column annotations a model of this package may use: pandera's pandas ``Series`` (:func:`pandas_index_types`)."""
    return {Series}


pandera.api.pandas.model.get_index_types = pandas_index_types
pandera.api.pandas.model.get_series_types = pandas_series_types


def field(
    meaning: str = "",
    *,
    rule: str = "",
    extra: bool = False,
    required_for: str = "",
    nullable: bool = False,
    **checks: Any,
) -> Any:
    """One column of an output table: its documentation and its checks.

    Parameters
    ----------
    meaning
        What the column holds, in plain words (the "meaning" of the generated docs).
    rule
        The contract section the column implements, e.g. ``G "Onset"`` (grading.md) or
        ``O `crs.parquet``` (outputs.md); empty when the meaning says it all.
    extra
        True when outputs.md does not require the column and the pipeline adds it
        (outputs.md: "Columns named here are required; more are welcome").
    required_for
        The rows outputs.md requires the column for, when it requires it for some rows only (e.g. ``CIR``).
    nullable
        A value can actually be missing (null, NaN or NaT).
    **checks
        pandera checks and options of :func:`pandera.Field` (``isin``, ``ge``, ``in_range``,
        ``unique``, ``dtype_kwargs``, ...). Never ``coerce``: a schema describes, it does not convert.

    Returns
    -------
    pandera.api.dataframe.model_components.FieldInfo
        The field, with ``meaning`` as its description and, in its metadata, ``rule`` and ``requirement``
        (``req``, ``req (CIR)`` or ``extra``).
    """
    if checks.get("coerce"):
        raise ValueError("an output schema describes its table and never coerces it")
    requirement = "extra" if extra else f"req ({required_for})" if required_for else "req"
    return pa.Field(
        description=meaning, nullable=nullable, metadata={"rule": rule, "requirement": requirement}, **checks
    )


class OutputModel(pa.DataFrameModel):
    """An output table: exactly these columns, in this order (outputs.md: "typed", column order kept)."""

    class Config:
        strict = True
        ordered = True


def rows_in_key_order(frame: pd.DataFrame, key: tuple[str, ...]) -> pd.Series:
    """True for each row that sits where a stable sort by ``key`` puts it (outputs.md: "sorted by its key").

    Parameters
    ----------
    frame
        The table, with a default (0..n-1) or any unique index.
    key
        The columns the table is sorted by, most significant first.

    Returns
    -------
    pandas.Series
        One boolean per row, aligned with ``frame``: the rows out of place are false.
    """
    if in_key_order(frame, key):
        return pd.Series(True, index=frame.index)
    order = frame.sort_values(list(key), kind="stable").index
    return pd.Series(frame.index == order, index=frame.index)


def declared_dtype(dtype: pandas_engine.DataType) -> np.dtype | pd.api.extensions.ExtensionDtype:
    """The pandas dtype a column declared with ``dtype`` has in memory.

    pandera's ``str`` and ``date`` are object columns holding ``str`` or ``datetime.date`` values.
    """
    if isinstance(dtype, pandas_engine.NpString | pandas_engine.Date):
        return np.dtype(object)
    return dtype.type


def written_type(dtype: pandas_engine.DataType) -> pyarrow.DataType:
    """The Parquet (Arrow) type pyarrow writes for a column declared with ``dtype``."""
    if isinstance(dtype, pandas_engine.NpString):
        return pyarrow.string()
    if isinstance(dtype, pandas_engine.Date):
        return pyarrow.date32()
    return pyarrow.Array.from_pandas(pd.Series([], dtype=dtype.type)).type


def dtype_text(dtype: np.dtype | pd.api.extensions.ExtensionDtype) -> str:
    """A dtype as pandas prints it, text with its storage (``string[pyarrow]``, ``string[python]``)."""
    return f"string[{dtype.storage}]" if isinstance(dtype, pd.StringDtype) else str(dtype)


def dtype_mismatches(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Columns whose pandas dtype is not exactly the declared one: ``(column, expected, found)``.

    pandera accepts an object column of strings where ``string[pyarrow]`` is declared, but the two are
    written as different Arrow types (``string`` and ``large_string``); the bytes must not change
    unnoticed, so every dtype is compared exactly.
    """
    return [
        (name, dtype_text(declared_dtype(column.dtype)), dtype_text(frame[name].dtype))
        for name, column in model.to_schema().columns.items()
        if name in frame and frame[name].dtype != declared_dtype(column.dtype)
    ]


def markdown_cell(text: str) -> str:
    """Text for a markdown table cell (a ``|`` would end the cell)."""
    return text.replace("|", "\\|")


@dataclass(frozen=True)
class OutputTable:
    """An output file: its schema and the prose of its section in the generated docs.

    Attributes
    ----------
    file_name
        The file the pipeline writes, e.g. ``crs.parquet`` (also under ``historical/``).
    model
        The pandera model; its docstring is the section's text before the column table.
    heading
        The section title after the file name, e.g. "CRS per participant".
    page
        ``"processed"`` (docs/processed-tables.md) or ``"derived"`` (docs/derived-tables.md).
    key
        The columns the table is sorted by (and unique on, where the model says so).
    notes
        Markdown after the column table (e.g. how the intervals are built); empty if none.
    """

    file_name: str
    model: type[OutputModel]
    heading: str
    page: str
    key: tuple[str, ...]
    notes: str = ""

    @property
    def name(self) -> str:
        """The table's name: the file name without ``.parquet``."""
        return self.file_name.removesuffix(".parquet")
