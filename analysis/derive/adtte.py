"""ADTTE: OS, EFS, RFS and CIR, declared as event and censoring sources — grading.md, "Response and 12-month outcomes".

The rules, and where each lives:

- *Origin: infusion* (RFS: the first CR/CRi). *Follow-up ends at the earliest of death, the cut
  and 12 months (365.25 d)*: the events frame already stops at the cut; the horizon is
  ``plan.horizon_days`` (cnsr 2) in :func:`analysis.derive.tte.derive_param_tte`.
- *LKA = the latest event_time of any row before the cut instant, of any type, and at least
  day 0*: :func:`analysis.derive.key_times.derive_var_last_known_alive` (capped at the death).
- the death (OS, EFS, RFS, CIR) is :func:`analysis.participant_vars.derive_vars_death`: one row
  per participant, the earliest, at the same instant the first line of the export.
- *OS: event death (any cause); otherwise censored at min(LKA, 365.25 d)*.
- *EFS: events death, relapse, treatment failure* (:func:`derive_treatment_failure`); *censored
  at HSCT or new therapy while in remission (the last assessment before it CR/CRi) [choice]*
  (``plan.censor_at_hsct_in_remission``; cnsr 3 / 4), *else at min(LKA, 365.25 d)*.
- *RFS: responders (CR/CRi) only, origin the first CR/CRi; events relapse or death; censored as
  EFS.*
- *CIR: all infused, origin infusion; relapse the event, death without relapse a competing
  risk, censored as EFS [choice]*; ``event_code`` 0 censored, 1 relapse, 2 death without relapse.

Choices made where grading.md is silent (documented here and in the docstrings):

- a death recorded before the infusion counts at day 0 (and is queried);
- only ``relapse``, ``hsct`` and ``new_therapy`` rows at or after infusion count (earlier ones —
  e.g. bridging therapy — are pre-treatment);
- at equal times the declared order decides the description: relapse, then death, then the
  treatment-failure reasons (CIR: a relapse at the same instant as the death is a relapse);
- the 12-month horizon of RFS is on the study-day scale (day ``plan.horizon_days`` after infusion,
  where follow-up ends), so RFS ``aval`` ≤ ``horizon_days`` − first CR/CRi day;
- "the last assessment before it" includes an assessment at the same instant as the HSCT / new
  therapy;
- follow-up is not truncated at a withdrawal (rows after it are used and queried).
"""

from __future__ import annotations

import pandas as pd

from analysis.derive.key_times import derive_var_last_known_alive
from analysis.derive.response import REMISSION, derive_response, derive_response_assessments
from analysis.derive.tte import ADTTE_COLUMNS, CensorSource, EventSource, derive_param_tte
from analysis.participant_vars import derive_vars_death
from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_DAY

PARAMS: dict[str, str] = {
    "OS": "Overall survival (days)",
    "EFS": "Event-free survival (days)",
    "RFS": "Relapse-free survival from first CR/CRi (days)",
    "CIR": "Cumulative incidence of relapse (days)",
}
"""Parameter codes and labels (outputs.md, ``adtte.parquet``)."""

FAILURE_REASONS: dict[str, str] = {
    "no_cr_day28": "treatment failure: no CR/CRi at the day-28 assessment",
    "no_assessment_day28": "treatment failure: no assessment in the day-28 window (response_window_days) and no death before its end",
    "new_therapy_before_cr": "treatment failure: new anti-leukemia therapy before a CR/CRi",
}
"""Treatment-failure reasons (grading.md, EFS) → the EFS event description, in tie-break order."""


LAST_KNOWN_ALIVE = CensorSource(
    "last_known_alive", cnsr=1, dataset_name="lka", time="last_known_alive_hours", cnsdtdsc="last known alive"
)
"""Censoring at the last known alive (cnsr 1), read from :func:`analysis.derive.key_times.derive_var_last_known_alive`."""


def _infused(participants: pd.DataFrame) -> pd.DataFrame:
    out = participants.loc[participants["infused"].astype(bool)].copy()
    out["participant_id"] = out["participant_id"].astype("string")
    return out


