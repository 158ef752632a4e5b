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

import pandas as pd

from analysis.derive.queries import queries_from_records
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


def derive_date_queries(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """List contradictory dates of every enrolled participant (rows before the cut only).

    Parameters
    ----------
    participants, events
        The processed tables (docs/processed-tables.md).

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``kind`` (``death_before_infusion``, ``relapse_after_death``,
        ``event_after_withdrawal``, ``last_contact_after_death``, ``multiple_deaths``),
        ``detail``; sorted by participant and kind. Order is by ``event_time`` (absolute instants),
        so participants not infused are checked too; a death of a participant whose recorded
        infusion lies after the cut is a death before infusion.
    """
    # Only a participant with a death or a withdrawal row can have a contradictory date: check those alone.
    kinds = events["event_type"].astype("string").str.lower()
    concerned = events.loc[kinds.isin(["death", "withdrawal"]), "participant_id"].unique()
    rows_concerned = events["participant_id"].isin(concerned)
    ev = events.loc[rows_concerned].assign(
        event_type=kinds[rows_concerned], participant_id=events.loc[rows_concerned, "participant_id"].astype("string")
    )
    infusion = participants.assign(participant_id=participants["participant_id"].astype("string")).set_index(
        "participant_id"
    )["infusion_datetime"]
    used_death_line = derive_vars_death(participants, events).set_index("participant_id")["death_line"]
    queries: list[dict[str, str]] = []

    for participant_id, rows in ev.groupby("participant_id", sort=True):
        deaths = rows.loc[rows["event_type"] == "death"].sort_values(["event_time", "line"], kind="mergesort")
        if deaths.empty:
            death = None
        else:
            death = deaths.loc[deaths["line"] == used_death_line[participant_id]].iloc[0]
            if len(deaths) > 1:
                others = ", ".join(_day(h) for h in deaths.drop(index=death.name)["hours_from_infusion"])
                queries.append(
                    {
                        "participant_id": participant_id,
                        "kind": "multiple_deaths",
                        "detail": f"{len(deaths)} death rows: {_day(death['hours_from_infusion'])}, {others}; "
                        f"used: the earliest, {_day(death['hours_from_infusion'])}",
                    }
                )
            infused_at = infusion.get(participant_id, pd.NaT)
            if pd.notna(infused_at) and death["event_time"] < infused_at:
                h = death["hours_from_infusion"]
                before = "" if pd.isna(h) else f" ({-h / HOURS_PER_DAY:.2f} days before infusion)"
                used = (
                    "used: death at day 0 (clamped to the infusion)"
                    if pd.notna(h)
                    else "used: death; the participant is not infused (infusion after the cut)"
                )
                queries.append(
                    {
                        "participant_id": participant_id,
                        "kind": "death_before_infusion",
                        "detail": f"death recorded before the infusion{before}; {used}",
                    }
                )
            death_day = _day(death["hours_from_infusion"])
            after_death = rows.loc[rows["event_type"].isin(AFTER_DEATH) & (rows["event_time"] > death["event_time"])]
            for _, later in after_death.iterrows():
                kind, label, used = AFTER_DEATH[later["event_type"]]
                queries.append(
                    {
                        "participant_id": participant_id,
                        "kind": kind,
                        "detail": f"{label} at {_day(later['hours_from_infusion'])} after death at {death_day}; "
                        + used.format(death_day=death_day),
                    }
                )

        withdrawals = rows.loc[rows["event_type"] == "withdrawal"].sort_values("event_time", kind="mergesort")
        if not withdrawals.empty:
            w = withdrawals.iloc[0]
            later = rows.loc[(rows["event_time"] > w["event_time"]) & (rows["event_type"] != "withdrawal")]
            if not later.empty:
                types = ", ".join(sorted(later["event_type"].dropna().unique()))
                first = later.sort_values("event_time", kind="mergesort").iloc[0]
                queries.append(
                    {
                        "participant_id": participant_id,
                        "kind": "event_after_withdrawal",
                        "detail": f"withdrawal at {_day(w['hours_from_infusion'])}; {len(later)} later row(s) "
                        f"({types}), the first at {_day(first['hours_from_infusion'])}; used: every "
                        "row (follow-up is not truncated at the withdrawal)",
                    }
                )

    return queries_from_records(queries)
