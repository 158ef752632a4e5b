"""An export in parts: bundles of disjoint participants that together are one export.

A registry-sized export can come (or be cut) as several bundles, ``part-00000``, ``part-00001``, …
each with the same manifest and a range of participants with every event of its participants. The
cohort they make is their concatenation (:func:`concatenate_parts`: each file's rows one part after
the other, one header), and each part can be ingested on its own (on a worker,
:func:`analysis.export.ingest.ingest_bundle`) because every rule of export-format.md looks at one
participant at a time — except three, which this module checks across parts on participant ids only:

- a participant id in two parts (a duplicate participant, quarantined when the cohort is ingested
  in one piece) is refused: :func:`check_disjoint_ranges`;
- parts whose ids are not ascending, non-overlapping ranges are refused, so that the parts' tables
  one after the other are sorted by participant id as the whole cohort's are;
- an event naming a participant of another part, or a participant id unknown in two parts (an
  orphan row, or an exact duplicate across parts), is refused: :func:`check_foreign_events`;
- a quoted cell never closed before the end of a part but the last (in one piece, it would run
  into the next part's rows) is refused: :func:`check_no_unclosed_quote`.

Line numbers are per file: a part's row on line ``k`` of its file is on line ``k + offset`` of the
concatenated file, where ``offset`` counts the data lines of the parts before it
(:func:`line_offsets`, :func:`shift_lines`), and so are the line numbers the quarantine's reasons
quote (:func:`shift_quarantine_lines`). So the parts' tables, one after the other, are the
tables of the cohort ingested in one piece, or the parts are refused.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields
from itertools import accumulate
from pathlib import Path

import pandas as pd

from analysis.export import events as events_file
from analysis.export import participants as participants_file
from analysis.export.csv_table import LINE
from analysis.export.errors import ExportError
from analysis.export.ingest import FileCounts

PART_FILES = (participants_file.FILE, events_file.FILE)
"""The files of a part, in the order of a bundle."""


def part_folders(parts_dir: Path) -> list[Path]:
    """The part bundles of ``parts_dir``: its sub-folders, sorted by name (the cohort's order).

    Raises
    ------
    ExportError
        when ``parts_dir`` holds no folder.
    """
    folders = sorted(path for path in Path(parts_dir).iterdir() if path.is_dir() and not path.name.startswith("."))
    if not folders:
        raise ExportError(f"{parts_dir}: no part bundles (sub-folders) found")
    return folders


def part_manifest(part: Path) -> dict:
    """The part's ``manifest.json`` as parsed JSON (every part of one export carries the same)."""
    return json.loads((Path(part) / "manifest.json").read_text(encoding="utf-8"))


def check_same_manifest(parts: Sequence[Path]) -> None:
    """Every part has the first part's manifest (one export: one export instant, time zone and study).

    Raises
    ------
    ExportError
        naming the first part whose manifest differs.
    """
    first = part_manifest(parts[0])
    for part in parts[1:]:
        if part_manifest(part) != first:
            raise ExportError(f"{part}: manifest.json differs from {parts[0]}'s: the parts are not one export")


def participant_ids(part: Path) -> list[str]:
    """The ``participant_id`` cells of the part's participants.csv, trimmed, in file order (empty cells left out).

    A cheap pass over one column of the small file: this is all the client reads of a part.
    """
    with open(Path(part) / participants_file.FILE, encoding="utf-8-sig", newline="") as stream:
        rows = csv.reader(stream)
        header = [name.strip().lower() for name in next(rows, [])]
        if "participant_id" not in header:
            return []
        column = header.index("participant_id")
        return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def check_disjoint_ranges(parts: Sequence[Path], ids_by_part: Sequence[Sequence[str]]) -> None:
    """No participant id in two parts, and the parts' ids ascending, non-overlapping ranges.

    Raises
    ------
    ExportError
        naming the id and both parts, or the two parts whose ranges overlap.
    """
    owner: dict[str, Path] = {}
    for part, ids in zip(parts, ids_by_part):
        for participant_id in ids:
            first_part = owner.setdefault(participant_id, part)
            if first_part != part:
                raise ExportError(
                    f"{part}: participant {participant_id} is also in {first_part}: "
                    "each participant must be in exactly one part"
                )
    ranges = [(part, min(ids), max(ids)) for part, ids in zip(parts, ids_by_part) if ids]
    for (before, _, last), (after, first, _) in zip(ranges, ranges[1:]):
        if first <= last:
            raise ExportError(
                f"{after}: its first participant {first} sorts before {before}'s last {last}: "
                "the parts must hold ascending ranges of participant ids"
            )


def check_foreign_events(
    parts: Sequence[Path], ids_by_part: Sequence[Sequence[str]], foreign: Sequence[set[str]]
) -> None:
    """Every event of a part names a participant of that part, or an id unknown to every other part.

    ``foreign[k]``: the participant ids of part ``k``'s events that are not in its participants.csv
    (quarantined there as unknown participants).

    Raises
    ------
    ExportError
        when an event names a participant of another part, or an unknown id has events in two parts.
    """
    owner = {participant_id: part for part, ids in zip(parts, ids_by_part) for participant_id in ids}
    seen = Counter(participant_id for ids in foreign for participant_id in ids)
    for part, ids in zip(parts, foreign):
        for participant_id in sorted(ids):
            if participant_id in owner:
                raise ExportError(
                    f"{part}: events of participant {participant_id}, who is in {owner[participant_id]}: "
                    "each part must hold every event of its participants"
                )
            if seen[participant_id] > 1:
                raise ExportError(
                    f"{part}: events of the unknown participant {participant_id} are in more than one part"
                )


def data_lines(path: Path) -> int:
    """The physical lines of a CSV file after its header (a last line without a line break counts)."""
    breaks = 0
    last = b"\n"
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 24), b""):
            breaks += block.count(b"\n")
            last = block[-1:]
    lines = breaks + (last != b"\n")
    return max(lines - 1, 0)


