"""SAS transport (XPT) version 5 files of the ADaM datasets, written by pyreadstat (ReadStat).

Version 5 is what regulators take and SAS reads with ``libname x xport``. Its limits: dataset and
variable names ≤ 8 characters, labels ≤ 40, character values ≤ 200 bytes. A value the format
would cut is an error naming the dataset, variable and row — never a silent truncation — checked
here before the library writes anything.

ReadStat stamps the file's created and modified times with the clock; :func:`stamp_xpt` sets them
to the output folder's data time (docs/cdisc.md, "Byte-stable files"), so that exporting the same
outputs twice gives the same bytes.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyreadstat

from analysis.cdisc.metadata import FLAG, TEXT, Dataset

MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR_BYTES = 200


RECORD = 80
"""XPT files are 80-byte records."""
MEMBER_DESCRIPTOR = b"HEADER RECORD*******DSCRPTR HEADER RECORD"
STAMP_PATTERN = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
"""A header datetime, ``ddMMMyy:hh:mm:ss`` (16 bytes)."""
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class XptLimitError(ValueError):
    """A dataset, variable, label or value beyond the limits of SAS transport version 5."""


def check_xpt_limits(frame: pd.DataFrame, dataset: Dataset) -> None:
    """Raise :class:`XptLimitError` for anything XPT v5 would cut.

    Parameters
    ----------
    frame
        The ADaM dataset, columns as ``dataset.variables``.
    dataset
        Its metadata.

    Raises
    ------
    XptLimitError
        Naming the dataset and variable (and the 1-based row and USUBJID for a value).
    """
    if len(dataset.name) > MAX_NAME or len(dataset.label) > MAX_LABEL:
        raise XptLimitError(f"{dataset.name}: a dataset name ≤ 8 and label ≤ 40 characters are needed in XPT v5")
    for variable in dataset.variables:
        where = f"{dataset.name}.{variable.name}"
        if len(variable.name) > MAX_NAME:
            raise XptLimitError(f"{where}: the variable name is longer than {MAX_NAME} characters")
        if len(variable.label) > MAX_LABEL:
            raise XptLimitError(f"{where}: the label '{variable.label}' is longer than {MAX_LABEL} characters")
        if variable.kind not in (TEXT, FLAG):
            continue
        sizes = frame[variable.name].astype("string").str.encode("utf-8").str.len()
        too_long = sizes[sizes > MAX_CHAR_BYTES]
        if len(too_long):
            row = int(too_long.index[0])
            raise XptLimitError(
                f"{where}, row {row + 1} (USUBJID {frame['USUBJID'].iloc[row]}): a value of {int(too_long.iloc[0])} "
                f"bytes does not fit the {MAX_CHAR_BYTES}-byte limit of XPT v5 and would be cut"
            )


def xpt_frame(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """The frame as ReadStat takes it: text as object with None for missing, numbers as float64 (NaN missing)."""
    out = pd.DataFrame(index=frame.index)
    for variable in dataset.variables:
        column = frame[variable.name]
        if variable.kind in (TEXT, FLAG):
            out[variable.name] = column.astype("object").where(column.notna(), None)
        else:
            out[variable.name] = column.astype("Float64").astype("float64")
    return out


def header_stamp(moment: datetime) -> bytes:
    """``moment`` in UTC as an XPT header datetime, ``ddMMMyy:hh:mm:ss`` (English month, whatever the locale)."""
    utc = moment.astimezone(UTC)
    return f"{utc.day:02d}{MONTHS[utc.month - 1]}{utc:%y:%H:%M:%S}".encode("ascii")


def stamp_xpt(content: bytes, created: datetime) -> bytes:
    """An XPT v5 file of one dataset with its created and modified times set to ``created`` (UTC).

    The transport format keeps them at fixed places: the library header's second record ends with
    the created time and its third record starts with the modified time; the member header's
    records after ``DSCRPTR HEADER RECORD`` do the same.

    Raises
    ------
    ValueError
        when a place does not hold a datetime (not a file as ReadStat writes it): nothing is guessed.
    """
    member = content.find(MEMBER_DESCRIPTOR)
    if member < 0:
        raise ValueError("not an XPT v5 file of one dataset: no member descriptor record")
    stamped = bytearray(content)
    stamp = header_stamp(created)
    for record in (RECORD, member + RECORD):
        for start in (record + RECORD - len(stamp), record + RECORD):
            if not STAMP_PATTERN.fullmatch(content[start : start + len(stamp)]):
                raise ValueError(f"XPT header byte {start}: no datetime where the format keeps it")
            stamped[start : start + len(stamp)] = stamp
    return bytes(stamped)


def xpt_bytes(frame: pd.DataFrame, dataset: Dataset, created: datetime) -> bytes:
    """The XPT v5 file of one ADaM dataset (limits checked first, :func:`check_xpt_limits`), stamped ``created``."""
    check_xpt_limits(frame, dataset)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{dataset.name.lower()}.xpt"
        pyreadstat.write_xport(
            xpt_frame(frame, dataset),
            path,
            file_label=dataset.label,
            column_labels={variable.name: variable.label for variable in dataset.variables},
            table_name=dataset.name,
            file_format_version=5,
        )
        return stamp_xpt(path.read_bytes(), created)


def read_xpt(path: Path) -> tuple[pd.DataFrame, dict[str, str]]:
    """An XPT file as a frame and its variable labels (pyreadstat)."""
    frame, meta = pyreadstat.read_xport(path)
    return frame, dict(zip(meta.column_names, meta.column_labels, strict=True))
