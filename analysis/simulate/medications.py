"""Medication rows: anakinra per the PACER protocol, tocilizumab and dexamethasone rescue, acetaminophen.

Anakinra (trial only): 2.5 mg/kg, capped at 100 mg and rounded down to whole mg so that no dose
exceeds 2.5 mg/kg, every 12 h from the persistent-fever trigger; the first dose follows the
trigger by 0.5-5 h, except for ~8 % of participants (at least one) who get it 6.5-10 h late and
one in a hundred (at least one among ten or more) who get it 1-3 h *before* the trigger. Where CRS
worsens (grade >= 3: 60 %, grade 2: 25 %) doses go every 6 h from the worsening until it
eases, then every 12 h again until 1-3 days after the CRS ends. Participants whose fever never
meets the trigger get no anakinra.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import (
    MINUTES_PER_DAY,
    MINUTES_PER_HOUR,
    choose_exactly,
    concat_events,
    event_frame,
    expand,
)
from analysis.simulate.parameters import CohortModel
from analysis.simulate.vitals import TRIGGER_C

H = MINUTES_PER_HOUR
Q12 = 12 * H
Q6 = 6 * H


def persistent_fever_trigger(temperatures: pd.DataFrame) -> pd.Series:
    """Minute of the protocol trigger per participant (grading.md, "Anakinra timing").

    The earliest reading > 38.5 °C at t_j with an earlier reading > 38.5 °C in [t_j - 24 h, t_j - 4 h].

    Parameters
    ----------
    temperatures
        Internal rows with ``pidx``, ``minute`` (from infusion) and ``value`` (°C).

    Returns
    -------
    pandas.Series
        Trigger minute indexed by ``pidx``, for participants who have one.
    """
    above = (temperatures["value"] > TRIGGER_C) & (temperatures["minute"] >= 0)
    high = temperatures.loc[above, ["pidx", "minute"]]
    earlier = high.rename(columns={"minute": "earlier"}).sort_values("earlier")
    probe = high.assign(latest_allowed=high["minute"] - 4 * H).sort_values("latest_allowed")
    paired = pd.merge_asof(
        probe, earlier, left_on="latest_allowed", right_on="earlier", by="pidx", direction="backward"
    )
    qualifies = paired["earlier"] >= paired["minute"] - 24 * H
    return paired[qualifies].groupby("pidx")["minute"].min()


def anakinra_dose_mg(weight_kg: np.ndarray) -> np.ndarray:
    """2.5 mg/kg capped at 100 mg, in whole mg, never above 2.5 mg/kg once divided back by the weight."""
    dose = np.minimum(100.0, np.floor(2.5 * weight_kg))
    return np.where(dose / weight_kg > 2.5, dose - 1, dose)


def _anakinra_first_dose(rng: np.random.Generator, trigger: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = trigger.size
    late = choose_exactly(rng, np.ones(n, bool), max(1, round(0.08 * n)) if n else 0)
    early = choose_exactly(rng, ~late, max(1, round(0.01 * n)) if n >= 10 else 0)
    delay_hours = np.select([late, early], [rng.uniform(6.5, 10, n), -rng.uniform(1, 3, n)], rng.uniform(0.5, 5, n))
    deviation = np.select([late, early], ["late", "before_trigger"], "none").astype(object)
    return np.round(trigger + delay_hours * H), deviation


def _anakinra_schedule(
    rng: np.random.Generator, first: np.ndarray, escalate_from: np.ndarray, escalate_until: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dose owners and minutes: q12h from ``first``; q6h between the escalation bounds (NaN = none)."""
    escalated = ~np.isnan(escalate_from)
    q12_until = np.where(escalated, escalate_from, stop)
    n_first = np.floor((q12_until - first) / Q12).astype(int) + 1
    last_first = first + Q12 * (n_first - 1)
    q6_span = np.nan_to_num(escalate_until) - last_first
    n_q6 = np.where(escalated, np.maximum(1, np.floor(q6_span / Q6)), 0).astype(int)
    last_q6 = last_first + Q6 * n_q6
    n_after = np.where(escalated, np.maximum(0, np.floor((stop - last_q6) / Q12)), 0).astype(int)
    segments = [(n_first, first, Q12, 0), (n_q6, last_first, Q6, 1), (n_after, last_q6, Q12, 1)]
    owners, minutes = [], []
    for count, origin, interval, first_step in segments:
        owner, k = expand(count)
        owners.append(owner)
        minutes.append(origin[owner] + (k + first_step) * interval)
    owner, minute = np.concatenate(owners), np.concatenate(minutes)
    jitter = np.where(minute == first[owner], 0, rng.integers(-30, 31, owner.size))
    return owner, minute + jitter


