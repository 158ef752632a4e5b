"""From a bundle to typed participants and events, the quarantine and the reconciliation.

Implements export-format.md end to end and grading.md "Time": the data cut D includes all of D in
the export's time zone (a row is used iff its time is before D + 1 day 00:00 local); a participant
infused at or after that instant is enrolled, not infused; one enrolled after D is left out and
counted. Rows after the cut are left out and counted too, so that every input row is accounted
for: ``read = kept + quarantined + duplicates + left out by the cut``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from analysis.export import events as events_file
from analysis.export import participants as participants_file
from analysis.export.bundle import Bundle, check_timezone
from analysis.export.csv_table import LINE, CsvCells, read_csv_cells
from analysis.export.errors import ExportError
from analysis.export.quarantine import QUARANTINE_COLUMNS, malformed_to_quarantine, neutralize_text_columns
from analysis.export.text import by_distinct, kept_rows, repeated_rows
from analysis.export.timestamps import EARLIEST_YEAR, LATEST_YEAR, naive_times
from analysis.key_order import in_key_order
from analysis.participant_vars import compute_age_at_infusion_years, derive_analysis_sets

HOURS = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class FileCounts:
    """Where every data row of one file went."""

    read: int
    kept: int
    quarantined: int
    duplicates: int
    left_out_by_cut: int

    def balanced(self) -> bool:
        """The reconciliation: read = kept + quarantined + duplicates + left out by the cut."""
        return self.read == self.kept + self.quarantined + self.duplicates + self.left_out_by_cut


@dataclass(frozen=True)
class IngestResult:
    """The typed tables of one bundle at one data cut."""

    participants: pd.DataFrame
    events: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, FileCounts]
    data_cut: date
    timezone: str
    cut_instant: datetime
    exported_at: datetime | None


def resolve_data_cut(data_cut: date | None, bundle: Bundle, timezone: str | None) -> date:
    """--data-cut, else the manifest's export date (in the export's time zone); never the wall clock.

    Raises
    ------
    ExportError
        when neither is known: the run stops and asks for a data cut.
    """
    if data_cut is not None:
        return data_cut
    exported_at = bundle.manifest.exported_at
    if exported_at is None:
        raise ExportError(
            f"{bundle.origin}: no data cut given and the manifest has no exported_at; pass --data-cut YYYY-MM-DD"
        )
    return (exported_at.astimezone(ZoneInfo(timezone)) if timezone else exported_at).date()


def export_time_zone(bundle: Bundle, timezone: str | None) -> str | None:
    """The export's time zone: the manifest's; ``--timezone`` only for an export whose manifest has none.

    Raises
    ------
    ExportError
        when ``--timezone`` names another zone than the manifest's (one of them is wrong, and which
        one decides every local time and the data cut), or is not a time zone.
    """
    if timezone is None:
        return bundle.manifest.timezone
    check_timezone(timezone, "--timezone")
    manifest_zone = bundle.manifest.timezone
    if manifest_zone is not None and manifest_zone != timezone:
        raise ExportError(
            f"{bundle.origin}: --timezone {timezone} conflicts with the manifest's timezone {manifest_zone}; "
            "--timezone applies only to an export whose manifest has none: drop it"
        )
    return timezone


def check_cut_not_after(cut: date, last_date: date, origin: str, what: str) -> None:
    """grading.md "The cut cannot outrun the data": D must not be after the date the export has seen.

    Raises
    ------
    ExportError
        naming both dates, when ``cut`` is after ``last_date``.
    """
    if cut > last_date:
        raise ExportError(
            f"{origin}: the data cut {cut.isoformat()} is after {what} {last_date.isoformat()}: "
            f"the cut cannot outrun the data; pass --data-cut {last_date.isoformat()} or earlier"
        )


def check_cut_within_data(
    cut: date,
    participants: pd.DataFrame,
    events: pd.DataFrame,
    exported_at: datetime | None,
    timezone: str | None,
    origin: str,
) -> None:
    """grading.md "The cut cannot outrun the data", on the validated rows.

    A cut before the first enrollment is refused; without a manifest ``exported_at``, the date of the
    latest event time (in the export's time zone) bounds the cut instead of the export date.

    Raises
    ------
    ExportError
        naming both dates.
    """
    if participants.empty:
        return
    first_enrollment = pd.to_datetime(participants["enrollment_date"]).min().date()
    if cut < first_enrollment:
        raise ExportError(
            f"{origin}: the data cut {cut.isoformat()} is before the first enrollment {first_enrollment.isoformat()}: "
            f"no participant would be analysed; pass --data-cut {first_enrollment.isoformat()} or later"
        )
    times = events["event_time"].dropna() if "event_time" in events else pd.Series(dtype=object)
    if exported_at is None and timezone is not None and not times.empty:
        latest = pd.Timestamp(times.max()).tz_convert(timezone).date()
        check_cut_not_after(cut, latest, origin, "the latest event date")


def cut_instant_of(data_cut: date, timezone: str) -> datetime:
    """D + 1 day at 00:00 local time, as an aware instant (grading.md "Time")."""
    return datetime.combine(data_cut + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))


def ingest_bundle(bundle: Bundle, *, data_cut: date | None = None, timezone: str | None = None) -> IngestResult:
    """Validate, type and cut a bundle.

    Raises
    ------
    ExportError
        for a whole-file fault, a missing time zone or data cut: nothing is written.
    """
    zone = export_time_zone(bundle, timezone)
    cut = resolve_data_cut(data_cut, bundle, zone)
    if not EARLIEST_YEAR <= cut.year <= LATEST_YEAR:
        raise ExportError(
            f"{bundle.origin}: the data cut {cut.isoformat()} is outside the years {EARLIEST_YEAR}–{LATEST_YEAR}"
        )
    exported_at = bundle.manifest.exported_at
    if exported_at is not None:
        export_date = (exported_at.astimezone(ZoneInfo(zone)) if zone else exported_at).date()
        check_cut_not_after(cut, export_date, bundle.origin, "the export date")

    participant_cells, event_cells = _export_cells(bundle)
    if zone is None:
        _refuse_without_time_zone(
            bundle.origin,
            [(participant_cells, "infusion_datetime"), (event_cells, "event_time"), (event_cells, "end_time")],
        )
    cut_instant = cut_instant_of(cut, zone)
    participant_cells, participant_duplicates = _drop_exact_duplicates(participant_cells)
    event_cells, event_duplicates = _drop_exact_duplicates(event_cells)

    checked_participants = participants_file.validate_participants(participant_cells, zone)
    quarantined_lines = participant_cells.cells.loc[checked_participants.problems.rows()]
    quarantined_ids = dict(zip(quarantined_lines["participant_id"], quarantined_lines[LINE]))
    valid_ids = set(checked_participants.participants["participant_id"])
    quarantined_ids = {pid: int(line) for pid, line in quarantined_ids.items() if pid and pid not in valid_ids}
    checked_events = events_file.validate_events(
        event_cells, checked_participants.participants, quarantined_ids, timezone=zone, exported_at=exported_at
    )

    participants = checked_participants.participants
    events, event_problems = checked_events.events, checked_events.problems.quarantine()
    del checked_events  # its copy of the cells is no longer needed
    event_cells = _without_text(event_cells)
    check_cut_within_data(cut, participants, events, exported_at, zone, bundle.origin)
    enrolled_late = pd.to_datetime(participants["enrollment_date"]) > pd.Timestamp(cut)
    late_ids = set(participants.loc[enrolled_late, "participant_id"])
    participants = participants.loc[~enrolled_late]
    after_cut = events["participant_id"].isin(late_ids) | (events["event_time"] >= pd.Timestamp(cut_instant))
    if after_cut.any():
        events = events.loc[~after_cut]

    participants = _type_participants(participants, cut_instant, exported_at)
    events = _add_hours_from_infusion(events, participants)
    # the analysis sets read the death rows only (derive_vars_death)
    participants = derive_analysis_sets(
        participants, events.loc[(events["event_type"] == "death").fillna(False).to_numpy(bool)]
    )

    quarantine = (
        pd.concat(
            [
                malformed_to_quarantine(participants_file.FILE, participant_cells.malformed),
                checked_participants.problems.quarantine(),
                malformed_to_quarantine(events_file.FILE, event_cells.malformed),
                event_problems,
            ],
            ignore_index=True,
        )
        .sort_values(["file", "line"], kind="stable")
        .reset_index(drop=True)[list(QUARANTINE_COLUMNS)]
    )
    if bundle.sdtm is not None:
        quarantine = (
            pd.concat([bundle.sdtm.quarantine, quarantine], ignore_index=True)
            .sort_values(["file", "line"], kind="stable")
            .reset_index(drop=True)[list(QUARANTINE_COLUMNS)]
        )
    quarantine = neutralize_text_columns(quarantine.astype({"value": "object"}))

    counts = {
        participants_file.FILE: _counts(
            participant_cells,
            participant_duplicates,
            quarantine,
            participants_file.FILE,
            kept=len(participants),
            left_out=int(enrolled_late.sum()),
        ),
        events_file.FILE: _counts(
            event_cells, event_duplicates, quarantine, events_file.FILE, kept=len(events), left_out=int(after_cut.sum())
        ),
    }
    if bundle.sdtm is not None:
        for domain, count in bundle.sdtm.domain_counts.items():
            counts[f"SDTM {domain}"] = FileCounts(count["read"], count["mapped"], count["quarantined"], 0, 0)
    return IngestResult(
        participants=neutralize_text_columns(participants),
        events=neutralize_text_columns(events),
        quarantine=quarantine,
        counts=counts,
        data_cut=cut,
        timezone=zone,
        cut_instant=cut_instant,
        exported_at=exported_at,
    )


def _export_cells(bundle: Bundle) -> tuple[CsvCells, CsvCells]:
    """The cells of participants.csv and events.csv: read from the bundle's files, or as an SDTM reader mapped them."""
    if bundle.sdtm is not None:  # new frames over the same cells: dropping duplicates never empties the bundle's
        return _new_frame(bundle.sdtm.participants), _new_frame(bundle.sdtm.events)
    return (
        read_csv_cells(
            participants_file.FILE, bundle.files[participants_file.FILE], participants_file.REQUIRED_COLUMNS
        ),
        read_csv_cells(events_file.FILE, bundle.files[events_file.FILE], events_file.REQUIRED_COLUMNS),
    )


def _new_frame(csv: CsvCells) -> CsvCells:
    """``csv`` with a frame of its own holding the same (immutable) Arrow cells: no cell is copied."""
    return replace(csv, cells=csv.cells.copy(deep=False))


def _refuse_without_time_zone(origin: str, columns: list[tuple[CsvCells, str]]) -> None:
    """No time zone is known: stop, naming the first naive time if there is one (the cut needs a zone anyway).

    Raises
    ------
    ExportError
        always.
    """
    unknown = "the export's time zone is unknown (no manifest timezone); pass --timezone"
    for csv, column in columns:
        if column not in csv.cells:
            continue
        naive = naive_times(csv.cells[column])
        if naive.any():
            first = naive.idxmax()
            raise ExportError(
                f"{csv.file_name}: line {int(csv.cells.loc[first, LINE])}, column {column}: "
                f"'{csv.cells.loc[first, column]}' has no UTC offset and {unknown}"
            )
    raise ExportError(f"{origin}: {unknown}")


def _drop_exact_duplicates(csv: CsvCells) -> tuple[CsvCells, int]:
    """An exact duplicate is a row whose cells are identical (after trimming) to an earlier row's.

    When there are duplicates, ``csv`` is consumed: its text columns are moved one by one into the
    cells returned, so that a file's cells are never held twice (at registry scale, a gigabyte).
    """
    text_columns = [name for name in csv.cells.columns if name != LINE]
    duplicated = repeated_rows([csv.cells[name] for name in text_columns])
    if not duplicated.any():
        return csv, 0
    kept = ~duplicated
    index, lines = csv.cells.index[kept], csv.cells[LINE].to_numpy()[kept]
    moved = {name: kept_rows(csv.cells.pop(name), kept) for name in text_columns}
    cells = pd.DataFrame({LINE: lines, **moved}, index=index)
    return CsvCells(file_name=csv.file_name, cells=cells, malformed=csv.malformed), int(duplicated.sum())


def _without_text(csv: CsvCells) -> CsvCells:
    """``csv`` with its line numbers and malformed rows only: once validated, a file's text cells need not stay in memory."""
    return CsvCells(file_name=csv.file_name, cells=csv.cells[[LINE]], malformed=csv.malformed)


def _counts(
    csv: CsvCells, duplicates: int, quarantine: pd.DataFrame, file_name: str, *, kept: int, left_out: int
) -> FileCounts:
    quarantined = int((quarantine["file"] == file_name).sum())
    read = len(csv.cells) + len(csv.malformed) + duplicates
    return FileCounts(read=read, kept=kept, quarantined=quarantined, duplicates=duplicates, left_out_by_cut=left_out)


def _type_participants(participants: pd.DataFrame, cut_instant: datetime, exported_at: datetime | None) -> pd.DataFrame:
    """Add ``infused``, ``age_at_infusion_years``, ``cut_hours`` and ``data_end_hours`` (docs/processed-tables.md).

    The age at infusion is :func:`analysis.participant_vars.compute_age_at_infusion_years`, the
    formula of grading.md (PALS age) defined once, below this layer and the derivations.
    """
    cut = pd.Timestamp(cut_instant).tz_convert("UTC")
    data_end = min(cut, pd.Timestamp(exported_at).tz_convert("UTC")) if exported_at is not None else cut
    infusion = participants["infusion_datetime"]
    infused = infusion.notna() & (infusion < cut)
    infusion_if_infused = infusion.where(infused)
    typed = participants.assign(
        infused=infused.astype(bool),
        age_at_infusion_years=compute_age_at_infusion_years(
            participants["age_years"], participants["enrollment_date"], infusion_if_infused
        ),
        cut_hours=(cut - infusion_if_infused) / HOURS,
        data_end_hours=(data_end - infusion_if_infused) / HOURS,
    )
    return (
        typed.drop(columns=["infusion_time_ambiguous"])
        .sort_values("participant_id", kind="stable")
        .reset_index(drop=True)
    )


def _add_hours_from_infusion(events: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """hours_from_infusion and end_hours_from_infusion: absolute elapsed time from infusion (NaN if not infused)."""
    by_participant = participants.set_index("participant_id")
    infusion_if_infused = by_participant["infusion_datetime"].where(by_participant["infused"])
    infusion = by_distinct(
        events["participant_id"], lambda participant: pd.to_datetime(participant.map(infusion_if_infused), utc=True)
    )
    typed = pd.DataFrame(
        {
            **{name: events[name] for name in events.columns},
            "hours_from_infusion": (events["event_time"] - infusion) / HOURS,
            "end_hours_from_infusion": (events["end_time"] - infusion) / HOURS,
        },
        copy=False,  # the event columns as they are: not copied, nor stacked with their like (as concat would)
    )
    key = ["participant_id", "event_time", "event_type", LINE]
    if in_key_order(typed, key):  # an export's rows usually come in this order: no sort, no copy
        typed.index = pd.RangeIndex(len(typed))
        return typed
    return typed.sort_values(key, kind="stable", ignore_index=True)
