"""Reading export date-times as absolute instants (export-format.md `event_time`; grading.md "Time").

A time with an offset is absolute. A naive time is local time in the export's time zone; one that
does not exist (spring-forward) is a fault, one that is ambiguous (fall-back) is read as its first
occurrence and flagged. A naive time with no time zone known stops the run: never a silent UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.export.errors import ExportError
from analysis.export.text import TEXT, by_distinct

OFFSET_PATTERN = r"(?:[Zz]|[+-]\d{2}:?\d{2})$"
ISO_PATTERN = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?" + r"(?:[Zz]|[+-]\d{2}:?\d{2})?$"

EARLIEST_YEAR, LATEST_YEAR = 1900, 2100
"""Dates and times outside these years are faults: spans between them fit in nanosecond time deltas (< 292 years)."""

UNPARSEABLE = "not an ISO-8601 date-time"
OUT_OF_RANGE = f"outside the years {EARLIEST_YEAR}–{LATEST_YEAR}"
NONEXISTENT = "local time does not exist (daylight-saving spring-forward gap)"
AMBIGUOUS_FLAG = "ambiguous_local_time"


@dataclass(frozen=True)
class ParsedInstants:
    """Instants in UTC (NaT where missing or at fault), the fault per row (None if fine) and the ambiguity flag."""

    instant: pd.Series
    problem: pd.Series
    ambiguous: pd.Series


USUAL_SPELLING = "%Y-%m-%dT%H:%M:%S"
USUAL_PATTERN = r"^(?:19\d\d|20\d\d|2100)-\d\d-\d\dT\d\d:\d\d:\d\d$"
"""The usual spelling of a local time in an export, within the years :func:`parse_instants` accepts."""


def _parse_local_times(text: pd.Series) -> pd.Series:
    """Naive ISO-8601 text to naive ``datetime64[ns]``, NaT where it is not a date-time, as pandas' ISO-8601 parser reads it.

    Text in the usual spelling (:data:`USUAL_SPELLING`) is parsed by Arrow's ``strptime`` (a
    hundred times faster) and kept where it reads back to the same text: Arrow rolls 30 February
    over to 1 March and second 60 over to the next minute, where pandas refuses both. Every other
    cell is parsed by pandas.
    """
    cells = pa.chunked_array(text.astype(TEXT).array.__arrow_array__())
    usual = pc.if_else(pc.match_substring_regex(cells, USUAL_PATTERN), cells, None)
    parsed = pc.strptime(usual, format=USUAL_SPELLING, unit="s", error_is_null=True)
    exact = pc.fill_null(_fields_as_written(parsed, usual), False)
    local = pd.Series(parsed.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), index=text.index, copy=True)
    rest = ~exact.to_numpy()
    if rest.any():
        local[rest] = pd.to_datetime(text[rest], format="ISO8601", errors="coerce")
    return local


USUAL_FIELDS = (
    (0, 4, pc.year),
    (5, 7, pc.month),
    (8, 10, pc.day),
    (11, 13, pc.hour),
    (14, 16, pc.minute),
    (17, 19, pc.second),
)
"""Where each field of a date-time sits in the usual spelling, and the Arrow function that reads it from an instant."""


def _fields_as_written(parsed: pa.ChunkedArray, usual: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where every field of ``parsed`` equals the digits written for it in ``usual`` (text in the usual spelling).

    The same as printing ``parsed`` back in the usual spelling and comparing it with the text (both
    zero-padded, field for field), without formatting a million strings.
    """
    exact = pc.is_valid(parsed)
    for start, stop, field in USUAL_FIELDS:
        written = pc.cast(pc.utf8_slice_codeunits(usual, start, stop), pa.int64())
        exact = pc.and_(exact, pc.equal(field(parsed), written))
    return exact


def naive_times(values: pd.Series) -> pd.Series:
    """True where a cell is a well-formed ISO-8601 time without a UTC offset (local time: needs a time zone)."""
    text = values.astype(TEXT).fillna("").str.strip()
    well_formed = text.str.match(ISO_PATTERN).fillna(False).astype(bool)
    has_offset = text.str.contains(OFFSET_PATTERN, regex=True).fillna(False).astype(bool)
    return (text != "") & well_formed & ~has_offset


