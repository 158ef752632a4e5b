"""Hand-built participants and events for the outcome derivations (adtte, adsl, response).

Builds the two processed tables of docs/processed-tables.md, with exactly their columns and
types, from short declarations: a participant is infused ``cut_days`` before the cut instant (or
at an explicit America/Chicago local time), and each row sits ``day`` elapsed days after the
infusion (or at an explicit local time). Like ingest, the builder keeps only rows before the cut
instant, so "an event after the data cut" is declared and then dropped here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TZ = "America/Chicago"
CUT = pd.Timestamp("2026-03-01 00:00", tz=TZ).tz_convert("UTC")
"""Cut instant: data cut D = 2026-02-28, so D + 1 day 00:00 local (grading.md, "Time")."""
HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class Row:
    event_type: str
    day: float | None = None
    local: str | None = None
    detail: str | None = None
    value: float | None = None
    unit: str | None = None


def ra(day: float, response: str, mrd: float | None = None) -> Row:
    """A response assessment (MRD % as the value)."""
    return Row("response_assessment", day, detail=response, value=mrd, unit=None if mrd is None else "%")


def relapse(day: float, cd19: str = "cd19_positive") -> Row:
    return Row("relapse", day, detail=cd19)


def death(day: float | None, cause: str, local: str | None = None) -> Row:
    return Row("death", day, local=local, detail=cause)


def last_contact(day: float) -> Row:
    return Row("last_contact", day)


def hsct(day: float) -> Row:
    return Row("hsct", day)


def new_therapy(day: float, text: str = "blinatumomab") -> Row:
    return Row("new_therapy", day, detail=text)


def withdrawal(day: float, reason: str) -> Row:
    return Row("withdrawal", day, detail=reason)


def temperature(day: float, celsius: float = 37.0) -> Row:
    return Row("temperature", day, value=celsius, unit="C")


@dataclass(frozen=True)
class Participant:
    pid: str
    rows: tuple[Row, ...] = ()
    cut_days: float = 400.0
    """Elapsed days from infusion to the cut instant (negative: infused after the cut)."""
    infusion_local: str | None = None
    """Infusion as an America/Chicago local time (overrides ``cut_days``)."""
    not_infused: bool = False
    marrow_blast_pct: float = 50.0
    age_years: float = 10.0
    extra: dict = field(default_factory=dict)


def _infusion(p: Participant) -> pd.Timestamp | None:
    if p.not_infused:
        return None
    if p.infusion_local is not None:
        return pd.Timestamp(p.infusion_local, tz=TZ).tz_convert("UTC")
    return CUT - pd.Timedelta(days=p.cut_days)


def build(cohort: list[Participant]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The processed ``participants`` and ``events`` frames of a cohort (rows after the cut dropped)."""
    prows, erows = [], []
    line = 2
    for p in cohort:
        inf = _infusion(p)
        infused = inf is not None and inf < CUT
        anchor = inf if inf is not None else CUT - pd.Timedelta(days=30)
        enrollment = (anchor - pd.Timedelta(days=20)).tz_convert(TZ).date()
        cut_hours = (CUT - inf) / HOUR if infused else np.nan
        death_hours = np.inf
        for r in p.rows:
            t = pd.Timestamp(r.local, tz=TZ).tz_convert("UTC") if r.local else anchor + pd.Timedelta(days=r.day)
            if t >= CUT:
                line += 1
                continue
            hours = (t - inf) / HOUR if infused else np.nan
            if r.event_type == "death" and infused:
                death_hours = min(death_hours, hours)
            erows.append(
                {
                    "participant_id": p.pid,
                    "line": line,
                    "event_type": r.event_type,
                    "event_time": t,
                    "end_time": pd.NaT,
                    "hours_from_infusion": hours,
                    "end_hours_from_infusion": np.nan,
                    "value": np.nan if r.value is None else float(r.value),
                    "unit": r.unit,
                    "detail": r.detail,
                    "detail_text": None,
                    "time_flag": None,
                }
            )
            line += 1

        def evaluable(days: float) -> bool:
            return bool(infused and (cut_hours >= days * 24 or death_hours < days * 24))

        prows.append(
            {
                "participant_id": p.pid,
                "site_id": "S1",
                "age_years": p.age_years,
                "sex": "F",
                "weight_kg": 30.0,
                "enrollment_date": enrollment,
                "infusion_datetime": inf if inf is not None else pd.NaT,
                "marrow_blast_pct": p.marrow_blast_pct,
                "prior_hsct": False,
                "cns_status": "CNS1",
                "car_t_dose_per_kg": 2.0e6,
                "infused": infused,
                "age_at_infusion_years": p.age_years + 20 / 365.25 if infused else np.nan,
                "cut_hours": cut_hours,
                "data_end_hours": cut_hours,
                "safety": infused,
                "crs_evaluable": evaluable(30),
                "efficacy_evaluable": evaluable(42),
                **p.extra,
            }
        )
    participants = pd.DataFrame(prows)
    participants = participants.astype(
        {
            "participant_id": "string",
            "site_id": "string",
            "sex": "string",
            "cns_status": "string",
            "infused": bool,
            "safety": bool,
            "crs_evaluable": bool,
            "efficacy_evaluable": bool,
            "prior_hsct": bool,
        }
    )
    participants["infusion_datetime"] = pd.to_datetime(participants["infusion_datetime"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    columns = [
        "participant_id",
        "line",
        "event_type",
        "event_time",
        "end_time",
        "hours_from_infusion",
        "end_hours_from_infusion",
        "value",
        "unit",
        "detail",
        "detail_text",
        "time_flag",
    ]
    events = pd.DataFrame(erows, columns=columns)
    events = events.astype(
        {
            "participant_id": "string",
            "line": "int64",
            "event_type": "string",
            "hours_from_infusion": "float64",
            "end_hours_from_infusion": "float64",
            "value": "float64",
            "unit": "string",
            "detail": "string",
            "detail_text": "string",
            "time_flag": "string",
        }
    )
    events["event_time"] = pd.to_datetime(events["event_time"], utc=True).astype("datetime64[us, UTC]")
    events["end_time"] = pd.to_datetime(events["end_time"], utc=True).astype("datetime64[us, UTC]")
    events = events.sort_values(["participant_id", "event_time", "event_type", "line"], kind="mergesort")
    return participants.sort_values("participant_id").reset_index(drop=True), events.reset_index(drop=True)


# --- The outcome cohort: every case of the brief, worked out by hand in tests/derive/test_adtte.py ---

OUTCOME_COHORT: list[Participant] = [
    Participant("P01", (ra(28, "CR", 0.001), ra(91, "CR", 0.0), last_contact(370))),  # alive to 12 months
    Participant("P02", (ra(28, "CR", 0.5), death(100, "infection"))),  # dead at day 100
    Participant("P03", (ra(28, "CR", 0.0), relapse(150), death(200, "disease"))),  # relapse then death
    Participant("P04", (ra(28, "CRi", 0.005), relapse(240, "cd19_negative"), last_contact(300))),  # CD19- relapse
    Participant("P05", (ra(28, "CR", 0.0), ra(60, "CR", 0.0), hsct(90), relapse(200), last_contact(380))),  # HSCT in CR
    Participant("P06", (ra(28, "NR", 30.0), last_contact(120))),  # no response at day 28
    Participant("P07", (ra(60, "CR", 0.0), last_contact(200))),  # no assessment days 21-42
    Participant("P08", (ra(14, "NR", 5.0), ra(35, "CR"), last_contact(380))),  # response day 35, in window
    Participant("P09", (ra(45, "CR", 0.0), last_contact(380))),  # response day 45, outside
    Participant("P10", (ra(24, "NR", 1.0), ra(32, "CR", 0.0), last_contact(150))),  # two equally near day 28
    Participant("P11", (new_therapy(20), ra(28, "CR", 0.0), last_contact(300))),  # new therapy before response
    Participant("P12", (ra(28, "CR", 0.0), withdrawal(120, "lost to follow-up"))),  # lost to follow-up
    Participant("P13", (withdrawal(10, "consent withdrawn"),)),  # early withdrawal
    Participant(
        "P14", (ra(28, "CR", 0.0), withdrawal(50, "consent withdrawn"), death(80, "other"))
    ),  # event after withdrawal
    Participant(
        "P15", (ra(28, "CR", 0.0), last_contact(100), death(160, "disease")), cut_days=150
    ),  # death after the cut
    Participant(
        "P16", (ra(28, "CR", 0.0), ra(91, "CR", 0.0), last_contact(200)), cut_days=180
    ),  # contact after the cut
    Participant("P17", (temperature(-10),), cut_days=-5),  # infused after the cut
    Participant("P18", (death(5, "disease"),), not_infused=True),  # never infused
    Participant(
        "P19", (death(None, "crs", local="2025-03-10T10:00"),), infusion_local="2025-03-08T10:00"
    ),  # DST spring
    Participant(
        "P20", (death(None, "icans", local="2024-11-04T08:00"),), infusion_local="2024-10-30T08:00"
    ),  # DST fall
    Participant("P21", (death(25, "other"),)),  # TRM: other, day 25
    Participant("P22", (death(20, "disease"),)),  # not TRM: disease
    Participant("P23", (ra(28, "NR", 50.0), death(101, "infection"))),  # not TRM: day 101
    Participant("P24", (death(30, "other"),)),  # TRM: other, day 30 exactly
    Participant("P25", (temperature(-2), death(-1, "disease"))),  # death before infusion
    Participant("P26", (ra(28, "CR", 0.0), death(150, "disease"), relapse(160))),  # relapse after death
    Participant("P27", (ra(28, "CR", 0.0), death(200, "disease"), last_contact(250))),  # contact after death
    Participant("P28", (ra(28, "NR", 20.0), last_contact(30)), cut_days=35),  # cut before day 42
    Participant(
        "P29", (ra(28, "CR", 0.0), ra(90, "CR", 0.0), new_therapy(120, "inotuzumab"), relapse(250), last_contact(380))
    ),  # new therapy in CR
    Participant("P30", (ra(28, "NR", 10.0), hsct(60), death(300, "disease"))),  # HSCT not in remission
    Participant("P31", (ra(28, "CR", 0.0), death(380, "disease"))),  # death after 12 months
    Participant("P32", (ra(28, "CR", 0.0), relapse(365.25), last_contact(370))),  # relapse at the horizon
    Participant("P33", (temperature(-2),), cut_days=10),  # nothing after infusion
    Participant("P34", (ra(42, "CR", 0.0), last_contact(380))),  # response exactly day 42
    Participant("P35", (ra(28, "CR", 0.0), relapse(200, "unknown"), death(200, "disease"))),  # relapse = death instant
    Participant("P36", (ra(28, "CR", 0.0), hsct(100), relapse(100), last_contact(300))),  # relapse = HSCT instant
]
