"""Properties of the CRS grading — grading.md, "CRS, ASTCT 2019" and "CRS, Penn scale".

- Making any reading worse (a higher temperature, a lower SBP, a higher vasopressor dose, a more
  intensive oxygen device, one more bolus) never lowers the ASTCT or the Penn-approximate grade.
- Row order and how participants are split across calls never change a result.

Events sit on a half-hour grid so that coincident times (same-time readings, an interval ending
where another starts, exactly 24 h or 72 h apart) are common.
"""

from __future__ import annotations

import random

import pandas as pd
from builders_crs import Person, bolus, build, death, med, o2, sbp, temp, vaso
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.derive.crs import build_crs_tables
from analysis.settings import AnalysisPlan

PLAN = AnalysisPlan()
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HOURS = st.integers(min_value=-4, max_value=240).map(lambda k: k / 2)
DURATION = st.one_of(st.none(), st.integers(min_value=1, max_value=60).map(lambda k: k / 2))
DOSES = {
    "norepinephrine": [0.05, 0.14, 0.28, 0.4],
    "epinephrine": [0.05, 0.14, 0.2],
    "dopamine": [5.0, 10.0],
    "phenylephrine": [1.0, 2.86],
    "vasopressin": [0.0003],
}
DEVICES = [
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "simple_face_mask",
    "venturi_mask",
    "nonrebreather_mask",
    "cpap",
    "bipap",
    "mechanical_ventilation",
]
DEVICE_RANK = {d: i for i, d in enumerate(DEVICES)}  # an order that never lowers the hypoxia level or Penn grade


@st.composite
def events_strategy(draw) -> list[dict]:
    rows: list[dict] = []
    for _ in range(draw(st.integers(0, 12))):
        rows.append(temp(draw(HOURS), draw(st.sampled_from([36.5, 37.9, 38.0, 38.6, 39.5]))))
    for _ in range(draw(st.integers(0, 8))):
        rows.append(sbp(draw(HOURS), draw(st.sampled_from([70, 85, 89, 90, 110]))))
    for _ in range(draw(st.integers(0, 3))):
        rows.append(bolus(draw(HOURS)))
    for _ in range(draw(st.integers(0, 4))):
        drug = draw(st.sampled_from(sorted(DOSES)))
        start = draw(HOURS)
        duration = draw(DURATION)
        rows.append(
            vaso(start, drug, draw(st.sampled_from(DOSES[drug])), None if duration is None else start + duration)
        )
    for _ in range(draw(st.integers(0, 3))):
        start = draw(HOURS)
        duration = draw(DURATION)
        rows.append(
            o2(
                start,
                draw(st.sampled_from(DEVICES)),
                draw(st.sampled_from([2.0, 6.0, 6.5, 10.0])),
                None if duration is None else start + duration,
            )
        )
    for _ in range(draw(st.integers(0, 3))):
        rows.append(
            med(draw(HOURS), draw(st.sampled_from(["anakinra", "tocilizumab", "dexamethasone", "acetaminophen"])))
        )
    if draw(st.booleans()) and draw(st.booleans()):
        rows.append(death(draw(st.integers(0, 480).map(lambda k: k / 2)), draw(st.sampled_from(["crs", "other"]))))
    return rows


PERSON = st.builds(
    lambda events, age, data_end: Person("P", events, age=age, data_end=data_end),
    events_strategy(),
    st.sampled_from([1.5, 9.9, 10.0, 17.0]),
    st.sampled_from([30.0, 100.0, 2000.0]),
)


def _worsen(row: dict, how: int) -> dict | None:
    """One row made worse, or None when this row cannot be."""
    row = dict(row)
    if row["event_type"] == "temperature":
        row["value"] = row["value"] + [0.1, 0.5, 2.0][how % 3]
    elif row["event_type"] == "systolic_bp":
        row["value"] = row["value"] - [1, 5, 20][how % 3]
    elif row["event_type"] == "vasopressor":
        row["value"] = row["value"] * [1.5, 3.0, 10.0][how % 3]
    elif row["event_type"] == "oxygen":
        rank = DEVICE_RANK[row["detail"]]
        if row["detail"] == "nasal_cannula" and row["value"] <= 6.0:
            row["value"] = 8.0
        elif rank + 1 < len(DEVICES):
            row["detail"] = DEVICES[min(len(DEVICES) - 1, rank + 1 + how % 3)]
        else:
            return None
    else:
        return None
    return row


def _grades(person: Person) -> tuple[int, int]:
    crs = build_crs_tables(*build([person]), PLAN)["crs"]
    return int(crs["crs_max_grade"].iloc[0]), int(crs["crs_max_grade_penn"].iloc[0])


@SETTINGS
@given(PERSON, st.integers(0, 10_000), st.integers(0, 2), st.one_of(st.none(), HOURS))
def test_worse_reading_never_lowers_a_grade(person, pick, how, extra_bolus):
    before = _grades(person)
    events = list(person.events)
    worsened = [i for i, row in enumerate(events) if _worsen(row, how) is not None]
    if worsened:
        i = worsened[pick % len(worsened)]
        events[i] = _worsen(events[i], how)
    if extra_bolus is not None:
        events.append(bolus(extra_bolus))
    after = _grades(Person(person.participant_id, events, age=person.age, data_end=person.data_end))
    assert after[0] >= before[0], f"ASTCT {before[0]} -> {after[0]}"
    assert after[1] >= before[1], f"Penn {before[1]} -> {after[1]}"


def _tables(people: list[Person], seed: int | None = None) -> dict[str, pd.DataFrame]:
    participants, events = build(people)
    if seed is not None:
        events = events.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        participants = participants.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return build_crs_tables(participants, events, PLAN)


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for name in ("crs", "crs_timeline", "queries"):
        pd.testing.assert_frame_equal(a[name].reset_index(drop=True), b[name].reset_index(drop=True), check_dtype=False)


@SETTINGS
@given(st.lists(PERSON, min_size=1, max_size=4), st.integers(0, 2**31 - 1))
def test_row_order_never_changes_a_result(people, seed):
    people = [Person(f"P{i}", p.events, age=p.age, data_end=p.data_end) for i, p in enumerate(people)]
    _assert_same(_tables(people), _tables(people, seed=seed))


@SETTINGS
@given(st.lists(PERSON, min_size=2, max_size=4), st.integers(0, 2**31 - 1))
def test_splitting_participants_never_changes_a_result(people, seed):
    people = [Person(f"P{i}", p.events, age=p.age, data_end=p.data_end) for i, p in enumerate(people)]
    together = _tables(people)
    shuffled = people[:]
    random.Random(seed).shuffle(shuffled)
    cut = 1 + seed % (len(people) - 1)
    parts = [_tables(shuffled[:cut]), _tables(shuffled[cut:])]
    joined = {
        name: pd.concat([p[name] for p in parts], ignore_index=True)
        .sort_values("participant_id", kind="mergesort")
        .reset_index(drop=True)
        for name in ("crs", "crs_timeline", "queries")
    }
    _assert_same(together, joined)
