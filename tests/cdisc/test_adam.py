"""ADaM builders on small hand-made processed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cdisc.adam import derive_adtte, to_adam_column, trace_source_lines


def test_flags_become_y_n_and_missing_stays_missing() -> None:
    flags = to_adam_column(pd.Series([True, False, pd.NA], dtype="boolean"), "flag")
    assert flags.tolist()[:2] == ["Y", "N"] and flags.isna().tolist() == [False, False, True]


def tte_tables() -> dict[str, pd.DataFrame]:
    adtte = pd.DataFrame(
        {
            "participant_id": ["A", "A", "B", "C"],
            "paramcd": ["OS", "CIR", "OS", "OS"],
            "param": ["Overall survival (days)", "Cumulative incidence of relapse (days)"]
            + ["Overall survival (days)"] * 2,
            "aval": [10.0, 5.0, 20.0, 365.25],
            "cnsr": [0, 0, 1, 2],
            "evntdesc": ["death", "relapse", None, None],
            "cnsdtdsc": [None, None, "last known alive", "12-month horizon"],
            "event_code": pd.array([pd.NA, 1, pd.NA, pd.NA], dtype="Int64"),
            "origin_hours": [0.0, 0.0, 0.0, 0.0],
            "source": ["death", "relapse", "last_known_alive", "horizon"],
        }
    )
    events = pd.DataFrame(
        {
            "participant_id": ["A", "A", "A", "B", "B", "C"],
            "event_type": ["relapse", "temperature", "death", "temperature", "last_contact", "death"],
            "hours_from_infusion": [120.0, 240.0, 240.0, 100.0, 480.0, 9000.0],
            "line": [7, 8, 9, 11, 12, 13],
        }
    )
    return {"adtte": adtte, "events": events}


def test_source_lines_are_the_deciding_records() -> None:
    tables = tte_tables()
    # A's death at day 10 = 240 h is line 9 (the temperature at the same time is not a death);
    # A's relapse at day 5 = 120 h is line 7; B's last known alive at 480 h is line 12; C's horizon has none.
    assert trace_source_lines(tables["adtte"], tables["events"]).tolist() == [9, 7, 12, pd.NA]


def test_adtte_variables() -> None:
    adtte = derive_adtte(tte_tables()).set_index(["USUBJID", "PARAMCD"])
    row = adtte.loc[("PACER-A", "CIR")]
    assert (row["AVAL"], row["CNSR"], row["EVNTCD"], row["SRCDOM"], row["SRCSEQ"]) == (5.0, 0, 1, "EVENTS", 7)
    horizon = adtte.loc[("PACER-C", "OS")]
    assert pd.isna(horizon["SRCDOM"]) and pd.isna(horizon["SRCSEQ"]) and horizon["CNSDTDSC"] == "12-month horizon"
    np.testing.assert_array_equal(adtte["STARTDY"].to_numpy(), [0.0, 0.0, 0.0, 0.0])


def test_an_unknown_source_is_an_error() -> None:
    tables = tte_tables()
    tables["adtte"].loc[3, "source"] = "new_source"
    with pytest.raises(ValueError, match="new_source"):
        derive_adtte(tables)


def test_an_unknown_export_format_is_a_user_error() -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["export", "--processed", "data/raw/demo", "--format", "sas7bdat"])
    assert result.exit_code == 2
    assert "--format sas7bdat: not one of xpt, dataset-json, csv" in result.output
