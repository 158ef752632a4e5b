"""Outputs are kept from other users of the machine: folders 0750, files 0640 by default.

The setting: ``PACER_OUTPUT_MODE`` (files) and ``PACER_DIR_MODE`` (folders), octal, in the
environment; not an analysis-plan setting (it changes no result).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from analysis.settings import AnalysisPlan
from analysis.store import OutputError, output_dir_mode, output_file_mode
from tests.reliability.conftest import DemoRun


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_ingest_into(out: Path) -> None:
    from pipelines.ingest import run_ingest
    from pipelines.paths import DEMO_EXPORT

    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan())


def test_defaults_keep_outputs_from_other_users(demo_run: DemoRun) -> None:
    folders = [demo_run.out, demo_run.out / "report"]
    files = [p for p in demo_run.out.rglob("*") if p.is_file() and p != demo_run.run_log]
    recorded = json.loads((demo_run.out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert sorted(p.relative_to(demo_run.out).as_posix() for p in files) == sorted([*recorded, "manifest.json"])
    assert len(files) == 23  # 17 tables, the comparison notes, 4 reports and the manifest
    assert {p.relative_to(demo_run.out).as_posix(): mode(p) for p in folders} == {".": 0o750, "report": 0o750}
    assert {p.relative_to(demo_run.out).as_posix(): mode(p) for p in files} == {
        p.relative_to(demo_run.out).as_posix(): 0o640 for p in files
    }
    assert mode(demo_run.run_log) & 0o007 == 0, "the run log is not readable by other users"


def test_the_modes_are_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACER_OUTPUT_MODE", "0600")
    monkeypatch.setenv("PACER_DIR_MODE", "700")
    out = tmp_path / "out"
    run_ingest_into(out)
    assert mode(out) == 0o700
    assert {p.name: mode(p) for p in out.iterdir()} == dict.fromkeys(
        ("events.parquet", "manifest.json", "participants.parquet", "quarantine.parquet"), 384
    )


def test_an_existing_output_folder_keeps_its_mode_and_the_folders_made_in_it_get_the_setting(tmp_path: Path) -> None:
    """``--out`` may name a folder its owner set up (even /tmp): the pipeline never changes its mode."""
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o1777)
    run_ingest_into(out)
    assert mode(out) == 0o1777
    assert {mode(p) for p in out.iterdir()} == {0o640}
    run_ingest_into(out / "historical")
    assert mode(out / "historical") == 0o750


@pytest.mark.parametrize(
    "variable, value",
    [
        ("PACER_OUTPUT_MODE", "640x"),
        ("PACER_OUTPUT_MODE", "0400"),
        ("PACER_OUTPUT_MODE", "01640"),
        ("PACER_DIR_MODE", "0640"),
    ],
)
def test_a_bad_mode_is_a_one_line_user_error_before_anything_is_written(
    variable: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(OutputError) as raised:
        run_ingest_into(tmp_path / "out")
    assert str(raised.value).startswith(f"{variable}='{value}' is not an octal")
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_the_defaults() -> None:
    assert "PACER_OUTPUT_MODE" not in os.environ and "PACER_DIR_MODE" not in os.environ
    assert (output_file_mode(), output_dir_mode()) == (0o640, 0o750)
