"""The derive step's reading and event slices: the same tables as every derivation on every row, read as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from builders_outcomes import Participant, Row, build, death, last_contact, relapse, temperature, withdrawal

from analysis.derive.adsl import build_adsl
from analysis.derive.adtte import derive_adtte
from analysis.derive.ae import derive_ae
from analysis.derive.all_tables import (
    EVENT_COLUMNS_READ,
    as_arrow_text,
    derive_all_tables,
    read_for_derivation,
    without_charted_vital_signs,
)
from analysis.derive.date_queries import derive_date_queries
from analysis.derive.icans import build_icans
from analysis.derive.key_times import derive_var_last_known_alive
from analysis.derive.physiology import participant_codes, text_as_categorical
from analysis.settings import AnalysisPlan
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT


@pytest.fixture(scope="module")
def demo_processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo export ingested: participants.parquet and events.parquet (45 enrolled, planted faults)."""
    out = tmp_path_factory.mktemp("all_tables") / "out"
    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan())
    return out


@pytest.fixture(scope="module")
def demo_cohort(demo_processed: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo's processed tables as the derive step reads them."""
    return (
        read_for_derivation(demo_processed / "participants.parquet"),
        read_for_derivation(demo_processed / "events.parquet", EVENT_COLUMNS_READ),
    )


def test_read_for_derivation_is_the_arrow_text_frame_of_read_parquet(demo_processed: Path) -> None:
    events = read_for_derivation(demo_processed / "events.parquet", EVENT_COLUMNS_READ)
    expected = as_arrow_text(pd.read_parquet(demo_processed / "events.parquet"))[list(EVENT_COLUMNS_READ)]
    pd.testing.assert_frame_equal(events, expected, check_exact=True)
    assert events["event_type"].dtype == pd.StringDtype("pyarrow")
    assert all(events[name].array.__arrow_array__().num_chunks == 1 for name in ("participant_id", "detail"))
    participants = read_for_derivation(demo_processed / "participants.parquet")
    pd.testing.assert_frame_equal(
        participants, as_arrow_text(pd.read_parquet(demo_processed / "participants.parquet")), check_exact=True
    )


def test_event_columns_read_leave_out_only_the_end_time_and_the_time_flag(demo_processed: Path) -> None:
    stored = pq.read_schema(demo_processed / "events.parquet").names
    assert sorted(set(stored) - set(EVENT_COLUMNS_READ)) == ["end_time", "time_flag"]


def test_derive_all_tables_gives_the_same_tables_from_either_reading(
    demo_processed: Path, demo_cohort: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    plan = AnalysisPlan()
    from_read_parquet = derive_all_tables(
        pd.read_parquet(demo_processed / "participants.parquet"),
        pd.read_parquet(demo_processed / "events.parquet"),
        plan,
    )
    for name, table in derive_all_tables(*demo_cohort, plan).items():
        pd.testing.assert_frame_equal(table, from_read_parquet[name], check_exact=True, obj=name)


def test_without_charted_vital_signs_drops_temperature_and_sbp_rows_only_in_order(
    demo_cohort: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    _, events = demo_cohort
    sparse = without_charted_vital_signs(events)
    expected = events.loc[~events["event_type"].isin(["temperature", "systolic_bp"])]
    pd.testing.assert_frame_equal(sparse, expected, check_exact=True)
    assert 0 < len(sparse) < len(events)
    assert set(events["event_type"]) - set(sparse["event_type"]) == {"temperature", "systolic_bp"}


def test_the_derivations_handed_no_vital_sign_give_the_tables_of_every_row(
    demo_cohort: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    """icans, ae, adsl and adtte read no temperature or SBP row: the slice changes nothing."""
    participants, events = demo_cohort
    plan = AnalysisPlan()
    sparse = without_charted_vital_signs(events)
    last_known_alive = derive_var_last_known_alive(participants, events)
    for derive in (
        lambda rows, **lka: build_icans(participants, rows, plan),
        lambda rows, **lka: (derive_ae(participants, rows),),
        lambda rows, **lka: build_adsl(participants, rows, plan, **lka),
        lambda rows, **lka: (derive_adtte(participants, rows, plan, **lka),),
    ):
        for full, sliced in zip(derive(events), derive(sparse, last_known_alive=last_known_alive), strict=True):
            pd.testing.assert_frame_equal(sliced, full, check_exact=True)


def test_participant_codes_are_positions_in_the_sorted_ids_and_minus_one_elsewhere() -> None:
    ids = pd.Series(["P1", "P2", "P3"], dtype="string[pyarrow]")
    rows = pd.Series(["P3", "P1", "P9", None, "P3", "P2"], dtype="string[pyarrow]")
    assert participant_codes(rows, ids).tolist() == [2, 0, -1, -1, 2, 1]
    assert participant_codes(rows.astype(object), ids).tolist() == [2, 0, -1, -1, 2, 1]


def test_text_as_categorical_gives_the_missing_text_for_na() -> None:
    text = pd.Series(["vasopressor", None, "oxygen", "vasopressor"], dtype="string[pyarrow]")
    coded = text_as_categorical(text, "")
    assert np.asarray(coded, dtype=object).tolist() == ["vasopressor", "", "oxygen", "vasopressor"]
    assert (pd.Series(coded) == "vasopressor").tolist() == [True, False, False, True]
    already = pd.Series(["", None], dtype="string[pyarrow]")
    assert np.asarray(text_as_categorical(already, ""), dtype=object).tolist() == ["", ""]


def test_date_queries_of_several_participants_word_for_word() -> None:
    """Worked by hand: days are elapsed days from the infusion; several relapses after a death keep the order of the events (by time, as the builder sorts them)."""
    participants, events = build(
        [
            Participant(
                "A",
                (
                    withdrawal(10, "moved away"),
                    temperature(12),
                    withdrawal(14, "moved away"),
                    relapse(11.5),
                    temperature(9),
                ),
            ),
            Participant("B", (death(20, "disease"), relapse(30), relapse(25), last_contact(21), relapse(19))),
            Participant("C", (Row("ice_score", 5, value=10.0), last_contact(7))),
        ]
    )
    queries = derive_date_queries(participants, events)
    assert queries.values.tolist() == [
        [
            "A",
            "event_after_withdrawal",
            "withdrawal at day 10.00; 2 later row(s) (relapse, temperature), the first at day 11.50; "
            "used: every row (follow-up is not truncated at the withdrawal)",
        ],
        [
            "B",
            "last_contact_after_death",
            "last contact at day 21.00 after death at day 20.00; used: the death; last known alive capped at day 20.00",
        ],
        [
            "B",
            "relapse_after_death",
            "relapse at day 25.00 after death at day 20.00; used: the death, the relapse is ignored",
        ],
        [
            "B",
            "relapse_after_death",
            "relapse at day 30.00 after death at day 20.00; used: the death, the relapse is ignored",
        ],
    ]


def test_date_queries_when_no_participant_with_a_death_has_an_infusion() -> None:
    """A death of a participant never infused (no infusion instant) cannot be before the infusion: no query."""
    participants, events = build([Participant("A", (death(3, "disease"), last_contact(5)), not_infused=True)])
    queries = derive_date_queries(participants, events)
    assert queries.values.tolist() == [
        [
            "A",
            "last_contact_after_death",
            "last contact at day n/a (not infused) after death at day n/a (not infused); used: the death; "
            "last known alive capped at day n/a (not infused)",
        ]
    ]
