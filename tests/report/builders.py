"""A small synthetic output folder with the columns of outputs.md, for the report tests.

Nothing here calls the derivations or the statistics: the tables are written by hand from a few
participant specifications, and the ARD holds the rows outputs.md requires with values chosen to
be recognisable in the rendered report (e.g. OS at 12 months 0.7321 → "73.2 %"). The analyze step's
tables beside the ARD (comparison plan, published figures, step curves) are written by hand too, with
the column types of their producers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import beta

from analysis.settings import AnalysisPlan
from analysis.stats.historical import PLAN_COLUMNS
from analysis.stats.participant_flow import participant_flow_rows
from analysis.stats.published import PUBLISHED_COLUMNS
from analysis.stats.results import CIF_CURVE_COLUMNS, KM_CURVE_COLUMNS
from analysis.stats.stopping_ard import stopping_rows
from analysis.store import provenance, write_json, write_table

STUDY_START = date(2025, 9, 1)
PREFIX = "PACER-"
FREE_TEXT = "moved away SECRETFREETEXT"
AE_FREE_TEXT = "bacteremia SECRETAETEXT"
MONTH = 30.4375


@dataclass
class Spec:
    """One participant: enrollment (study day of the trial calendar), infusion and outcomes."""

    number: int
    enrolled_day: int
    infused_days_before_cut: float | None  # None = not infused
    blasts: float = 50.0
    crs: int = 0
    penn: int = 0
    icans: int = 0
    death: tuple[float, str] | None = None  # (study day, cause)
    withdrawn_day: float | None = None
    response: str = "CR"
    mrd: float = 0.001
    escalated: bool = False
    toci: bool = False
    steroids: bool = False

    @property
    def pid(self) -> str:
        return f"{PREFIX}{self.number:03d}"


TYPICAL = [
    Spec(1, 0, 300, blasts=80, crs=2, penn=3, icans=1, toci=True),
    Spec(2, 10, 280, blasts=10, crs=1, penn=1),
    Spec(3, 20, 250, blasts=90, crs=5, penn=5, icans=3, death=(9.5, "crs"), toci=True, steroids=True, escalated=True),
    Spec(4, 40, 200, blasts=60, crs=4, penn=4, icans=4, toci=True, steroids=True, escalated=True),
    Spec(5, 60, 150, blasts=20, crs=0, penn=0, response="NR", mrd=5.0),
    Spec(6, 80, 120, blasts=45, crs=3, penn=4, icans=0, death=(100.0, "disease"), response="CR", mrd=0.5),
    Spec(7, 100, 90, blasts=8, crs=1, penn=1),
    Spec(8, 120, 45, blasts=70, crs=2, penn=2, icans=2),
    Spec(9, 140, 20, blasts=30, crs=1, penn=1),
    Spec(10, 150, 5, blasts=5, crs=0, penn=0),
    Spec(11, 160, None, blasts=40),
    Spec(12, 165, None, blasts=12, withdrawn_day=-3),
]
"""Ten infused (eight CRS-evaluable, seven efficacy-evaluable), one awaiting infusion, one withdrawn before it."""

NONE_INFUSED = [Spec(1, 0, None, blasts=50), Spec(2, 3, None, blasts=10)]

ALL_12_MONTHS = [
    Spec(1, 0, 420, blasts=80, crs=3, penn=4, icans=1, toci=True),
    Spec(2, 5, 410, blasts=10, crs=1, penn=1),
    Spec(3, 10, 400, blasts=60, crs=2, penn=2, death=(150.0, "disease"), response="CR"),
    Spec(4, 15, 390, blasts=20, crs=0, penn=0),
]


def cut_date_for(specs: list[Spec]) -> date:
    return STUDY_START + timedelta(days=max(s.enrolled_day for s in specs) + 10)


SKIPPED_NOTE = (
    "prwcc_schultz_2022 × crs_grade3plus: not compared — confirmed: false (key figures not verified in the "
    "cited source)."
)
UNKNOWN_SCALE_NOTE = (
    "cibmtr_john_2025 × crs_any: not compared — unknown CRS grading scale (crs_scale: null); crs_any_n is null "
    "(not reported)."
)
KADAUKE_TRIGGER = "tocilizumab at two readings ≥ 38.5 °C within 24 h (CHOP)"
COMPARISONS = [
    # cohort, endpoint, trial group, trial variable, historical n, N, burden matched, overlapping, primary, trigger
    ("eliana_2018", "crs_grade3plus", "all", "crs_penn_grade3plus", 35, 75, True, True, True, None),
    ("eliana_2018", "crs_any", "all", "crs_any", 58, 75, True, True, False, None),
    ("eliana_n79_in_pasquini2020", "crs_grade3plus", "all", "crs_penn_grade3plus", 38, 79, True, True, False, None),
    ("cibmtr_pasquini_2020", "crs_grade3plus", "all", "crs_grade3plus", 41, 255, False, False, False, None),
    ("kadauke_pt_htb", "crs_any", "high_burden", "crs_any", 15, 15, True, False, False, KADAUKE_TRIGGER),
]
"""The historical comparisons of the synthetic ARD and how each is made (as the analyze step plans them)."""
SCALES = {"cibmtr_pasquini_2020": "astct"}
COHORT_NAMES = {
    "eliana_2018": "ELIANA (primary report)",
    "eliana_n79_in_pasquini2020": "ELIANA (later cut-off, n=79, as tabulated by CIBMTR)",
    "cibmtr_pasquini_2020": "CIBMTR real-world (ALL)",
    "kadauke_pt_htb": "Kadauke pre-emptive tocilizumab, high tumour burden (PT cohort)",
    "prwcc_schultz_2022": "Pediatric Real-World CAR Consortium (disease-burden report)",
}
"""The reference's ``name`` of each cohort of the synthetic comparison plan."""
PUBLISHED = [
    # cohort order, id, name, figure, estimate %, CI (%), definition
    (1, "eliana_2018", "ELIANA (primary report)", "orr_3mo", 81.0, (71.0, 89.0), None),
    (1, "eliana_2018", "ELIANA (primary report)", "os_12mo", 76.0, (63.0, 86.0), None),
    (1, "eliana_2018", "ELIANA (primary report)", "efs_12mo", 50.0, (35.0, 64.0), "infusion to no response"),
    (6, "cibmtr_john_2025", "CIBMTR real-world update (ALL)", "cr_cri_best_response_pct", 86.0, None, None),
    (6, "cibmtr_john_2025", "CIBMTR real-world update (ALL)", "os_12mo", 79.4, None, None),
]
"""Published figures of confirmed cohorts, as ``published_outcomes.parquet`` holds them."""


