"""One death per participant, read by every table (adsl, adtte, icans, crs through the physiology, the analysis sets).

The rule (analysis.participant_vars.derive_vars_death): the earliest death row by event_time; at the
same instant the first line of the export; a death recorded before infusion at day 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_crs import Person, build, death, temp

from analysis.derive.all_tables import derive_all_tables
from analysis.derive.date_queries import derive_date_queries
from analysis.derive.physiology import prepare_participants
from analysis.derive.ticks import NEVER, to_hours
from analysis.participant_vars import derive_analysis_sets, derive_vars_death
from analysis.settings import AnalysisPlan

PLAN = AnalysisPlan()


def _event(hours: float, event_type: str, detail: str | None = None) -> dict:
    return {"hours": hours, "event_type": event_type, "value": None, "unit": None, "detail": detail, "end": None}


PEOPLE = [
    # two death rows at the same instant: the first line (infection) is the death; crs is not grade 5
    Person("P1", [temp(10, 39.0), death(100, "infection"), death(100, "crs")]),
    # two death rows at the same instant: icans first, crs second; ICANS grade 5, no CRS grade 5
    Person("P2", [temp(10, 39.0), death(50, "icans"), death(50, "crs")]),
    # a death at the same instant as a relapse, a last contact and a temperature
    Person(
        "P3",
        [
            temp(10, 39.0),
            _event(200, "relapse", "cd19_positive"),
            _event(200, "last_contact"),
            temp(200, 40.0),
            death(200, "crs"),
        ],
    ),
    # a death recorded 5 h before the infusion: used, at day 0
    Person("P4", [death(-5, "other"), temp(3, 39.0)]),
    # two deaths at different times: the earlier (disease, at 300 h) is the death
    Person("P5", [death(400, "icans"), death(300, "disease")]),
    # no death: followed to 2000 h
    Person("P6", [temp(10, 38.0)]),
]

EXPECTED_DEATH = pd.DataFrame(
    {
        "participant_id": ["P1", "P2", "P3", "P4", "P5"],
        "death_hours": [100.0, 50.0, 200.0, 0.0, 300.0],
        "death_cause": ["infection", "icans", "crs", "other", "disease"],
    }
)
"""The expected death of each participant, worked out by hand from the rule."""


@pytest.fixture(scope="module")
def processed():
    return build(PEOPLE)


@pytest.fixture(scope="module")
def tables(processed):
    return derive_all_tables(*processed, PLAN)


def test_derive_vars_death_expected_table(processed):
    got = derive_vars_death(*processed)
    expected_lines = pd.Series([3, 6, 12, 13, 16], dtype="int64", name="death_line")
    pd.testing.assert_frame_equal(
        got[["participant_id", "death_hours", "death_cause"]].astype(object),
        EXPECTED_DEATH.astype(object),
    )
    # the line of the row used: the first of the tied rows (P1 line 3, not 4; P2 line 6, not 7)
    events = processed[1]
    assert events.loc[events["event_type"] == "death", ["participant_id", "line", "detail"]].values.tolist() == [
        ["P1", 3, "infection"],
        ["P1", 4, "crs"],
        ["P2", 6, "icans"],
        ["P2", 7, "crs"],
        ["P3", 12, "crs"],
        ["P4", 13, "other"],
        ["P5", 16, "disease"],
        ["P5", 15, "icans"],
    ]
    assert got["death_line"].tolist() == expected_lines.tolist()


def test_adsl_reads_the_one_death(tables):
    adsl = tables["adsl"].set_index("participant_id")
    assert adsl["death"].tolist() == [True, True, True, True, True, False]
    assert adsl["death_cause"].tolist()[:5] == ["infection", "icans", "crs", "other", "disease"]
    assert pd.isna(adsl.loc["P6", "death_cause"])
    assert (adsl["death_days"] * 24).tolist()[:5] == pytest.approx([100.0, 50.0, 200.0, 0.0, 300.0])
    assert np.isnan(adsl.loc["P6", "death_days"])
    # the last known alive is capped at the death: P3's rows at 200 h are at the death itself
    assert (adsl["last_known_alive_days"] * 24).tolist() == pytest.approx([100.0, 50.0, 200.0, 0.0, 300.0, 10.0])


def test_adtte_reads_the_one_death(tables):
    adtte = tables["adtte"]
    os_ = adtte.loc[adtte["paramcd"] == "OS"].set_index("participant_id")
    assert (os_["aval"] * 24).tolist() == pytest.approx([100.0, 50.0, 200.0, 0.0, 300.0, 10.0])
    assert os_["cnsr"].tolist() == [0, 0, 0, 0, 0, 1]
    assert os_["evntdesc"].tolist()[:5] == ["death"] * 5
    cir = adtte.loc[adtte["paramcd"] == "CIR"].set_index("participant_id")
    # P3: the relapse at the instant of the death is the event (the declared order); others die without relapse
    assert cir["event_code"].tolist() == [2, 2, 1, 2, 2, 0]
    assert (cir["aval"] * 24).tolist() == pytest.approx([100.0, 50.0, 200.0, 0.0, 300.0, 10.0])


def test_icans_reads_the_one_death(tables):
    icans = tables["icans"].set_index("participant_id")
    # P2's death is from ICANS (grade 5 at 50 h); P5's ICANS death row is not its death (disease, earlier)
    assert icans["icans_max_grade"].tolist() == [0, 5, 0, 0, 0, 0]
    assert icans.loc["P2", "icans_onset_hours"] == 50.0
    assert np.isnan(icans.loc["P5", "icans_onset_hours"])


def test_crs_reads_the_one_death(tables):
    crs = tables["crs"].set_index("participant_id")
    # grade 5 only for P3 (crs, the first row at 200 h); P1 and P2 have a crs row tied behind another cause
    assert crs["crs_death"].tolist() == [False, False, True, False, False, False]
    assert crs["crs_max_grade"].tolist() == [1, 1, 5, 0, 0, 1]
    # follow-up ends at the death (P4: at day 0, so no state and no episode)
    assert crs["crs_followed_to_hours"].tolist() == [100.0, 50.0, 200.0, 0.0, 300.0, 1440.0]
    assert crs["crs_episodes"].tolist() == [1, 1, 1, 0, 0, 1]


def test_physiology_reads_the_one_death(processed):
    prepared = prepare_participants(*processed, PLAN).set_index("participant_id")
    death_ticks = prepared["death"].to_numpy()
    assert to_hours(death_ticks[:5]).tolist() == [100.0, 50.0, 200.0, 0.0, 300.0]
    assert death_ticks[5] == NEVER
    assert prepared["death_cause"].tolist() == ["infection", "icans", "crs", "other", "disease", ""]


def test_analysis_sets_read_the_one_death(processed):
    participants, events = processed
    short = participants.assign(cut_hours=500.0, data_end_hours=500.0)
    sets = derive_analysis_sets(short, events).set_index("participant_id")
    # 500 h of follow-up is short of day 30 (720 h): evaluable only by a death before day 30
    # (P4's death before infusion counts at day 0; P5 dies at 300 h; P6 is alive)
    assert sets["crs_evaluable"].tolist() == [True, True, True, True, True, False]
    assert sets["efficacy_evaluable"].tolist() == [True, True, True, True, True, False]
    assert sets["safety"].tolist() == [True] * 6


def test_a_death_not_infused_has_no_hours():
    participants, events = build([Person("P7", [death(10, "disease")], infused=False)])
    got = derive_vars_death(participants, events)
    assert got["participant_id"].tolist() == ["P7"]
    assert np.isnan(got.loc[0, "death_hours"])
    assert got.loc[0, "death_cause"] == "disease"


def test_date_queries_name_the_death_used():
    participants, events = build(
        [
            Person(
                "Q1",
                [
                    death(48, "infection"),
                    death(48, "crs"),
                    _event(72, "relapse", "cd19_positive"),
                    _event(96, "last_contact"),
                ],
            )
        ]
    )
    queries = derive_date_queries(participants, events)
    assert queries.values.tolist() == [
        [
            "Q1",
            "last_contact_after_death",
            "last contact at day 4.00 after death at day 2.00; used: the death; last known alive capped at day 2.00",
        ],
        ["Q1", "multiple_deaths", "2 death rows: day 2.00, day 2.00; used: the earliest, day 2.00"],
        [
            "Q1",
            "relapse_after_death",
            "relapse at day 3.00 after death at day 2.00; used: the death, the relapse is ignored",
        ],
    ]
