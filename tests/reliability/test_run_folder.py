"""The run's staging folder and its switch (:class:`analysis.store.run_commit.RunCommit`), in one process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.store import OutputError, hold_output_locks, write_json
from analysis.store.run_commit import RunCommit, exchange_folders


def output_folder(path: Path, text: str) -> Path:
    """A small pacer output folder: a manifest and one report file."""
    (path / "report").mkdir(parents=True)
    write_json({"files": {}, "steps": {}}, path / "manifest.json")
    (path / "report" / "note.txt").write_text(text)
    return path


def test_the_staging_folder_starts_as_hard_links_and_is_switched_in_whole(tmp_path: Path) -> None:
    out = output_folder(tmp_path / "out", "previous")
    with hold_output_locks(), RunCommit(out) as run:
        assert run.folder.parent == tmp_path and run.folder.name == f".pacer-run-{os.getpid()}-out"
        assert (run.folder / "report" / "note.txt").stat().st_ino == (out / "report" / "note.txt").stat().st_ino
        (run.folder / "new.txt").write_text("new")
        assert not (out / "new.txt").exists(), "nothing reaches the output folder before the switch"
        run.commit()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "manifest.json",
        "new.txt",
        "report",
        "report/note.txt",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no staging folder, no lock file left"


def test_a_run_that_fails_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    out = output_folder(tmp_path / "out", "previous")
    with pytest.raises(ZeroDivisionError), hold_output_locks(), RunCommit(out) as run:
        (run.folder / "report" / "note.txt").unlink()
        (run.folder / "report" / "note.txt").write_text("new")
        raise ZeroDivisionError
    assert (out / "report" / "note.txt").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("")
    with (
        pytest.raises(OutputError, match="holds files that are not a pacer run's outputs"),
        RunCommit(tmp_path / "mine"),
    ):
        pass
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["thesis.tex"]


def test_only_this_folder_s_leftovers_are_removed(tmp_path: Path) -> None:
    """A killed run's staging folder of ``out`` goes; that of ``out-2`` (another folder, maybe running) stays."""
    out = output_folder(tmp_path / "out", "previous")
    (tmp_path / ".pacer-run-4194305-out").mkdir()
    (tmp_path / ".pacer-run-4194305-out-2").mkdir()
    with hold_output_locks(), RunCommit(out):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".pacer-run-4194305-out-2", "out"]


def test_the_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from-a").touch()
    exchange_folders(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from-a"]
    assert list((tmp_path / "a").iterdir()) == []
