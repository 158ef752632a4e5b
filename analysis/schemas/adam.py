"""The analysis datasets in the ADaM style: adsl (one row per subject) and adtte (time to event), outputs.md."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.export.vocabulary import DETAIL_CODES
from analysis.schemas.base import ARROW_TEXT, OutputModel, OutputTable, field, rows_in_key_order

ADSL_KEY = ("participant_id",)
ADTTE_KEY = ("participant_id", "paramcd")

RESPONSES = list(DETAIL_CODES["response_assessment"])
DEATH_CAUSES = list(DETAIL_CODES["death"])
PARAMCDS = ["OS", "EFS", "RFS", "CIR"]
TTE_SOURCES = [
    "death",
    "relapse",
    "failure_no_cr_day28",
    "failure_no_assessment_day28",
    "failure_new_therapy_before_cr",
    "hsct_in_remission",
    "new_therapy_in_remission",
    "last_known_alive",
    "horizon",
]
CNSR_CODES = {
    0: "event",
    1: "last known alive",
    2: "12-month horizon",
    3: "HSCT in remission",
    4: "new therapy in remission",
}
"""outputs.md, adtte.parquet: the censoring codes."""
CIR_EVENT_CODES = {0: "censored", 1: "relapse", 2: "death without relapse"}
"""outputs.md, adtte.parquet: for CIR, the competing-risk event code."""


def from_table(table: str) -> str:
    """The meaning of an adsl column copied from a per-participant safety table."""
    return f"from `{table}.parquet`"


class Adsl(OutputModel):
    """**Grain:** enrolled participant (enrolled on or before the cut, infused or not). **Key:**
    `participant_id`. Rules: G "Analysis sets", "Burden", "Response and 12-month outcomes",
    "Treatment-related death"; O `adsl.parquet`. The safety columns copied from `crs`, `icans` and
    `anakinra` are null for participants who are not infused.
    """

    participant_id: Series[pd.StringDtype] = field(unique=True, dtype_kwargs=ARROW_TEXT)
    age_years: Series[float] = field("age at enrollment (participants.csv)")
    sex: Series[pd.StringDtype] = field("`M` / `F`", isin=["M", "F"], dtype_kwargs=ARROW_TEXT)
    weight_kg: Series[float] = field(extra=True)
    marrow_blast_pct: Series[float] = field("pre-lymphodepletion marrow blasts, %", ge=0, le=100)
    prior_hsct: Series[bool] = field()
    cns_status: Series[pd.StringDtype] = field(
        "`CNS1` / `CNS2` / `CNS3`", extra=True, nullable=True, dtype_kwargs=ARROW_TEXT
    )
    car_t_dose_per_kg: Series[float] = field(extra=True, nullable=True)
    infused: Series[bool] = field("infused before the cut instant", rule='G "Time"')
    safety: Series[bool] = field("infused before the cut", rule='G "Analysis sets"')
    crs_evaluable: Series[bool] = field(
        "infused at least 30 days before the cut, or died before day 30. The set for CRS and ICANS rates and for "
        "the stopping rules",
        rule='G "Analysis sets"',
    )
    efficacy_evaluable: Series[bool] = field(
        "infused at least 42 days before the cut, or died before day 42. The set for the ARD `response`",
        rule='G "Analysis sets"',
    )
    high_burden: Series[bool] = field("`marrow_blast_pct` ≥ `high_burden_pct` (40)", rule='G "Burden"')
    withdrawn: Series[bool] = field("a `withdrawal` row before the cut", extra=True)
    withdrawal_reason: Series[pd.StringDtype] = field(
        "free text of the first withdrawal", extra=True, nullable=True, dtype_kwargs=ARROW_TEXT
    )
    withdrawal_days: Series[float] = field(
        "study day of the first withdrawal. null if not infused", extra=True, nullable=True
    )
    death: Series[bool] = field("a `death` row before the cut (at any time, also for a participant who is not infused)")
    death_cause: Series[pd.StringDtype] = field(
        "cause of the death (`derive_vars_death`: the earliest death row, at the same instant the first line of "
        "the export): " + ", ".join(f"`{cause}`" for cause in DEATH_CAUSES),
        nullable=True,
        isin=DEATH_CAUSES,
        dtype_kwargs=ARROW_TEXT,
    )
    death_days: Series[float] = field(
        "study day of that death. A death dated before the infusion is clamped to 0 and queried. null if not infused",
        rule='G "Contradictory dates"',
        extra=True,
        nullable=True,
        ge=0,
    )
    treatment_related_death: Series[bool] = field(
        "cause in `trm_causes` (`crs`, `icans`, `infection`) with `death_days` ≤ `trm_cause_days` (100), or any "
        "cause other than `disease` (a missing cause included) with `death_days` ≤ `trm_any_cause_days` (30). "
        "False if not infused",
        rule='G "Treatment-related death"',
        extra=True,
    )
    completed_12_months: Series[bool] = field(
        "infused and `last_known_alive_days` ≥ `horizon_days` (365.25)",
        rule='G "Response and 12-month outcomes"',
        extra=True,
    )
    ongoing_at_cut: Series[bool] = field(
        "no death, no withdrawal and 12 months not completed. For a participant not infused it means awaiting "
        "infusion. If any participant has it, the run is an **interim look** (ARD p-values descriptive)",
        rule='O "Primary analysis"',
        extra=True,
    )
    response_day28: Series[pd.StringDtype] = field(
        "response code (" + ", ".join(f"`{code}`" for code in RESPONSES) + ") of the assessment nearest day "
        "`response_target_day` (28) within days `response_window_days` (21–42). Of two assessments equally "
        "near, the earlier is used. null without one in the window",
        rule='G "Day-28 response"',
        nullable=True,
        isin=RESPONSES,
        dtype_kwargs=ARROW_TEXT,
    )
    response_day28_days: Series[float] = field("study day of that assessment", extra=True, nullable=True)
    mrd_day28_pct: Series[float] = field("the MRD % recorded with it", extra=True, nullable=True, ge=0, le=100)
    mrd_negative_day28: Series[pd.BooleanDtype] = field(
        "MRD < `mrd_negative_below_pct` (0.01 %). null without an MRD value or without an assessment",
        rule='G "Day-28 response"',
        nullable=True,
    )
    cr_cri_day28: Series[pd.BooleanDtype] = field(
        "the day-28 response is CR or CRi. False when the window has no assessment. null if not infused",
        extra=True,
        nullable=True,
    )
    best_response_3mo: Series[pd.StringDtype] = field(
        "best response from day 0 to day `best_response_by_day` (91), ranked CR > CRi > PR > NR > not_evaluable. "
        "null if there is none",
        rule='G "best response within 3 months"',
        nullable=True,
        isin=RESPONSES,
        dtype_kwargs=ARROW_TEXT,
    )
    best_cr_cri_3mo: Series[pd.BooleanDtype] = field(
        "the best response by day 91 is CR/CRi (the measure ELIANA reported). null if not infused",
        rule="same",
        extra=True,
        nullable=True,
    )
    first_cr_days: Series[float] = field(
        "study day of the first CR/CRi before the cut, at any time. It is the RFS origin",
        rule='G "RFS"',
        extra=True,
        nullable=True,
        ge=0,
    )
    last_known_alive_days: Series[float] = field(
        "LKA: the latest `event_time` of any row before the cut, of any type, at least day 0, capped at a recorded "
        "death. null if not infused",
        rule='G "LKA"',
        nullable=True,
        ge=0,
    )
    crs_any: Series[pd.BooleanDtype] = field(from_table("crs"), extra=True, nullable=True)
    crs_onset_hours: Series[float] = field(from_table("crs"), extra=True, nullable=True)
    crs_max_grade: Series[pd.Int64Dtype] = field(
        from_table("crs"), extra=True, nullable=True, in_range={"min_value": 0, "max_value": 5}
    )
    crs_max_grade_penn: Series[pd.Int64Dtype] = field(
        from_table("crs"), extra=True, nullable=True, in_range={"min_value": 0, "max_value": 5}
    )
    crs_episodes: Series[pd.Int64Dtype] = field(from_table("crs"), extra=True, nullable=True, ge=0)
    icans_any: Series[pd.BooleanDtype] = field(from_table("icans"), extra=True, nullable=True)
    icans_max_grade: Series[pd.Int64Dtype] = field(
        from_table("icans"), extra=True, nullable=True, in_range={"min_value": 0, "max_value": 5}
    )
    icans_assessed: Series[pd.BooleanDtype] = field(from_table("icans"), extra=True, nullable=True)
    anakinra_given: Series[pd.BooleanDtype] = field(
        "a first anakinra dose is recorded (`first_anakinra_hours` not null)", extra=True, nullable=True
    )
    first_anakinra_hours: Series[float] = field(from_table("anakinra"), extra=True, nullable=True)
    anakinra_doses: Series[pd.Int64Dtype] = field(from_table("anakinra"), extra=True, nullable=True, ge=0)
    tocilizumab_given: Series[pd.BooleanDtype] = field(from_table("anakinra"), extra=True, nullable=True)
    corticosteroids_given: Series[pd.BooleanDtype] = field(from_table("anakinra"), extra=True, nullable=True)

    @pa.dataframe_check
    def evaluable_sets_are_within_safety(cls, frame: pd.DataFrame) -> Series[bool]:
        """CRS- and efficacy-evaluable participants are infused (grading.md, Analysis sets)."""
        return frame["safety"] | ~(frame["crs_evaluable"] | frame["efficacy_evaluable"])

    @pa.dataframe_check
    def safety_is_infused(cls, frame: pd.DataFrame) -> Series[bool]:
        """The safety set is the infused participants (grading.md, Analysis sets)."""
        return frame["safety"] == frame["infused"]

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant."""
        return rows_in_key_order(frame, ADSL_KEY)


