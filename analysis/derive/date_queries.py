"""Contradictory dates, listed as data queries — grading.md, "Response and 12-month outcomes".

*Contradictory dates (death before infusion, relapse after death, an event after withdrawal) are
listed as data queries; the derivation says which it used.* Also listed: a ``last_contact`` after
death, and more than one death row. Each query's ``detail`` gives the study days (never calendar
dates: outputs.md) and the value the derivations of :mod:`analysis.derive.adtte` and
:mod:`analysis.derive.adsl` used:

- death before infusion: the death is used, at day 0 (clamped to the infusion);
- relapse after death: the death is used; the relapse is ignored (CIR counts a death without
  relapse);
- event after withdrawal: every row is used — follow-up is not truncated at a withdrawal;
- last contact after death: the death is used; last known alive is capped at the death;
- several death rows: the death of :func:`analysis.participant_vars.derive_vars_death` is used
  (the earliest; at the same instant, the first line of the export).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.derive.queries import RAISED_COLUMNS, queries_from_records
from analysis.participant_vars import derive_vars_death
from analysis.units import HOURS_PER_DAY

AFTER_DEATH: dict[str, tuple[str, str, str]] = {
    "relapse": ("relapse_after_death", "relapse", "used: the death, the relapse is ignored"),
    "last_contact": (
        "last_contact_after_death",
        "last contact",
        "used: the death; last known alive capped at {death_day}",
    ),
}
"""Rows dated after the death that raise a query: event type → (kind, what it is, what was used)."""


def _day(hours: float) -> str:
    return "day n/a (not infused)" if pd.isna(hours) else f"day {hours / HOURS_PER_DAY:.2f}"


def _days(hours: pd.Series) -> pd.Series:
    """:func:`_day` of each value."""
    return pd.Series([_day(value) for value in hours], index=hours.index, dtype=object)


def derive_date_queries(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """List contradictory dates of every enrolled participant (rows before the cut only).

    Vectorized over participants: only a participant with a death or a withdrawal row can have a
    contradictory date, so only their rows are looked at (of a participant who died without
    withdrawing, only the death rows and the rows a death can contradict), and each kind of query
    is found for all of them at once.

    Parameters
    ----------
    participants, events
        The processed tables (docs/processed-tables.md).

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``kind`` (``death_before_infusion``, ``relapse_after_death``,
        ``event_after_withdrawal``, ``last_contact_after_death``, ``multiple_deaths``),
        ``detail``; sorted by participant and kind (several rows of one kind in the order of the
        export). Order is by ``event_time`` (absolute instants),
        so participants not infused are checked too; a death of a participant whose recorded
        infusion lies after the cut is a death before infusion.
    """
    codes, types = pd.factorize(events["event_type"])
    lowered = np.append(pd.Series(types, dtype="string").str.lower().to_numpy(dtype=object, na_value=None), None)

    def of_kind(*kinds: str) -> np.ndarray:
        return np.isin(lowered, kinds)[codes]  # each distinct type compared once

    withdrawn = events.loc[of_kind("withdrawal"), "participant_id"].unique()
    died = events.loc[of_kind("death"), "participant_id"].unique()
    # every row after a withdrawal is a query, so all rows of a withdrawn participant are looked at; of
    # a participant who died, only the death and the rows that a death contradicts
    rows_concerned = events["participant_id"].isin(withdrawn).to_numpy(dtype=bool) | (
        of_kind("death", *AFTER_DEATH) & events["participant_id"].isin(died).to_numpy(dtype=bool)
    )
    ev = pd.DataFrame(
        {
            "participant_id": events.loc[rows_concerned, "participant_id"].astype("string").array,
            "event_type": lowered[codes[rows_concerned]],
            "event_time": events.loc[rows_concerned, "event_time"].array,
            "line": events.loc[rows_concerned, "line"].to_numpy(),
            "hours_from_infusion": events.loc[rows_concerned, "hours_from_infusion"].to_numpy(),
        }
    )
    used_death_line = derive_vars_death(participants, events).set_index("participant_id")["death_line"]
    deaths = ev.loc[ev["event_type"] == "death"].sort_values(["participant_id", "event_time", "line"], kind="mergesort")
    used = deaths["line"].to_numpy() == deaths["participant_id"].map(used_death_line).to_numpy()
    death = deaths.loc[used].drop_duplicates("participant_id").set_index("participant_id")
    infusion = participants.assign(participant_id=participants["participant_id"].astype("string")).set_index(
        "participant_id"
    )["infusion_datetime"]
    queries = pd.concat(
        [
            _multiple_deaths(deaths.loc[~used], death),
            _deaths_before_infusion(death, infusion),
            _rows_after_death(ev, death),
            _rows_after_withdrawal(ev),
        ],
        ignore_index=True,
    )
    return queries_from_records(queries.to_dict("records"))


def _multiple_deaths(other_deaths: pd.DataFrame, death: pd.DataFrame) -> pd.DataFrame:
    """``multiple_deaths``: the death used and every other death row (by time, then line)."""
    if other_deaths.empty:
        return pd.DataFrame(columns=list(RAISED_COLUMNS))
    others = (
        _days(other_deaths["hours_from_infusion"]).groupby(other_deaths["participant_id"].to_numpy()).agg(", ".join)
    )
    count = other_deaths.groupby("participant_id").size().reindex(others.index) + 1
    used_day = _days(death["hours_from_infusion"]).reindex(others.index)
    return pd.DataFrame(
        {
            "participant_id": others.index,
            "kind": "multiple_deaths",
            "detail": count.astype(str)
            + " death rows: "
            + used_day
            + ", "
            + others
            + "; used: the earliest, "
            + used_day,
        }
    )


def _deaths_before_infusion(death: pd.DataFrame, infusion: pd.Series) -> pd.DataFrame:
    """``death_before_infusion``: the death used lies before the recorded infusion."""
    infused_at = infusion.reindex(death.index)
    before = death.loc[infused_at.notna() & (death["event_time"] < infused_at)]
    hours = before["hours_from_infusion"]
    detail = [
        "death recorded before the infusion"
        + ("" if pd.isna(h) else f" ({-h / HOURS_PER_DAY:.2f} days before infusion)")
        + "; "
        + (
            "used: death at day 0 (clamped to the infusion)"
            if pd.notna(h)
            else "used: death; the participant is not infused (infusion after the cut)"
        )
        for h in hours
    ]
    return pd.DataFrame({"participant_id": before.index, "kind": "death_before_infusion", "detail": detail})


def _rows_after_death(ev: pd.DataFrame, death: pd.DataFrame) -> pd.DataFrame:
    """A query per ``relapse`` and ``last_contact`` row dated after the death used (:data:`AFTER_DEATH`), in export order."""
    death_time = ev["participant_id"].map(death["event_time"])
    later = ev.loc[ev["event_type"].isin(list(AFTER_DEATH)) & (ev["event_time"] > death_time).fillna(False)]
    death_day = _days(later["participant_id"].map(death["hours_from_infusion"]))
    detail = [
        f"{AFTER_DEATH[kind][1]} at {_day(h)} after death at {day}; " + AFTER_DEATH[kind][2].format(death_day=day)
        for kind, h, day in zip(later["event_type"], later["hours_from_infusion"], death_day)
    ]
    return pd.DataFrame(
        {
            "participant_id": later["participant_id"].to_numpy(),
            "kind": [AFTER_DEATH[kind][0] for kind in later["event_type"]],
            "detail": detail,
        }
    )


def _rows_after_withdrawal(ev: pd.DataFrame) -> pd.DataFrame:
    """``event_after_withdrawal``: rows of any other type dated after the first withdrawal."""
    withdrawals = ev.loc[ev["event_type"] == "withdrawal"].sort_values(
        ["participant_id", "event_time"], kind="mergesort"
    )
    first = withdrawals.drop_duplicates("participant_id").set_index("participant_id")
    later = ev.loc[
        (ev["event_time"] > ev["participant_id"].map(first["event_time"])).fillna(False)
        & (ev["event_type"] != "withdrawal")
    ]
    if later.empty:
        return pd.DataFrame(columns=list(RAISED_COLUMNS))
    by_participant = later.groupby("participant_id", sort=True)
    types = by_participant["event_type"].agg(lambda kinds: ", ".join(sorted(kinds.dropna().unique())))
    earliest = later.sort_values(["participant_id", "event_time"], kind="mergesort").drop_duplicates("participant_id")
    earliest = earliest.set_index("participant_id")["hours_from_infusion"].reindex(types.index)
    count = by_participant.size().reindex(types.index)
    withdrawn_day = _days(first["hours_from_infusion"].reindex(types.index))
    return pd.DataFrame(
        {
            "participant_id": types.index,
            "kind": "event_after_withdrawal",
            "detail": "withdrawal at "
            + withdrawn_day
            + "; "
            + count.astype(str)
            + " later row(s) ("
            + types
            + "), the first at "
            + _days(earliest)
            + "; used: every row (follow-up is not truncated at the withdrawal)",
        }
    )
