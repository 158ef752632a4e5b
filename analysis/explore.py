"""Helpers for the exploratory notebooks (``notebooks/``): find an output folder, select rows for plots.

Nothing here derives anything. The notebooks read the tables a run wrote
(``data/processed/<cut>/``); these helpers only pick rows and columns out of them for display,
group them, and — for the sensitivity notebook — call the pipeline's own functions
(:func:`analysis.derive.all_tables.derive_all_tables`, :func:`analysis.stats.trial_ard.build_trial_ard`)
under modified analysis-plan settings. No helper returns free text (``detail_text``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.export.vocabulary import CORTICOSTEROIDS
from analysis.settings import AnalysisPlan
from analysis.store import read_provenance
from analysis.units import HOURS_PER_DAY

PROCESSED_ROOT = Path(__file__).resolve().parent.parent / "data" / "processed"
"""Where `pacer run` writes by default (``data/processed/<data-cut>/``)."""

PROCESSED_ENV = "PACER_PROCESSED"
PARTICIPANT_ENV = "PACER_PARTICIPANT"

VASOPRESSOR_UNITS = "mcg/kg/min"
DOSE_DRUGS: dict[str, tuple[str, ...]] = {
    "anakinra": ("anakinra",),
    "tocilizumab": ("tocilizumab",),
    "corticosteroid": CORTICOSTEROIDS,
}
"""The doses the CRS timeline explorer draws, by row of the plot (the corticosteroids share one row)."""

COMPARISON_STATS = {
    ("trial_n", "descriptive"): "trial_n",
    ("trial_N", "descriptive"): "trial_N",
    ("trial_p", "descriptive"): "trial_p",
    ("historical_p", "descriptive"): "historical_p",
    ("burden_matched", "descriptive"): "burden_matched",
    ("rd", "newcombe_hybrid"): "rd",
    ("rd_ci_low", "newcombe_hybrid"): "rd_ci_low",
    ("rd_ci_high", "newcombe_hybrid"): "rd_ci_high",
    ("p_value", "binom_exact_1s"): "p_binom_1s",
}
"""The ``historical_comparison`` ARD statistics the sensitivity notebook follows, and their short names."""


def processed_folder(environ: Mapping[str, str] | None = None, root: Path | None = None) -> Path:
    """The output folder to explore: ``$PACER_PROCESSED``, else the newest run under ``root`` (``data/processed/``).

    "Newest" is the folder whose ``manifest.json`` was written last (a run's folder is named after
    its data cut by default, but ``--out`` can name it anything).

    Raises
    ------
    FileNotFoundError
        with what to do, when the folder has no ``participants.parquet`` or there is no run at all.
    """
    environ = os.environ if environ is None else environ
    root = PROCESSED_ROOT if root is None else root
    if environ.get(PROCESSED_ENV):
        folder = Path(environ[PROCESSED_ENV]).expanduser()
        if not (folder / "participants.parquet").is_file():
            raise FileNotFoundError(f"{PROCESSED_ENV}={folder}: no participants.parquet there; run `pacer run` first")
        return folder
    runs = [
        path.parent
        for path in Path(root).glob("*/manifest.json")
        if not path.parent.name.startswith(".") and (path.parent / "participants.parquet").is_file()
    ]
    if not runs:
        raise FileNotFoundError(f"no run under {root}: run `pacer run` (or set {PROCESSED_ENV} to an output folder)")
    return max(runs, key=lambda folder: ((folder / "manifest.json").stat().st_mtime, folder.name))


def read_tables(folder: Path, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The named Parquet tables of ``folder``."""
    return {name: pd.read_parquet(Path(folder) / f"{name}.parquet") for name in names}


def plan_in_force(folder: Path, table: str = "adsl") -> AnalysisPlan:
    """The analysis plan the folder's tables were derived with (their ``pacer`` provenance)."""
    return AnalysisPlan.model_validate(read_provenance(Path(folder) / f"{table}.parquet")["analysis_plan"])


# --- CRS timeline explorer ---------------------------------------------------------------------


def default_participant(crs: pd.DataFrame, environ: Mapping[str, str] | None = None) -> str:
    """``$PACER_PARTICIPANT``, else the infused participant with the highest ASTCT grade (then Penn grade, then id)."""
    environ = os.environ if environ is None else environ
    wanted = environ.get(PARTICIPANT_ENV)
    if wanted:
        if wanted not in set(crs["participant_id"]):
            raise KeyError(f"{PARTICIPANT_ENV}={wanted}: not an infused participant of this output folder")
        return wanted
    if crs.empty:
        raise ValueError("no infused participant in this output folder")
    ranked = crs.sort_values(
        ["crs_max_grade", "crs_max_grade_penn", "participant_id"], ascending=[False, False, True], kind="stable"
    )
    return str(ranked["participant_id"].iloc[0])


