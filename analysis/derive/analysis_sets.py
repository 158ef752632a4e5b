"""Analysis sets of grading.md, "Analysis sets"."""

from __future__ import annotations

import pandas as pd

HOURS_PER_DAY = 24.0
CRS_EVALUABLE_DAYS = 30
EFFICACY_EVALUABLE_DAYS = 42


def derive_analysis_sets(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Add ``safety``, ``crs_evaluable`` and ``efficacy_evaluable`` to the participants.

    grading.md, "Analysis sets": Safety = infused before the cut; CRS-evaluable = infused at least
    30 days before the cut, or died before day 30; efficacy-evaluable likewise with 42 days.
    ``participants`` needs ``participant_id``, ``infused``, ``cut_hours``; ``events`` needs
    ``participant_id``, ``event_type``, ``hours_from_infusion`` (rows before the cut only).
    """
    deaths = events.loc[events["event_type"] == "death"].groupby("participant_id")["hours_from_infusion"].min()
    death_hours = participants["participant_id"].map(deaths).astype("float64")
    infused = participants["infused"].astype(bool)

    def evaluable(days: int) -> pd.Series:
        followed = participants["cut_hours"] >= days * HOURS_PER_DAY
        died_before = death_hours < days * HOURS_PER_DAY
        return infused & (followed | died_before.fillna(False))

    return participants.assign(
        safety=infused,
        crs_evaluable=evaluable(CRS_EVALUABLE_DAYS),
        efficacy_evaluable=evaluable(EFFICACY_EVALUABLE_DAYS),
    )
