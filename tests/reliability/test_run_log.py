"""The run log ``runs.jsonl``: a started line and an ended line per run, appended in a folder the pipeline owns, whatever the result."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analysis.runlog import (
    append_run_record,
    close_interrupted_runs,
    read_run_log,
    read_runs,
    run_log_path,
    started_record,
)
from analysis.settings import AnalysisPlan
from analysis.store import code_version, file_sha256, read_manifest
from pipelines.paths import DEMO_EXPORT
from tests.export.bundle_builder import P001, PARTICIPANT_HEADER, write_bundle
from tests.reliability.conftest import REPO, DemoRun, copy_output, worker

FIELDS = {
    "record_version",
    "user",
    "host",
    "pid",
    "started_at",
    "finished_at",
    "command",
    "parameters",
    "steps",
    "input_sha256",
    "data_cut",
    "analysis_plan_sha256",
    "code_version",
    "out_dir",
    "files_written",
    "result",
    "message",
    "run_id",
    "process_started",
    "exit_code",
}


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset().total_seconds() == 0, text
    return moment


def test_a_run_writes_one_line_with_the_audit_trail(demo_run: DemoRun) -> None:
    [record] = read_runs(demo_run.run_log)
    manifest = read_manifest(demo_run.out)
    assert set(record) == FIELDS
    assert record["user"] == getpass.getuser()
    assert utc(record["started_at"]) <= utc(record["finished_at"]) <= datetime.now(UTC)
    assert record["command"] == "run"
    assert [(s["step"], s["reused"]) for s in record["steps"]] == [
        ("ingest", False),
        ("derive", False),
        ("analyze", False),
        ("report", False),
    ]
    assert record["input_sha256"] == {
        name: entry["sha256"] for name, entry in manifest["steps"]["ingest"]["inputs"].items()
    }
    assert record["input_sha256"]["events.csv"] == file_sha256(DEMO_EXPORT / "events.csv")
    assert record["data_cut"] == "2026-11-01"
    assert record["analysis_plan_sha256"] == AnalysisPlan().settings_hash()
    assert record["code_version"] == code_version()
    assert record["out_dir"] == str(demo_run.out.resolve())
    files = {
        str(p.resolve()): file_sha256(p)
        for p in demo_run.out.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "runs.jsonl")
    }
    assert record["files_written"] == files
    assert len(files) == 22  # 17 tables, comparison_notes.json and the four reports
    assert (record["result"], record["exit_code"], record["message"]) == ("completed", 0, None)


def test_the_log_is_beside_the_output_folder_or_where_pacer_run_log_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PACER_RUN_LOG", raising=False)
    assert run_log_path(tmp_path / "processed") == tmp_path / "processed" / "runs.jsonl"
    monkeypatch.setenv("PACER_RUN_LOG", str(tmp_path / "audit" / "pacer.jsonl"))
    assert run_log_path(tmp_path / "processed") == tmp_path / "audit" / "pacer.jsonl"


def test_the_log_stays_in_folders_the_pipeline_owns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A <data-cut>/ folder logs into the folder of the runs; a folder named with --out logs into itself."""
    from pipelines import paths
    from pipelines.audit import RunLog

    monkeypatch.delenv("PACER_RUN_LOG", raising=False)
    default_cut = paths.PROCESSED_ROOT / "2026-11-01"
    assert RunLog("run", {}, None).path() == paths.PROCESSED_ROOT / "runs.jsonl"
    assert RunLog("analyze", {}, default_cut).path() == paths.PROCESSED_ROOT / "runs.jsonl"
    assert RunLog("run", {}, None, out_parent=tmp_path / "weekly").path() == tmp_path / "weekly" / "runs.jsonl"
    assert RunLog("analyze", {}, tmp_path / "weekly" / "2026-11-01", out_parent=tmp_path / "weekly").path() == (
        tmp_path / "weekly" / "runs.jsonl"
    )
    assert RunLog("run", {}, tmp_path / "mine").path() == tmp_path / "mine" / "runs.jsonl"


