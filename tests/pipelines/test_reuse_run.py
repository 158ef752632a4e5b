"""A `pacer run` with nothing to do finishes before Prefect loads: no server, the reused lines, the run log says so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.settings import AnalysisPlan
from pipelines.paths import DEMO_EXPORT, PROJECT_ROOT
from pipelines.reuse import NOTHING_TO_RUN, current_steps

pytestmark = pytest.mark.flow

RUN_AND_REPORT_PREFECT = """
import sys
from pipelines.cli import app
try:
    app(sys.argv[1:], prog_name="pacer")
except SystemExit as exc:
    print("exit", exc.code)
print("prefect loaded", "prefect" in sys.modules)
"""


def pacer_run_in_new_process(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`pacer run ARGUMENTS` in a new Python process, which prints at its end whether it loaded Prefect."""
    return subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT_PREFECT, "run", *arguments],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )


def test_every_step_current_is_a_run_without_prefect(demo_output: Path) -> None:
    finished = pacer_run_in_new_process("--out", str(demo_output))
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == [
        "ingest   reused (inputs, settings and code unchanged)",
        "cut 2026-11-01: 45 enrolled, 40 infused, 0 left out (enrolled after the cut)",
        "derive   reused (inputs, settings and code unchanged)",
        "analyze  reused (inputs, settings and code unchanged)",
        "report   reused (inputs, settings and code unchanged)",
        "nothing to run: every step reused; no Prefect server started",
        f"outputs written to {demo_output}",
        "exit 0",
        "prefect loaded False",
    ]
    started, ended = (json.loads(line) for line in (demo_output / "runs.jsonl").read_text().splitlines()[-2:])
    assert (started["event"], ended["event"]) == ("started", "ended")
    assert started["run_id"] == ended["run_id"]
    assert (ended["command"], ended["result"], ended["exit_code"], ended["message"]) == (
        "run",
        "completed",
        0,
        NOTHING_TO_RUN,
    )
    assert [(step["step"], step["reused"]) for step in ended["steps"]] == [
        ("ingest", True),
        ("derive", True),
        ("analyze", True),
        ("report", True),
    ]
    assert ended["files_written"] == {}


def test_quiet_prints_only_the_output_folder(demo_output: Path) -> None:
    finished = pacer_run_in_new_process("--out", str(demo_output), "--quiet")
    assert finished.stdout.splitlines() == [f"outputs written to {demo_output}", "exit 0", "prefect loaded False"]


def test_a_step_with_work_to_do_sends_the_run_through_the_steps(demo_output: Path) -> None:
    plan = AnalysisPlan()
    assert [(o.step, o.out_dir) for o in current_steps(DEMO_EXPORT, None, demo_output, None, None, plan)] == [
        ("ingest", demo_output),
        ("derive", demo_output),
        ("analyze", demo_output),
        ("report", demo_output),
    ]
    # other settings: every key changes; the historical steps have not run in this folder
    assert current_steps(DEMO_EXPORT, None, demo_output, None, None, AnalysisPlan(high_burden_pct=50.0)) is None
    historical = PROJECT_ROOT / "data" / "raw" / "demo_historical"
    assert current_steps(DEMO_EXPORT, None, demo_output, None, historical, plan) is None


def test_an_altered_output_file_is_work_to_do(demo_output: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "out"
    shutil.copytree(demo_output, copy)
    assert current_steps(DEMO_EXPORT, None, copy, None, None, AnalysisPlan()) is not None
    (copy / "report" / "dsmb_report.html").write_text("altered", encoding="utf-8")
    assert current_steps(DEMO_EXPORT, None, copy, None, None, AnalysisPlan()) is None
