"""XPT v5: the format's limits are errors naming dataset, variable and row; Python reads the files back equal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cdisc.adam import read_processed
from analysis.cdisc.metadata import ADAE, DATASETS, FLOAT, INTEGER, Variable
from analysis.cdisc.xpt import XptLimitError, read_xpt, xpt_bytes
from tests.cdisc.expected import expected_columns

CREATED = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


def small_adae(term_text: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STUDYID": ["PACER", "PACER"],
            "USUBJID": ["PACER-A", "PACER-B"],
            "AESEQ": pd.array([1, 1], dtype="Int64"),
            "AEDECOD": ["other", "other"],
            "AETERM": pd.array(["rash", term_text], dtype="string"),
            "ATOXGR": pd.array(["1", "2"], dtype="string"),
            "ATOXGRN": pd.array([1, 2], dtype="Int64"),
            "ASTHR": [1.5, 2.25],
            "AENHR": [np.nan, 3.0],
            "ASTDY": pd.array([0, 0], dtype="Int64"),
        }
    )


def test_a_value_of_200_bytes_fits(tmp_path: Path) -> None:
    path = tmp_path / "adae.xpt"
    path.write_bytes(xpt_bytes(small_adae("x" * 200), ADAE, CREATED))
    frame, _labels = read_xpt(path)
    assert frame["AETERM"].tolist() == ["rash", "x" * 200]


def test_a_value_that_would_be_cut_names_dataset_variable_and_row() -> None:
    # "é" is two bytes in UTF-8: 100 of them are 200 characters' worth of bytes plus one more.
    with pytest.raises(XptLimitError, match=r"ADAE\.AETERM, row 2 \(USUBJID PACER-B\): a value of 201 bytes"):
        xpt_bytes(small_adae("é" * 100 + "x"), ADAE, CREATED)


def test_a_long_label_or_name_is_an_error() -> None:
    long_label = replace(ADAE, variables=(*ADAE.variables[:-1], Variable("ASTDY", "L" * 41, INTEGER)))
    with pytest.raises(XptLimitError, match=r"ADAE\.ASTDY: the label 'L{41}' is longer than 40"):
        xpt_bytes(small_adae("rash"), long_label, CREATED)
    long_name = replace(ADAE, variables=(*ADAE.variables[:-1], Variable("ASTUDYDAY", "Day", INTEGER)))
    with pytest.raises(XptLimitError, match=r"ADAE\.ASTUDYDAY: the variable name is longer than 8"):
        xpt_bytes(small_adae("rash").rename(columns={"ASTDY": "ASTUDYDAY"}), long_name, CREATED)


def test_python_reads_every_xpt_back_equal(demo_adam: Path) -> None:
    tables = read_processed(demo_adam.parent)
    for dataset in DATASETS:
        frame, labels = read_xpt(demo_adam / f"{dataset.name.lower()}.xpt")
        assert list(frame.columns) == dataset.names
        assert labels == {variable.name: variable.label for variable in dataset.variables}
        for variable, values in expected_columns(tables, dataset.name).items():
            kind = dataset.variable(variable).kind
            if kind in (FLOAT, INTEGER):
                np.testing.assert_array_equal(frame[variable].to_numpy(dtype=float), values, err_msg=variable)
            else:
                assert frame[variable].tolist() == list(values), (dataset.name, variable)


def test_the_export_step_stops_on_a_value_xpt_would_cut(demo_processed: Path, tmp_path: Path) -> None:
    import shutil

    from pipelines.export_step import export_or_failed

    processed = tmp_path / "processed"
    shutil.copytree(demo_processed, processed, ignore=shutil.ignore_patterns("adam", ".pacer.lock"))
    adsl = pd.read_parquet(processed / "adsl.parquet")
    row = int(adsl.index[adsl["participant_id"] == "PACER-007"][0])
    adsl.loc[row, "withdrawal_reason"] = "w" * 201
    adsl.to_parquet(processed / "adsl.parquet")
    state = export_or_failed(processed, ("xpt",))
    assert state.is_failed()
    assert state.message == (
        f"ADSL.WDREAS, row {row + 1} (USUBJID PACER-PACER-007): a value of 201 bytes does not fit the "
        "200-byte limit of XPT v5 and would be cut"
    )
    assert not (processed / "adam").exists()
