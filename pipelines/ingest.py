"""The ingest step: read a bundle, validate and cut it, write the four ingest outputs (outputs.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, task
from prefect.states import Failed, State

from analysis.export.errors import ExportError
from analysis.export.ingest import IngestResult, ingest_bundle
from analysis.settings import AnalysisPlan
from analysis.store import provenance
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.audit import RunLog
from pipelines.out_folder import ingest_target, overwrite_refusal
from pipelines.outcome import as_user_outcome, pass_on, retry_on_io_error
from pipelines.paths import default_out_dir
from pipelines.step_keys import ingest_input, ingest_key_parts
from pipelines.step_runner import StepOutputs, in_one_commit, run_step
from pipelines.steps import PROGRESS, StepOutcome, cut_counts_line

INGEST_TABLES = ("participants", "events", "quarantine")


def run_ingest(
    export: Path, *, data_cut: date | None, out_dir: Path | None, time_zone: str | None, plan: AnalysisPlan
) -> StepOutcome:
    """Ingest ``export`` and write participants, events, quarantine and the manifest.

    Reuses the folder's tables when the ingest last ran there with the same input files, data
    cut, time zone, settings and code (:func:`pipelines.step_runner.run_step`).
    """
    bundle, zone, cut = ingest_input(export, data_cut, time_zone)

    def compute() -> StepOutputs:
        result = ingest_bundle(bundle, data_cut=cut, timezone=time_zone)
        return StepOutputs(
            tables={f"{name}.parquet": getattr(result, name) for name in INGEST_TABLES},
            provenance=provenance(
                bundle.sha256(), result.data_cut.isoformat(), plan.canonical_json(), plan.settings_hash()
            ),
            details=ingest_details(result, bundle.origin, bundle.sha256()),
        )

    target = out_dir if out_dir is not None else default_out_dir(cut)
    return run_step("ingest", target, lambda: ingest_key_parts(bundle.sha256(), cut, zone, plan), compute)


def ingest_details(result: IngestResult, origin: str, input_sha256: dict[str, str]) -> dict:
    """The manifest's record of the ingest: inputs, cut, reconciliation, run time."""
    return {
        "export": origin,
        "inputs": {name: {"sha256": digest} for name, digest in input_sha256.items()},
        "data_cut": result.data_cut.isoformat(),
        "cut_instant": result.cut_instant.isoformat(),
        "timezone": result.timezone,
        "exported_at": result.exported_at.isoformat() if result.exported_at else None,
        "reconciliation": {
            name: {**asdict(counts), "balanced": counts.balanced()} for name, counts in result.counts.items()
        },
        "run_time": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@task(name="ingest", retries=2, retry_delay_seconds=5, retry_condition_fn=retry_on_io_error)
def ingest_task(
    export: Path, data_cut: date | None, out_dir: Path | None, time_zone: str | None, plan: AnalysisPlan
) -> StepOutcome:
    """Prefect task around :func:`run_ingest`; a user error ends it Failed with the error's message.

    After the step's own line, the cut's counts (:func:`cut_counts_line`) go to the progress logger.
    """
    outcome = as_user_outcome(run_ingest, export, data_cut=data_cut, out_dir=out_dir, time_zone=time_zone, plan=plan)
    if isinstance(outcome, StepOutcome):
        PROGRESS.info(cut_counts_line(outcome.out_dir))
    return outcome


@flow(name="pacer-ingest", log_prints=False)
def ingest_flow(
    export: Path,
    data_cut: date | None = None,
    out_dir: Path | None = None,
    time_zone: str | None = None,
    plan: AnalysisPlan | None = None,
    force: bool = False,
) -> StepOutcome:
    """Ingest one export bundle at one data cut (one line in the run log).

    ``force``: replace an output folder holding another export's or cut's outputs (:func:`overwrite_refusal`).
    """
    plan = plan or AnalysisPlan()
    log = RunLog(
        "ingest", {"export": export, "data_cut": data_cut, "out_dir": out_dir, "time_zone": time_zone}, out_dir, export
    )

    def work() -> StepOutcome | State:
        try:
            target = ingest_target(export, data_cut, out_dir, time_zone)
            refusal = overwrite_refusal(target, export, data_cut, time_zone)
        except ExportError as exc:
            return Failed(message=str(exc))
        if refusal is not None and not force:
            return Failed(message=refusal)
        return in_one_commit(
            target,
            lambda folder: pass_on(ingest_task(export, data_cut, folder, time_zone, plan, return_state=True), "ingest"),
            fresh=refusal is not None,
        )

    return log.record(plan, work)
