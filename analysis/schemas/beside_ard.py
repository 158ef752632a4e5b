"""The analyze step's tables beside the ARD, which the report draws: the MAP-prior curves, the comparison
plan, the published figures and the survival step curves (``analysis/stats/results.py:analyze_trial``)."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from analysis.schemas.base import PYTHON_TEXT, OutputModel, OutputTable, field, rows_in_key_order

PLAN_KEY = ("cohort_id", "endpoint")
PUBLISHED_KEY = ("cohort_order", "variable")
CURVE_KEY = ("parameter", "step")
DENSITY_KEY = ("group", "curve", "p")
ENDPOINTS = ["crs_any", "crs_grade3plus", "crs_grade4plus", "crs_grade4", "icans_any", "icans_grade3plus"]


class MapPriorDensities(OutputModel):
    """**Grain:** group × curve × rate. **Key:** (`group`, `curve`, `p`), sorted by it. Written by the
    `analyze` step from the mixtures of the ARD's `map_prior` rows
    (`analysis/stats/map_prior_ard.py:map_prior_densities`), so the figure and the ARD cannot disagree;
    the closed report draws it and computes nothing. On the demo: 7 groups × 3 curves × 401 rates.
    """

    group: Series[pd.StringDtype] = field(
        "the `map_prior` group, `<endpoint>__<scale>`", extra=True, dtype_kwargs=PYTHON_TEXT
    )
    curve: Series[pd.StringDtype] = field(
        "`map`, `robust_map` or `posterior` (no `posterior` when the trial's N is 0)",
        isin=["map", "robust_map", "posterior"],
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    p: Series[float] = field("the rate, 0, 0.0025, …, 1", in_range={"min_value": 0, "max_value": 1}, extra=True)
    density: Series[float] = field("the beta mixture's density at `p`", ge=0, extra=True)

    class Config:
        unique: ClassVar[list[str]] = list(DENSITY_KEY)

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by the key it is unique on."""
        return rows_in_key_order(frame, DENSITY_KEY)


