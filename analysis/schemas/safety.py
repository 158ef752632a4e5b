"""The safety tables per participant and per event: icans, anakinra and ae (outputs.md, grading.md)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.export.vocabulary import DETAIL_CODES
from analysis.schemas.base import ARROW_TEXT, OutputModel, OutputTable, field, rows_in_key_order

ICANS_KEY = ("participant_id",)
ANAKINRA_KEY = ("participant_id",)
AE_KEY = ("participant_id", "onset_hours", "term")


class Icans(OutputModel):
    """**Grain:** infused participant. **Key:** `participant_id`. Rules: G "ICANS, ASTCT 2019"; O
    `icans.parquet`.

    Every neurological assessment from the infusion to the cut (`ice_score`, `capd_score`,
    `consciousness`, `seizure`, `motor_weakness`, `cerebral_edema`) is graded on its own, at its own
    time. Encephalopathy is graded with ICE from age `ice_min_age_years` (12) at the assessment
    (ICE 10 → 0, 7–9 → 1, 3–6 → 2, 0–2 → 3). Below that age it is graded with CAPD (0 → 0, 1–8 → 1,
    ≥ 9 → 3). The age at the assessment is `age_at_infusion_years` + hours / 8766. A tool used at the
    wrong age is still used, and a query is raised. Consciousness: `awake` 0, `awakens_to_voice` 2,
    `awakens_to_tactile` 3, `unarousable` 4. Seizure: `focal_or_generalized_resolving` and
    `nonconvulsive_on_eeg` 3, `prolonged_or_repetitive` 4. Motor: `deep_focal` 4. Cerebral edema:
    `focal` 3, `diffuse` 4.
    """

    participant_id: Series[pd.StringDtype] = field(unique=True, dtype_kwargs=ARROW_TEXT)
    icans_any: Series[bool] = field("`icans_max_grade` ≥ 1")
    icans_onset_hours: Series[float] = field(
        "time of the first assessment graded ≥ 1 (or of a death from ICANS). null if there is none",
        nullable=True,
        ge=0,
    )
    icans_max_grade: Series[int] = field(
        "worst grade over the assessments, 0–4, or 5 when the death (`derive_vars_death`) has cause `icans`. 0 "
        "with assessments and nothing positive. 0 with no assessment at all",
        rule='G "Grade 5", "With at least one …"',
        in_range={"min_value": 0, "max_value": 5},
    )
    icans_assessed: Series[bool] = field(
        "at least one neurological assessment at or after the infusion. A death from ICANS is not an assessment: "
        "it gives grade 5 whatever this column says",
        rule='G "With none at all: 0 and icans_assessed = false"',
    )
    icans_grade_reported_max: Series[pd.Int64Dtype] = field(
        "highest `icans_grade_reported` of the participant (every row before the cut, as for CRS). null if there "
        "is none. Used only for reconciliation (`icans_grade_discrepancy`)",
        rule="O `queries.parquet`",
        extra=True,
        nullable=True,
        in_range={"min_value": 0, "max_value": 5},
    )

    @pa.dataframe_check
    def icans_any_is_grade_1_or_more(cls, frame: pd.DataFrame) -> Series[bool]:
        """`icans_any` = `icans_max_grade` ≥ 1."""
        return frame["icans_any"] == (frame["icans_max_grade"] >= 1)

    @pa.dataframe_check
    def onset_only_with_icans(cls, frame: pd.DataFrame) -> Series[bool]:
        """`icans_onset_hours` is null exactly when there is no ICANS."""
        return frame["icans_onset_hours"].notna() == frame["icans_any"]

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant."""
        return rows_in_key_order(frame, ICANS_KEY)


