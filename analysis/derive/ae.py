"""Adverse events — outputs.md, ``ae.parquet``; export-format.md, ``adverse_event``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.units import HOURS_PER_DAY

AE_COLUMNS: list[str] = [
    "participant_id",
    "term",
    "term_text",
    "grade",
    "onset_hours",
    "resolved_hours",
    "study_day_onset",
]


def derive_ae(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """``ae.parquet``: one row per ``adverse_event`` row at or after infusion.

    grading.md, "Time": *only rows at or after infusion describe the physiological state*, and
    day 0 = infusion; export-format.md: an ``adverse_event`` carries the CTCAE grade as its value,
    the term as its code (free text after the colon in ``detail_text``) and its resolution as
    ``end_time``. CRS and ICANS are derived, never read from here.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``term``, ``term_text``, ``grade`` (int64), ``onset_hours``,
        ``resolved_hours`` (NaN while unresolved), ``study_day_onset`` = floor(onset_hours / 24)
        (day 0 = the first 24 h); sorted by participant, onset and term (ties in input order).
        Participants not infused have no row.
    """
    infused_ids = participants.loc[participants["infused"].astype(bool), "participant_id"]
    keep = (
        events["event_type"].isin(["adverse_event"])
        & (events["hours_from_infusion"] >= 0)
        & events["participant_id"].isin(infused_ids)
    )
    rows = events.loc[keep]
    onset = rows["hours_from_infusion"].to_numpy(dtype=float)
    table = pd.DataFrame(
        {
            "participant_id": rows["participant_id"],
            "term": rows["detail"],
            "term_text": rows["detail_text"],
            "grade": rows["value"].to_numpy(dtype=float, na_value=np.nan).astype("int64"),
            "onset_hours": onset,
            "resolved_hours": rows["end_hours_from_infusion"].to_numpy(dtype=float, na_value=np.nan),
            "study_day_onset": np.floor(onset / HOURS_PER_DAY).astype("int64"),
        }
    )
    return table.sort_values(["participant_id", "onset_hours", "term"], kind="mergesort").reset_index(drop=True)[
        AE_COLUMNS
    ]
