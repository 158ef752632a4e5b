"""The ARD helpers: typed rows, sorted frame, unique key (outputs.md, ard.parquet)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.stats.ard import (
    ARD_COLUMNS,
    NOT_ESTIMABLE_N0,
    ArdError,
    ard_row,
    not_estimable_rows,
    stats_rows,
    to_frame,
    validate_ard,
)


def test_row_types_and_frame():
    rows = [
        ard_row("crs_rate", "all", "crs_any", "n", 3),
        ard_row("crs_rate", "all", "crs_any", "N", 20),
        ard_row("historical_comparison", "eliana_2018", "crs_grade3plus", "p_value", 0.01, "", "fisher_exact"),
        ard_row("historical_comparison", "eliana_2018", "crs_grade3plus", "p_value", 0.003, "", "binom_exact_1s"),
        ard_row("km", "OS", "month_3", "surv", None),
        ard_row("historical_comparison", "x", "crs_any", "burden_matched", True, "", "descriptive"),
    ]
    frame = to_frame(rows)
    assert tuple(frame.columns) == ARD_COLUMNS
    assert frame["stat_value"].dtype == "float64"
    assert all(frame[c].dtype == "string" for c in ARD_COLUMNS if c != "stat_value")
    assert frame.equals(
        frame.sort_values(["analysis", "group", "variable", "stat_name", "method"]).reset_index(drop=True)
    )
    assert math.isnan(frame.loc[frame["stat_name"] == "surv", "stat_value"].iloc[0])
    assert frame.loc[frame["stat_name"] == "burden_matched", "stat_value"].iloc[0] == 1.0


def test_same_stat_two_methods_is_allowed_but_duplicate_key_is_not():
    ok = [
        ard_row("h", "c", "v", "p_value", 0.1, method="fisher_exact"),
        ard_row("h", "c", "v", "p_value", 0.2, method="katz_log"),
    ]
    to_frame(ok)
    with pytest.raises(ArdError, match="duplicated"):
        to_frame(ok + [ard_row("h", "c", "v", "p_value", 0.3, method="katz_log")])


def test_validate_reports_every_problem():
    frame = pd.DataFrame(
        {
            "analysis": ["a", "a"],
            "group": ["g", "g"],
            "variable": ["v", "v"],
            "stat_name": ["s", "s"],
            "method": ["", ""],
            "stat_value": ["1", "2"],
            "stat_label": ["", ""],
        }
    )
    with pytest.raises(ArdError) as err:
        validate_ard(frame)
    assert "stat_value must be float" in str(err.value) and "duplicated" in str(err.value)
    with pytest.raises(ArdError, match="missing columns"):
        validate_ard(frame.drop(columns="method"))


def test_not_estimable_rows():
    rows = not_estimable_rows("crs_rate", "high_burden", "crs_any", ("n", "N", "p", "ci_low", "ci_high"))
    values = {r.stat_name: r.stat_value for r in rows}
    assert values["n"] == 0 and values["N"] == 0
    assert all(math.isnan(values[k]) for k in ("p", "ci_low", "ci_high"))
    assert {r.stat_label for r in rows} == {NOT_ESTIMABLE_N0} == {"not estimable (N = 0)"}


def test_stats_rows_and_bad_rows():
    rows = stats_rows("response", "all", "cr_cri_day28", {"n": 1, "N": 2}, {"n": "responders"})
    assert [r.stat_label for r in rows] == ["responders", ""]
    with pytest.raises(ValueError):
        ard_row("", "all", "v", "n", 1)
    with pytest.raises(TypeError):
        ard_row("a", "all", "v", "n", 1, method=None)  # type: ignore[arg-type]
