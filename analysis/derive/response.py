"""Response: day-28 response, MRD, best response within 3 months, first CR/CRi.

grading.md, "Response and 12-month outcomes": *Day-28 response (``response_day28``): the
assessment nearest day 28 within days 21–42 [choice], the earlier of two equally near;
MRD-negative = MRD < 0.01 %. Also best response within 3 months (CR/CRi by day 91), the measure
ELIANA reported.*

Only ``response_assessment`` rows at or after infusion of infused participants count
(grading.md, "Time": earlier rows are kept and shown, never carried into day 0). Response codes
are compared case-insensitively and written in the export vocabulary's spelling (``CR``,
``CRi``, ``PR``, ``NR``, ``not_evaluable``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_DAY

RESPONSE_CODES: dict[str, str] = {"cr": "CR", "cri": "CRi", "pr": "PR", "nr": "NR", "not_evaluable": "not_evaluable"}
"""Lower-case code → the export vocabulary's spelling (export-format.md, ``response_assessment``)."""

RESPONSE_RANK: dict[str, int] = {"CR": 4, "CRi": 3, "PR": 2, "NR": 1, "not_evaluable": 0}
"""Best response order: CR > CRi > PR > NR > not evaluable."""

REMISSION: frozenset[str] = frozenset({"CR", "CRi"})
"""Responses that are a remission (a "responder", grading.md: CR/CRi)."""

RESPONSE_COLUMNS: list[str] = [
    "participant_id",
    "response_day28",
    "response_day28_hours",
    "mrd_day28_pct",
    "mrd_negative_day28",
    "cr_cri_day28",
    "day28_equidistant",
    "best_response_3mo",
    "best_cr_cri_3mo",
    "first_cr_hours",
]


def compute_response_code(detail: pd.Series) -> pd.Series:
    """Normalize response codes to the vocabulary's spelling; an unknown code is kept as given."""
    text = detail.astype("string")
    return text.str.strip().str.lower().map(RESPONSE_CODES).fillna(text).astype("string")


