"""The tables the ingest step writes: participants, events and the quarantine (outputs.md, export-format.md).

Every derivation reads participants and events with exactly these columns, so derivations can be
built and tested on small hand-made frames. A failure here is a defect of the pipeline, not of the
export: input faults are quarantined first.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.typing import Series

from analysis.export.participants import PLAIN_TOKEN
from analysis.export.timestamps import AMBIGUOUS_FLAG
from analysis.export.vocabulary import EVENT_TYPES, UNITS
from analysis.schemas.base import ARROW_TEXT, UTC_INSTANT, OutputModel, OutputTable, field, rows_in_key_order

PARTICIPANTS_KEY = ("participant_id",)
EVENTS_KEY = ("participant_id", "event_time", "event_type", "line")
QUARANTINE_KEY = ("file", "line")

CNS_STATUSES = ("CNS1", "CNS2", "CNS3")
PLAIN_TOKEN_ONLY = f"^{PLAIN_TOKEN}$"
"""An identifier that is a plain token and nothing else (export-format.md; ingest quarantines any other)."""
ANALYSIS_SETS = (
    'analysis sets of grading.md (`analysis/participant_vars.py:derive_analysis_sets`; "died before day 30/42" '
    "reads the one death, `derive_vars_death`)"
)
STORED_UNITS = tuple(dict.fromkeys(unit for units in UNITS.values() for unit in units if unit != "F"))
"""Units as stored: every unit of the export vocabulary except °F, which ingest converts to °C."""


class ProcessedParticipants(OutputModel):
    """**Grain:** participant enrolled on or before the data cut. **Key:** `participant_id`. Rules: O
    `participants.parquet`; export-format.md "participants.csv"; G "Time", "Analysis sets".
    """

    line: Series[int] = field(
        "line number in `participants.csv` (the header is line 1) — traceability", extra=True, ge=2
    )
    participant_id: Series[pd.StringDtype] = field(
        "a plain token: letters, digits, `-`, `_`, a letter or digit first, at most 64 characters (any other is "
        "quarantined)",
        unique=True,
        str_matches=PLAIN_TOKEN_ONLY,
        dtype_kwargs=ARROW_TEXT,
    )
    site_id: Series[pd.StringDtype] = field(
        "a plain token likewise", nullable=True, str_matches=PLAIN_TOKEN_ONLY, dtype_kwargs=ARROW_TEXT
    )
    age_years: Series[float] = field("age at enrollment", ge=1, lt=27)
    sex: Series[pd.StringDtype] = field("`M`/`F`", isin=["M", "F"], dtype_kwargs=ARROW_TEXT)
    weight_kg: Series[float] = field(gt=0, lt=250)
    enrollment_date: Series[pandas_engine.Date] = field()
    infusion_datetime: Series[pd.DatetimeTZDtype] = field(
        "as exported (may lie after the cut: then `infused` is false)", nullable=True, dtype_kwargs=UTC_INSTANT
    )
    marrow_blast_pct: Series[float] = field(ge=0, le=100)
    prior_hsct: Series[bool] = field()
    cns_status: Series[pd.StringDtype] = field(
        "`CNS1`/`CNS2`/`CNS3`", nullable=True, isin=list(CNS_STATUSES), dtype_kwargs=ARROW_TEXT
    )
    car_t_dose_per_kg: Series[float] = field(nullable=True)
    infused: Series[bool] = field("infused before the cut instant")
    age_at_infusion_years: Series[float] = field(
        "`age_years + (infusion date − enrollment date) / 365.25` (the PALS age of grading.md, "
        "`analysis/participant_vars.py:compute_age_at_infusion_years`); NaN if not infused",
        extra=True,
        nullable=True,
    )
    cut_hours: Series[float] = field(
        "hours from infusion to the cut instant (D + 1 day 00:00 local); NaN if not infused",
        extra=True,
        nullable=True,
    )
    data_end_hours: Series[float] = field(
        "hours from infusion to min(cut instant, export time); where open intervals end; NaN if not infused",
        extra=True,
        nullable=True,
    )
    safety: Series[bool] = field(ANALYSIS_SETS, rule='G "Analysis sets"')
    crs_evaluable: Series[bool] = field(ANALYSIS_SETS, rule='G "Analysis sets"')
    efficacy_evaluable: Series[bool] = field(ANALYSIS_SETS, rule='G "Analysis sets"')

    @pa.dataframe_check
    def evaluable_sets_are_within_safety(cls, frame: pd.DataFrame) -> Series[bool]:
        """CRS- and efficacy-evaluable participants are infused (grading.md, Analysis sets)."""
        return frame["safety"] | ~(frame["crs_evaluable"] | frame["efficacy_evaluable"])

    @pa.dataframe_check
    def infusion_times_only_when_infused(cls, frame: pd.DataFrame) -> Series[bool]:
        """`age_at_infusion_years`, `cut_hours` and `data_end_hours` are NaN exactly when not infused; safety = infused."""
        infused = frame["infused"]
        return (
            (frame["age_at_infusion_years"].notna() == infused)
            & (frame["cut_hours"].notna() == infused)
            & (frame["data_end_hours"].notna() == infused)
            & (frame["safety"] == infused)
        )

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant_id (outputs.md: every table sorted by its key)."""
        return rows_in_key_order(frame, PARTICIPANTS_KEY)


