"""Reliability fixtures: one demo output folder per session, built by the steps' own functions (no Prefect).

Helpers: copy an output folder, take a byte snapshot of one, run a step in its own process
(``tests/reliability/worker.py``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from analysis.settings import AnalysisPlan
from pipelines.paths import DEMO_EXPORT

REPO = Path(__file__).resolve().parents[2]
VARIANT_PLAN = AnalysisPlan(high_burden_pct=50.0)
"""A plan other than the defaults: every step's cache key changes, so every step recomputes."""


@dataclass(frozen=True)
class DemoRun:
    """The demo pipeline's outputs, its run log and everything it logged or printed."""

    out: Path
    run_log: Path
    log_text: str


def run_demo_pipeline(out: Path, plan: AnalysisPlan | None = None, export: Path = DEMO_EXPORT) -> list:
    """ingest → derive → analyze → report on the demo export (or ``export``) into ``out``, without Prefect."""
    from pipelines.analyze import run_analyze
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest
    from pipelines.report import run_report

    plan = plan or AnalysisPlan()
    return [
        run_ingest(export, data_cut=None, out_dir=out, time_zone=None, plan=plan),
        run_derive(out, plan),
        run_analyze(out, plan),
        run_report(out, plan),
    ]


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The demo pipeline run once, its logging (INFO and up, every logger) and output captured, its run-log line written."""
    from pipelines.audit import RunLog

    root = tmp_path_factory.mktemp("demo")
    out = root / "out"
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    os.environ.pop("PACER_RUN_LOG", None)
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            log = RunLog("run", {"export": DEMO_EXPORT, "out_dir": out}, out, DEMO_EXPORT)
            log.start()
            outcomes = run_demo_pipeline(out)
            for outcome in outcomes:
                print(outcome.line())
            log.finish(outcomes, AnalysisPlan())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    return DemoRun(out=out, run_log=out / "runs.jsonl", log_text=captured.getvalue())


def copy_output(source: Path, target: Path) -> Path:
    """A copy of an output folder (modes kept)."""
    shutil.copytree(source, target, copy_function=shutil.copy2)
    return target


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (dot-files included): relative path → bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def litter(folder: Path) -> list[str]:
    """Everything a step may leave behind when it stops: staging folders, temporary files, the lock file."""
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob(".*"))


def worker(*args: str, stdin: int | None = None) -> subprocess.Popen:
    """``python -m tests.reliability.worker ARGS`` in its own process (text output)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.worker", *args],
        cwd=REPO,
        text=True,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )


def run_worker(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run a worker to its end."""
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.worker", *args],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ},
    )
