"""ICANS, ASTCT 2019 — grading.md, "ICANS, ASTCT 2019".

Every neurological assessment from infusion to the cut is graded on its own at its own time;
a participant's grade is the worst of them, or 5 for a death with cause ``icans``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.export.vocabulary import NEUROLOGICAL_ASSESSMENTS
from analysis.participant_vars import derive_vars_death
from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_YEAR

CODED_DOMAIN_GRADES: dict[tuple[str, str], int] = {
    ("consciousness", "awake"): 0,
    ("consciousness", "awakens_to_voice"): 2,
    ("consciousness", "awakens_to_tactile"): 3,
    ("consciousness", "unarousable"): 4,
    ("seizure", "focal_or_generalized_resolving"): 3,
    ("seizure", "nonconvulsive_on_eeg"): 3,
    ("seizure", "prolonged_or_repetitive"): 4,
    ("motor_weakness", "deep_focal"): 4,
    ("cerebral_edema", "focal"): 3,
    ("cerebral_edema", "diffuse"): 4,
}
"""grading.md: consciousness, seizure, motor and cerebral-edema domains, code → ASTCT grade."""

ICANS_COLUMNS: list[str] = [
    "participant_id",
    "icans_any",
    "icans_onset_hours",
    "icans_max_grade",
    "icans_assessed",
    "icans_grade_reported_max",
]

_TOOL_NAMES = {"ice_score": "ICE", "capd_score": "CAPD"}


def compute_ice_grade(ice_score: pd.Series) -> pd.Series:
    """ICE score → encephalopathy grade: 10 → 0, 7–9 → 1, 3–6 → 2, 0–2 → 3 (grading.md, ICANS, age ≥ 12)."""
    score = ice_score.to_numpy(dtype=float, na_value=np.nan)
    grade = np.select([score >= 10, score >= 7, score >= 3, score >= 0], [0, 1, 2, 3], default=-1)
    return pd.Series(grade, index=ice_score.index, dtype="int64")


def compute_capd_grade(capd_score: pd.Series) -> pd.Series:
    """CAPD score → encephalopathy grade: 0 → 0, 1–8 → 1, ≥ 9 → 3 (grading.md, ICANS, age < 12)."""
    score = capd_score.to_numpy(dtype=float, na_value=np.nan)
    grade = np.select([score >= 9, score >= 1, score >= 0], [3, 1, 0], default=-1)
    return pd.Series(grade, index=capd_score.index, dtype="int64")


def derive_icans_assessments(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per neurological assessment (and per death from ICANS) from infusion to the cut, graded.

    grading.md, "ICANS, ASTCT 2019": *Grade = the worst of the domains, each at its own time; age
    at the assessment decides the tool* — encephalopathy by ICE 7–9 → 1, 3–6 → 2, 0–2 → 3 from
    age 12 (``plan.ice_min_age_years``), by CAPD 1–8 → 1, ≥ 9 → 3 below it; *a tool used at the
    wrong age is used and flagged*; consciousness, seizure, motor weakness and cerebral edema by
    :data:`CODED_DOMAIN_GRADES`; *grade 5: death with cause icans* — the death of
    :func:`analysis.participant_vars.derive_vars_death` (the one death row; a death recorded before
    infusion at day 0) when its cause is ``icans``.

    Age at the assessment = ``age_at_infusion_years`` + hours / 8766, so a participant who turns
    12 during follow-up moves from CAPD to ICE at that moment.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``line``, ``hours``, ``event_type``, ``value``, ``detail``,
        ``age_years``, ``grade`` (int; −1 when the row cannot be graded), ``wrong_age_tool``
        (bool), sorted by participant, time and line. Death rows have event type ``death``.
    """
    infused = participants.loc[participants["infused"].astype(bool), ["participant_id", "age_at_infusion_years"]]
    is_assessment = events["event_type"].isin(NEUROLOGICAL_ASSESSMENTS)
    assessments = events.loc[is_assessment & (events["hours_from_infusion"] >= 0)]
    deaths = derive_vars_death(participants, events)
    icans_deaths = deaths.loc[deaths["death_cause"].eq("icans").fillna(False).astype(bool)]
    death_rows = pd.DataFrame(
        {
            "participant_id": icans_deaths["participant_id"].astype(assessments["participant_id"].dtype),
            "line": icans_deaths["death_line"],
            "event_type": pd.Series("death", index=icans_deaths.index, dtype=assessments["event_type"].dtype),
            "hours_from_infusion": icans_deaths["death_hours"],
            "value": pd.Series(np.nan, index=icans_deaths.index, dtype="float64"),
            "detail": icans_deaths["death_cause"].astype(assessments["detail"].dtype),
        }
    )
    columns = ["participant_id", "line", "event_type", "hours_from_infusion", "value", "detail"]
    rows = pd.concat([assessments[columns], death_rows], ignore_index=True) if len(death_rows) else assessments[columns]
    rows = rows.merge(infused, on="participant_id", how="inner")
    rows = rows.sort_values(["participant_id", "hours_from_infusion", "line"], kind="mergesort").reset_index(drop=True)

    value = rows["value"].to_numpy(dtype=float, na_value=np.nan)
    age = (
        rows["age_at_infusion_years"].to_numpy(dtype=float)
        + rows["hours_from_infusion"].to_numpy(dtype=float) / HOURS_PER_YEAR
    )
    is_ice = rows["event_type"].isin(["ice_score"]).to_numpy()
    is_capd = rows["event_type"].isin(["capd_score"]).to_numpy()
    is_death = rows["event_type"].isin(["death"]).to_numpy()
    coded_keys = pd.MultiIndex.from_arrays([rows["event_type"].astype(object), rows["detail"].astype(object)])
    coded_grade = pd.Series(CODED_DOMAIN_GRADES).reindex(coded_keys).to_numpy(dtype=float)
    grade = np.select(
        [is_ice, is_capd, is_death],
        [compute_ice_grade(rows["value"]).to_numpy(), compute_capd_grade(rows["value"]).to_numpy(), 5],
        default=np.nan_to_num(coded_grade, nan=-1),
    )
    wrong_age = (is_ice & (age < plan.ice_min_age_years)) | (is_capd & (age >= plan.ice_min_age_years))
    return pd.DataFrame(
        {
            "participant_id": rows["participant_id"],
            "line": rows["line"],
            "hours": rows["hours_from_infusion"].astype(float),
            "event_type": rows["event_type"],
            "value": value,
            "detail": rows["detail"],
            "age_years": age,
            "grade": grade.astype("int64"),
            "wrong_age_tool": wrong_age,
        }
    )


