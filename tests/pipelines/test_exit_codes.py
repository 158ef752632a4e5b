"""Exit codes scripts can trust, wherever the failure happens: 2 a user error in one line; 1 a defect, its traceback, the step named.

A defect inside a step is an exception inside a Prefect task; one outside the steps is raised by
the run's flow itself. Neither may leave as the user-error code, and neither may lose its traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.export.bundle_builder import P001, PARTICIPANT_HEADER, write_bundle

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def planted_defect(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("planted defect")


@pytest.mark.flow
def test_a_user_error_is_exit_code_2_and_one_line(prefect_harness: None, tmp_path: Path) -> None:
    folder = write_bundle(
        tmp_path / "b",
        participant_header=["participant_id", "MRN", *PARTICIPANT_HEADER[1:]],
        participants=[["P001", "12345", *P001[1:]]],
    )
    result = runner.invoke(app, ["run", "--export", str(folder), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: participants.csv: column 'MRN' looks like a direct identifier; identifiers are refused "
        "(export-format.md, HIPAA Safe Harbor: a medical record number) — remove the column and export again"
    ]


@pytest.mark.flow
def test_a_defect_inside_a_step_is_exit_code_1_with_its_traceback_and_the_step(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analysis.derive.event_groups

    monkeypatch.setattr(analysis.derive.event_groups, "derive_all_tables", planted_defect)
    result = runner.invoke(app, ["run", "--export", str(write_bundle(tmp_path / "b")), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert "ZeroDivisionError: planted defect" in lines
    assert any("in planted_defect" in line for line in lines), "the traceback reaches the defect"
    assert lines[-1] == (
        "error: a defect in the derive step: ZeroDivisionError: planted defect (traceback above; please report it)"
    )
    assert "Task run encountered an exception" not in result.output
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["runs.jsonl"], (
        "a failed first run leaves its log only"
    )


@pytest.mark.flow
def test_a_defect_outside_the_steps_is_exit_code_1_with_its_traceback(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.run

    monkeypatch.setattr(pipelines.run, "ingest_target", planted_defect)
    result = runner.invoke(app, ["run", "--export", str(write_bundle(tmp_path / "b")), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert any("in planted_defect" in line for line in lines)
    assert lines[-1] == (
        "error: a defect outside the steps: ZeroDivisionError: planted defect (traceback above; please report it)"
    )


def test_a_defect_in_the_command_itself_is_exit_code_1_with_its_traceback(tmp_path: Path) -> None:
    """Before any flow: the `pacer` entry point turns an exception into its traceback and exit code 1."""
    script = (
        "import sys, pipelines.cli as cli\n"
        "def broken(*a, **k):\n    raise ZeroDivisionError('planted defect')\n"
        "cli.run_parameters = broken\n"
        f"sys.argv = ['pacer', 'run', '--out', {str(tmp_path / 'out')!r}]\n"
        "cli.main()\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 1
    lines = finished.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == (
        "error: a defect outside the steps: ZeroDivisionError: planted defect (traceback above; please report it)"
    )


@pytest.mark.parametrize("home", ["file", "under-a-file"])
def test_an_unwritable_prefect_home_stops_the_run_in_one_line(home: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    prefect_home = tmp_path / "file" if home == "file" else tmp_path / "file" / "prefect"
    finished = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--out", str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_API_URL": ""},
    )
    assert finished.returncode == 2
    [line] = finished.stderr.splitlines()
    assert line.startswith(f"error: PREFECT_HOME {prefect_home} is not writable (")
    assert line.endswith("set PREFECT_HOME to a folder you can write, e.g. PREFECT_HOME=$HOME/.prefect")
    assert not (tmp_path / "out").exists()


def test_no_loopback_interface_stops_the_run_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from pipelines.prefect_server import prefect_start_problem

    class NoLoopback(socket.socket):
        def bind(self, address: object) -> None:
            raise OSError(99, "Cannot assign requested address")

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setattr(socket, "socket", NoLoopback)
    assert prefect_start_problem() == (
        "cannot listen on the loopback interface 127.0.0.1 (Cannot assign requested address): Prefect's local "
        "server needs it; bring the loopback interface up, or set PREFECT_API_URL to a running Prefect server"
    )
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert prefect_start_problem() is None, "a run on a running server needs neither"
