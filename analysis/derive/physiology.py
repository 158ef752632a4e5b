"""The physiological state over time — grading.md, "The physiological state over time".

Every function here is vectorized over participants and rows: sorts, group-bys, cumulative
operations and sorted look-ups (:func:`asof_index`); no Python loop runs over events or
participants.

Time is in integer ticks (:mod:`analysis.derive.ticks`). The high-dose vasopressor table and
the ≥ 3 h high-dose run are the Penn rule's, in :mod:`analysis.derive.penn`.

The state is piecewise constant on a *grid*: per participant, the elementary intervals
``[start, end)`` between every time at which any part of the state may change (a reading, the end
of its hold, a bolus and the end of its hour, the start and end of a vasopressor or oxygen
interval, extra times a caller asks for), from day 0 to the participant's *horizon*: the earliest
of the export time or cut (``data_end_hours``), death, and the end of CRS follow-up
(``crs_followup_days``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.derive.penn import compute_high_dose, compute_high_dose_run
from analysis.derive.ticks import (
    KEY_SHIFT,
    NEVER,
    ArrayLike,
    asof_index,
    hours_to_ticks,
    next_in_group,
    pack,
    previous_in_group,
    take_or,
    to_ticks,
)
from analysis.export.vocabulary import VASOPRESSIN
from analysis.participant_vars import derive_vars_death
from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_DAY

PALS_INFANT_SBP = 70.0
PALS_CHILD_SBP_BASE = 70.0
PALS_CHILD_SBP_PER_YEAR = 2.0
PALS_ADOLESCENT_SBP = 90.0
"""PALS systolic thresholds (grading.md, "Hypotension level")."""

OXYGEN_DEVICE_LEVEL: dict[str, int] = {
    "blow_by": 2,
    "nasal_cannula": 2,
    "high_flow_nasal_cannula": 3,
    "simple_face_mask": 3,
    "venturi_mask": 3,
    "nonrebreather_mask": 3,
    "cpap": 4,
    "bipap": 4,
    "mechanical_ventilation": 4,
}
"""grading.md, "Hypoxia level". A ``nasal_cannula`` above ``plan.high_flow_nasal_cannula_above_l_min`` is 3."""

UNKNOWN_OXYGEN_DEVICE_LEVEL = 2
"""A device outside the vocabulary (ingest quarantines those) still counts as supplemental oxygen."""

MECHANICAL_VENTILATION = "mechanical_ventilation"
NASAL_CANNULA = "nasal_cannula"

# --------------------------------------------------------------------------------------------
# clinical building blocks


def pals_sbp_threshold(age_years: ArrayLike, pals_age: str) -> np.ndarray:
    """The PALS systolic threshold: hypotension is an SBP *below* it.

    grading.md, "Hypotension level": age < 1 y: SBP < 70; 1 ≤ age < 10: SBP < 70 + 2 × age;
    age ≥ 10: SBP < 90 mmHg, with the age at infusion in completed years
    (floor(``age_at_infusion_years``)) or exact [choice ``pals_age``].

    Parameters
    ----------
    age_years
        Age at infusion in years (``age_at_infusion_years``).
    pals_age
        ``"completed_years"`` or ``"exact"``.

    Returns
    -------
    numpy.ndarray
        The threshold in mmHg (NaN where the age is unknown: then no SBP is low).

    Examples
    --------
    >>> pals_sbp_threshold([0.5, 1.5, 9.9, 10.0], "completed_years").tolist()
    [70.0, 72.0, 88.0, 90.0]
    >>> pals_sbp_threshold([1.5, 9.9], "exact").round(6).tolist()
    [73.0, 89.8]
    """
    age = np.asarray(age_years, dtype="float64")
    if pals_age == "completed_years":
        age = np.floor(np.round(age, 9))
    elif pals_age != "exact":
        raise ValueError(f"pals_age must be 'completed_years' or 'exact', not {pals_age!r}")
    threshold = np.where(
        age < 1,
        PALS_INFANT_SBP,
        np.where(age < 10, PALS_CHILD_SBP_BASE + PALS_CHILD_SBP_PER_YEAR * age, PALS_ADOLESCENT_SBP),
    )
    return np.where(np.isnan(age), np.nan, threshold)


def compute_oxygen_level(device: ArrayLike, flow: ArrayLike, plan: AnalysisPlan) -> np.ndarray:
    """Hypoxia level of one oxygen row.

    grading.md, "Hypoxia level": 2 low flow (``blow_by``, ``nasal_cannula`` ≤ 6 L/min); 3
    ``nasal_cannula`` > 6 L/min, ``high_flow_nasal_cannula`` (whatever its flow),
    ``simple_face_mask``, ``venturi_mask``, ``nonrebreather_mask``; 4 ``cpap``, ``bipap``,
    ``mechanical_ventilation``. A nasal cannula without a flow (ingest quarantines those) is 2.

    Examples
    --------
    >>> from analysis.settings import AnalysisPlan
    >>> compute_oxygen_level(["nasal_cannula", "nasal_cannula", "cpap"], [6.0, 6.5, np.nan], AnalysisPlan()).tolist()
    [2, 3, 4]
    """
    device = pd.Series(np.asarray(device, dtype=object))
    flow = np.asarray(flow, dtype="float64")
    level = device.map(OXYGEN_DEVICE_LEVEL).fillna(UNKNOWN_OXYGEN_DEVICE_LEVEL).to_numpy(dtype="int64")
    high_flow_cannula = (device.to_numpy() == NASAL_CANNULA) & (flow > plan.high_flow_nasal_cannula_above_l_min)
    return np.where(high_flow_cannula, 3, level)


# --------------------------------------------------------------------------------------------
# inputs


def prepare_participants(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The infused participants, coded 0…n-1 in ``participant_id`` order, with their time limits.

    grading.md, "Time", "Intervals" and "CRS, ASTCT 2019" (window, follow-up, grade 5).

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``participant_id``, ``age_at_infusion_years``, ``sbp_threshold`` (PALS),
        ``data_end`` (ticks: where intervals without an end stop: ``data_end_hours``, the export
        time or the cut whichever is first), ``death`` (ticks of the death of
        :func:`analysis.participant_vars.derive_vars_death` — one death row, its tie rule, a death
        recorded before infusion at 0 — ``NEVER`` if none), ``death_cause`` ("" without a death or
        a cause), ``horizon`` (ticks:
        the earliest of ``data_end``, death and day ``crs_followup_days``; the state is derived on
        [0, horizon)).
    """
    infused = participants["infused"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    p = participants.loc[infused].sort_values("participant_id", kind="mergesort")
    p = p.drop_duplicates("participant_id").reset_index(drop=True)
    out = pd.DataFrame(
        {
            "pid": np.arange(len(p), dtype="int64"),
            "participant_id": p["participant_id"].astype(str).to_numpy(dtype=object),
            "age_at_infusion_years": p["age_at_infusion_years"].to_numpy(dtype="float64", na_value=np.nan),
        }
    )
    out["sbp_threshold"] = pals_sbp_threshold(out["age_at_infusion_years"], plan.pals_age)

    data_end_h = np.fmin(
        p["data_end_hours"].to_numpy(dtype="float64", na_value=np.nan),
        p["cut_hours"].to_numpy(dtype="float64", na_value=np.nan),
    )

    deaths = derive_vars_death(participants, events).set_index("participant_id")
    death_h = out["participant_id"].map(deaths["death_hours"]).to_numpy(dtype="float64", na_value=np.nan)
    out["death_cause"] = out["participant_id"].map(deaths["death_cause"]).astype(object).fillna("")
    out["death"] = to_ticks(death_h)

    followup_end = hours_to_ticks(plan.crs_followup_days * HOURS_PER_DAY)
    if followup_end >= np.int64(1) << KEY_SHIFT:
        raise ValueError(f"crs_followup_days = {plan.crs_followup_days:g} is beyond what the timeline can hold")
    data_end = to_ticks(data_end_h)
    horizon = np.minimum(np.minimum(data_end, out["death"].to_numpy()), followup_end)
    out["horizon"] = np.maximum(horizon, 0)
    out["data_end"] = np.where(data_end >= NEVER, out["horizon"], data_end)
    return out


def prepare_events(events: pd.DataFrame, prepared_participants: pd.DataFrame) -> pd.DataFrame:
    """The rows of infused participants at or after infusion, in ticks.

    grading.md, "Time": *only rows at or after infusion describe the physiological state; earlier
    rows are kept and shown but never carried into day 0*.

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``event_type`` (categorical), ``t``, ``end`` (``NEVER`` when the row has no end),
        ``has_end``, ``value``, ``detail`` (categorical, "" when missing: nearly every row is a
        reading without one, so a code per row rather than a Python object).
    """
    pid = participant_codes(events["participant_id"], prepared_participants["participant_id"])
    hours = events["hours_from_infusion"].to_numpy(dtype="float64", na_value=np.nan)
    keep = np.flatnonzero((pid >= 0) & (hours >= 0))
    end_h = events["end_hours_from_infusion"].to_numpy(dtype="float64", na_value=np.nan)[keep]
    return pd.DataFrame(
        {
            "pid": pid[keep],
            "event_type": text_as_categorical(events["event_type"], "")[keep],
            "t": to_ticks(hours[keep]),
            "end": to_ticks(end_h),
            "has_end": ~np.isnan(end_h),
            "value": events["value"].to_numpy(dtype="float64", na_value=np.nan)[keep],
            "detail": text_as_categorical(events["detail"], "")[keep],
        },
        copy=False,  # fresh arrays, each its own block: no second copy to consolidate them
    )


def participant_codes(participant_id: pd.Series, sorted_ids: pd.Series) -> np.ndarray:
    """The position of each ``participant_id`` in ``sorted_ids`` (the ``pid`` code), -1 where it is not there.

    Looked up once per distinct id, so millions of event rows are never turned into Python strings.
    """
    codes, ids = pd.factorize(participant_id)
    position = pd.Index(sorted_ids.to_numpy(dtype=object)).get_indexer(np.asarray(ids, dtype=object).astype(str))
    return np.append(position, -1)[codes].astype("int64", copy=False)


def text_as_categorical(text: pd.Series, missing: str) -> pd.Categorical:
    """A text column coded once per distinct value, ``missing`` for NA: cheap to compare, to take, to turn into objects."""
    codes, values = pd.factorize(text)
    categories = pd.Index(np.asarray(values, dtype=object))
    unknown = codes < 0
    if unknown.any():
        if missing not in categories:
            categories = categories.append(pd.Index([missing], dtype=object))
        codes[unknown] = categories.get_loc(missing)  # in place: the codes are factorize's own array
    return pd.Categorical.from_codes(codes, categories=categories)


def _before_horizon(frame: pd.DataFrame, prepared_participants: pd.DataFrame) -> pd.DataFrame:
    horizon = prepared_participants["horizon"].to_numpy()
    return frame.loc[frame["t"].to_numpy() < horizon[frame["pid"].to_numpy()]]


# --------------------------------------------------------------------------------------------
# state components


def derive_reading_intervals(
    prepared_events: pd.DataFrame, prepared_participants: pd.DataFrame, event_type: str, plan: AnalysisPlan
) -> pd.DataFrame:
    """How long each ``temperature`` or ``systolic_bp`` reading describes the state.

    grading.md, "The physiological state over time": *a reading describes the state from its time
    until the next reading of the same type, for at most 12 h* [choice ``reading_hold_hours``];
    beyond that the state is unobserved (normal). *Readings of one type at the same time: the
    worst wins* (highest temperature, lowest SBP).

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``start``, ``end`` (ticks), ``value``; one row per (participant, time), sorted.
    """
    rows = prepared_events.loc[
        (prepared_events["event_type"] == event_type) & prepared_events["value"].notna(), ["pid", "t", "value"]
    ]
    rows = _before_horizon(rows, prepared_participants)
    worst = np.maximum if event_type == "temperature" else np.minimum
    keys = pack(rows["pid"].to_numpy(), rows["t"].to_numpy())
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype="int64")
    value = worst.reduceat(rows["value"].to_numpy(dtype="float64")[order], first) if len(keys) else np.zeros(0)
    pid = keys[first] >> KEY_SHIFT
    t = keys[first] & ((np.int64(1) << KEY_SHIFT) - 1)
    hold = hours_to_ticks(plan.reading_hold_hours)
    end = np.minimum(np.minimum(next_in_group(pid, t), t + hold), prepared_participants["horizon"].to_numpy()[pid])
    return pd.DataFrame({"pid": pid, "start": t, "end": end, "value": value}, copy=False)


