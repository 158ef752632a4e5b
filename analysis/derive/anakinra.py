"""Anakinra timing, dosing and rescue — grading.md, "Anakinra timing (PACER protocol)".

Inputs are the processed ``participants`` and ``events`` tables of ``docs/processed-tables.md``
(events already cut). Every comparison between two instants (the 4 h and 24 h trigger bounds,
the 6 h window, the 9 h escalation interval) is made on ``event_time`` differences, which are
exact, never on differences of the float ``hours_from_infusion`` columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.derive.key_times import derive_var_first_fever
from analysis.derive.queries import empty_queries
from analysis.export.vocabulary import CORTICOSTEROIDS, RESCUE_DRUGS
from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_DAY

ANAKINRA_COLUMNS: list[str] = [
    "participant_id",
    "first_fever_hours",
    "trigger_hours",
    "first_anakinra_hours",
    "fever_to_anakinra_hours",
    "trigger_to_anakinra_hours",
    "anakinra_doses",
    "anakinra_escalated",
    "max_dose_mg_per_kg",
    "doses_over_limit",
    "tocilizumab_given",
    "corticosteroids_given",
    "rescue_after_anakinra",
    "deviation",
]

_ONE_HOUR = pd.Timedelta(hours=1)


def _format_numbers(values: pd.Series, decimals: int) -> pd.Series:
    """Fixed-decimal text of a float column, vectorized (``12.0``, ``2.50``)."""
    text = np.char.mod(f"%.{decimals}f", values.to_numpy(dtype=float))
    return pd.Series(text, index=values.index, dtype=object)


def _post_infusion(
    events: pd.DataFrame, event_type: str, columns: list[str] | None = None, above: float | None = None
) -> pd.DataFrame:
    """Rows of one type at or after infusion (grading.md, "Time": earlier rows never describe day 0 on).

    Only ``columns`` (with ``value``) are kept when given, and only rows whose value is above
    ``above`` when given: the hourly temperatures of a registry are millions of rows. Temperatures
    are rounded to 0.01 °C, as the first fever compares them (grading.md, "Fever"), before any
    comparison.
    """
    value = events["value"].to_numpy(dtype=float, na_value=np.nan)
    if event_type == "temperature":
        value = np.round(value, 2)
    keep = events["event_type"].eq(event_type).fillna(False).to_numpy(dtype=bool) & (
        events["hours_from_infusion"].to_numpy(dtype=float, na_value=np.nan) >= 0
    )
    if above is not None:
        keep &= value > above
    rows = events.loc[keep] if columns is None else events.loc[keep, [*columns, "value"]]
    return rows.assign(value=value[keep])


def compute_persistent_fever_trigger(events: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Protocol trigger (persistent fever), per participant.

    grading.md, "Anakinra timing": *the earliest reading > 38.5 °C at a time t_j for which some
    earlier reading > 38.5 °C lies in [t_j − 24 h, t_j − 4 h] (any pair, not only consecutive
    readings; both bounds inclusive). Trigger time = t_j.*

    For each high reading at t, the latest earlier high reading at or before t − 4 h is found
    with a backward ``merge_asof``; some high reading lies in the window if and only if that one
    is at or after t − 24 h (the merge's tolerance of 24 − 4 = 20 h). Bounds come from
    ``plan.trigger_temperature_celsius``, ``plan.trigger_min_gap_hours`` and
    ``plan.trigger_max_gap_hours``; readings at or after infusion only.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``trigger_time``, ``trigger_hours``, ``trigger_paired_hours`` (the
        earlier reading of the pair); participants without a trigger have no row.
    """
    if plan.trigger_max_gap_hours < plan.trigger_min_gap_hours:
        raise ValueError("trigger_max_gap_hours must not be below trigger_min_gap_hours")
    high = _post_infusion(
        events,
        "temperature",
        ["participant_id", "event_time", "hours_from_infusion"],
        above=plan.trigger_temperature_celsius,
    )[["participant_id", "event_time", "hours_from_infusion"]]
    high = high.drop_duplicates(["participant_id", "event_time"])
    min_gap = pd.Timedelta(hours=plan.trigger_min_gap_hours)
    search_from = (high["event_time"] - min_gap).astype(high["event_time"].dtype)  # Timedelta arithmetic gives ns
    later = high.assign(search_from=search_from).sort_values("search_from", kind="mergesort")
    earlier = high.rename(columns={"event_time": "earlier_time", "hours_from_infusion": "trigger_paired_hours"})
    earlier = earlier.sort_values("earlier_time", kind="mergesort")
    pairs = pd.merge_asof(
        later,
        earlier,
        left_on="search_from",
        right_on="earlier_time",
        by="participant_id",
        direction="backward",
        tolerance=pd.Timedelta(hours=plan.trigger_max_gap_hours) - min_gap,
        allow_exact_matches=min_gap > pd.Timedelta(0),  # with no minimum gap, never pair a reading with itself
    )
    met = pairs.loc[pairs["earlier_time"].notna()].sort_values(["participant_id", "event_time"], kind="mergesort")
    first = met.drop_duplicates("participant_id")
    return first.rename(columns={"event_time": "trigger_time", "hours_from_infusion": "trigger_hours"})[
        ["participant_id", "trigger_time", "trigger_hours", "trigger_paired_hours"]
    ].reset_index(drop=True)