def derive_response_assessments(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The response assessments of infused participants at or after infusion.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``hours``, ``response`` (vocabulary spelling), ``mrd_pct``, ``line``,
        sorted by participant, time and line.
    """
    infused = participants.loc[participants["infused"].astype(bool), "participant_id"].astype("string")
    rows = events.loc[
        (events["event_type"].astype("string").str.lower() == "response_assessment").fillna(False)
        & events["participant_id"].astype("string").isin(infused)
        & (events["hours_from_infusion"] >= 0)
    ]
    line = rows["line"] if "line" in rows else pd.Series(np.arange(len(rows)), index=rows.index)
    out = pd.DataFrame(
        {
            "participant_id": rows["participant_id"].astype("string"),
            "hours": rows["hours_from_infusion"].astype("float64"),
            "response": compute_response_code(rows["detail"]),
            "mrd_pct": pd.to_numeric(rows["value"], errors="coerce").astype("float64"),
            "line": line.astype("int64"),
        }
    )
    return out.sort_values(["participant_id", "hours", "line"], kind="mergesort").reset_index(drop=True)


def derive_response_day28(assessments: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The day-28 assessment: the one nearest day 28 within days 21–42, the earlier of two equally near.

    grading.md, "Response and 12-month outcomes", [choice ``response_window_days``]; "days a–b"
    includes both ends (grading.md, "Time"). Two assessments at the same instant: the first by
    export line. MRD-negative = MRD < ``plan.mrd_negative_below_pct`` (0.01 %), NA without an MRD
    value.

    Returns
    -------
    pandas.DataFrame
        One row per participant with an assessment in the window: ``participant_id``,
        ``response_day28``, ``response_day28_hours``, ``mrd_day28_pct``, ``mrd_negative_day28``
        (nullable bool), ``cr_cri_day28`` (bool), ``day28_equidistant`` (bool: another assessment
        at a different time was equally near; the earlier was used).
    """
    low, high = (d * HOURS_PER_DAY for d in plan.response_window_days)
    target = plan.response_target_day * HOURS_PER_DAY
    window = assessments.loc[(assessments["hours"] >= low) & (assessments["hours"] <= high)].copy()
    window["distance"] = (window["hours"] - target).abs().round(9)
    window = window.sort_values(["participant_id", "distance", "hours", "line"], kind="mergesort")
    chosen = window.groupby("participant_id").head(1).set_index("participant_id")
    nearest = window.groupby("participant_id")["distance"].transform("min")
    tied = window.loc[(window["distance"] == nearest)].groupby("participant_id")["hours"].nunique().gt(1)
    mrd = chosen["mrd_pct"]
    negative = pd.Series(
        pd.array(np.where(mrd.isna(), None, mrd < plan.mrd_negative_below_pct), dtype="boolean"), index=chosen.index
    )
    return (
        pd.DataFrame(
            {
                "response_day28": chosen["response"].astype("string"),
                "response_day28_hours": chosen["hours"],
                "mrd_day28_pct": mrd,
                "mrd_negative_day28": negative,
                "cr_cri_day28": chosen["response"].isin(REMISSION).astype(bool),
                "day28_equidistant": tied.reindex(chosen.index).fillna(False).astype(bool),
            }
        )
        .rename_axis("participant_id")
        .reset_index()
    )


def derive_best_response(assessments: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Best response within 3 months: the best of the assessments from day 0 to day 91 (inclusive).

    grading.md: *best response within 3 months (CR/CRi by day 91)*; order CR > CRi > PR > NR >
    not evaluable (:data:`RESPONSE_RANK`).

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``best_response_3mo``, ``best_cr_cri_3mo`` (bool), one row per
        participant with an assessment by day 91.
    """
    rows = assessments.loc[assessments["hours"] <= plan.best_response_by_day * HOURS_PER_DAY].copy()
    rows["rank"] = rows["response"].map(RESPONSE_RANK).fillna(-1)
    best = (
        rows.sort_values(["participant_id", "rank", "hours"], ascending=[True, False, True], kind="mergesort")
        .groupby("participant_id")
        .head(1)
    )
    return pd.DataFrame(
        {
            "participant_id": best["participant_id"].astype("string"),
            "best_response_3mo": best["response"].astype("string"),
            "best_cr_cri_3mo": best["response"].isin(REMISSION).astype(bool),
        }
    ).reset_index(drop=True)


def derive_first_remission(assessments: pd.DataFrame) -> pd.DataFrame:
    """The first CR/CRi at or after infusion (any time before the cut): ``participant_id``, ``first_cr_hours``.

    grading.md, RFS: *responders (CR/CRi) only, origin the first CR/CRi*.
    """
    first = assessments.loc[assessments["response"].isin(REMISSION)].groupby("participant_id", sort=True)["hours"].min()
    return pd.DataFrame({"participant_id": first.index.astype("string"), "first_cr_hours": first.to_numpy(dtype=float)})


def derive_response(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Response variables, one row per infused participant.

    grading.md, "Response and 12-month outcomes" — see :func:`derive_response_day28`,
    :func:`derive_best_response`, :func:`derive_first_remission`.

    Returns
    -------
    pandas.DataFrame
        :data:`RESPONSE_COLUMNS`, sorted by participant. Without an assessment in the window
        ``response_day28`` and ``mrd_negative_day28`` are NA and ``cr_cri_day28`` is False; without
        one by day 91 ``best_response_3mo`` is NA and ``best_cr_cri_3mo`` False. These are what was
        observed before the cut: final only once the window is complete (efficacy-evaluable).
    """
    assessments = derive_response_assessments(participants, events)
    ids = (
        participants.loc[participants["infused"].astype(bool), ["participant_id"]]
        .astype({"participant_id": "string"})
        .sort_values("participant_id")
        .reset_index(drop=True)
    )
    out = (
        ids.merge(derive_response_day28(assessments, plan), on="participant_id", how="left")
        .merge(derive_best_response(assessments, plan), on="participant_id", how="left")
        .merge(derive_first_remission(assessments), on="participant_id", how="left")
    )
    for column in ("cr_cri_day28", "day28_equidistant", "best_cr_cri_3mo"):
        out[column] = out[column].astype("boolean").fillna(False).astype(bool)
    out["mrd_negative_day28"] = out["mrd_negative_day28"].astype("boolean")
    for column in ("response_day28", "best_response_3mo"):
        out[column] = out[column].astype("string")
    for column in ("response_day28_hours", "mrd_day28_pct", "first_cr_hours"):
        out[column] = out[column].astype("float64")
    return out[RESPONSE_COLUMNS]
