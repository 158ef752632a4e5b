"""Derived-vs-reported grade discrepancies — outputs.md ``queries.parquet``; grading.md, CRS and ICANS ASTCT 2019."""

from __future__ import annotations

import pandas as pd

from analysis.derive.reconciliation import derive_grade_discrepancies

CRS = pd.DataFrame(
    {
        "participant_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
        "crs_max_grade": [3, 2, 1, 4, 5, 0, 3],
        "crs_grade_reported_max": pd.array([2, 2, pd.NA, 3, 4, 1, 2], dtype="Int64"),
    }
)

ICANS = pd.DataFrame(
    {
        "participant_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7"],
        "icans_max_grade": [2, 0, 0, 0, 0, 1, 0],
        "icans_grade_reported_max": pd.array([3, 0, pd.NA, pd.NA, 0, 1, pd.NA], dtype="Int64"),
    }
)

# participant, start, end, grade, hypotension level, hypoxia level, fever
TIMELINE = pd.DataFrame(
    [
        ("R1", 5.0, 12.0, 1, 0, 0, True),
        ("R1", 12.0, 20.0, 3, 3, 0, True),  # norepinephrine from 12 h ...
        ("R1", 20.0, 30.5, 3, 3, 2, False),  # ... still running with low-flow oxygen to 30.5 h
        ("R1", 30.5, 40.0, 2, 0, 2, False),
        ("R2", 3.0, 10.0, 2, 2, 0, True),
        ("R4", 40.0, 50.0, 3, 3, 3, True),
        ("R4", 50.0, 60.0, 4, 4, 4, False),
        ("R5", 10.0, 30.0, 3, 0, 3, True),  # the timeline reaches 3; grade 5 is the CRS death
        ("R7", 10.0, 12.0, 3, 0, 3, True),
        ("R7", 12.0, 14.0, 2, 0, 2, True),
        ("R7", 14.0, 16.0, 3, 0, 3, True),  # a second run at grade 3: the first one is described
    ],
    columns=["participant_id", "start_hours", "end_hours", "crs_grade", "hypotension_level", "hypoxia_level", "fever"],
)


def test_discrepancies_with_the_timeline() -> None:
    expected = pd.DataFrame(
        {
            "participant_id": ["R1", "R1", "R4", "R5", "R6", "R7"],
            "kind": [
                "crs_grade_discrepancy",
                "icans_grade_discrepancy",
                "crs_grade_discrepancy",
                "crs_grade_discrepancy",
                "crs_grade_discrepancy",
                "crs_grade_discrepancy",
            ],
            "detail": [
                "derived ASTCT 3, reported 2; derived grade driven by: one vasopressor running 12.0–30.5 h",
                "derived ASTCT 2, reported 3",
                "derived ASTCT 4, reported 3; derived grade driven by: two or more vasopressors running and "
                "CPAP, BiPAP or mechanical ventilation 50.0–60.0 h",
                "derived ASTCT 5, reported 4; derived grade driven by: death with cause crs",
                "derived ASTCT 0, reported 1; derived grade driven by: no CRS episode (no fever after infusion starting "
                "one within the CRS window)",
                "derived ASTCT 3, reported 2; derived grade driven by: high-flow oxygen or a mask 10.0–12.0 h",
            ],
            "derived_grade": [3, 2, 4, 5, 0, 3],
            "reported_grade": [2, 3, 3, 4, 1, 2],
        }
    )
    pd.testing.assert_frame_equal(derive_grade_discrepancies(CRS, ICANS, TIMELINE), expected)


def test_discrepancies_without_the_timeline() -> None:
    expected = pd.DataFrame(
        {
            "participant_id": ["R1", "R1", "R4", "R5", "R6", "R7"],
            "kind": [
                "crs_grade_discrepancy",
                "icans_grade_discrepancy",
                "crs_grade_discrepancy",
                "crs_grade_discrepancy",
                "crs_grade_discrepancy",
                "crs_grade_discrepancy",
            ],
            "detail": [
                "derived ASTCT 3, reported 2",
                "derived ASTCT 2, reported 3",
                "derived ASTCT 4, reported 3",
                "derived ASTCT 5, reported 4",
                "derived ASTCT 0, reported 1",
                "derived ASTCT 3, reported 2",
            ],
            "derived_grade": [3, 2, 4, 5, 0, 3],
            "reported_grade": [2, 3, 3, 4, 1, 2],
        }
    )
    pd.testing.assert_frame_equal(derive_grade_discrepancies(CRS, ICANS, None), expected)


def test_grade_1_is_driven_by_fever_or_the_episode_floor() -> None:
    crs = pd.DataFrame(
        {
            "participant_id": ["A", "B"],
            "crs_max_grade": [1, 1],
            "crs_grade_reported_max": pd.array([2, 0], dtype="Int64"),
        }
    )
    icans = pd.DataFrame(
        {
            "participant_id": ["A", "B"],
            "icans_max_grade": [0, 0],
            "icans_grade_reported_max": pd.array([pd.NA, pd.NA], dtype="Int64"),
        }
    )
    timeline = pd.DataFrame(
        [("A", 3.0, 9.0, 1, 0, 0, True), ("B", 3.0, 4.0, 1, 0, 0, False)],
        columns=[
            "participant_id",
            "start_hours",
            "end_hours",
            "crs_grade",
            "hypotension_level",
            "hypoxia_level",
            "fever",
        ],
    )
    details = derive_grade_discrepancies(crs, icans, timeline)["detail"].tolist()
    assert details == [
        "derived ASTCT 1, reported 2; derived grade driven by: fever 3.0–9.0 h",
        "derived ASTCT 1, reported 0; derived grade driven by: episode ongoing without fever 3.0–4.0 h",
    ]


def test_no_discrepancy() -> None:
    crs = CRS.assign(crs_grade_reported_max=pd.array([pd.NA] * 7, dtype="Int64"))
    icans = ICANS.assign(icans_grade_reported_max=ICANS["icans_max_grade"].astype("Int64"))
    result = derive_grade_discrepancies(crs, icans, TIMELINE)
    assert result.empty
    assert list(result.columns) == ["participant_id", "kind", "detail", "derived_grade", "reported_grade"]
