"""Ctrl-C and SIGTERM during a real `pacer run`: stopped within 2 s, one line on stderr, exit 130 / 143, the folder as it was.

The output folder holds the demo's ingest only, so the run recomputes derive, analyze and the
report; the signal is sent once the derive step has started (just after the cut line) or once
it has finished (during analyze and the report). The folder must then hold exactly the bytes it
held before, no staging folder may be left beside it, and the run log ends the run as interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from analysis.settings import AnalysisPlan
from pipelines.ingest import run_ingest
from pipelines.paths import DEMO_EXPORT
from tests.reliability.conftest import REPO, snapshot

PACER = REPO / ".venv" / "bin" / "pacer"


@pytest.mark.parametrize(
    ("after_line", "signum", "code"),
    [("cut ", signal.SIGINT, 130), ("derive ", signal.SIGTERM, 143), ("analyze ", signal.SIGINT, 130)],
)
def test_a_signal_stops_the_run_at_once_and_keeps_the_previous_outputs(
    tmp_path: Path, after_line: str, signum: int, code: int
) -> None:
    out = tmp_path / "out"
    run_ingest(DEMO_EXPORT, data_cut=None, out_dir=out, time_zone=None, plan=AnalysisPlan())
    before = snapshot(out)
    run_log = tmp_path / "runs.jsonl"
    environ = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PACER_RUN_LOG": str(run_log)}
    environ.pop("PREFECT_API_URL", None)
    process = subprocess.Popen(
        [str(PACER), "run", "--out", str(out)],
        cwd=REPO,
        env=environ,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(after_line):
            break
    else:
        pytest.fail(f"the run ended before {after_line!r}: {process.communicate()}")
    time.sleep(0.2)
    sent = time.monotonic()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    stopped_in = time.monotonic() - sent
    assert process.returncode == code
    assert stopped_in < 2.0
    name = signal.Signals(signum).name
    assert stderr.splitlines() == [
        f"interrupted ({name}): nothing of this run was kept; {out} holds its previous outputs, unchanged"
    ]
    assert snapshot(out) == before
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".pacer-run-")] == []
    ended = json.loads(run_log.read_text().splitlines()[-1])
    assert (ended["event"], ended["result"]) == ("ended", "interrupted")
    assert all(step["out_dir"] == str(out) for step in ended["steps"])
