"""The participant flow (CONSORT style) as ARD rows whose arithmetic closes: ``participant_flow``.

Each box is a set of participants nested in the one before it (grading.md, "Analysis sets":
enrolled ⊇ infused ⊇ CRS-evaluable ⊇ efficacy-evaluable); each box's outflows are disjoint and
together hold every participant of the box, so they sum to its count. Where a participant fits
several outflows the first listed wins: for the efficacy-evaluable set, completed 12 months, then
died, then withdrew, and the rest are in follow-up at the cut.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.stats.ard import ArdRow, ard_row

FLOW_ANALYSIS = "participant_flow"
FLOW_BOXES: dict[str, tuple[str, ...]] = {
    "enrolled": ("infused", "died_before_infusion", "withdrew_before_infusion", "awaiting_infusion"),
    "infused": ("crs_evaluable", "withdrew_before_crs_evaluable", "in_crs_window"),
    "crs_evaluable": ("efficacy_evaluable", "withdrew_before_efficacy_evaluable", "before_day_42"),
    "efficacy_evaluable": ("completed_12_months", "died", "withdrew", "in_follow_up"),
}
"""Each box and its outflows in the order they are decided (the first that applies wins; the last is the rest)."""


FLOW_LABELS = {"total": "participants in the box", "left": "participants of the box not in its first outflow"}


def _flag(adsl: pd.DataFrame, column: str) -> np.ndarray:
    return adsl[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def flow_outflows(adsl: pd.DataFrame) -> dict[str, dict[str, int]]:
    """The count of each box and of each of its outflows.

    Parameters
    ----------
    adsl : pandas.DataFrame
        One row per enrolled participant: ``infused``, ``crs_evaluable``, ``efficacy_evaluable``,
        ``death``, ``withdrawn``, ``completed_12_months``.

    Returns
    -------
    dict
        ``{box: {"total": n, outflow: n, ..., "left": n}}`` for the boxes of :data:`FLOW_BOXES`; the
        outflows of a box sum to its ``total``; ``left`` = those not in its first outflow (the next box).
    """
    died, withdrew = _flag(adsl, "death"), _flag(adsl, "withdrawn")
    infused = _flag(adsl, "infused")
    crs_evaluable = infused & _flag(adsl, "crs_evaluable")
    efficacy_evaluable = crs_evaluable & _flag(adsl, "efficacy_evaluable")
    boxes = {
        "enrolled": (np.ones(len(adsl), dtype=bool), [infused, died, withdrew]),
        "infused": (infused, [crs_evaluable, withdrew]),
        "crs_evaluable": (crs_evaluable, [efficacy_evaluable, withdrew]),
        "efficacy_evaluable": (efficacy_evaluable, [_flag(adsl, "completed_12_months"), died, withdrew]),
    }
    flow: dict[str, dict[str, int]] = {}
    for box, (members, conditions) in boxes.items():
        *decided, rest = FLOW_BOXES[box]
        remaining = members.copy()
        counts = {"total": int(members.sum())}
        for name, condition in zip(decided, conditions, strict=True):
            counts[name] = int((remaining & condition).sum())
            remaining &= ~condition
        counts[rest] = int(remaining.sum())
        counts["left"] = counts["total"] - counts[decided[0]]
        flow[box] = counts
    return flow


def participant_flow_rows(adsl: pd.DataFrame) -> list[ArdRow]:
    """``participant_flow``: group = the box, variable = ``total`` or an outflow, ``stat_name`` ``n``.

    See :func:`flow_outflows`; the labels say what each count is.
    """
    return [
        ard_row(FLOW_ANALYSIS, box, name, "n", count, FLOW_LABELS.get(name, f"{box} → {name}"))
        for box, counts in flow_outflows(adsl).items()
        for name, count in counts.items()
    ]


__all__ = ["FLOW_BOXES", "flow_outflows", "participant_flow_rows"]
