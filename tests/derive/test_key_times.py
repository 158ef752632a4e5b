"""The first fever and the last known alive, each derived once (analysis.derive.key_times) and read by every table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_crs import Person, build, death, med, temp

from analysis.derive.all_tables import derive_all_tables
from analysis.derive.key_times import derive_var_first_fever, derive_var_last_known_alive
from analysis.export.bundle import read_bundle
from analysis.export.ingest import ingest_bundle
from analysis.settings import AnalysisPlan
from pipelines.paths import DEMO_EXPORT

PLAN = AnalysisPlan()
SECOND = 1 / 3600

PEOPLE = [
    # 10 h 0 min 1 s: 10.000277… h, not a multiple of the 10⁻⁶ h tick of the CRS state
    Person("F1", [temp(2, 37.5), temp(10 + SECOND, 38.0), temp(30, 39.5)]),
    # 37.996 °C rounds to 38.00 °C (grading.md, "Fever"): a fever at 7 h 20 min 7 s
    Person("F2", [temp(5, 37.99), temp(7 + 20 / 60 + 7 * SECOND, 37.996)]),
    # a fever before infusion is not the first fever; a masking drug never stands in for one
    Person("F3", [temp(-3, 39.0), med(1, "dexamethasone"), temp(48 + 59 * SECOND, 38.6)]),
    # no fever at all
    Person("F4", [temp(12, 37.9)]),
    # not infused: no row
    Person("F5", [temp(12, 39.0)], infused=False),
]

EXPECTED_FIRST_FEVER_HOURS = {
    "F1": 10 + SECOND,
    "F2": 7 + 20 / 60 + 7 * SECOND,
    "F3": 48 + 59 * SECOND,
    "F4": np.nan,
}
"""Worked out by hand: the first temperature at or after infusion that rounds to ≥ 38.00 °C."""


@pytest.fixture(scope="module")
def processed():
    return build(PEOPLE)


def test_first_fever_expected_table(processed):
    got = derive_var_first_fever(*processed, PLAN)
    assert list(got.columns) == ["participant_id", "first_fever_time", "first_fever_hours"]
    assert got["participant_id"].tolist() == ["F1", "F2", "F3", "F4"]
    expected = pd.Series(EXPECTED_FIRST_FEVER_HOURS, dtype="float64")
    np.testing.assert_array_equal(got["first_fever_hours"].to_numpy(), expected.to_numpy())
    events = processed[1]
    expected_times = [
        events.loc[(events["participant_id"] == pid) & (events["hours_from_infusion"] == hours), "event_time"].iloc[0]
        for pid, hours in list(EXPECTED_FIRST_FEVER_HOURS.items())[:3]
    ]
    assert got["first_fever_time"].tolist()[:3] == expected_times
    assert pd.isna(got.loc[3, "first_fever_time"])


def test_crs_and_anakinra_show_the_same_first_fever_exactly(processed):
    tables = derive_all_tables(*processed, PLAN)
    crs = tables["crs"].set_index("participant_id")["first_fever_hours"]
    anakinra = tables["anakinra"].set_index("participant_id")["first_fever_hours"]
    np.testing.assert_array_equal(crs.to_numpy(), anakinra.reindex(crs.index).to_numpy())
    np.testing.assert_array_equal(crs.to_numpy(), pd.Series(EXPECTED_FIRST_FEVER_HOURS).to_numpy())
    # the CRS onset, on the tick grid, is the first fever to 10⁻⁶ h
    onset = tables["crs"].set_index("participant_id")["crs_onset_hours"]
    assert onset["F1"] == pytest.approx(10 + SECOND, abs=5e-7)
    assert onset["F1"] == 10.000278


def test_crs_and_anakinra_show_the_same_first_fever_exactly_on_the_demo():
    ingested = ingest_bundle(read_bundle(DEMO_EXPORT))
    tables = derive_all_tables(ingested.participants, ingested.events, PLAN)
    crs = tables["crs"].set_index("participant_id")["first_fever_hours"]
    anakinra = tables["anakinra"].set_index("participant_id")["first_fever_hours"]
    assert crs.notna().sum() > 20
    assert crs.index.tolist() == anakinra.index.tolist()
    np.testing.assert_array_equal(crs.to_numpy(), anakinra.to_numpy())
    # the value is the event's own hours_from_infusion (not rounded to the 10⁻⁶ h tick): PACER-001's
    # first fever is 104 h 23 min after infusion
    assert crs["PACER-001"] == 104 + 23 / 60


def test_last_known_alive_expected_table():
    people = [
        Person("L1", [temp(5, 37.0), temp(300, 37.0)]),  # the latest row of any type
        Person("L2", [temp(5, 37.0), death(100, "disease"), temp(150, 37.0)]),  # capped at the death
        Person("L3", [temp(-20, 37.0)]),  # only a row before infusion: at least day 0
        Person("L4", []),  # no row at all: day 0
        Person("L5", [temp(5, 37.0)], infused=False),  # not infused: no row
    ]
    got = derive_var_last_known_alive(*build(people))
    expected = pd.DataFrame(
        {
            "participant_id": pd.Series(["L1", "L2", "L3", "L4"], dtype="string"),
            "last_known_alive_hours": [300.0, 100.0, 0.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(got, expected)