def build_output_folder(
    folder: Path, specs: list[Spec] = TYPICAL, plan: AnalysisPlan | None = None, notes: list[str] | None = None
) -> Path:
    """Write every table of outputs.md, ard.parquet and manifest.json into ``folder``.

    ``notes``: the analyze step's ``comparison_notes.json`` (skipped comparisons); by default two of the
    demo's notes.
    """
    plan = plan or AnalysisPlan()
    cut = cut_date_for(specs)
    cut_instant = datetime.combine(cut + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    frames = _tables(specs, cut_instant, plan)
    frames["ard"] = _ard(frames, specs, plan)
    frames["comparison_plan"] = _comparison_plan()
    frames["published_outcomes"] = pd.DataFrame(
        [
            {
                "cohort_order": order,
                "cohort_id": cohort_id,
                "cohort_name": name,
                "variable": variable,
                "estimate_pct": estimate,
                "ci_low_pct": ci[0] if ci else math.nan,
                "ci_high_pct": ci[1] if ci else math.nan,
                "definition": definition,
                "note": None,
            }
            for order, cohort_id, name, variable, estimate, ci, definition in PUBLISHED
        ]
    ).astype(PUBLISHED_COLUMNS)
    frames["km_curves"], frames["cif_curves"] = _curves(frames["adtte"], specs)
    record = provenance(
        {"participants.csv": "a" * 64, "events.csv": "b" * 64, "manifest.json": "c" * 64},
        cut.isoformat(),
        plan.canonical_json(),
        plan.settings_hash(),
    )
    written = {}
    for name, frame in frames.items():
        path = folder / f"{name}.parquet"
        written[path.name] = {"sha256": write_table(frame, path, record), "rows": len(frame)}
    manifest = {
        "files": written,
        "steps": {
            "ingest": {
                "data_cut": cut.isoformat(),
                "cut_instant": cut_instant.isoformat(),
                "timezone": "America/Chicago",
                "exported_at": (cut_instant + timedelta(hours=6)).isoformat(),
                "inputs": {"participants.csv": {"sha256": "a" * 64}, "events.csv": {"sha256": "b" * 64}},
                "run_time": "2026-01-02T03:04:05+00:00",
            }
        },
    }
    skipped = [SKIPPED_NOTE, UNKNOWN_SCALE_NOTE] if notes is None else notes
    write_json({"skipped_comparisons": skipped}, folder / "comparison_notes.json")
    write_json(manifest, folder / "manifest.json")
    return folder


def _infusion(spec: Spec, cut_instant: datetime) -> datetime | None:
    if spec.infused_days_before_cut is None:
        return None
    return cut_instant - timedelta(days=spec.infused_days_before_cut)


def _tables(specs: list[Spec], cut_instant: datetime, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    part, ev, crs, tl, icans, ana, adsl, adtte = [], [], [], [], [], [], [], []
    line = 2
    for s in specs:
        inf = _infusion(s, cut_instant)
        infused = inf is not None
        cut_h = (cut_instant - inf).total_seconds() / 3600 if infused else math.nan
        crs_eval = infused and (cut_h >= 30 * 24 or (s.death is not None and s.death[0] < 30))
        eff_eval = infused and (cut_h >= 42 * 24 or (s.death is not None and s.death[0] < 42))
        part.append(
            {
                "participant_id": s.pid,
                "site_id": "S1",
                "age_years": 8.0 + s.number,
                "sex": "F" if s.number % 2 else "M",
                "weight_kg": 30.0 + s.number,
                "enrollment_date": STUDY_START + timedelta(days=s.enrolled_day),
                "infusion_datetime": pd.Timestamp(inf) if infused else pd.NaT,
                "marrow_blast_pct": s.blasts,
                "prior_hsct": s.number % 3 == 0,
                "cns_status": "CNS1",
                "car_t_dose_per_kg": 2.0e6,
                "infused": infused,
                "age_at_infusion_years": 8.1 + s.number if infused else math.nan,
                "cut_hours": cut_h,
                "data_end_hours": cut_h,
                "safety": infused,
                "crs_evaluable": crs_eval,
                "efficacy_evaluable": eff_eval,
            }
        )

        def event(kind, hours, value=None, unit=None, detail=None, detail_text=None, end=None):
            nonlocal line
            base = inf if infused else cut_instant - timedelta(days=2)
            ev.append(
                {
                    "participant_id": s.pid,
                    "line": line,
                    "event_type": kind,
                    "event_time": pd.Timestamp(base + timedelta(hours=hours)),
                    "end_time": pd.Timestamp(base + timedelta(hours=end)) if end is not None else pd.NaT,
                    "hours_from_infusion": hours if infused else math.nan,
                    "end_hours_from_infusion": end if (end is not None and infused) else math.nan,
                    "value": value,
                    "unit": unit,
                    "detail": detail,
                    "detail_text": detail_text,
                    "time_flag": None,
                }
            )
            line += 1

        if s.withdrawn_day is not None:
            event("withdrawal", s.withdrawn_day * 24, detail=FREE_TEXT)
        if not infused:
            continue
        follow_days = min(s.infused_days_before_cut, s.death[0] if s.death else math.inf)
        onset = 30.0 + s.number if s.crs else math.nan
        trigger = onset + 6 if s.crs else math.nan
        first_dose = trigger + 2 + s.number % 3 if s.crs else math.nan
        event("temperature", 2.0, 37.0, "C")
        if s.crs:
            event("temperature", onset, 38.6, "C")
            event("temperature", trigger, 38.9, "C")
            for k in range(4 if s.escalated else 2):
                event("medication", first_dose + k * (6 if s.escalated else 12), 2.5, "mg/kg", "anakinra")
            if s.toci:
                event("medication", onset + 30, 12.0, "mg/kg", "tocilizumab")
            if s.steroids:
                event("medication", onset + 40, 10.0, "mg", "dexamethasone")
            grades = [1, s.crs if s.crs < 5 else 4, 1]
            pgrades = [1, s.penn if s.penn < 5 else 4, 1]
            for k, (g, pg) in enumerate(zip(grades, pgrades)):
                tl.append(
                    {
                        "participant_id": s.pid,
                        "start_hours": onset + 24 * k,
                        "end_hours": onset + 24 * (k + 1),
                        "episode": 1,
                        "crs_grade": g,
                        "crs_grade_penn": pg,
                        "fever": k == 0,
                        "hypotension_level": max(0, g - 1) if g < 4 else 4,
                        "hypoxia_level": 0,
                    }
                )
        if s.death:
            event("death", s.death[0] * 24, detail=s.death[1])
        event("last_contact", follow_days * 24 - 1)
        if s.number in (1, 4):
            event(
                "adverse_event",
                100.0 + s.number,
                3,
                None,
                "infection",
                AE_FREE_TEXT if s.number == 1 else None,
                end=200.0 + s.number,
            )
        if s.number == 4:
            event("adverse_event", 35 * 24.0, 4, None, "neutropenia", None)
            event("adverse_event", 60.0, 3, None, "iec_hs", None, end=240.0)
        crs.append(
            {
                "participant_id": s.pid,
                "crs_any": bool(s.crs),
                "crs_onset_hours": onset,
                "crs_max_grade": s.crs,
                "crs_max_grade_penn": s.penn,
                "crs_episodes": 1 if s.crs else 0,
                "crs_duration_hours": 72.0 if s.crs else math.nan,
                "crs_open": s.number == 8,
                "crs_grade_reported_max": (s.crs + 1 if s.number == 2 else s.crs) if s.crs else pd.NA,
                "first_fever_hours": onset,
            }
        )
        icans.append(
            {
                "participant_id": s.pid,
                "icans_any": s.icans > 0,
                "icans_onset_hours": 100.0 + s.number if s.icans else math.nan,
                "icans_max_grade": s.icans,
                "icans_assessed": s.number not in (7, 10),
            }
        )
        ana.append(
            {
                "participant_id": s.pid,
                "first_fever_hours": onset,
                "trigger_hours": trigger,
                "first_anakinra_hours": first_dose,
                "fever_to_anakinra_hours": first_dose - onset,
                "trigger_to_anakinra_hours": first_dose - trigger,
                "anakinra_doses": (4 if s.escalated else 2) if s.crs else 0,
                "anakinra_escalated": s.escalated,
                "tocilizumab_given": s.toci,
                "corticosteroids_given": s.steroids,
                "deviation": "first dose more than 6 h after the trigger (7.0 h)" if s.number == 4 else None,
            }
        )
        trd = s.death is not None and (
            (s.death[1] in plan.trm_causes and s.death[0] <= 100) or (s.death[1] != "disease" and s.death[0] <= 30)
        )
        adsl.append(
            {
                "participant_id": s.pid,
                "age_years": 8.0 + s.number,
                "sex": "F" if s.number % 2 else "M",
                "marrow_blast_pct": s.blasts,
                "high_burden": s.blasts >= 40,
                "prior_hsct": s.number % 3 == 0,
                "infused": True,
                "safety": True,
                "crs_evaluable": crs_eval,
                "efficacy_evaluable": eff_eval,
                "response_day28": s.response if eff_eval else None,
                "mrd_negative_day28": (s.mrd < 0.01) if eff_eval else pd.NA,
                "best_response_3mo": s.response if eff_eval else None,
                "death": s.death is not None,
                "death_cause": s.death[1] if s.death else None,
                "death_days": s.death[0] if s.death else math.nan,
                "treatment_related_death": trd,
                "last_known_alive_days": follow_days,
                "withdrawn": False,
                "completed_12_months": follow_days >= 365.25,
                "ongoing_at_cut": s.death is None and follow_days < 365.25,
            }
        )
        horizon = min(follow_days, 365.25)
        dead = s.death is not None and s.death[0] <= 365.25
        for param in ("OS", "EFS", "RFS", "CIR"):
            if param == "RFS" and s.response != "CR":
                continue
            event_flag = dead or (param != "OS" and s.response == "NR")
            aval = 28.0 if (param == "EFS" and s.response == "NR") else horizon
            code = 0 if not event_flag else (2 if (param == "CIR" and dead) else 1)
            adtte.append(
                {
                    "participant_id": s.pid,
                    "paramcd": param,
                    "aval": aval,
                    "cnsr": 0 if event_flag else (2 if horizon >= 365.25 else 1),
                    "evntdesc": "death" if dead else ("treatment failure" if event_flag else None),
                    "cnsdtdsc": None if event_flag else "last known alive",
                    "event_code": code if param == "CIR" else pd.NA,
                }
            )
    for s in specs:  # enrolled but not infused: adsl rows
        if s.infused_days_before_cut is None:
            adsl.append(
                {
                    "participant_id": s.pid,
                    "age_years": 8.0 + s.number,
                    "sex": "F" if s.number % 2 else "M",
                    "marrow_blast_pct": s.blasts,
                    "high_burden": s.blasts >= 40,
                    "prior_hsct": s.number % 3 == 0,
                    "infused": False,
                    "safety": False,
                    "crs_evaluable": False,
                    "efficacy_evaluable": False,
                    "response_day28": None,
                    "mrd_negative_day28": pd.NA,
                    "best_response_3mo": None,
                    "death": False,
                    "death_cause": None,
                    "death_days": math.nan,
                    "treatment_related_death": False,
                    "last_known_alive_days": math.nan,
                    "withdrawn": s.withdrawn_day is not None,
                    "completed_12_months": False,
                    "ongoing_at_cut": s.withdrawn_day is None,
                }
            )
    queries = (
        [
            {
                "participant_id": f"{PREFIX}002",
                "kind": "crs_grade_discrepancy",
                "detail": "derived ASTCT max grade 1, reported 2",
                "source": "reconciliation",
            },
            {
                "participant_id": f"{PREFIX}008",
                "kind": "open_interval",
                "detail": "oxygen interval without end_time",
                "source": "crs",
            },
            {
                "participant_id": f"{PREFIX}004",
                "kind": "unobserved_gap",
                "detail": "no temperature for 14.0 h",
                "source": "crs",
            },
        ]
        if any(s.infused_days_before_cut for s in specs)
        else []
    )
    quarantine = [{"file": "events.csv", "line": 99, "column": "value", "value": "abc", "reason": "not a number"}]

    def frame(rows, columns):
        return (
            pd.DataFrame(rows, columns=columns)
            if rows
            else pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
        )

    out = {
        "participants": pd.DataFrame(part),
        "events": frame(ev, EVENT_COLUMNS),
        "quarantine": pd.DataFrame(quarantine),
        "crs": frame(crs, CRS_COLUMNS),
        "crs_timeline": frame(tl, TIMELINE_COLUMNS),
        "icans": frame(icans, ICANS_COLUMNS),
        "anakinra": frame(ana, ANAKINRA_COLUMNS),
        "ae": _ae(ev),
        "adsl": frame(adsl, ADSL_COLUMNS).sort_values("participant_id"),
        "adtte": frame(adtte, ADTTE_COLUMNS),
        "queries": frame(queries, ["participant_id", "kind", "detail", "source"]),
    }
    return {name: _typed(name, f.reset_index(drop=True)) for name, f in out.items()}


EVENT_COLUMNS = [
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
CRS_COLUMNS = [
    "participant_id",
    "crs_any",
    "crs_onset_hours",
    "crs_max_grade",
    "crs_max_grade_penn",
    "crs_episodes",
    "crs_duration_hours",
    "crs_open",
    "crs_grade_reported_max",
    "first_fever_hours",
]
TIMELINE_COLUMNS = [
    "participant_id",
    "start_hours",
    "end_hours",
    "episode",
    "crs_grade",
    "crs_grade_penn",
    "fever",
    "hypotension_level",
    "hypoxia_level",
]
ICANS_COLUMNS = ["participant_id", "icans_any", "icans_onset_hours", "icans_max_grade", "icans_assessed"]
ANAKINRA_COLUMNS = [
    "participant_id",
    "first_fever_hours",
    "trigger_hours",
    "first_anakinra_hours",
    "fever_to_anakinra_hours",
    "trigger_to_anakinra_hours",
    "anakinra_doses",
    "anakinra_escalated",
    "tocilizumab_given",
    "corticosteroids_given",
    "deviation",
]
ADSL_COLUMNS = [
    "participant_id",
    "age_years",
    "sex",
    "marrow_blast_pct",
    "high_burden",
    "prior_hsct",
    "infused",
    "safety",
    "crs_evaluable",
    "efficacy_evaluable",
    "response_day28",
    "mrd_negative_day28",
    "best_response_3mo",
    "death",
    "death_cause",
    "death_days",
    "treatment_related_death",
    "last_known_alive_days",
    "withdrawn",
    "completed_12_months",
    "ongoing_at_cut",
]
ADTTE_COLUMNS = ["participant_id", "paramcd", "aval", "cnsr", "evntdesc", "cnsdtdsc", "event_code"]

DTYPES = {
    "participants": {
        "participant_id": "string",
        "enrollment_date": "datetime64[s]",
        "infusion_datetime": "datetime64[us, UTC]",
    },
    "events": {
        "participant_id": "string",
        "line": "int64",
        "event_type": "string",
        "event_time": "datetime64[us, UTC]",
        "end_time": "datetime64[us, UTC]",
        "hours_from_infusion": "float64",
        "end_hours_from_infusion": "float64",
        "value": "float64",
        "unit": "string",
        "detail": "string",
        "detail_text": "string",
        "time_flag": "string",
    },
    "crs": {
        "participant_id": "string",
        "crs_any": "boolean",
        "crs_onset_hours": "float64",
        "crs_max_grade": "Int64",
        "crs_max_grade_penn": "Int64",
        "crs_episodes": "Int64",
        "crs_duration_hours": "float64",
        "crs_open": "boolean",
        "crs_grade_reported_max": "Int64",
        "first_fever_hours": "float64",
    },
    "crs_timeline": {
        "participant_id": "string",
        "start_hours": "float64",
        "end_hours": "float64",
        "episode": "Int64",
        "crs_grade": "Int64",
        "crs_grade_penn": "Int64",
        "fever": "boolean",
        "hypotension_level": "Int64",
        "hypoxia_level": "Int64",
    },
    "icans": {
        "participant_id": "string",
        "icans_any": "boolean",
        "icans_onset_hours": "float64",
        "icans_max_grade": "Int64",
        "icans_assessed": "boolean",
    },
    "anakinra": {
        "participant_id": "string",
        "first_fever_hours": "float64",
        "trigger_hours": "float64",
        "first_anakinra_hours": "float64",
        "fever_to_anakinra_hours": "float64",
        "trigger_to_anakinra_hours": "float64",
        "anakinra_doses": "Int64",
        "anakinra_escalated": "boolean",
        "tocilizumab_given": "boolean",
        "corticosteroids_given": "boolean",
        "deviation": "string",
    },
    "adsl": {
        "participant_id": "string",
        "age_years": "float64",
        "sex": "string",
        "marrow_blast_pct": "float64",
        "high_burden": "boolean",
        "prior_hsct": "boolean",
        "infused": "boolean",
        "safety": "boolean",
        "crs_evaluable": "boolean",
        "efficacy_evaluable": "boolean",
        "response_day28": "string",
        "mrd_negative_day28": "boolean",
        "best_response_3mo": "string",
        "death": "boolean",
        "death_cause": "string",
        "death_days": "float64",
        "treatment_related_death": "boolean",
        "last_known_alive_days": "float64",
        "withdrawn": "boolean",
        "completed_12_months": "boolean",
        "ongoing_at_cut": "boolean",
    },
    "adtte": {
        "participant_id": "string",
        "paramcd": "string",
        "aval": "float64",
        "cnsr": "Int64",
        "evntdesc": "string",
        "cnsdtdsc": "string",
        "event_code": "Int64",
    },
    "queries": {"participant_id": "string", "kind": "string", "detail": "string", "source": "string"},
}


def _typed(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    types = DTYPES.get(name, {})
    for column, dtype in types.items():
        if column in frame.columns:
            if dtype.startswith("datetime64") and "UTC" in dtype:
                frame[column] = pd.to_datetime(frame[column], utc=True).astype(dtype)
            elif dtype.startswith("datetime64"):
                frame[column] = pd.to_datetime(frame[column]).dt.date
            else:
                frame[column] = frame[column].astype(dtype)
    return frame


def _ae(events: list[dict]) -> pd.DataFrame:
    rows = [
        {
            "participant_id": e["participant_id"],
            "term": e["detail"],
            "term_text": e["detail_text"],
            "grade": int(e["value"]),
            "onset_hours": e["hours_from_infusion"],
            "resolved_hours": e["end_hours_from_infusion"],
        }
        for e in events
        if e["event_type"] == "adverse_event"
    ]
    columns = ["participant_id", "term", "term_text", "grade", "onset_hours", "resolved_hours"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["outcome"] = np.where(
        frame["grade"] == 5, "fatal", np.where(frame["resolved_hours"].notna(), "resolved", "ongoing")
    )
    return frame.astype(
        {
            "participant_id": "string",
            "term": "string",
            "term_text": "string",
            "grade": "int64",
            "onset_hours": "float64",
            "resolved_hours": "float64",
            "outcome": "string",
        }
    )


def _cp(n: int, N: int) -> tuple[float, float]:
    if N == 0:
        return math.nan, math.nan
    low = 0.0 if n == 0 else float(beta.ppf(0.025, n, N - n + 1))
    high = 1.0 if n == N else float(beta.ppf(0.975, n + 1, N - n))
    return low, high


KM_VALUES = {"OS": (0.9111, 0.8222, 0.7321), "EFS": (0.8111, 0.7222, 0.6121), "RFS": (0.8811, 0.7722, 0.6621)}
"""The ARD's Kaplan–Meier estimates at 3, 6 and 12 months, per parameter."""
CIF_VALUES = (0.0511, 0.1022, 0.2033)
"""The ARD's cumulative incidence of relapse at 3, 6 and 12 months."""


def _ard(frames: dict[str, pd.DataFrame], specs: list[Spec], plan: AnalysisPlan) -> pd.DataFrame:
    rows: list[tuple] = []

    def add(analysis, group, variable, stat, value, label="", method=""):
        rows.append((analysis, group, variable, stat, method, float(value), label))

    def rate(analysis, group, variable, n, N):
        if N == 0:
            for stat in ("n", "N"):
                add(analysis, group, variable, stat, 0, "not estimable (N = 0)")
            for stat in ("p", "ci_low", "ci_high"):
                add(analysis, group, variable, stat, math.nan, "not estimable (N = 0)")
            return
        low, high = _cp(n, N)
        for stat, value in (("n", n), ("N", N), ("p", n / N), ("ci_low", low), ("ci_high", high)):
            add(analysis, group, variable, stat, value)

    crs = frames["crs"].merge(frames["adsl"][["participant_id", "crs_evaluable", "high_burden"]], on="participant_id")
    crs = crs.merge(frames["icans"], on="participant_id")
    evaluable = crs[crs["crs_evaluable"].astype(bool)]
    for group, sub in (
        ("all", evaluable),
        ("high_burden", evaluable[evaluable["high_burden"].astype(bool)]),
        ("low_burden", evaluable[~evaluable["high_burden"].astype(bool)]),
    ):
        g, pg, ig = (
            sub["crs_max_grade"].astype(int),
            sub["crs_max_grade_penn"].astype(int),
            sub["icans_max_grade"].astype(int),
        )
        for variable, count in (
            ("crs_any", int((g > 0).sum())),
            ("crs_grade3plus", int((g >= 3).sum())),
            ("crs_grade4plus", int((g >= 4).sum())),
            ("crs_penn_grade3plus", int((pg >= 3).sum())),
            ("crs_penn_grade4plus", int((pg >= 4).sum())),
            ("icans_any", int((ig > 0).sum())),
            ("icans_grade3plus", int((ig >= 3).sum())),
        ):
            rate("crs_rate", group, variable, count, len(sub))
        assessed = sub[sub["icans_assessed"].astype(bool)]
        rate("icans_assessed", group, "not_assessed", len(sub) - len(assessed), len(sub))
        rate(
            "icans_assessed",
            group,
            "icans_any",
            int((assessed["icans_max_grade"].astype(int) > 0).sum()),
            len(assessed),
        )
        rate(
            "icans_assessed",
            group,
            "icans_grade3plus",
            int((assessed["icans_max_grade"].astype(int) >= 3).sum()),
            len(assessed),
        )
    trial = {
        (g, v): (_lookup(rows, g, v, "n"), _lookup(rows, g, v, "N")) for (a, g, v, *_rest) in rows if a == "crs_rate"
    }
    for k, (cohort, endpoint, group, variable, hn, hN, matched, *_how) in enumerate(COMPARISONS):
        n, N = int(trial[(group, variable)][0]), int(trial[(group, variable)][1])
        d = "descriptive"
        add("historical_comparison", cohort, endpoint, "trial_n", n, "", d)
        add("historical_comparison", cohort, endpoint, "trial_N", N, "", d)
        add("historical_comparison", cohort, endpoint, "trial_p", n / N if N else math.nan, "", d)
        add("historical_comparison", cohort, endpoint, "historical_n", hn, "", d)
        add("historical_comparison", cohort, endpoint, "historical_N", hN, "", d)
        add("historical_comparison", cohort, endpoint, "historical_p", hn / hN, "", d)
        add("historical_comparison", cohort, endpoint, "burden_matched", int(matched), "", d)
        if N == 0:
            for stat, method in (
                ("p_value", "binom_exact_1s"),
                ("p_value", "fisher_exact"),
                ("rd", "newcombe_hybrid"),
                ("rd_ci_low", "newcombe_hybrid"),
                ("rd_ci_high", "newcombe_hybrid"),
                ("rr", "katz_log"),
                ("rr_ci_low", "katz_log"),
                ("rr_ci_high", "katz_log"),
                ("p_value", "katz_log"),
                ("prob_lower", "beta_binomial"),
            ):
                add("historical_comparison", cohort, endpoint, stat, math.nan, "not estimable (N = 0)", method)
            continue
        add("historical_comparison", cohort, endpoint, "p_value", 0.0123 + k / 100, "", "binom_exact_1s")
        add("historical_comparison", cohort, endpoint, "p_value", 0.2345 + k / 100, "", "fisher_exact")
        add("historical_comparison", cohort, endpoint, "rd", -0.1111 - k / 100, "", "newcombe_hybrid")
        add("historical_comparison", cohort, endpoint, "rd_ci_low", -0.4222, "", "newcombe_hybrid")
        add("historical_comparison", cohort, endpoint, "rd_ci_high", 0.2333, "", "newcombe_hybrid")
        add("historical_comparison", cohort, endpoint, "rr", 0.7654 + k / 100, "", "katz_log")
        add("historical_comparison", cohort, endpoint, "rr_ci_low", 0.3456, "", "katz_log")
        add("historical_comparison", cohort, endpoint, "rr_ci_high", 1.6789, "", "katz_log")
        add("historical_comparison", cohort, endpoint, "p_value", 0.4567, "", "katz_log")
        add("historical_comparison", cohort, endpoint, "prob_lower", 0.8765, "", "beta_binomial")
        degenerate = hn == hN
        reason = f"not informative: the historical rate is 100 % ({hn}/{hN}); taken as fixed, it gives p = 0 …"
        add(
            "historical_comparison",
            cohort,
            endpoint,
            "informative",
            0 if degenerate else 1,
            reason if degenerate else "",
            "binom_exact_1s",
        )
    adsl = frames["adsl"]
    for flow_row in participant_flow_rows(adsl):
        add(
            flow_row.analysis,
            flow_row.group,
            flow_row.variable,
            flow_row.stat_name,
            flow_row.stat_value,
            flow_row.stat_label,
        )
    eff = adsl[adsl["efficacy_evaluable"].astype(bool)]
    cr = eff["response_day28"].isin(["CR", "CRi"])
    rate("response", "all", "cr_cri_day28", int(cr.sum()), len(eff))
    rate(
        "response",
        "all",
        "mrd_negative_day28",
        int(eff["mrd_negative_day28"].fillna(False).astype(bool).sum()),
        len(eff),
    )
    rate("response", "all", "best_cr_cri_3mo", int(eff["best_response_3mo"].isin(["CR", "CRi"]).sum()), len(eff))
    infused = int(adsl["infused"].astype(bool).sum())
    longest = max([s.infused_days_before_cut or 0 for s in specs]) / MONTH
    for param, values in KM_VALUES.items():
        for month, surv in zip((3, 6, 12), values):
            beyond = infused == 0 or month > longest
            add("km", param, f"month_{month}", "surv", math.nan if beyond else surv)
            add("km", param, f"month_{month}", "ci_low", math.nan if beyond else surv - 0.2)
            add("km", param, f"month_{month}", "ci_high", math.nan if beyond else min(1.0, surv + 0.05))
            add("km", param, f"month_{month}", "n_risk", 0 if beyond else max(infused - month // 3 - 1, 1))
    for month, inc in zip((3, 6, 12), CIF_VALUES):
        beyond = infused == 0 or month > longest
        add("cif", "CIR", f"month_{month}", "cif", math.nan if beyond else inc)
        add("cif", "CIR", f"month_{month}", "ci_low", math.nan if beyond else inc / 3)
        add("cif", "CIR", f"month_{month}", "ci_high", math.nan if beyond else inc * 2)
    add("follow_up", "all", "months", "median", math.nan if infused == 0 else 6.4321)
    ana = frames["anakinra"].dropna(subset=["first_anakinra_hours"])
    for variable, column in (("hours", "fever_to_anakinra_hours"), ("trigger_hours", "trigger_to_anakinra_hours")):
        values = ana[column].astype(float).to_numpy()
        if values.size:
            q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
            stats = {"n": values.size, "median": med, "q1": q1, "q3": q3, "min": values.min(), "max": values.max()}
        else:
            stats = {"n": 0, "median": math.nan, "q1": math.nan, "q3": math.nan, "min": math.nan, "max": math.nan}
        for stat, value in stats.items():
            add("fever_to_anakinra", "all", variable, stat, value)
    # the stopping rules' rows, as the analyze step computes them
    endpoints = pd.DataFrame(
        {"participant_id": evaluable["participant_id"], "crs_grade4plus": evaluable["crs_max_grade"].astype(int) >= 4}
    )
    for r in stopping_rows(endpoints, adsl, plan.stopping):
        add(r.analysis, r.group, r.variable, r.stat_name, r.stat_value, r.stat_label, r.method)
    frame = pd.DataFrame(
        rows, columns=["analysis", "group", "variable", "stat_name", "method", "stat_value", "stat_label"]
    )
    frame = frame.sort_values(["analysis", "group", "variable", "stat_name", "method"], kind="mergesort").reset_index(
        drop=True
    )
    for column in ("analysis", "group", "variable", "stat_name", "method", "stat_label"):
        frame[column] = frame[column].astype("string")
    assert not frame.duplicated(["analysis", "group", "variable", "stat_name", "method"]).any()
    return frame


def _comparison_plan() -> pd.DataFrame:
    """The compared rows of :data:`COMPARISONS` and one row not compared, with the exact CI of each published rate."""
    rows = []
    for cohort, endpoint, group, variable, hn, hN, matched, overlapping, primary, trigger in COMPARISONS:
        low, high = _cp(hn, hN)
        rows.append(
            {
                "cohort_id": cohort,
                "endpoint": endpoint,
                "cohort_name": COHORT_NAMES[cohort],
                "compared": True,
                "role": "primary" if primary else "supportive",
                "scale": SCALES.get(cohort, "penn"),
                "trial_group": group,
                "trial_variable": variable,
                "burden_matched": matched,
                "overlapping": overlapping,
                "fever_trigger": trigger,
                "historical_n": hn,
                "historical_N": hN,
                "historical_ci_low": low,
                "historical_ci_high": high,
                "notes": None,
                "not_compared_reasons": None,
            }
        )
    rows.append(
        {
            "cohort_id": "prwcc_schultz_2022",
            "endpoint": "crs_grade3plus",
            "cohort_name": COHORT_NAMES["prwcc_schultz_2022"],
            "compared": False,
            "overlapping": False,
            "not_compared_reasons": "confirmed: false (key figures not verified in the cited source)",
        }
    )
    frame = pd.DataFrame(rows, columns=list(PLAN_COLUMNS)).astype(PLAN_COLUMNS)
    return frame.sort_values(["cohort_id", "endpoint"]).reset_index(drop=True)


def _curves(adtte: pd.DataFrame, specs: list[Spec]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step curves through the ARD's values at 3, 6 and 12 months (``_ard``), up to the longest follow-up.

    Each parameter with a record starts at its origin (time 0, every record at risk, limits 1 and 1); the
    limits after it are the ARD's (``_ard``: estimate − 0.2 and estimate + 0.05); nothing is estimated here.
    """
    longest = max([s.infused_days_before_cut or 0 for s in specs]) / MONTH
    months = [m for m in (3, 6, 12) if m <= longest]
    km_rows, cif_rows = [], []
    for param, values in KM_VALUES.items():
        at_risk = int((adtte["paramcd"] == param).sum())
        if at_risk == 0:
            continue
        points = [(0.0, 1.0), *[(m, values[k]) for k, m in enumerate((3, 6, 12)) if m in months]]
        km_rows += [
            {
                "parameter": param,
                "step": step,
                "time_days": month * MONTH,
                "time_months": month,
                "surv": surv,
                "ci_low": 1.0 if step == 0 else surv - 0.2,
                "ci_high": 1.0 if step == 0 else min(1.0, surv + 0.05),
                "n_risk": at_risk if step == 0 else max(at_risk - step, 1),
                "n_event": 0 if step == 0 else 1,
                "n_censor": 0,
            }
            for step, (month, surv) in enumerate(points)
        ]
    if (adtte["paramcd"] == "CIR").any():
        points = [(0.0, 0.0), *[(m, CIF_VALUES[k]) for k, m in enumerate((3, 6, 12)) if m in months]]
        cif_rows = [
            {"parameter": "CIR", "step": step, "time_days": month * MONTH, "time_months": month, "cif": value}
            for step, (month, value) in enumerate(points)
        ]
    km = pd.DataFrame(km_rows, columns=list(KM_CURVE_COLUMNS)).astype(KM_CURVE_COLUMNS)
    return km, pd.DataFrame(cif_rows, columns=list(CIF_CURVE_COLUMNS)).astype(CIF_CURVE_COLUMNS)


def _lookup(rows: list[tuple], group: str, variable: str, stat: str) -> float:
    for r in rows:
        if r[0] == "crs_rate" and r[1] == group and r[2] == variable and r[3] == stat:
            return r[5]
    raise KeyError((group, variable, stat))
