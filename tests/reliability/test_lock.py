"""Two runs on one output folder: the second fails at once with one clear line; runs on different folders do not meet.

The lock is ``fcntl.flock`` on ``<out>/.pacer.lock``, taken by every step (and held by ``pacer run``
from its first step to its last); the tests use separate processes, as two real runs would be.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analysis.settings import AnalysisPlan
from analysis.store import LOCK_NAME, OutputBusyError, hold_output_locks, output_lock, read_manifest, read_provenance
from tests.reliability.conftest import VARIANT_PLAN, DemoRun, copy_output, litter, snapshot, worker
from tests.reliability.test_step_atomicity import assert_consistent


def hold(out: Path) -> tuple[subprocess.Popen, int]:
    """Another process holding ``out``'s lock until its stdin closes; returns it and its pid."""
    holder = worker("hold", str(out), stdin=subprocess.PIPE)
    line = holder.stdout.readline()
    assert line.startswith("held "), holder.stderr.read()
    return holder, int(line.split()[1])


def release(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    assert holder.wait(timeout=60) == 0


def test_a_step_on_a_folder_in_use_fails_at_once_naming_the_other_run(demo_run: DemoRun, tmp_path: Path) -> None:
    from pipelines.derive import run_derive

    out = copy_output(demo_run.out, tmp_path / "out")
    before = snapshot(out)
    holder, pid = hold(out)
    try:
        with pytest.raises(OutputBusyError) as raised:
            run_derive(out, VARIANT_PLAN)
        assert str(raised.value) == (
            f"output folder {out} is in use by another run (pid {pid}); "
            "wait for it to finish, or write to another folder"
        )
        assert "\n" not in str(raised.value)
        assert {k: v for k, v in snapshot(out).items() if k != LOCK_NAME} == before
    finally:
        release(holder)
    assert run_derive(out, VARIANT_PLAN).reused is False
    assert litter(out) == []


def test_the_busy_folder_is_a_user_error_for_the_flows(demo_run: DemoRun, tmp_path: Path) -> None:
    from pipelines.derive import run_derive
    from pipelines.outcome import as_user_outcome

    out = copy_output(demo_run.out, tmp_path / "out")
    holder, pid = hold(out)
    try:
        state = as_user_outcome(run_derive, out, VARIANT_PLAN)
    finally:
        release(holder)
    assert state.is_failed()
    assert state.message.startswith(f"output folder {out} is in use by another run (pid {pid})")


def test_two_runs_at_once_on_the_same_cut_one_fails_clearly_never_a_mixed_output(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    go = tmp_path / "go"
    first = worker("steps", str(out), "derive", "--variant", "--pause-at-write", "3", "--until", str(go))
    paused = first.stdout.readline()
    assert paused.startswith("paused "), first.stderr.read()
    pid = int(paused.split()[1])
    try:
        second = worker("steps", str(out), "derive", "--variant")
        _, second_err = second.communicate(timeout=120)
    finally:
        go.touch()
    first_out, first_err = first.communicate(timeout=120)

    assert second.returncode == 3, second_err
    assert second_err.strip() == (
        f"output folder {out} is in use by another run (pid {pid}); wait for it to finish, or write to another folder"
    )
    assert first.returncode == 0, first_err
    assert "derive   done in" in first_out
    assert litter(out) == []
    assert_consistent(out)
    assert read_manifest(out)["steps"]["derive"]["analysis_plan_sha256"] == VARIANT_PLAN.settings_hash()


def test_two_runs_at_once_on_different_cuts_do_not_interfere(tmp_path: Path) -> None:
    """Both pause mid-ingest, so they overlap for certain; each ends as a run alone would."""
    go = tmp_path / "go"
    cuts = {"2026-06-30": tmp_path / "cut-a", "2026-11-01": tmp_path / "cut-b"}
    runs = [
        worker("steps", str(out), "ingest,derive", "--data-cut", cut, "--pause-at-write", "2", "--until", str(go))
        for cut, out in cuts.items()
    ]
    try:
        for run in runs:
            assert run.stdout.readline().startswith("paused "), run.stderr.read()
    finally:
        go.touch()
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err

    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest
    from pipelines.paths import DEMO_EXPORT

    for cut, out in cuts.items():
        alone = tmp_path / f"alone-{cut}"
        run_ingest(DEMO_EXPORT, data_cut=date.fromisoformat(cut), out_dir=alone, time_zone=None, plan=AnalysisPlan())
        run_derive(alone, AnalysisPlan())
        assert read_manifest(out)["steps"]["ingest"]["data_cut"] == cut
        assert litter(out) == []
        assert_consistent(out)
        for table in sorted(alone.glob("*.parquet")):  # the same rows (the code version in the provenance may differ)
            pd.testing.assert_frame_equal(pd.read_parquet(out / table.name), pd.read_parquet(table))
            assert read_provenance(out / table.name)["data_cut"] == cut
    assert len(pd.read_parquet(cuts["2026-06-30"] / "events.parquet")) < len(
        pd.read_parquet(cuts["2026-11-01"] / "events.parquet")
    )


def test_the_lock_is_reentrant_in_one_process_and_held_for_a_whole_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with hold_output_locks():
        with output_lock(out), output_lock(out):
            assert (out / LOCK_NAME).read_text().strip().isdigit()
        assert (out / LOCK_NAME).exists(), "a run keeps its folder locked between two steps"
    assert not out.exists(), "the lock removes its file, and the folder it created when left empty"


def test_a_killed_holder_leaves_no_stale_lock(demo_run: DemoRun, tmp_path: Path) -> None:
    from pipelines.derive import run_derive

    out = copy_output(demo_run.out, tmp_path / "out")
    holder, _ = hold(out)
    holder.kill()
    holder.wait(timeout=60)
    assert (out / LOCK_NAME).exists()
    assert run_derive(out, VARIANT_PLAN).reused is False
    assert litter(out) == []