def derive_bolus_intervals(
    prepared_events: pd.DataFrame, prepared_participants: pd.DataFrame, plan: AnalysisPlan
) -> pd.DataFrame:
    """The hour each ``fluid_bolus`` counts, and whether it is a repeat bolus.

    grading.md, "Hypotension level": a bolus *counts for 1 h from its time* [choice
    ``bolus_hold_hours``]; "CRS, Penn scale" grade 3: *while a bolus counts with another bolus in
    the 24 h before it* (``plan.penn_repeat_bolus_hours``; the earlier bolus may be at the same time
    or up to exactly 24 h before: both bounds included).

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``start``, ``end`` (ticks), ``repeat`` (bool), sorted by participant and time.
    """
    rows = _before_horizon(
        prepared_events.loc[prepared_events["event_type"] == "fluid_bolus", ["pid", "t"]], prepared_participants
    )
    rows = rows.sort_values(["pid", "t"], kind="mergesort")
    pid = rows["pid"].to_numpy()
    t = rows["t"].to_numpy()
    repeat = (t - previous_in_group(pid, t)) <= hours_to_ticks(plan.penn_repeat_bolus_hours)
    end = np.minimum(t + hours_to_ticks(plan.bolus_hold_hours), prepared_participants["horizon"].to_numpy()[pid])
    return pd.DataFrame({"pid": pid, "start": t, "end": end, "repeat": repeat})


