"""ADTTE on the hand-built outcome cohort (tests/derive/builders_outcomes.py): OS, EFS, RFS, CIR.

Every expected value below was worked out by hand from the cohort's declarations and grading.md,
"Response and 12-month outcomes" (horizon 365.25 d; cnsr 0 event, 1 LKA, 2 horizon, 3 HSCT in
remission, 4 new therapy in remission; CIR event_code 0 censored, 1 relapse, 2 death without
relapse). The cut is 2026-03-01 00:00 America/Chicago; participants are infused 400 days before
it unless the builder says otherwise.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from builders_outcomes import OUTCOME_COHORT, Participant, build, death, last_contact, ra, relapse

from analysis.derive.adtte import derive_adtte, derive_treatment_failure
from analysis.derive.date_queries import derive_date_queries
from analysis.derive.key_times import derive_var_last_known_alive
from analysis.derive.tte import ADTTE_COLUMNS
from analysis.settings import AnalysisPlan

H = 365.25

# participant: (OS (aval, cnsr), EFS (aval, cnsr), RFS (aval, cnsr) or None, CIR (aval, cnsr, event_code))
EXPECTED_DEFAULT: dict[str, tuple] = {
    # alive to 12 months (LKA 370): horizon everywhere; RFS from the CR at day 28: 365.25 - 28
    "P01": ((H, 2), (H, 2), (337.25, 2), (H, 2, 0)),
    # infection death at day 100 after CR day 28
    "P02": ((100, 0), (100, 0), (72, 0), (100, 0, 2)),
    # relapse 150, death 200
    "P03": ((200, 0), (150, 0), (122, 0), (150, 0, 1)),
    # CD19-negative relapse 240, last contact 300
    "P04": ((300, 1), (240, 0), (212, 0), (240, 0, 1)),
    # HSCT at day 90 in CR (last assessment day 60 CR), relapse 200: censored at HSCT (cnsr 3)
    "P05": ((H, 2), (90, 3), (62, 3), (90, 3, 0)),
    # NR at day 28: treatment failure at day 28; LKA 120
    "P06": ((120, 1), (28, 0), None, (120, 1, 0)),
    # no assessment in days 21-42 (CR only at day 60), alive: failure at day 28; RFS from day 60 to LKA 200
    "P07": ((200, 1), (28, 0), (140, 1), (200, 1, 0)),
    # NR day 14 (outside), CR day 35 (inside the window): day-28 response CR, no failure
    "P08": ((H, 2), (H, 2), (330.25, 2), (H, 2, 0)),
    # CR only at day 45 (outside the window): failure at day 28; RFS from day 45
    "P09": ((H, 2), (28, 0), (320.25, 2), (H, 2, 0)),
    # NR day 24 and CR day 32, equally near: the earlier (NR) is the day-28 response -> failure
    "P10": ((150, 1), (28, 0), (118, 1), (150, 1, 0)),
    # new therapy day 20 before the CR of day 28: failure at day 28; RFS from day 28 to LKA 300
    "P11": ((300, 1), (28, 0), (272, 1), (300, 1, 0)),
    # lost to follow-up at day 120 after CR: LKA 120
    "P12": ((120, 1), (120, 1), (92, 1), (120, 1, 0)),
    # withdrawn day 10, no assessment, no death before day 42: failure at day 28 (literal rule)
    "P13": ((10, 1), (28, 0), None, (10, 1, 0)),
    # death day 80 recorded after the withdrawal at day 50: used
    "P14": ((80, 0), (80, 0), (52, 0), (80, 0, 2)),
    # cut at day 150; the death at day 160 is after the cut: censored at LKA 100
    "P15": ((100, 1), (100, 1), (72, 1), (100, 1, 0)),
    # cut at day 180; last contact at day 200 is after it: LKA is the day-91 assessment
    "P16": ((91, 1), (91, 1), (63, 1), (91, 1, 0)),
    # P17 infused after the cut, P18 never infused: no rows
    # DST spring forward: 2025-03-08 10:00 CST -> 2025-03-10 10:00 CDT is 47 h
    "P19": ((47 / 24, 0), (47 / 24, 0), None, (47 / 24, 0, 2)),
    # DST fall back: 2024-10-30 08:00 CDT -> 2024-11-04 08:00 CST is 121 h
    "P20": ((121 / 24, 0), (121 / 24, 0), None, (121 / 24, 0, 2)),
    # deaths before day 42 without assessment: no failure, the death is the event
    "P21": ((25, 0), (25, 0), None, (25, 0, 2)),
    "P22": ((20, 0), (20, 0), None, (20, 0, 2)),
    # NR at day 28 then infection death day 101
    "P23": ((101, 0), (28, 0), None, (101, 0, 2)),
    "P24": ((30, 0), (30, 0), None, (30, 0, 2)),
    # death recorded a day before infusion: used at day 0
    "P25": ((0, 0), (0, 0), None, (0, 0, 2)),
    # death 150, relapse 160 after it: the death counts, CIR death without relapse
    "P26": ((150, 0), (150, 0), (122, 0), (150, 0, 2)),
    # death 200, last contact 250 after it
    "P27": ((200, 0), (200, 0), (172, 0), (200, 0, 2)),
    # cut at day 35 (day-42 mark after the cut): failure not assessed, censored at LKA 30
    "P28": ((30, 1), (30, 1), None, (30, 1, 0)),
    # new therapy day 120 in CR (last assessment day 90 CR), relapse 250: cnsr 4
    "P29": ((H, 2), (120, 4), (92, 4), (120, 4, 0)),
    # HSCT at day 60 not in remission (NR): no censoring; death 300
    "P30": ((300, 0), (28, 0), None, (300, 0, 2)),
    # death at day 380, after 12 months: horizon
    "P31": ((H, 2), (H, 2), (337.25, 2), (H, 2, 0)),
    # relapse exactly at day 365.25: still an event
    "P32": ((H, 2), (H, 0), (337.25, 0), (H, 0, 1)),
    # no row after infusion, cut at day 10: LKA day 0
    "P33": ((0, 1), (0, 1), None, (0, 1, 0)),
    # CR exactly at day 42: inside the window, no failure; RFS from day 42
    "P34": ((H, 2), (H, 2), (323.25, 2), (H, 2, 0)),
    # relapse and death at the same instant: the relapse (declared first) decides
    "P35": ((200, 0), (200, 0), (172, 0), (200, 0, 1)),
    # relapse at the same instant as an HSCT in CR: the event beats the censoring
    "P36": ((300, 1), (100, 0), (72, 0), (100, 0, 1)),
}

# Alternative settings: only these rows change (everything else as EXPECTED_DEFAULT).
EFS_FAILURE_DAY_0 = dict.fromkeys(("P06", "P07", "P09", "P10", "P11", "P13", "P23", "P30"), (0, 0))
NO_HSCT_CENSORING = {  # censor_at_hsct_in_remission = False: the relapse after HSCT / new therapy counts
    "P05": {"EFS": (200, 0), "RFS": (172, 0), "CIR": (200, 0, 1)},
    "P29": {"EFS": (250, 0), "RFS": (222, 0), "CIR": (250, 0, 1)},
}
MISSING_NOT_FAILURE = {"P07": (200, 1), "P09": (H, 2), "P13": (10, 1)}  # missing_day28_is_failure = False


def expected_table(expected: dict[str, tuple]) -> pd.DataFrame:
    rows = []
    for pid, (os_, efs, rfs, cir) in expected.items():
        rows.append((pid, "CIR", float(cir[0]), cir[1], cir[2]))
        rows.append((pid, "EFS", float(efs[0]), efs[1], None))
        rows.append((pid, "OS", float(os_[0]), os_[1], None))
        if rfs is not None:
            rows.append((pid, "RFS", float(rfs[0]), rfs[1], None))
    out = pd.DataFrame(rows, columns=["participant_id", "paramcd", "aval", "cnsr", "event_code"])
    out["event_code"] = out["event_code"].astype("Int64")
    return out.sort_values(["participant_id", "paramcd"]).reset_index(drop=True)


def assert_adtte(actual: pd.DataFrame, expected: dict[str, tuple]) -> None:
    want = expected_table(expected)
    got = actual[["participant_id", "paramcd", "aval", "cnsr", "event_code"]].astype(
        {"participant_id": object, "paramcd": object}
    )
    assert got[["participant_id", "paramcd"]].values.tolist() == want[["participant_id", "paramcd"]].values.tolist()
    for (_, g), (_, w) in zip(got.iterrows(), want.iterrows(), strict=True):
        label = f"{w['participant_id']} {w['paramcd']}"
        assert g["aval"] == pytest.approx(w["aval"], abs=1e-9), label
        assert g["cnsr"] == w["cnsr"], label
        assert (pd.isna(g["event_code"]) and pd.isna(w["event_code"])) or g["event_code"] == w["event_code"], label


@pytest.fixture(scope="module")
def cohort():
    return build(OUTCOME_COHORT)


def run(cohort, **settings):
    participants, events = cohort
    return derive_adtte(participants, events, AnalysisPlan(**settings))


def test_default_plan_expected_table(cohort):
    adtte = run(cohort)
    assert_adtte(adtte, EXPECTED_DEFAULT)


def test_efs_failure_day_0(cohort):
    expected = {pid: (v[0], EFS_FAILURE_DAY_0.get(pid, v[1]), v[2], v[3]) for pid, v in EXPECTED_DEFAULT.items()}
    adtte = run(cohort, efs_failure_day=0)
    assert_adtte(adtte, expected)


def test_no_censoring_at_hsct_in_remission(cohort):
    expected = {}
    for pid, (os_, efs, rfs, cir) in EXPECTED_DEFAULT.items():
        change = NO_HSCT_CENSORING.get(pid, {})
        expected[pid] = (os_, change.get("EFS", efs), change.get("RFS", rfs), change.get("CIR", cir))
    adtte = run(cohort, censor_at_hsct_in_remission=False)
    assert_adtte(adtte, expected)


def test_missing_day28_not_failure(cohort):
    expected = {pid: (v[0], MISSING_NOT_FAILURE.get(pid, v[1]), v[2], v[3]) for pid, v in EXPECTED_DEFAULT.items()}
    adtte = run(cohort, missing_day28_is_failure=False)
    assert_adtte(adtte, expected)


def test_columns_types_and_order(cohort):
    adtte = run(cohort)
    assert list(adtte.columns) == ADTTE_COLUMNS
    assert str(adtte["aval"].dtype) == "float64" and str(adtte["cnsr"].dtype) == "int64"
    assert str(adtte["event_code"].dtype) == "Int64"
    assert adtte.loc[adtte["paramcd"] != "CIR", "event_code"].isna().all()
    keys = list(zip(adtte["participant_id"], adtte["paramcd"], strict=True))
    assert keys == sorted(keys)
    assert set(adtte["paramcd"]) == {"OS", "EFS", "RFS", "CIR"}
    # the parameter labels travel with the rows
    assert adtte.loc[adtte["paramcd"] == "OS", "param"].unique().tolist() == ["Overall survival (days)"]


def test_not_infused_have_no_rows(cohort):
    adtte = run(cohort)
    assert not adtte["participant_id"].isin(["P17", "P18"]).any()


def test_descriptions(cohort):
    adtte = run(cohort)
    row = adtte.set_index(["participant_id", "paramcd"])
    assert row.loc[("P04", "EFS"), "evntdesc"] == "relapse (cd19_negative)"
    assert pd.isna(row.loc[("P04", "EFS"), "cnsdtdsc"])
    assert row.loc[("P06", "EFS"), "evntdesc"] == "treatment failure: no CR/CRi at the day-28 assessment"
    assert row.loc[("P07", "EFS"), "evntdesc"].startswith("treatment failure: no assessment in the day-28 window")
    assert row.loc[("P11", "EFS"), "evntdesc"] == "treatment failure: new anti-leukemia therapy before a CR/CRi"
    assert row.loc[("P02", "CIR"), "evntdesc"] == "death without relapse"
    assert row.loc[("P05", "EFS"), "cnsdtdsc"] == "HSCT in remission"
    assert row.loc[("P29", "EFS"), "cnsdtdsc"] == "new anti-leukemia therapy in remission"
    assert row.loc[("P01", "OS"), "cnsdtdsc"] == "12-month horizon"
    assert row.loc[("P12", "OS"), "cnsdtdsc"] == "last known alive"
    assert pd.isna(row.loc[("P12", "OS"), "evntdesc"])


def test_rfs_origin_is_first_cr(cohort):
    adtte = run(cohort)
    origin = adtte.loc[adtte["paramcd"] == "RFS"].set_index("participant_id")["origin_hours"]
    assert origin["P07"] == 60 * 24 and origin["P08"] == 35 * 24 and origin["P10"] == 32 * 24
    assert (adtte.loc[adtte["paramcd"] != "RFS", "origin_hours"] == 0).all()


def test_dst_is_elapsed_time(cohort):
    """grading.md, "Time": a daylight-saving change does not add or remove an hour."""
    adtte = run(cohort)
    os_ = adtte.loc[adtte["paramcd"] == "OS"].set_index("participant_id")["aval"]
    assert os_["P19"] == pytest.approx(47 / 24) and os_["P19"] != pytest.approx(2.0)
    assert os_["P20"] == pytest.approx(121 / 24) and os_["P20"] != pytest.approx(5.0)


def test_last_known_alive(cohort):
    participants, events = cohort
    lka = derive_var_last_known_alive(participants, events).set_index("participant_id")["last_known_alive_hours"] / 24
    expected = {
        "P01": 370,
        "P12": 120,
        "P15": 100,
        "P16": 91,
        "P25": 0,
        "P26": 150,
        "P27": 200,
        "P33": 0,
        "P19": 47 / 24,
    }
    for pid, days in expected.items():
        assert lka[pid] == pytest.approx(days), pid
    assert "P17" not in lka.index and "P18" not in lka.index


def test_treatment_failure_reasons(cohort):
    participants, events = cohort
    failures = derive_treatment_failure(participants, events, AnalysisPlan())
    got = sorted(zip(failures["participant_id"], failures["reason"], strict=True))
    assert got == [
        ("P06", "no_cr_day28"),
        ("P07", "no_assessment_day28"),
        ("P09", "no_assessment_day28"),
        ("P10", "no_cr_day28"),
        ("P11", "new_therapy_before_cr"),
        ("P13", "no_assessment_day28"),
        ("P23", "no_cr_day28"),
        ("P30", "no_cr_day28"),
    ]
    assert (failures["hours_from_infusion"] == 28 * 24).all()


def test_day42_mark_must_be_before_the_cut():
    """Infusion + 42 d exactly at the cut instant is not *before* it: failure not assessed."""
    participants, events = build(
        [
            Participant("A", (ra(28, "NR", 5.0), last_contact(41)), cut_days=42),
            Participant("B", (ra(28, "NR", 5.0), last_contact(41)), cut_days=42.5),
        ]
    )
    adtte = derive_adtte(participants, events, AnalysisPlan())
    efs = adtte.loc[adtte["paramcd"] == "EFS"].set_index("participant_id")
    assert (efs.loc["A", "aval"], efs.loc["A", "cnsr"]) == (41, 1)
    assert (efs.loc["B", "aval"], efs.loc["B", "cnsr"]) == (28, 0)


def test_death_on_day_42_does_not_excuse_a_missing_assessment():
    """'No assessment in days 21–42 with no death before day 42': a death at day 42.0 is not before it."""
    participants, events = build(
        [
            Participant("A", (death(42, "disease"),)),
            Participant("B", (death(41.9, "disease"),)),
        ]
    )
    adtte = derive_adtte(participants, events, AnalysisPlan())
    efs = adtte.loc[adtte["paramcd"] == "EFS"].set_index("participant_id")
    assert (efs.loc["A", "aval"], efs.loc["A", "cnsr"]) == (28, 0)
    assert (efs.loc["B", "aval"], efs.loc["B", "cnsr"]) == (pytest.approx(41.9), 0)


def test_relapse_before_infusion_is_not_an_event():
    participants, events = build([Participant("A", (relapse(-3), ra(28, "CR", 0.0), last_contact(100)))])
    adtte = derive_adtte(participants, events, AnalysisPlan())
    cir = adtte.loc[adtte["paramcd"] == "CIR"].iloc[0]
    assert (cir["aval"], cir["cnsr"], cir["event_code"]) == (100, 1, 0)


def test_date_queries(cohort):
    participants, events = cohort
    queries = derive_date_queries(participants, events)
    assert list(queries.columns) == ["participant_id", "kind", "detail"]
    got = list(zip(queries["participant_id"], queries["kind"], strict=True))
    assert got == [
        ("P14", "event_after_withdrawal"),
        ("P25", "death_before_infusion"),
        ("P26", "relapse_after_death"),
        ("P27", "last_contact_after_death"),
    ]
    detail = dict(zip(queries["kind"], queries["detail"], strict=True))
    assert "withdrawal at day 50.00" in detail["event_after_withdrawal"]
    assert "death" in detail["event_after_withdrawal"] and "used: every row" in detail["event_after_withdrawal"]
    assert "1.00 days before infusion" in detail["death_before_infusion"]
    assert "used: death at day 0" in detail["death_before_infusion"]
    assert "relapse at day 160.00 after death at day 150.00" in detail["relapse_after_death"]
    assert "used: the death" in detail["relapse_after_death"]
    assert "last contact at day 250.00 after death at day 200.00" in detail["last_contact_after_death"]
    pd.testing.assert_frame_equal(queries, derive_date_queries(participants, events))


def test_date_queries_not_infused_and_multiple_deaths():
    participants, events = build(
        [
            Participant(
                "A", (death(-7, "disease"),), cut_days=-5
            ),  # death 2 d before the cut; infusion recorded 5 d after
            Participant("B", (death(50, "disease"), death(60, "disease"))),
        ]
    )
    queries = derive_date_queries(participants, events)
    got = list(zip(queries["participant_id"], queries["kind"], strict=True))
    assert got == [("A", "death_before_infusion"), ("B", "multiple_deaths")]
    assert "not infused" in queries["detail"].iloc[0]
    assert "used: the earliest, day 50.00" in queries["detail"].iloc[1]


def test_no_queries_gives_typed_empty_table():
    participants, events = build([Participant("A", (last_contact(10),))])
    queries = derive_date_queries(participants, events)
    assert queries.empty and list(queries.columns) == ["participant_id", "kind", "detail"]


def test_every_infused_participant_has_os_efs_cir(cohort):
    participants, _ = cohort
    adtte = run(cohort)
    infused = set(participants.loc[participants["infused"], "participant_id"])
    for paramcd in ("OS", "EFS", "CIR"):
        assert set(adtte.loc[adtte["paramcd"] == paramcd, "participant_id"]) == infused
    assert len(EXPECTED_DEFAULT) + 2 == len(OUTCOME_COHORT) and len(OUTCOME_COHORT) >= 25
    assert not math.isnan(adtte["aval"].max())
