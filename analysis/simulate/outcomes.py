"""Response, relapse, transplant, death, withdrawal and follow-up visits over 12 months.

- Day-28 marrow assessment (days 21-35, 3 % missing): CR/CRi with probability 0.88 (low burden)
  or 0.78 (high burden), CR:CRi 70:30, 90 % of them MRD < 0.01 %; the others NR, PR or not
  evaluable. Responders in remission are reassessed at about 3, 6, 9 and 12 months.
- Relapse of responders from day 45, exponential with P(relapse within 320 days) = 0.28, three
  times the hazard when day-28 MRD is positive; CD19-positive mostly after B-cell recovery
  (25 % of responders, months 2-9), else mostly CD19-negative.
- Allogeneic HSCT in remission in 12 % of responders (days 60-150); 60 % of their later relapses
  do not happen. New therapy after non-response (70 %) or relapse (50 %).
- Death from disease after non-response (60 %) or relapse (45 %); treatment-related deaths in
  2.5 % of infused (at least one), drawn among participants infused at least 100 days before the
  export, 4x likelier with severe CRS: cause ``crs`` during the CRS of a grade-4 participant, else
  ``infection`` on days 20-100.
- Withdrawal (consent withdrawn / lost to follow-up) in 4 % of infused (at least one), months 2-10.
- ``last_contact`` at monthly visits (month k: day 30.4375 k +/- 5; the month-12 visit 0-5 days after day 365.25,
  inside the visit window the cut keeps, so a participant seen at 12 months is known alive at the horizon).
Nothing is generated after 12 months (365.25 days).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.frames import MINUTES_PER_DAY, choose_exactly, concat_events, event_frame, expand
from analysis.simulate.parameters import DAYS_PER_MONTH, FOLLOW_UP_DAYS

D = MINUTES_PER_DAY
NEW_THERAPIES = np.array(
    ["blinatumomab", "inotuzumab ozogamicin", "salvage chemotherapy", "CD22 CAR T-cell trial"], dtype=object
)
WITHDRAWAL_REASONS = np.array(["consent withdrawn", "lost to follow-up"], dtype=object)


def _response(rng: np.random.Generator, high_burden: np.ndarray) -> pd.DataFrame:
    """Day-28 response category, MRD (%) and assessment day."""
    n = high_burden.size
    responder = rng.random(n) < np.where(high_burden, 0.78, 0.88)
    response = np.where(
        responder,
        np.where(rng.random(n) < 0.7, "CR", "CRi"),
        rng.choice(np.array(["NR", "PR", "not_evaluable"], dtype=object), n, p=[0.65, 0.20, 0.15]),
    ).astype(object)
    mrd_negative = responder & (rng.random(n) < 0.9)
    mrd = np.select(
        [mrd_negative, responder, response == "PR", response == "NR"],
        [
            rng.choice([0.0, 0.001, 0.002, 0.004, 0.008], n),
            np.round(rng.uniform(0.01, 1.0, n), 3),
            np.round(rng.uniform(1, 5, n), 1),
            np.round(rng.uniform(5, 90, n), 1),
        ],
        np.nan,
    )
    return pd.DataFrame(
        {
            "response": response,
            "responder": responder,
            "mrd_pct": mrd,
            "mrd_decimals": np.where(responder, 3, 1),
            "response_minute": np.round(np.clip(rng.normal(28, 3, n), 21, 35) * D),
            "response_recorded": rng.random(n) >= 0.03,
        }
    )


def _relapse_and_transplant(rng: np.random.Generator, fate: pd.DataFrame) -> pd.DataFrame:
    """Relapse (day and CD19 status), B-cell recovery and HSCT of responders."""
    n = len(fate)
    responder = fate["responder"].to_numpy()
    hazard_per_day = -np.log(0.72) / 320 * np.where(fate["mrd_pct"].to_numpy() >= 0.01, 3.0, 1.0)
    relapse_day = 45 + rng.exponential(1 / hazard_per_day)
    b_cell_day = np.where(responder & (rng.random(n) < 0.25), rng.uniform(60, 270, n), np.nan)
    hsct_day = np.where(responder & (rng.random(n) < 0.12), rng.uniform(60, 150, n), np.nan)
    prevented = (hsct_day < relapse_day) & (rng.random(n) < 0.6)
    relapse_day = np.where(responder & ~prevented & (relapse_day <= FOLLOW_UP_DAYS), relapse_day, np.nan)
    hsct_day = np.where(hsct_day < np.nan_to_num(relapse_day, nan=np.inf), hsct_day, np.nan)
    after_recovery = b_cell_day < relapse_day
    relapse_type = np.where(
        after_recovery,
        np.where(rng.random(n) < 0.75, "cd19_positive", "cd19_negative"),
        rng.choice(np.array(["cd19_negative", "cd19_positive", "unknown"]), n, p=[0.70, 0.25, 0.05]),
    )
    return fate.assign(
        relapse_minute=np.round(relapse_day * D),
        relapse_type=np.where(np.isnan(relapse_day), None, relapse_type),
        b_cell_recovery_minute=np.round(b_cell_day * D),
        hsct_minute=np.round(hsct_day * D),
    )


def _deaths_and_therapy(
    rng: np.random.Generator, fate: pd.DataFrame, plan: pd.DataFrame, days_to_export: np.ndarray
) -> pd.DataFrame:
    """New therapy after failure or relapse; deaths from disease and treatment-related deaths."""
    n = len(fate)
    responder = fate["responder"].to_numpy()
    relapse_day = fate["relapse_minute"].to_numpy() / D
    response_day = fate["response_minute"].to_numpy() / D
    therapy_day = np.select(
        [~responder & (rng.random(n) < 0.7), ~np.isnan(relapse_day) & (rng.random(n) < 0.5)],
        [response_day + rng.uniform(3, 20, n), relapse_day + rng.uniform(7, 30, n)],
        np.nan,
    )
    disease_death_day = np.select(
        [~responder & (rng.random(n) < 0.6), ~np.isnan(relapse_day) & (rng.random(n) < 0.45)],
        [rng.uniform(60, 330, n), relapse_day + rng.uniform(30, 240, n)],
        np.nan,
    )
    disease_death_day[disease_death_day > FOLLOW_UP_DAYS] = np.nan

    grade = plan["crs_grade"].to_numpy()
    treatment_related = choose_exactly(
        rng, days_to_export >= 100, max(1, round(0.025 * n)), weights=np.where(grade >= 3, 4.0, 1.0)
    )
    crs_death = treatment_related & (grade == 4)
    support_start = plan["support_start_minute"].to_numpy()
    crs_death_minute = support_start + rng.uniform(0.5, 0.9, n) * (plan["crs_end_minute"].to_numpy() - support_start)
    death_minute = np.select(
        [crs_death, treatment_related],
        [np.round(crs_death_minute), np.round(rng.uniform(20, 100, n) * D)],
        np.round(disease_death_day * D),
    )
    cause = np.select([crs_death, treatment_related], ["crs", "infection"], "disease")
    return fate.assign(
        new_therapy_minute=np.round(therapy_day * D),
        new_therapy=rng.choice(NEW_THERAPIES, n),
        death_minute=death_minute,
        death_cause=np.where(np.isnan(death_minute), None, cause),
    )


def _withdrawals(rng: np.random.Generator, fate: pd.DataFrame, days_to_export: np.ndarray) -> pd.DataFrame:
    """Withdrawals of participants alive then, before the export."""
    n = len(fate)
    withdrawal_day = rng.uniform(60, 300, n)
    alive_then = ~(fate["death_minute"].to_numpy() <= withdrawal_day * D)
    withdrawn = choose_exactly(rng, alive_then & (withdrawal_day < days_to_export), max(1, round(0.04 * n)))
    return fate.assign(
        withdrawal_minute=np.where(withdrawn, np.round(withdrawal_day * D), np.nan),
        withdrawal_reason=rng.choice(WITHDRAWAL_REASONS, n),
    )


def simulate_fate(
    rng: np.random.Generator, infused: pd.DataFrame, plan: pd.DataFrame, days_to_export: np.ndarray
) -> pd.DataFrame:
    """Response, relapse, HSCT, new therapy, death and withdrawal of every infused participant.

    Parameters
    ----------
    rng
        The outcomes' random stream.
    infused
        Cohort rows of the infused participants (``pidx``, ``high_burden``).
    plan
        Their CRS plan, aligned with ``infused``.
    days_to_export
        Days from each infusion to the export.

    Returns
    -------
    pandas.DataFrame
        One row per infused participant; event times in minutes from infusion (NaN: none), and
        ``observation_end_minute`` = the earlier of death and withdrawal (NaN: neither).
    """
    fate = _response(rng, infused["high_burden"].to_numpy())
    fate.insert(0, "pidx", infused["pidx"].to_numpy())
    fate = _relapse_and_transplant(rng, fate)
    fate = _deaths_and_therapy(rng, fate, plan, days_to_export)
    fate = _withdrawals(rng, fate, days_to_export)
    return fate.assign(observation_end_minute=fate[["death_minute", "withdrawal_minute"]].min(axis=1))


def _reassessments(rng: np.random.Generator, fate: pd.DataFrame) -> pd.DataFrame:
    """Marrow reassessments of responders near months 3, 6, 9 and 12, while in remission: CR, MRD < 0.01 %."""
    rows = fate[fate["responder"]]
    owner, k = expand(np.full(len(rows), 4))
    day = np.array([91.0, 182.0, 273.0, 365.0])[k] + rng.uniform(-7, 0, owner.size)
    minute = np.round(day * D)
    in_remission = ~(minute >= rows["relapse_minute"].to_numpy()[owner])
    return event_frame(
        rows["pidx"].to_numpy()[owner][in_remission],
        minute[in_remission],
        "response_assessment",
        value=rng.choice([0.0, 0.001, 0.002], in_remission.sum()),
        decimals=3,
        unit="%",
        detail="CR",
    )


def _single_events(
    fate: pd.DataFrame, minute_column: str, event_type: str, detail_column: str | None = None
) -> pd.DataFrame:
    rows = fate[fate[minute_column].notna()]
    detail = rows[detail_column].to_numpy() if detail_column else None
    return event_frame(rows["pidx"], rows[minute_column], event_type, detail=detail)


def _monthly_contacts(rng: np.random.Generator, pidx: np.ndarray) -> pd.DataFrame:
    owner, k = expand(np.full(pidx.size, 12))
    jitter = rng.uniform(-5, 5, owner.size)
    day = (k + 1) * DAYS_PER_MONTH + np.where(k == 11, np.abs(jitter), jitter)  # the month-12 visit closes the year
    return event_frame(pidx[owner], np.round(day * D), "last_contact")


def outcome_events(rng: np.random.Generator, fate: pd.DataFrame) -> pd.DataFrame:
    """Internal rows of the outcomes: assessments, relapse, B-cell recovery, HSCT, new therapy, death,
    withdrawal and monthly last contacts (rows after death or withdrawal are removed downstream)."""
    recorded = fate[fate["response_recorded"]]
    return concat_events(
        [
            event_frame(
                recorded["pidx"],
                recorded["response_minute"],
                "response_assessment",
                value=recorded["mrd_pct"],
                decimals=recorded["mrd_decimals"],
                unit=np.where(recorded["mrd_pct"].isna(), None, "%"),
                detail=recorded["response"],
            ),
            _reassessments(rng, fate),
            _single_events(fate, "relapse_minute", "relapse", "relapse_type"),
            _single_events(fate, "b_cell_recovery_minute", "b_cell_recovery"),
            _single_events(fate, "hsct_minute", "hsct"),
            _single_events(fate, "new_therapy_minute", "new_therapy", "new_therapy"),
            _single_events(fate, "death_minute", "death", "death_cause"),
            _single_events(fate, "withdrawal_minute", "withdrawal", "withdrawal_reason"),
            _monthly_contacts(rng, fate["pidx"].to_numpy()),
        ]
    )


def not_infused_events(rng: np.random.Generator, pidx: np.ndarray, days_to_export: np.ndarray) -> pd.DataFrame:
    """Rows of participants never infused, in minutes from their enrollment day at noon.

    Those enrolled more than 30 days before the export were seen 7-45 days after enrollment, and
    half of them died of their disease 20-120 days after enrollment (seen at least a day before);
    those awaiting their product were seen 0.5-3 days before the export.
    """
    awaiting = days_to_export <= 30
    contact_day = np.where(awaiting, days_to_export - rng.uniform(0.5, 3, pidx.size), rng.uniform(7, 45, pidx.size))
    died = ~awaiting & (rng.random(pidx.size) < 0.5)
    death_day = rng.uniform(20, 120, pidx.size)
    contact_day = np.where(died, np.minimum(contact_day, death_day - 1), contact_day)
    return concat_events(
        [
            event_frame(pidx, np.round(np.maximum(contact_day, 0) * D), "last_contact"),
            event_frame(pidx[died], np.round(death_day[died] * D), "death", detail="disease"),
        ]
    )
