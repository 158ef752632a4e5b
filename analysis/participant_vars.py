"""Participant-level variables that ``participants.parquet`` itself carries, and the death they need.

outputs.md puts the analysis-set flags in ``participants.parquet``, which the ingest step writes;
the flags need each participant's death, and the derivations need the same death. So these rules
live in this base module, below both layers: :mod:`analysis.export.ingest` writes
:func:`compute_age_at_infusion_years` and :func:`derive_analysis_sets` into the processed
participants, and every derived table (adsl, adtte, icans, crs through the physiology, the date
queries) reads :func:`derive_vars_death` — one death per participant, with one tie rule.
Nothing here imports :mod:`analysis.export` or :mod:`analysis.derive`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.units import DAYS_PER_YEAR, HOURS_PER_DAY

CRS_EVALUABLE_DAYS = 30
EFFICACY_EVALUABLE_DAYS = 42
"""grading.md, "Analysis sets": days of follow-up (or a death before them) that make a participant evaluable."""

DEATH_COLUMNS: list[str] = ["participant_id", "death_hours", "death_cause", "death_line"]
"""Columns of :func:`derive_vars_death`."""


def compute_age_at_infusion_years(
    age_years: pd.Series, enrollment_date: pd.Series, infusion_datetime: pd.Series
) -> pd.Series:
    """The age at infusion, the age the PALS thresholds use (``age_at_infusion_years``).

    grading.md, "Hypotension level": *age_years + (infusion date − enrollment date) / 365.25*;
    the infusion date is the date of the UTC instant. The floor to completed years (or not) is the
    choice ``pals_age``, applied where the threshold is computed
    (:func:`analysis.derive.physiology.pals_sbp_threshold`).

    Parameters
    ----------
    age_years
        Age at enrollment.
    enrollment_date
        Enrollment dates.
    infusion_datetime
        UTC instants of infusion, NaT where the participant is not infused.

    Returns
    -------
    pandas.Series
        float64 years; NaN where the infusion is NaT.

    Examples
    --------
    >>> compute_age_at_infusion_years(
    ...     pd.Series([9.5]), pd.Series(["2026-01-01"]), pd.Series(pd.to_datetime(["2026-12-31T23:00:00Z"]))
    ... ).round(6).tolist()
    [10.496578]
    """
    infusion_day = infusion_datetime.dt.tz_convert(None).dt.normalize()
    days_enrolled_to_infusion = (infusion_day - pd.to_datetime(enrollment_date)).dt.days
    return age_years + days_enrolled_to_infusion / DAYS_PER_YEAR


def derive_vars_death(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The death of each participant: its time, its cause, and the row it was read from.

    grading.md, "Response and 12-month outcomes" (*follow-up ends at the earliest of death …*;
    contradictory dates are queried and *the derivation says which it used*). The one rule every
    table reads (adsl, adtte, icans, the CRS horizon and grade 5, the analysis sets):

    - **which row**: the earliest ``death`` row by ``event_time``; among death rows at the same
      instant, the first in the export (lowest ``line``) — **the tie rule**. Its cause is the
      death's cause, whatever the other rows say (several death rows are a data query,
      :mod:`analysis.derive.date_queries`).
    - **when**: ``death_hours`` = its ``hours_from_infusion``, clamped at 0 for a death recorded
      before the infusion (the death is used, at day 0); NaN for a participant not infused.

    Parameters
    ----------
    participants
        The processed participants (docs/processed-tables.md); only ``participant_id`` is read.
    events
        The processed events (rows before the cut): ``participant_id``, ``line``, ``event_type``,
        ``event_time``, ``hours_from_infusion``, ``detail``.

    Returns
    -------
    pandas.DataFrame
        :data:`DEATH_COLUMNS`: ``participant_id`` (string), ``death_hours`` (float64),
        ``death_cause`` (string, lower case; NA when the row has none), ``death_line`` (int64, the
        ``events.csv`` line of the row used); one row per participant with a death row, sorted by
        ``participant_id``.

    Examples
    --------
    Two death rows at the same instant: the first line wins.

    >>> at = pd.Timestamp("2026-03-10T00:00:00Z")
    >>> events = pd.DataFrame({"participant_id": ["P1", "P1"], "line": [8, 5], "event_type": ["death", "death"],
    ...                        "event_time": [at, at], "hours_from_infusion": [100.0, 100.0],
    ...                        "detail": ["crs", "infection"]})
    >>> derive_vars_death(pd.DataFrame({"participant_id": ["P1"]}), events)[["death_hours", "death_cause"]].values.tolist()
    [[100.0, 'infection']]
    """
    enrolled = participants["participant_id"].astype("string")
    codes, event_types = pd.factorize(events["event_type"])
    is_death = pd.Series(event_types, dtype="string").str.lower().eq("death").fillna(False).to_numpy(dtype=bool)
    deaths = events.loc[np.append(is_death, False)[codes]]  # each distinct type lower-cased once; NA is not a death
    deaths = deaths.assign(participant_id=deaths["participant_id"].astype("string"))
    deaths = deaths.loc[deaths["participant_id"].isin(enrolled)]
    first = deaths.sort_values(["participant_id", "event_time", "line"], kind="mergesort").drop_duplicates(
        "participant_id"
    )
    return pd.DataFrame(
        {
            "participant_id": first["participant_id"].astype("string"),
            "death_hours": first["hours_from_infusion"].astype("float64").clip(lower=0.0),
            "death_cause": first["detail"].astype("string").str.lower(),
            "death_line": first["line"].astype("int64"),
        }
    ).reset_index(drop=True)


def derive_analysis_sets(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Add ``safety``, ``crs_evaluable`` and ``efficacy_evaluable`` to the participants.

    grading.md, "Analysis sets": Safety = infused before the cut; CRS-evaluable = infused at least
    30 days before the cut, or died before day 30; efficacy-evaluable likewise with 42 days. The
    death is :func:`derive_vars_death` (a death recorded before infusion counts at day 0).
    ``participants`` needs ``participant_id``, ``infused``, ``cut_hours``; ``events`` the columns
    :func:`derive_vars_death` reads (rows before the cut only).
    """
    deaths = derive_vars_death(participants, events).set_index("participant_id")["death_hours"]
    death_hours = participants["participant_id"].astype("string").map(deaths).astype("float64").to_numpy()
    infused = participants["infused"].astype(bool)

    def evaluable(days: int) -> pd.Series:
        followed = participants["cut_hours"] >= days * HOURS_PER_DAY
        died_before = pd.Series(death_hours < days * HOURS_PER_DAY, index=participants.index)
        return infused & (followed | died_before)

    return participants.assign(
        safety=infused,
        crs_evaluable=evaluable(CRS_EVALUABLE_DAYS),
        efficacy_evaluable=evaluable(EFFICACY_EVALUABLE_DAYS),
    )