def derive_anakinra_doses(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per anakinra dose at or after infusion, with its mg/kg, limit and escalation checks.

    grading.md, "Anakinra timing": *Doses counted from infusion to the cut* (events are already
    cut). *Escalation: two consecutive doses less than 9 h apart (every 6 h), or a per-dose mg/kg
    above the first dose's.* *A dose above 2.5 mg/kg or 100 mg (mg doses converted with
    weight_kg)* is a deviation.

    A dose in mg is converted to mg/kg with ``weight_kg`` and a dose in mg/kg to mg likewise.
    For the escalation comparison both mg/kg are rounded to ``plan.anakinra_mg_per_kg_decimals``
    so that the same dose written in mg and in mg/kg compares equal (a 100 mg dose capped for a
    50 kg child is the same as 2 mg/kg: no escalation). The limits compare the unrounded values,
    strictly: exactly 2.5 mg/kg or exactly 100 mg is within the limit.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``line``, ``event_time``, ``hours``, ``dose_number`` (1, 2, …),
        ``dose_mg_per_kg``, ``dose_mg`` (NaN when the row has no dose in mg or mg/kg),
        ``hours_since_previous_dose``, ``escalated_by_interval``, ``escalated_by_mg_per_kg``,
        ``over_limit``; sorted by participant and time.
    """
    weights = participants.loc[participants["infused"].astype(bool), ["participant_id", "weight_kg"]]
    medications = _post_infusion(events, "medication")
    doses = medications.loc[medications["detail"].isin(["anakinra"])].merge(weights, on="participant_id", how="inner")
    doses = doses.sort_values(["participant_id", "event_time", "line"], kind="mergesort").reset_index(drop=True)
    value = doses["value"].to_numpy(dtype=float)
    weight = doses["weight_kg"].to_numpy(dtype=float, na_value=np.nan)
    in_mg = doses["unit"].isin(["mg"]).to_numpy()
    in_mg_per_kg = doses["unit"].isin(["mg/kg"]).to_numpy()
    dose_mg_per_kg = np.where(in_mg_per_kg, value, np.where(in_mg, value / weight, np.nan))
    dose_mg = np.where(in_mg, value, np.where(in_mg_per_kg, value * weight, np.nan))

    by_participant = doses.groupby("participant_id", sort=False)
    since_previous = doses["event_time"] - by_participant["event_time"].shift(1)
    rounded = pd.Series(np.round(dose_mg_per_kg, plan.anakinra_mg_per_kg_decimals), index=doses.index)
    dose_number = by_participant.cumcount() + 1
    first_dose_rounded = rounded.where(dose_number == 1).groupby(doses["participant_id"], sort=False).transform("max")
    return pd.DataFrame(
        {
            "participant_id": doses["participant_id"],
            "line": doses["line"],
            "event_time": doses["event_time"],
            "hours": doses["hours_from_infusion"],
            "dose_number": dose_number.astype("int64"),
            "dose_mg_per_kg": dose_mg_per_kg,
            "dose_mg": dose_mg,
            "hours_since_previous_dose": since_previous / _ONE_HOUR,
            "escalated_by_interval": (since_previous < pd.Timedelta(hours=plan.escalation_interval_hours)).to_numpy(
                dtype=bool, na_value=False
            ),
            "escalated_by_mg_per_kg": (rounded > first_dose_rounded).to_numpy(dtype=bool, na_value=False),
            "over_limit": (dose_mg_per_kg > plan.anakinra_max_mg_per_kg) | (dose_mg > plan.anakinra_max_mg),
        }
    )


def _deviation_text(table: pd.DataFrame, doses: pd.DataFrame, plan: AnalysisPlan) -> pd.Series:
    """The '; '-joined deviations per participant (grading.md, "Deviations, listed"), NA when none."""
    first_hours = _format_numbers(table["first_anakinra_hours"], 1)
    trigger_hours = _format_numbers(table["trigger_hours"], 1)
    delay = table["trigger_to_anakinra_hours"]
    given = table["anakinra_doses"] > 0
    window = plan.anakinra_window_hours
    no_trigger = given & table["trigger_hours"].isna()
    before = given & (delay < 0)
    late = given & (delay > window)
    parts = [
        pd.DataFrame(
            {
                "participant_id": table["participant_id"],
                "order": 0,
                "hours": table["first_anakinra_hours"],
                "text": "anakinra given with no persistent-fever trigger (first dose at " + first_hours + " h)",
            }
        ).loc[no_trigger],
        pd.DataFrame(
            {
                "participant_id": table["participant_id"],
                "order": 1,
                "hours": table["first_anakinra_hours"],
                "text": "first anakinra dose at "
                + first_hours
                + " h, "
                + _format_numbers(-delay, 1)
                + " h before the trigger at "
                + trigger_hours
                + " h",
            }
        ).loc[before],
        pd.DataFrame(
            {
                "participant_id": table["participant_id"],
                "order": 2,
                "hours": table["first_anakinra_hours"],
                "text": "first anakinra dose at "
                + first_hours
                + " h, "
                + _format_numbers(delay, 1)
                + " h after the trigger at "
                + trigger_hours
                + f" h (more than {window:g} h)",
            }
        ).loc[late],
    ]
    over = doses.loc[doses["over_limit"]]
    parts.append(
        pd.DataFrame(
            {
                "participant_id": over["participant_id"],
                "order": 3,
                "hours": over["hours"],
                "text": "dose at "
                + _format_numbers(over["hours"], 1)
                + " h above the limit: "
                + _format_numbers(over["dose_mg_per_kg"], 2)
                + " mg/kg ("
                + _format_numbers(over["dose_mg"], 1)
                + " mg; limit "
                + f"{plan.anakinra_max_mg_per_kg:g} mg/kg or {plan.anakinra_max_mg:g} mg)",
            }
        )
    )
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.Series(pd.NA, index=table.index, dtype="string")
    listed = pd.concat(parts, ignore_index=True).sort_values(["participant_id", "order", "hours"], kind="mergesort")
    joined = listed.groupby("participant_id", sort=False)["text"].agg("; ".join)
    return table["participant_id"].map(joined).astype("string")


def build_anakinra(
    participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``anakinra.parquet``: one row per infused participant, and the data queries it raises.

    grading.md, "Anakinra timing (PACER protocol)":

    - ``first_fever_hours``: first temperature ≥ 38.0 °C after infusion, read from
      :func:`analysis.derive.key_times.derive_var_first_fever` (the value ``crs`` shows too);
    - ``trigger_hours``: the persistent-fever trigger (:func:`compute_persistent_fever_trigger`);
    - ``first_anakinra_hours``: the first ``medication`` row with drug ``anakinra`` after infusion;
      ``fever_to_anakinra_hours`` and ``trigger_to_anakinra_hours`` from the first fever and the
      trigger (negative when the dose came first);
    - ``anakinra_doses``, ``anakinra_escalated``, ``max_dose_mg_per_kg``, ``doses_over_limit``
      (:func:`derive_anakinra_doses`);
    - ``tocilizumab_given`` / ``corticosteroids_given``: any time from infusion to day 30
      (``plan.rescue_window_days``, end included, as "days a–b" in grading.md "Time");
    - ``rescue_after_anakinra``: tocilizumab, siltuximab or a corticosteroid strictly after the
      first anakinra dose, up to the cut (a drug given at the same instant is concurrent, not
      rescue);
    - ``deviation``: '; '-joined, in this order — a dose with no trigger; the first dose before
      the trigger; the first dose more than ``plan.anakinra_window_hours`` after it; each dose
      above 2.5 mg/kg or 100 mg. Null when there is none.

    Parameters
    ----------
    participants, events
        The processed tables (docs/processed-tables.md).
    plan
        The analysis plan.

    Returns
    -------
    tuple[pandas.DataFrame, pandas.DataFrame]
        The anakinra table (columns :data:`ANAKINRA_COLUMNS`, sorted by ``participant_id``) and
        the queries (``participant_id``, ``kind``, ``detail``, ``hours``): ``anakinra_before_infusion``
        for a dose before day 0 (shown, never counted) and ``anakinra_dose_unreadable`` for a dose
        with no value in mg or mg/kg (counted, left out of the mg/kg checks).
    """
    infused = participants.loc[participants["infused"].astype(bool), ["participant_id"]]
    infused = infused.sort_values("participant_id", kind="mergesort").reset_index(drop=True)
    doses = derive_anakinra_doses(participants, events, plan)
    first_fever = derive_var_first_fever(participants, events, plan)
    first_fever = first_fever.astype({"participant_id": infused["participant_id"].dtype})
    first_dose = doses.drop_duplicates("participant_id")[["participant_id", "event_time", "hours"]].rename(
        columns={"event_time": "first_anakinra_time", "hours": "first_anakinra_hours"}
    )
    per_participant = (
        doses.groupby("participant_id", sort=False)
        .agg(
            anakinra_doses=("line", "size"),
            escalated_by_interval=("escalated_by_interval", "any"),
            escalated_by_mg_per_kg=("escalated_by_mg_per_kg", "any"),
            max_dose_mg_per_kg=("dose_mg_per_kg", "max"),
            doses_over_limit=("over_limit", "sum"),
        )
        .reset_index()
    )

    table = (
        infused.merge(first_fever, on="participant_id", how="left")
        .merge(compute_persistent_fever_trigger(events, plan), on="participant_id", how="left")
        .merge(first_dose, on="participant_id", how="left")
        .merge(per_participant, on="participant_id", how="left")
    )
    table["fever_to_anakinra_hours"] = (table["first_anakinra_time"] - table["first_fever_time"]) / _ONE_HOUR
    table["trigger_to_anakinra_hours"] = (table["first_anakinra_time"] - table["trigger_time"]) / _ONE_HOUR
    table["anakinra_doses"] = table["anakinra_doses"].fillna(0).astype("int64")
    table["doses_over_limit"] = table["doses_over_limit"].fillna(0).astype("int64")
    table["anakinra_escalated"] = (
        table["escalated_by_interval"].eq(True) | table["escalated_by_mg_per_kg"].eq(True)
    ).astype(bool)
    table["max_dose_mg_per_kg"] = table["max_dose_mg_per_kg"].astype(float)

    medications = _post_infusion(events, "medication")
    in_window = medications.loc[medications["hours_from_infusion"] <= plan.rescue_window_days * HOURS_PER_DAY]
    table["tocilizumab_given"] = table["participant_id"].isin(
        in_window.loc[in_window["detail"].isin(["tocilizumab"]), "participant_id"]
    )
    table["corticosteroids_given"] = table["participant_id"].isin(
        in_window.loc[in_window["detail"].isin(CORTICOSTEROIDS), "participant_id"]
    )
    rescue = medications.loc[medications["detail"].isin(RESCUE_DRUGS), ["participant_id", "event_time"]].merge(
        first_dose, on="participant_id", how="inner"
    )
    rescued = rescue.loc[rescue["event_time"] > rescue["first_anakinra_time"], "participant_id"]
    table["rescue_after_anakinra"] = table["participant_id"].isin(rescued)
    table["deviation"] = _deviation_text(table, doses, plan)

    return table[ANAKINRA_COLUMNS], _anakinra_queries(participants, events, doses)


