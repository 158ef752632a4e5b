"""Validating and typing events.csv (export-format.md, "events.csv", "Vocabulary", "Plausible ranges")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analysis.export import vocabulary as vocab
from analysis.export.csv_table import LINE, CsvCells
from analysis.export.quarantine import RowProblems, not_a_number, parse_number
from analysis.export.text import (
    TEXT,
    DistinctCells,
    by_distinct,
    categorical_as_text,
    text_of_positions,
    text_where,
)
from analysis.export.timestamps import AMBIGUOUS_FLAG, parse_instants

FILE = "events.csv"
REQUIRED_COLUMNS = ("participant_id", "event_time", "event_type")
OPTIONAL_COLUMNS = ("end_time", "value", "unit", "detail")


@dataclass(frozen=True)
class ValidatedEvents:
    """Typed valid event rows (with their ``line``) and the rows' problems."""

    events: pd.DataFrame
    problems: RowProblems


def validate_events(
    csv: CsvCells,
    participants: pd.DataFrame,
    quarantined_participant_lines: dict[str, int],
    *,
    timezone: str | None,
    exported_at: datetime | None,
) -> ValidatedEvents:
    """Apply every rule of events.csv; return typed valid rows (temperature in °C) and the problems.

    Parameters
    ----------
    participants
        the valid participants (``participant_id``, ``enrollment_date``).
    quarantined_participant_lines
        participant ids whose participants.csv row was quarantined, with that row's line.
    exported_at
        the export time: no event may lie after it.
    """
    cells = csv.cells.copy(deep=False)  # the added columns are this frame's only
    for optional in OPTIONAL_COLUMNS:
        if optional not in cells:
            cells[optional] = pd.Series("", index=cells.index, dtype=TEXT)
    problems = RowProblems(FILE, cells)

    event_type = _check_event_type(cells, problems)
    participant = DistinctCells(cells["participant_id"])
    _check_participant(cells, problems, participant, participants, quarantined_participant_lines)
    start = parse_instants(cells["event_time"], timezone, file_name=FILE, column="event_time", lines=cells[LINE])
    end = parse_instants(cells["end_time"], timezone, file_name=FILE, column="end_time", lines=cells[LINE])
    problems.flag(cells["event_time"] == "", "event_time", "event_time is missing")
    problems.flag(start.problem.notna(), "event_time", start.problem)
    problems.flag(end.problem.notna(), "end_time", end.problem)
    problems.flag(end.instant < start.instant, "end_time", "end_time is before event_time")
    _check_time_window(problems, participant, start.instant, participants, exported_at, timezone)

    unit = _check_unit(cells, problems, event_type)
    detail, detail_text = _check_detail(cells, problems, event_type)
    value = by_distinct(cells["value"], parse_number)
    problems.flag(not_a_number(cells["value"], value), "value", "value is not a number")
    _check_value(cells, problems, event_type, value, unit, detail)

    celsius = _to_celsius(value, unit, event_type)
    typed = pd.DataFrame(
        {
            LINE: cells[LINE],
            "participant_id": cells["participant_id"].astype(TEXT),
            "event_type": categorical_as_text(event_type),
            "event_time": start.instant,
            "end_time": end.instant,
            "value": celsius,
            "unit": categorical_as_text(unit.where(event_type != "temperature", "C").where(unit.notna(), None)),
            "detail": categorical_as_text(detail),
            "detail_text": detail_text,
            "time_flag": text_where(
                (start.ambiguous | end.ambiguous).to_numpy(dtype=bool), AMBIGUOUS_FLAG, cells.index
            ),
        },
        copy=False,  # each column as built: no block of like columns copied together
    )
    faulty = problems.rows()
    return ValidatedEvents(events=typed.drop(index=faulty) if len(faulty) else typed, problems=problems)


def _check_event_type(cells: pd.DataFrame, problems: RowProblems) -> pd.Series:
    event_type = DistinctCells(cells["event_type"]).apply_as_categorical(vocab.normalize_code)
    problems.flag(cells["event_type"] == "", "event_type", "event_type is missing")
    unknown = (cells["event_type"] != "") & ~event_type.isin(vocab.EVENT_TYPES)
    problems.flag(unknown, "event_type", "unknown event_type; expected one of " + ", ".join(vocab.EVENT_TYPES))
    return event_type


def _check_participant(
    cells: pd.DataFrame,
    problems: RowProblems,
    participant: DistinctCells,
    participants: pd.DataFrame,
    quarantined: dict[str, int],
) -> None:
    pid = cells["participant_id"]
    problems.flag(pid == "", "participant_id", "participant_id is missing")
    in_quarantine = participant.apply(lambda distinct: distinct.isin(list(quarantined)))
    if in_quarantine.any():
        problems.flag(
            in_quarantine,
            "participant_id",
            "the participant's row in participants.csv (line "
            + participant.apply(lambda distinct: distinct.map(quarantined).astype("Int64").astype(TEXT).fillna(""))
            + ") was quarantined",
        )
    known = participant.apply(lambda distinct: distinct.isin(participants["participant_id"]))
    unknown = (pid != "") & ~known & ~in_quarantine
    problems.flag(unknown, "participant_id", "participant_id is not in participants.csv")


