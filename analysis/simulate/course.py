"""The latent CRS and ICANS course of each infused participant: grades, routes and timing.

Everything here is a plan in minutes from infusion; the generators of vitals, support and
medication rows turn it into events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import MINUTES_PER_DAY, MINUTES_PER_HOUR
from analysis.simulate.parameters import (
    CRS_BLAST_SLOPE,
    CRS_GRADE_CUTPOINTS,
    GRADE1_FEVER_PATTERN_SHARES,
    ICANS_GRADE_SHARES,
    ICANS_SHARE_BY_CRS_GRADE,
    CohortModel,
)
from analysis.simulate.vitals import SLOT_HOURS

H = MINUTES_PER_HOUR

# Oxygen programs (see support.py): 0 none, 1 low flow, 2 high flow or mask, 3 positive pressure.
OXYGEN_NONE, OXYGEN_LOW_FLOW, OXYGEN_HIGH_FLOW, OXYGEN_POSITIVE_PRESSURE = 0, 1, 2, 3


def sample_crs_grade(rng: np.random.Generator, blasts_pct: np.ndarray, latent_shift: float) -> np.ndarray:
    """Maximum ASTCT grade 0-4 from the cumulative-logit model on marrow blasts.

    ``P(grade >= k) = logistic(CRS_BLAST_SLOPE * blasts / 100 + latent_shift - CRS_GRADE_CUTPOINTS[k-1])``
    """
    linear = CRS_BLAST_SLOPE * blasts_pct / 100.0 + latent_shift
    at_least = 1.0 / (1.0 + np.exp(-(linear[:, None] - np.asarray(CRS_GRADE_CUTPOINTS)[None, :])))
    return (rng.random(blasts_pct.size)[:, None] < at_least).sum(axis=1)


def _sample_fever_pattern(rng: np.random.Generator, grade: np.ndarray) -> np.ndarray:
    """Fever pattern per participant; grade 1 gets the patterns by quota, in random order.

    Each non-persistent pattern of :data:`GRADE1_FEVER_PATTERN_SHARES` gets ``round(share x n)`` of
    the n grade-1 participants (at least one when n >= 4); the persistent pattern gets the rest.
    """
    grade1 = rng.permutation(np.flatnonzero(grade == 1))
    brief = {name: share for name, share in GRADE1_FEVER_PATTERN_SHARES.items() if name != "persistent"}
    quotas = [max(int(grade1.size >= 4), round(share * grade1.size)) for share in brief.values()]
    grade1_pattern = np.repeat(np.array([*brief, "persistent"], dtype=object), [*quotas, grade1.size - sum(quotas)])
    pattern = np.where(grade == 0, "none", "persistent").astype(object)
    pattern[grade1] = grade1_pattern
    return pattern


def _sample_onset_minute(
    rng: np.random.Generator, grade: np.ndarray, high_burden: np.ndarray, schedule: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First fever: log-normal around 66 h, earlier with grade and burden, snapped to a vitals slot."""
    median_hours = 66.0 - 10.0 * np.maximum(grade - 1, 0) - 8.0 * high_burden
    onset_hours = np.clip(median_hours * np.exp(rng.normal(0.0, 0.5, grade.size)), 2.0, 8 * 24.0)
    slot = np.searchsorted(SLOT_HOURS, onset_hours)
    onset = schedule[np.arange(grade.size), slot].astype(float)
    has_crs = grade > 0
    return np.where(has_crs, slot, -1), np.where(has_crs, onset, np.nan)


