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
    "outcome",
]

AE_OUTCOMES: tuple[str, ...] = ("fatal", "resolved", "ongoing")
"""The outcome of an adverse event at the cut: fatal (CTCAE grade 5), resolved (an ``end_time``), or
ongoing at the cut (neither)."""


def ae_outcome(grade: pd.Series, resolved_hours: pd.Series) -> pd.Series:
    """The outcome of each adverse event at the cut.

    CTCAE: grade 5 is death related to the event, so a grade-5 event is ``fatal`` whatever its
    ``end_time`` (the export closes a fatal event at the death); otherwise export-format.md, an
    ``adverse_event``'s ``end_time`` is its resolution: ``resolved`` when it has one, ``ongoing`` (at
    the cut) when it has none.

    Parameters
    ----------
    grade : pandas.Series
        CTCAE grades 1–5.
    resolved_hours : pandas.Series
        Hours from the infusion to the resolution, NaN while unresolved (same index as ``grade``).

    Returns
    -------
    pandas.Series
        ``fatal``, ``resolved`` or ``ongoing`` per event (Arrow-backed text, same index).
    """
    outcome = np.where(grade.to_numpy() == 5, "fatal", np.where(resolved_hours.notna(), "resolved", "ongoing"))
    return pd.Series(outcome, index=grade.index, dtype=pd.StringDtype("pyarrow"))


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
        (day 0 = the first 24 h), ``outcome`` (:func:`ae_outcome`); sorted by participant, onset and term (ties in input order).
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
    table["outcome"] = ae_outcome(table["grade"], table["resolved_hours"])
    return table.sort_values(["participant_id", "onset_hours", "term"], kind="mergesort").reset_index(drop=True)[
        AE_COLUMNS
    ]