def _anakinra_queries(participants: pd.DataFrame, events: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """Data queries about anakinra rows: a dose before infusion; a dose with no readable amount."""
    infused_ids = participants.loc[participants["infused"].astype(bool), "participant_id"]
    is_anakinra = (
        events["event_type"].isin(["medication"])
        & events["detail"].isin(["anakinra"])
        & events["participant_id"].isin(infused_ids)
    )
    before = events.loc[is_anakinra & (events["hours_from_infusion"] < 0)]
    unreadable = doses.loc[doses["dose_mg_per_kg"].isna()]
    frames = [
        _dose_queries(
            before["participant_id"],
            before["hours_from_infusion"],
            before["line"],
            "anakinra_before_infusion",
            ", before infusion: shown, not counted",
        ),
        _dose_queries(
            unreadable["participant_id"],
            unreadable["hours"],
            unreadable["line"],
            "anakinra_dose_unreadable",
            " has no amount in mg or mg/kg: counted, left out of the mg/kg checks",
        ),
    ]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return empty_queries().assign(hours=pd.Series(dtype=float))
    queries = pd.concat(frames, ignore_index=True)
    return queries.sort_values(["participant_id", "hours", "kind"], kind="mergesort").reset_index(drop=True)


def _dose_queries(participant_id: pd.Series, hours: pd.Series, line: pd.Series, kind: str, what: str) -> pd.DataFrame:
    """One query per anakinra dose row: "anakinra dose at <hours> h<what> (events.csv line <line>)"."""
    return pd.DataFrame(
        {
            "participant_id": participant_id,
            "kind": kind,
            "detail": "anakinra dose at "
            + _format_numbers(hours, 1)
            + f" h{what} (events.csv line "
            + line.astype(str)
            + ")",
            "hours": hours,
        }
    )
