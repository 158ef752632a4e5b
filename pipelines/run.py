"""`pacer run`: the one flow that chains the steps, ingest → derive → analyze → report.

No `from __future__ import annotations` here: Prefect builds the deployment's parameter model from
the real annotations of the flow function.
"""

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import Failed, State

from analysis.export.errors import ExportError
from analysis.settings import AnalysisPlan, SettingsError, load_settings
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.analyze import analyze_task
from pipelines.artifacts import run_summary_artifact_task
from pipelines.audit import run_command_log
from pipelines.derive import derive_task
from pipelines.export_step import export_task
from pipelines.ingest import ingest_task
from pipelines.map_priors_ahead import map_priors_fitted_ahead
from pipelines.out_folder import ingest_target, overwrite_refusal
from pipelines.outcome import pass_on
from pipelines.report import report_task
from pipelines.step_runner import in_one_commit
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
    force: bool = False,
    out_parent: Path | None = None,
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
    force
        Replace an output folder that holds another export's or another cut's outputs
        (:func:`pipelines.ingest.overwrite_refusal`); the run then starts from an empty folder.
        Without it such a run is refused in one line.
    out_parent
        Without ``out_dir``: the folder of the runs, each into ``<out_parent>/<data-cut>/`` (what
        ``pacer serve --out`` gives every scheduled run); default ``data/processed``.

    The run is built in a staging copy of its output folder and switched in whole at its end
    (:func:`pipelines.step_runner.in_one_commit`): the folder holds the previous run or this one,
    never a mix. The run log (``runs.jsonl``, :meth:`pipelines.audit.RunLog.path`) gets a ``started`` line
    before any work and an ``ended`` line after, whatever the result.
    """
    log = run_command_log(
        export,
        data_cut,
        out_dir,
        time_zone,
        settings,
        historical_export,
        partitions,
        export_formats,
        force,
        out_parent,
    )
    outcomes: list[StepOutcome] = []
    if plan is None:
        try:
            plan = load_settings(settings)
        except SettingsError as exc:
            failure = Failed(message=str(exc))
            return log.record(None, lambda: failure)

    def work() -> list[StepOutcome] | State:
        with map_priors_fitted_ahead(plan):  # on the other core while the run ingests and derives
            try:
                target = ingest_target(export, data_cut, out_dir, time_zone, out_parent)
                refusal = overwrite_refusal(target, export, data_cut, time_zone)
            except ExportError as exc:
                return Failed(message=str(exc))
            if refusal is not None and not force:
                return Failed(message=refusal)
            result = in_one_commit(
                target,
                lambda folder: chain_steps(
                    export, data_cut, folder, time_zone, historical_export, plan, outcomes, partitions, export_formats
                ),
                fresh=refusal is not None,
            )
        if not isinstance(result, State):  # the run's Markdown summary in the Prefect UI; never fails the run
            run_summary_artifact_task(result[0].out_dir, plan, return_state=True)
        return result

    return log.record(plan, work, outcomes)


def chain_steps(
    export: Path,
    data_cut: date | None,
    out_dir: Path,
    time_zone: str | None,
    historical_export: Path | None,
    plan: AnalysisPlan,
    outcomes: list[StepOutcome],
    partitions: int | None = None,
    export_formats: tuple[str, ...] = (),
) -> list[StepOutcome] | State:
    """Ingest, then every later step on what it wrote, appending each outcome to ``outcomes``; a failed step ends it.

    ``out_dir``: the run's staging folder (:func:`pipelines.step_runner.in_one_commit`).
    ``partitions`` goes to each derive step (:func:`pipelines.derive.derive_task`); with
    ``export_formats`` the export step (:func:`pipelines.export_step.export_task`) runs last.

    Raises
    ------
    StepDefectError
        naming the step that raised anything but a user error.
    """
    historical = None if historical_export is None else out_dir / "historical"
    steps = [("ingest", ingest_task, (export, data_cut, out_dir, time_zone, plan))]
    if historical_export is not None:
        steps += [
            ("ingest", ingest_task, (historical_export, None, historical, time_zone, plan)),
            ("derive", derive_task, (historical, plan, partitions)),
        ]
    steps += [
        ("derive", derive_task, (out_dir, plan, partitions)),
        ("analyze", analyze_task, (out_dir, plan, historical)),
        ("report", report_task, (out_dir, plan)),
    ]
    if export_formats:
        steps.append(("export", export_task, (out_dir, tuple(export_formats))))
    for name, step, arguments in steps:
        result = pass_on(step(*arguments, return_state=True), name)
        if isinstance(result, State):
            return result
        outcomes.append(result)
    return outcomes