def _check_time_window(
    problems: RowProblems,
    participant: DistinctCells,
    start: pd.Series,
    participants: pd.DataFrame,
    exported_at: datetime | None,
    timezone: str | None,
) -> None:
    enrollment = participants.set_index("participant_id")["enrollment_date"]

    def earliest_of(participant: pd.Series) -> pd.Series:
        earliest_day = pd.to_datetime(participant.map(enrollment)) - pd.Timedelta(days=vocab.MAX_DAYS_BEFORE_ENROLLMENT)
        return earliest_day.dt.tz_localize(
            timezone or "UTC", nonexistent="shift_forward", ambiguous=True
        ).dt.tz_convert("UTC")

    earliest = participant.apply(earliest_of)
    problems.flag(
        start < earliest,
        "event_time",
        f"event_time is more than {vocab.MAX_DAYS_BEFORE_ENROLLMENT} days before the participant's enrollment",
    )
    if exported_at is not None:
        problems.flag(
            start > pd.Timestamp(exported_at).tz_convert("UTC"), "event_time", "event_time is after the export time"
        )


def _check_unit(cells: pd.DataFrame, problems: RowProblems, event_type: pd.Series) -> pd.Series:
    """The unit in its contract spelling (a categorical); required where a type has units and a value is given."""
    units = DistinctCells(cells["unit"])
    unit_given, value_given = _given(cells["unit"]), _given(cells["value"])
    spellings = _spellings(vocab.UNITS)
    unit = np.full(len(cells), -1, dtype=np.int64)
    for kind, allowed in vocab.UNITS.items():
        rows = (event_type == kind).to_numpy()
        if not rows.any():
            continue
        spelled = _in_contract_spelling(units, allowed, spellings, rows=rows)
        unit[rows] = spelled
        problems.flag(
            pd.Series(rows & value_given & ~unit_given, index=cells.index),
            "unit",
            f"{kind} needs a unit ({' or '.join(allowed)})",
        )
        problems.flag(
            _on_rows(rows, unit_given[rows] & (spelled < 0), cells.index),
            "unit",
            f"unknown {kind} unit; expected {' or '.join(allowed)}",
        )
    return pd.Series(pd.Categorical.from_codes(unit, categories=spellings), index=cells.index)


