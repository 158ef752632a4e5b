"""ADSL: one row per enrolled participant — outputs.md, ``adsl.parquet``.

Baseline (participants), analysis sets (grading.md, "Analysis sets", as ingest flagged them),
burden (grading.md, "Burden"), disposition, death and treatment-related death (grading.md,
"Treatment-related death and stopping rules"), response (grading.md, "Response and 12-month
outcomes"; :mod:`analysis.derive.response`), last known alive, and the safety flags of the CRS,
ICANS and anakinra derivations when their frames are given.

Safety columns are always present (a stable schema): NA for participants not infused, for an
infused participant missing from a given frame (queried), and for everyone when the frame is
not given.
"""

from __future__ import annotations

import pandas as pd

from analysis.derive.key_times import derive_var_last_known_alive
from analysis.derive.queries import queries_from_records
from analysis.derive.response import derive_response
from analysis.participant_vars import derive_vars_death
from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_DAY

BASELINE_COLUMNS: list[str] = [
    "participant_id",
    "age_years",
    "sex",
    "weight_kg",
    "marrow_blast_pct",
    "prior_hsct",
    "cns_status",
    "car_t_dose_per_kg",
    "infused",
    "safety",
    "crs_evaluable",
    "efficacy_evaluable",
]

SAFETY_COLUMNS: dict[str, dict[str, str]] = {
    "crs": {
        "crs_any": "boolean",
        "crs_onset_hours": "float64",
        "crs_max_grade": "Int64",
        "crs_max_grade_penn": "Int64",
        "crs_episodes": "Int64",
    },
    "icans": {"icans_any": "boolean", "icans_max_grade": "Int64", "icans_assessed": "boolean"},
    "anakinra": {
        "first_anakinra_hours": "float64",
        "anakinra_doses": "Int64",
        "tocilizumab_given": "boolean",
        "corticosteroids_given": "boolean",
    },
}
"""Columns taken from each safety frame (outputs.md: crs.parquet, icans.parquet, anakinra.parquet)
with their adsl dtype; ``anakinra_given`` is added: a first anakinra dose after infusion."""

ADSL_COLUMNS: list[str] = [
    *BASELINE_COLUMNS,
    "high_burden",
    "withdrawn",
    "withdrawal_reason",
    "withdrawal_days",
    "death",
    "death_cause",
    "death_days",
    "treatment_related_death",
    "completed_12_months",
    "ongoing_at_cut",
    "response_day28",
    "response_day28_days",
    "mrd_day28_pct",
    "mrd_negative_day28",
    "cr_cri_day28",
    "best_response_3mo",
    "best_cr_cri_3mo",
    "first_cr_days",
    "last_known_alive_days",
    *SAFETY_COLUMNS["crs"],
    *SAFETY_COLUMNS["icans"],
    "anakinra_given",
    *SAFETY_COLUMNS["anakinra"],
]


def compute_treatment_related_death(death_cause: pd.Series, death_days: pd.Series, plan: AnalysisPlan) -> pd.Series:
    """Treatment-related death [choice ``trm_*``].

    grading.md, "Treatment-related death": *cause crs, icans or infection within 100 days, or any
    cause other than disease within 30 days of infusion.* "Within n days" includes day n
    (death_days ≤ n, "days a–b" of grading.md, "Time"). A death with no recorded cause is "other
    than disease". No death, or no infusion (``death_days`` NaN): False.
    """
    cause = death_cause.astype("string").str.lower()
    days = death_days.astype("float64")
    listed = cause.isin(plan.trm_causes).fillna(False).astype(bool) & (days <= plan.trm_cause_days)
    not_disease = (cause != "disease").fillna(True).astype(bool) & (days <= plan.trm_any_cause_days)
    return (listed | not_disease).fillna(False).astype(bool)


