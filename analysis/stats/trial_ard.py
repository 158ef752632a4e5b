"""The trial's Analysis Results Data: every row outputs.md requires, from the derived tables.

One function per analysis family; :func:`build_trial_ard` puts them together. Sets (grading.md,
"Analysis sets"): rates of CRS and ICANS over the CRS-evaluable set; response over the
efficacy-evaluable set; survival and cumulative incidence over every infused participant (adtte);
fever-to-anakinra over the participants with both times.

The run is an **interim look** while any enrolled participant is still ongoing at the cut
(``adsl.ongoing_at_cut``); then every p-value is labelled descriptive (outputs.md, "Primary analysis").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.reference.cohorts import HistoricalCohort
from analysis.settings import AnalysisPlan, SettingsError
from analysis.stats.ard import ARD_KEY, ArdRow, to_frame, validate_ard
from analysis.stats.cohort_comparison import cohort_comparison_ard, subject_frame, trial_regression_ard
from analysis.stats.cumulative_incidence import CumulativeIncidenceFit, cif_ard_rows, cuminc
from analysis.stats.historical import (
    compare_with_cohorts,
    plan_comparisons,
    plan_options,
    skipped_notes,
    trial_counts_from_ard,
)
from analysis.stats.icans_assessment import icans_assessed_rows
from analysis.stats.informative_tests import informative_test_rows
from analysis.stats.kaplan_meier import (
    KaplanMeierFit,
    follow_up_ard_rows,
    kaplan_meier,
    km_ard_rows,
    median_follow_up,
    month_timepoints,
)
from analysis.stats.map_prior_ard import FitsByStudies, endpoint_counts, map_prior_ard
from analysis.stats.participant_flow import participant_flow_rows
from analysis.stats.proportions import rate_rows
from analysis.stats.published import published_outcome_rows, published_outcomes_frame
from analysis.stats.quantiles import summary_ard_rows
from analysis.stats.stopping_ard import stopping_rows

RATE_VARIABLES = (
    "crs_any",
    "crs_grade3plus",
    "crs_grade4plus",
    "crs_penn_grade3plus",
    "crs_penn_grade4plus",
    "crs_grade4",
    "crs_penn_grade4",
    "icans_any",
    "icans_grade3plus",
    "tocilizumab_given",
    "icu_level_support",
)
"""outputs.md's ``crs_rate`` variables, then tocilizumab use and ICU-level support."""
RATE_TABLES = ("adsl", "crs", "icans", "anakinra", "crs_timeline")
"""The derived tables :func:`derive_rate_endpoints` reads, in its order."""
RESPONSE_VARIABLES = ("cr_cri_day28", "mrd_negative_day28", "best_cr_cri_3mo")
KM_PARAMETERS = ("OS", "EFS", "RFS")


def derive_rate_endpoints(
    adsl: pd.DataFrame, crs: pd.DataFrame, icans: pd.DataFrame, anakinra: pd.DataFrame, crs_timeline: pd.DataFrame
) -> pd.DataFrame:
    """One row per CRS-evaluable participant with ``high_burden`` and each binary endpoint of RATE_VARIABLES.

    ``crs_grade4`` and ``crs_penn_grade4`` are grade 4 alone, grade 5 not counted (outputs.md v3
    ``crs_rate``), for the cohorts that published grade 4 alone. ``icu_level_support``: a vasopressor (hypotension level ≥ 3) or positive-pressure support
    (hypoxia level 4: CPAP, BiPAP, mechanical ventilation) at any time of the CRS timeline.
    """
    evaluable = adsl.loc[adsl["crs_evaluable"].astype(bool), ["participant_id", "high_burden"]]
    icu = crs_timeline.loc[
        (crs_timeline["hypotension_level"] >= 3) | (crs_timeline["hypoxia_level"] >= 4), "participant_id"
    ]
    frame = (
        evaluable.merge(
            crs[["participant_id", "crs_any", "crs_max_grade", "crs_max_grade_penn"]], on="participant_id", how="left"
        )
        .merge(icans[["participant_id", "icans_any", "icans_max_grade"]], on="participant_id", how="left")
        .merge(anakinra[["participant_id", "tocilizumab_given"]], on="participant_id", how="left")
    )
    return pd.DataFrame(
        {
            "participant_id": frame["participant_id"],
            "high_burden": frame["high_burden"].astype(bool),
            "crs_any": frame["crs_any"].fillna(False).astype(bool),
            "crs_grade3plus": frame["crs_max_grade"] >= 3,
            "crs_grade4plus": frame["crs_max_grade"] >= 4,
            "crs_penn_grade3plus": frame["crs_max_grade_penn"] >= 3,
            "crs_penn_grade4plus": frame["crs_max_grade_penn"] >= 4,
            "crs_grade4": frame["crs_max_grade"] == 4,
            "crs_penn_grade4": frame["crs_max_grade_penn"] == 4,
            "icans_any": frame["icans_any"].fillna(False).astype(bool),
            "icans_grade3plus": frame["icans_max_grade"] >= 3,
            "tocilizumab_given": frame["tocilizumab_given"].fillna(False).astype(bool),
            "icu_level_support": frame["participant_id"].isin(icu),
        }
    )


