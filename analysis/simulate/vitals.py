"""Temperature and systolic blood pressure: every 4 h over days 0-14, then daily to day 30."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import MINUTES_PER_HOUR, concat_events, event_frame

# Nominal hours of the vitals slots: 0, 4, ..., 336 (day 14), then 360, 384, ..., 720 (day 30).
SLOT_HOURS = np.concatenate([np.arange(0, 14 * 24 + 1, 4), np.arange(15, 31) * 24]).astype(float)
FOUR_HOURLY_SLOTS = int(np.sum(SLOT_HOURS <= 14 * 24))

FEVER_C = 38.0
TRIGGER_C = 38.5


def vital_sign_schedule(rng: np.random.Generator, n: int) -> np.ndarray:
    """(participants x slots) reading times in minutes from infusion: nominal slot -10 to +25 min."""
    jitter = rng.integers(-10, 26, (n, SLOT_HOURS.size))
    return (SLOT_HOURS[None, :] * MINUTES_PER_HOUR).astype(np.int64) + jitter


def _uniform_rounded(rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
    return np.round(rng.uniform(low, high, shape), 1)


def _temperatures(rng: np.random.Generator, plan: pd.DataFrame, schedule: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(participants x slots) temperatures in °C and a mask of readings inside the fever phase.

    Fever patterns (``plan.fever_pattern``), with j the reading's index in the fever phase:

    - ``persistent``: j = 0 is 38.0-39.2; j = 1, 3 and every even j > 0, and any daily reading, are
      38.6-40.3; other odd j are 38.6-40.3 (60 %), 38.0-38.5 (25 %) or 37.4-37.9 (15 %), so a
      trigger pair 4-24 h apart always exists and no two afebrile readings are adjacent;
    - ``single_high`` / ``close_pair``: j = 0 is 38.6-39.4, later readings 38.0-38.5 (odd j
      may be afebrile): no pair of readings > 38.5 °C 4-24 h apart;
    - ``low_grade``: every reading 38.0-38.5 °C (38.5 is not above the trigger threshold).
    """
    shape = schedule.shape
    slot = np.arange(shape[1])[None, :]
    onset_slot = plan["onset_slot"].to_numpy()[:, None]
    in_phase = (onset_slot >= 0) & (slot >= onset_slot) & (schedule <= plan["fever_end_minute"].to_numpy()[:, None])
    j = slot - onset_slot
    pattern = plan["fever_pattern"].to_numpy()[:, None]

    afebrile = np.clip(np.round(rng.normal(36.9, 0.3, shape), 1), 36.0, 37.8)
    high = _uniform_rounded(rng, 38.6, 40.3, shape)
    low_fever = _uniform_rounded(rng, 38.0, 38.5, shape)
    soft = _uniform_rounded(rng, 37.4, 37.9, shape)
    mix = rng.random(shape)
    odd_persistent = np.select([mix < 0.60, mix < 0.85], [high, low_fever], soft)
    persistent = np.select(
        [j == 0, (j == 1) | (j == 3) | (j % 2 == 0) | (slot >= FOUR_HOURLY_SLOTS)],
        [_uniform_rounded(rng, 38.0, 39.2, shape), high],
        odd_persistent,
    )
    brief_first = _uniform_rounded(rng, 38.6, 39.4, shape)
    brief = np.select([j == 0, (j % 2 == 1) & (mix < 0.4)], [brief_first, soft], low_fever)
    fever_value = np.select(
        [pattern == "persistent", np.isin(pattern, ["single_high", "close_pair"])], [persistent, brief], low_fever
    )
    return np.where(in_phase, fever_value, afebrile), in_phase


def _recheck_readings(rng: np.random.Generator, plan: pd.DataFrame) -> pd.DataFrame:
    """``close_pair``: a second reading > 38.5 °C 1-3.5 h after the first, too soon for the trigger."""
    rows = plan[plan["fever_pattern"] == "close_pair"]
    minute = rows["onset_minute"].to_numpy() + rng.integers(60, 211, len(rows))
    value = _uniform_rounded(rng, 38.6, 39.4, (len(rows),))
    return event_frame(rows["pidx"], minute, "temperature", value=value, decimals=1, unit="C", crs_level=1)