class Adtte(OutputModel):
    """**Grain:** participant × parameter. **Key:** (`participant_id`, `paramcd`). Rules: G "Response and
    12-month outcomes"; O `adtte.parquet`. Declarations: `analysis/derive/adtte.py:declare_parameters`;
    mechanics: `analysis/derive/tte.py:derive_param_tte`. These follow the pharmaverse admiral pattern.
    """

    participant_id: Series[pd.StringDtype] = field(dtype_kwargs=ARROW_TEXT)
    paramcd: Series[pd.StringDtype] = field(
        ", ".join(f"`{paramcd}`" for paramcd in PARAMCDS), isin=PARAMCDS, dtype_kwargs=ARROW_TEXT
    )
    param: Series[pd.StringDtype] = field(
        'label: "Overall survival (days)", "Event-free survival (days)", "Relapse-free survival from first CR/CRi '
        '(days)", "Cumulative incidence of relapse (days)"',
        extra=True,
        dtype_kwargs=ARROW_TEXT,
    )
    aval: Series[float] = field("days from the origin to the event or censoring: (time − origin) hours / 24", ge=0)
    cnsr: Series[int] = field(
        "; ".join(f"{code} {meaning}" for code, meaning in CNSR_CODES.items()), isin=list(CNSR_CODES)
    )
    evntdesc: Series[pd.StringDtype] = field(
        "what the event was (below). null when censored", nullable=True, dtype_kwargs=ARROW_TEXT
    )
    cnsdtdsc: Series[pd.StringDtype] = field(
        "what the censoring date is (below). null for an event", nullable=True, dtype_kwargs=ARROW_TEXT
    )
    event_code: Series[pd.Int64Dtype] = field(
        "CIR only: "
        + ", ".join(f"{code} {meaning}" for code, meaning in CIR_EVENT_CODES.items())
        + ". null for OS, EFS and RFS",
        required_for="CIR",
        nullable=True,
        isin=list(CIR_EVENT_CODES),
    )
    origin_hours: Series[float] = field(
        "the origin in hours since the infusion: 0, or for RFS the first CR/CRi", extra=True, ge=0
    )
    source: Series[pd.StringDtype] = field(
        "the declared source that decided the row (traceability): " + ", ".join(f"`{s}`" for s in TTE_SOURCES),
        extra=True,
        isin=TTE_SOURCES,
        dtype_kwargs=ARROW_TEXT,
    )

    class Config:
        unique: ClassVar[list[str]] = list(ADTTE_KEY)

    @pa.dataframe_check
    def event_code_is_for_cir_only(cls, frame: pd.DataFrame) -> Series[bool]:
        """`event_code` is set for CIR and null for OS, EFS and RFS (outputs.md)."""
        return frame["event_code"].notna() == (frame["paramcd"] == "CIR")

    @pa.dataframe_check
    def cir_event_code_follows_cnsr(cls, frame: pd.DataFrame) -> Series[bool]:
        """CIR: an event (`cnsr` 0) is a relapse (1) or a death without relapse (2); a censoring is 0."""
        cir = frame["paramcd"] == "CIR"
        code = frame["event_code"]
        event = frame["cnsr"] == 0
        return ~cir | (event & code.isin([1, 2])).fillna(False) | (~event & (code == 0)).fillna(False)

    @pa.dataframe_check
    def an_event_has_a_description_and_a_censoring_a_date_description(cls, frame: pd.DataFrame) -> Series[bool]:
        """`evntdesc` for an event (`cnsr` 0), `cnsdtdsc` for a censoring, never both."""
        event = frame["cnsr"] == 0
        return (frame["evntdesc"].notna() == event) & (frame["cnsdtdsc"].notna() == ~event)

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by participant and parameter."""
        return rows_in_key_order(frame, ADTTE_KEY)


ADTTE_NOTES = """**How a row is decided** (`derive_param_tte`). A parameter takes the participant's first event.
If there is no event, it takes the last censoring. In detail:
- Only candidates at or after the origin count.
- A censoring that ends follow-up (HSCT or new therapy in remission) ends it at its earliest time.
  Later events and censorings are ignored.
