"""A run is the unit of commit: killed at any moment, the output folder holds the whole previous run or the whole new one.

The acceptance test of the run-level commit: ``pacer run`` (its real command, its Prefect
temporary server, its run log) on a second export is killed (SIGKILL) inside each step's commit,
between steps, and just before and just after the switch; after each kill the folder is the
previous run or the new one (tables, manifest, reports), no process of the run survives, and the
run log shows the run as interrupted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from analysis.runlog import read_runs
from analysis.settings import AnalysisPlan
from analysis.store import file_sha256, read_manifest
from tests.reliability.conftest import REPO, copy_output, run_demo_pipeline
from tests.reliability.worker import canned_reports

MARK_VARIABLE = "PACER_TEST_RUN_MARK"
STEPS = ("ingest", "derive", "analyze", "report")


def run_state(out: Path) -> dict[str, str]:
    """Every file of an output folder (dot-files and the manifest aside) with its SHA-256, checked against the manifest."""
    files = {
        path.relative_to(out).as_posix(): file_sha256(path)
        for path in sorted(out.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(out).parts)
    }
    files.pop("manifest.json", None)
    recorded = {name: entry["sha256"] for name, entry in read_manifest(out)["files"].items()}
    assert recorded == files, "the manifest does not describe the folder's files"
    return files


def survivors(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (the run and every child it started)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"{MARK_VARIABLE}={mark}".encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def pacer_run(
    out: Path, export: Path, run_log: Path, prefect_home: Path, *options: str
) -> tuple[subprocess.CompletedProcess, str]:
    """``pacer run --export EXPORT --out OUT`` in a worker process with stand-in reports and ``options`` (faults)."""
    mark = uuid.uuid4().hex
    finished = subprocess.run(
        [sys.executable, "-m", "tests.reliability.worker", "cli", str(out), *options, "--", "run"]
        + ["--export", str(export), "--out", str(out), "--quiet", "--force"],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "PACER_RUN_LOG": str(run_log), "PREFECT_HOME": str(prefect_home), MARK_VARIABLE: mark},
    )
    return finished, mark


def kill_points(events: list[str]) -> dict[str, int]:
    """The moments to kill at, by name: the first file moved into place in each step's commit, each step's end, the switch."""
    points: dict[str, int] = {}
    step = 0
    for number, label in enumerate(events, start=1):
        if label == "rename .commit.json":
            points[f"inside the {STEPS[step]} commit"] = number + 1
        elif label.startswith("step-done "):
            if step < len(STEPS) - 1:
                points[f"between {STEPS[step]} and {STEPS[step + 1]}"] = number
            step += 1
        elif label in ("switch-before", "switch-after"):
            points[label] = number
    return points


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The previous run (export A, built by the steps' functions) and the new one (export B, by `pacer run`), with its moments."""
    import pipelines.report
    from analysis.simulate import simulate_export

    root = tmp_path_factory.mktemp("runs")
    for name, seed in (("export-a", 11), ("export-b", 12)):
        simulate_export(12, seed, root / name, historical=False)
    previous = root / "previous"
    real_render = pipelines.report.render_reports
    pipelines.report.render_reports = canned_reports
    try:
        run_demo_pipeline(previous, AnalysisPlan(), export=root / "export-a")
    finally:
        pipelines.report.render_reports = real_render
    new = copy_output(previous, root / "new")
    events_file = root / "events.txt"
    finished, _ = pacer_run(
        new, root / "export-b", root / "runs.jsonl", root / "prefect", "--record-events", str(events_file)
    )
    assert finished.returncode == 0, finished.stderr
    events = [line.split(" ", 1)[1] for line in events_file.read_text().splitlines()]
    return {"root": root, "previous": run_state(previous), "new": run_state(new), "events": events}


def test_the_new_run_differs_from_the_previous_one_in_every_step(two_runs: dict) -> None:
    changed = {name for name in two_runs["new"] if two_runs["new"][name] != two_runs["previous"].get(name)}
    assert {"participants.parquet", "adsl.parquet", "ard.parquet"} <= changed
    assert set(kill_points(two_runs["events"])) == {
        *(f"inside the {step} commit" for step in STEPS),
        "between ingest and derive",
        "between derive and analyze",
        "between analyze and report",
        "switch-before",
        "switch-after",
    }


def test_a_run_killed_at_any_moment_leaves_one_whole_run_no_process_and_an_interrupted_line(
    two_runs: dict, tmp_path: Path
) -> None:
    root = two_runs["root"]
    outcomes = {}
    for moment, number in kill_points(two_runs["events"]).items():
        out = copy_output(root / "previous", tmp_path / f"out-{number}")
        run_log = tmp_path / f"runs-{number}.jsonl"
        killed, mark = pacer_run(out, root / "export-b", run_log, root / "prefect", "--kill-at-event", str(number))

        assert killed.returncode == -9, (moment, killed.stderr[-2000:])
        state = run_state(out)
        assert state in (two_runs["previous"], two_runs["new"]), moment
        outcomes[moment] = "new" if state == two_runs["new"] else "previous"
        deadline = time.monotonic() + 20
        while survivors(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert survivors(mark) == [], f"{moment}: a process of the killed run survives"
        [run] = read_runs(run_log)
        assert (run["result"], run["command"]) == ("interrupted", "run"), moment

    assert outcomes == {moment: "new" if moment == "switch-after" else "previous" for moment in outcomes}


def test_the_next_run_after_a_kill_notes_the_interrupted_run_and_completes(two_runs: dict, tmp_path: Path) -> None:
    root = two_runs["root"]
    out = copy_output(root / "previous", tmp_path / "out")
    run_log = tmp_path / "runs.jsonl"
    number = kill_points(two_runs["events"])["between derive and analyze"]
    killed, _ = pacer_run(out, root / "export-b", run_log, root / "prefect", "--kill-at-event", str(number))
    assert killed.returncode == -9

    finished, _ = pacer_run(out, root / "export-b", run_log, root / "prefect")

    assert finished.returncode == 0, finished.stderr
    assert run_state(out) == two_runs["new"]
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".pacer-run-")] == []
    lines = [line for line in run_log.read_text().splitlines() if line]
    assert len(lines) == 4  # started, started-and-noticed: the killed run's interrupted end, the second's end
    runs = read_runs(run_log)
    assert [run["result"] for run in runs] == ["interrupted", "completed"]
    assert runs[0]["noticed_by"] == runs[1]["run_id"]
