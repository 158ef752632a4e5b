"""R reads every ADaM XPT file (haven::read_xpt) with the values and labels of the processed Parquet tables.

``tests/fixtures/r/read_adam_xpt.R`` writes what R sees as CSV. When ``Rscript`` (with haven) is
there it is run on a fresh export of the demo; the committed ``tests/fixtures/r/adam/`` (its output
for the demo, with the versions in ``r_versions.txt``) is checked either way.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cdisc.adam import read_processed
from analysis.cdisc.metadata import DATASETS, FLOAT, INTEGER
from pipelines.paths import DEMO_EXPORT
from tests.cdisc.expected import expected_columns

R_DIR = Path(__file__).parents[1] / "fixtures" / "r"
SCRIPT = R_DIR / "read_adam_xpt.R"
COMMITTED = R_DIR / "adam"


def has_haven() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(haven)"], capture_output=True).returncode == 0


def read_r_output(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name.lower()}.csv", dtype=str, keep_default_na=False)


def assert_r_matches_processed(r_folder: Path, processed: Path) -> None:
    tables = read_processed(processed)
    labels = pd.read_csv(r_folder / "labels.csv", dtype=str, keep_default_na=False)
    for dataset in DATASETS:
        seen = read_r_output(r_folder, dataset.name)
        assert list(seen.columns) == dataset.names
        expected = expected_columns(tables, dataset.name)
        for variable in dataset.variables:
            label = labels[(labels["dataset"] == dataset.name) & (labels["variable"] == variable.name)]["label"]
            assert list(label) == [variable.label], (dataset.name, variable.name)
            if variable.name not in expected:
                continue
            if variable.kind in (FLOAT, INTEGER):
                values = seen[variable.name].replace("", "nan").astype(float).to_numpy()
                np.testing.assert_array_equal(
                    values, expected[variable.name], err_msg=f"{dataset.name}.{variable.name}"
                )
            else:
                assert list(seen[variable.name]) == list(expected[variable.name]), (dataset.name, variable.name)


@pytest.mark.skipif(not has_haven(), reason="Rscript with haven is not installed")
def test_r_reads_every_xpt_with_the_processed_values_and_labels(demo_adam: Path, tmp_path: Path) -> None:
    subprocess.run(["Rscript", str(SCRIPT), str(demo_adam), str(tmp_path)], check=True, capture_output=True)
    assert_r_matches_processed(tmp_path, demo_adam.parent)
    for dataset in DATASETS:
        fresh = read_r_output(tmp_path, dataset.name)
        pd.testing.assert_frame_equal(fresh, read_r_output(COMMITTED, dataset.name))


def test_committed_r_reading_matches_the_processed_tables(demo_processed: Path) -> None:
    assert_r_matches_processed(COMMITTED, demo_processed)


def test_r_saw_the_hand_checked_values() -> None:
    """Values read off the demo by hand: PACER-001's ASTCT grade 2 and Penn grade 3; PACER-002's CIR relapse."""
    adsl = read_r_output(COMMITTED, "ADSL").set_index("SUBJID")
    assert adsl.loc["PACER-001", ["CRSMXGR", "CRSPNGR", "SAFFL", "DTHFL"]].tolist() == ["2", "3", "Y", "N"]
    adtte = read_r_output(COMMITTED, "ADTTE")
    cir = adtte[(adtte["USUBJID"] == "PACER-PACER-002") & (adtte["PARAMCD"] == "CIR")].iloc[0]
    assert (cir["CNSR"], cir["SRCDOM"], cir["SRCVAR"], cir["SRCSEQ"]) == ("0", "EVENTS", "EVENT_TIME", "450")
    line_450 = (DEMO_EXPORT / "events.csv").read_text(encoding="utf-8").splitlines()[449]
    assert line_450 == "PACER-002,2025-04-12T14:39:00,,relapse,,,cd19_negative"
