"""The ingest's columnar shortcuts give what the slow, obvious computation gives (values worked out by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.export import text as text_module
from analysis.export.csv_table import _may_need_trimming
from analysis.export.text import TEXT, edge_byte_in, repeated_rows
from analysis.export.timestamps import _parse_local_times
from analysis.key_order import in_key_order


def texts(*cells: str | None) -> pd.Series:
    return pd.Series(list(cells), dtype=TEXT)


@pytest.mark.parametrize("key_limit", [1 << 62, 3])
def test_repeated_rows_marks_every_later_copy_of_a_row(monkeypatch: pytest.MonkeyPatch, key_limit: int) -> None:
    # key_limit 3: every column gets an integer key of its own, so the rows are told apart by the
    # folded 64-bit number and then compared exactly
    monkeypatch.setattr(text_module, "KEY_LIMIT", key_limit)
    participant = texts("P1", "P1", "P2", "P1", "P2", "P1")
    time = texts("08:00", "08:00", "08:00", "09:00", "08:00", "08:00")
    kind = texts("temperature", "temperature", "temperature", "temperature", "temperature", "sbp")
    # row 1 repeats row 0, row 4 repeats row 2; row 5 differs from row 0 in its kind only
    assert repeated_rows([participant, time, kind]).tolist() == [False, True, False, False, True, False]


def test_repeated_rows_of_no_rows() -> None:
    assert repeated_rows([texts(), texts()]).tolist() == []


def test_in_key_order() -> None:
    frame = pd.DataFrame(
        {
            "participant_id": texts("A", "A", "B", "B"),
            "time": pd.to_datetime(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 09:00", "2024-01-01 09:00"]),
            "line": [2, 3, 5, 4],
        }
    )
    assert in_key_order(frame, ["participant_id", "time"])  # B's two rows tie: a stable sort keeps them
    assert not in_key_order(frame, ["participant_id", "time", "line"])  # line 5 before line 4
    assert not in_key_order(frame, ["time"])
    with_missing = frame.assign(time=frame["time"].where(frame["line"] != 3))
    assert not in_key_order(with_missing, ["participant_id", "time"])  # a sort puts NaT last: let it sort


def test_edge_byte_in_reads_the_first_or_last_byte_of_each_cell() -> None:
    cells = texts("=SUM(A1)", "", None, "a=", "-1", "é=")
    assert edge_byte_in(cells, b"=-").tolist() == [True, False, False, False, True, False]
    assert edge_byte_in(cells, b"=", last=True).tolist() == [False, False, False, True, False, True]


def test_a_column_is_trimmed_when_a_cell_begins_or_ends_with_white_space() -> None:
    assert not _may_need_trimming(texts("PACER-0001", "a b", ""))
    assert _may_need_trimming(texts("ok", " lead"))
    assert _may_need_trimming(texts("ok", "trail\t"))
    assert _may_need_trimming(texts("ok", "x\u00a0"))  # a non-ASCII character at an edge: checked by strip


def test_local_times_that_arrow_would_roll_over_are_left_to_pandas() -> None:
    parsed = _parse_local_times(
        texts("2024-02-29T10:00:00", "2023-02-29T10:00:00", "2024-12-31T23:59:60", "2024-06-01T24:00:00")
    )
    # 29 February 2023 and second 60 do not exist: pandas refuses them (Arrow would give 1 March, 1 January)
    assert parsed.tolist()[0] == pd.Timestamp("2024-02-29 10:00:00")
    assert pd.isna(parsed.tolist()[1]) and pd.isna(parsed.tolist()[2]) and pd.isna(parsed.tolist()[3])
