"""Reading one CSV file of a bundle into a frame of trimmed text cells, with each row's line number.

export-format.md: UTF-8 (a BOM tolerated), comma-separated, header row, ``""`` quoting, empty cell =
missing; column names matched case-insensitively after trimming. A row whose number of fields
does not match the header is kept as a *malformed* row so that the quarantine can name its line.

Line breaks may be LF, CRLF or a bare CR (old Mac exports): each counts as one line. Bounds that keep
a corrupted file from exhausting memory or time: a physical line longer than ``MAX_LINE_CHARS`` is
set aside unparsed, and a row with a cell longer than ``MAX_CELL_CHARS`` is set aside, both as
malformed rows with the reason. A quoted cell that is never closed (it would swallow every later
row) makes its row malformed too. A header of more than ``MAX_COLUMNS`` columns stops the run before a
row is parsed (16,384 empty columns, as a spreadsheet leaves them, would cost minutes and gigabytes). A
header column with no name is an unnamed extra column
(``unnamed_<position>``), ignored like any unknown column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis.export.errors import ExportError
from analysis.export.identifiers import normalize_column_name, refuse_identifier_columns
from analysis.export.text import TEXT, edge_byte_in

LINE = "line"
"""The column holding each row's line number in its file (the header is line 1)."""

MAX_CELL_CHARS = 10_000
"""A row with a cell longer than this (after trimming) is quarantined: no field of the contract needs more."""
MAX_LINE_CHARS = 100_000
"""A physical line longer than this is quarantined without being parsed (a runaway or corrupted line)."""
MAX_COLUMNS = 1_000
"""A header with more columns than this is refused: the contract's files have 11 and 7 columns."""
MALFORMED_COLUMNS = (LINE, "column", "value", "reason")


@dataclass(frozen=True)
class CsvCells:
    """The cells of one CSV file: ``cells`` (text, trimmed, '' = missing) and the malformed rows."""

    file_name: str
    cells: pd.DataFrame
    malformed: pd.DataFrame  # columns: line, column ('(row)' or the cell's column), value (raw text, cut), reason


def read_csv_cells(file_name: str, data: bytes, required_columns: tuple[str, ...]) -> CsvCells:
    """Read ``data`` as the CSV file ``file_name``.

    Raises
    ------
    ExportError
        when the file is empty, not UTF-8, has too many, duplicated or identifier columns, or lacks a
        required column; the message names the file and what is wrong.
    """
    # ASCII with LF line breaks (the usual export): the bytes are the text, never decoded nor copied
    text = None if data.isascii() and b"\r" not in data else _decode(file_name, data)
    if text is None:
        _refuse_blank(file_name, data)
        header_end = data.find(b"\n")
        header_line = (data if header_end < 0 else data[:header_end]).decode("ascii")
    else:
        header_end = text.find("\n")
        header_line = text if header_end < 0 else text[:header_end]
    if len(header_line) > MAX_LINE_CHARS:
        raise ExportError(
            f"{file_name}: the header row is {len(header_line)} characters long (the limit is {MAX_LINE_CHARS})"
        )
    if not header_line.strip():
        raise ExportError(f"{file_name}: the file is empty (no header row)")
    try:
        raw_header = next(csv.reader([header_line]))
    except csv.Error as exc:
        raise ExportError(f"{file_name}: the header row is not valid CSV ({exc})") from exc
    if len(raw_header) > MAX_COLUMNS:
        raise ExportError(
            f"{file_name}: the header has {len(raw_header)} columns (the limit is {MAX_COLUMNS}); "
            "delete the empty columns a spreadsheet left and export again"
        )
    header = [normalize_column_name(name) or f"unnamed_{position}" for position, name in enumerate(raw_header, start=1)]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ExportError(f"{file_name}: duplicated column name(s) {', '.join(duplicated)}")
    missing = [name for name in required_columns if name not in header]
    if missing:
        found = ", ".join(header) if len(header) > 1 else f"one column '{raw_header[0]}' (is the file comma-separated?)"
        raise ExportError(f"{file_name}: missing required column(s) {', '.join(missing)}; found {found}")
    refuse_identifier_columns(file_name, raw_header)
    body_start = len(data if text is None else text) if header_end < 0 else header_end + 1
    overlong = _empty_malformed()
    if _longest_line_bytes(data) > MAX_LINE_CHARS:
        body_text, overlong = _body_without_long_lines(data.decode("ascii") if text is None else text, body_start)
        body = Body(body_text.encode("utf-8"), 0)
    elif text is None:
        body = Body(data, body_start)
    else:
        body = Body(text[body_start:].encode("utf-8"), 0)
    del text
    cells, malformed = _parse_body(body, header)
    del body
    for name in header:
        if _may_need_trimming(cells[name]):  # most columns have no cell to trim: not copied
            cells[name] = cells[name].str.strip()
    cells, oversized = _set_aside_long_cells(cells, header)
    malformed = _concat_malformed([malformed, overlong, oversized])
    return CsvCells(file_name=file_name, cells=cells, malformed=malformed)


