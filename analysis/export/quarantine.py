"""Collecting row problems and turning them into quarantine rows (export-format.md, "What bad input gets").

Every problem names the file, the line, the column, the offending value and a reason in plain
words. A row with several problems gets one quarantine row listing them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.export.csv_table import LINE
from analysis.export.text import TEXT, edge_byte_in

QUARANTINE_COLUMNS = ("file", "line", "column", "value", "reason")


class RowProblems:
    """Problems found in the rows of one file, by row label."""

    def __init__(self, file_name: str, cells: pd.DataFrame) -> None:
        self.file_name = file_name
        self.cells = cells
        self._found: list[pd.DataFrame] = []

    def flag(self, mask: pd.Series, column: str, reason: str | pd.Series, value: pd.Series | None = None) -> None:
        """Record ``reason`` for every row where ``mask`` is true, quoting ``value`` (the cell by default)."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        quoted = (self.cells[column] if value is None else value)[mask].astype(TEXT).fillna("")
        reasons = reason[mask] if isinstance(reason, pd.Series) else reason
        self._found.append(
            pd.DataFrame({"row": quoted.index, "column": column, "value": quoted.to_numpy(), "reason": reasons})
        )

    def rows(self) -> pd.Index:
        """Labels of the rows with at least one problem."""
        if not self._found:
            return pd.Index([])
        return pd.Index(pd.concat(self._found)["row"].unique())

    def quarantine(self) -> pd.DataFrame:
        """One row per faulty input row: file, line, and the '; '-joined columns, values and reasons."""
        if not self._found:
            return empty_quarantine()
        found = pd.concat(self._found, ignore_index=True)
        found["line"] = self.cells.loc[found["row"], LINE].to_numpy()
        joined = (
            found.groupby("line", sort=True)
            .agg(
                {
                    "column": lambda c: "; ".join(dict.fromkeys(c)),
                    "value": lambda v: "; ".join(str(x)[:200] for x in v),
                    "reason": "; ".join,
                }
            )
            .reset_index()
        )
        joined.insert(0, "file", self.file_name)
        return joined[list(QUARANTINE_COLUMNS)]


def empty_quarantine() -> pd.DataFrame:
    """A quarantine table with no rows and the right columns."""
    return pd.DataFrame(
        {
            "file": pd.Series(dtype="object"),
            "line": pd.Series(dtype="int64"),
            "column": pd.Series(dtype="object"),
            "value": pd.Series(dtype="object"),
            "reason": pd.Series(dtype="object"),
        }
    )


def malformed_to_quarantine(file_name: str, malformed: pd.DataFrame) -> pd.DataFrame:
    """Rows set aside by the CSV reader: a field count that does not match the header, an unreadable or over-long row."""
    if malformed.empty:
        return empty_quarantine()
    column = malformed["column"] if "column" in malformed else "(row)"
    return pd.DataFrame(
        {
            "file": file_name,
            "line": malformed[LINE].astype("int64"),
            "column": column,
            "value": malformed["value"],
            "reason": malformed["reason"],
        }
    )


FORMULA_START = r"^[=+@\t\r-]"
"""Text a spreadsheet would run as a formula: starting with =, +, @, tab, CR or - ..."""
PLAIN_NEGATIVE_NUMBER = r"^-\s*\d+(?:\.\d*)?\s*$"
"""... except a plain negative number. (Two patterns: Arrow's RE2 engine has no lookahead.)"""


FORMULA_FIRST_BYTES = b"=+@\t\r-"
"""The characters of FORMULA_START, each one byte in UTF-8: a cell starting with another byte is no formula."""


def is_live_formula(text: pd.Series) -> pd.Series:
    """True for text a spreadsheet would run as a formula (FORMULA_START, not PLAIN_NEGATIVE_NUMBER); False for missing.

    The patterns are matched on the cells whose first byte may start a formula only (read from
    Arrow's buffers): a column of millions of plain cells costs one look-up per cell, no regular expression.
    """
    text = text.astype(TEXT)
    formula = np.zeros(len(text), dtype=bool)
    candidates = edge_byte_in(text, FORMULA_FIRST_BYTES)
    if candidates.any():
        maybe = text[candidates]
        found = maybe.str.contains(FORMULA_START, regex=True) & ~maybe.str.contains(PLAIN_NEGATIVE_NUMBER, regex=True)
        formula[candidates] = found.fillna(False).astype(bool).to_numpy()
    return pd.Series(formula, index=text.index)


def neutralize_formulas(text: pd.Series) -> pd.Series:
    """Prefix a single quote to text a spreadsheet would run as a formula (CSV injection); other text as is.

    The one rule for text: :func:`neutralize_text_columns` applies it to every text column of the
    ingest's tables, so no output carries a live formula. The dtype and every other value are kept.
    """
    formula = is_live_formula(text)
    if not formula.any():
        return text
    neutral = text.copy()
    neutral[formula] = "'" + text[formula].astype(str)
    return neutral


def neutralize_text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`neutralize_formulas` applied to every text column (object or string dtype).

    Applied by the ingest to participants, events and the quarantine just before they leave it:
    free text (``new_therapy``, ``withdrawal``, the adverse-event text), the quarantine's quoted values
    and column names, and any text a later change may add all pass the same rule.
    """
    text_columns = [
        name for name in frame.columns if frame[name].dtype == object or isinstance(frame[name].dtype, pd.StringDtype)
    ]
    neutral = {name: neutralize_formulas(frame[name]) for name in text_columns}
    changed = {name: values for name, values in neutral.items() if values is not frame[name]}
    return frame.assign(**changed) if changed else frame


def parse_number(cells: pd.Series) -> pd.Series:
    """Text cells to float64; '' and unparseable cells become NaN (callers flag the unparseable)."""
    numbers = pd.to_numeric(cells.astype(TEXT).replace("", pd.NA).astype("object"), errors="coerce")
    return numbers.astype("float64").where(lambda x: ~x.isin([float("inf"), float("-inf")]))


def not_a_number(cells: pd.Series, numbers: pd.Series) -> pd.Series:
    """True where a cell is present but did not parse as a finite number."""
    return (cells != "") & numbers.isna()
