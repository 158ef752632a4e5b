"""Tests of the export simulator (analysis/simulate): determinism, the input contract of
spec/export-format.md, clinical realism, the designed grades read back independently, the
anakinra protocol, the planted faults and discrepancies, and the committed demo bundles."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from analysis.simulate import DEMO_BUNDLES, PLANTED_FAULTS, SimulatedExport, simulate_bundle, simulate_export
from analysis.simulate.clock import local_time_strings

REPO_ROOT = Path(__file__).resolve().parent.parent
RAW = REPO_ROOT / "data" / "raw"
TZ = "America/Chicago"
EXPORT = pd.Timestamp("2026-11-01T09:00:00-06:00").tz_convert("UTC")
BUNDLE_FILES = ("manifest.json", "participants.csv", "events.csv")

# The demo's planted reporting discrepancies: participant -> (grade reported, grade the rows document).
DEMO_CRS_DISCREPANCIES = {"PACER-011": (1, 2), "PACER-022": (2, 1)}
DEMO_ICANS_DISCREPANCIES = {"PACER-009": (0, 1)}

VOCABULARY = {
    "temperature": ({"C", "F"}, None),
    "systolic_bp": ({"mmHg"}, None),
    "fluid_bolus": ({"mL/kg"}, None),
    "vasopressor": (
        {"mcg/kg/min", "units/kg/min"},
        {"norepinephrine", "epinephrine", "dopamine", "phenylephrine", "vasopressin"},
    ),
    "oxygen": (
        {"L/min"},
        {
            "blow_by",
            "nasal_cannula",
            "high_flow_nasal_cannula",
            "simple_face_mask",
            "venturi_mask",
            "nonrebreather_mask",
            "cpap",
            "bipap",
            "mechanical_ventilation",
        },
    ),
    "medication": (
        {"mg", "mg/kg"},
        {
            "anakinra",
            "tocilizumab",
            "siltuximab",
            "dexamethasone",
            "methylprednisolone",
            "hydrocortisone",
            "acetaminophen",
            "ibuprofen",
        },
    ),
    "ice_score": ({""}, None),
    "capd_score": ({""}, None),
    "consciousness": ({""}, {"awake", "awakens_to_voice", "awakens_to_tactile", "unarousable"}),
    "seizure": ({""}, {"focal_or_generalized_resolving", "nonconvulsive_on_eeg", "prolonged_or_repetitive"}),
    "motor_weakness": ({""}, {"deep_focal"}),
    "cerebral_edema": ({""}, {"focal", "diffuse"}),
    "crs_grade_reported": ({""}, None),
    "icans_grade_reported": ({""}, None),
    "response_assessment": ({"%", ""}, {"CR", "CRi", "PR", "NR", "not_evaluable"}),
    "relapse": ({""}, {"cd19_positive", "cd19_negative", "unknown"}),
    "b_cell_recovery": ({""}, None),
    "hsct": ({""}, None),
    "new_therapy": ({""}, None),
    "death": ({""}, {"disease", "crs", "icans", "infection", "other"}),
    "last_contact": ({""}, None),
    "withdrawal": ({""}, None),
    "adverse_event": ({""}, None),
}
AE_TERMS = {
    "infection",
    "febrile_neutropenia",
    "neutropenia",
    "thrombocytopenia",
    "anemia",
    "iec_hs",
    "hypogammaglobulinemia",
    "tumor_lysis",
    "other",
}
VALUE_RANGES = {  # (low, high) inclusive, from "Plausible ranges"
    "systolic_bp": (20, 250),
    "fluid_bolus": (1e-9, 100),
    "ice_score": (0, 10),
    "capd_score": (0, 32),
    "crs_grade_reported": (0, 5),
    "icans_grade_reported": (0, 5),
    "adverse_event": (1, 5),
    "response_assessment": (0, 100),
    "medication": (1e-9, 1e6),
    "oxygen": (0, 80),
}
PRESSOR_MAX = {"norepinephrine": 5, "epinephrine": 5, "phenylephrine": 10, "dopamine": 30, "vasopressin": 0.01}
HYPOXIA_LEVEL = {
    "blow_by": 2,
    "nasal_cannula": 2,
    "high_flow_nasal_cannula": 3,
    "simple_face_mask": 3,
    "venturi_mask": 3,
    "nonrebreather_mask": 3,
    "cpap": 4,
    "bipap": 4,
    "mechanical_ventilation": 4,
}


# ---------------------------------------------------------------- fixtures and readers


@pytest.fixture(scope="module")
def trial() -> SimulatedExport:
    return simulate_bundle(400, 11)


@pytest.fixture(scope="module")
def historical() -> SimulatedExport:
    return simulate_bundle(400, 11, historical=True)


@pytest.fixture(scope="module")
def demo() -> SimulatedExport:
    return simulate_bundle(**DEMO_BUNDLES["demo"])


def instants(times: pd.Series) -> pd.Series:
    """UTC instants of export time strings as the contract reads them (naive = local, first occurrence)."""
    with_offset = times.str.len() > 19
    out = pd.Series(pd.NaT, index=times.index, dtype="datetime64[ns, UTC]")
    naive = pd.to_datetime(times[~with_offset], format="%Y-%m-%dT%H:%M:%S")
    out[~with_offset] = naive.dt.tz_localize(TZ, ambiguous=np.ones(len(naive), dtype=bool)).dt.tz_convert("UTC")
    out[with_offset] = pd.to_datetime(times[with_offset], format="ISO8601", utc=True)
    return out


def valid_rows(events: pd.DataFrame, participants: pd.DataFrame) -> pd.DataFrame:
    """The rows ingest keeps: known participant, event type and code, temperature in range; no duplicate."""
    unknown_code = pd.Series(False, index=events.index)
    for event_type, (_, details) in VOCABULARY.items():
        if details is not None:
            unknown_code |= (events["event_type"] == event_type) & ~events["detail"].isin(details)
    value = pd.to_numeric(events["value"].replace("", np.nan))
    celsius = value.where(events["unit"] != "F", (value - 32) * 5 / 9)
    temperature_ok = (events["event_type"] != "temperature") | celsius.between(30, 45)
    keep = (
        events["participant_id"].isin(participants["participant_id"])
        & events["event_type"].isin(VOCABULARY)
        & ~unknown_code
        & temperature_ok
        & ~events.duplicated()
    )
    return events[keep]


def read_events(bundle: SimulatedExport) -> pd.DataFrame:
    """The kept events with hours from infusion, numeric values (°C) and each participant's baseline."""
    people = bundle.participants.copy()
    people["infusion"] = instants(people["infusion_datetime"].replace("", np.nan).dropna()).reindex(people.index)
    enrolled = pd.to_datetime(people["enrollment_date"])
    days_to_infusion = (pd.to_datetime(people["infusion_datetime"].str[:10]) - enrolled).dt.days
    completed_age = np.floor(people["age_years"].astype(float) + days_to_infusion / 365.25)
    people["threshold"] = np.where(completed_age < 10, 70 + 2 * completed_age, 90)  # PALS, grading.md
    baseline = people[["participant_id", "infusion", "threshold", "weight_kg", "enrollment_date"]]
    events = valid_rows(bundle.events, people).merge(baseline, on="participant_id", how="left")
    events["at"] = instants(events["event_time"])
    events["end"] = instants(events["end_time"].replace("", np.nan).dropna()).reindex(events.index)
    events["minute"] = ((events["at"] - events["infusion"]).dt.total_seconds() // 60).astype("Int64")
    events["h"] = (events["at"] - events["infusion"]).dt.total_seconds() / 3600
    events["end_h"] = (events["end"] - events["infusion"]).dt.total_seconds() / 3600
    events["v"] = pd.to_numeric(events["value"].replace("", np.nan))
    fahrenheit = events["unit"] == "F"
    events.loc[fahrenheit, "v"] = ((events.loc[fahrenheit, "v"] - 32) * 5 / 9).round(2)
    return events


def infused_truth(bundle: SimulatedExport) -> pd.DataFrame:
    return bundle.truth[bundle.truth["infused"]].set_index("participant_id")


def share_with(bundle: SimulatedExport, participants: pd.Series) -> float:
    return infused_truth(bundle).index.isin(participants).mean()


# ---------------------------------------------------------------- determinism and committed demos


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = simulate_export(60, 5, tmp_path / "a")
    again = simulate_export(60, 5, tmp_path / "b")
    other = simulate_export(60, 6, tmp_path / "c")
    for name in BUNDLE_FILES:
        assert (first / name).read_bytes() == (again / name).read_bytes()
    assert (first / "events.csv").read_bytes() != (other / "events.csv").read_bytes()
    assert (first / "participants.csv").read_bytes() != (other / "participants.csv").read_bytes()


@pytest.mark.parametrize("name", sorted(DEMO_BUNDLES))
def test_committed_demo_bundle_equals_a_fresh_regeneration(tmp_path: Path, name: str) -> None:
    fresh = simulate_export(out_dir=tmp_path / name, **DEMO_BUNDLES[name])
    for file in BUNDLE_FILES:
        committed = RAW / name / file
        assert committed.stat().st_size < 2_000_000
        assert committed.read_bytes() == (fresh / file).read_bytes(), f"{committed} drifted: regenerate it"


# ---------------------------------------------------------------- the input contract


def test_manifest_states_the_contract_fields(demo: SimulatedExport) -> None:
    assert demo.manifest == {
        "study_id": "PACER",
        "exported_at": "2026-11-01T09:00:00-06:00",
        "source": "simulator",
        "format_version": "1",
        "timezone": TZ,
    }


def test_participants_follow_the_contract(demo: SimulatedExport, trial: SimulatedExport) -> None:
    for bundle in (demo, trial):
        people = bundle.participants
        assert list(people.columns) == [
            "participant_id",
            "site_id",
            "age_years",
            "sex",
            "weight_kg",
            "enrollment_date",
            "infusion_datetime",
            "marrow_blast_pct",
            "prior_hsct",
            "cns_status",
            "car_t_dose_per_kg",
        ]
        assert people["participant_id"].is_unique
        age, weight, blasts = (people[c].astype(float) for c in ("age_years", "weight_kg", "marrow_blast_pct"))
        assert age.between(1, 26.99).all() and (weight > 0).all() and (weight < 250).all()
        assert blasts.between(5, 99).all()
        assert set(people["sex"]) == {"M", "F"}
        assert set(people["prior_hsct"]) == {"true", "false"}
        assert set(people["cns_status"]) <= {"CNS1", "CNS2", "CNS3", ""}
        enrolled = pd.to_datetime(people["enrollment_date"], format="%Y-%m-%d")
        assert (enrolled <= pd.Timestamp("2026-11-01")).all()
        infused = people["infusion_datetime"] != ""
        gap = (pd.to_datetime(people.loc[infused, "infusion_datetime"]) - enrolled[infused]).dt.days
        assert gap.between(14, 36).all()
        dose = people.loc[infused, "car_t_dose_per_kg"].astype(float)
        assert dose.between(3e5, 5e6).all()
        assert (people.loc[~infused, "car_t_dose_per_kg"] == "").all()
    assert (demo.participants["infusion_datetime"] == "").sum() == 5
    child_share = (trial.participants["age_years"].astype(float) < 18).mean()
    assert 0.6 < child_share < 0.8


@pytest.mark.parametrize("cohort", ["trial", "historical"])
def test_events_follow_the_vocabulary_and_plausible_ranges(cohort: str, request: pytest.FixtureRequest) -> None:
    bundle: SimulatedExport = request.getfixturevalue(cohort)
    events = read_events(bundle)
    assert list(bundle.events.columns) == [
        "participant_id",
        "event_time",
        "end_time",
        "event_type",
        "value",
        "unit",
        "detail",
    ]
    assert set(events["event_type"]) <= set(VOCABULARY)
    assert events["participant_id"].isin(bundle.participants["participant_id"]).all()
    for event_type, (units, details) in VOCABULARY.items():
        rows = events[events["event_type"] == event_type]
        assert set(rows["unit"]) <= units, event_type
        if details is not None:
            assert set(rows["detail"]) <= details, event_type
        if event_type in VALUE_RANGES:
            low, high = VALUE_RANGES[event_type]
            assert rows["v"].dropna().between(low, high).all(), event_type
    temperature = events[events["event_type"] == "temperature"]
    assert temperature["v"].between(30, 45).all() and (temperature["unit"] == "C").all()
    for score in ("ice_score", "capd_score", "adverse_event", "crs_grade_reported"):
        values = events.loc[events["event_type"] == score, "v"]
        assert (values == values.round()).all()
    pressors = events[events["event_type"] == "vasopressor"]
    assert (pressors["v"] > 0).all() and (pressors["v"] <= pressors["detail"].map(PRESSOR_MAX)).all()
    assert ((pressors["detail"] == "vasopressin") == (pressors["unit"] == "units/kg/min")).all()
    oxygen = events[events["event_type"] == "oxygen"]
    assert oxygen.loc[oxygen["detail"] == "nasal_cannula", "v"].between(0.5, 8).all()
    assert oxygen.loc[oxygen["detail"].isin(["cpap", "bipap", "mechanical_ventilation"]), "v"].isna().all()
    assert oxygen.loc[~oxygen["detail"].isin(["cpap", "bipap", "mechanical_ventilation"]), "v"].notna().all()
    ae = events[events["event_type"] == "adverse_event"]
    assert set(ae["detail"].str.split(":").str[0]) <= AE_TERMS
    assert (ae["detail"] == "infection: bacteremia").any()
    mrd = events[(events["event_type"] == "response_assessment") & (events["detail"] != "not_evaluable")]
    assert (mrd["unit"] == "%").all() and mrd["v"].notna().all()


@pytest.mark.parametrize("cohort", ["trial", "historical", "demo"])
def test_times_exist_locally_and_nothing_lies_after_the_export(cohort: str, request: pytest.FixtureRequest) -> None:
    bundle: SimulatedExport = request.getfixturevalue(cohort)
    zone = ZoneInfo(TZ)
    naive = pd.concat(
        [bundle.events["event_time"], bundle.events["end_time"], bundle.participants["infusion_datetime"]]
    )
    naive = naive[(naive != "") & (naive.str.len() == 19)].unique()
    for text in naive:
        local = datetime.fromisoformat(text)
        round_trip = local.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        assert round_trip == local, f"{text} does not exist in {TZ}"
    events = read_events(bundle)
    assert (events["at"] < EXPORT).all()
    assert (events["end"].dropna() < EXPORT).all()
    assert (events["end"].isna() | (events["end"] >= events["at"])).all()
    earliest = pd.to_datetime(events["enrollment_date"]).dt.tz_localize(TZ) - pd.Timedelta(days=30)
    assert (events["at"] >= earliest).all()


def test_fall_back_hour_second_occurrence_carries_its_offset() -> None:
    minutes = np.array(
        [
            int(pd.Timestamp("2026-11-01T06:30Z").value // 60_000_000_000),  # 01:30 CDT, first occurrence
            int(pd.Timestamp("2026-11-01T07:30Z").value // 60_000_000_000),  # 01:30 CST, second occurrence
            int(pd.Timestamp("2026-03-08T08:30Z").value // 60_000_000_000),  # 03:30 CDT, just after the gap
        ]
    )
    assert list(local_time_strings(minutes, TZ)) == [
        "2026-11-01T01:30:00",
        "2026-11-01T01:30:00-06:00",
        "2026-03-08T03:30:00",
    ]
    assert list(local_time_strings(minutes[:1], TZ, np.array([True]))) == ["2026-11-01T01:30:00-05:00"]


def test_some_rows_carry_explicit_offsets(trial: SimulatedExport) -> None:
    with_offset = trial.events["event_time"].str.len() > 19
    assert 0 < with_offset.mean() < 0.01


def test_no_row_follows_death_or_withdrawal_or_twelve_months(trial: SimulatedExport) -> None:
    events = read_events(trial)
    ends = events[events["event_type"].isin(["death", "withdrawal"])].groupby("participant_id")["at"].min()
    after = events["at"] > events["participant_id"].map(ends)
    assert not after.any()
    visit = events["event_type"] == "last_contact"
    assert events.loc[~visit, "h"].max() <= 365.25 * 24
    # only the month-12 visit may close the year, within a week after day 365.25
    assert events.loc[visit, "h"].max() <= (365.25 + 7) * 24
    assert (events.loc[visit, "h"] > 365.25 * 24).any()
    assert (events["end_h"].dropna() <= 365.25 * 24).all()


# ---------------------------------------------------------------- realism


def test_trial_shares_are_clinically_plausible(trial: SimulatedExport) -> None:
    events = read_events(trial)
    truth = infused_truth(trial)
    febrile = (events["event_type"] == "temperature") & (events["v"] >= 38)
    fever = share_with(trial, events.loc[febrile, "participant_id"])
    oxygen = share_with(trial, events.loc[events["event_type"] == "oxygen", "participant_id"])
    pressor = share_with(trial, events.loc[events["event_type"] == "vasopressor", "participant_id"])
    severe = (truth["crs_grade"] >= 3).mean()
    by_burden = truth.groupby("high_burden")["crs_grade"].apply(lambda g: (g >= 3).mean())
    icans = (truth["icans_grade"] >= 1).mean()
    responses = truth["response_day28"].dropna()
    assert 0.65 < fever < 0.90
    assert 0.20 < oxygen < 0.50
    assert 0.12 < pressor < 0.35
    assert 0.22 < severe < 0.36
    assert by_burden[True] > by_burden[False] + 0.1
    assert 0.15 < icans < 0.35
    assert 0.72 < responses.isin(["CR", "CRi"]).mean() < 0.90
    assert 30 < truth["crs_onset_hours"].median() < 80


def test_historical_cohort_is_more_severe_and_never_gets_anakinra(
    trial: SimulatedExport, historical: SimulatedExport
) -> None:
    severe = {name: (infused_truth(b)["crs_grade"] >= 3).mean() for name, b in (("trial", trial), ("hist", historical))}
    tocilizumab = {
        name: share_with(b, b.events.loc[b.events["detail"] == "tocilizumab", "participant_id"])
        for name, b in (("trial", trial), ("hist", historical))
    }
    assert 0.33 < severe["hist"] < 0.48 and severe["hist"] > severe["trial"] + 0.05
    assert tocilizumab["hist"] > 2 * tocilizumab["trial"]
    assert not (historical.events["detail"] == "anakinra").any()
    assert share_with(trial, trial.events.loc[trial.events["detail"] == "anakinra", "participant_id"]) > 0.5
    months = read_events(historical).groupby("participant_id")["h"].max() / 24 / 30.4375
    assert (months[infused_truth(historical).index.intersection(months.index)] > 11).mean() > 0.6


def test_relapse_affects_a_quarter_to_a_third_of_responders_followed_a_year(historical: SimulatedExport) -> None:
    truth = infused_truth(historical)
    responders = truth.index[truth["response_day28"].isin(["CR", "CRi"])]
    relapsed = historical.events.loc[historical.events["event_type"] == "relapse", "participant_id"]
    assert 0.22 < responders.isin(relapsed).mean() < 0.38


# ---------------------------------------------------------------- designed grades, read back independently


def crs_grade_read_from_rows(events: pd.DataFrame) -> pd.Series:
    """Maximum ASTCT grade per participant, read from the rows (grading.md, simplified).

    Onset = first temperature >= 38.0 °C at or after infusion. From onset on: SBP below the PALS
    threshold or a bolus -> 2; oxygen by device (a nasal cannula above 6 L/min is high flow);
    any vasopressor -> 3; two different vasopressors other than vasopressin running at once -> 4;
    a CRS death -> 5. Episode ends are not modelled: the simulator places every support inside
    the febrile course, so they cannot change the maximum.
    """
    temps = events[(events["event_type"] == "temperature") & (events["h"] >= 0) & (events["v"] >= 38.0)]
    onset = temps.groupby("participant_id")["h"].min()
    rows = events[events["participant_id"].isin(onset.index)].copy()
    rows["onset"] = rows["participant_id"].map(onset)
    rows = rows.sort_values(["participant_id", "h"])
    intervals = rows["event_type"].isin(["vasopressor", "oxygen"])
    same_chain = np.where(rows["event_type"] == "vasopressor", rows["detail"], "oxygen")
    next_start = (
        rows[intervals]
        .assign(chain=same_chain[intervals.to_numpy()])
        .groupby(["participant_id", "chain"])["h"]
        .shift(-1)
    )
    rows.loc[intervals, "stop"] = rows.loc[intervals, "end_h"].fillna(next_start).fillna(np.inf)
    after_onset = (rows["h"] >= rows["onset"]) | (intervals & (rows["stop"] > rows["onset"]))
    level = pd.Series(0, index=rows.index)
    level[(rows["event_type"] == "systolic_bp") & (rows["v"] < rows["threshold"])] = 2
    level[rows["event_type"] == "fluid_bolus"] = 2
    oxygen = rows["event_type"] == "oxygen"
    level[oxygen] = rows.loc[oxygen, "detail"].map(HYPOXIA_LEVEL)
    level[oxygen & (rows["detail"] == "nasal_cannula") & (rows["v"] > 6)] = 3
    level[rows["event_type"] == "vasopressor"] = 3
    grade = level[after_onset].groupby(rows["participant_id"]).max().clip(lower=1)

    pressors = rows[(rows["event_type"] == "vasopressor") & (rows["detail"] != "vasopressin") & after_onset]
    pairs = pressors.merge(pressors, on="participant_id")
    overlapping = (
        (pairs["detail_x"] != pairs["detail_y"]) & (pairs["h_x"] < pairs["stop_y"]) & (pairs["h_y"] < pairs["stop_x"])
    )
    grade[grade.index.isin(pairs.loc[overlapping, "participant_id"])] = 4
    crs_deaths = events.loc[(events["event_type"] == "death") & (events["detail"] == "crs"), "participant_id"]
    grade[grade.index.isin(crs_deaths)] = 5
    return grade


def icans_grade_read_from_rows(events: pd.DataFrame) -> pd.Series:
    """Maximum ASTCT ICANS grade per participant, read from the rows (grading.md, ICANS)."""
    level = pd.Series(np.nan, index=events.index)
    ice, capd = events["event_type"] == "ice_score", events["event_type"] == "capd_score"
    level[ice] = np.select([events["v"] <= 2, events["v"] <= 6, events["v"] <= 9], [3, 2, 1], 0)[ice.to_numpy()]
    level[capd] = np.select([events["v"] >= 9, events["v"] >= 1], [3, 1], 0)[capd.to_numpy()]
    signs = {
        ("consciousness", "awake"): 0,
        ("consciousness", "awakens_to_voice"): 2,
        ("consciousness", "awakens_to_tactile"): 3,
        ("consciousness", "unarousable"): 4,
        ("seizure", "focal_or_generalized_resolving"): 3,
        ("seizure", "nonconvulsive_on_eeg"): 3,
        ("seizure", "prolonged_or_repetitive"): 4,
        ("motor_weakness", "deep_focal"): 4,
        ("cerebral_edema", "focal"): 3,
        ("cerebral_edema", "diffuse"): 4,
    }
    for (event_type, detail), grade in signs.items():
        level[(events["event_type"] == event_type) & (events["detail"] == detail)] = grade
    return level.groupby(events["participant_id"]).max().dropna()


@pytest.mark.parametrize("cohort", ["trial", "historical", "demo"])
def test_rows_document_exactly_the_simulated_grades(cohort: str, request: pytest.FixtureRequest) -> None:
    bundle: SimulatedExport = request.getfixturevalue(cohort)
    events = read_events(bundle)
    truth = infused_truth(bundle)
    crs = crs_grade_read_from_rows(events).reindex(truth.index, fill_value=0)
    icans = icans_grade_read_from_rows(events).reindex(truth.index, fill_value=0)
    pd.testing.assert_series_equal(crs.astype(int), truth["crs_grade_by_export"].astype(int), check_names=False)
    pd.testing.assert_series_equal(icans.astype(int), truth["icans_grade_by_export"].astype(int), check_names=False)
    followed = truth[truth["crs_grade_reported"].notna()]
    assert (followed["crs_grade_by_export"] == followed["crs_grade"]).all()


def test_grade_one_fevers_include_patterns_that_miss_the_trigger(demo: SimulatedExport) -> None:
    patterns = infused_truth(demo)["fever_pattern"].value_counts()
    assert patterns["single_high"] >= 1 and patterns["close_pair"] >= 1 and patterns["low_grade"] >= 1
    assert infused_truth(demo).loc[lambda t: t["fever_pattern"] != "persistent", "trigger_hours"].isna().all()


# ---------------------------------------------------------------- anakinra protocol


def protocol_trigger(temps: pd.DataFrame) -> pd.Series:
    """Brute force over all pairs: the earliest reading > 38.5 °C with one 4-24 h before it.

    Gaps are compared in whole minutes: in float hours a gap of exactly 4 h can come out a hair
    short (64.0667 - 60.0667 < 4), and both bounds are inclusive.
    """
    high = temps[(temps["v"] > 38.5) & (temps["h"] >= 0)][["participant_id", "h", "minute"]]
    pairs = high.merge(high, on="participant_id", suffixes=("", "_earlier"))
    gap = pairs["minute"] - pairs["minute_earlier"]
    return pairs[(gap >= 4 * 60) & (gap <= 24 * 60)].groupby("participant_id")["h"].min()


def test_anakinra_follows_the_trigger_dose_and_schedule(trial: SimulatedExport) -> None:
    events = read_events(trial)
    truth = infused_truth(trial)
    infused_long_enough = events.groupby("participant_id")["infusion"].first() < EXPORT - pd.Timedelta(days=30)
    followed = infused_long_enough[infused_long_enough].index.intersection(truth.index)
    events, truth = events[events["participant_id"].isin(followed)], truth.loc[followed]
    trigger = protocol_trigger(events[events["event_type"] == "temperature"])
    np.testing.assert_allclose(trigger.sort_index(), truth["trigger_hours"].dropna().sort_index(), atol=1e-9)

    doses = events[events["detail"] == "anakinra"].sort_values(["participant_id", "h"])
    assert set(doses["participant_id"]) == set(trigger.index)
    assert (doses["unit"] == "mg").all() and (doses["v"] <= 100).all()
    assert (doses["v"] / doses["weight_kg"].astype(float) <= 2.5).all()
    delay = doses.groupby("participant_id")["h"].min() - trigger
    assert delay.between(0.5, 5).mean() > 0.85
    assert (delay > 6).sum() >= 3 and (delay < 0).sum() >= 1
    gaps = doses.groupby("participant_id")["h"].diff().dropna()
    escalated = truth.index[truth["anakinra_escalated"].fillna(False)]
    quick = gaps[gaps < 9].index.map(doses["participant_id"]).unique()
    assert set(quick) == set(escalated) and len(escalated) > 10
    assert gaps[gaps >= 9].between(10.9, 13.1).all()


def test_rescue_and_premedication(trial: SimulatedExport) -> None:
    events = read_events(trial)
    medication = events[events["event_type"] == "medication"]
    acetaminophen = medication[medication["detail"] == "acetaminophen"]
    premedicated = acetaminophen[acetaminophen["h"].between(-1, 0)]["participant_id"].nunique()
    assert 0.6 < premedicated / len(infused_truth(trial)) < 0.8
    tocilizumab = medication[medication["detail"] == "tocilizumab"]
    weight = tocilizumab["weight_kg"].astype(float)
    per_kg = np.where(tocilizumab["unit"] == "mg/kg", tocilizumab["v"], tocilizumab["v"] / weight)
    assert (per_kg <= 12.1).all() and (per_kg >= 7.9).all()  # whole-mg doses of 8 or 12 mg/kg
    assert (medication["detail"] == "dexamethasone").any()


# ---------------------------------------------------------------- planted faults and discrepancies


def test_demo_plants_exactly_the_documented_faults(demo: SimulatedExport) -> None:
    assert demo.planted_faults == PLANTED_FAULTS
    events = demo.events
    fahrenheit = events[events["unit"] == "F"]
    assert len(fahrenheit) == 3 and fahrenheit["value"].astype(float).between(100.4, 104).all()
    assert events.duplicated(keep=False).sum() == 2
    celsius = events[(events["event_type"] == "temperature") & (events["unit"] == "C")]
    assert (celsius["value"].astype(float) > 45).sum() == 1
    assert (events["event_type"] == "heart_rate").sum() == 1
    unknown = set(events["participant_id"]) - set(demo.participants["participant_id"])
    assert unknown == {"PACER-O38"}
    assert (events["detail"] == "Levophed").sum() == 1
    for fault in PLANTED_FAULTS:
        match = events[
            (events["participant_id"] == fault["participant"])
            & (events["event_type"] == fault["event_type"])
            & (events["event_time"] == fault["event_time"])
        ]
        assert len(match) >= 1, fault


def test_bundles_without_planted_faults_have_none(trial: SimulatedExport) -> None:
    events = trial.events
    assert not (events["unit"] == "F").any()
    assert not events.duplicated().any()
    assert trial.planted_faults == []


def test_demo_reports_differ_from_the_rows_for_the_planted_participants_only(demo: SimulatedExport) -> None:
    events = demo.events
    truth = infused_truth(demo)
    for event_type, planted, documented in (
        ("crs_grade_reported", DEMO_CRS_DISCREPANCIES, "crs_grade_by_export"),
        ("icans_grade_reported", DEMO_ICANS_DISCREPANCIES, "icans_grade_by_export"),
    ):
        reported = events[events["event_type"] == event_type].set_index("participant_id")["value"].astype(int)
        differing = reported[reported != truth.loc[reported.index, documented]]
        assert {p: (differing[p], truth.at[p, documented]) for p in differing.index} == planted


def test_demo_covers_the_cohort_situations(demo: SimulatedExport) -> None:
    truth = infused_truth(demo)
    infusion = instants(demo.participants.set_index("participant_id")["infusion_datetime"].replace("", np.nan).dropna())
    days_before_export = (EXPORT - infusion).dt.days
    assert len(truth) == 40
    assert 2 <= (days_before_export < 30).sum() <= 5
    assert (days_before_export >= 365).sum() >= 15
    assert 0.22 <= (truth["crs_grade_by_export"] >= 3).mean() <= 0.34
    assert truth["death_cause"].isin(["crs", "infection"]).sum() >= 1
    assert truth["withdrawn"].sum() >= 1
    assert set(truth["anakinra_deviation"].dropna()) == {"none", "late", "before_trigger"}
    intervals = demo.events[demo.events["event_type"].isin(["vasopressor", "oxygen"])]
    open_intervals = intervals[intervals["end_time"] == ""]
    assert len(open_intervals) >= 3


def test_hourly_monitor_charting_multiplies_rows_but_not_grades(tmp_path):
    """The registry benchmark workload (hourly vitals to day 14) grades exactly as the scheduled readings do."""
    from analysis.derive.crs import build_crs_tables
    from analysis.export.bundle import read_bundle
    from analysis.export.ingest import ingest_bundle
    from analysis.settings import AnalysisPlan

    grades = {}
    for name, hourly in (("scheduled", 0), ("hourly", 14)):
        simulate_export(60, 7, tmp_path / name, hourly_vitals_days=hourly)
        result = ingest_bundle(read_bundle(tmp_path / name))
        grades[name] = (
            len(result.events),
            build_crs_tables(result.participants, result.events, AnalysisPlan())["crs"][
                ["participant_id", "crs_max_grade", "crs_max_grade_penn", "crs_onset_hours", "crs_episodes"]
            ],
        )
    assert grades["hourly"][0] > 3 * grades["scheduled"][0]
    pd.testing.assert_frame_equal(grades["hourly"][1], grades["scheduled"][1])