class Anakinra(OutputModel):
    """**Grain:** infused participant. **Key:** `participant_id`. Rules: G "Anakinra timing (PACER
    protocol)"; O `anakinra.parquet`. Durations between two instants are computed from the exact
    timestamps.
    """

    participant_id: Series[pd.StringDtype] = field(unique=True, dtype_kwargs=ARROW_TEXT)
    first_fever_hours: Series[float] = field(
        "first temperature ≥ `fever_celsius` (compared after rounding to 0.01 °C) at or after the infusion (= "
        "ASTCT onset): the same value as `crs.first_fever_hours` (`derive_var_first_fever`)",
        rule='G "First fever"',
        nullable=True,
        ge=0,
    )
    trigger_hours: Series[float] = field(
        "the protocol trigger (persistent fever): the earliest reading > `trigger_temperature_celsius` (38.5 °C) "
        "at a time t for which some earlier reading > 38.5 °C lies in [t − `trigger_max_gap_hours`, t − "
        "`trigger_min_gap_hours`] = [t − 24 h, t − 4 h]. Any pair of readings counts, not only consecutive ones, "
        "and both bounds are included. null without a trigger",
        rule='G "Protocol trigger"',
        nullable=True,
        ge=0,
    )
    first_anakinra_hours: Series[float] = field(
        "first `medication` row with drug `anakinra` at or after the infusion. null if none",
        rule='G "First anakinra dose"',
        nullable=True,
        ge=0,
    )
    fever_to_anakinra_hours: Series[float] = field(
        "first dose − first fever, in hours. Negative when the dose came first", rule="same", nullable=True
    )
    trigger_to_anakinra_hours: Series[float] = field(
        "first dose − trigger, in hours. Negative when the dose came first", rule="same", nullable=True
    )
    anakinra_doses: Series[int] = field(
        "anakinra rows from the infusion to the cut (0 if none). A dose with no readable amount is counted",
        rule='G "Doses"',
        ge=0,
    )
    anakinra_escalated: Series[bool] = field(
        "two consecutive doses less than `escalation_interval_hours` (9 h) apart, or a dose whose mg/kg (rounded "
        "to `anakinra_mg_per_kg_decimals`) is above the first dose's",
        rule='G "Escalation"',
    )
    max_dose_mg_per_kg: Series[float] = field(
        "highest per-dose mg/kg (mg ÷ `weight_kg`). null without a readable dose", extra=True, nullable=True, ge=0
    )
    doses_over_limit: Series[int] = field(
        "doses above `anakinra_max_mg_per_kg` (2.5 mg/kg) or above `anakinra_max_mg` (100 mg). Strictly above: "
        "exactly 2.5 mg/kg or exactly 100 mg is within the limit",
        rule='G "Deviations"',
        extra=True,
        ge=0,
    )
    tocilizumab_given: Series[bool] = field(
        "tocilizumab from the infusion to day `rescue_window_days` (30), end included", rule='G "Rescue"'
    )
    corticosteroids_given: Series[bool] = field(
        "dexamethasone, methylprednisolone or hydrocortisone in the same window", rule='G "Rescue"'
    )
    rescue_after_anakinra: Series[bool] = field(
        "tocilizumab, siltuximab or a corticosteroid strictly after the first anakinra dose, up to the cut. A drug "
        "given at the same instant is concurrent, not rescue",
        rule='G "Rescue"',
        extra=True,
    )
    deviation: Series[pd.StringDtype] = field(
        'protocol deviations in words, joined with "; " in this order: a dose with no trigger; the first dose '
        "before the trigger; the first dose more than `anakinra_window_hours` (6 h) after the trigger; each dose "
        "over the limit. null when there is none",
        rule='G "Deviations"',
        nullable=True,
        dtype_kwargs=ARROW_TEXT,
    )

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant."""
        return rows_in_key_order(frame, ANAKINRA_KEY)


class AdverseEvents(OutputModel):
    """**Grain:** adverse event (one `adverse_event` row of an infused participant at or after the
    infusion). **Key:** (`participant_id`, `onset_hours`, `term`). Ties keep the input order. Rules: O
    `ae.parquet`; export-format.md `adverse_event`. Adverse events before the infusion are not in this
    table; they remain in `events.parquet`. CRS and ICANS are derived as above and are never read from
    here.
    """

    participant_id: Series[pd.StringDtype] = field(dtype_kwargs=ARROW_TEXT)
    term: Series[pd.StringDtype] = field(
        "the AE code (export vocabulary: " + ", ".join(f"`{term}`" for term in DETAIL_CODES["adverse_event"]) + ")",
        isin=list(DETAIL_CODES["adverse_event"]),
        dtype_kwargs=ARROW_TEXT,
    )
    term_text: Series[pd.StringDtype] = field(
        "the free text after the colon of the term, if any", extra=True, nullable=True, dtype_kwargs=ARROW_TEXT
    )
    grade: Series[int] = field("CTCAE grade (the row's value)", in_range={"min_value": 1, "max_value": 5})
    onset_hours: Series[float] = field("`event_time` in hours since the infusion", ge=0)
    resolved_hours: Series[float] = field(
        "`end_time` in hours since the infusion. null while unresolved", nullable=True
    )
    study_day_onset: Series[int] = field("floor(`onset_hours` / 24). Day 0 is the first 24 h", extra=True, ge=0)
    outcome: Series[pd.StringDtype] = field(
        "the outcome at the cut: `fatal` (grade 5, whatever its `end_time`), `resolved` (an `end_time`), "
        "`ongoing` (neither)",
        extra=True,
        isin=["fatal", "resolved", "ongoing"],
        dtype_kwargs=ARROW_TEXT,
    )

    @pa.dataframe_check
    def resolved_after_onset(cls, frame: pd.DataFrame) -> Series[bool]:
        """An AE resolves at or after its onset (export-format.md: `end_time` not before `event_time`)."""
        return frame["resolved_hours"].isna() | (frame["resolved_hours"] >= frame["onset_hours"])

    @pa.dataframe_check
    def grade_5_is_fatal(cls, frame: pd.DataFrame) -> Series[bool]:
        """A grade-5 event is `fatal`, and only a grade-5 event (CTCAE: grade 5 is death)."""
        return (frame["grade"] == 5) == (frame["outcome"] == "fatal")

    @pa.dataframe_check
    def study_day_is_the_floor_of_onset_days(cls, frame: pd.DataFrame) -> Series[bool]:
        """`study_day_onset` = floor(`onset_hours` / 24)."""
        return frame["study_day_onset"] == (frame["onset_hours"] // 24)

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant, onset and term; ties keep the input order."""
        return rows_in_key_order(frame, AE_KEY)


SAFETY_TABLES = (
    OutputTable("icans.parquet", Icans, "ICANS per participant (ASTCT 2019)", "derived", ICANS_KEY),
    OutputTable(
        "anakinra.parquet",
        Anakinra,
        "time from fever to anakinra, doses, rescue, deviations",
        "derived",
        ANAKINRA_KEY,
    ),
    OutputTable("ae.parquet", AdverseEvents, "adverse events", "derived", AE_KEY),
)
