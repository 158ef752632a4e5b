"""Ending a `pacer` process without Python's interpreter teardown.

After a run, Python's own teardown (module by module, every object of pandas, matplotlib,
WeasyPrint, Prefect and their caches) took about 2 s of the demo run's wall time, after everything
had been written. :func:`end_now` does what matters of an ordinary exit — it waits for the
non-daemon threads, runs the ``atexit`` handlers (Prefect's log and event drains, the temporary
server's stop, logging's flush) and flushes the standard streams — then ends the process at once
with the same exit status.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_status(code: object) -> int:
    """The process exit status of a ``SystemExit`` code, as Python gives it: None is 0, an int itself, anything else 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def end_now(code: object) -> NoReturn:
    """End the process with the status of ``code`` (a ``SystemExit`` code) after an ordinary exit's work, skipping
    the interpreter's teardown; a code that is not a number is printed on stderr first, as Python does."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: nothing more can be said on it
            pass
    os._exit(exit_status(code))
