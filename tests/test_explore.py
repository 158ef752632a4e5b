"""The notebooks' helpers (analysis/explore.py): where they read from, and that they never derive."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.explore import (
    crs_grade_group,
    default_participant,
    grade_spans,
    processed_folder,
    scaled_high_dose,
    with_settings,
)
from analysis.settings import AnalysisPlan


def make_run(folder: Path, mtime: float) -> Path:
    folder.mkdir(parents=True)
    (folder / "participants.parquet").write_bytes(b"")
    (folder / "manifest.json").write_text("{}")
    os.utime(folder / "manifest.json", (mtime, mtime))
    return folder


def test_processed_folder_prefers_the_variable_then_the_newest_run(tmp_path: Path) -> None:
    now = time.time()
    older = make_run(tmp_path / "2026-12-01", now - 100)
    newer = make_run(tmp_path / "interim-b", now)
    assert processed_folder({}, root=tmp_path) == newer
    assert processed_folder({"PACER_PROCESSED": str(older)}, root=tmp_path) == older
    with pytest.raises(FileNotFoundError, match="PACER_PROCESSED"):
        processed_folder({"PACER_PROCESSED": str(tmp_path / "missing")}, root=tmp_path)
    with pytest.raises(FileNotFoundError, match="pacer run"):
        processed_folder({}, root=tmp_path / "empty")


def test_changed_settings_are_validated_and_scale_only_the_dose_thresholds() -> None:
    base = AnalysisPlan()
    assert with_settings(base, high_burden_pct=25.0).high_burden_pct == 25.0
    scaled = scaled_high_dose(base, 2.0)
    assert scaled.high_dose.norepinephrine == 2 * base.high_dose.norepinephrine
    assert (
        scaled.high_dose.combination_ne_equivalent_with_vasopressin
        == 2 * base.high_dose.combination_ne_equivalent_with_vasopressin
    )
    assert scaled.high_dose.min_duration_hours == base.high_dose.min_duration_hours
    with pytest.raises(ValueError):
        with_settings(base, stopping={"posterior_threshold": 2.0})


def test_grade_spans_merge_equal_grades_and_drop_grade_zero() -> None:
    state = pd.DataFrame(
        {"start_day": [0.0, 1.0, 2.0, 3.0, 4.0], "end_day": [1.0, 2.0, 3.0, 4.0, 5.0], "crs_grade": [0, 2, 2, 3, 0]}
    )
    assert grade_spans(state).to_dict("list") == {"start_day": [1.0, 3.0], "end_day": [3.0, 4.0], "grade": [2, 3]}


def test_default_participant_and_crs_groups() -> None:
    crs = pd.DataFrame(
        {"participant_id": ["P-2", "P-1", "P-3"], "crs_max_grade": [3, 3, 1], "crs_max_grade_penn": [2, 2, 1]}
    )
    assert default_participant(crs, {}) == "P-1"
    assert default_participant(crs, {"PACER_PARTICIPANT": "P-3"}) == "P-3"
    with pytest.raises(KeyError):
        default_participant(crs, {"PACER_PARTICIPANT": "P-9"})
    groups = crs_grade_group(pd.Series([0, 1, 2, 3, 5, None], dtype="Int64"))
    assert groups.tolist()[:5] == ["no CRS", "grade 1–2", "grade 1–2", "grade ≥ 3", "grade ≥ 3"] and pd.isna(
        groups.iloc[5]
    )