- An event beats a censoring at the same time. Among sources at the same time, the one declared
  first wins (the order is given below).
- **Horizon:** `horizon_days` (365.25) after the infusion, on the study-day scale. An event after
  it, or a censoring at or after it, becomes a censoring at the horizon: `cnsr` 2, `cnsdtdsc`
  "12-month horizon", `source` `horizon`, `event_code` 0. An event exactly at the horizon stays
  an event.
- **LKA** (the `last_known_alive` censoring, `cnsr` 1, "last known alive") is
  `adsl.last_known_alive_days`. Nobody is censored at the cut unless known alive there.
- A `death` dated before the infusion counts at day 0 and raises a query. `relapse`, `hsct` and
  `new_therapy` rows before the infusion are ignored (they are pre-treatment, e.g. bridging).
- A withdrawal does not truncate follow-up: later rows are used, and a query is raised.
- "HSCT or new therapy **in remission**": the last response assessment at or before the row
  (from day 0), at the same instant included, is CR/CRi.

**Treatment failure** (an EFS event). It is assessed only for participants whose `cut_hours` >
`response_window_days[1]` × 24, i.e. day 42 is inside the data. Its time is day `efs_failure_day`
(28) whatever the reason:
- `failure_no_cr_day28` — "treatment failure: no CR/CRi at the day-28 assessment": there is a
  day-28 assessment and it is not CR/CRi;
