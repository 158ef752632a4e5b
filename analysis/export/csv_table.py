"""Reading one CSV file of a bundle into a frame of trimmed text cells, with each row's line number.

export-format.md: UTF-8 (a BOM tolerated), comma-separated, header row, ``""`` quoting, empty cell =
missing; column names matched case-insensitively after trimming. A row whose number of fields
does not match the header is kept as a *malformed* row so that the quarantine can name its line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from analysis.export.errors import ExportError
from analysis.export.identifiers import normalize_column_name, refuse_identifier_columns

LINE = "line"
"""The column holding each row's line number in its file (the header is line 1)."""


@dataclass(frozen=True)
class CsvCells:
    """The cells of one CSV file: ``cells`` (text, trimmed, '' = missing) and the malformed rows."""

    file_name: str
    cells: pd.DataFrame
    malformed: pd.DataFrame  # columns: line, value (the raw row text), reason


def read_csv_cells(file_name: str, data: bytes, required_columns: tuple[str, ...]) -> CsvCells:
    """Read ``data`` as the CSV file ``file_name``.

    Raises
    ------
    ExportError
        when the file is empty, not UTF-8, has duplicated or identifier columns, or lacks a
        required column; the message names the file and what is wrong.
    """
    text = _decode(file_name, data)
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        raise ExportError(f"{file_name}: the file is empty (no header row)")
    raw_header = next(csv.reader([header_line]))
    refuse_identifier_columns(file_name, raw_header)
    header = [normalize_column_name(name) for name in raw_header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ExportError(f"{file_name}: duplicated column name(s) {', '.join(duplicated)}")
    missing = [name for name in required_columns if name not in header]
    if missing:
        found = ", ".join(header) if len(header) > 1 else f"one column '{raw_header[0]}' (is the file comma-separated?)"
        raise ExportError(f"{file_name}: missing required column(s) {', '.join(missing)}; found {found}")
    body = text[len(text.split("\n", 1)[0]) + 1:] if "\n" in text else ""
    cells, malformed = _parse_body(body, header)
    for name in header:
        cells[name] = cells[name].str.strip()
    return CsvCells(file_name=file_name, cells=cells, malformed=malformed)


def _decode(file_name: str, data: bytes) -> str:
    if not data.strip():
        raise ExportError(f"{file_name}: the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExportError(
            f"{file_name}: not UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); export the file as UTF-8"
        ) from exc


def _parse_body(body: str, header: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fast path with Arrow's reader; the exact Python reader when line numbers would not map one to one."""
    invalid: list[object] = []

    def skip_invalid(row: object) -> str:
        invalid.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        invalid.append("arrow could not parse")
    physical_lines = body.count("\n") + (0 if body.endswith("\n") else 1)
    if invalid or not body.strip() or table.num_rows != physical_lines:
        # a malformed row, a blank line or a quoted line break: only the exact reader keeps line numbers
        return _parse_body_exactly(body, header)
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    frame.insert(0, LINE, pd.Series(range(2, len(frame) + 2), dtype="int64"))
    return frame, _empty_malformed()


def _parse_body_exactly(body: str, header: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Python's csv reader: exact line numbers, blank lines skipped, malformed rows set aside."""
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed: list[dict[str, object]] = []
    reader = csv.reader(io.StringIO(body))
    start = 2
    for record in reader:
        line = start
        start = reader.line_num + 2
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if len(record) != len(header):
            malformed.append({
                LINE: line, "value": ",".join(record)[:200],
                "reason": f"row has {len(record)} fields, the header has {len(header)}",
            })
            continue
        rows.append(record)
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, dtype=pd.StringDtype("pyarrow"))
    frame.insert(0, LINE, pd.Series(lines, dtype="int64"))
    return frame, pd.DataFrame(malformed, columns=[LINE, "value", "reason"]) if malformed else _empty_malformed()


def _empty_malformed() -> pd.DataFrame:
    return pd.DataFrame({LINE: pd.Series(dtype="int64"), "value": pd.Series(dtype="object"), "reason": pd.Series(dtype="object")})
