"""Adverse events (CTCAE grade 1-5, ``end_time`` = resolution) other than CRS and ICANS.

| term | who | grade | onset (day) | resolution |
|---|---|---|---|---|
| ``neutropenia`` | 60 % | 3-4 | 0-7 | days 14-60 |
| ``thrombocytopenia`` | 40 % | 3-4 | 0-10 | days 20-90 |
| ``anemia`` | 35 % | 3 | 0-10 | days 14-45 |
| ``febrile_neutropenia`` | 30 % of those with CRS | 3 | first fever | end of fever |
| ``infection: <site>`` | 25 % | 2-3 | 10-300 | 5-21 days later |
| ``iec_hs`` | 15 % of grade >= 3 CRS | 3-4 | end of CRS -2 to 0 days | 7-14 days later |
| ``hypogammaglobulinemia`` | 50 % of responders | 2-3 | 30-90 | ongoing (no end) |
| ``tumor_lysis`` | 8 % of high burden | 3 | 0-3 | 2-5 days later |
| ``other: <text>`` | 10 % | 2-3 | 0-60 | 2-10 days later |

A treatment-related death from infection gets its grade-5 ``infection: sepsis`` 3-10 days before
death, resolved at death.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import MINUTES_PER_DAY, concat_events, event_frame

D = MINUTES_PER_DAY
INFECTION_SITES = np.array(
    ["infection: bacteremia", "infection: pneumonia", "infection: upper respiratory", "infection: urinary tract"],
    dtype=object,
)
OTHER_TERMS = np.array(["other: hypokalemia", "other: ALT increased", "other: hypophosphatemia"], dtype=object)


def _ae(
    pidx: np.ndarray,
    chosen: np.ndarray,
    term: np.ndarray | str,
    grade: np.ndarray,
    onset_day: np.ndarray,
    end_day: np.ndarray,
) -> pd.DataFrame:
    term = np.broadcast_to(np.asarray(term, dtype=object), pidx.shape)
    return event_frame(
        pidx[chosen],
        np.round(onset_day[chosen] * D),
        "adverse_event",
        value=grade[chosen],
        detail=term[chosen],
        end_minute=np.round(end_day[chosen] * D),
    )


def simulate_adverse_events(
    rng: np.random.Generator, infused: pd.DataFrame, plan: pd.DataFrame, fate: pd.DataFrame
) -> pd.DataFrame:
    """Adverse-event rows of the infused participants (``plan`` and ``fate`` aligned with ``infused``)."""
    n = len(plan)
    pidx = plan["pidx"].to_numpy()
    grade = plan["crs_grade"].to_numpy()

    def share(p: float | np.ndarray) -> np.ndarray:
        return rng.random(n) < p

    def days(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, n)

    def grades(low: int, high: int) -> np.ndarray:
        return rng.integers(low, high + 1, n).astype(float)

    onset_day = plan["onset_minute"].to_numpy() / D
    fever_end_day = plan["fever_end_minute"].to_numpy() / D
    crs_end_day = plan["crs_end_minute"].to_numpy() / D
    infection_start = days(10, 300)
    iec_start = crs_end_day - days(0, 2)
    tls_start, other_start = days(0, 3), days(0, 60)
    death_day = fate["death_minute"].to_numpy() / D
    fatal_infection = fate["death_cause"].to_numpy() == "infection"
    sepsis_start = death_day - days(3, 10)
    return concat_events(
        [
            _ae(pidx, share(0.60), "neutropenia", grades(3, 4), days(0, 7), days(14, 60)),
            _ae(pidx, share(0.40), "thrombocytopenia", grades(3, 4), days(0, 10), days(20, 90)),
            _ae(pidx, share(0.35), "anemia", np.full(n, 3.0), days(0, 10), days(14, 45)),
            _ae(pidx, (grade > 0) & share(0.30), "febrile_neutropenia", np.full(n, 3.0), onset_day, fever_end_day),
            _ae(
                pidx,
                share(0.25),
                rng.choice(INFECTION_SITES, n, p=[0.4, 0.25, 0.25, 0.1]),
                grades(2, 3),
                infection_start,
                infection_start + days(5, 21),
            ),
            _ae(pidx, (grade >= 3) & share(0.15), "iec_hs", grades(3, 4), iec_start, iec_start + days(7, 14)),
            _ae(
                pidx,
                fate["responder"].to_numpy() & share(0.5),
                "hypogammaglobulinemia",
                grades(2, 3),
                days(30, 90),
                np.full(n, np.nan),
            ),
            _ae(
                pidx,
                infused["high_burden"].to_numpy() & share(0.08),
                "tumor_lysis",
                np.full(n, 3.0),
                tls_start,
                tls_start + days(2, 5),
            ),
            _ae(pidx, share(0.10), rng.choice(OTHER_TERMS, n), grades(2, 3), other_start, other_start + days(2, 10)),
            _ae(pidx, fatal_infection, "infection: sepsis", np.full(n, 5.0), sepsis_start, death_day),
        ]
    )
