"""Neurological assessments: ICE (age >= 12) or CAPD (age < 12) daily while CRS or ICANS lasts.

Each assessment day has a designed ICANS grade: the peak day (the middle of the ICANS window)
carries the participant's ICANS grade, the other ICANS days grade 1, days outside ICANS grade 0.
Scores follow grading.md: ICE 10 / 7-9 / 3-6 / 0-2 for grades 0 / 1 / 2 / >= 3; CAPD 0 / 1-8 /
>= 9 for grades 0 / 1-2 / >= 3 (a child's grade 2 is shown by ``awakens_to_voice``). Grade 4 adds
one of: ``unarousable``, a prolonged seizure, diffuse cerebral edema, deep focal motor weakness;
20 % of grade 3 add a resolving seizure. Participants with neither CRS nor ICANS have no
assessment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import MINUTES_PER_DAY, MINUTES_PER_HOUR, concat_events, event_frame

ASSESSED_DAYS = 31  # days 0-30

GRADE4_SIGNS = (
    ("consciousness", "unarousable"),
    ("seizure", "prolonged_or_repetitive"),
    ("cerebral_edema", "diffuse"),
    ("motor_weakness", "deep_focal"),
)
CONSCIOUSNESS_LEVEL = {"awake": 0, "awakens_to_voice": 2, "awakens_to_tactile": 3, "unarousable": 4}


def _day_grid(plan: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(participants x days): assessed?, and the designed ICANS grade of the day."""
    day = np.arange(ASSESSED_DAYS)[None, :]

    def day_of(minutes: pd.Series) -> np.ndarray:
        return np.floor(minutes.to_numpy(float) / MINUTES_PER_DAY)[:, None]

    crs_days = (day >= day_of(plan["onset_minute"])) & (day <= day_of(plan["crs_end_minute"]))
    icans_first = day_of(plan["icans_start"])
    icans_last = day_of(plan["icans_start"] + plan["icans_minutes"])
    icans_days = (day >= icans_first) & (day <= icans_last)
    assessed = crs_days | ((day >= icans_first - 1) & (day <= icans_last + 1))
    peak = day == np.floor((icans_first + icans_last) / 2)
    grade = plan["icans_grade"].to_numpy()[:, None]
    day_grade = np.select([icans_days & peak, icans_days], [grade, np.minimum(grade, 1)], 0)
    return assessed, day_grade


def _scores(rng: np.random.Generator, day_grade: np.ndarray, adult_tool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ICE or CAPD score and its ICANS level for each assessment."""
    n = day_grade.size
    ice = np.select(
        [day_grade == 0, day_grade == 1, day_grade == 2],
        [10, rng.integers(7, 10, n), rng.integers(3, 7, n)],
        rng.integers(0, 3, n),
    )
    capd = np.select(
        [day_grade == 0, day_grade <= 2, day_grade == 3],
        [0, rng.integers(1, 9, n), rng.integers(9, 21, n)],
        rng.integers(9, 33, n),
    )
    ice_level = np.select([day_grade >= 3], [3], day_grade)
    capd_level = np.select([day_grade >= 3, day_grade >= 1], [3, 1], 0)
    return np.where(adult_tool, ice, capd), np.where(adult_tool, ice_level, capd_level)


def simulate_neuro(rng: np.random.Generator, plan: pd.DataFrame, infused: pd.DataFrame) -> pd.DataFrame:
    """ICE/CAPD scores, consciousness levels and grade-3/4 signs, with their ``icans_level``."""
    assessed, day_grade = _day_grid(plan)
    rows, day = np.nonzero(assessed)
    g = day_grade[rows, day]
    pidx = plan["pidx"].to_numpy()[rows]
    minute = day * MINUTES_PER_DAY + 2 * MINUTES_PER_HOUR + rng.integers(-60, 61, rows.size)
    age = infused.set_index("pidx").loc[pidx, "age_at_infusion"].to_numpy() + day / 365.25
    adult_tool = age >= 12
    score, score_level = _scores(rng, g, adult_tool)

    draw = rng.random(rows.size)
    consciousness = np.select(
        [(g == 2) & (~adult_tool | (draw < 0.3)), (g == 3) & (draw < 0.4)],
        ["awakens_to_voice", "awakens_to_tactile"],
        "awake",
    ).astype(object)
    grade4_sign = rng.integers(0, len(GRADE4_SIGNS), rows.size)
    consciousness[(g == 4) & (grade4_sign == 0)] = "unarousable"
    in_icans = g > 0
    consciousness_level = pd.Series(consciousness).map(CONSCIOUSNESS_LEVEL).to_numpy()

    frames = [
        event_frame(
            pidx[adult_tool],
            minute[adult_tool],
            "ice_score",
            value=score[adult_tool],
            icans_level=score_level[adult_tool],
        ),
        event_frame(
            pidx[~adult_tool],
            minute[~adult_tool],
            "capd_score",
            value=score[~adult_tool],
            icans_level=score_level[~adult_tool],
        ),
        event_frame(
            pidx[in_icans],
            minute[in_icans] + 5,
            "consciousness",
            detail=consciousness[in_icans],
            icans_level=consciousness_level[in_icans],
        ),
    ]
    sign_minute = minute + np.round(rng.uniform(1, 10, rows.size) * MINUTES_PER_HOUR)
    for k, (event_type, detail) in enumerate(GRADE4_SIGNS[1:], start=1):
        chosen = (g == 4) & (grade4_sign == k)
        frames.append(event_frame(pidx[chosen], sign_minute[chosen], event_type, detail=detail, icans_level=4))
    resolving_seizure = (g == 3) & (rng.random(rows.size) < 0.2)
    frames.append(
        event_frame(
            pidx[resolving_seizure],
            sign_minute[resolving_seizure],
            "seizure",
            detail="focal_or_generalized_resolving",
            icans_level=3,
        )
    )
    return concat_events(frames)
