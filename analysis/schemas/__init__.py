"""A schema for every table the pipeline writes, and the one place their columns are documented.

Each output file has a pandera model (one module per table family: :mod:`~analysis.schemas.processed`,
:mod:`~analysis.schemas.crs`, :mod:`~analysis.schemas.safety`, :mod:`~analysis.schemas.adam`,
:mod:`~analysis.schemas.queries`, :mod:`~analysis.schemas.results`) giving every column's dtype,
nullability, allowed values or range where the contracts state them, and its meaning and rule
(outputs.md, grading.md). The models *describe* the frames as they are written; they never coerce,
so validating a table changes neither its dtypes nor its bytes. :data:`OUTPUT_SCHEMAS` maps each
file name to its :class:`~analysis.schemas.base.OutputTable`; the historical folder's tables
(``historical/crs.parquet`` …) use the same schemas. :func:`validate_output` validates one frame
lazily and raises one :class:`OutputSchemaError` listing every failure.

``docs/processed-tables.md`` and ``docs/derived-tables.md`` are generated from these models by
``python -m analysis.schemas.docs`` (:mod:`analysis.schemas.docs`); a test fails when the committed
pages differ from what it writes.

This package sits beside the layers, not in one: besides pandas, pandera and pyarrow it imports
only constants of the export layer (the vocabulary of :mod:`analysis.export.vocabulary`, the
ambiguous-time flag of :mod:`analysis.export.timestamps` and the plain-token pattern of identifiers
of :mod:`analysis.export.participants`), never derive, stats or report, so the
step runner and every step can import it without reaching up. Value lists that the derivations own
(query kinds and sources, time-to-event sources, ARD families) are stated here as the contract of the
written table; a new value fails validation until it is documented here.

Adding a table
--------------
1. Write its model in the family's module (or a new module): a subclass of
   :class:`~analysis.schemas.base.OutputModel` (strict, ordered), one annotated field per column in
   the order the table has them, each made with :func:`~analysis.schemas.base.field`: the pandas
   dtype the writer receives (``Series[pd.StringDtype]`` with ``dtype_kwargs=ARROW_TEXT`` for
   Arrow-backed text, ``Series[float]``, ``Series[pd.Int64Dtype]`` …), the meaning, the rule it
   implements (``G "Section"`` / ``O `file```), ``extra=True`` if outputs.md does not require it,
   ``nullable=True`` if a value can be missing, and the checks the contracts state (``isin``,
   ``in_range``, ``ge`` …). The model's docstring is the section's text (grain, key, rules).
2. Key and order: ``Config.unique = [...]`` when the key is unique, and a ``sorted_by_key``
   dataframe check with :func:`~analysis.schemas.base.rows_in_key_order`.
3. Register it: an :class:`~analysis.schemas.base.OutputTable` (file name, model, heading, page,
   key, notes for any prose after the column table) in the module's tuple of tables, which
   :data:`OUTPUT_SCHEMAS` collects (add the tuple to ``ALL_TABLES`` below for a new module).
4. Run ``python -m analysis.schemas.docs`` and commit the regenerated pages. The demo validation
   in ``tests/schemas/test_output_schemas.py`` requires every registered table to be written by the
   demo run: add the table to its expected set (a table of another command, like
   ``iptw_bootstrap.parquet``, is computed in the fixture).
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pandas as pd
import pandera.errors

from analysis.schemas.adam import ADAM_TABLES
from analysis.schemas.base import OutputTable, dtype_mismatches
from analysis.schemas.beside_ard import BESIDE_ARD_TABLES
from analysis.schemas.crs import CRS_TABLES
from analysis.schemas.processed import PROCESSED_TABLES
from analysis.schemas.queries import QUERIES_TABLES
from analysis.schemas.results import RESULT_TABLES
from analysis.schemas.safety import SAFETY_TABLES

ALL_TABLES: tuple[OutputTable, ...] = (
    *PROCESSED_TABLES,
    *CRS_TABLES,
    *SAFETY_TABLES,
    *ADAM_TABLES,
    *QUERIES_TABLES,
    *RESULT_TABLES,
    *BESIDE_ARD_TABLES,
)
"""Every output table, in the order the docs list them."""

OUTPUT_SCHEMAS: dict[str, OutputTable] = {table.file_name: table for table in ALL_TABLES}
"""Each output file name (``crs.parquet``) and its table: schema, key and documentation."""

MAX_LISTED_VALUES = 5
"""Failing values quoted per column and check; the rest are counted."""


class OutputSchemaError(ValueError):
    """A table about to be written does not match its schema: a defect of the pipeline, not of the input."""


def validate_output(file_name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Validate ``frame`` against the schema of ``file_name``; return it unchanged.

    Parameters
    ----------
    file_name
        The output file, e.g. ``crs.parquet`` or ``historical/crs.parquet`` (the folder is ignored:
        the historical tables share the trial's schemas).
    frame
        The table as it will be written. It is not coerced: dtypes and values are left as they are.

    Returns
    -------
    pandas.DataFrame
        ``frame`` itself.

    Raises
    ------
    KeyError
        When no schema is registered for ``file_name``.
    OutputSchemaError
        Listing every failure (lazy validation), each with the table, the column and the check.
    """
    name = PurePosixPath(file_name).name
    if name not in OUTPUT_SCHEMAS:
        raise KeyError(f"no output schema for {name}; add one in analysis/schemas (see 'Adding a table' there)")
    model = OUTPUT_SCHEMAS[name].model
    failures = [
        f"  - column {column!r}, check dtype: expected {expected}, found {found}"
        for column, expected, found in dtype_mismatches(model, frame)
    ]
    try:
        model.validate(frame, lazy=True, inplace=True)  # no copy: nothing is coerced, the frame is only read
    except pandera.errors.SchemaErrors as errors:
        failures += describe_failures(errors.failure_cases)
    if failures:
        unique = list(dict.fromkeys(failures))
        raise OutputSchemaError(
            f"{file_name} does not match its schema ({len(unique)} failures):\n" + "\n".join(unique)
        )
    return frame


