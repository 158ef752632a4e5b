"""The run log of a flow (:mod:`analysis.runlog`): a ``started`` line before any work, an ``ended`` line after.

Prefect is imported only where a Prefect state or signal is at hand, so that a run with nothing to
do (:mod:`pipelines.reuse`) writes its two lines without loading Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from analysis.runlog import (
    append_run_record,
    close_interrupted_runs,
    new_run_id,
    run_log_path,
    run_record,
    started_record,
    utc_now,
)
from analysis.settings import AnalysisPlan
from analysis.store import OutputError, ensure_output_dir
from pipelines import (
    paths,
    prefect_env,  # noqa: F401  (offline defaults before Prefect loads)
)
from pipelines.outcome import USER_ERROR_CODE, exit_code_of
from pipelines.steps import StepOutcome

if TYPE_CHECKING:
    from prefect.states import State

T = TypeVar("T")


class RunLog:
    """One flow's line of the run log.

    ``out_dir``: the output folder as given (None: ``<out_parent>/<data-cut>/``, by default
    ``data/processed/<data-cut>/``); where the log goes: :meth:`path`. ``note``: the ``message`` of a
    completed run's line (None for a run of the steps; what a run that had nothing to do did instead,
    :mod:`pipelines.reuse`).
    """

    def __init__(
        self,
        command: str,
        parameters: dict[str, Any],
        out_dir: Path | None,
        export: Path | None = None,
        out_parent: Path | None = None,
    ) -> None:
        self.command = command
        self.out_parent = None if out_parent is None else Path(out_parent)
        self.parameters = parameters
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.export = export
        self.started_at = utc_now()
        self.run_id = new_run_id()
        self.note: str | None = None

    def start(self) -> State | None:
        """Append the ``started`` line (after an ``interrupted`` end for each killed run the log shows).

        Returns a Failed state when the log cannot be written (the run then does no work), else None.
        """
        path = self.path()
        try:
            ensure_output_dir(path.parent)
            close_interrupted_runs(path, self.run_id)
            append_run_record(
                path,
                started_record(
                    run_id=self.run_id,
                    command=self.command,
                    parameters=self.parameters,
                    started_at=self.started_at,
                    out_dir=self.out_dir,
                ),
            )
        except (OSError, OutputError, ValueError) as exc:
            from prefect.states import Failed

            return Failed(message=f"the run log {path} could not be written: {getattr(exc, 'strerror', None) or exc}")
        return None

    def path(self) -> Path:
        """Where this run's line goes: the folder of the runs, or inside the output folder named with ``--out``.

        A ``<data-cut>/`` folder of ``data/processed/`` (or of ``pacer serve --out``) logs into the
        folder of the runs beside it; any other output folder logs into itself, never into a parent
        the pipeline does not own (:func:`analysis.runlog.run_log_path`).
        """
        runs_folder = self.out_parent if self.out_parent is not None else paths.PROCESSED_ROOT
        if self.out_dir is None or self.out_dir.resolve().parent == runs_folder.resolve():
            return run_log_path(runs_folder)
        return run_log_path(self.out_dir)

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
        failed, message, ended, code = run_end(result)
        message = message if failed else self.note
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
                result=ended,
                message=message,
                export=self.export,
                run_id=self.run_id,
                exit_code=code,
            )
            append_run_record(path, record)
        except (OSError, OutputError) as exc:
            problem = f"the run log {path} could not be written: {getattr(exc, 'strerror', None) or exc}"
            if not failed or is_state(result):
                from prefect.states import Failed

                return Failed(message=f"{message}; and {problem}" if failed else f"the run completed but {problem}")
        return result

    def record(
        self, plan: AnalysisPlan | None, work: Callable[[], T], outcomes: list[StepOutcome] | None = None
    ) -> T | State:
        """``work()`` between the ``started`` line and the ``ended`` line (written whatever happens; an exception goes on)."""
        failed = self.start()
        if failed is not None:
            return failed
        entry = (self, plan, outcomes)
        ACTIVE_RUN_LOGS.append(entry)
        try:
            result = work()
        except BaseException as exc:
            ACTIVE_RUN_LOGS.remove(entry)
            self.finish(exc, plan, outcomes)
            raise
        ACTIVE_RUN_LOGS.remove(entry)
        return self.finish(result, plan, outcomes)


def run_command_log(
    export: Path,
    data_cut: Any,
    out_dir: Path | None,
    time_zone: str | None,
    settings: Path | None,
    historical_export: Path | None,
    partitions: int | None,
    export_formats: tuple[str, ...],
    force: bool,
    out_parent: Path | None,
) -> RunLog:
    """The run log line of `pacer run` (:func:`pipelines.run.run_flow`, or a run with nothing to do), with its parameters."""
    return RunLog(
        "run",
        {
            "export": export,
            "data_cut": data_cut,
            "out_dir": out_dir,
            "time_zone": time_zone,
            "settings": settings,
            "historical_export": historical_export,
            "partitions": partitions,
            "export_formats": export_formats,
            "force": force,
            "out_parent": out_parent,
        },
        out_dir,
        export,
        out_parent,
    )


def is_state(result: Any) -> bool:
    """Whether ``result`` is a Prefect state (checked without loading Prefect: a state exists only once it is loaded)."""
    import sys

    states = sys.modules.get("prefect.states")
    return states is not None and isinstance(result, states.State)


def run_end(result: Any) -> tuple[bool, str | None, str, int | None]:
    """How a run ended, from what its work returned or raised: (failed, message, ``ended`` value, exit code).

    A step's outcome or a list of them is a completed run (exit code 0); a Failed state a user
    error (2); Ctrl-C, SIGTERM or Prefect's termination signal an interrupted run (no exit code);
    any other exception a failure with its own exit code (:func:`pipelines.outcome.exit_code_of`).
    """
    if isinstance(result, KeyboardInterrupt | SystemExit):
        return True, f"interrupted ({type(result).__name__})", "interrupted", None
    if isinstance(result, BaseException):
        from prefect.exceptions import TerminationSignal

        if isinstance(result, TerminationSignal):
            return True, f"interrupted ({type(result).__name__})", "interrupted", None
        return True, f"{type(result).__name__}: {result}", "failed", exit_code_of(result)
    if is_state(result) and result.is_failed():
        return True, result.message, "failed", USER_ERROR_CODE
    return False, None, "completed", 0


ACTIVE_RUN_LOGS: list[tuple[RunLog, AnalysisPlan | None, list[StepOutcome] | None]] = []
"""The runs of this process between their ``started`` and ``ended`` lines (for :func:`end_interrupted_runs`)."""


def end_interrupted_runs(signal_name: str, public_path: Callable[[Path], Path] = lambda path: path) -> None:
    """Append the ``interrupted`` line of every run this process has started and not ended (a signal stops it now).

    ``public_path`` maps a step's staging folder to the output folder it stands for (the log names the latter).
    """
    while ACTIVE_RUN_LOGS:
        log, plan, outcomes = ACTIVE_RUN_LOGS.pop()
        finished = [replace(outcome, out_dir=public_path(outcome.out_dir)) for outcome in outcomes or []]
        log.finish(KeyboardInterrupt(signal_name), plan, finished)