def crs_rate_rows(endpoints: pd.DataFrame) -> list[ArdRow]:
    """``crs_rate``: n, N, p and the exact CI of each endpoint, overall and by burden."""
    groups = {
        "all": endpoints,
        "high_burden": endpoints[endpoints["high_burden"]],
        "low_burden": endpoints[~endpoints["high_burden"]],
    }
    return [
        row
        for group, members in groups.items()
        for variable in RATE_VARIABLES
        for row in rate_rows("crs_rate", group, variable, int(members[variable].sum()), len(members))
    ]


def response_rows(adsl: pd.DataFrame) -> list[ArdRow]:
    """``response``: day-28 CR/CRi, MRD-negative at day 28 and best CR/CRi by 3 months, efficacy-evaluable set.

    A missing MRD or response counts as not responding (n / N over the whole set).
    """
    evaluable = adsl.loc[adsl["efficacy_evaluable"].astype(bool)]
    return [
        row
        for variable in RESPONSE_VARIABLES
        for row in rate_rows(
            "response", "all", variable, int(evaluable[variable].astype("boolean").fillna(False).sum()), len(evaluable)
        )
    ]


def km_fit(adtte: pd.DataFrame, parameter: str) -> KaplanMeierFit:
    """The Kaplan–Meier fit of one adtte parameter, in days (aval in days, cnsr 0 = event)."""
    records = adtte.loc[adtte["paramcd"] == parameter]
    return kaplan_meier(records["aval"].to_numpy(float), (records["cnsr"] == 0).to_numpy())


def cir_fit(adtte: pd.DataFrame) -> CumulativeIncidenceFit:
    """The cumulative incidence of relapse in days, death without relapse competing (adtte ``CIR``, ``event_code``)."""
    records = adtte.loc[adtte["paramcd"] == "CIR"]
    return cuminc(records["aval"].to_numpy(float), records["event_code"].astype(int).to_numpy(), cause=1, cencode=0)


def km_rows(adtte: pd.DataFrame, plan: AnalysisPlan) -> list[ArdRow]:
    """``km``: OS, EFS, RFS at months 3, 6 and 12 (log-log CI), from adtte (aval in days, cnsr 0 = event)."""
    timepoints = month_timepoints(plan.days_per_month)
    return [row for parameter in KM_PARAMETERS for row in km_ard_rows(km_fit(adtte, parameter), parameter, timepoints)]


def cif_rows(adtte: pd.DataFrame, plan: AnalysisPlan) -> list[ArdRow]:
    """``cif``: cumulative incidence of relapse (death without relapse competing) at months 3, 6, 12."""
    return cif_ard_rows(cir_fit(adtte), month_timepoints(plan.days_per_month))


def follow_up_rows(adtte: pd.DataFrame, plan: AnalysisPlan) -> list[ArdRow]:
    """``follow_up``: median follow-up in months by reverse Kaplan–Meier on OS."""
    records = adtte.loc[adtte["paramcd"] == "OS"]
    result = median_follow_up(records["aval"].to_numpy(float), (records["cnsr"] == 0).to_numpy())
    return follow_up_ard_rows(result, len(records), scale=plan.days_per_month)


def fever_to_anakinra_rows(anakinra: pd.DataFrame) -> list[ArdRow]:
    """``fever_to_anakinra``: hours from first fever, and from the trigger, to the first dose."""
    return [
        *summary_ard_rows("fever_to_anakinra", "all", "hours", anakinra["fever_to_anakinra_hours"].dropna()),
        *summary_ard_rows("fever_to_anakinra", "all", "trigger_hours", anakinra["trigger_to_anakinra_hours"].dropna()),
    ]


