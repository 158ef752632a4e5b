"""Assemble a simulated export bundle, cut it at the export time, render and write it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.simulate.adverse_events import simulate_adverse_events
from analysis.simulate.clock import local_dates, local_time_strings, parse_export_time, utc_minutes
from analysis.simulate.cohort import simulate_cohort
from analysis.simulate.course import simulate_course
from analysis.simulate.faults import plant_faults as plant_demo_faults
from analysis.simulate.frames import MINUTES_PER_DAY, MINUTES_PER_HOUR, concat_events
from analysis.simulate.medications import (
    persistent_fever_trigger,
    simulate_anakinra,
    simulate_rescue_and_supportive,
)
from analysis.simulate.neuro import simulate_neuro
from analysis.simulate.outcomes import not_infused_events, outcome_events, simulate_fate
from analysis.simulate.parameters import FOLLOW_UP_DAYS, HISTORICAL, TRIAL, CohortModel
from analysis.simulate.reported import reported_grade_events, reported_grades
from analysis.simulate.support import simulate_boluses, simulate_oxygen, simulate_vasopressors
from analysis.simulate.vitals import monitor_readings, simulate_vitals, vital_sign_schedule

STREAMS = (
    "cohort",
    "schedule",
    "course",
    "vitals",
    "support",
    "medications",
    "neuro",
    "outcomes",
    "reported",
    "adverse_events",
    "render",
    "faults",
)
OFFSET_VITALS_SHARE = 0.003


@dataclass(frozen=True)
class SimulatedExport:
    """A simulated bundle in memory: the three files' contents plus the simulator's truth.

    Attributes
    ----------
    manifest
        The ``manifest.json`` object.
    participants, events
        The CSV tables exactly as written (all cells strings, ``""`` = missing).
    truth
        One row per participant (nullable where not infused): ``high_burden``; the designed course
        (``crs_grade`` 0-5, ``crs_onset_hours``, ``fever_pattern``, ``trigger_hours``,
        ``first_anakinra_hours``, ``anakinra_deviation`` none/late/before_trigger,
        ``anakinra_escalated``, ``icans_grade``, ``response_day28``, ``death_cause``,
        ``death_day``, ``withdrawn``), which for a participant infused shortly before the export
        may lie after it; what the written rows document (``crs_grade_by_export``,
        ``icans_grade_by_export``, the maxima grading.md derives); and the reported grades with
        the planted discrepancies (``crs_grade_reported``, ``icans_grade_reported``,
        ``crs_discrepant``, ``icans_discrepant``).
    planted_faults
        The faults planted (empty unless ``plant_faults``).
    """

    manifest: dict[str, str]
    participants: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame
    planted_faults: list[dict[str, str]] = field(default_factory=list)


def format_numbers(values: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """Fixed-decimal strings (``""`` for NaN); ``decimals`` per value."""
    out = np.full(values.size, "", dtype=object)
    present = ~np.isnan(values)
    for d in np.unique(decimals[present]):
        chosen = present & (decimals == d)
        digits = values[chosen]
        out[chosen] = np.char.mod(f"%.{int(d)}f", digits) if d > 0 else digits.astype(np.int64).astype(str)
    return out


def _generate_events(
    rngs: dict[str, np.random.Generator],
    cohort: pd.DataFrame,
    model: CohortModel,
    export_minute: int,
    hourly_vitals_days: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """All internal rows but the reported grades (minutes from each participant's anchor).

    Returns
    -------
    events, course, days_to_export
        The rows; one row per infused participant with its CRS plan, outcomes and anakinra
        timing; and the days from each infusion to the export.
    """
    infused = cohort[cohort["infused"]].reset_index(drop=True)
    days_to_export = (export_minute - infused["anchor_minute"].to_numpy()) / MINUTES_PER_DAY
    schedule = vital_sign_schedule(rngs["schedule"], len(infused))
    plan = simulate_course(rngs["course"], infused, schedule, model)
    vitals = simulate_vitals(rngs["vitals"], plan, infused, schedule)
    fate = simulate_fate(rngs["outcomes"], infused, plan, days_to_export)
    never_infused = cohort[~cohort["infused"]]
    frames = [
        vitals,
        monitor_readings(vitals, hourly_vitals_days),
        simulate_boluses(rngs["support"], plan),
        simulate_vasopressors(rngs["support"], plan),
        simulate_oxygen(rngs["support"], plan, infused),
        simulate_rescue_and_supportive(rngs["medications"], plan, infused, model),
        simulate_neuro(rngs["neuro"], plan, infused),
        simulate_adverse_events(rngs["adverse_events"], infused, plan, fate),
        outcome_events(rngs["outcomes"], fate),
        not_infused_events(
            rngs["outcomes"],
            never_infused["pidx"].to_numpy(),
            (export_minute - never_infused["anchor_minute"].to_numpy()) / MINUTES_PER_DAY,
        ),
    ]
    trigger = persistent_fever_trigger(vitals[vitals["event_type"] == "temperature"]).rename("trigger_minute")
    anakinra_summary = pd.DataFrame(columns=["first_anakinra_minute", "anakinra_deviation", "anakinra_escalated"])
    if model.anakinra:
        anakinra, anakinra_summary = simulate_anakinra(rngs["medications"], plan, infused, trigger)
        frames.append(anakinra)
    course = (
        plan.merge(fate, on="pidx")
        .join(trigger, on="pidx")
        .merge(anakinra_summary, left_on="pidx", right_index=True, how="left")
    )
    return concat_events(frames), course, days_to_export


TWELVE_MONTH_VISIT_WINDOW_MINUTES = 7 * MINUTES_PER_DAY
"""The month-12 visit may fall up to a week after day 365.25; nothing else is kept beyond the horizon."""


def _cut(events: pd.DataFrame, cohort: pd.DataFrame, course: pd.DataFrame, export_minute: int) -> pd.DataFrame:
    """Keep what the EDC holds at the export: nothing after death, withdrawal, 12 months or the export.

    Interval ends after death are moved to the death; ends after a withdrawal, the 12-month horizon
    or the export are left empty (still running as far as the EDC knows), as are implied ends whose
    next row is kept. Adds ``abs_minute`` and ``abs_end`` (UTC minutes).
    """
    by_pidx = course.set_index("pidx")
    observation_end = events["pidx"].map(by_pidx["observation_end_minute"]).to_numpy()
    death = events["pidx"].map(by_pidx["death_minute"]).to_numpy()
    anchor = cohort["anchor_minute"].to_numpy()[events["pidx"].to_numpy()]
    minute = events["minute"].to_numpy()
    horizon = FOLLOW_UP_DAYS * MINUTES_PER_DAY
    true_end = events["end_minute"].to_numpy()
    beyond = (true_end > observation_end) | (true_end > horizon) | (anchor + true_end >= export_minute)
    end = np.where(true_end > death, death, true_end)
    end = np.where((end > observation_end) | (end > horizon) | (anchor + end >= export_minute), np.nan, end)
    end = np.where(events["end_implied"].to_numpy() & ~beyond, np.nan, end)
    final_visit = (events["event_type"].to_numpy() == "last_contact") & (
        minute <= horizon + TWELVE_MONTH_VISIT_WINDOW_MINUTES
    )
    keep = ~(minute > observation_end) & ((minute <= horizon) | final_visit) & (anchor + minute < export_minute)
    return events.assign(end_minute=end, abs_minute=anchor + minute, abs_end=anchor + end).loc[keep]


def _documented_grades(kept: pd.DataFrame) -> pd.DataFrame:
    """Per ``pidx``: the highest CRS and ICANS level the kept rows document (5 for a CRS death)."""
    documented = kept.groupby("pidx")[["crs_level", "icans_level"]].max()
    crs_death = kept.loc[(kept["event_type"] == "death") & (kept["detail"] == "crs"), "pidx"]
    documented.loc[documented.index.isin(crs_death), "crs_level"] = 5
    return documented


def _truth(cohort: pd.DataFrame, course: pd.DataFrame, documented: pd.DataFrame) -> pd.DataFrame:
    """One row per participant: the designed course and what of it the export documents."""
    hours = course[["onset_minute", "trigger_minute", "first_anakinra_minute"]].astype(float) / MINUTES_PER_HOUR
    by_pidx = pd.DataFrame(
        {
            "crs_grade": np.where(course["death_cause"] == "crs", 5, course["crs_grade"]),
            "crs_onset_hours": hours["onset_minute"],
            "fever_pattern": course["fever_pattern"],
            "trigger_hours": hours["trigger_minute"],
            "first_anakinra_hours": hours["first_anakinra_minute"],
            "anakinra_deviation": course["anakinra_deviation"],
            "anakinra_escalated": course["anakinra_escalated"],
            "icans_grade": course["icans_grade"],
            "crs_grade_reported": course["crs_grade_reported"].where(course["report_in_export"]),
            "icans_grade_reported": course["icans_grade_reported"].where(course["report_in_export"]),
            "crs_discrepant": course["crs_discrepant"],
            "icans_discrepant": course["icans_discrepant"],
            "response_day28": course["response"].where(course["response_recorded"]),
            "death_cause": course["death_cause"],
            "death_day": course["death_minute"] / MINUTES_PER_DAY,
            "withdrawn": course["withdrawal_minute"].notna(),
        }
    ).set_axis(course["pidx"].to_numpy())
    truth = cohort[["pidx", "participant_id", "infused", "high_burden"]].join(by_pidx, on="pidx")
    for column, level in (("crs_grade_by_export", "crs_level"), ("icans_grade_by_export", "icans_level")):
        truth[column] = truth["pidx"].map(documented[level]).where(truth["infused"])
    grades = [
        "crs_grade",
        "icans_grade",
        "crs_grade_reported",
        "icans_grade_reported",
        "crs_grade_by_export",
        "icans_grade_by_export",
    ]
    flags = ["anakinra_escalated", "crs_discrepant", "icans_discrepant", "withdrawn"]
    return truth.astype({**dict.fromkeys(grades, "Int64"), **dict.fromkeys(flags, "boolean")}).drop(columns="pidx")


def _render_participants(cohort: pd.DataFrame) -> pd.DataFrame:
    """participants.csv as strings: one decimal for age and weight, booleans as ``true``/``false``."""
    infusion = np.datetime_as_string(cohort["infusion_local"].to_numpy().astype("datetime64[s]"), unit="s")
    return pd.DataFrame(
        {
            "participant_id": cohort["participant_id"],
            "site_id": cohort["site_id"],
            "age_years": format_numbers(cohort["age_years"].to_numpy(float), np.full(len(cohort), 1)),
            "sex": cohort["sex"],
            "weight_kg": format_numbers(cohort["weight_kg"].to_numpy(float), np.full(len(cohort), 1)),
            "enrollment_date": np.datetime_as_string(cohort["enrollment_date"].to_numpy().astype("datetime64[D]")),
            "infusion_datetime": np.where(cohort["infused"], infusion, ""),
            "marrow_blast_pct": format_numbers(cohort["marrow_blast_pct"].to_numpy(float), np.zeros(len(cohort))),
            "prior_hsct": np.where(cohort["prior_hsct"], "true", "false"),
            "cns_status": cohort["cns_status"].fillna(""),
            "car_t_dose_per_kg": format_numbers(cohort["car_t_dose_per_kg"].to_numpy(float), np.zeros(len(cohort))),
        }
    )


def _render_events(events: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """events.csv as strings, sorted by participant, time and event type."""
    ordered = events.sort_values(["participant_id", "abs_minute", "event_type"], kind="stable")
    has_end = ordered["abs_end"].notna().to_numpy()
    end_time = np.full(len(ordered), "", dtype=object)
    end_time[has_end] = local_time_strings(ordered["abs_end"].to_numpy()[has_end].astype(np.int64), timezone)
    return pd.DataFrame(
        {
            "participant_id": ordered["participant_id"].to_numpy(),
            "event_time": local_time_strings(
                ordered["abs_minute"].to_numpy(np.int64), timezone, ordered["force_offset"].to_numpy(bool)
            ),
            "end_time": end_time,
            "event_type": ordered["event_type"].to_numpy(),
            "value": format_numbers(ordered["value"].to_numpy(float), ordered["decimals"].to_numpy()),
            "unit": ordered["unit"].fillna("").to_numpy(),
            "detail": ordered["detail"].fillna("").to_numpy(),
        }
    )


DEFAULT_EXPORTED_AT = "2026-11-01T09:00:00-06:00"
"""The simulated export instant (the demo's data cut is its date)."""
DEFAULT_TIMEZONE = "America/Chicago"
"""The site's zone: Lurie Children's, Chicago."""


def simulate_bundle(
    n_participants: int,
    seed: int,
    *,
    historical: bool = False,
    n_not_infused: int | None = None,
    plant_faults: bool = False,
    exported_at: str = DEFAULT_EXPORTED_AT,
    timezone: str = DEFAULT_TIMEZONE,
    hourly_vitals_days: int = 0,
    first_number: int = 1,
    cohort_size: int | None = None,
) -> SimulatedExport:
    """Simulate one export bundle in memory; see :func:`analysis.simulate.simulate_export`."""
    if n_participants < 1:
        raise ValueError(f"n_participants must be at least 1, got {n_participants}")
    if n_not_infused is None:
        n_not_infused = round(n_participants / 9)
    if not 0 <= n_not_infused <= n_participants:
        raise ValueError(f"n_not_infused must be between 0 and n_participants ({n_participants}), got {n_not_infused}")
    model = HISTORICAL if historical else TRIAL
    seeds = np.random.SeedSequence(seed).spawn(len(STREAMS))
    rngs = {name: np.random.default_rng(stream_seed) for name, stream_seed in zip(STREAMS, seeds)}
    export_minute = utc_minutes(parse_export_time(exported_at))
    export_date = local_dates(np.array([export_minute]), timezone)[0]

    cohort = simulate_cohort(
        rngs["cohort"], n_participants, n_not_infused, model, export_date, timezone, first_number, cohort_size
    )
    cohort.insert(0, "pidx", np.arange(len(cohort)))
    events, course, days_to_export = _generate_events(rngs, cohort, model, export_minute, hourly_vitals_days)
    kept = _cut(events, cohort, course, export_minute)
    documented = _documented_grades(kept)
    reports = reported_grades(rngs["reported"], course, documented, days_to_export)
    kept = pd.concat([kept, _cut(reported_grade_events(reports), cohort, course, export_minute)], ignore_index=True)
    truth = _truth(cohort, course.merge(reports, on="pidx"), documented)

    kept["participant_id"] = cohort["participant_id"].to_numpy()[kept["pidx"].to_numpy()]
    vitals = kept["event_type"].isin(["temperature", "systolic_bp"]).to_numpy()
    kept["force_offset"] = vitals & (rngs["render"].random(len(kept)) < OFFSET_VITALS_SHARE)
    faults: list[dict[str, str]] = []
    if plant_faults:
        quiet_after = course.set_index("pidx")["crs_end_minute"].fillna(0) + 2 * MINUTES_PER_DAY
        kept, faults = plant_demo_faults(rngs["faults"], kept, quiet_after, timezone)
    manifest = {
        "study_id": "PACER",
        "exported_at": exported_at,
        "source": "simulator",
        "format_version": "1",
        "timezone": timezone,
    }
    return SimulatedExport(manifest, _render_participants(cohort), _render_events(kept, timezone), truth, faults)


def write_bundle(bundle: SimulatedExport, out_dir: Path) -> Path:
    """Write ``manifest.json``, ``participants.csv`` and ``events.csv`` (UTF-8, LF) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").write_text(json.dumps(bundle.manifest, indent=2) + "\n", encoding="utf-8")
    bundle.participants.to_csv(out_dir / "participants.csv", index=False, lineterminator="\n", encoding="utf-8")
    bundle.events.to_csv(out_dir / "events.csv", index=False, lineterminator="\n", encoding="utf-8")
    return out_dir