def parse_instants(
    values: pd.Series, timezone: str | None, *, file_name: str, column: str, lines: pd.Series
) -> ParsedInstants:
    """Parse text cells ('' = missing) into UTC instants.

    Each distinct cell is parsed once (:func:`analysis.export.text.by_distinct`): a column of
    millions of times repeats many of them.

    Raises
    ------
    ExportError
        when a naive time occurs and no time zone is known, naming the file, line, column and value.
    """
    if timezone is None:
        naive = by_distinct(values, naive_times)
        if naive.any():
            first = naive.idxmax()
            cell = values.loc[[first]].astype(TEXT).str.strip().iloc[0]
            raise ExportError(
                f"{file_name}: line {int(lines.loc[first])}, column {column}: '{cell}' has no UTC offset and no "
                "time zone is known; give the manifest a timezone or pass --timezone"
            )
    parsed = by_distinct(values, lambda distinct: _parse_distinct_instants(distinct, timezone))
    return ParsedInstants(instant=parsed["instant"], problem=parsed["problem"], ambiguous=parsed["ambiguous"])


def _parse_distinct_instants(values: pd.Series, timezone: str | None) -> pd.DataFrame:
    """:func:`parse_instants` of cells with no naive time unless ``timezone`` is known: instant, problem, ambiguous."""
    text = values.astype(TEXT).fillna("").str.strip()
    present = text != ""
    well_formed = text.str.match(ISO_PATTERN).fillna(False).astype(bool)
    has_offset = text.str.contains(OFFSET_PATTERN, regex=True).fillna(False).astype(bool)
    naive = naive_times(text)
    instant = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    problem = pd.Series(None, index=values.index, dtype="object")
    ambiguous = pd.Series(False, index=values.index)

    aware = present & well_formed & has_offset
    if aware.any():
        parsed = pd.to_datetime(
            text[aware].str.replace(r"[Zz]$", "+00:00", regex=True), utc=True, format="ISO8601", errors="coerce"
        )
        instant[aware] = parsed
    if naive.any():
        local = _parse_local_times(text[naive])
        first_occurrence = local.dt.tz_localize(timezone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="NaT")
        second_occurrence = local.dt.tz_localize(
            timezone, ambiguous=np.zeros(len(local), dtype=bool), nonexistent="NaT"
        )
        instant[naive] = first_occurrence.dt.tz_convert("UTC")
        ambiguous = (
            ((first_occurrence != second_occurrence) & first_occurrence.notna())
            .reindex(values.index, fill_value=False)
            .astype(bool)
        )
        gap = local.notna() & first_occurrence.isna()
        problem[gap[gap].index] = NONEXISTENT
    year = _leading_year(text, well_formed)
    out_of_range = well_formed & ~year.between(EARLIEST_YEAR, LATEST_YEAR) | instant.notna() & ~instant.dt.year.between(
        EARLIEST_YEAR, LATEST_YEAR
    )
    problem[out_of_range] = OUT_OF_RANGE
    instant[out_of_range] = pd.NaT
    unparsed = present & instant.isna() & problem.isna()
    problem[unparsed] = UNPARSEABLE
    return pd.DataFrame({"instant": instant, "problem": problem, "ambiguous": ambiguous})


def _leading_year(text: pd.Series, well_formed: pd.Series) -> pd.Series:
    """The year written in the first four characters (ASCII digits in a well-formed cell), NaN for other cells."""
    cells = pa.chunked_array(text.astype(TEXT).array.__arrow_array__())
    written = pc.if_else(pa.chunked_array([pa.array(well_formed.to_numpy(dtype=bool))]), cells, None)
    year = pc.cast(pc.utf8_slice_codeunits(written, 0, 4), pa.int64())
    return pd.Series(year.to_numpy().astype("float64"), index=text.index)