def _sample_fever_minutes(rng: np.random.Generator, grade: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    low = np.array([0, 16, 24, 36, 48])[grade]
    high = np.array([0, 48, 72, 120, 144])[grade]
    persistent_hours = rng.uniform(low, high)
    brief_hours = rng.uniform(8, 30, grade.size)
    return np.round(np.where(pattern == "persistent", persistent_hours, brief_hours) * H)


def _sample_routes(rng: np.random.Generator, grade: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What makes each grade: hypotension without pressor, pressor count, oxygen program."""
    route = rng.random(grade.size)
    companion = rng.random(grade.size)
    g2, g3, g4 = grade == 2, grade == 3, grade == 4
    hypotension_only = g2 & (route < 0.5) | g2 & (route >= 0.75)
    pressors = np.select(
        [g3 & ((route < 0.4) | (route >= 0.65)), g4 & ((route < 0.5) | (route >= 0.8)), g4 & (companion < 0.5)],
        [1, 2, 1],
        0,
    )
    oxygen = np.select(
        [
            g2 & (route >= 0.5),
            g3 & (route < 0.4) & (companion < 0.4),
            g3 & (route >= 0.4),
            g4 & (route < 0.5) & (companion < 0.5),
            g4 & (route >= 0.5),
        ],
        [OXYGEN_LOW_FLOW, OXYGEN_LOW_FLOW, OXYGEN_HIGH_FLOW, OXYGEN_HIGH_FLOW, OXYGEN_POSITIVE_PRESSURE],
        OXYGEN_NONE,
    )
    return hypotension_only, pressors, oxygen


def _sample_pressor_drugs(rng: np.random.Generator, grade: np.ndarray, pressors: np.ndarray) -> pd.DataFrame:
    """Vasopressor drugs: first norepinephrine (80 %) or epinephrine; 10 % of single-drug grade 3
    on vasopressin alone; the second drug of grade 4 the other of the two (dopamine 15 % after
    norepinephrine); vasopressin added in 15 % (grade 3) / 20 % (grade 4); a high-dose peak in 10 %
    (grade 3) / 60 % (grade 4)."""
    n = grade.size
    draw = rng.random(n)
    vasopressin_alone = (pressors == 1) & (grade == 3) & (draw < 0.10)
    first = np.where(rng.random(n) < 0.8, "norepinephrine", "epinephrine").astype(object)
    first[vasopressin_alone] = "vasopressin"
    first[pressors == 0] = None
    after_norepinephrine = np.where(rng.random(n) < 0.85, "epinephrine", "dopamine")
    second = np.where(first == "epinephrine", "norepinephrine", after_norepinephrine)
    vasopressin_added = (pressors >= 1) & ~vasopressin_alone & (draw >= 1 - np.where(grade == 4, 0.20, 0.15))
    return pd.DataFrame(
        {
            "first_drug": first,
            "second_drug": np.where(pressors == 2, second, None),
            "vasopressin_added": vasopressin_added,
            "high_dose": (pressors >= 1) & ~vasopressin_alone & (rng.random(n) < np.where(grade == 4, 0.6, 0.1)),
        }
    )


def _sample_icans(
    rng: np.random.Generator, crs_grade: np.ndarray, onset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ICANS grade 0-4, start (minutes) and duration (minutes, within day 29)."""
    n = crs_grade.size
    has_icans = rng.random(n) < np.asarray(ICANS_SHARE_BY_CRS_GRADE)[crs_grade]
    grade = np.where(has_icans, rng.choice(np.arange(1, 5), n, p=ICANS_GRADE_SHARES), 0)
    start = np.where(
        crs_grade > 0, onset + rng.uniform(1, 4, n) * MINUTES_PER_DAY, rng.uniform(3, 7, n) * MINUTES_PER_DAY
    )
    start = np.round(np.minimum(start, 24 * MINUTES_PER_DAY))
    minutes = np.round(np.minimum(rng.uniform(1, 7, n) * MINUTES_PER_DAY, 29 * MINUTES_PER_DAY - start))
    return grade, np.where(has_icans, start, np.nan), np.where(has_icans, minutes, np.nan)


def simulate_course(
    rng: np.random.Generator, infused: pd.DataFrame, schedule: np.ndarray, model: CohortModel
) -> pd.DataFrame:
    """The CRS/ICANS plan of every infused participant.

    Parameters
    ----------
    rng
        The course's random stream.
    infused
        Cohort rows of infused participants (``pidx``, ``marrow_blast_pct``, ``high_burden``).
    schedule
        (participants x slots) vitals times in minutes from infusion (:func:`vital_sign_schedule`).
    model
        Trial or historical parameters.

    Returns
    -------
    pandas.DataFrame
        One row per infused participant: ``crs_grade`` (designed maximum 0-4), ``fever_pattern``,
        ``onset_slot``, ``onset_minute``, ``fever_end_minute``, ``support_start_minute``,
        ``hypotension_start``/``hypotension_end``, ``pressors`` (0-2), drugs and their
        ``pressor_start``/``pressor_minutes``/``second_start``/``second_minutes``,
        ``oxygen_program``/``oxygen_start``/``oxygen_minutes``, ``crs_end_minute``,
        ``icans_grade``/``icans_start``/``icans_minutes``.
    """
    n = len(infused)
    grade = sample_crs_grade(rng, infused["marrow_blast_pct"].to_numpy(float), model.crs_latent_shift)
    pattern = _sample_fever_pattern(rng, grade)
    onset_slot, onset = _sample_onset_minute(rng, grade, infused["high_burden"].to_numpy(), schedule)
    fever_end = onset + _sample_fever_minutes(rng, grade, pattern)
    support_start = onset + np.round(np.maximum(30, rng.uniform(0.1, 0.5, n) * (fever_end - onset)))

    hypotension_only, pressors, oxygen = _sample_routes(rng, grade)
    hypotension = hypotension_only | (pressors > 0)
    hypotension_minutes = np.round(np.where(hypotension_only, rng.uniform(4, 24, n), rng.uniform(1, 6, n)) * H)
    hypotension_end = np.where(hypotension, support_start + hypotension_minutes, np.nan)
    pressor_start = np.where(pressors > 0, hypotension_end, np.nan)
    second_offset = np.round(rng.uniform(2, 12, n) * H)
    pressor_minutes = np.round(np.where(grade == 4, rng.uniform(24, 120, n), rng.uniform(12, 72, n)) * H)
    pressor_minutes = np.where(pressors == 2, np.maximum(pressor_minutes, second_offset + 6 * H), pressor_minutes)
    second_minutes = np.round(rng.uniform(12, 48, n) * H)
    oxygen_start = support_start + np.where(pressors > 0, np.round(rng.uniform(0, 12, n) * H), 0)
    oxygen_hours = np.select(
        [oxygen == OXYGEN_LOW_FLOW, oxygen == OXYGEN_HIGH_FLOW, oxygen == OXYGEN_POSITIVE_PRESSURE],
        [rng.uniform(12, 72, n), rng.uniform(24, 120, n), rng.uniform(48, 168, n)],
        np.nan,
    )
    plan = pd.DataFrame(
        {
            "pidx": infused["pidx"].to_numpy(),
            "crs_grade": grade,
            "fever_pattern": pattern,
            "onset_slot": onset_slot,
            "onset_minute": onset,
            "fever_end_minute": fever_end,
            "support_start_minute": np.where(grade >= 2, support_start, np.nan),
            "hypotension_start": np.where(hypotension, support_start, np.nan),
            "hypotension_end": hypotension_end,
            "pressors": pressors,
            "pressor_start": pressor_start,
            "pressor_minutes": np.where(pressors > 0, pressor_minutes, np.nan),
            "second_start": np.where(pressors == 2, pressor_start + second_offset, np.nan),
            "second_minutes": np.where(pressors == 2, second_minutes, np.nan),
            "oxygen_program": oxygen,
            "oxygen_start": np.where(oxygen > 0, oxygen_start, np.nan),
            "oxygen_minutes": np.round(oxygen_hours * H),
        }
    )
    plan = pd.concat([plan, _sample_pressor_drugs(rng, grade, pressors)], axis=1)
    ends = np.column_stack(
        [
            fever_end,
            hypotension_end,
            pressor_start + pressor_minutes,
            plan["second_start"] + second_minutes,
            plan["oxygen_start"] + plan["oxygen_minutes"],
        ]
    )
    plan["crs_end_minute"] = np.where(grade > 0, np.nanmax(np.where(np.isnan(ends), -np.inf, ends), axis=1), np.nan)
    icans_grade, icans_start, icans_minutes = _sample_icans(rng, grade, onset)
    return plan.assign(icans_grade=icans_grade, icans_start=icans_start, icans_minutes=icans_minutes)
