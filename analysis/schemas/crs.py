"""The CRS tables: the state over time (crs_timeline) and CRS per participant (crs), outputs.md and grading.md."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.export.vocabulary import DETAIL_CODES
from analysis.schemas.base import OutputModel, OutputTable, field, rows_in_key_order

CRS_TIMELINE_KEY = ("participant_id", "start_hours")
CRS_KEY = ("participant_id",)

LEVELS = [0, 2, 3, 4]
"""Hypotension and hypoxia levels (grading.md: there is no level 1)."""


class CrsTimeline(OutputModel):
    """**Grain:** participant × interval of constant state. **Key:** (`participant_id`, `start_hours`).
    Rules: G "The physiological state over time", "CRS, ASTCT 2019", "CRS, Penn scale"; O
    `crs_timeline.parquet`.

    Each row is a half-open interval [`start_hours`, `end_hours`). Together, a participant's rows run
    without a gap from hour 0 to the participant's **horizon**. The horizon is the earliest of three
    times: `data_end_hours` (the export time or the cut, whichever is first), the death (the one
    death of every table, see above; a death dated before the infusion at 0), and day
    `crs_followup_days` (60). An infused participant whose horizon is 0
    has no rows. Consecutive intervals in which no column below changes are merged into one row. A
    row is therefore a maximal stretch of constant state, not a single reading. The timeline never
    shows grade 5: death ends the timeline, and grade 5 is a participant-level grade in `crs`.
    """

    participant_id: Series[str] = field()
    start_hours: Series[float] = field("start of the interval (included)", ge=0)
    end_hours: Series[float] = field("end of the interval (excluded)")
    episode: Series[int] = field(
        "number of the counted ASTCT episode this moment belongs to (1, 2, … per participant). 0 outside "
        "counted episodes: before the first fever, between episodes, and inside episodes that start after day "
        "`crs_window_days`",
        rule='G "A new episode", "Window"',
        ge=0,
    )
    crs_grade: Series[int] = field(
        "ASTCT grade at this moment, 0–4. Inside a counted episode it is max(1, `hypotension_level`, "
        "`hypoxia_level`), and no fever is needed after onset. Outside a counted episode it is 0",
        rule='G "Within an episode"',
        in_range={"min_value": 0, "max_value": 4},
    )
    crs_grade_penn: Series[int] = field(
        "Penn **approximation** at this moment, 0–4, graded only inside ASTCT episodes (0 outside). 4: "
        "`high_dose_run`, or `oxygen_device` = `mechanical_ventilation`. 3: any vasopressor running "
        "(`hypotension_level` ≥ 3, vasopressin alone included, also a high-dose run shorter than 3 h), any other "
        "oxygen (CPAP/BiPAP included), or `repeat_bolus`. 2: `hypotension_level` = 2 otherwise. 1: otherwise",
        rule='G "CRS, Penn scale"',
        in_range={"min_value": 0, "max_value": 4},
    )
    fever: Series[bool] = field(
        "the temperature reading in force is ≥ `fever_celsius` (38.0 °C), compared after rounding to 0.01 °C. "
        "False when no reading is in force (unobserved)",
        rule='G "Fever"',
    )
    hypotension_level: Series[int] = field(
        "0 none. 2: SBP in force below the PALS threshold, or a bolus counts (`bolus`). 3: one vasopressor "
        "running, with or without vasopressin (vasopressin alone counts as one). 4: two or more non-vasopressin "
        "vasopressors running at once",
        rule='G "Hypotension level"',
        isin=LEVELS,
    )
    hypoxia_level: Series[int] = field(
        "level of the oxygen device running. 0 none. 2: `blow_by`, or `nasal_cannula` ≤ 6 L/min. 3: "
        "`nasal_cannula` > `high_flow_nasal_cannula_above_l_min`, `high_flow_nasal_cannula`, `simple_face_mask`, "
        "`venturi_mask`, `nonrebreather_mask`. 4: `cpap`, `bipap`, `mechanical_ventilation`",
        rule='G "Hypoxia level"',
        isin=LEVELS,
    )
    temperature_observed: Series[bool] = field(
        "a temperature reading is in force: the last reading is less than `reading_hold_hours` (12 h) old and no "
        "later reading has replaced it. False = unobserved, read as normal (and queried as `reading_gap`)",
        rule='G "The physiological state over time"',
        extra=True,
    )
    sbp_observed: Series[bool] = field("the same for `systolic_bp`", rule="same", extra=True)
    sbp_low: Series[bool] = field(
        "the SBP in force is below the PALS threshold for the age at infusion (`pals_age`): < 70 under 1 y; "
        "< 70 + 2 × age from 1 to under 10 y; < 90 from 10 y",
        rule='G "Hypotension level"',
        extra=True,
    )
    bolus: Series[bool] = field(
        "a `fluid_bolus` counts, from its time for `bolus_hold_hours` (1 h)",
        rule='G "Hypotension level"',
        extra=True,
    )
    repeat_bolus: Series[bool] = field(
        "a bolus counts and another bolus was given at most `penn_repeat_bolus_hours` (24 h) before it (same "
        "instant included). This is Penn grade 3",
        rule='G "CRS, Penn scale"',
        extra=True,
    )
    vasopressor_count: Series[int] = field(
        "number of different vasopressor drugs running, vasopressin included", rule='G "Intervals"', extra=True, ge=0
    )
    vasopressin: Series[bool] = field("vasopressin is running", extra=True)
    high_dose: Series[bool] = field(
        "the running doses are high dose (`high_dose.*`). Either one drug is at or above its monotherapy "
        "threshold, or ≥ 2 drugs are running (vasopressin counts as a drug) and the norepinephrine equivalent "
        "NE + EPI + PHE/10 + DOPA/140 is ≥ 0.28 mcg/kg/min (≥ 0.14 with vasopressin running). Vasopressin alone "
        "is never high dose",
        rule='G "High dose"',
        extra=True,
    )
    high_dose_run: Series[bool] = field(
        "inside an uninterrupted high-dose span lasting at least `high_dose.min_duration_hours` (3 h). Every "
        "moment of such a span is marked, its first 3 h included. A titration or a switch of drug at the same "
        "instant does not interrupt the span. A span cut short by the horizon counts only the part observed",
        rule='G "CRS, Penn scale" (grade 4)',
        extra=True,
    )
    oxygen_device: Series[str] = field(
        "the oxygen device running (export vocabulary). null without oxygen",
        rule='G "Intervals"',
        extra=True,
        nullable=True,
        isin=list(DETAIL_CODES["oxygen"]),
    )

    class Config:
        unique: ClassVar[list[str]] = list(CRS_TIMELINE_KEY)

    @pa.dataframe_check
    def intervals_are_not_empty(cls, frame: pd.DataFrame) -> Series[bool]:
        """Each row is a half-open interval [start_hours, end_hours) of positive length."""
        return frame["end_hours"] > frame["start_hours"]

    @pa.dataframe_check
    def rows_run_without_a_gap_from_hour_0(cls, frame: pd.DataFrame) -> Series[bool]:
        """A participant's intervals start at hour 0 and each starts where the previous one ended."""
        previous_end = frame.groupby("participant_id", sort=False)["end_hours"].shift()
        return frame["start_hours"] == previous_end.fillna(0.0)

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant and interval start."""
        return rows_in_key_order(frame, CRS_TIMELINE_KEY)


class Crs(OutputModel):
    """**Grain:** infused participant. **Key:** `participant_id`. Rules: G "CRS, ASTCT 2019",
    "CRS, Penn scale"; O `crs.parquet`.

    An **episode** starts at the first fever after the infusion. Once an episode has ended, a new one
    starts at the next fever. A new one can also start without fever, at hypotension ≥ 2 or hypoxia
    ≥ 2 within `masking_hours` (72 h) after a dose of a `masking_drugs` drug given at or after the
    first fever. An episode ends at the start of the first *clean span*: `episode_gap_hours` (24 h;
    exactly 24 h is enough) during which there is no fever, no hypotension (level > 0), no oxygen
    and no vasopressor. An episode with no clean span before the horizon is **open**. An episode
    **counts** only if it starts within days 0–`crs_window_days` (30). A counted episode is followed
    to its end or to the horizon, which is at most day `crs_followup_days` (60).
    """

    participant_id: Series[str] = field(unique=True)
    crs_any: Series[bool] = field("at least one counted episode, or grade 5", rule='G "Window", "Grade 5"')
    crs_onset_hours: Series[float] = field(
        "onset of the first counted episode. null without one, including grade 5 with no episode",
        rule='G "Onset"',
        nullable=True,
        ge=0,
    )
    crs_max_grade: Series[int] = field(
        "ASTCT grade 0–5: the maximum of `crs_timeline.crs_grade` over the counted episodes, 5 for a death from "
        "CRS (`crs_death`), 0 without CRS",
        rule='G "A participant\'s maximum grade", "Grade 5"',
        in_range={"min_value": 0, "max_value": 5},
    )
    crs_max_grade_penn: Series[int] = field(
        "the same on the Penn **approximation** (`crs_grade_penn`, 5 for a death from CRS). It can only "
        "under-grade grades 3–4 (see the ARD section)",
        rule='G "CRS, Penn scale"',
        in_range={"min_value": 0, "max_value": 5},
    )
    crs_episodes: Series[int] = field(
        "number of counted episodes: episodes started by fever plus episodes started without fever under a "
        "masking drug",
        rule='G "A new episode"',
        ge=0,
    )
    crs_duration_hours: Series[float] = field(
        "sum of the lengths of the counted episodes. An open episode counts up to its censoring time. 0 without "
        "an episode",
        rule='G "CRS, ASTCT 2019" ("the sum of episode lengths")',
        ge=0,
    )
    crs_open: Series[bool] = field(
        "at least one counted episode is open: no clean span by death, day `crs_followup_days` or the data end. "
        "Its duration is censored, and a `crs_episode_open` query is raised",
        rule='G "Episode end"',
    )
    crs_grade_reported_max: Series[pd.Int64Dtype] = field(
        "highest `crs_grade_reported` of the participant (every row before the cut, including rows before the "
        "infusion). null if there is none. Used only for reconciliation (`crs_grade_discrepancy`)",
        rule="O `crs.parquet`",
        nullable=True,
        in_range={"min_value": 0, "max_value": 5},
    )
    first_fever_hours: Series[float] = field(
        "first temperature ≥ 38.0 °C (rounded to 0.01 °C) at or after the infusion, at any time, in the window or "
        "not: its `hours_from_infusion`, the same value as `anakinra.first_fever_hours` (`derive_var_first_fever`). "
        "It differs from `crs_onset_hours` when the first fever is after day `crs_window_days`, and by less than "
        "10⁻⁶ h otherwise (the onset is on the state's 10⁻⁶ h tick grid)",
        rule='G "Onset"',
        nullable=True,
        ge=0,
    )
    crs_grade3plus: Series[bool] = field(
        "`crs_max_grade` ≥ 3 (severe CRS). Feeds the ARD `crs_rate`",
        rule='G "severe CRS = maximum ≥ 3"',
        extra=True,
    )
    crs_grade4plus: Series[bool] = field("`crs_max_grade` ≥ 4", rule='G "(also report ≥ 4)"', extra=True)
    crs_penn_grade3plus: Series[bool] = field("`crs_max_grade_penn` ≥ 3", rule='G "CRS, Penn scale"', extra=True)
    crs_penn_grade4plus: Series[bool] = field("`crs_max_grade_penn` ≥ 4", rule="same", extra=True)
    crs_death: Series[bool] = field(
        "grade 5: a death with cause `crs` during a counted episode (an open episode ends at the death), or within "
        "days 0–`crs_window_days`",
        rule='G "Grade 5"',
        extra=True,
    )
    crs_end_hours: Series[float] = field(
        "end of the last counted episode (its censoring time if it is open). null without an episode",
        extra=True,
        nullable=True,
    )
    crs_followed_to_hours: Series[float] = field(
        "the horizon: how far the CRS state was observed, i.e. the earliest of `data_end_hours`, death and day "
        "`crs_followup_days`",
        extra=True,
        ge=0,
    )

    @pa.dataframe_check
    def severity_flags_follow_the_maximum_grades(cls, frame: pd.DataFrame) -> Series[bool]:
        """`crs_grade3plus`/`4plus` and the Penn flags are the maximum grades ≥ 3 and ≥ 4 (grading.md)."""
        return (
            (frame["crs_grade3plus"] == (frame["crs_max_grade"] >= 3))
            & (frame["crs_grade4plus"] == (frame["crs_max_grade"] >= 4))
            & (frame["crs_penn_grade3plus"] == (frame["crs_max_grade_penn"] >= 3))
            & (frame["crs_penn_grade4plus"] == (frame["crs_max_grade_penn"] >= 4))
        )

    @pa.dataframe_check
    def crs_any_is_an_episode_or_grade_5(cls, frame: pd.DataFrame) -> Series[bool]:
        """`crs_any`: at least one counted episode, or grade 5 (grading.md, "Window", "Grade 5")."""
        return frame["crs_any"] == ((frame["crs_episodes"] > 0) | (frame["crs_max_grade"] == 5))

    @pa.dataframe_check
    def onset_and_end_only_with_an_episode(cls, frame: pd.DataFrame) -> Series[bool]:
        """`crs_onset_hours` and `crs_end_hours` are null exactly when there is no counted episode (duration 0)."""
        episode = frame["crs_episodes"] > 0
        return (
            (frame["crs_onset_hours"].notna() == episode)
            & (frame["crs_end_hours"].notna() == episode)
            & (episode | (frame["crs_duration_hours"] == 0))
        )

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant."""
        return rows_in_key_order(frame, CRS_KEY)


CRS_TABLES = (
    OutputTable(
        "crs_timeline.parquet",
        CrsTimeline,
        "the physiological state and the CRS grade over time",
        "derived",
        CRS_TIMELINE_KEY,
        notes="""How intervals are built (G "Intervals"; the choices where grading.md is silent are listed in
`analysis/derive/crs.py`):
- A `vasopressor` or `oxygen` row runs from `event_time` to `end_time`. A later row of the same
  drug replaces the earlier one (titration). A later oxygen row of any device replaces the earlier
  one.
- A row without an `end_time` ends at the next row of its drug (oxygen: the next oxygen row).
  Without such a row it runs to `data_end_hours` and raises an `open_interval` query. Only this
  last case is queried: ordinary titration charting is not.
- Rows of one drug at the same instant become one row, with the highest dose and the latest end.
  Oxygen rows at the same instant become one row with the worst device.
- Rows that started before the infusion are not used, even if they run past it.
- Two readings of one type at the same time: the worst one counts (highest temperature, lowest
  SBP).""",
    ),
    OutputTable(
        "crs.parquet",
        Crs,
        "CRS per participant (ASTCT 2019 and the Penn approximation)",
        "derived",
        CRS_KEY,
    ),
)