def line_offsets(lines_by_part: Sequence[dict[str, int]]) -> list[dict[str, int]]:
    """Each part's line offset per file in the concatenated export: the data lines of the parts before it."""
    totals = accumulate(
        lines_by_part,
        lambda before, lines: {name: before[name] + lines[name] for name in PART_FILES},
        initial=dict.fromkeys(PART_FILES, 0),
    )
    return list(totals)[: len(lines_by_part)]


def shift_lines(frame: pd.DataFrame, offset: int) -> pd.DataFrame:
    """``frame`` with its ``line`` numbers moved down by ``offset`` (a part's lines in the concatenated file)."""
    return frame.assign(**{LINE: frame[LINE] + offset}) if offset else frame


LINE_REFERENCES = (
    (participants_file.FILE, participants_file.FILE, re.compile(r"(first given at line )(\d+)")),
    (events_file.FILE, participants_file.FILE, re.compile(r"(participants\.csv \(line )(\d+)")),
    *((name, name, re.compile(r"(the row runs from line )(\d+)")) for name in PART_FILES),
    *((name, name, re.compile(r"(to the end of the file \(line )(\d+)")) for name in PART_FILES),
)
"""The line numbers quoted in quarantine reasons: (file of the row, file the number refers to, pattern)."""

UNCLOSED_QUOTE = "a quoted cell is never closed"
"""A quarantine reason that, in the concatenated export, would run into the next part's rows."""


def shift_quarantine_lines(quarantine: pd.DataFrame, offsets: dict[str, int]) -> pd.DataFrame:
    """The quarantine's line numbers moved by their file's offset: ``line`` and the lines its reasons quote."""
    offset = quarantine["file"].map(offsets).fillna(0).astype("int64")
    reasons = quarantine["reason"].copy()
    for row_file, quoted_file, pattern in LINE_REFERENCES:
        rows = quarantine["file"] == row_file
        if rows.any() and offsets.get(quoted_file):
            moved = offsets[quoted_file]
            reasons[rows] = reasons[rows].str.replace(
                pattern, lambda match, by=moved: f"{match.group(1)}{int(match.group(2)) + by}", regex=True
            )
    return quarantine.assign(**{LINE: quarantine[LINE] + offset, "reason": reasons})


def check_no_unclosed_quote(parts: Sequence[Path], quarantines: Sequence[pd.DataFrame]) -> None:
    """A quoted cell never closed in a part before the last would, in one piece, swallow the next parts' rows.

    Raises
    ------
    ExportError
        naming the part: its files must end with every quote closed.
    """
    for part, quarantine in zip(parts[:-1], quarantines[:-1]):
        if quarantine["reason"].str.contains(UNCLOSED_QUOTE, regex=False).any():
            raise ExportError(f"{part}: {UNCLOSED_QUOTE} before the end of the part: the parts are not one export")


def add_counts(counts_by_part: Sequence[dict[str, FileCounts]]) -> dict[str, FileCounts]:
    """The reconciliation of the whole export: each file's counts added up over the parts."""
    names = list(counts_by_part[0])
    return {
        name: FileCounts(
            **{
                field.name: sum(getattr(counts[name], field.name) for counts in counts_by_part)
                for field in fields(FileCounts)
            }
        )
        for name in names
    }


def concatenate_parts(parts: Sequence[Path], out_dir: Path) -> Path:
    """Write the export the parts make: the first part's manifest, each file's rows one part after the other.

    Each file keeps the first part's header line; every part's file must end with a line break.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").write_bytes((Path(parts[0]) / "manifest.json").read_bytes())
    for name in PART_FILES:
        with open(out_dir / name, "wb") as target:
            for index, part in enumerate(parts):
                with open(Path(part) / name, "rb") as source:
                    header = source.readline()
                    if index == 0:
                        target.write(header)
                    for block in iter(lambda: source.read(1 << 24), b""):
                        target.write(block)
    return out_dir