def derive_outcome_events(participants: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The candidate rows the outcome parameters read, for infused participants.

    ``event_type`` lower-cased; the ``death`` rows are replaced by the one death of
    :func:`analysis.participant_vars.derive_vars_death` (a death recorded before infusion at day 0:
    grading.md, contradictory dates are queried, the derivation says what it used); ``in_remission`` (bool) is set on every row: True when the last response assessment at or
    before it (from day 0) is CR/CRi — what *HSCT or new therapy while in remission* reads.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``line``, ``event_type``, ``hours_from_infusion``, ``detail``,
        ``in_remission``.
    """
    ids = _infused(participants)["participant_id"]
    ev = events.assign(
        participant_id=events["participant_id"].astype("string"),
        event_type=events["event_type"].astype("string").str.lower(),
    )
    ev = ev.loc[ev["participant_id"].isin(ids)]
    ev = ev.loc[ev["event_type"] != "death", ["participant_id", "line", "event_type", "hours_from_infusion", "detail"]]
    deaths = derive_vars_death(participants, events)
    deaths = deaths.loc[deaths["participant_id"].isin(ids)]
    the_death = pd.DataFrame(
        {
            "participant_id": deaths["participant_id"],
            "line": deaths["death_line"],
            "event_type": pd.Series("death", index=deaths.index, dtype=ev["event_type"].dtype),
            "hours_from_infusion": deaths["death_hours"],
            "detail": deaths["death_cause"].astype(ev["detail"].dtype),
        }
    )
    ev = pd.concat([ev, the_death], ignore_index=True)
    ev["hours_from_infusion"] = ev["hours_from_infusion"].astype("float64")

    assessments = derive_response_assessments(participants, events)
    pairs = ev.reset_index(names="row")[["row", "participant_id", "hours_from_infusion"]].merge(
        assessments[["participant_id", "hours", "line", "response"]], on="participant_id", how="inner"
    )
    pairs = pairs.loc[(pairs["hours"] <= pairs["hours_from_infusion"]) & (pairs["hours_from_infusion"] >= 0)]
    last = pairs.sort_values(["row", "hours", "line"], kind="mergesort").groupby("row").tail(1).set_index("row")
    ev["in_remission"] = last["response"].isin(REMISSION).astype(bool).reindex(ev.index, fill_value=False)
    return ev


def derive_treatment_failure(
    participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan, response: pd.DataFrame | None = None
) -> pd.DataFrame:
    """EFS treatment failures: one row per participant and reason.

    grading.md, EFS: *Treatment failure = no CR/CRi at the day-28 assessment, or no assessment in
    days 21–42 with no death before day 42 [choice ``missing_day28_is_failure``], or new
    anti-leukemia therapy before a CR/CRi; its time is day 28 [choice ``efs_failure_day``: 28 | 0].
    Treatment failure is assessed only when infusion + 42 d is before the cut.*

    "Day 42" is the end of the response window (``plan.response_window_days[1]``); "before the
    cut" is strict (``cut_hours`` > 42 × 24: the window's last instant must be inside the data).
    New therapy counts from day 0 (bridging therapy before infusion is not a failure) and is
    "before a CR/CRi" when strictly earlier than the first CR/CRi, or when there is none.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``reason`` (a key of :data:`FAILURE_REASONS`), ``hours_from_infusion``
        (= ``efs_failure_day`` × 24).
    """
    if response is None:
        response = derive_response(participants, events, plan)
    mark = plan.response_window_days[1] * HOURS_PER_DAY
    infused = _infused(participants)
    assessable = infused.loc[infused["cut_hours"] > mark, "participant_id"]
    resp = (
        response.assign(participant_id=response["participant_id"].astype("string"))
        .set_index("participant_id")
        .reindex(assessable)
    )
    death = derive_vars_death(participants, events).set_index("participant_id")["death_hours"].reindex(assessable)

    no_cr = resp["response_day28"].notna() & ~resp["cr_cri_day28"].astype("boolean").fillna(False)
    no_assessment = resp["response_day28"].isna() & ~(death < mark).fillna(False) & plan.missing_day28_is_failure
    ev = events.assign(participant_id=events["participant_id"].astype("string"))
    therapy = (
        ev.loc[(ev["event_type"].astype("string").str.lower() == "new_therapy") & (ev["hours_from_infusion"] >= 0)]
        .groupby("participant_id")["hours_from_infusion"]
        .min()
        .reindex(assessable)
    )
    first_cr = resp["first_cr_hours"]
    therapy_first = therapy.notna() & (first_cr.isna() | (therapy < first_cr))

    parts = [
        pd.DataFrame({"participant_id": flag.index[flag.to_numpy(dtype=bool)], "reason": reason})
        for reason, flag in (
            ("no_cr_day28", no_cr),
            ("no_assessment_day28", no_assessment),
            ("new_therapy_before_cr", therapy_first),
        )
    ]
    out = pd.concat(parts, ignore_index=True)
    out["participant_id"] = out["participant_id"].astype("string")
    out["reason"] = out["reason"].astype("string")
    out["hours_from_infusion"] = float(plan.efs_failure_day) * HOURS_PER_DAY
    return out.sort_values(["participant_id", "reason"], kind="mergesort").reset_index(drop=True)


def _in_remission(frame: pd.DataFrame) -> pd.Series:
    return frame["in_remission"]


def _relapse_text(frame: pd.DataFrame) -> pd.Series:
    detail = frame["detail"].astype("string").fillna("unknown")
    return "relapse (" + detail + ")"


def declare_censors(plan: AnalysisPlan) -> list[CensorSource]:
    """EFS censoring, shared by RFS and CIR (*censored as EFS*).

    HSCT / new therapy in remission end follow-up (cnsr 3 / 4) when
    ``plan.censor_at_hsct_in_remission``; otherwise only LKA (cnsr 1). The horizon (cnsr 2) is
    applied by :func:`derive_param_tte`.
    """
    censors: list[CensorSource] = []
    if plan.censor_at_hsct_in_remission:
        censors += [
            CensorSource(
                "hsct_in_remission",
                cnsr=3,
                event_types=("hsct",),
                filter=_in_remission,
                cnsdtdsc="HSCT in remission",
                ends_follow_up=True,
            ),
            CensorSource(
                "new_therapy_in_remission",
                cnsr=4,
                event_types=("new_therapy",),
                filter=_in_remission,
                cnsdtdsc="new anti-leukemia therapy in remission",
                ends_follow_up=True,
            ),
        ]
    censors.append(LAST_KNOWN_ALIVE)
    return censors


def declare_parameters(plan: AnalysisPlan) -> dict[str, tuple[list[EventSource], list[CensorSource]]]:
    """The four parameters as declarations: paramcd → (events, censors)."""
    death = EventSource("death", event_types=("death",), evntdesc="death")
    relapse = EventSource("relapse", event_types=("relapse",), evntdesc=_relapse_text)
    failures = [
        EventSource(
            f"failure_{reason}", dataset_name="failures", filter=lambda d, r=reason: d["reason"] == r, evntdesc=text
        )
        for reason, text in FAILURE_REASONS.items()
    ]
    lka_only = [LAST_KNOWN_ALIVE]
    return {
        "OS": ([death], lka_only),
        "EFS": ([relapse, death, *failures], declare_censors(plan)),
        "RFS": ([relapse, death], declare_censors(plan)),
        "CIR": (
            [
                EventSource("relapse", event_types=("relapse",), evntdesc=_relapse_text, event_code=1),
                EventSource("death", event_types=("death",), evntdesc="death without relapse", event_code=2),
            ],
            declare_censors(plan),
        ),
    }


def derive_adtte(
    participants: pd.DataFrame,
    events: pd.DataFrame,
    plan: AnalysisPlan,
    last_known_alive: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Derive adtte.parquet: OS, EFS, RFS, CIR per infused participant.

    grading.md, "Response and 12-month outcomes"; outputs.md, ``adtte.parquet``.

    Parameters
    ----------
    participants, events
        The processed tables (docs/processed-tables.md); events are before the cut.
    plan
        ``horizon_days``, ``response_window_days``, ``efs_failure_day``,
        ``missing_day28_is_failure``, ``censor_at_hsct_in_remission`` are read.
    last_known_alive
        :func:`analysis.derive.key_times.derive_var_last_known_alive` of the same tables, when the
        caller has it already (it reads rows of every type, so ``events`` may then leave out rows
        no outcome reads); derived from ``events`` when None.

    Returns
    -------
    pandas.DataFrame
        :data:`analysis.derive.tte.ADTTE_COLUMNS` sorted by ``participant_id``,
        ``paramcd``; ``aval`` in days from the origin (elapsed time: hours / 24); ``event_code``
        for CIR only (NA elsewhere); participants not infused get no rows; RFS only for
        responders whose first CR/CRi is within the horizon. The contradictory dates it resolves are
        queried by :func:`analysis.derive.date_queries.derive_date_queries`.
    """
    infused = _infused(participants)
    response = derive_response(participants, events, plan)
    datasets = {
        "events": derive_outcome_events(participants, events),
        "lka": derive_var_last_known_alive(participants, events) if last_known_alive is None else last_known_alive,
        "failures": derive_treatment_failure(participants, events, plan, response),
    }
    at_infusion = pd.DataFrame({"participant_id": infused["participant_id"], "origin_hours": 0.0})
    responders = response.loc[response["first_cr_hours"].notna()]
    at_first_cr = pd.DataFrame(
        {"participant_id": responders["participant_id"], "origin_hours": responders["first_cr_hours"]}
    )

    parts = []
    for paramcd, (event_sources, censor_sources) in declare_parameters(plan).items():
        origin = at_first_cr if paramcd == "RFS" else at_infusion
        parts.append(
            derive_param_tte(
                origin,
                event_sources,
                censor_sources,
                paramcd,
                PARAMS[paramcd],
                source_datasets=datasets,
                horizon_days=plan.horizon_days,
            )
        )
    adtte = pd.concat(parts, ignore_index=True)
    adtte.loc[adtte["paramcd"] != "CIR", "event_code"] = pd.NA
    adtte["event_code"] = adtte["event_code"].astype("Int64")
    adtte = adtte.sort_values(["participant_id", "paramcd"], kind="mergesort").reset_index(drop=True)[ADTTE_COLUMNS]
    return adtte
