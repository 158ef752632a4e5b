"""Times that several derived tables read: the first fever and the last known alive.

Each is derived once, here, and read by every table that shows it: ``first_fever_hours`` by
``crs`` (and the CRS onset and masking it drives) and ``anakinra`` (and the fever-to-anakinra
interval); the last known alive by ``adsl`` and ``adtte``. The death, which caps the last known
alive, is :func:`analysis.participant_vars.derive_vars_death`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.participant_vars import derive_vars_death
from analysis.settings import AnalysisPlan

FIRST_FEVER_COLUMNS: list[str] = ["participant_id", "first_fever_time", "first_fever_hours"]
LAST_KNOWN_ALIVE_COLUMNS: list[str] = ["participant_id", "last_known_alive_hours"]


def infused_participant_ids(participants: pd.DataFrame) -> pd.Series:
    """The ``participant_id`` of every infused participant (``infused``, as ingest set it), as strings, sorted."""
    infused = participants["infused"].astype("boolean").fillna(False).astype(bool)
    ids = participants.loc[infused, "participant_id"].astype("string").drop_duplicates()
    return ids.sort_values(kind="mergesort").reset_index(drop=True)


def derive_var_first_fever(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The first fever after infusion of every infused participant.

    grading.md, "CRS, ASTCT 2019", **Onset** = *the first fever after infusion*, and "Anakinra
    timing": *First fever: first temperature ≥ 38.0 °C after infusion (= ASTCT onset)*: the first
    ``temperature`` row at or after infusion whose value, rounded to 0.01 °C, is at least
    ``plan.fever_celsius`` (grading.md, "Fever"). Drugs given before it never stand in for fever.

    Parameters
    ----------
    participants
        The processed participants: ``participant_id``, ``infused``.
    events
        The processed events: ``participant_id``, ``event_type``, ``event_time``,
        ``hours_from_infusion``, ``value``.
    plan
        ``fever_celsius``.

    Returns
    -------
    pandas.DataFrame
        :data:`FIRST_FEVER_COLUMNS`, one row per infused participant sorted by ``participant_id``
        (string): ``first_fever_time`` (the instant; NaT without a fever) and
        ``first_fever_hours`` (its ``hours_from_infusion``, exactly as in the events; NaN without
        a fever).
    """
    ids = infused_participant_ids(participants)
    is_temperature = events["event_type"].astype("string").eq("temperature").fillna(False).to_numpy(dtype=bool)
    after_infusion = events["hours_from_infusion"].to_numpy(dtype="float64", na_value=np.nan) >= 0
    celsius = np.round(events["value"].to_numpy(dtype="float64", na_value=np.nan), 2)
    fevers = events.loc[
        is_temperature & after_infusion & (celsius >= plan.fever_celsius),
        ["participant_id", "event_time", "hours_from_infusion", "value"],
    ]
    fevers = fevers.assign(participant_id=fevers["participant_id"].astype("string"))
    first = (
        fevers.sort_values(["participant_id", "event_time"], kind="mergesort")
        .drop_duplicates("participant_id")
        .set_index("participant_id")
    )
    return pd.DataFrame(
        {
            "participant_id": ids,
            "first_fever_time": ids.map(first["event_time"]).astype(events["event_time"].dtype),
            "first_fever_hours": ids.map(first["hours_from_infusion"]).astype("float64"),
        }
    )[FIRST_FEVER_COLUMNS]


def derive_var_last_known_alive(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The last known alive (LKA) of every infused participant, in hours from infusion.

    grading.md, "Response and 12-month outcomes": *LKA = the latest event_time of any row before
    the cut instant, of any type, and at least day 0* (the events hold only rows before the cut).
    A participant with a death (:func:`analysis.participant_vars.derive_vars_death`) is not known
    alive after it: the LKA is capped at the death (a later row is a data query,
    :mod:`analysis.derive.date_queries`).

    Returns
    -------
    pandas.DataFrame
        :data:`LAST_KNOWN_ALIVE_COLUMNS`, one row per infused participant, sorted by
        ``participant_id`` (string).
    """
    ids = infused_participant_ids(participants)
    codes, event_ids = pd.factorize(events["participant_id"])  # each distinct id once: no copy of the events
    latest = np.full(len(event_ids) + 1, np.nan)  # the last slot takes the rows without a participant_id (code -1)
    np.fmax.at(latest, codes, events["hours_from_infusion"].to_numpy(dtype="float64", na_value=np.nan))
    latest = pd.Series(latest[:-1], index=pd.Index(np.asarray(event_ids, dtype=object)).astype("string"))
    lka = ids.map(latest).astype("float64").fillna(0.0).clip(lower=0.0)
    death = ids.map(derive_vars_death(participants, events).set_index("participant_id")["death_hours"])
    lka = lka.where(death.isna() | (lka <= death), death)
    return pd.DataFrame({"participant_id": ids, "last_known_alive_hours": lka.astype("float64")})
