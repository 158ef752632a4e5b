"""The generic derive_param_tte (admiral pattern), on tiny candidate frames with explicit expected tables.

Times are hours from infusion in the candidate frames; aval is days from the origin.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.derive.tte import ADTTE_COLUMNS, CensorSource, EventSource, derive_param_tte

DEATH = EventSource("death", event_types=("death",), evntdesc="death")
RELAPSE = EventSource("relapse", event_types=("relapse",), evntdesc="relapse")
LKA = CensorSource("lka", cnsr=1, dataset_name="lka", cnsdtdsc="last known alive")
HSCT = CensorSource("hsct", cnsr=3, event_types=("hsct",), cnsdtdsc="HSCT in remission", ends_follow_up=True)


def frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["participant_id", "event_type", "hours_from_infusion"])


def lka(rows: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"participant_id": list(rows), "hours_from_infusion": list(rows.values())})


def origin(ids, hours=0.0) -> pd.DataFrame:
    return pd.DataFrame({"participant_id": list(ids), "origin_hours": hours})


def days(hours: float) -> float:
    return round(hours / 24, 6)


def table(out: pd.DataFrame) -> list[tuple]:
    return [(r.participant_id, round(r.aval, 6), r.cnsr, r.source) for r in out.itertuples()]


def test_first_event_else_last_censoring():
    ev = frame([("A", "death", 240.0), ("A", "relapse", 120.0), ("B", "hsct_other", 50.0)])
    out = derive_param_tte(
        origin("ABC"),
        [DEATH, RELAPSE],
        [LKA],
        "EFS",
        "Event-free survival",
        source_datasets={"events": ev, "lka": lka({"A": 240.0, "B": 480.0, "C": 0.0})},
    )
    assert table(out) == [("A", 5.0, 0, "relapse"), ("B", 20.0, 1, "lka"), ("C", 0.0, 1, "lka")]
    assert list(out.columns) == ADTTE_COLUMNS
    assert out["paramcd"].tolist() == ["EFS"] * 3 and out["param"].iloc[0] == "Event-free survival"
    assert out["evntdesc"].tolist()[0] == "relapse" and pd.isna(out["cnsdtdsc"].iloc[0])
    assert out["cnsdtdsc"].tolist()[1:] == ["last known alive"] * 2 and out["evntdesc"].iloc[1:].isna().all()
    assert out["event_code"].isna().all() and str(out["event_code"].dtype) == "Int64"


def test_last_of_several_censorings():
    late = CensorSource("late", cnsr=7, dataset_name="lka2", cnsdtdsc="late")
    out = derive_param_tte(
        origin("A"),
        [DEATH],
        [LKA, late],
        "X",
        source_datasets={"events": frame([]), "lka": lka({"A": 100.0}), "lka2": lka({"A": 300.0})},
    )
    assert table(out) == [("A", 12.5, 7, "late")]


def test_event_beats_censoring_at_the_same_time():
    ev = frame([("A", "death", 96.0)])
    out = derive_param_tte(origin("A"), [DEATH], [LKA], "OS", source_datasets={"events": ev, "lka": lka({"A": 96.0})})
    assert table(out) == [("A", 4.0, 0, "death")]


def test_declaration_order_breaks_ties_between_events():
    ev = frame([("A", "death", 96.0), ("A", "relapse", 96.0)])
    data = {"events": ev, "lka": lka({"A": 96.0})}
    assert derive_param_tte(origin("A"), [RELAPSE, DEATH], [LKA], "X", source_datasets=data)["source"].tolist() == [
        "relapse"
    ]
    assert derive_param_tte(origin("A"), [DEATH, RELAPSE], [LKA], "X", source_datasets=data)["source"].tolist() == [
        "death"
    ]


def test_terminal_censoring_ends_follow_up():
    """HSCT in remission at 100 h: a later relapse and a later LKA are ignored; an earlier relapse counts."""
    ev = frame(
        [
            ("A", "hsct", 100.0),
            ("A", "relapse", 200.0),
            ("B", "relapse", 50.0),
            ("B", "hsct", 100.0),
            ("C", "hsct", 100.0),
            ("C", "relapse", 100.0),
        ]
    )
    out = derive_param_tte(
        origin("ABC"),
        [RELAPSE],
        [HSCT, LKA],
        "X",
        source_datasets={"events": ev, "lka": lka({"A": 300.0, "B": 300.0, "C": 300.0})},
    )
    assert table(out) == [("A", days(100), 3, "hsct"), ("B", days(50), 0, "relapse"), ("C", days(100), 0, "relapse")]


def test_terminal_censoring_wins_a_tie_with_lka():
    ev = frame([("A", "hsct", 100.0)])
    out = derive_param_tte(
        origin("A"), [RELAPSE], [LKA, HSCT], "X", source_datasets={"events": ev, "lka": lka({"A": 100.0})}
    )
    assert table(out) == [("A", days(100), 3, "hsct")]


def test_horizon():
    """Event after the horizon and censoring at or after it -> cnsr 2 at the horizon; event at it stays."""
    h = 365.25 * 24
    ev = frame([("A", "death", h + 1), ("B", "death", h)])
    out = derive_param_tte(
        origin("ABCD"),
        [DEATH],
        [LKA, HSCT],
        "OS",
        source_datasets={
            "events": pd.concat([ev, frame([("D", "hsct", h + 5)])]),
            "lka": lka({"A": h + 1, "B": h, "C": h, "D": h + 10}),
        },
        horizon_days=365.25,
    )
    assert table(out) == [
        ("A", 365.25, 2, "horizon"),
        ("B", 365.25, 0, "death"),
        ("C", 365.25, 2, "horizon"),
        ("D", 365.25, 2, "horizon"),
    ]
    assert out.set_index("participant_id").loc["A", "cnsdtdsc"] == "12-month horizon"
    assert pd.isna(out.set_index("participant_id").loc["A", "evntdesc"])


def test_origin_offset_and_candidates_before_origin():
    """RFS-like: origin at 240 h; a relapse before it is ignored; aval is measured from the origin."""
    ev = frame([("A", "relapse", 100.0), ("A", "relapse", 480.0), ("B", "death", 300.0)])
    org = pd.DataFrame({"participant_id": ["A", "B"], "origin_hours": [240.0, 300.0]})
    out = derive_param_tte(
        org,
        [RELAPSE, DEATH],
        [LKA],
        "RFS",
        source_datasets={"events": ev, "lka": lka({"A": 500.0, "B": 300.0})},
        horizon_days=20.0,
    )
    # A: relapse at 480 h = 10 d after the origin; horizon day 20 (480 h) is not exceeded by an event at 480 h
    assert table(out) == [("A", 10.0, 0, "relapse"), ("B", 0.0, 0, "death")]
    assert out["origin_hours"].tolist() == [240.0, 300.0]


def test_participants_outside_origin_or_origin_after_horizon_get_no_row():
    ev = frame([("A", "death", 10.0), ("Z", "death", 10.0)])
    org = pd.DataFrame({"participant_id": ["A", "L"], "origin_hours": [0.0, 400.0 * 24]})
    out = derive_param_tte(
        org,
        [DEATH],
        [LKA],
        "X",
        source_datasets={"events": ev, "lka": lka({"A": 10.0, "L": 9999.0})},
        horizon_days=365.25,
    )
    assert out["participant_id"].tolist() == ["A"]


def test_event_codes_for_competing_risks():
    ev = frame([("A", "relapse", 48.0), ("B", "death", 72.0)])
    out = derive_param_tte(
        origin("ABC"),
        [
            EventSource("relapse", event_types=("relapse",), event_code=1),
            EventSource("death", event_types=("death",), event_code=2),
        ],
        [LKA],
        "CIR",
        source_datasets={"events": ev, "lka": lka({"A": 48.0, "B": 72.0, "C": 96.0})},
    )
    assert out["event_code"].tolist() == [1, 2, 0]
    assert out["cnsr"].tolist() == [0, 0, 1]


def test_filter_time_callable_and_text_callable():
    ev = pd.DataFrame({"participant_id": ["A", "A"], "kind": ["x", "y"], "day": [3.0, 1.0], "note": ["n1", "n2"]})
    src = EventSource(
        "y",
        dataset_name="custom",
        filter=lambda d: d["kind"] == "y",
        time=lambda d: d["day"] * 24,
        evntdesc=lambda d: "note " + d["note"],
    )
    out = derive_param_tte(origin("A"), [src], [], "X", source_datasets={"custom": ev})
    assert table(out) == [("A", 1.0, 0, "y")] and out["evntdesc"].tolist() == ["note n2"]


def test_missing_dataset_is_named():
    with pytest.raises(KeyError, match="lka"):
        derive_param_tte(origin("A"), [DEATH], [LKA], "X", source_datasets={"events": frame([])})


def test_na_times_and_na_filters_are_dropped():
    ev = pd.DataFrame(
        {
            "participant_id": ["A", "A"],
            "event_type": ["death", "death"],
            "hours_from_infusion": [float("nan"), 50.0],
            "ok": pd.array([pd.NA, True], dtype="boolean"),
        }
    )
    src = EventSource("death", event_types=("death",), filter=lambda d: d["ok"])
    out = derive_param_tte(origin("A"), [src], [], "X", source_datasets={"events": ev})
    assert table(out) == [("A", days(50), 0, "death")]
