"""Response: day-28 response, MRD, best response within 3 months, first CR/CRi (grading.md,
"Response and 12-month outcomes"), on hand-built participants with an explicit expected table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from builders_outcomes import OUTCOME_COHORT, Participant, build, ra, temperature

from analysis.derive.response import RESPONSE_COLUMNS, derive_response
from analysis.settings import AnalysisPlan

NA = None
COHORT = [
    Participant("R01", (ra(28, "CR", 0.0),)),  # exactly day 28
    Participant("R02", (ra(20.99, "CR", 0.0), ra(43, "CR", 0.0))),  # both just outside days 21-42
    Participant("R03", (ra(21, "PR", 3.0),)),  # day 21: inside (both ends included)
    Participant("R04", (ra(42, "CRi", 0.0),)),  # day 42: inside
    Participant("R05", (ra(42.01, "CR", 0.0),)),  # just after day 42: outside
    Participant("R06", (ra(25, "NR", 40.0), ra(31, "CR", 0.0))),  # 3 d before vs 3 d after: the earlier
    Participant("R07", (ra(26, "NR", 40.0), ra(29, "CR", 0.0))),  # 2 vs 1 d: the nearer (later)
    Participant("R08", (ra(28, "CR", 0.01),)),  # MRD exactly 0.01 %: not negative
    Participant("R09", (ra(28, "CR", 0.0099),)),  # MRD just below: negative
    Participant("R10", (ra(28, "CR"),)),  # no MRD value: NA
    Participant(
        "R11", (ra(28, "PR", 2.0), ra(91, "CRi", 0.0), ra(120, "CR", 0.0))
    ),  # CRi by day 91; first CR/CRi at 91
    Participant("R12", (ra(28, "PR", 2.0), ra(91.01, "CR", 0.0))),  # CR just after day 91: not within 3 months
    Participant("R13", (ra(-5, "CR", 0.0), ra(28, "NR", 30.0))),  # pre-infusion assessment ignored
    Participant("R14", (ra(28, "cr", 0.0), ra(60, "Cri", 0.0))),  # codes matched case-insensitively
    Participant("R15", (ra(14, "CRi", 0.0), ra(28, "CR", 0.0))),  # best: CR beats CRi; first at 14
    Participant("R16", (ra(28, "not_evaluable"),)),  # not evaluable at day 28
    Participant("R17", (temperature(3),)),  # no assessment at all
    Participant("R18", (ra(28, "CR", 0.0),), not_infused=True),  # not infused: no row
]

# participant: response_day28, response_day28 day, mrd %, mrd_negative, cr_cri_day28, equidistant,
#              best_response_3mo, best_cr_cri_3mo, first CR/CRi day
EXPECTED = {
    "R01": ("CR", 28, 0.0, True, True, False, "CR", True, 28),
    "R02": (NA, NA, NA, NA, False, False, "CR", True, 20.99),
    "R03": ("PR", 21, 3.0, False, False, False, "PR", False, NA),
    "R04": ("CRi", 42, 0.0, True, True, False, "CRi", True, 42),
    "R05": (NA, NA, NA, NA, False, False, "CR", True, 42.01),
    "R06": ("NR", 25, 40.0, False, False, True, "CR", True, 31),
    "R07": ("CR", 29, 0.0, True, True, False, "CR", True, 29),
    "R08": ("CR", 28, 0.01, False, True, False, "CR", True, 28),
    "R09": ("CR", 28, 0.0099, True, True, False, "CR", True, 28),
    "R10": ("CR", 28, NA, NA, True, False, "CR", True, 28),
    "R11": ("PR", 28, 2.0, False, False, False, "CRi", True, 91),
    "R12": ("PR", 28, 2.0, False, False, False, "PR", False, 91.01),
    "R13": ("NR", 28, 30.0, False, False, False, "NR", False, NA),
    "R14": ("CR", 28, 0.0, True, True, False, "CR", True, 28),
    "R15": ("CR", 28, 0.0, True, True, False, "CR", True, 14),
    "R16": ("not_evaluable", 28, NA, NA, False, False, "not_evaluable", False, NA),
    "R17": (NA, NA, NA, NA, False, False, NA, False, NA),
}


@pytest.fixture(scope="module")
def response():
    participants, events = build(COHORT)
    return derive_response(participants, events, AnalysisPlan())


def _same(a, b) -> bool:
    if b is None:
        return pd.isna(a)
    if isinstance(b, float | int) and not isinstance(b, bool):
        return not pd.isna(a) and a == pytest.approx(b)
    return not pd.isna(a) and a == b


def test_expected_table(response):
    assert response["participant_id"].tolist() == sorted(EXPECTED)
    got = response.set_index("participant_id")
    names = [
        "response_day28",
        "response_day28_hours",
        "mrd_day28_pct",
        "mrd_negative_day28",
        "cr_cri_day28",
        "day28_equidistant",
        "best_response_3mo",
        "best_cr_cri_3mo",
        "first_cr_hours",
    ]
    for pid, want in EXPECTED.items():
        for name, value in zip(names, want, strict=True):
            if name.endswith("_hours") and value is not None:
                value = value * 24
            assert _same(got.loc[pid, name], value), f"{pid} {name}: {got.loc[pid, name]!r} != {value!r}"


def test_columns_and_types(response):
    assert list(response.columns) == RESPONSE_COLUMNS
    assert str(response["mrd_negative_day28"].dtype) == "boolean"
    assert response["cr_cri_day28"].dtype == np.bool_ and response["best_cr_cri_3mo"].dtype == np.bool_
    assert str(response["response_day28"].dtype) == "string"


def test_window_is_a_setting():
    """[choice response_window_days]: widening the window to days 14-42 picks up a day-20.99 assessment."""
    participants, events = build([COHORT[1]])
    out = derive_response(participants, events, AnalysisPlan(response_window_days=(14.0, 42.0)))
    assert out["response_day28"].tolist() == ["CR"] and out["response_day28_hours"].iloc[0] == pytest.approx(20.99 * 24)


def test_outcome_cohort_day28_responses():
    """The outcome cohort of test_adtte: the day-28 response each EFS row relies on."""
    participants, events = build(OUTCOME_COHORT)
    got = derive_response(participants, events, AnalysisPlan()).set_index("participant_id")["response_day28"]
    assert got["P08"] == "CR"  # day 35 within the window, day 14 outside
    assert pd.isna(got["P09"])  # day 45 outside
    assert got["P10"] == "NR"  # days 24 and 32 equally near: the earlier
    assert got["P34"] == "CR"  # exactly day 42: inside
    assert pd.isna(got["P07"]) and got["P06"] == "NR"