def _check_detail(cells: pd.DataFrame, problems: RowProblems, event_type: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The detail code in its contract spelling (free text kept for new_therapy and withdrawal), a categorical.

    The adverse events' ``term: free text`` is split once per distinct cell; the free text of each
    adverse event row (missing when empty) is the second result.
    """
    raw = cells["detail"]
    details = DistinctCells(raw)
    parts = _term_and_text(details.distinct)
    is_ae = (event_type == "adverse_event").to_numpy(dtype=bool)
    code_given = np.where(is_ae, _given(parts["term"])[details.positions], _given(details.distinct)[details.positions])
    spellings = _spellings(vocab.DETAIL_CODES)
    free_text = details.distinct[details.distinct.notna() & ~details.distinct.isin(spellings)]
    categories = spellings.append(pd.Index(free_text.astype(object), dtype=object))
    detail = np.full(len(cells), -1, dtype=np.int64)
    for kind, codes in vocab.DETAIL_CODES.items():
        rows = (event_type == kind).to_numpy()
        if not rows.any():
            continue
        spelled = _in_contract_spelling(details, codes, categories, of_term=kind == "adverse_event", rows=rows)
        detail[rows] = spelled
        problems.flag(
            _on_rows(rows, code_given[rows] & (spelled < 0), cells.index),
            "detail",
            f"unknown {kind} code; expected one of {', '.join(codes)}",
        )
    required = event_type.isin(
        [
            "vasopressor",
            "oxygen",
            "medication",
            "consciousness",
            "seizure",
            "motor_weakness",
            "cerebral_edema",
            "response_assessment",
            "adverse_event",
        ]
    )
    problems.flag(required & ~code_given, "detail", "detail is missing (a code is required for this event_type)")
    free = (event_type.isin(vocab.FREE_TEXT_DETAIL) & (raw != "")).to_numpy(dtype=bool)
    detail[free] = categories.get_indexer(details.distinct.astype(object))[details.positions[free]]
    with_text = is_ae & _given(parts["text"])[details.positions]
    detail_text = text_of_positions(parts["text"], np.where(with_text, details.positions, -1), cells.index)
    return pd.Series(pd.Categorical.from_codes(detail, categories=categories), index=cells.index), detail_text


def _spellings(vocabulary: dict[str, tuple[str, ...]]) -> pd.Index:
    """Every spelling of a vocabulary's values, each once, in the order given."""
    return pd.Index(list(dict.fromkeys(code for codes in vocabulary.values() for code in codes)), dtype=object)


def _given(cells: pd.Series) -> np.ndarray:
    """True where a text cell is not empty."""
    return (cells != "").to_numpy(dtype=bool)


def _on_rows(rows: np.ndarray, flagged: np.ndarray, index: pd.Index) -> pd.Series:
    """A mask over all rows, true where ``flagged`` (one value per true of ``rows``) is true."""
    mask = np.zeros(len(rows), dtype=bool)
    mask[rows] = flagged
    return pd.Series(mask, index=index)


def _in_contract_spelling(
    cells: DistinctCells,
    codes: tuple[str, ...],
    categories: pd.Index,
    *,
    of_term: bool = False,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """The position among ``categories`` of the code of each cell (``of_term``: its term, :func:`_term_and_text`) of ``rows`` in its contract spelling among ``codes``, -1 if none.

    Codes are matched as vocabulary values are (:func:`analysis.export.vocabulary.normalize_code`).
    """
    spelling = vocab.canonical(codes)

    def spelled(distinct: pd.Series) -> pd.Series:
        code = _term_and_text(distinct)["term"] if of_term else distinct
        return vocab.normalize_code(code).map(spelling)

    return cells.positions_among(spelled, categories, rows=rows)


def _term_and_text(detail: pd.Series) -> pd.DataFrame:
    """An adverse event's detail ``term: free text`` split into ``term`` and ``text``, both trimmed."""
    # two regular expressions rather than a split, so Arrow's kernels do the work
    return pd.DataFrame(
        {
            "term": detail.str.replace(r":[\s\S]*$", "", regex=True).str.strip(),
            "text": detail.str.replace(r"^[^:]*:?", "", regex=True).str.strip(),
        }
    )


def _check_value(
    cells: pd.DataFrame,
    problems: RowProblems,
    event_type: pd.Series,
    value: pd.Series,
    unit: pd.Series,
    detail: pd.Series,
) -> None:
    # as categoricals, the look-ups and comparisons below read codes rather than hash millions of strings
    unit, detail = unit.astype("category"), detail.astype("category")
    present = value.notna()
    needs_value = event_type.isin(vocab.VALUE_REQUIRED) | (
        (event_type == "oxygen") & ~detail.isin(vocab.OXYGEN_DEVICES_WITHOUT_FLOW)
    )
    problems.flag(needs_value & (cells["value"] == ""), "value", "value is missing (required for this event_type)")

    def out_of(kind: str, ok: pd.Series, reason: str, extra: pd.Series | bool = True) -> None:
        problems.flag((event_type == kind) & present & extra & ~ok, "value", reason)

    integer = value == value.round()
    out_of("temperature", value.between(30, 45), "temperature outside 30–45 °C", unit == "C")
    out_of("temperature", value.between(86, 113), "temperature outside 86–113 °F", unit == "F")
    out_of("systolic_bp", value.between(20, 250), "systolic_bp outside 20–250 mmHg")
    out_of("oxygen", value.between(0, 80), "oxygen flow outside 0–80 L/min")
    max_dose = detail.map(vocab.VASOPRESSOR_MAX_DOSE).astype("float64")
    out_of(
        "vasopressor",
        (value > 0) & (value <= max_dose),
        "vasopressor dose not above 0 and at most the drug's plausible maximum",
        detail.notna(),
    )
    problems.flag(
        (event_type == "vasopressor") & (detail == "vasopressin") & (unit == "mcg/kg/min"),
        "unit",
        "vasopressin is dosed in units/kg/min",
    )
    problems.flag(
        (event_type == "vasopressor") & (detail != "vasopressin") & detail.notna() & (unit == "units/kg/min"),
        "unit",
        "this vasopressor is dosed in mcg/kg/min",
    )
    out_of("medication", value > 0, "medication dose must be above 0")
    out_of("fluid_bolus", (value > 0) & (value <= 100), "fluid bolus must be above 0 and at most 100 mL/kg")
    out_of("ice_score", value.between(0, 10) & integer, "ICE score must be an integer 0–10")
    out_of("capd_score", value.between(0, 32) & integer, "CAPD score must be an integer 0–32")
    out_of("response_assessment", value.between(0, 100), "MRD must be 0–100 %")
    out_of("adverse_event", value.between(1, 5) & integer, "adverse event grade must be an integer 1–5")
    out_of("crs_grade_reported", value.between(0, 5) & integer, "reported CRS grade must be an integer 0–5")
    out_of("icans_grade_reported", value.between(0, 5) & integer, "reported ICANS grade must be an integer 0–5")


def _to_celsius(value: pd.Series, unit: pd.Series, event_type: pd.Series) -> pd.Series:
    """grading.md: °F is converted ((F − 32) × 5/9) and rounded to 0.01 °C before any comparison."""
    fahrenheit = (event_type == "temperature") & (unit == "F")
    return value.where(~fahrenheit, ((value - 32) * 5 / 9).round(2))