class ProcessedEvents(OutputModel):
    """**Grain:** kept input row of `events.csv` whose time is before the cut instant. Sorted by
    `participant_id`, `event_time`, `event_type`, `line`. Rules: O `events.parquet`; export-format.md
    "events.csv".
    """

    line: Series[int] = field("line number in `events.csv` (the header is line 1) — traceability", extra=True, ge=2)
    participant_id: Series[pd.StringDtype] = field(str_matches=PLAIN_TOKEN_ONLY, dtype_kwargs=ARROW_TEXT)
    event_type: Series[pd.StringDtype] = field(
        "normalized vocabulary code (" + ", ".join(f"`{code}`" for code in EVENT_TYPES) + ")",
        isin=list(EVENT_TYPES),
        dtype_kwargs=ARROW_TEXT,
    )
    event_time: Series[pd.DatetimeTZDtype] = field("the instant", dtype_kwargs=UTC_INSTANT)
    end_time: Series[pd.DatetimeTZDtype] = field(
        "interval events; null = still running at export", nullable=True, dtype_kwargs=UTC_INSTANT
    )
    value: Series[float] = field("temperature always in °C (°F converted and rounded to 0.01)", nullable=True)
    unit: Series[pd.StringDtype] = field(
        "normalized: " + ", ".join(f"`{unit}`" for unit in STORED_UNITS),
        nullable=True,
        isin=list(STORED_UNITS),
        dtype_kwargs=ARROW_TEXT,
    )
    detail: Series[pd.StringDtype] = field(
        "normalized code for coded types (drug, device, cause, level, response, relapse type, AE term); free "
        "text as given for `new_therapy` and `withdrawal` (a leading `'` added to text starting with `=`, `+`, "
        "`-`, `@`, tab or CR, as to every text value of the ingest's tables: no live spreadsheet formula)",
        nullable=True,
        dtype_kwargs=ARROW_TEXT,
    )
    detail_text: Series[pd.StringDtype] = field(
        "free text after the colon of an `adverse_event` term (formulas neutralized likewise)",
        extra=True,
        nullable=True,
        dtype_kwargs=ARROW_TEXT,
    )
    time_flag: Series[pd.StringDtype] = field(
        f"`{AMBIGUOUS_FLAG}` when a naive local time fell in a fall-back hour",
        extra=True,
        nullable=True,
        isin=[AMBIGUOUS_FLAG],
        dtype_kwargs=ARROW_TEXT,
    )
    hours_from_infusion: Series[float] = field(
        "(event_time − infusion) in hours; NaN when the participant is not infused", nullable=True
    )
    end_hours_from_infusion: Series[float] = field(
        "likewise for `end_time`; NaN when there is no end", extra=True, nullable=True
    )

    @pa.dataframe_check
    def temperatures_are_celsius(cls, frame: pd.DataFrame) -> Series[bool]:
        """Temperatures are stored in °C (export-format.md: °F is converted at ingest)."""
        temperature = frame["event_type"] == "temperature"
        return ~temperature | ((frame["unit"] == "C") & frame["value"].between(30, 45))

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant, time, type and input line."""
        return rows_in_key_order(frame, EVENTS_KEY)


class Quarantine(OutputModel):
    """**Grain:** rejected input row. **Key:** (`file`, `line`). Rules: O `quarantine.parquet`.

    A row with several problems gets one quarantine row listing them all, joined with "; " (export-format.md,
    "What bad input gets").
    """

    file: Series[str] = field("the input file (`participants.csv`, `events.csv`)")
    line: Series[int] = field("line number in that file (the header is line 1)", ge=1)
    column: Series[str] = field("the column(s) at fault; `(row)` for a row the CSV reader could not split")
    value: Series[str] = field(
        "the offending value(s) as given, each cut to 200 characters, formulas neutralized (a leading `'`)"
    )
    reason: Series[str] = field("why the row was rejected, in plain words")

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by file and line."""
        return rows_in_key_order(frame, QUARANTINE_KEY)


PROCESSED_TABLES = (
    OutputTable(
        "participants.parquet",
        ProcessedParticipants,
        "one row per participant enrolled on or before the data cut",
        "processed",
        PARTICIPANTS_KEY,
    ),
    OutputTable(
        "events.parquet",
        ProcessedEvents,
        "one row per kept input row whose time is before the cut instant",
        "processed",
        EVENTS_KEY,
        notes=(
            "Rows after the cut instant and rows of participants enrolled after the cut are left out and\n"
            "counted in `manifest.json`."
        ),
    ),
    OutputTable(
        "quarantine.parquet",
        Quarantine,
        "every rejected input row",
        "processed",
        QUARANTINE_KEY,
    ),
)
