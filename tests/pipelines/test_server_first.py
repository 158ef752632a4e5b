"""`pacer run --out NEW` starts Prefect's local server first thing, before pandas loads: a new folder holds nothing to
refuse or to reuse, so the run will need the server, and it comes up while the run loads its code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    started: list[str] = []
    monkeypatch.setattr(cli, "start_prefect_server", lambda: started.append("server"))
    return started


def test_a_missing_folder_starts_the_server(tmp_path: Path, starts: list[str]):
    cli.start_server_for_new_folder(tmp_path / "new")
    assert starts == ["server"]


def test_an_empty_folder_starts_the_server(tmp_path: Path, starts: list[str]):
    cli.start_server_for_new_folder(tmp_path)
    assert starts == ["server"]


def test_a_folder_with_outputs_waits_for_the_reuse_check(tmp_path: Path, starts: list[str]):
    (tmp_path / "manifest.json").write_text("{}")
    cli.start_server_for_new_folder(tmp_path)
    assert starts == []


def test_a_folder_name_too_long_is_left_to_the_parameter_checks(tmp_path: Path, starts: list[str]):
    cli.start_server_for_new_folder(tmp_path / ("o" * 300))  # ENAMETOOLONG: no exception here
    assert starts == []


def test_the_default_folder_waits_for_the_data_cut(starts: list[str]):
    cli.start_server_for_new_folder(None)  # data/processed/<cut>/: the cut is read from the export later
    assert starts == []


def test_the_command_line_reaches_the_server_start_without_pandas():
    probe = "import sys, pipelines.cli; print(sorted({'pandas', 'pyarrow', 'prefect'} & set(sys.modules)))"
    finished = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert finished.stdout == "[]\n"
