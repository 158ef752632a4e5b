"""A run killed at any moment leaves the output folder consistent with its manifest.

A run of the four steps (the functions ``pacer run`` calls, in their own process, with a non-default
plan so that every step recomputes) is started on a copy of a finished demo run and killed — SIGKILL,
SIGTERM or SIGINT — at several moments: while it starts, after the ingest, after the derive, and
twice inside the report step (while the reports are rendered). After each kill every file the
manifest records is there with the SHA-256 the manifest gives it. The check reads only the public
outputs (``manifest.json`` and the files), whatever the way the steps commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.conftest import REPO, DemoRun, copy_output

KILLS = [
    ("starting", 0.3, signal.SIGKILL),
    ("ingest", 0.0, signal.SIGKILL),
    ("derive", 0.0, signal.SIGTERM),
    ("analyze", 0.5, signal.SIGKILL),
    ("analyze", 1.5, signal.SIGINT),
]
"""(the step line the kill waits for, or "starting"; the seconds after it; the signal). The report step
follows the analyze line and takes several seconds even on a quiet machine (imports, figures, two PDF
layouts), so both of the last two land inside it. SIGINT reaches pacer's own handler, as in `pacer run`
(``tests/reliability/worker.py``)."""


def manifest_mismatches(out: Path) -> list[str]:
    """Every file the manifest records that is missing or whose SHA-256 differs from the manifest's."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"], "the manifest records no file"
    wrong = []
    for name, record in manifest["files"].items():
        path = out / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != record["sha256"]:
            wrong.append(name)
    return wrong


def start_run(out: Path, stderr: Path) -> subprocess.Popen:
    """The four steps on the demo export into ``out``, in a new process group (killed whole afterwards);
    stderr into a file (a pipe nobody reads could fill and stall the run)."""
    with stderr.open("w") as errors:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.worker",
                "steps",
                str(out),
                "ingest,derive,analyze,report",
                "--variant",
            ],
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
            env={**os.environ},
        )


def kill_when(run: subprocess.Popen, step: str, delay: float, signal_number: int) -> list[str]:
    """Wait for ``step``'s line (or only ``delay`` seconds when ``step`` is "starting"), then send the signal."""
    printed: list[str] = []
    if step != "starting":
        for line in run.stdout:
            printed.append(line)
            if line.startswith(step):
                break
        else:
            pytest.fail(f"the run ended before the {step} step: {printed}")
    time.sleep(delay)
    assert run.poll() is None, f"the run ended before the kill: {printed}"
    run.send_signal(signal_number)
    run.wait(timeout=60)
    try:
        os.killpg(run.pid, signal.SIGKILL)  # anything the run started, in its own process group
    except ProcessLookupError:
        pass
    run.stdout.close()
    return printed


def test_a_run_killed_at_any_moment_leaves_the_outputs_consistent_with_the_manifest(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    out = copy_output(demo_run.out, tmp_path / "out")
    assert manifest_mismatches(out) == []
    for step, delay, signal_number in KILLS:
        run = start_run(out, tmp_path / "stderr.log")
        printed = kill_when(run, step, delay, signal_number)
        assert run.returncode != 0, printed
        assert manifest_mismatches(out) == [], (step, delay, signal.Signals(signal_number).name, printed)
