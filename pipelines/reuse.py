"""A `pacer run` with nothing to do: every step's outputs are current, so no Prefect server is started.

Before any server starts, the command line computes the cache key of every step the run would run
(:mod:`pipelines.step_keys`, the same keys the steps compute) and checks the output folder's
manifest (:func:`analysis.store.step_is_current`: same key, every file intact). When all of them
are current the run is finished there: each step's ``reused`` line and the cut's counts are printed
as a run of the steps prints them, the run log gets its ``started`` and ``ended`` lines (the ended
line's message: :data:`NOTHING_TO_RUN`), and Prefect is never loaded — so no flow run and no run
summary artifact are recorded in Prefect for it. Any step with work to do (or an export step, which
always writes) sends the run through Prefect as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any

from analysis.export.errors import ExportError
from analysis.settings import AnalysisPlan
from analysis.store import MANIFEST_NAME, OutputError, output_lock, step_is_current
from pipelines.audit import run_command_log
from pipelines.out_folder import ingest_target
from pipelines.step_keys import (
    analyze_key_parts,
    derive_key_parts,
    ingest_input,
    ingest_key_parts,
    report_key_parts,
    step_cache_key,
)
from pipelines.steps import PROGRESS, StepOutcome, cut_counts_line

NOTHING_TO_RUN = "nothing to run: every step reused; no Prefect server started"
"""The last progress line and the run log's message of a run with nothing to do."""


def current_steps(
    export: Path,
    data_cut: date | None,
    out_dir: Path,
    time_zone: str | None,
    historical_export: Path | None,
    plan: AnalysisPlan,
) -> list[StepOutcome] | None:
    """Each step of `pacer run` into ``out_dir`` as reused, in the order the run runs them, when every one is current.

    The steps are those of :func:`pipelines.run.chain_steps` without an export step: the ingest,
    with ``historical_export`` the historical ingest and derive in ``out_dir/historical``, then
    derive, analyze and report. None as soon as one of them has work to do.

    Raises
    ------
    ExportError
        when a bundle cannot be read (the run of the steps reports it).
    """

    def ingest_parts(export_path: Path, cut: date | None) -> Callable[[], dict[str, Any]]:
        def parts() -> dict[str, Any]:
            bundle, zone, resolved = ingest_input(export_path, cut, time_zone)
            return ingest_key_parts(bundle.sha256(), resolved, zone, plan)

        return parts

    historical = None if historical_export is None else out_dir / "historical"
    checks: list[tuple[str, Path, Callable[[], dict[str, Any]]]] = [("ingest", out_dir, ingest_parts(export, data_cut))]
    if historical_export is not None and historical is not None:
        checks += [
            ("ingest", historical, ingest_parts(historical_export, None)),
            ("derive", historical, lambda: derive_key_parts(historical, plan)),
        ]
    checks += [
        ("derive", out_dir, lambda: derive_key_parts(out_dir, plan)),
        ("analyze", out_dir, lambda: analyze_key_parts(out_dir, plan, historical)),
        ("report", out_dir, lambda: report_key_parts(out_dir, plan)),
    ]
    outcomes = []
    for step, folder, key_parts in checks:
        started = time.perf_counter()
        if not (folder / MANIFEST_NAME).is_file() or not step_is_current(folder, step, step_cache_key(key_parts())):
            return None
        outcomes.append(StepOutcome(step, folder, reused=True, seconds=time.perf_counter() - started))
    return outcomes


def run_if_nothing_to_do(
    export: Path,
    data_cut: date | None,
    out_dir: Path | None,
    time_zone: str | None,
    historical_export: Path | None,
    plan: AnalysisPlan,
    partitions: int | None = None,
    force: bool = False,
) -> list[StepOutcome] | str | None:
    """Finish `pacer run` here when every step is current (:func:`current_steps`); None when it has work to do.

    Under the output folder's lock (a folder in use by another run, an unreadable bundle or file
    leaves the decision to the run of the steps, which reports it): the run log's ``started`` line, each step's line on the
    progress logger (with the cut's counts after each ingest), :data:`NOTHING_TO_RUN`, the
    ``ended`` line. The parameters are the run's (:func:`pipelines.run.run_flow`), for its log.

    Returns
    -------
    list[StepOutcome] | str | None
        The reused steps; a message when the run log could not be written (a user error); None
        when the steps have to run.
    """
    with ExitStack() as held:
        try:
            target = ingest_target(export, data_cut, out_dir, time_zone)
            if not (target / MANIFEST_NAME).is_file():
                return None
            held.enter_context(output_lock(target))
            outcomes = current_steps(export, data_cut, target, time_zone, historical_export, plan)
        except (ExportError, OutputError, OSError):
            return None
        if outcomes is None:
            return None
        log = run_command_log(
            export, data_cut, out_dir, time_zone, None, historical_export, partitions, (), force, None
        )
        log.note = NOTHING_TO_RUN
        result = log.record(plan, lambda: report_reused(outcomes))
    return result if isinstance(result, list) else result.message


def report_reused(outcomes: list[StepOutcome]) -> list[StepOutcome]:
    """Each reused step's line as a run of the steps prints it (the cut's counts after an ingest), then :data:`NOTHING_TO_RUN`."""
    for outcome in outcomes:
        PROGRESS.info(outcome.line())
        if outcome.step == "ingest":
            PROGRESS.info(cut_counts_line(outcome.out_dir))
    PROGRESS.info(NOTHING_TO_RUN)
    return outcomes