def _interval_ends(
    group: np.ndarray, pid: np.ndarray, t: np.ndarray, end_raw: np.ndarray, prepared_participants: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Effective ends of interval rows sorted by (group, time): grading.md, "Intervals".

    A later row of the group replaces the earlier; a row with no end ends at the next row of the
    group, else at ``data_end`` (flagged ``open``); everything stops at the horizon.
    """
    nxt = next_in_group(group, t)
    open_ = (end_raw >= NEVER) & (nxt >= NEVER)
    end = np.where(open_, prepared_participants["data_end"].to_numpy()[pid], np.minimum(end_raw, nxt))
    end = np.minimum(end, prepared_participants["horizon"].to_numpy()[pid])
    return end, open_


def derive_vasopressor_intervals(
    prepared_events: pd.DataFrame, prepared_participants: pd.DataFrame, plan: AnalysisPlan
) -> pd.DataFrame:
    """When each vasopressor runs, and at what dose.

    grading.md, "Intervals": a ``vasopressor`` row runs from ``event_time`` to ``end_time``; one
    with no ``end_time`` ends at the next row of the same drug, else at the export time or the cut
    whichever is first (``data_end_hours``), and is flagged; *a later row of the same vasopressor
    replaces the earlier (titration)*, so within one drug intervals never overlap.

    Choices: rows of one drug at the same time are one row with the worst of each (highest dose,
    latest end, no end counting as latest); rows that started before infusion are not used
    (grading.md, "Time"); only the row that runs to ``data_end`` is flagged ``open`` — a row
    without an end that the next row of its drug ends is ordinary titration charting.

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``drug``, ``start``, ``end`` (ticks), ``dose``, ``open`` (bool); sorted by
        participant, drug and time; zero-length rows dropped.
    """
    rows = prepared_events.loc[prepared_events["event_type"] == "vasopressor", ["pid", "detail", "t", "end", "value"]]
    rows = rows.astype({"detail": object})  # drug names sort and group as text
    rows = rows.loc[rows["detail"] != ""]
    rows = _before_horizon(rows, prepared_participants).rename(columns={"detail": "drug"})
    rows = rows.groupby(["pid", "drug", "t"], sort=True).agg(dose=("value", "max"), end=("end", "max")).reset_index()
    pid = rows["pid"].to_numpy()
    t = rows["t"].to_numpy()
    drug_code = pd.factorize(rows["drug"])[0]
    group = pack(pid, drug_code)
    end, open_ = _interval_ends(group, pid, t, rows["end"].to_numpy(), prepared_participants)
    out = pd.DataFrame(
        {
            "pid": pid,
            "drug": rows["drug"].to_numpy(dtype=object),
            "start": t,
            "end": end,
            "dose": rows["dose"].to_numpy(dtype="float64"),
            "open": open_,
        }
    )
    return out.loc[out["end"] > out["start"]].reset_index(drop=True)


def derive_oxygen_intervals(
    prepared_events: pd.DataFrame, prepared_participants: pd.DataFrame, plan: AnalysisPlan
) -> pd.DataFrame:
    """Which oxygen device runs when, with its hypoxia level.

    grading.md, "Intervals": an ``oxygen`` row runs from ``event_time`` to ``end_time``; one with
    no ``end_time`` ends at the next oxygen row (of any device), else at ``data_end_hours``,
    flagged; *a later oxygen row replaces the earlier device*. Levels: :func:`compute_oxygen_level`.

    Choices: oxygen rows at the same time are one row: the worst device (highest level;
    mechanical ventilation above CPAP/BiPAP) with the latest end; rows before infusion are not
    used; only a row running to ``data_end`` is flagged ``open``.

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``device``, ``level``, ``start``, ``end`` (ticks), ``open``; sorted; zero-length
        rows dropped.
    """
    rows = prepared_events.loc[prepared_events["event_type"] == "oxygen", ["pid", "detail", "t", "end", "value"]]
    rows = rows.astype({"detail": object})  # devices sort and group as text
    rows = _before_horizon(rows, prepared_participants).rename(columns={"detail": "device"})
    rows = rows.assign(level=compute_oxygen_level(rows["device"], rows["value"], plan))
    rows["severity"] = rows["level"] * 2 + (rows["device"] == MECHANICAL_VENTILATION)
    rows = rows.sort_values(["pid", "t", "severity", "device"], kind="mergesort")
    rows = (
        rows.groupby(["pid", "t"], sort=True)
        .agg(device=("device", "last"), level=("level", "last"), end=("end", "max"))
        .reset_index()
    )
    pid = rows["pid"].to_numpy()
    t = rows["t"].to_numpy()
    end, open_ = _interval_ends(pid, pid, t, rows["end"].to_numpy(), prepared_participants)
    out = pd.DataFrame(
        {
            "pid": pid,
            "device": rows["device"].to_numpy(dtype=object),
            "level": rows["level"].to_numpy(dtype="int64"),
            "start": t,
            "end": end,
            "open": open_,
        }
    )
    return out.loc[out["end"] > out["start"]].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# the grid and the state on it


def build_grid(prepared_participants: pd.DataFrame, times: Iterable[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Elementary intervals ``[start, end)`` per participant between consecutive change times.

    Parameters
    ----------
    prepared_participants
        :func:`prepare_participants`; each participant's grid runs from 0 to its ``horizon``.
    times
        (pid, ticks) arrays of times at which the state may change; times outside [0, horizon]
        are ignored.

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``start``, ``end`` sorted; participants with a zero horizon have no row.
    """
    horizon = prepared_participants["horizon"].to_numpy()
    pid_all = prepared_participants["pid"].to_numpy()
    keys = [pack(pid_all, np.zeros(len(pid_all), dtype="int64")), pack(pid_all, horizon)]
    for pid, t in times:
        pid = np.asarray(pid, dtype="int64")
        t = np.asarray(t, dtype="int64")
        inside = (t >= 0) & (t <= horizon[pid])
        keys.append(pack(pid[inside], t[inside]))
    keys = np.concatenate(keys)
    keys.sort()  # in place: the boundaries of a registry are tens of millions of keys
    distinct = np.ones(len(keys), dtype=bool)
    distinct[1:] = keys[1:] != keys[:-1]
    keys = keys[distinct]
    pid = keys >> KEY_SHIFT
    t = keys & ((np.int64(1) << KEY_SHIFT) - 1)
    same = pid[1:] == pid[:-1]
    return pd.DataFrame({"pid": pid[:-1][same], "start": t[:-1][same], "end": t[1:][same]}, copy=False)


@dataclass(frozen=True)
class Physiology:
    """The physiological state on the grid, and the interval tables it was built from.

    ``state`` columns: ``pid``, ``start``, ``end`` (ticks); ``temperature_observed``, ``fever``,
    ``sbp_observed``, ``sbp_low``, ``bolus``, ``repeat_bolus``, ``vasopressor_count`` (drugs
    running, vasopressin included), ``vasopressin``, ``high_dose``, ``high_dose_run`` (inside an
    uninterrupted high-dose run of at least ``plan.high_dose.min_duration_hours``),
    ``oxygen_device`` ("" for none), ``mechanical_ventilation``, ``hypotension_level``,
    ``hypoxia_level``.
    """

    participants: pd.DataFrame
    state: pd.DataFrame
    temperature: pd.DataFrame
    systolic_bp: pd.DataFrame
    bolus: pd.DataFrame
    vasopressor: pd.DataFrame
    oxygen: pd.DataFrame


def _reading_state(readings: pd.DataFrame, pid: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = asof_index(readings["pid"].to_numpy(), readings["start"].to_numpy(), pid, start)
    observed = (idx >= 0) & (start < take_or(readings["end"].to_numpy(), idx, -1))
    return observed, take_or(readings["value"].to_numpy(dtype="float64"), idx, np.nan)


def _covering(intervals: pd.DataFrame, pid: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Index of the interval covering each grid start (intervals sorted, non-overlapping in time order); -1 if none."""
    idx = asof_index(intervals["pid"].to_numpy(), intervals["start"].to_numpy(), pid, start)
    on = (idx >= 0) & (start < take_or(intervals["end"].to_numpy(), idx, -1))
    return np.where(on, idx, -1)


def build_physiology(
    prepared_participants: pd.DataFrame,
    prepared_events: pd.DataFrame,
    plan: AnalysisPlan,
    extra_times: Iterable[tuple[np.ndarray, np.ndarray]] = (),
) -> Physiology:
    """The physiological state over time, per participant, on [0, horizon).

    grading.md, "The physiological state over time":

    - **Fever**: the temperature reading in force (:func:`derive_reading_intervals`) is ≥
      ``plan.fever_celsius`` (38.0 °C), compared after rounding to 0.01 °C.
    - **Hypotension level**: 4 two or more vasopressors running at once, vasopressin not counted;
      3 one vasopressor running, with or without vasopressin (vasopressin alone counts as one);
      2 an SBP below the PALS threshold (:func:`pals_sbp_threshold`) or a bolus in its hour; 0
      otherwise (unobserved SBP is normal).
    - **Hypoxia level**: the level of the oxygen device running (:func:`derive_oxygen_intervals`),
      0 without one.
    - **High dose and high-dose runs** (grading.md, "CRS, Penn scale"): the Penn rule's
      :func:`analysis.derive.penn.compute_high_dose` and
      :func:`analysis.derive.penn.compute_high_dose_run`.

    Parameters
    ----------
    prepared_participants, prepared_events
        :func:`prepare_participants`, :func:`prepare_events`.
    plan
        The analysis plan.
    extra_times
        (pid, ticks) arrays of further grid boundaries (e.g. masking-drug doses).
    """
    temperature = derive_reading_intervals(prepared_events, prepared_participants, "temperature", plan)
    systolic_bp = derive_reading_intervals(prepared_events, prepared_participants, "systolic_bp", plan)
    bolus = derive_bolus_intervals(prepared_events, prepared_participants, plan)
    vasopressor = derive_vasopressor_intervals(prepared_events, prepared_participants, plan)
    oxygen = derive_oxygen_intervals(prepared_events, prepared_participants, plan)

    boundaries = [
        (f["pid"].to_numpy(), f[c].to_numpy())
        for f in (temperature, systolic_bp, bolus, vasopressor, oxygen)
        for c in ("start", "end")
    ]
    grid = build_grid(prepared_participants, [*boundaries, *extra_times])
    pid = grid["pid"].to_numpy()
    start = grid["start"].to_numpy()
    n = len(grid)

    temperature_observed, temperature_value = _reading_state(temperature, pid, start)
    fever = temperature_observed & (np.round(temperature_value, 2) >= plan.fever_celsius)
    sbp_observed, sbp_value = _reading_state(systolic_bp, pid, start)
    sbp_low = sbp_observed & (sbp_value < prepared_participants["sbp_threshold"].to_numpy()[pid])

    bolus_on = _covering(bolus, pid, start) >= 0
    repeat_on = _covering(bolus.loc[bolus["repeat"]], pid, start) >= 0

    doses: dict[str, np.ndarray] = {}
    non_vasopressin = np.zeros(n, dtype="int64")
    vasopressin = np.zeros(n, dtype=bool)
    for drug, rows in vasopressor.groupby("drug", sort=True):
        idx = _covering(rows, pid, start)
        running = idx >= 0
        if drug == VASOPRESSIN:
            vasopressin |= running
        else:
            non_vasopressin += running
            doses[drug] = np.where(running, take_or(rows["dose"].to_numpy(dtype="float64"), idx, 0.0), 0.0)
    vasopressor_count = non_vasopressin + vasopressin
    high_dose = compute_high_dose(doses, vasopressin, vasopressor_count, plan)

    oxygen_idx = _covering(oxygen, pid, start)
    hypoxia_level = np.where(oxygen_idx >= 0, take_or(oxygen["level"].to_numpy(), oxygen_idx, 0), 0).astype("int64")
    oxygen_device = np.where(oxygen_idx >= 0, take_or(oxygen["device"].to_numpy(dtype=object), oxygen_idx, ""), "")

    hypotension_level = np.select([non_vasopressin >= 2, vasopressor_count >= 1, sbp_low | bolus_on], [4, 3, 2], 0)

    high_dose_run = compute_high_dose_run(pid, high_dose, grid["end"].to_numpy() - start, plan)

    state = pd.DataFrame(
        {
            "pid": pid,
            "start": start,
            "end": grid["end"].to_numpy(),
            "temperature_observed": temperature_observed,
            "fever": fever,
            "sbp_observed": sbp_observed,
            "sbp_low": sbp_low,
            "bolus": bolus_on,
            "repeat_bolus": repeat_on,
            "vasopressor_count": vasopressor_count.astype("int64"),
            "vasopressin": vasopressin,
            "high_dose": high_dose,
            "high_dose_run": high_dose_run,
            "oxygen_device": oxygen_device.astype(object),
            "mechanical_ventilation": oxygen_device == MECHANICAL_VENTILATION,
            "hypotension_level": hypotension_level.astype("int64"),
            "hypoxia_level": hypoxia_level,
        },
        copy=False,  # one block per column, no consolidating copy; the CRS derivation adds its columns in place
    )
    return Physiology(prepared_participants, state, temperature, systolic_bp, bolus, vasopressor, oxygen)