def describe_failures(failure_cases: pd.DataFrame) -> list[str]:
    """One line per failing check: the column (or the table's rows) and the first few failing values.

    Parameters
    ----------
    failure_cases
        pandera's ``SchemaErrors.failure_cases`` (``schema_context``, ``column``, ``check``,
        ``failure_case``, ``index``).

    Returns
    -------
    list of str
        A column check names its column and quotes the failing values with their rows; a check of
        the whole table (key order, uniqueness, a rule across columns) names the rows that fail it,
        and the columns for a uniqueness check; a missing, extra or misplaced column is named.
    """
    lines = []
    for (context, column, check), cases in failure_cases.groupby(
        ["schema_context", "column", "check"], sort=False, dropna=False
    ):
        if context == "Column":
            lines.append(f"  - column {column!r}, check {check}: {len(cases)} failing: {quote(cases)}")
        elif cases["index"].isna().all():
            lines.append(f"  - check {check}: {', '.join(repr(case) for case in cases['failure_case'])}")
    table_checks = failure_cases[(failure_cases["schema_context"] != "Column") & failure_cases["index"].notna()]
    for check, cases in table_checks.groupby("check", sort=False):
        rows = sorted(set(cases["index"]))
        columns = f" on columns {', '.join(dict.fromkeys(cases['column']))}" if "uniqueness" in check else ""
        participants = dict(
            cases.loc[cases["column"] == "participant_id", ["index", "failure_case"]].itertuples(index=False)
        )
        listed = ", ".join(
            f"{row} ({participants[row]})" if row in participants else str(row) for row in rows[:MAX_LISTED_VALUES]
        )
        more = f" and {len(rows) - MAX_LISTED_VALUES} more" if len(rows) > MAX_LISTED_VALUES else ""
        lines.append(f"  - check {check}{columns}: {len(rows)} row(s) fail: {listed}{more}")
    return lines


def quote(cases: pd.DataFrame) -> str:
    """The first failing values of one column check, each with its row."""
    shown = cases.head(MAX_LISTED_VALUES)
    quoted = ", ".join(
        f"{case!r}" + ("" if pd.isna(row) else f" (row {row})")
        for case, row in zip(shown["failure_case"], shown["index"], strict=True)
    )
    return quoted + (f" and {len(cases) - MAX_LISTED_VALUES} more" if len(cases) > MAX_LISTED_VALUES else "")


__all__ = ["ALL_TABLES", "OUTPUT_SCHEMAS", "OutputSchemaError", "OutputTable", "validate_output"]
