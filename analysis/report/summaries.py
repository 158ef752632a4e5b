"""Descriptive summaries the ARD does not carry (counts, distributions, listings): pure pandas.

Every function takes the stored tables and returns a small display frame (strings ready to print)
or a dict of counts. Times are study days (hours / 24 since infusion), never calendar dates per
participant; the only calendar information is enrollment counted by month (aggregate).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.export.vocabulary import CORTICOSTEROIDS as STEROIDS
from analysis.report import fmt, labels
from analysis.report.fmt import DASH
from analysis.units import HOURS_PER_DAY

CYTOPENIAS = ("neutropenia", "thrombocytopenia", "anemia", "febrile_neutropenia")
BURDEN_GROUPS = (("all", "All"), ("high_burden", "High burden"), ("low_burden", "Low burden"))


def flag(frame: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column with missing values read as False (absent column: all False)."""
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    return frame[column].astype("boolean").fillna(False).astype(bool)


def by_burden(frame: pd.DataFrame, adsl: pd.DataFrame, analysis_set: str = "crs_evaluable") -> dict[str, pd.DataFrame]:
    """``frame`` restricted to ``analysis_set`` and split into all / high / low burden (grading.md, "Burden")."""
    keep = adsl.loc[flag(adsl, analysis_set), ["participant_id", "high_burden"]]
    joined = frame.merge(keep, on="participant_id", how="inner")
    high = flag(joined, "high_burden")
    return {"all": joined, "high_burden": joined[high], "low_burden": joined[~high]}


# ---- open report -------------------------------------------------------------------------------


def enrollment_by_month(participants: pd.DataFrame) -> pd.DataFrame:
    """Participants enrolled per calendar month and cumulatively (an aggregate: no date per participant)."""
    if participants.empty:
        return pd.DataFrame(
            {
                "month": pd.Series(dtype="string"),
                "enrolled": pd.Series(dtype="int64"),
                "cumulative": pd.Series(dtype="int64"),
            }
        )
    months = pd.to_datetime(participants["enrollment_date"]).dt.to_period("M")
    span = pd.period_range(months.min(), months.max(), freq="M")
    counts = months.value_counts().reindex(span, fill_value=0).sort_index()
    return pd.DataFrame(
        {
            "month": [str(p) for p in counts.index],
            "enrolled": counts.to_numpy(dtype="int64"),
            "cumulative": counts.cumsum().to_numpy(dtype="int64"),
        }
    )


