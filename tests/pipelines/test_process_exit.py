"""Ending a pacer process without the interpreter's teardown: exit handlers run, streams flushed, the status kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.process_exit import exit_status

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), (130, 130), ("error: text", 1)])
def test_exit_status_is_pythons(code: object, status: int):
    assert exit_status(code) == status


@pytest.mark.parametrize(
    ("code", "status", "stderr"), [("None", 0, ""), ("2", 2, ""), ("'bad thing'", 1, "bad thing\n")]
)
def test_end_now_runs_the_exit_handlers_flushes_and_keeps_the_status(code: str, status: int, stderr: str):
    script = (
        "import atexit, sys, threading, time\n"
        "from pipelines.process_exit import end_now\n"
        "atexit.register(lambda: print('exit handler ran'))\n"
        "done = []\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), done.append(1))).start()\n"
        "atexit.register(lambda: print('worker thread finished first:', bool(done)))\n"
        "sys.stdout.write('unflushed line\\n')\n"
        f"end_now({code})\n"
        "print('not reached')\n"
    )
    finished = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert finished.returncode == status
    assert finished.stdout == "unflushed line\nworker thread finished first: True\nexit handler ran\n"
    assert finished.stderr == stderr