def _systolic_pressures(
    rng: np.random.Generator, plan: pd.DataFrame, infused: pd.DataFrame, schedule: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(participants x slots) SBP in mmHg and a mask of hypotensive readings.

    Normal readings stay at least 5 mmHg above the PALS threshold (so no grade-1 participant is
    hypotensive under either age convention); readings in a hypotension window are 3-15 mmHg
    below it; readings while a vasopressor runs are 0-10 mmHg above it (supported).
    """
    shape = schedule.shape
    threshold = infused["pals_threshold"].to_numpy()[:, None]
    usual = np.minimum(118.0, 88.0 + 2.0 * infused["age_at_infusion"].to_numpy()) + rng.normal(0, 4, shape[0])
    normal = np.clip(np.round(usual[:, None] + rng.normal(0, 7, shape)), threshold + 5, 150)
    low = np.maximum(45.0, np.round(threshold - rng.uniform(3, 15, shape)))
    supported = np.round(threshold + rng.uniform(0, 10, shape))

    def within(start: str, end: np.ndarray) -> np.ndarray:
        s = plan[start].to_numpy()[:, None]
        return (schedule >= s) & (schedule <= end[:, None])

    hypotensive = within("hypotension_start", plan["hypotension_end"].to_numpy())
    on_pressor = within("pressor_start", (plan["pressor_start"] + plan["pressor_minutes"]).to_numpy())
    return np.select([hypotensive, on_pressor], [low, supported], normal), hypotensive


def simulate_vitals(
    rng: np.random.Generator, plan: pd.DataFrame, infused: pd.DataFrame, schedule: np.ndarray
) -> pd.DataFrame:
    """Temperature (°C) and systolic BP rows of every infused participant.

    Parameters
    ----------
    rng
        The vitals' random stream.
    plan
        The CRS plan (:func:`analysis.simulate.course.simulate_course`), aligned with ``infused``.
    infused
        Cohort rows of the infused participants.
    schedule
        (participants x slots) reading times in minutes from infusion.

    Returns
    -------
    pandas.DataFrame
        Internal event rows; fever readings carry ``crs_level`` 1 and hypotensive SBP readings 2.
    """
    temperature, in_phase = _temperatures(rng, plan, schedule)
    sbp, hypotensive = _systolic_pressures(rng, plan, infused, schedule)
    owner = np.repeat(plan["pidx"].to_numpy(), schedule.shape[1])
    sbp_minute = schedule + rng.integers(0, 4, schedule.shape)
    fever_level = (in_phase & (temperature >= FEVER_C)).astype(int)
    return concat_events(
        [
            event_frame(
                owner,
                schedule.ravel(),
                "temperature",
                value=temperature.ravel(),
                decimals=1,
                unit="C",
                crs_level=fever_level.ravel(),
            ),
            _recheck_readings(rng, plan),
            event_frame(
                owner,
                sbp_minute.ravel(),
                "systolic_bp",
                value=sbp.ravel(),
                unit="mmHg",
                crs_level=2 * hypotensive.ravel(),
            ),
        ]
    )


def monitor_readings(vitals: pd.DataFrame, hourly_days: int) -> pd.DataFrame:
    """Hourly monitor charting over days 0-``hourly_days``: the registry-scale benchmark workload.

    At every whole hour after infusion that the schedule does not already cover, a temperature and a
    systolic BP row repeat the latest scheduled reading of that type (as a bedside monitor charts
    it), so the physiology, and so every grade, stays that of the scheduled readings while the
    event count grows about tenfold (10,000 participants: about 10 million rows).
    """
    if hourly_days <= 0:
        return vitals.iloc[:0]
    readings = vitals[vitals["event_type"].isin(["temperature", "systolic_bp"])]
    participants = np.unique(readings["pidx"].to_numpy())
    grid_minutes = np.arange(1, hourly_days * 24) * MINUTES_PER_HOUR
    frames = []
    for event_type in ("temperature", "systolic_bp"):
        source = readings[readings["event_type"] == event_type].sort_values("minute", kind="mergesort")
        grid = pd.DataFrame(
            {"pidx": np.repeat(participants, grid_minutes.size), "minute": np.tile(grid_minutes, participants.size)}
        ).sort_values("minute", kind="mergesort")
        charted = pd.merge_asof(grid, source, on="minute", by="pidx", direction="backward", suffixes=("", "_source"))
        frames.append(charted.dropna(subset=["value"])[list(source.columns)])
    return concat_events(frames)
