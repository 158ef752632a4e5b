"""How a pacer command uses Python's garbage collector: no passes while `pacer run` loads its code, and the code
it loaded kept out of every pass after.

Python's cyclic garbage collector makes a full pass over every object it tracks whenever enough
new objects have outlived its younger passes. A `pacer run` loads some 300,000 objects of code
(pandas, SciPy, statsmodels, Prefect, matplotlib, WeasyPrint: modules, classes, functions) that
live until the process ends; on the demo, seven full passes took 1.8 s of its main thread, each
going over that code again, while there was next to no garbage to find. So:

- :func:`collector_paused_while_loading` (:func:`pause_while_loading` for a block): no pass at all
  while `pacer run` checks its parameters and loads the steps' code. What loading leaves in
  reference cycles then stays (the freeze keeps it): some 250,000 small objects, 7 MB of resident
  memory more (measured), instead of 0.3 s for a pass;
- :func:`freeze_loaded_code`, just before a command's flow starts: every object alive then is
  moved out of the collector's generations for good (``gc.freeze``), and the collector is on
  again, so the steps' own objects are collected as ever while its passes skip the code.

The report's PDF layout makes no pass either (:func:`analysis.report.render._no_garbage_collection`),
nor Prefect's temporary server while it loads (:mod:`pipelines.server_guard`).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def pause_while_loading() -> None:
    """Turn the collector off until :func:`freeze_loaded_code` (for a command that goes on to run a flow)."""
    gc.disable()


@contextmanager
def collector_paused_while_loading() -> Iterator[None]:
    """:func:`pause_while_loading` for the block, and the collector on again when the block ends, however it ends
    (a command that stops before its flow: a user error, a run with nothing to do)."""
    pause_while_loading()
    try:
        yield
    finally:
        gc.enable()


def freeze_loaded_code() -> None:
    """Keep every object alive now out of the collector's passes from now on, and turn the collector on."""
    gc.freeze()
    gc.enable()


__all__ = ["collector_paused_while_loading", "freeze_loaded_code", "pause_while_loading"]
