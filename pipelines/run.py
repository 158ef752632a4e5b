"""`pacer run`: the one flow that chains the steps, ingest → derive → analyze → report.

No `from __future__ import annotations` here: Prefect builds the deployment's parameter model from
the real annotations of the flow function.
"""


from datetime import date
from pathlib import Path

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow
from prefect.states import Failed

from analysis.settings import AnalysisPlan, SettingsError, load_settings
from pipelines.analyze import analyze_task
from pipelines.derive import derive_task
from pipelines.ingest import ingest_task
from pipelines.report import report_task
from pipelines.steps import StepOutcome


@flow(name="pacer-run")
def run_flow(export: Path, data_cut: date | None = None, out_dir: Path | None = None, time_zone: str | None = None,
             settings: Path | None = None, historical_export: Path | None = None,
             plan: AnalysisPlan | None = None) -> list[StepOutcome]:
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
    """
    if plan is None:
        try:
            plan = load_settings(settings)
        except SettingsError as exc:
            return Failed(message=str(exc))
    outcomes: list[StepOutcome] = []
    ingested = ingest_task(export, data_cut, out_dir, time_zone, plan, return_state=True)
    if ingested.is_failed():
        return Failed(message=ingested.message)
    outcomes.append(ingested.result())
    processed = outcomes[-1].out_dir
    historical = None if historical_export is None else processed / "historical"
    steps = [(derive_task, (processed, plan))]
    if historical_export is not None:
        steps = [(ingest_task, (historical_export, None, historical, time_zone, plan)), (derive_task, (historical, plan)), *steps]
    for step, arguments in [*steps, (analyze_task, (processed, plan, historical)), (report_task, (processed, plan))]:
        state = step(*arguments, return_state=True)
        if state.is_failed():
            return Failed(message=state.message)
        outcomes.append(state.result())
    return outcomes