def _join_safety(
    adsl: pd.DataFrame, name: str, frame: pd.DataFrame | None, queries: list[dict[str, str]]
) -> pd.DataFrame:
    columns = SAFETY_COLUMNS[name]
    if frame is None:
        for column, dtype in columns.items():
            adsl[column] = pd.Series(pd.NA if dtype != "float64" else float("nan"), index=adsl.index, dtype=dtype)
        return adsl
    missing = [c for c in ["participant_id", *columns] if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {missing}")
    table = (
        frame[["participant_id", *columns]]
        .assign(participant_id=frame["participant_id"].astype("string"))
        .drop_duplicates("participant_id")
        .set_index("participant_id")
    )
    infused = adsl["infused"].astype(bool)
    for column, dtype in columns.items():
        values = adsl["participant_id"].map(table[column])
        adsl[column] = values.where(infused).astype(dtype)
    for participant_id in adsl.loc[infused & ~adsl["participant_id"].isin(table.index), "participant_id"]:
        queries.append(
            {
                "participant_id": participant_id,
                "kind": f"{name}_missing",
                "detail": f"infused participant absent from the {name} derivation; used: NA",
            }
        )
    return adsl


def build_adsl(
    participants: pd.DataFrame,
    events: pd.DataFrame,
    plan: AnalysisPlan,
    crs: pd.DataFrame | None = None,
    icans: pd.DataFrame | None = None,
    anakinra: pd.DataFrame | None = None,
    last_known_alive: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Derive adsl.parquet, one row per enrolled participant, and its queries.

    Parameters
    ----------
    participants, events
        The processed tables (docs/processed-tables.md); the analysis-set flags are read from
        ``participants``.
    plan
        ``high_burden_pct``, the response settings, ``horizon_days`` and ``trm_*``.
    crs, icans, anakinra
        The safety derivations (outputs.md), optional.
    last_known_alive
        :func:`analysis.derive.key_times.derive_var_last_known_alive` of the same tables, when the
        caller has it already (it reads rows of every type, so ``events`` may then leave out rows
        no other variable here reads); derived from ``events`` when None.

    Returns
    -------
    (adsl, queries)
        ``adsl``: :data:`ADSL_COLUMNS`, sorted by ``participant_id``. Variables, with the rule each
        implements:

        - ``high_burden``: ``marrow_blast_pct`` ≥ ``plan.high_burden_pct`` (grading.md, "Burden").
        - ``withdrawn`` / ``withdrawal_reason`` / ``withdrawal_days``: a ``withdrawal`` row before
          the cut (the first one; its free text; its study day, NaN if not infused).
        - ``death`` / ``death_cause`` / ``death_days``: the death of
          :func:`analysis.participant_vars.derive_vars_death` (the earliest death row; at the same
          instant the first line); ``death_days`` clamped at 0 for a death recorded before
          infusion, NaN if not infused.
        - ``treatment_related_death``: :func:`compute_treatment_related_death`.
        - ``last_known_alive_days``: LKA (grading.md,
          :func:`analysis.derive.key_times.derive_var_last_known_alive`), capped at the death; NaN
          if not infused.
        - ``completed_12_months``: infused and known alive at ``plan.horizon_days`` (LKA ≥ the horizon).
        - ``ongoing_at_cut``: no death, no withdrawal, 12 months not completed — still in follow-up
          at the cut (for a participant not infused: awaiting infusion).
        - ``response_day28`` … ``first_cr_days``: :func:`analysis.derive.response.derive_response`
          (NA / False for participants not infused).
        - safety columns: from the frames given (see the module docstring); ``anakinra_given`` =
          a first anakinra dose is recorded.

        ``queries``: ``participant_id``, ``kind``, ``detail`` — ``day28_equidistant_assessments``
        (two assessments equally near day 28; the earlier was used) and ``{crs,icans,anakinra}_missing``
        (an infused participant absent from a given safety frame). The contradictory dates are
        returned by :func:`analysis.derive.adtte.derive_adtte`, not repeated here.
    """
    base = participants[BASELINE_COLUMNS].copy()
    base["participant_id"] = base["participant_id"].astype("string")
    base = base.sort_values("participant_id", kind="mergesort").reset_index(drop=True)
    infused = base["infused"].astype(bool)
    for column in ("infused", "safety", "crs_evaluable", "efficacy_evaluable", "prior_hsct"):
        base[column] = base[column].astype(bool)
    base["high_burden"] = (base["marrow_blast_pct"] >= plan.high_burden_pct).astype(bool)

    ev = events.assign(
        participant_id=events["participant_id"].astype("string"),
        event_type=events["event_type"].astype("string").str.lower(),
    )
    withdrawals = (
        ev.loc[ev["event_type"] == "withdrawal"]
        .sort_values(["participant_id", "event_time"], kind="mergesort")
        .groupby("participant_id")
        .head(1)
        .set_index("participant_id")
    )
    base["withdrawn"] = base["participant_id"].isin(withdrawals.index)
    base["withdrawal_reason"] = base["participant_id"].map(withdrawals["detail"]).astype("string")
    base["withdrawal_days"] = (
        base["participant_id"].map(withdrawals["hours_from_infusion"]).astype("float64") / HOURS_PER_DAY
    ).where(infused)

    death = derive_vars_death(participants, events).set_index("participant_id")
    base["death"] = base["participant_id"].isin(death.index)
    base["death_cause"] = base["participant_id"].map(death["death_cause"]).astype("string")
    base["death_days"] = (base["participant_id"].map(death["death_hours"]).astype("float64") / HOURS_PER_DAY).where(
        infused
    )
    base["treatment_related_death"] = (
        compute_treatment_related_death(base["death_cause"], base["death_days"], plan) & infused
    )

    if last_known_alive is None:
        last_known_alive = derive_var_last_known_alive(participants, events)
    lka = last_known_alive.set_index("participant_id")["last_known_alive_hours"]
    base["last_known_alive_days"] = base["participant_id"].map(lka).astype("float64") / HOURS_PER_DAY
    base["completed_12_months"] = (infused & (base["last_known_alive_days"] >= plan.horizon_days)).astype(bool)
    base["ongoing_at_cut"] = ~(base["death"] | base["withdrawn"] | base["completed_12_months"])

    response = derive_response(participants, events, plan).set_index("participant_id")
    base["response_day28"] = base["participant_id"].map(response["response_day28"]).astype("string")
    base["response_day28_days"] = (
        base["participant_id"].map(response["response_day28_hours"]).astype("float64") / HOURS_PER_DAY
    )
    base["mrd_day28_pct"] = base["participant_id"].map(response["mrd_day28_pct"]).astype("float64")
    base["mrd_negative_day28"] = base["participant_id"].map(response["mrd_negative_day28"]).astype("boolean")
    for column in ("cr_cri_day28", "best_cr_cri_3mo"):
        base[column] = base["participant_id"].map(response[column]).astype("boolean")
    base["best_response_3mo"] = base["participant_id"].map(response["best_response_3mo"]).astype("string")
    base["first_cr_days"] = base["participant_id"].map(response["first_cr_hours"]).astype("float64") / HOURS_PER_DAY

    queries: list[dict[str, str]] = []
    for participant_id, row in response.loc[response["day28_equidistant"]].iterrows():
        queries.append(
            {
                "participant_id": participant_id,
                "kind": "day28_equidistant_assessments",
                "detail": "two response assessments equally near day 28; used: the earlier, at day "
                f"{row['response_day28_hours'] / HOURS_PER_DAY:.2f} ({row['response_day28']})",
            }
        )
    base = _join_safety(base, "crs", crs, queries)
    base = _join_safety(base, "icans", icans, queries)
    base = _join_safety(base, "anakinra", anakinra, queries)
    base["anakinra_given"] = (
        base["first_anakinra_hours"]
        .notna()
        .astype("boolean")
        .where(infused & (anakinra is not None), pd.NA)
        .astype("boolean")
    )
    if anakinra is not None:
        absent = ~base["participant_id"].isin(anakinra["participant_id"].astype("string"))
        base.loc[absent, "anakinra_given"] = pd.NA

    out_queries = queries_from_records(queries)
    return base[ADSL_COLUMNS].reset_index(drop=True), out_queries
