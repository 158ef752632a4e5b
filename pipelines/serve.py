"""A scheduled deployment of the pipeline on a real Prefect server (`pacer serve`).

``pacer serve`` registers the ``pacer-run`` flow as a deployment with a schedule (the weekly interim
refresh by default) and default parameters that a biostatistician can change in the Prefect UI or
with ``prefect deployment run pacer-run/<name> --param ...``; it then executes the runs the
server schedules, until stopped. It needs ``PREFECT_API_URL`` pointing at a running server.
"""

from __future__ import annotations

from pathlib import Path

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.run import run_flow

WEEKLY_MONDAY_0600 = "0 6 * * 1"


def deployment_parameters(export: Path, out_parent: Path | None, settings: Path | None) -> dict[str, str | None]:
    """The deployment's default parameters, as the Prefect UI shows them (absolute paths).

    ``out_parent`` is the folder of the runs: each scheduled run writes ``<out_parent>/<data-cut>/``
    (a new folder each week, never the previous week's), the run log ``<out_parent>/runs.jsonl``.
    """
    return {
        "export": str(export.resolve()),
        "out_parent": None if out_parent is None else str(out_parent.resolve()),
        "settings": None if settings is None else str(settings.resolve()),
    }


def serve_pipeline(name: str, cron: str, export: Path, out_parent: Path | None, settings: Path | None) -> None:
    """Register and serve the ``pacer-run`` deployment; blocks until interrupted."""
    run_flow.serve(
        name=name,
        cron=cron,
        parameters=deployment_parameters(export, out_parent, settings),
        tags=["pacer"],
        description="PACER interim analysis: ingest → derive → analyze on the given export and data cut.",
        print_starting_message=True,
    )