def participant_course(
    events: pd.DataFrame, crs_timeline: pd.DataFrame, participant_id: str, last_day: float = 30.0
) -> dict[str, pd.DataFrame]:
    """One participant's charted rows and derived CRS state from day 0 to ``last_day``, times in days.

    Returns
    -------
    dict of DataFrame
        ``temperature`` and ``sbp`` (``day``, ``value``); ``oxygen`` and ``vasopressor`` (``day``,
        ``end_day`` (NaN when open), ``code``, ``value``, ``unit``); ``doses`` (``day``, ``row``
        (anakinra / tocilizumab / corticosteroid), ``code``, ``value``, ``unit``) — the charted
        rows of ``events.parquet`` at or after the infusion; ``state`` — the participant's
        ``crs_timeline`` intervals (``start_day``, ``end_day`` and the state and grade columns),
        clipped to the window.
    """
    mine = events.loc[
        (events["participant_id"] == participant_id)
        & events["hours_from_infusion"].between(0, HOURS_PER_DAY * last_day)
    ]

    def rows(event_type: str, with_end: bool = False) -> pd.DataFrame:
        picked = mine.loc[mine["event_type"] == event_type]
        frame = pd.DataFrame(
            {
                "day": picked["hours_from_infusion"].to_numpy(float) / HOURS_PER_DAY,
                "code": picked["detail"].astype("string").to_numpy(),
                "value": picked["value"].to_numpy(float),
                "unit": picked["unit"].astype("string").to_numpy(),
            }
        )
        if with_end:
            frame.insert(1, "end_day", picked["end_hours_from_infusion"].to_numpy(float) / HOURS_PER_DAY)
        return frame.sort_values("day", kind="stable").reset_index(drop=True)

    doses = rows("medication")
    row_of = {code: row for row, codes in DOSE_DRUGS.items() for code in codes}
    doses = (
        doses.loc[doses["code"].isin(list(row_of))].assign(row=lambda f: f["code"].map(row_of)).reset_index(drop=True)
    )
    state = crs_timeline.loc[
        (crs_timeline["participant_id"] == participant_id) & (crs_timeline["start_hours"] < HOURS_PER_DAY * last_day)
    ]
    state = state.drop(columns=["participant_id"]).assign(
        start_day=lambda f: f["start_hours"] / HOURS_PER_DAY,
        end_day=lambda f: np.minimum(f["end_hours"], HOURS_PER_DAY * last_day) / HOURS_PER_DAY,
    )
    return {
        "temperature": rows("temperature")[["day", "value"]],
        "sbp": rows("systolic_bp")[["day", "value"]],
        "oxygen": rows("oxygen", with_end=True),
        "vasopressor": rows("vasopressor", with_end=True),
        "doses": doses[["day", "row", "code", "value", "unit"]],
        "state": state.reset_index(drop=True),
    }


def grade_spans(state: pd.DataFrame, column: str = "crs_grade") -> pd.DataFrame:
    """Consecutive intervals of ``state`` with the same grade > 0, merged: ``start_day``, ``end_day``, ``grade``."""
    if state.empty:
        return pd.DataFrame({"start_day": [], "end_day": [], "grade": []})
    grade = state[column].to_numpy()
    new = np.r_[
        True, (grade[1:] != grade[:-1]) | (state["start_day"].to_numpy()[1:] != state["end_day"].to_numpy()[:-1])
    ]
    block = np.cumsum(new)
    spans = (
        state.assign(block=block)
        .groupby("block")
        .agg(start_day=("start_day", "first"), end_day=("end_day", "last"), grade=(column, "first"))
    )
    return spans.loc[spans["grade"] > 0].reset_index(drop=True)


# --- Survival explorer -------------------------------------------------------------------------


def crs_grade_group(grade: pd.Series) -> pd.Series:
    """ASTCT maximum grade in three groups: "no CRS", "grade 1–2", "grade ≥ 3" (NA stays NA)."""
    grade = pd.to_numeric(grade, errors="coerce")
    groups = pd.Series(pd.NA, index=grade.index, dtype="string")
    groups[grade == 0] = "no CRS"
    groups[grade.isin([1, 2])] = "grade 1–2"
    groups[grade >= 3] = "grade ≥ 3"
    return groups


