"""User errors and defects inside Prefect: each ends with its own exit code, whatever the workflow engine does.

A task that meets a user error (a bad export, a bad setting, an output folder in use, full or
read-only) returns ``Failed(message=...)``; the flow passes that state on; the command-line tool
prints its message in one line and exits with :data:`USER_ERROR_CODE`. Any other exception in a
step is a defect: the flow raises :class:`StepDefectError` naming the step, with the original exception
(and its traceback) as its cause; the command-line tool prints the traceback and exits with
:data:`DEFECT_CODE`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from analysis.export.errors import ExportError
from analysis.report.inputs import ReportInputError
from analysis.settings import SettingsError
from analysis.store import OutputError
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.steps import PROGRESS, StepOutcome

if TYPE_CHECKING:  # Prefect loads where a state is made: the run log of a run with nothing to do does without it
    from prefect.states import State

USER_ERRORS = (ExportError, SettingsError, ReportInputError, OutputError)
USER_ERROR_CODE = 2
"""Exit code of a user error (a bad input, setting or folder): one line on stderr."""
DEFECT_CODE = 1
"""Exit code of a defect: the traceback on stderr, the failed step named."""
T = TypeVar("T")


class StepDefectError(RuntimeError):
    """An unexpected exception inside a step (a defect, not a user error); the original is its ``__cause__``."""

    def __init__(self, step: str, cause: BaseException) -> None:
        super().__init__(f"a defect in the {step} step: {type(cause).__name__}: {cause}")
        self.step = step


def exit_code_of(exc: BaseException) -> int:
    """The exit code an exception ends a command with: a user error 2, anything else (a defect) 1."""
    return USER_ERROR_CODE if isinstance(exc, USER_ERRORS) else DEFECT_CODE


def state_exception(state: State) -> BaseException | None:
    """The exception a failed state holds (a task or flow that raised), None for a Failed state made with a message."""
    try:
        value = state.result(raise_on_failure=False)
    except Exception:
        return None
    return value if isinstance(value, BaseException) else None


def as_user_outcome(step: Callable[..., T], *args: Any, **kwargs: Any) -> T | State:
    """Run ``step``; a user error becomes a Failed state carrying its message. A finished step's line goes
    to the progress logger (:data:`pipelines.steps.PROGRESS`) as soon as it is done."""
    try:
        result = step(*args, **kwargs)
    except USER_ERRORS as exc:
        from prefect.states import Failed

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


def pass_on(state: State, step: str) -> Any:
    """In a flow: a user error of ``step`` becomes the flow's own Failed state (same message); else its result.

    Raises
    ------
    StepDefectError
        when the step raised anything but a user error.
    """
    if state.is_failed():
        cause = state_exception(state)
        if cause is not None and not isinstance(cause, USER_ERRORS):
            raise StepDefectError(step, cause) from cause
        from prefect.states import Failed

        return Failed(message=state.message)
    return state.result()


def quiet_prefect_run_loggers() -> None:
    """The command line reports a failed step itself, in one line: keep Prefect's run loggers to critical messages."""
    for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def failed_message(state: State) -> str | None:
    """The message of a failed state, None for a completed one."""
    return state.message if state.is_failed() else None
