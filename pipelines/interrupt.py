"""Ctrl-C and SIGTERM stop a run at once, in one line, with the exit code of the signal (130, 143).

The run's outputs are built in a staging folder and switched in only at its end
(:class:`analysis.store.run_commit.RunCommit`), so an interrupted run has nothing to undo: the
output folder still holds the previous run. :func:`stop_now` therefore does not unwind Prefect
(which would wait for its temporary server and end in a connection traceback): it removes the
staging folder, appends the run log's ``interrupted`` line, says what was kept and exits. The
temporary server stops with the process (:mod:`pipelines.server_guard`).
"""

from __future__ import annotations

import os
import shutil
import signal
from typing import Any

from analysis.store.lock import LOCK_NAME
from analysis.store.run_commit import RunCommit

ACTIVE_COMMITS: list[RunCommit] = []
"""The runs of this process between their staging and their end (:func:`pipelines.step_runner.in_one_commit`)."""


def what_was_kept() -> str:
    """One sentence on the output folder after an interrupt; removes the interrupted run's staging folder and lock file."""
    for run in ACTIVE_COMMITS:
        (run.out_dir / LOCK_NAME).unlink(missing_ok=True)  # this run holds the lock: release it as the run would
        if run.committed:
            return f"this run's outputs were already switched in: {run.out_dir} holds them"
        shutil.rmtree(run.folder, ignore_errors=True)
        return f"nothing of this run was kept; {run.out_dir} holds its previous outputs, unchanged"
    return "nothing was written"


def stop_now(signum: int, frame: Any) -> None:
    """Signal handler of SIGINT and SIGTERM: say what was kept, log the run as interrupted, exit 128 + signal."""
    from pipelines.audit import end_interrupted_runs

    name = signal.Signals(signum).name
    runs = list(ACTIVE_COMMITS)
    kept = what_was_kept()
    try:
        end_interrupted_runs(name, runs[0].public_path if runs else lambda path: path)
    finally:
        os.write(2, f"interrupted ({name}): {kept}\n".encode())
        os._exit(128 + signum)


def stop_on_signals() -> None:
    """Make SIGINT and SIGTERM call :func:`stop_now`, also while Prefect runs a flow (it swaps in its own
    SIGTERM handler for the flow's duration: it gets this one instead)."""
    import prefect.utilities.engine

    signal.signal(signal.SIGINT, stop_now)
    signal.signal(signal.SIGTERM, stop_now)
    prefect.utilities.engine._prefect_sigterm_handler = stop_now