class ComparisonPlan(OutputModel):
    """**Grain:** cohort × endpoint, for every cohort of `historical_cohorts.yaml` and every endpoint
    (`crs_any`, `crs_grade3plus`, `crs_grade4plus`, `icans_any`, `icans_grade3plus`), and `crs_grade4`
    (grade 4 alone, O v3) for a cohort that reports grade 4 alone and no grade-5 count. **Key:**
    (`cohort_id`, `endpoint`), sorted by it. Rules: O "Comparisons", "Primary analysis"; code:
    `analysis/stats/historical.py:plan_comparisons` (the rules) and `comparison_plan_frame` (the table).
    The `historical_comparison` rows of the ARD are made from the same plan; the report reads how
    each comparison is made from here and its numbers from the ARD. On the demo: 47 rows, 14 compared.
    """

    cohort_id: Series[pd.StringDtype] = field("the cohort `id`", extra=True, dtype_kwargs=PYTHON_TEXT)
    endpoint: Series[pd.StringDtype] = field(
        "the endpoint, named as in the ARD's `historical_comparison` `variable`",
        isin=ENDPOINTS,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    cohort_name: Series[pd.StringDtype] = field("the cohort's `name`", extra=True, dtype_kwargs=PYTHON_TEXT)
    compared: Series[bool] = field("true when the comparison is made (it then has ARD rows)", extra=True)
    role: Series[pd.StringDtype] = field(
        "`primary` for `primary.comparator` × `primary.endpoint`, else `supportive` (unadjusted for "
        "multiplicity). Null when not compared",
        isin=["primary", "supportive"],
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    scale: Series[pd.StringDtype] = field(
        "the cohort's grading scale: `penn` or `astct` (CRS); `astct` or `other` (ICANS). Null when not compared",
        isin=["penn", "astct", "other"],
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    trial_group: Series[pd.StringDtype] = field(
        "the trial's `crs_rate` group compared: `high_burden` for a cohort whose `min_marrow_blast_pct` ≥ "
        "`high_burden_pct`, else `all`",
        isin=["all", "high_burden"],
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    trial_variable: Series[pd.StringDtype] = field(
        "the trial's `crs_rate` variable compared: the Penn approximation (`crs_penn_grade3plus`, "
        "`crs_penn_grade4plus`, `crs_penn_grade4`) against a Penn cohort, else the endpoint",
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    burden_matched: Series[pd.BooleanDtype] = field(
        "the cohort has a marrow-blast floor of at least the trial's 5 % (the ARD's `burden_matched`)",
        nullable=True,
        extra=True,
    )
    overlapping: Series[bool] = field(
        "the cohort shares patients with ELIANA (name or NCT02435849): not independent evidence. A property of "
        "the cohort, given on every row",
        extra=True,
    )
    fever_trigger: Series[pd.StringDtype] = field(
        "the comparator's own pre-emptive fever trigger, where it had one (`kadauke_pt_htb`: tocilizumab at two "
        "readings ≥ 38.5 °C within 24 h, CHOP); null otherwise",
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    historical_n: Series[pd.Int64Dtype] = field(
        "the published events (grade ≥ 4: `crs_grade4_n + crs_grade5_n`; grade 4 alone: `crs_grade4_n`)",
        nullable=True,
        ge=0,
        extra=True,
    )
    historical_N: Series[pd.Int64Dtype] = field("the cohort's `n_infused`", nullable=True, ge=0, extra=True)  # noqa: N815
    historical_ci_low: Series[float] = field(
        "exact Clopper–Pearson 95 % CI of `historical_n` / `historical_N`, lower limit (the forest plot's "
        "historical interval)",
        nullable=True,
        in_range={"min_value": 0, "max_value": 1},
        extra=True,
    )
    historical_ci_high: Series[float] = field(
        "the same, upper limit", nullable=True, in_range={"min_value": 0, "max_value": 1}, extra=True
    )
    notes: Series[pd.StringDtype] = field(
        "the comparison's caveats, \"; \"-separated, as in the ARD's `trial_p` label (Penn approximation, not "
        "burden-matched, high-burden only, overlap, grade ≥ 4 sum, grade 4 alone)",
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    not_compared_reasons: Series[pd.StringDtype] = field(
        'every reason a comparison is not made, "; "-separated, as in `comparison_notes.json`. Null when compared',
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )

    class Config:
        unique: ClassVar[list[str]] = list(PLAN_KEY)

    @pa.dataframe_check
    def sorted_by_key(cls, frame: pd.DataFrame) -> Series[bool]:
        """Sorted by the key it is unique on."""
        return rows_in_key_order(frame, PLAN_KEY)


class PublishedOutcomes(OutputModel):
    """**Grain:** confirmed cohort × published figure. **Order:** the order of `historical_cohorts.yaml`
    (`cohort_order`), then `orr_3mo`, `cr_best_response`, `cr_cri_best_response_pct`, `os_12mo`,
    `efs_12mo`, `rfs_responders_12mo`. Rules: O "Comparisons" (only `confirmed: true` cohorts; a null
    figure is unknown and gives no row); code: `analysis/stats/published.py:published_outcomes_frame`.
    The ARD's `published_outcome` rows are these figures ÷ 100. The report prints them beside the
    trial's response and marks the 12-month ones on the Kaplan–Meier figure. On the demo: 12 rows.
    """

    cohort_order: Series[int] = field(
        "the cohort's position in `historical_cohorts.yaml` (1 = first)", ge=1, extra=True
    )
    cohort_id: Series[pd.StringDtype] = field("the cohort `id`", extra=True, dtype_kwargs=PYTHON_TEXT)
    cohort_name: Series[pd.StringDtype] = field("the cohort's `name`", extra=True, dtype_kwargs=PYTHON_TEXT)
    variable: Series[pd.StringDtype] = field(
        "the figure, named as in `historical_cohorts.yaml` (and the ARD `variable`)",
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    estimate_pct: Series[float] = field(
        "the published estimate, percent", in_range={"min_value": 0, "max_value": 100}, extra=True
    )
    ci_low_pct: Series[float] = field(
        "the published 95 % CI, lower limit, percent; null when none was published", nullable=True, extra=True
    )
    ci_high_pct: Series[float] = field("the same, upper limit", nullable=True, extra=True)
    definition: Series[pd.StringDtype] = field(
        "the cohort's own definition of the endpoint, where it gave one",
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )
    note: Series[pd.StringDtype] = field(
        "the reference's note on the figure (e.g. the ITT figure beside it)",
        nullable=True,
        extra=True,
        dtype_kwargs=PYTHON_TEXT,
    )

    class Config:
        unique: ClassVar[list[str]] = ["cohort_id", "variable"]


class KmCurves(OutputModel):
    """**Grain:** parameter × step. **Key:** (`parameter`, `step`), sorted by it. Parameters `OS`, `EFS`,
    `RFS`, each with at least one `adtte` record (none when no participant is infused). Code:
    `analysis/stats/results.py:km_curves_frame`, from the same fit (`analysis/stats/trial_ard.py:km_fit`,
    times in days) whose values at 3, 6 and 12 months are the ARD's `km` rows. The report draws OS and
    EFS from it, with `ci_low`–`ci_high` as 95 % bands, and prints its origin's `n_risk` under the axis at month 0.
    """

    parameter: Series[pd.StringDtype] = field(
        "`OS`, `EFS` or `RFS` (adtte `paramcd`)", isin=["OS", "EFS", "RFS"], extra=True, dtype_kwargs=PYTHON_TEXT
    )
    step: Series[int] = field(
        "0 is the origin (time 0, `surv` 1); then one step per distinct observed time, in time order", ge=0, extra=True
    )
    time_days: Series[float] = field("the time, days from the parameter's origin (adtte `aval`)", ge=0, extra=True)
    time_months: Series[float] = field("`time_days` / `days_per_month`", ge=0, extra=True)
    surv: Series[float] = field(
        "the Kaplan–Meier survival just after `time_days` (R `survfit`'s `surv`)",
        in_range={"min_value": 0, "max_value": 1},
        extra=True,
    )
    ci_low: Series[float] = field(
        "pointwise 95 % confidence limit of `surv`, lower: log-log transform with Greenwood's variance "
        "(R `survfit(conf.type = 'log-log')` `lower`, the method of the ARD's `km` rows); 1 at the origin, "
        "null where `surv` is 0 or 1 after it (R: NA)",
        nullable=True,
        in_range={"min_value": 0, "max_value": 1},
        extra=True,
    )
    ci_high: Series[float] = field(
        "the same, upper limit (R `survfit`'s `upper`)",
        nullable=True,
        in_range={"min_value": 0, "max_value": 1},
        extra=True,
    )
    n_risk: Series[int] = field(
        "at risk just before `time_days`; at the origin, every participant of the parameter", ge=0, extra=True
    )
    n_event: Series[int] = field("events at `time_days` (0 at the origin)", ge=0, extra=True)
    n_censor: Series[int] = field("censorings at `time_days` (0 at the origin)", ge=0, extra=True)

    class Config:
        unique: ClassVar[list[str]] = list(CURVE_KEY)


class CifCurves(OutputModel):
    """**Grain:** parameter × step. **Key:** (`parameter`, `step`), sorted by it. Parameter `CIR` (no row
    when adtte has no CIR record). Code: `analysis/stats/results.py:cif_curves_frame`, from the same
    fit (`analysis/stats/trial_ard.py:cir_fit`: Aalen–Johansen, death without relapse competing, as
    `cmprsk::cuminc`) whose values at 3, 6 and 12 months are the ARD's `cif` rows. The report draws it.
    """

    parameter: Series[pd.StringDtype] = field("`CIR`", isin=["CIR"], extra=True, dtype_kwargs=PYTHON_TEXT)
    step: Series[int] = field(
        "the corner point's position: from time 0, each relapse time twice (the value before and after the "
        "jump), to the longest follow-up",
        ge=0,
        extra=True,
    )
    time_days: Series[float] = field("the time, days from infusion", ge=0, extra=True)
    time_months: Series[float] = field("`time_days` / `days_per_month`", ge=0, extra=True)
    cif: Series[float] = field(
        "the cumulative incidence of relapse at the corner point (cuminc's `est`)",
        in_range={"min_value": 0, "max_value": 1},
        extra=True,
    )

    class Config:
        unique: ClassVar[list[str]] = list(CURVE_KEY)


BESIDE_ARD_TABLES = (
    OutputTable(
        "map_prior_densities.parquet",
        MapPriorDensities,
        "the curves of the MAP-prior figure",
        "derived",
        DENSITY_KEY,
    ),
    OutputTable(
        "comparison_plan.parquet",
        ComparisonPlan,
        "how each historical comparison is made, or why not",
        "derived",
        PLAN_KEY,
    ),
    OutputTable(
        "published_outcomes.parquet",
        PublishedOutcomes,
        "the cohorts' published outcome figures",
        "derived",
        PUBLISHED_KEY,
    ),
    OutputTable("km_curves.parquet", KmCurves, "the Kaplan–Meier step functions", "derived", CURVE_KEY),
    OutputTable(
        "cif_curves.parquet",
        CifCurves,
        "the cumulative incidence of relapse as a step function",
        "derived",
        CURVE_KEY,
    ),
)