def simulate_anakinra(
    rng: np.random.Generator, plan: pd.DataFrame, infused: pd.DataFrame, trigger: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Anakinra rows and a per-participant summary (first dose, deviation, escalation).

    Parameters
    ----------
    rng
        The medications' random stream.
    plan, infused
        CRS plan and cohort rows of the infused participants.
    trigger
        Protocol trigger minute per ``pidx`` (:func:`persistent_fever_trigger`); only these
        participants get anakinra.

    Returns
    -------
    events, summary
        Internal medication rows; ``summary`` indexed by ``pidx`` with ``first_anakinra_minute``,
        ``anakinra_deviation`` (none, late, before_trigger) and ``anakinra_escalated``.
    """
    rows = plan.set_index("pidx").loc[trigger.index]
    weight = infused.set_index("pidx").loc[trigger.index, "weight_kg"].to_numpy()
    n = len(rows)
    first, deviation = _anakinra_first_dose(rng, trigger.to_numpy(float))
    grade = rows["crs_grade"].to_numpy()
    crs_end = rows["crs_end_minute"].to_numpy()
    escalated = rng.random(n) < np.select([grade >= 3, grade == 2], [0.6, 0.25], 0.0)
    escalate_from = np.where(escalated, np.maximum(rows["support_start_minute"].to_numpy(), first), np.nan)
    escalate_until = escalate_from + np.maximum(24 * H, (crs_end - escalate_from) * rng.uniform(0.5, 1.0, n))
    stop = np.minimum(np.maximum(crs_end, first) + rng.uniform(24, 72, n) * H, 30 * MINUTES_PER_DAY)
    stop = np.maximum(stop, first + 24 * H)
    owner, minute = _anakinra_schedule(rng, first, escalate_from, escalate_until, stop)
    events = event_frame(
        trigger.index.to_numpy()[owner],
        minute,
        "medication",
        value=anakinra_dose_mg(weight)[owner],
        unit="mg",
        detail="anakinra",
    )
    summary = pd.DataFrame(
        {"first_anakinra_minute": first, "anakinra_deviation": deviation, "anakinra_escalated": escalated},
        index=trigger.index,
    )
    return events, summary


def _repeated_doses(
    pidx: np.ndarray,
    first: np.ndarray,
    count: np.ndarray,
    interval: float,
    dose: np.ndarray,
    unit: object,
    drug: str,
    decimals: int,
) -> pd.DataFrame:
    owner, k = expand(count)
    unit_per_row = np.broadcast_to(np.asarray(unit, dtype=object), pidx.shape)[owner]
    return event_frame(
        pidx[owner],
        first[owner] + k * interval,
        "medication",
        value=dose[owner],
        unit=unit_per_row,
        detail=drug,
        decimals=decimals,
    )


def simulate_rescue_and_supportive(
    rng: np.random.Generator, plan: pd.DataFrame, infused: pd.DataFrame, model: CohortModel
) -> pd.DataFrame:
    """Tocilizumab, dexamethasone and acetaminophen rows.

    - Tocilizumab by grade (``model.tocilizumab_share_by_grade``), 1-12 h after CRS worsens (or
      12-36 h after onset at grade 1); 12 mg/kg under 30 kg, else 8 mg/kg, at most 800 mg; 15 %
      recorded in mg/kg; a second dose 8-12 h later in 15 %.
    - Dexamethasone 0.5 mg/kg (at most 10 mg) every 6 h, 2-8 doses: for CRS grade >= 3
      (``model.dexamethasone_share_severe``) and for ICANS grade >= 2 (60 %).
    - Acetaminophen 15 mg/kg (at most 650 mg): premedication 0-45 min before infusion in 70 %;
      one dose 10-60 min after the first fever in 40 % of those with CRS.
    """
    table = plan.merge(infused[["pidx", "weight_kg"]], on="pidx", how="left")
    n = len(table)
    pidx = table["pidx"].to_numpy()
    weight = table["weight_kg"].to_numpy()
    grade = table["crs_grade"].to_numpy()
    onset = table["onset_minute"].to_numpy()

    gets_tocilizumab = rng.random(n) < np.asarray(model.tocilizumab_share_by_grade)[grade]
    worsening = np.where(grade >= 2, table["support_start_minute"].to_numpy(), onset + 11 * H)
    toci_first = worsening + np.round(rng.uniform(1, 12, n) * H)
    toci_per_kg = np.where(weight < 30, 12.0, 8.0)
    per_kg = rng.random(n) < 0.15
    toci_dose = np.where(per_kg, toci_per_kg, np.minimum(800.0, np.round(toci_per_kg * weight)))
    toci_count = np.where(rng.random(n) < 0.15, 2, 1)

    dexa_dose = np.minimum(10.0, np.round(0.5 * weight, 1))
    crs_dexa = (grade >= 3) & (rng.random(n) < model.dexamethasone_share_severe)
    icans_dexa = (table["icans_grade"].to_numpy() >= 2) & (rng.random(n) < 0.6)
    crs_dexa_first = table["support_start_minute"].to_numpy() + np.round(rng.uniform(6, 24, n) * H)
    icans_dexa_first = table["icans_start"].to_numpy() + np.round(rng.uniform(2, 12, n) * H)

    acetaminophen = np.minimum(650.0, np.round(15 * weight))
    premedicated = rng.random(n) < 0.7
    prn = (grade > 0) & (rng.random(n) < 0.4)
    return concat_events(
        [
            _repeated_doses(
                pidx[gets_tocilizumab],
                toci_first[gets_tocilizumab],
                toci_count[gets_tocilizumab],
                rng.uniform(8, 12) * H,
                toci_dose[gets_tocilizumab],
                np.where(per_kg, "mg/kg", "mg")[gets_tocilizumab],
                "tocilizumab",
                0,
            ),
            _repeated_doses(
                pidx[crs_dexa],
                crs_dexa_first[crs_dexa],
                rng.integers(2, 9, crs_dexa.sum()),
                Q6,
                dexa_dose[crs_dexa],
                "mg",
                "dexamethasone",
                1,
            ),
            _repeated_doses(
                pidx[icans_dexa],
                icans_dexa_first[icans_dexa],
                rng.integers(2, 9, icans_dexa.sum()),
                Q6,
                dexa_dose[icans_dexa],
                "mg",
                "dexamethasone",
                1,
            ),
            event_frame(
                pidx[premedicated],
                -rng.integers(0, 46, premedicated.sum()),
                "medication",
                value=acetaminophen[premedicated],
                unit="mg",
                detail="acetaminophen",
            ),
            event_frame(
                pidx[prn],
                onset[prn] + rng.integers(10, 61, prn.sum()),
                "medication",
                value=acetaminophen[prn],
                unit="mg",
                detail="acetaminophen",
            ),
        ]
    )