def test_appends_from_two_processes_at_once_stay_whole_lines(tmp_path: Path) -> None:
    """200 lines of 100 kB from each of two processes: every line whole, none lost (O_APPEND under flock)."""
    log = tmp_path / "runs.jsonl"
    script = (
        "import sys; from pathlib import Path; from analysis.runlog import append_run_record\n"
        "for i in range(200): append_run_record(Path(sys.argv[1]), {'writer': sys.argv[2], 'i': i, 'pad': 'x' * 100_000})\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(log), name], cwd=REPO) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    records = read_run_log(log)
    assert len(records) == 400
    for name in ("a", "b"):
        assert [r["i"] for r in records if r["writer"] == name] == list(range(200))


def test_the_log_is_only_appended_to(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    append_run_record(log, {"run": 1})
    first = log.read_bytes()
    append_run_record(log, {"run": 2})
    assert log.read_bytes().startswith(first)
    assert [r["run"] for r in read_run_log(log)] == [1, 2]


def test_a_run_log_that_cannot_be_written_fails_a_completed_run(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.audit import RunLog
    from pipelines.steps import StepOutcome

    (tmp_path / "a-folder").mkdir()
    monkeypatch.setenv("PACER_RUN_LOG", str(tmp_path / "a-folder"))
    outcome = StepOutcome("derive", demo_run.out, reused=True, seconds=0.0)
    state = RunLog("derive", {"processed": demo_run.out}, demo_run.out).finish(outcome, AnalysisPlan())
    assert state.is_failed()
    assert state.message.startswith(f"the run completed but the run log {tmp_path / 'a-folder'} could not be written")


# --- the flows write it -------------------------------------------------------------------------------


@pytest.mark.flow
def test_two_runs_give_two_lines(prefect_harness: None, demo_run: DemoRun, tmp_path: Path) -> None:
    from pipelines.run import run_flow

    out = copy_output(demo_run.out, tmp_path / "out")
    for _ in range(2):
        outcomes = run_flow(export=DEMO_EXPORT, out_dir=out)
        assert [o.reused for o in outcomes] == [True, True, True, True]
    records = read_runs(out / "runs.jsonl")[1:]  # the copied folder carries the demo run's own line first
    assert [(r["command"], r["result"]) for r in records] == [("run", "completed"), ("run", "completed")]
    assert records[0]["pid"] == records[1]["pid"] and records[0]["started_at"] <= records[1]["started_at"]
    assert all(r["files_written"] == {} and r["data_cut"] == "2026-11-01" for r in records)


@pytest.mark.flow
def test_a_failed_run_writes_a_failed_line(prefect_harness: None, tmp_path: Path) -> None:
    from pipelines.run import run_flow

    bundle = write_bundle(
        tmp_path / "bundle",
        participant_header=["participant_id", "MRN", *PARTICIPANT_HEADER[1:]],
        participants=[["P001", "12345", *P001[1:]]],
    )
    state = run_flow(export=bundle, out_dir=tmp_path / "out", return_state=True)
    assert state.is_failed()
    [record] = read_runs(tmp_path / "out" / "runs.jsonl")
    assert (record["result"], record["exit_code"]) == ("failed", 2)
    assert record["message"] == state.message
    assert record["message"].startswith("participants.csv: column 'MRN' looks like a direct identifier")
    assert record["input_sha256"] == {
        name: file_sha256(bundle / name) for name in ("events.csv", "manifest.json", "participants.csv")
    }
    assert record["steps"] == [] and record["files_written"] == {}
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["runs.jsonl"], "the log only, in the folder named"
    assert not (tmp_path / "runs.jsonl").exists(), "nothing written in the folder's parent"
    assert "12345" not in (tmp_path / "out" / "runs.jsonl").read_text()


@pytest.mark.flow
def test_a_single_step_writes_its_line_with_the_files_it_wrote(prefect_harness: None, tmp_path: Path) -> None:
    from pipelines.ingest import ingest_flow

    ingest_flow(export=DEMO_EXPORT, out_dir=tmp_path / "out")
    [record] = read_runs(tmp_path / "out" / "runs.jsonl")
    assert record["command"] == "ingest" and record["result"] == "completed"
    assert sorted(Path(p).name for p in record["files_written"]) == [
        "events.parquet",
        "participants.parquet",
        "quarantine.parquet",
    ]


@pytest.mark.flow
def test_the_command_line_on_a_folder_in_use(prefect_harness: None, demo_run: DemoRun, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    out = copy_output(demo_run.out, tmp_path / "out")
    holder = worker("hold", str(out), stdin=subprocess.PIPE)
    pid = int(holder.stdout.readline().split()[1])
    try:
        result = CliRunner().invoke(
            app, ["analyze", "--processed", str(out), "--settings", str(settings_file(tmp_path))]
        )
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: output folder {out} is in use by another run (pid {pid}); wait for it to finish, or write to another folder"
    ]
    record = read_runs(out / "runs.jsonl")[-1]
    assert (record["command"], record["result"]) == ("analyze", "failed")
    assert "is in use by another run" in record["message"]


def settings_file(folder: Path) -> Path:
    path = folder / "settings.json"
    path.write_text(json.dumps({"high_burden_pct": 50}), encoding="utf-8")
    return path


# --- killed runs: a start without an end ---------------------------------------------------------------


def test_a_start_without_an_end_is_an_interrupted_run(tmp_path: Path) -> None:
    """A run killed outright: shown as interrupted when the log is read, and given its end by the next run."""
    log = tmp_path / "runs.jsonl"
    record = started_record(
        run_id="killed", command="run", parameters={}, started_at="2026-11-02T00:00:00+00:00", out_dir=None
    )
    append_run_record(log, {**record, "pid": 2**22 + 1, "process_started": 1})  # a process that is not running
    append_run_record(
        log,
        started_record(
            run_id="alive", command="run", parameters={}, started_at="2026-11-02T00:00:01+00:00", out_dir=None
        ),
    )
    assert [(run["run_id"], run["result"]) for run in read_runs(log)] == [
        ("killed", "interrupted"),
        ("alive", "running"),
    ]

    close_interrupted_runs(log, noticed_by="next")

    records = read_run_log(log)
    assert len(records) == 3
    assert {key: records[-1][key] for key in ("event", "run_id", "result", "noticed_by")} == {
        "event": "ended",
        "run_id": "killed",
        "result": "interrupted",
        "noticed_by": "next",
    }
    close_interrupted_runs(log, noticed_by="later")
    assert len(read_run_log(log)) == 3, "an interrupted run gets one end"
