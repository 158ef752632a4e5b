"""Baseline table: who was enrolled, when, and what they looked like at enrollment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.clock import local_to_utc_minutes
from analysis.simulate.frames import choose_exactly
from analysis.simulate.parameters import CohortModel

# Median weight (kg) by age (years), roughly the CDC growth charts, both sexes.
_WEIGHT_AGE_YEARS = np.array([1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 22, 27], dtype=float)
_WEIGHT_MEDIAN_KG = np.array([10, 12.5, 16.5, 21, 26, 32, 40, 50, 58, 64, 68, 70], dtype=float)

SITE_ID = "site_01"


def pals_systolic_threshold(age_completed_years: np.ndarray) -> np.ndarray:
    """PALS hypotension threshold (mmHg, SBP below it is hypotension): 70 + 2 x age below 10 y, else 90."""
    return np.where(age_completed_years < 10, 70 + 2 * age_completed_years, 90).astype(float)


def _sample_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ages 1-26 at enrollment: 70 % children 1-17, 30 % young adults 18-26 (one decimal)."""
    child = rng.random(n) < 0.7
    age = np.where(child, rng.uniform(1.0, 18.0, n), rng.uniform(18.0, 26.95, n))
    return np.clip(np.round(age, 1), 1.0, 26.9)


def _sample_weights(rng: np.random.Generator, age: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Weight around the median for age (log-normal, 15 % spread), 4 % heavier for boys."""
    median = np.interp(age, _WEIGHT_AGE_YEARS, _WEIGHT_MEDIAN_KG)
    weight = median * np.exp(rng.normal(0.0, 0.15, age.size)) * np.where(male, 1.04, 1.0)
    return np.clip(np.round(weight, 1), 7.0, 200.0)


def _sample_dates(
    rng: np.random.Generator, n: int, n_not_infused: int, model: CohortModel, export_date: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """Enrollment dates and naive local infusion datetimes (NaT where never infused)."""
    infused = np.ones(n, dtype=bool)
    infused[rng.permutation(n)[:n_not_infused]] = False
    low, high = model.infusion_days_before_export
    days_before = rng.uniform(low, high, n)
    recent = choose_exactly(rng, infused, int(round(model.recent_infusion_share * infused.sum())))
    days_before[recent] = rng.uniform(3.0, 28.0, recent.sum())
    infusion_date = export_date - np.floor(days_before).astype("timedelta64[D]")
    time_of_day = rng.integers(9 * 60, 15 * 60 + 31, n).astype("timedelta64[m]")
    infusion_local = np.where(infused, infusion_date.astype("datetime64[m]") + time_of_day, np.datetime64("NaT"))
    enrollment = infusion_date - rng.integers(14, 36, n).astype("timedelta64[D]")

    awaiting = choose_exactly(rng, ~infused, int(round(model.recent_enrollment_share * (~infused).sum())))
    enrollment[awaiting] = export_date - rng.integers(3, 26, awaiting.sum()).astype("timedelta64[D]")
    return enrollment, infusion_local.astype("datetime64[m]")


def simulate_cohort(
    rng: np.random.Generator,
    n_participants: int,
    n_not_infused: int,
    model: CohortModel,
    export_date: np.datetime64,
    timezone: str,
    first_number: int = 1,
    cohort_size: int | None = None,
) -> pd.DataFrame:
    """One row per enrolled participant, ids assigned in enrollment order.

    Parameters
    ----------
    rng
        The cohort's random stream.
    n_participants, n_not_infused
        Enrolled participants, and how many of them are never infused.
    model
        Trial or historical parameters.
    export_date
        The export's local calendar date (``datetime64[D]``).
    timezone
        IANA zone of the site.
    first_number, cohort_size
        The ids are numbered from ``first_number``, zero-padded to the width of ``cohort_size``
        (default ``n_participants``): a part of a larger cohort (:mod:`analysis.simulate.parts`)
        numbers its participants within the whole cohort's ids.

    Returns
    -------
    pandas.DataFrame
        The participants.csv fields (unformatted) plus ``infused``, ``infusion_utc_minute``,
        ``anchor_minute`` (infusion, else enrollment day at noon, UTC minutes),
        ``age_at_infusion`` (exact years), ``pals_threshold`` (mmHg) and ``high_burden``.
    """
    n = n_participants
    enrollment, infusion_local = _sample_dates(rng, n, n_not_infused, model, export_date)
    age = _sample_ages(rng, n)
    male = rng.random(n) < 0.55
    blasts = np.round(5 + 94 * rng.beta(1.4, 1.1, n))
    cns = rng.choice(np.array(["CNS1", "CNS2", "CNS3"], dtype=object), n, p=[0.80, 0.12, 0.08])
    cns[rng.random(n) < 0.03] = None
    infused = ~np.isnat(infusion_local)
    car_t_dose = np.clip(np.round(2.5e6 * np.exp(rng.normal(0.0, 0.4, n)), -4), 3e5, 5e6)
    frame = pd.DataFrame(
        {
            "site_id": SITE_ID,
            "age_years": age,
            "sex": np.where(male, "M", "F"),
            "weight_kg": _sample_weights(rng, age, male),
            "enrollment_date": enrollment.astype("datetime64[D]"),
            "infusion_local": infusion_local,
            "marrow_blast_pct": blasts,
            "prior_hsct": rng.random(n) < 0.5,
            "cns_status": cns,
            "car_t_dose_per_kg": np.where(infused, car_t_dose, np.nan),
            "infused": infused,
        }
    )
    order = np.lexsort((rng.random(n), frame["enrollment_date"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    width = max(3, len(str(cohort_size or n)))
    numbers = pd.Series(np.arange(first_number, first_number + n)).astype(str).str.zfill(width)
    frame.insert(0, "participant_id", (model.id_prefix + numbers).to_numpy())
    return _with_derived_columns(frame, timezone)


def _with_derived_columns(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    infused = frame["infused"].to_numpy()
    infusion_utc = np.full(len(frame), -1, dtype=np.int64)
    infusion_utc[infused] = local_to_utc_minutes(frame.loc[infused, "infusion_local"], timezone)
    noon = np.timedelta64(12 * 60, "m")
    enrollment_noon = pd.Series(frame["enrollment_date"].to_numpy().astype("datetime64[m]") + noon)
    anchor = np.where(infused, infusion_utc, local_to_utc_minutes(enrollment_noon, timezone))
    days_enrolled_to_infusion = (
        (frame["infusion_local"].to_numpy().astype("datetime64[D]") - frame["enrollment_date"].to_numpy())
        .astype("timedelta64[D]")
        .astype(float)
    )
    age_at_infusion = frame["age_years"].to_numpy() + days_enrolled_to_infusion / 365.25
    completed = np.floor(np.nan_to_num(age_at_infusion, nan=0.0))
    return frame.assign(
        infusion_utc_minute=np.where(infused, infusion_utc, -1),
        anchor_minute=anchor.astype(np.int64),
        age_at_infusion=age_at_infusion,
        pals_threshold=pals_systolic_threshold(completed),
        high_burden=frame["marrow_blast_pct"].to_numpy() >= 40,
    )