def baseline(adsl: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """Baseline characteristics of the enrolled and the infused (aggregate only)."""
    extra = [
        c
        for c in ("weight_kg", "cns_status", "car_t_dose_per_kg")
        if c not in adsl.columns and c in participants.columns
    ]
    data = adsl.merge(participants[["participant_id", *extra]], on="participant_id", how="left") if extra else adsl
    columns = {"Enrolled": data, "Infused": data[flag(data, "infused")]}
    rows: list[dict[str, str]] = []

    def add(label: str, make) -> None:
        rows.append({"Characteristic": label, **{f"{k} (N = {len(v)})": make(v) for k, v in columns.items()}})

    add("Age, years: median (IQR)", lambda d: fmt.median_iqr(d["age_years"]))
    add("Age, years: range", lambda d: _range(d["age_years"]))
    add("Female", lambda d: fmt.n_pct(int((d["sex"] == "F").sum()), len(d)))
    add("Weight, kg: median (IQR)", lambda d: fmt.median_iqr(d["weight_kg"]) if "weight_kg" in d else fmt.DASH)
    add("Marrow blasts, %: median (IQR)", lambda d: fmt.median_iqr(d["marrow_blast_pct"]))
    add("High burden (marrow blasts ≥ threshold)", lambda d: fmt.n_pct(int(flag(d, "high_burden").sum()), len(d)))
    add("Prior allogeneic HSCT", lambda d: fmt.n_pct(int(flag(d, "prior_hsct").sum()), len(d)))
    if "cns_status" in data.columns:
        for level in ("CNS1", "CNS2", "CNS3"):
            add(f"CNS status {level}", lambda d, level=level: fmt.n_pct(int((d["cns_status"] == level).sum()), len(d)))
    return pd.DataFrame(rows)


def _range(values: pd.Series) -> str:
    data = values.dropna().astype(float)
    return fmt.DASH if data.empty else f"{data.min():.1f}–{data.max():.1f}"


def completeness(participants: pd.DataFrame, events: pd.DataFrame, exported_at: str | None) -> pd.DataFrame:
    """Data completeness and timeliness by event type: rows, participants with any, per participant, days to export."""
    n = len(participants)
    export = pd.Timestamp(exported_at) if exported_at else None
    if export is not None and export.tzinfo is None:
        export = export.tz_localize("UTC")
    rows = []
    for kind, group in events.groupby(events["event_type"].astype(str), sort=True):
        per = group.groupby("participant_id").size()
        lag = (
            (export - pd.to_datetime(group["event_time"], utc=True)).dt.total_seconds() / 86400.0
            if export is not None
            else pd.Series(dtype=float)
        )
        rows.append(
            {
                "Event type": kind,
                "Rows": f"{len(group)}",
                "Participants with any": fmt.n_pct(int(per.size), n),
                "Rows per participant: median (range)": f"{per.median():.1f} ({per.min()}–{per.max()})",
                "Days from event to export: median (IQR)": fmt.median_iqr(lag) if export is not None else fmt.DASH,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Event type",
            "Rows",
            "Participants with any",
            "Rows per participant: median (range)",
            "Days from event to export: median (IQR)",
        ],
    )


def counts_by(frame: pd.DataFrame, columns: list[str], label: dict[str, str]) -> pd.DataFrame:
    """Row counts by the given (coded, non-free-text) columns."""
    if frame.empty:
        return pd.DataFrame(
            {**{label[c]: pd.Series(dtype="string") for c in columns}, "Count": pd.Series(dtype="string")}
        )
    out = frame.groupby([frame[c].astype(str) for c in columns]).size().reset_index(name="Count")
    out["Count"] = out["Count"].astype(str)
    return out.rename(columns=label)


# ---- closed report -----------------------------------------------------------------------------


def grade_distribution(table: pd.DataFrame, adsl: pd.DataFrame, column: str, max_grade: int = 5) -> pd.DataFrame:
    """Participants by maximum grade (0 … ``max_grade``) and burden, in the CRS-evaluable set: "n (%)"."""
    groups = by_burden(table, adsl)
    out = pd.DataFrame({"Maximum grade": [str(g) for g in range(max_grade + 1)]})
    for key, title in BURDEN_GROUPS:
        sub = groups[key]
        grades = sub[column].astype("Int64")
        out[f"{title} (N = {len(sub)})"] = [fmt.n_pct(int((grades == g).sum()), len(sub)) for g in range(max_grade + 1)]
    return out


def onset_duration(crs: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """CRS onset and duration (days; median, IQR) and episodes by burden, among the CRS-evaluable with CRS."""
    groups = by_burden(crs, adsl)
    rows = []
    for key, title in BURDEN_GROUPS:
        sub = groups[key]
        with_crs = sub[flag(sub, "crs_any")]
        rows.append(
            {
                "Group": title,
                "With CRS": fmt.n_pct(len(with_crs), len(sub)),
                "Onset, day: median (IQR)": fmt.median_iqr(with_crs["crs_onset_hours"] / HOURS_PER_DAY),
                "Duration, days: median (IQR)": fmt.median_iqr(with_crs["crs_duration_hours"] / HOURS_PER_DAY),
                "More than one episode": f"{int((with_crs['crs_episodes'].astype('Int64') > 1).sum())}",
                "Episode still open (censored)": f"{int(flag(with_crs, 'crs_open').sum())}",
            }
        )
    return pd.DataFrame(rows)


def medication_doses(events: pd.DataFrame, until_day: float = 30.0) -> pd.DataFrame:
    """Anakinra, tocilizumab and corticosteroid administrations in days 0–``until_day``: participant, day, class."""
    meds = events[(events["event_type"].astype(str) == "medication")].copy()
    drug = meds["detail"].astype(str).str.lower()
    meds["drug_class"] = np.select(
        [drug == "anakinra", drug == "tocilizumab", drug.isin(STEROIDS)],
        ["anakinra", "tocilizumab", "corticosteroid"],
        default="",
    )
    meds["day"] = meds["hours_from_infusion"].astype(float) / HOURS_PER_DAY
    keep = (meds["drug_class"] != "") & (meds["day"] >= 0) & (meds["day"] <= until_day)
    return meds.loc[keep, ["participant_id", "day", "drug_class"]].reset_index(drop=True)


def severe_crs_and_anakinra(crs: pd.DataFrame, timeline: pd.DataFrame, anakinra: pd.DataFrame) -> pd.DataFrame:
    """Participants with ASTCT grade ≥ 3 CRS: first severe interval against the trigger and the first anakinra dose."""
    severe = crs[crs["crs_max_grade"].astype("Int64").fillna(0) >= 3][
        ["participant_id", "crs_max_grade", "crs_onset_hours"]
    ]
    high = timeline[timeline["crs_grade"].astype("Int64").fillna(0) >= 3].groupby("participant_id")["start_hours"].min()
    table = severe.merge(
        anakinra[["participant_id", "trigger_hours", "first_anakinra_hours"]], on="participant_id", how="left"
    )
    rows = []
    for r in table.itertuples(index=False):
        first_severe = high.get(r.participant_id, np.nan)
        dose = r.first_anakinra_hours
        if fmt.is_missing(dose):
            when = "severe CRS without anakinra"
        elif fmt.is_missing(first_severe):
            when = "grade 5 without a severe interval" if int(r.crs_max_grade) == 5 else "no severe interval recorded"
        elif first_severe < dose:
            when = "severe CRS before the first anakinra dose"
        else:
            when = "severe CRS after the first anakinra dose"
        rows.append(
            {
                "Participant": r.participant_id,
                "Max grade": f"{int(r.crs_max_grade)}",
                "CRS onset (day)": fmt.value(_days(r.crs_onset_hours)),
                "Trigger (day)": fmt.value(_days(r.trigger_hours)),
                "First anakinra (day)": fmt.value(_days(dose)),
                "First grade ≥ 3 (day)": fmt.value(_days(first_severe)),
                "Sequence": when,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "Participant",
            "Max grade",
            "CRS onset (day)",
            "Trigger (day)",
            "First anakinra (day)",
            "First grade ≥ 3 (day)",
            "Sequence",
        ],
    )


def _days(hours: Any) -> float:
    return np.nan if fmt.is_missing(hours) else float(hours) / HOURS_PER_DAY


def anakinra_listing(anakinra: pd.DataFrame) -> pd.DataFrame:
    """Per participant: first fever, trigger and first dose (hours from infusion), the delays, doses, escalation, rescue."""
    given = anakinra[anakinra["first_anakinra_hours"].notna() | anakinra["first_fever_hours"].notna()]
    yes = lambda s: s.astype("boolean").map({True: "yes", False: "no"}).fillna(fmt.DASH)  # noqa: E731
    return pd.DataFrame(
        {
            "Participant": given["participant_id"].astype(str),
            "First fever (h)": given["first_fever_hours"].map(fmt.value),
            "Trigger (h)": given["trigger_hours"].map(fmt.value),
            "First dose (h)": given["first_anakinra_hours"].map(fmt.value),
            "Fever → dose (h)": given["fever_to_anakinra_hours"].map(fmt.value),
            "Trigger → dose (h)": given["trigger_to_anakinra_hours"].map(fmt.value),
            "Doses": given["anakinra_doses"].map(fmt.count),
            "Escalated": yes(given["anakinra_escalated"]),
            "Tocilizumab": yes(given["tocilizumab_given"]),
            "Corticosteroids": yes(given["corticosteroids_given"]),
            "Deviation": given["deviation"].fillna("").astype(str),
        }
    ).reset_index(drop=True)


def ae_by_term(ae: pd.DataFrame, min_grade: int = 3) -> pd.DataFrame:
    """Adverse events of grade ≥ ``min_grade`` by coded term (in words): events, participants, worst grade,
    onset days, and the events' outcomes at the cut (``ae.parquet`` ``outcome``)."""
    sub = ae[ae["grade"].astype(int) >= min_grade]
    rows = []
    for term, group in sub.groupby(sub["term"].astype(str), sort=True):
        days = group["onset_hours"].astype(float) / HOURS_PER_DAY
        outcomes = group["outcome"].astype(str).value_counts()
        rows.append(
            {
                "Term": labels.ae_term(term),
                "Events": f"{len(group)}",
                "Participants": f"{group['participant_id'].nunique()}",
                "Worst grade": f"{int(group['grade'].max())}",
                "Onset, study day: median (range)": f"{days.median():.1f} ({days.min():.1f}–{days.max():.1f})",
                "Outcome": "; ".join(
                    f"{int(outcomes[code])} {words}" for code, words in labels.AE_OUTCOMES.items() if code in outcomes
                ),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["Term", "Events", "Participants", "Worst grade", "Onset, study day: median (range)", "Outcome"],
    )


def ae_listing(
    ae: pd.DataFrame, terms: tuple[str, ...] | None = None, after_day: float | None = None, min_grade: int = 1
) -> pd.DataFrame:
    """Adverse events (term in words, grade, onset, outcome at the cut and resolution study day) filtered by term,
    onset or persistence; a fatal or ongoing event has no resolution day."""
    sub = ae[ae["grade"].astype(int) >= min_grade]
    if terms is not None:
        sub = sub[sub["term"].astype(str).isin(terms)]
    if after_day is not None:
        resolved = sub["resolved_hours"].astype(float)
        beyond = (
            (sub["onset_hours"].astype(float) > after_day * HOURS_PER_DAY)
            | resolved.isna()
            | (resolved > after_day * HOURS_PER_DAY)
        )
        sub = sub[beyond]
    return pd.DataFrame(
        {
            "Participant": sub["participant_id"].astype(str),
            "Term": sub["term"].astype(str).map(labels.ae_term),
            "Grade": sub["grade"].astype(int).astype(str),
            "Onset (study day)": (sub["onset_hours"].astype(float) / HOURS_PER_DAY).map(fmt.value),
            "Outcome": sub["outcome"].astype(str).map(labels.AE_OUTCOMES),
            "Resolved (study day)": [
                fmt.value(hours / HOURS_PER_DAY) if outcome == "resolved" else DASH
                for hours, outcome in zip(sub["resolved_hours"].astype(float), sub["outcome"].astype(str))
            ],
        }
    ).reset_index(drop=True)


def listing_severe_crs(crs: pd.DataFrame) -> pd.DataFrame:
    """Every participant with ASTCT grade ≥ 3 CRS (onset and duration in study days)."""
    sub = crs[crs["crs_max_grade"].astype("Int64").fillna(0) >= 3]
    return pd.DataFrame(
        {
            "Participant": sub["participant_id"].astype(str),
            "ASTCT max grade": sub["crs_max_grade"].astype(int).astype(str),
            "Penn approx. max grade": sub["crs_max_grade_penn"].map(fmt.count),
            "Onset (study day)": (sub["crs_onset_hours"] / HOURS_PER_DAY).map(fmt.value),
            "Duration (days)": (sub["crs_duration_hours"] / HOURS_PER_DAY).map(fmt.value),
            "Episodes": sub["crs_episodes"].map(fmt.count),
            "Open at cut": flag(sub, "crs_open").map({True: "yes", False: "no"}),
            "Reported max grade": sub["crs_grade_reported_max"].map(fmt.count),
        }
    ).reset_index(drop=True)


def listing_severe_icans(icans: pd.DataFrame) -> pd.DataFrame:
    """Every participant with ICANS grade ≥ 3."""
    sub = icans[icans["icans_max_grade"].astype("Int64").fillna(0) >= 3]
    return pd.DataFrame(
        {
            "Participant": sub["participant_id"].astype(str),
            "ICANS max grade": sub["icans_max_grade"].astype(int).astype(str),
            "Onset (study day)": (sub["icans_onset_hours"] / HOURS_PER_DAY).map(fmt.value),
        }
    ).reset_index(drop=True)


def listing_deaths(adsl: pd.DataFrame) -> pd.DataFrame:
    """Every death: study day, coded cause, treatment-related (grading.md)."""
    sub = adsl[flag(adsl, "death")]
    days = sub["death_days"] if "death_days" in sub.columns else pd.Series(np.nan, index=sub.index)
    return pd.DataFrame(
        {
            "Participant": sub["participant_id"].astype(str),
            "Infused": flag(sub, "infused").map({True: "yes", False: "no"}),
            "Study day": days.map(fmt.value),
            "Cause": sub["death_cause"].fillna("not recorded").astype(str),
            "Treatment-related": flag(sub, "treatment_related_death").map({True: "yes", False: "no"}),
        }
    ).reset_index(drop=True)


def icans_summary(icans: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """ICANS onset and assessment by burden, among the CRS-evaluable."""
    groups = by_burden(icans, adsl)
    rows = []
    for key, title in BURDEN_GROUPS:
        sub = groups[key]
        anyi = sub[flag(sub, "icans_any")]
        rows.append(
            {
                "Group": title,
                "With ICANS": fmt.n_pct(len(anyi), len(sub)),
                "Onset, day: median (IQR)": fmt.median_iqr(anyi["icans_onset_hours"] / HOURS_PER_DAY),
                "Never assessed": f"{int((~flag(sub, 'icans_assessed')).sum())}",
            }
        )
    return pd.DataFrame(rows)
