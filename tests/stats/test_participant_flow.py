"""The participant flow closes: every box's outflows sum to its count (by hand, and over simulated cohorts)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis.derive.all_tables import derive_all_tables
from analysis.export.bundle import read_bundle
from analysis.export.ingest import ingest_bundle
from analysis.settings import AnalysisPlan
from analysis.simulate import simulate_export
from analysis.stats.ard import to_frame
from analysis.stats.participant_flow import FLOW_BOXES, flow_outflows, participant_flow_rows


def adsl(*rows: tuple) -> pd.DataFrame:
    columns = ["infused", "crs_evaluable", "efficacy_evaluable", "death", "withdrawn", "completed_12_months"]
    return pd.DataFrame(list(rows), columns=columns)


def test_flow_by_hand():
    frame = adsl(
        (False, False, False, False, False, False),  # awaiting infusion
        (False, False, False, True, False, False),  # died before infusion
        (True, False, False, False, False, False),  # infused 10 days ago: in the CRS window
        (True, False, False, False, True, False),  # withdrew on day 12
        (True, True, False, False, False, False),  # day 35: CRS-evaluable, before day 42
        (True, True, True, True, False, False),  # died on day 20: evaluable for both
        (True, True, True, False, True, False),  # withdrew on day 100
        (True, True, True, False, False, True),  # completed 12 months
        (True, True, True, True, False, True),  # died after completing 12 months: completed first
        (True, True, True, False, False, False),  # in follow-up at the cut
    )
    flow = flow_outflows(frame)
    assert flow["enrolled"] == {
        "total": 10,
        "infused": 8,
        "died_before_infusion": 1,
        "withdrew_before_infusion": 0,
        "awaiting_infusion": 1,
        "left": 2,
    }
    assert flow["infused"] == {
        "total": 8,
        "crs_evaluable": 6,
        "withdrew_before_crs_evaluable": 1,
        "in_crs_window": 1,
        "left": 2,
    }
    assert flow["crs_evaluable"] == {
        "total": 6,
        "efficacy_evaluable": 5,
        "withdrew_before_efficacy_evaluable": 0,
        "before_day_42": 1,
        "left": 1,
    }
    assert flow["efficacy_evaluable"] == {
        "total": 5,
        "completed_12_months": 2,
        "died": 1,
        "withdrew": 1,
        "in_follow_up": 1,
        "left": 3,
    }
    rows = to_frame(participant_flow_rows(frame))
    assert set(rows["analysis"]) == {"participant_flow"} and set(rows["stat_name"]) == {"n"}
    assert len(rows) == sum(len(outflows) + 2 for outflows in FLOW_BOXES.values())


def assert_flow_closes(flow: dict[str, dict[str, int]], frame: pd.DataFrame) -> None:
    for box, outflows in FLOW_BOXES.items():
        assert sum(flow[box][name] for name in outflows) == flow[box]["total"], box
        assert flow[box]["left"] == flow[box]["total"] - flow[box][outflows[0]], box
    # each box's first outflow is the next box, and the boxes are the analysis sets
    assert flow["enrolled"]["infused"] == flow["infused"]["total"] == int(frame["infused"].sum())
    assert flow["infused"]["crs_evaluable"] == flow["crs_evaluable"]["total"] == int(frame["crs_evaluable"].sum())
    assert (
        flow["crs_evaluable"]["efficacy_evaluable"]
        == flow["efficacy_evaluable"]["total"]
        == int(frame["efficacy_evaluable"].sum())
    )
    assert flow["enrolled"]["total"] == len(frame)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate_export(60, 11, tmp_path_factory.mktemp("flow"), n_not_infused=6)


@pytest.mark.parametrize("cut", [date(2025, 6, 1), date(2026, 3, 1), date(2026, 10, 15), None])
def test_the_flow_closes_over_simulated_cohorts_at_several_cuts(simulated: Path, cut: date | None):
    result = ingest_bundle(read_bundle(simulated), data_cut=cut)
    tables = derive_all_tables(result.participants, result.events, AnalysisPlan())
    frame = tables["adsl"]
    flow = flow_outflows(frame)
    assert_flow_closes(flow, frame)
    assert flow["efficacy_evaluable"]["died"] + flow["enrolled"]["died_before_infusion"] <= int(frame["death"].sum())
