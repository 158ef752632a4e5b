"""An export in parts: the cross-part rules on participant ids, line offsets, counts, concatenation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.export.errors import ExportError
from analysis.export.ingest import FileCounts
from analysis.export.parts import (
    add_counts,
    check_disjoint_ranges,
    check_foreign_events,
    check_no_unclosed_quote,
    check_same_manifest,
    concatenate_parts,
    data_lines,
    line_offsets,
    part_folders,
    participant_ids,
    shift_quarantine_lines,
)

MANIFEST = '{"study_id": "PACER", "exported_at": "2026-11-01T09:00:00-06:00", "timezone": "America/Chicago"}\n'
PARTICIPANTS_HEADER = "participant_id,site_id\n"
EVENTS_HEADER = "participant_id,event_type\n"


def write_part(folder: Path, participants: str, events: str, manifest: str = MANIFEST) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(manifest)
    (folder / "participants.csv").write_text(PARTICIPANTS_HEADER + participants)
    (folder / "events.csv").write_text(EVENTS_HEADER + events)
    return folder


def test_participant_ids_are_the_trimmed_cells_of_one_column(tmp_path: Path) -> None:
    part = write_part(tmp_path / "p", "P-01,S\n P-02 ,S\n,S\n", "")
    assert participant_ids(part) == ["P-01", "P-02"]


def test_a_participant_in_two_parts_is_refused() -> None:
    parts = [Path("part-00000"), Path("part-00001")]
    with pytest.raises(ExportError, match="participant P-02 is also in part-00000"):
        check_disjoint_ranges(parts, [["P-01", "P-02"], ["P-02", "P-03"]])


def test_overlapping_ranges_are_refused_ascending_ones_pass() -> None:
    parts = [Path("a"), Path("b"), Path("c")]
    check_disjoint_ranges(parts, [["P-01", "P-03"], [], ["P-04", "P-09"]])
    with pytest.raises(ExportError, match="first participant P-02 sorts before a's last P-03"):
        check_disjoint_ranges(parts, [["P-01", "P-03"], ["P-02"], ["P-09"]])


def test_events_of_another_parts_participant_are_refused() -> None:
    parts = [Path("a"), Path("b")]
    ids = [["P-01"], ["P-02"]]
    check_foreign_events(parts, ids, [{"X-1"}, set()])  # an orphan in one part only: quarantined as in one piece
    with pytest.raises(ExportError, match="b: events of participant P-01, who is in a"):
        check_foreign_events(parts, ids, [set(), {"P-01"}])
    with pytest.raises(ExportError, match="unknown participant X-1 are in more than one part"):
        check_foreign_events(parts, ids, [{"X-1"}, {"X-1"}])


def test_parts_of_different_exports_are_refused(tmp_path: Path) -> None:
    first = write_part(tmp_path / "part-00000", "P-01,S\n", "")
    other = write_part(tmp_path / "part-00001", "P-02,S\n", "", manifest=MANIFEST.replace("09:00", "10:00"))
    with pytest.raises(ExportError, match="manifest.json differs"):
        check_same_manifest([first, other])


def test_line_offsets_count_the_data_lines_of_the_parts_before(tmp_path: Path) -> None:
    # part 0: 2 participant lines, 3 event lines (one a quoted value over two physical lines);
    # part 1: 1 and 2, the last without a final line break (still a line).
    first = write_part(tmp_path / "part-00000", "P-01,S\nP-02,S\n", 'P-01,a\nP-01,"b\nc"\nP-02,d\n')
    second = write_part(tmp_path / "part-00001", "P-03,S\n", "P-03,a\nP-03,b")
    lines = [{name: data_lines(part / name) for name in ("participants.csv", "events.csv")} for part in (first, second)]
    assert lines == [{"participants.csv": 2, "events.csv": 4}, {"participants.csv": 1, "events.csv": 2}]
    assert line_offsets(lines) == [
        {"participants.csv": 0, "events.csv": 0},
        {"participants.csv": 2, "events.csv": 4},
    ]


def test_quarantine_lines_move_by_their_files_offset_and_so_do_the_lines_reasons_quote() -> None:
    quarantine = pd.DataFrame(
        {
            "file": ["participants.csv", "events.csv", "events.csv"],
            "line": [4, 7, 9],
            "reason": [
                "participant_id is not unique: first given at line 2",
                "unknown temperature unit; expected C or F; the participant's row in participants.csv (line 4) was quarantined",
                "a quoted cell is never closed: the row runs from line 9 to the end of the file (line 12)",
            ],
        }
    )
    moved = shift_quarantine_lines(quarantine, {"participants.csv": 10, "events.csv": 1000})
    assert moved["line"].tolist() == [14, 1007, 1009]
    assert moved["reason"].tolist() == [
        "participant_id is not unique: first given at line 12",
        "unknown temperature unit; expected C or F; the participant's row in participants.csv (line 14) was quarantined",
        "a quoted cell is never closed: the row runs from line 1009 to the end of the file (line 1012)",
    ]


def test_counts_add_up_over_the_parts() -> None:
    first = {"events.csv": FileCounts(read=10, kept=7, quarantined=1, duplicates=1, left_out_by_cut=1)}
    second = {"events.csv": FileCounts(read=5, kept=5, quarantined=0, duplicates=0, left_out_by_cut=0)}
    assert add_counts([first, second]) == {"events.csv": FileCounts(15, 12, 1, 1, 1)}


def test_the_concatenation_keeps_one_header_and_every_row_in_part_order(tmp_path: Path) -> None:
    write_part(tmp_path / "parts" / "part-00001", "P-03,S\n", "P-03,c\n")
    write_part(tmp_path / "parts" / "part-00000", "P-01,S\nP-02,S\n", "P-01,a\nP-02,b\n")
    whole = concatenate_parts(part_folders(tmp_path / "parts"), tmp_path / "whole")
    assert (whole / "participants.csv").read_text() == PARTICIPANTS_HEADER + "P-01,S\nP-02,S\nP-03,S\n"
    assert (whole / "events.csv").read_text() == EVENTS_HEADER + "P-01,a\nP-02,b\nP-03,c\n"
    assert (whole / "manifest.json").read_text() == MANIFEST


def test_a_quote_left_open_before_the_last_part_is_refused() -> None:
    open_quote = pd.DataFrame(
        {"reason": ["a quoted cell is never closed: the row runs from line 3 to the end of the file"]}
    )
    clean = pd.DataFrame({"reason": pd.Series([], dtype=object)})
    parts = [Path("a"), Path("b")]
    check_no_unclosed_quote(parts, [clean, open_quote])  # the last part: in one piece it ends the file too
    with pytest.raises(ExportError, match="a: a quoted cell is never closed before the end of the part"):
        check_no_unclosed_quote(parts, [open_quote, clean])
