"""`pacer run`: the one flow that chains the steps, ingest → derive → analyze → report.

No `from __future__ import annotations` here: Prefect builds the deployment's parameter model from
the real annotations of the flow function.
"""

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import Failed, State

from analysis.settings import AnalysisPlan, SettingsError, load_settings
from analysis.store import hold_output_locks
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.analyze import analyze_task
from pipelines.artifacts import run_summary_artifact_task
from pipelines.audit import RunLog
from pipelines.derive import derive_task
from pipelines.export_step import export_task
from pipelines.ingest import ingest_task
from pipelines.report import report_task
from pipelines.steps import StepOutcome


@flow(name="pacer-run")
def run_flow(
    export: Path,
    data_cut: date | None = None,
    out_dir: Path | None = None,
    time_zone: str | None = None,
    settings: Path | None = None,
    historical_export: Path | None = None,
    plan: AnalysisPlan | None = None,
    partitions: int | None = None,
    export_formats: tuple[str, ...] = (),
) -> list[StepOutcome]:
    """Ingest an export bundle, then every later step on what it wrote; return each step's outcome.

    Parameters
    ----------
    export
        The export bundle (a folder or a .zip).
    data_cut
        The data cut D; default: the manifest's export date.
    out_dir
        Where the outputs go; default ``data/processed/<data-cut>/``.
    time_zone
        IANA zone of naive local times, when the manifest has none.
    settings
        An analysis-plan settings file (used when ``plan`` is not given; default: the documented defaults).
    historical_export
        The site's own historical tisagenlecleucel patients, in the same export format: ingested
        (at its own export date) and derived exactly as the trial into ``<out_dir>/historical/``,
        then compared with the trial by regression.
    plan
        The analysis plan itself (the command line passes it already loaded).
    partitions
        None derives each cohort in this process; a number derives it in that many groups of
        participants, one task each on the flow's task runner (a Dask cluster with
        ``pacer run --dask-address``). It never changes the tables (:func:`pipelines.derive.derive_flow`).
    export_formats
        With formats (``xpt``, ``dataset-json``, ``csv``), the export step writes the ADaM datasets,
        define.xml and the cards ARD into ``<out_dir>/adam/`` after the report.

    The run holds its output folders' locks from its first step to its last, and appends one line
    to the run log (``runs.jsonl`` beside the output folder) whatever its result.
    """
    log = RunLog(
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
        },
        out_dir,
        export,
    )
    if plan is None:
        try:
            plan = load_settings(settings)
        except SettingsError as exc:
            return log.finish(Failed(message=str(exc)), None)
    outcomes: list[StepOutcome] = []
    with hold_output_locks():
        try:
            result = chain_steps(
                export, data_cut, out_dir, time_zone, historical_export, plan, outcomes, partitions, export_formats
            )
        except BaseException as exc:
            log.finish(exc, plan, outcomes)
            raise
        return log.finish(result, plan, outcomes)


def chain_steps(
    export: Path,
    data_cut: date | None,
    out_dir: Path | None,
    time_zone: str | None,
    historical_export: Path | None,
    plan: AnalysisPlan,
    outcomes: list[StepOutcome],
    partitions: int | None = None,
    export_formats: tuple[str, ...] = (),
) -> list[StepOutcome] | State:
    """Ingest, then every later step on what it wrote, appending each outcome to ``outcomes``; a failed step ends it.

    ``partitions`` goes to each derive step (:func:`pipelines.derive.derive_task`); with
    ``export_formats`` the export step (:func:`pipelines.export_step.export_task`) runs last.
    """
    ingested = ingest_task(export, data_cut, out_dir, time_zone, plan, return_state=True)
    if ingested.is_failed():
        return Failed(message=ingested.message)
    outcomes.append(ingested.result())
    processed = outcomes[-1].out_dir
    historical = None if historical_export is None else processed / "historical"
    steps = [(derive_task, (processed, plan, partitions))]
    if historical_export is not None:
        steps = [
            (ingest_task, (historical_export, None, historical, time_zone, plan)),
            (derive_task, (historical, plan, partitions)),
            *steps,
        ]
    steps = [*steps, (analyze_task, (processed, plan, historical)), (report_task, (processed, plan))]
    if export_formats:
        steps.append((export_task, (processed, tuple(export_formats))))
    for step, arguments in steps:
        state = step(*arguments, return_state=True)
        if state.is_failed():
            return Failed(message=state.message)
        outcomes.append(state.result())
    run_summary_artifact_task(
        processed, plan, return_state=True
    )  # the run's Markdown summary in the Prefect UI; never fails the run
    return outcomes