def is_interim(adsl: pd.DataFrame) -> bool:
    """An interim look: some enrolled participant is still ongoing at the cut."""
    return bool(adsl["ongoing_at_cut"].astype("boolean").fillna(True).any())


def regression_ard(
    tables: Mapping[str, pd.DataFrame], historical: Mapping[str, pd.DataFrame] | None, days_per_month: float
) -> pd.DataFrame:
    """Within-trial Cox and logistic rows; with a historical export of the site's own patients, put through
    the same ingest and derivations, the trial-vs-historical rows too (Firth, IPTW, SMD, KM, Cox, log-rank).

    Both cohorts use the CRS-evaluable set (:func:`analysis.stats.cohort_comparison.subject_frame`);
    ``days_per_month`` (the analysis plan's) places the ``cohort_km`` time points.
    """
    trial = subject_frame(tables["adsl"], tables["crs"], tables["adtte"], "trial")
    frames = [trial_regression_ard(trial)]
    if historical is not None:
        past = subject_frame(historical["adsl"], historical["crs"], historical["adtte"], "historical")
        frames.append(cohort_comparison_ard(pd.concat([trial, past], ignore_index=True), days_per_month=days_per_month))
    return pd.concat(frames, ignore_index=True)


def build_trial_ard(
    tables: Mapping[str, pd.DataFrame],
    cohorts: Sequence[HistoricalCohort],
    plan: AnalysisPlan,
    historical: Mapping[str, pd.DataFrame] | None = None,
    map_fits: FitsByStudies | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The whole ARD of the trial, and the notes on comparisons that could not be made.

    ``tables`` holds the derived tables ``adsl``, ``crs``, ``icans``, ``anakinra``, ``crs_timeline``, ``adtte``;
    ``cohorts`` the typed historical cohorts (:func:`analysis.reference.cohorts.load_cohorts`);
    ``historical`` the same tables of the site's historical export, when there is one; ``map_fits``
    MAP prior fits made beforehand under ``plan.map`` (:func:`analysis.stats.map_prior_ard.published_map_fits`).
    """
    endpoints = derive_rate_endpoints(
        tables["adsl"], tables["crs"], tables["icans"], tables["anakinra"], tables["crs_timeline"]
    )
    rate = crs_rate_rows(endpoints)
    comparison_options = plan_options(plan)
    comparisons = compare_with_cohorts(
        trial_counts_from_ard(to_frame(rate)),
        cohorts,
        interim=is_interim(tables["adsl"]),
        primary_alpha=plan.primary.alpha,
        **comparison_options,
    )
    comparable, skipped = plan_comparisons(cohorts, **comparison_options)
    if not any(c.primary for c in comparable):
        raise SettingsError(
            f"primary analysis: no comparable cohort '{plan.primary.comparator}' with endpoint "
            f"'{plan.primary.endpoint}' in the historical cohorts; check the settings' primary section"
        )
    rows = [
        *rate,
        *comparisons,
        *informative_test_rows(comparisons),
        *icans_assessed_rows(tables["adsl"], tables["icans"]),
        *response_rows(tables["adsl"]),
        *participant_flow_rows(tables["adsl"]),
        *km_rows(tables["adtte"], plan),
        *cif_rows(tables["adtte"], plan),
        *follow_up_rows(tables["adtte"], plan),
        *fever_to_anakinra_rows(tables["anakinra"]),
        *published_outcome_rows(published_outcomes_frame(cohorts)),
        *stopping_rows(endpoints, tables["adsl"], plan.stopping),
    ]
    map_rows, map_notes = map_prior_ard(
        cohorts,
        trial_counts_from_ard(to_frame(rate)),
        plan.map,
        plan.high_burden_pct,
        None if historical is None else endpoint_counts(derive_rate_endpoints(*(historical[t] for t in RATE_TABLES))),
        map_fits,
    )
    ard = pd.concat(
        [to_frame([*rows, *map_rows]), regression_ard(tables, historical, plan.days_per_month)], ignore_index=True
    )
    return (
        validate_ard(ard.sort_values(list(ARD_KEY), kind="mergesort").reset_index(drop=True)),
        skipped_notes(skipped) + map_notes,
    )


__all__ = ["build_trial_ard", "cir_fit", "derive_rate_endpoints", "is_interim", "km_fit"]
