"""Work done in a forked copy of this process while this process goes on (a machine's other core).

The copy runs the functions it was given one after the other and sends what each returned (or
raised) back through a pipe; it does nothing else: its signal handlers are reset to the defaults,
so a Ctrl-C stops it without acting for the run; the kernel kills it when this process ends
(Linux); it ends with ``os._exit``, never running this process's exit handlers. A fork computes
exactly what this process would, from the same state: only where it runs changes.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

PR_SET_PDEATHSIG = 1
"""Linux ``prctl`` option: the signal a process gets when its parent ends."""


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this (forked) process when ``parent`` ends, however it ends (Linux; elsewhere nothing)."""
    prctl = getattr(ctypes.CDLL(None), "prctl", None)
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def outcome(work: Callable[[], Any]) -> tuple[str, Any]:
    """``("returned", value)`` or ``("raised", exception)``, the exception with its traceback as a note and one
    that pickle can carry (else a RuntimeError naming it)."""
    try:
        return "returned", work()
    except Exception as exc:
        exc.add_note(f"(raised in the forked copy)\n{traceback.format_exc()}")
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            return "raised", RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        return "raised", exc


class ForkedWork:
    """``work`` (functions without arguments) run in turn in a forked copy of this process; :meth:`next_result`
    gives each one's result in the same order.

    Parameters
    ----------
    *work : callables
        What the copy runs; each result must be picklable. The copy stops at the first that raises.
    what : str
        What the work is, for the error raised when the copy fails without saying why (e.g. killed).
    """

    def __init__(self, *work: Callable[[], Any], what: str) -> None:
        self.what = what
        read_end, write_end = os.pipe()
        parent = os.getpid()
        self.pid: int | None = os.fork()
        if self.pid == 0:
            os.close(read_end)
            _work_in_child(work, write_end, parent)
        os.close(write_end)
        self._stream = os.fdopen(read_end, "rb")

    def next_result(self) -> Any:
        """What the next function returned in the copy, once it has.

        Raises
        ------
        BaseException
            what the function raised, with the copy's traceback as a note (a :class:`RuntimeError`
            naming it when pickle cannot carry it).
        RuntimeError
            when the copy ended without sending it (its traceback, if any, on stderr).
        """
        try:
            kind, value = pickle.load(self._stream)
        except EOFError:
            self.cancel()
            raise RuntimeError(f"{self.what} in a forked process failed (its traceback above)") from None
        if kind == "raised":
            self.cancel()
            raise value
        return value

    def finish(self) -> None:
        """Wait for the copy to end, once every result has been read.

        Raises
        ------
        RuntimeError
            when it ended with an error.
        """
        if self._end() != 0:
            raise RuntimeError(f"{self.what} in a forked process failed (its traceback above)")

    def cancel(self) -> None:
        """Stop the copy when its results are no longer wanted (nothing when it has ended and been collected)."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self._end()

    def _end(self) -> int:
        """Wait for the copy (nothing when it was collected); its exit code."""
        pid, self.pid = self.pid, None
        self._stream.close()
        return 0 if pid is None else os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def _work_in_child(work: tuple[Callable[[], Any], ...], write_end: int, parent: int) -> NoReturn:
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent(parent)
        with os.fdopen(write_end, "wb") as stream:
            for function in work:
                result = outcome(function)
                pickle.dump(result, stream)
                stream.flush()
                if result[0] == "raised":
                    break
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


__all__ = ["ForkedWork", "die_with_parent", "outcome"]
