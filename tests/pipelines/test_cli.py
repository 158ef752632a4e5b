"""The `pacer` command: exit codes, one-line user errors, the flows behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.export.bundle_builder import P001, PARTICIPANT_HEADER, write_bundle

runner = CliRunner()


@pytest.mark.flow
def test_ingest_writes_the_four_outputs(prefect_harness: None, tmp_path: Path) -> None:
    folder = write_bundle(tmp_path / "b")
    result = runner.invoke(app, ["ingest", "--export", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"outputs written to {tmp_path / 'out'}"
    assert result.output.splitlines()[0].startswith("ingest   done in ")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "events.parquet",
        "manifest.json",
        "participants.parquet",
        "quarantine.parquet",
        "runs.jsonl",
    ]
    assert len(pd.read_parquet(tmp_path / "out" / "events.parquet")) == 7
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["steps"]["ingest"]["data_cut"] == "2026-04-01"


@pytest.mark.flow
def test_run_defaults_its_output_folder_to_the_data_cut(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.paths

    monkeypatch.setattr(pipelines.paths, "PROCESSED_ROOT", tmp_path / "processed")
    folder = write_bundle(tmp_path / "b")
    result = runner.invoke(app, ["run", "--export", str(folder), "--data-cut", "2026-03-15"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "processed" / "2026-03-15" / "events.parquet").exists()


@pytest.mark.flow
def test_identifier_column_is_a_one_line_user_error(prefect_harness: None, tmp_path: Path) -> None:
    folder = write_bundle(
        tmp_path / "b",
        participant_header=["participant_id", "MRN", *PARTICIPANT_HEADER[1:]],
        participants=[["P001", "12345", *P001[1:]]],
    )
    result = runner.invoke(app, ["ingest", "--export", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: participants.csv: column 'MRN' looks like a direct identifier; identifiers are refused "
        "(export-format.md, HIPAA Safe Harbor: a medical record number) — remove the column and export again"
    ]
    assert "Traceback" not in result.output
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["runs.jsonl"], "only the refused run's log line"


def test_bad_data_cut_fails_before_any_work(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "--export", str(tmp_path), "--data-cut", "2026-13-01"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --data-cut '2026-13-01' is not a date YYYY-MM-DD"


def test_bad_settings_file_is_a_user_error(tmp_path: Path) -> None:
    settings = tmp_path / "plan.toml"
    settings.write_text("episode_gap_hours = -1\nunknown_choice = 3\n")
    result = runner.invoke(app, ["run", "--settings", str(settings)])
    assert result.exit_code == 2
    assert (
        "invalid settings: episode_gap_hours: Input should be greater than 0; unknown_choice: Extra inputs are not permitted"
        in result.output
    )


def test_every_command_has_help() -> None:
    for command in ("run", "ingest", "simulate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "--out" in result.output


def test_only_an_io_error_is_retried() -> None:
    from prefect.states import Completed, Failed

    from analysis.export.errors import ExportError
    from pipelines.outcome import retry_on_io_error

    assert retry_on_io_error(None, None, Failed(data=OSError(5, "Input/output error"))) is True
    assert (
        retry_on_io_error(None, None, Failed(data=ExportError("events.csv: missing required column(s) event_type")))
        is False
    )
    assert (
        retry_on_io_error(None, None, Failed(message="participants.csv: column 'mrn' looks like a direct identifier"))
        is False
    )
    assert retry_on_io_error(None, None, Completed(data=1)) is False