- `failure_no_assessment_day28` — "treatment failure: no assessment in the day-28 window
  (response_window_days) and no death before its end". Only when `missing_day28_is_failure`;
- `failure_new_therapy_before_cr` — "treatment failure: new anti-leukemia therapy before a
  CR/CRi": the first `new_therapy` at or after day 0 is strictly before the first CR/CRi, or
  there is no CR/CRi.

| | OS | EFS | RFS | CIR |
|---|---|---|---|---|
| population | every infused participant | every infused participant | infused participants with a CR/CRi before the cut, whose first CR/CRi is within the horizon | every infused participant |
| origin | infusion | infusion | first CR/CRi (`origin_hours` = `adsl.first_cr_days` × 24) | infusion |
| events, in tie-break order (`evntdesc`) | death, any cause ("death") | relapse ("relapse (cd19_positive)", "relapse (cd19_negative)", "relapse (unknown)"), death ("death"), then the three treatment failures above | relapse ("relapse (…)"), death ("death") | relapse ("relapse (…)", `event_code` 1); death without an earlier relapse ("death without relapse", `event_code` 2, a competing risk). A relapse at the same instant as the death is a relapse |
| censoring (`cnsr`, `cnsdtdsc`) | 1 "last known alive"; 2 "12-month horizon" | 3 "HSCT in remission"; 4 "new anti-leukemia therapy in remission" (both only when `censor_at_hsct_in_remission`); 1 "last known alive"; 2 "12-month horizon" | as EFS | as EFS; `event_code` 0 |
| settings | `horizon_days` | `horizon_days`, `response_window_days`, `response_target_day`, `efs_failure_day`, `missing_day28_is_failure`, `censor_at_hsct_in_remission` | `horizon_days`, `censor_at_hsct_in_remission` | `horizon_days`, `censor_at_hsct_in_remission` |

RFS `aval` is at most 365.25 − the first CR/CRi day, because follow-up ends on day 365.25 after
the infusion. The RFS, EFS and CIR censorings are the same declarations: "censored as EFS"
(G). A participant whose day-42 mark is after the cut and who has no event is censored at LKA
(G "EFS")."""


ADAM_TABLES = (
    OutputTable(
        "adsl.parquet",
        Adsl,
        "subject-level analysis dataset",
        "derived",
        ADSL_KEY,
        notes="""The response columns describe what was observed before the cut. They are final only once the
window is complete, that is, for efficacy-evaluable participants.""",
    ),
    OutputTable(
        "adtte.parquet",
        Adtte,
        "time to event: OS, EFS, RFS, CIR",
        "derived",
        ADTTE_KEY,
        notes=ADTTE_NOTES,
    ),
)
