"""The run log of a flow (:mod:`analysis.runlog`): started with the flow, one line appended as it ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from prefect.states import Failed, State

from analysis.runlog import append_run_record, run_log_path, run_record, utc_now
from analysis.settings import AnalysisPlan
from analysis.store import OutputError
from pipelines import (
    paths,
    prefect_env,  # noqa: F401  (offline defaults before Prefect loads)
)
from pipelines.steps import StepOutcome

T = TypeVar("T")


class RunLog:
    """One flow's line of the run log.

    ``out_dir``: the output folder as given (None: the default ``data/processed/<data-cut>/``);
    the log goes beside it (:func:`analysis.runlog.run_log_path`).
    """

    def __init__(
        self, command: str, parameters: dict[str, Any], out_dir: Path | None, export: Path | None = None
    ) -> None:
        self.command = command
        self.parameters = parameters
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.export = export
        self.started_at = utc_now()

    def path(self) -> Path:
        """Where this run's line goes."""
        return run_log_path(self.out_dir.parent if self.out_dir is not None else paths.PROCESSED_ROOT)

    def finish(self, result: T, plan: AnalysisPlan | None, outcomes: list[StepOutcome] | None = None) -> T | State:
        """Append the line for ``result`` (a step's outcome, a list of them, a Failed state, or an exception).

        Returns ``result``; a completed run whose line cannot be written becomes a Failed state
        saying so (the audit trail is part of the run), a failed run keeps its own message.
        """
        if isinstance(result, StepOutcome):
            outcomes = [result]
        elif isinstance(result, list):
            outcomes = result
        outcomes = outcomes or []
        if isinstance(result, BaseException):
            failed, message = True, f"{type(result).__name__}: {result}"
        elif isinstance(result, State) and result.is_failed():
            failed, message = True, result.message
        else:
            failed, message = False, None
        steps = [
            {"step": o.step, "out_dir": str(o.out_dir), "reused": o.reused, "seconds": round(o.seconds, 3)}
            for o in outcomes
        ]
        path = self.path()
        try:
            record = run_record(
                command=self.command,
                parameters=self.parameters,
                started_at=self.started_at,
                steps=steps,
                out_dir=outcomes[0].out_dir if outcomes else self.out_dir,
                settings_hash=None if plan is None else plan.settings_hash(),
                result="failed" if failed else "completed",
                message=message,
                export=self.export,
            )
            append_run_record(path, record)
        except (OSError, OutputError) as exc:
            problem = f"the run log {path} could not be written: {getattr(exc, 'strerror', None) or exc}"
            if not failed:
                return Failed(message=f"the run completed but {problem}")
            if isinstance(result, State):
                return Failed(message=f"{message}; and {problem}")
        return result