def _decode(file_name: str, data: bytes) -> str:
    _refuse_blank(file_name, data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ExportError(
            f"{file_name}: not UTF-8 (byte 0x{data[exc.start]:02x} at line {line}); export the file as UTF-8"
        ) from exc
    # one line break per CRLF, LF or bare CR, as Arrow reads them: both readers then count lines alike
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


_NOT_BYTES_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")
"""A byte ``bytes.strip`` keeps."""


def _refuse_blank(file_name: str, data: bytes) -> None:
    """Stop on a file of white space only (searched for, not stripped: stripping copies the file)."""
    if _NOT_BYTES_SPACE.search(data) is None:
        raise ExportError(f"{file_name}: the file is empty")


def _longest_line_bytes(data: bytes) -> int:
    """The longest run of bytes without a line break (LF or CR): no line of the decoded text has more characters.

    Scanned in slices with numpy, so that a file of ordinary lines costs no Python loop over its lines.
    """
    longest, last_break, step = 0, -1, 1 << 24
    for start in range(0, len(data), step):
        piece = np.frombuffer(data, dtype=np.uint8, count=min(step, len(data) - start), offset=start)
        breaks = np.flatnonzero((piece == ord("\n")) | (piece == ord("\r"))) + start
        if breaks.size:
            longest = max(longest, int(breaks[0]) - last_break - 1, int(np.diff(breaks).max(initial=1)) - 1)
            last_break = int(breaks[-1])
    return max(longest, len(data) - last_break - 1)


def _body_without_long_lines(text: str, body_start: int) -> tuple[str, pd.DataFrame]:
    """The text after the header, each physical line over MAX_LINE_CHARS blanked out and set aside.

    A blank line stays in the place of a long one, so later line numbers hold; the long line is never
    copied nor parsed (a 50 MB line costs one scan).
    """
    spans: list[tuple[int, int, int]] = []  # line, start, end of each long line
    if len(text) - body_start > MAX_LINE_CHARS:
        start, line = body_start, 2
        while start < len(text):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            if end - start > MAX_LINE_CHARS:
                spans.append((line, start, end))
            start, line = end + 1, line + 1
    if not spans:
        return text[body_start:], _empty_malformed()
    found = [
        {
            LINE: line,
            "column": "(row)",
            "value": text[start : start + 200],
            "reason": f"line is {end - start} characters long (the limit is {MAX_LINE_CHARS}); not read",
        }
        for line, start, end in spans
    ]
    pieces, previous_end = [], body_start
    for _, start, end in spans:
        pieces.append(text[previous_end:start])
        previous_end = end
    pieces.append(text[previous_end:])
    return "".join(pieces), _malformed_frame(found)


def _set_aside_long_cells(cells: pd.DataFrame, header: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows with a (trimmed) cell over MAX_CELL_CHARS become malformed rows naming the first such column."""
    if all(_longest_cell_bytes(cells[name]) <= MAX_CELL_CHARS for name in header):
        return cells, _empty_malformed()  # no cell has more bytes, so none has more characters
    too_long = pd.Series(False, index=cells.index)
    found: list[pd.DataFrame] = []
    for name in header:
        lengths = cells[name].str.len().fillna(0)
        new = (lengths > MAX_CELL_CHARS) & ~too_long
        if new.any():
            found.append(
                pd.DataFrame(
                    {
                        LINE: cells.loc[new, LINE].astype("int64"),
                        "column": name,
                        "value": cells.loc[new, name].str.slice(0, 200).astype("object"),
                        "reason": [
                            f"cell is {n} characters long (the limit is {MAX_CELL_CHARS})"
                            for n in lengths[new].astype(int)
                        ],
                    }
                )
            )
            too_long |= new
    if not too_long.any():
        return cells, _empty_malformed()
    return cells.loc[~too_long], _concat_malformed(found)


TRIMMED_BYTES = bytes([*range(0x09, 0x0E), *range(0x1C, 0x21), *range(0x80, 0x100)])
"""Bytes ``str.strip`` (Arrow's ``utf8_trim_whitespace``) may remove at a cell's edge: its ASCII white space and
any byte of a non-ASCII character (some are white space)."""


def _may_need_trimming(column: pd.Series) -> bool:
    """Whether a cell of the text column starts or ends with a byte of :data:`TRIMMED_BYTES`."""
    return bool(edge_byte_in(column, TRIMMED_BYTES).any() or edge_byte_in(column, TRIMMED_BYTES, last=True).any())


def _longest_cell_bytes(column: pd.Series) -> int:
    """The most UTF-8 bytes of a cell of a text column (0 for none): read from Arrow's offsets, no cell touched."""
    chunks = column.array.__arrow_array__().chunks  # chunk by chunk: no column-long array of lengths
    return max((pc.max(pc.binary_length(chunk)).as_py() or 0 for chunk in chunks), default=0)


@dataclass(frozen=True)
class Body:
    """The rows after the header: the UTF-8 bytes of ``data`` from ``start`` on, LF line breaks only."""

    data: bytes
    start: int

    def text(self) -> str:
        """The body as text."""
        return self.data[self.start :].decode("utf-8")

    def line_breaks(self) -> int:
        """The number of line breaks."""
        return self.data.count(b"\n", self.start)

    def ends_with_line_break(self) -> bool:
        """True when the body is not empty and its last character is a line break."""
        return len(self.data) > self.start and self.data.endswith(b"\n")

    def is_blank(self) -> bool:
        """True when the body is empty or only white space (as ``str.strip`` reads it)."""
        first = _NOT_ASCII_SPACE.search(self.data, self.start)
        if first is None:
            return True
        return first.group()[0] >= 0x80 and not self.text().strip()


_NOT_ASCII_SPACE = re.compile(rb"[^ \t\n\r\x0b\x0c\x1c-\x1f]")
"""A byte that is not one of the ASCII characters ``str.strip`` removes (a byte from 0x80 may start a Unicode space)."""


def _parse_body(body: Body, header: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fast path with Arrow's reader; the exact Python reader when line numbers would not map one to one."""
    invalid: list[object] = []

    def skip_invalid(row: object) -> str:
        invalid.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body.data)[body.start :]),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.large_string() for name in header},  # what pandas keeps: no cast
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        invalid.append("arrow could not parse")
    physical_lines = body.line_breaks() + (0 if body.ends_with_line_break() else 1)
    if invalid or body.is_blank() or table.num_rows != physical_lines or _last_row_has_line_break(table):
        # a malformed row, a blank line, a quoted line break or an unclosed quote: only the exact reader keeps line numbers
        return _parse_body_exactly(body.text(), header)
    frame = table.to_pandas(types_mapper={pa.large_string(): TEXT}.get)
    frame.insert(0, LINE, pd.Series(range(2, len(frame) + 2), dtype="int64"))
    return frame, _empty_malformed()


def _last_row_has_line_break(table: pa.Table) -> bool:
    """With one row per line, a line break in a cell of the last row means a quote left open to the end of the file."""
    if table.num_rows == 0:
        return False
    return any("\n" in (table.column(i)[table.num_rows - 1].as_py() or "") for i in range(table.num_columns))


_END_OF_FILE = "\x00pacer:end-of-file\x00"
"""A sentinel line after the body: a record that swallows it was inside a quote never closed."""


def _parse_body_exactly(body: str, header: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Python's csv reader: exact line numbers, blank lines skipped, malformed rows set aside."""
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed: list[dict[str, object]] = []
    reader = csv.reader(io.StringIO(body + ("" if body.endswith("\n") or not body else "\n") + _END_OF_FILE + "\n"))
    start = 2
    while True:
        line = start
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a multi-line quoted cell beyond the csv module's field limit
            start = reader.line_num + 2
            malformed.append(
                {LINE: line, "column": "(row)", "value": "", "reason": f"the row cannot be read as CSV ({exc})"}
            )
            continue
        start = reader.line_num + 2
        if record == [_END_OF_FILE]:
            break
        if not record or (len(record) == 1 and not record[0].strip()):
            continue
        if _END_OF_FILE in record[-1]:
            record[-1] = record[-1][: record[-1].rindex(_END_OF_FILE)]
            last_line = line + sum(field.count("\n") for field in record) - 1
            malformed.append(
                {
                    LINE: line,
                    "column": "(row)",
                    "value": ",".join(record)[:200],
                    "reason": f"a quoted cell is never closed: the row runs from line {line} to the end of the file (line {last_line})",
                }
            )
            break
        if len(record) != len(header):
            malformed.append(
                {
                    LINE: line,
                    "column": "(row)",
                    "value": ",".join(record)[:200],
                    "reason": f"row has {len(record)} fields, the header has {len(header)}",
                }
            )
            continue
        rows.append(record)
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, dtype=TEXT)
    frame.insert(0, LINE, pd.Series(lines, dtype="int64"))
    return frame, _malformed_frame(malformed)


def _malformed_frame(found: list[dict[str, object]]) -> pd.DataFrame:
    if not found:
        return _empty_malformed()
    return pd.DataFrame(found, columns=list(MALFORMED_COLUMNS)).astype({LINE: "int64"})


def _concat_malformed(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return _empty_malformed()
    return pd.concat(frames, ignore_index=True).sort_values(LINE, kind="stable").reset_index(drop=True)


def _empty_malformed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            LINE: pd.Series(dtype="int64"),
            "column": pd.Series(dtype="object"),
            "value": pd.Series(dtype="object"),
            "reason": pd.Series(dtype="object"),
        }
    )
