"""User errors inside Prefect: a Failed state with one clear message, never a logged traceback.

A task that meets a user error (a bad export, a bad setting, an output folder in use, full or
read-only) returns ``Failed(message=...)``; the flow passes that state on; the command-line tool
prints its message and exits with code 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from prefect.states import Failed, State

from analysis.export.errors import ExportError
from analysis.report.inputs import ReportInputError
from analysis.settings import SettingsError
from analysis.store import OutputError
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.steps import PROGRESS, StepOutcome

USER_ERRORS = (ExportError, SettingsError, ReportInputError, OutputError)
T = TypeVar("T")


def as_user_outcome(step: Callable[..., T], *args: Any, **kwargs: Any) -> T | State:
    """Run ``step``; a user error becomes a Failed state carrying its message. A finished step's line goes
    to the progress logger (:data:`pipelines.steps.PROGRESS`) as soon as it is done."""
    try:
        result = step(*args, **kwargs)
    except USER_ERRORS as exc:
        return Failed(message=str(exc))
    if isinstance(result, StepOutcome):
        PROGRESS.info(result.line())
    return result


def retry_on_io_error(task: Any, task_run: Any, state: State) -> bool:
    """Retry a step only after an I/O error (a network share that did not answer), never after a validation
    or user error: those give the same answer every time."""
    try:
        state.result()
    except OSError:
        return True
    except BaseException:
        return False
    return False


def pass_on(state: State) -> Any:
    """In a flow: a failed step's state becomes the flow's own Failed state (same message); else its result."""
    if state.is_failed():
        return Failed(message=state.message)
    return state.result()


def quiet_prefect_run_loggers() -> None:
    """The command line reports a failed step itself, in one line: keep Prefect's run loggers to critical messages."""
    for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def failed_message(state: State) -> str | None:
    """The message of a failed state, None for a completed one."""
    return state.message if state.is_failed() else None