def build_icans(
    participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``icans.parquet``: one row per infused participant, and the data queries it raises.

    grading.md, "ICANS, ASTCT 2019": the maximum grade over the assessments of
    :func:`derive_icans_assessments` (0–5); ``icans_onset_hours`` = the first time a grade ≥ 1 is
    reached; ``icans_any`` = maximum ≥ 1. *With at least one neurological assessment and nothing
    positive: 0. With none at all: 0 and icans_assessed = false.* A death from ICANS is not an
    assessment: it gives grade 5 whatever ``icans_assessed`` says. ``icans_grade_reported_max`` is
    the highest ``icans_grade_reported`` of the participant before the cut, as for CRS (null when none), for
    reconciliation.

    Returns
    -------
    tuple[pandas.DataFrame, pandas.DataFrame]
        The ICANS table (:data:`ICANS_COLUMNS`, sorted by ``participant_id``) and the queries
        (``participant_id``, ``kind``, ``detail``, ``hours``): ``icans_tool_wrong_age`` (an ICE
        score below age 12 or a CAPD score from age 12, graded by its own tool) and
        ``icans_assessment_ungradable`` (a score with no value or a code with no grade, left at 0).
    """
    infused = participants.loc[participants["infused"].astype(bool), ["participant_id"]]
    infused = infused.sort_values("participant_id", kind="mergesort").reset_index(drop=True)
    assessments = derive_icans_assessments(participants, events, plan)
    graded = assessments.assign(grade=assessments["grade"].clip(lower=0))
    positive = graded.loc[graded["grade"] >= 1].drop_duplicates("participant_id")
    per_participant = graded.groupby("participant_id", sort=False)["grade"].max().rename("icans_max_grade")
    assessed_ids = assessments.loc[assessments["event_type"].isin(NEUROLOGICAL_ASSESSMENTS), "participant_id"]

    reported = events.loc[events["event_type"].isin(["icans_grade_reported"])]
    reported_max = (
        reported.assign(value=reported["value"].to_numpy(dtype=float, na_value=np.nan))
        .groupby("participant_id")["value"]
        .max()
    )

    table = infused.copy()
    table["icans_max_grade"] = table["participant_id"].map(per_participant).fillna(0).astype("int64")
    table["icans_any"] = table["icans_max_grade"] >= 1
    table["icans_onset_hours"] = (
        table["participant_id"].map(positive.set_index("participant_id")["hours"]).astype(float)
    )
    table["icans_assessed"] = table["participant_id"].isin(assessed_ids)
    table["icans_grade_reported_max"] = table["participant_id"].map(reported_max).round().astype("Int64")
    return table[ICANS_COLUMNS], _icans_queries(assessments, plan)


def _icans_queries(assessments: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Queries: a tool used at the wrong age; an assessment that cannot be graded."""
    hours_text = _format_numbers(assessments["hours"], "%.1f")
    limit = f"{plan.ice_min_age_years:g}"
    tool_rule = pd.Series(
        np.where(assessments["event_type"].eq("ice_score"), f"ICE is for age ≥ {limit}", f"CAPD is for age < {limit}"),
        index=assessments.index,
    )
    score_text = _format_numbers(assessments["value"], "%g").where(assessments["value"].notna(), "(no value)")
    score = assessments["event_type"].map(_TOOL_NAMES) + " score " + score_text
    wrong = assessments.loc[assessments["wrong_age_tool"]]
    wrong_age = pd.DataFrame(
        {
            "participant_id": wrong["participant_id"],
            "kind": "icans_tool_wrong_age",
            "detail": (
                score
                + " at "
                + hours_text
                + " h, age "
                + _format_numbers(assessments["age_years"], "%.1f")
                + " y: "
                + tool_rule
                + "; graded as recorded"
            ).loc[wrong.index],
            "hours": wrong["hours"],
        }
    )
    bad = assessments.loc[assessments["grade"] < 0]
    what = score.fillna(
        assessments["event_type"].astype(object) + " " + assessments["detail"].astype(object).fillna("(no code)")
    )
    ungradable = pd.DataFrame(
        {
            "participant_id": bad["participant_id"],
            "kind": "icans_assessment_ungradable",
            "detail": (what + " at " + hours_text + " h cannot be graded: counted as assessed, grade 0").loc[bad.index],
            "hours": bad["hours"],
        }
    )
    queries = pd.concat(
        [frame for frame in (wrong_age, ungradable) if not frame.empty] or [wrong_age], ignore_index=True
    )
    return queries.sort_values(["participant_id", "hours", "kind"], kind="mergesort").reset_index(drop=True)


def _format_numbers(values: pd.Series, pattern: str) -> pd.Series:
    """printf-style text of a float column, vectorized."""
    return pd.Series(
        np.char.mod(pattern, values.to_numpy(dtype=float, na_value=np.nan)), index=values.index, dtype=object
    )