def survival_groups(adtte: pd.DataFrame, adsl: pd.DataFrame, paramcd: str, by: str) -> dict[str, pd.DataFrame]:
    """``adtte`` records of one parameter (``aval`` days, ``event`` bool) split by ``by``.

    ``by``: ``"all"``, ``"burden"`` (ADSL ``high_burden``) or ``"crs_grade"`` (ADSL ``crs_max_grade``
    in :func:`crs_grade_group`'s groups). Groups come in a fixed order; empty ones are left out.
    """
    records = adtte.loc[adtte["paramcd"] == paramcd, ["participant_id", "aval", "cnsr"]]
    records = records.assign(event=records["cnsr"] == 0).merge(
        adsl[["participant_id", "high_burden", "crs_max_grade"]], on="participant_id", how="left"
    )
    if by == "all":
        labels, order = pd.Series("all", index=records.index), ["all"]
    elif by == "burden":
        labels = records["high_burden"].map({True: "high burden", False: "low burden"})
        order = ["high burden", "low burden"]
    elif by == "crs_grade":
        labels, order = crs_grade_group(records["crs_max_grade"]), ["no CRS", "grade 1–2", "grade ≥ 3"]
    else:
        raise ValueError(f"by must be 'all', 'burden' or 'crs_grade', got {by!r}")
    groups = {label: records.loc[labels == label, ["aval", "event"]].reset_index(drop=True) for label in order}
    return {label: frame for label, frame in groups.items() if not frame.empty}


# --- Comparison sensitivity --------------------------------------------------------------------


def with_settings(plan: AnalysisPlan, **changes: object) -> AnalysisPlan:
    """``plan`` with some settings changed, validated again (nested groups as dicts of their changed fields)."""
    values = plan.model_dump()
    for name, value in changes.items():
        values[name] = {**values[name], **value} if isinstance(value, Mapping) else value
    return AnalysisPlan.model_validate(values)


def scaled_high_dose(plan: AnalysisPlan, factor: float) -> AnalysisPlan:
    """``plan`` with every high-dose vasopressor threshold (``high_dose.*``, not its duration) multiplied by ``factor``."""
    doses = {
        name: value * factor for name, value in plan.high_dose.model_dump().items() if name != "min_duration_hours"
    }
    return with_settings(plan, high_dose=doses)


def historical_comparisons(
    participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan, cohorts: list[dict]
) -> pd.DataFrame:
    """The historical comparisons under ``plan``: the pipeline's derivations and ARD, re-run on the processed rows.

    Returns one row per (cohort, endpoint) with the :data:`COMPARISON_STATS` columns.
    """
    from analysis.derive.all_tables import derive_all_tables
    from analysis.stats.trial_ard import build_trial_ard

    tables = derive_all_tables(participants, events, plan)
    ard, _ = build_trial_ard(tables, cohorts, plan)
    rows = ard.loc[ard["analysis"] == "historical_comparison"]
    keys = list(zip(rows["stat_name"], rows["method"].fillna("")))
    picked = rows.loc[[key in COMPARISON_STATS for key in keys]].assign(
        stat=[COMPARISON_STATS.get(key) for key in keys if key in COMPARISON_STATS]
    )
    wide = picked.pivot_table(index=["group", "variable"], columns="stat", values="stat_value", aggfunc="first")
    wide = wide.reindex(columns=[c for c in COMPARISON_STATS.values() if c in wide.columns])
    return wide.rename_axis(index=["cohort", "endpoint"], columns=None).reset_index()


def sensitivity(
    participants: pd.DataFrame,
    events: pd.DataFrame,
    base: AnalysisPlan,
    cohorts: list[dict],
    high_burden_pcts: Iterable[float],
    high_dose_factors: Iterable[float],
) -> pd.DataFrame:
    """The historical comparisons under each high-burden threshold (high-dose table as in ``base``) and under each
    scaling of the high-dose table (high-burden threshold as in ``base``).

    Returns the rows of :func:`historical_comparisons` with ``setting`` (``high_burden_pct`` or
    ``high_dose_factor``), ``value`` and ``is_base`` (the settings in force).
    """
    frames = []
    for pct in high_burden_pcts:
        frame = historical_comparisons(participants, events, with_settings(base, high_burden_pct=float(pct)), cohorts)
        frames.append(
            frame.assign(setting="high_burden_pct", value=float(pct), is_base=float(pct) == base.high_burden_pct)
        )
    for factor in high_dose_factors:
        frame = historical_comparisons(participants, events, scaled_high_dose(base, float(factor)), cohorts)
        frames.append(frame.assign(setting="high_dose_factor", value=float(factor), is_base=float(factor) == 1.0))
    columns = ["setting", "value", "is_base"]
    combined = pd.concat(frames, ignore_index=True)
    return combined[columns + [c for c in combined.columns if c not in columns]]


__all__ = [
    "PARTICIPANT_ENV",
    "PROCESSED_ENV",
    "crs_grade_group",
    "default_participant",
    "grade_spans",
    "historical_comparisons",
    "participant_course",
    "plan_in_force",
    "processed_folder",
    "read_tables",
    "scaled_high_dose",
    "sensitivity",
    "survival_groups",
    "with_settings",
]
