"""The ingest step: read a bundle, validate and cut it, write the four ingest outputs (outputs.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from prefect import flow, task

from analysis.export.bundle import read_bundle
from analysis.export.ingest import IngestResult, ingest_bundle
from analysis.export.schemas import ProcessedEvents, ProcessedParticipants
from analysis.settings import AnalysisPlan
from analysis.store import provenance, update_manifest, write_table
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.paths import default_out_dir

INGEST_TABLES = ("participants", "events", "quarantine")


def run_ingest(export: Path, *, data_cut: date | None, out_dir: Path | None, time_zone: str | None,
               plan: AnalysisPlan) -> Path:
    """Ingest ``export`` and write participants, events, quarantine and the manifest; return the output folder."""
    bundle = read_bundle(export)
    result = ingest_bundle(bundle, data_cut=data_cut, timezone=time_zone)
    ProcessedParticipants.validate(result.participants, lazy=True)
    ProcessedEvents.validate(result.events, lazy=True)
    target = out_dir if out_dir is not None else default_out_dir(result.data_cut)
    record = provenance(bundle.sha256(), result.data_cut.isoformat(), plan.canonical_json(), plan.settings_hash())
    written = write_ingest_tables(result, target, record)
    update_manifest(target, "ingest", written, ingest_details(result, bundle.origin, bundle.sha256()))
    return target


def write_ingest_tables(result: IngestResult, target: Path, record: dict) -> dict[str, dict]:
    """Write the three ingest tables; return file name → sha256 and rows."""
    written = {}
    for name in INGEST_TABLES:
        frame = getattr(result, name)
        path = target / f"{name}.parquet"
        written[path.name] = {"sha256": write_table(frame, path, record), "rows": len(frame)}
    return written


def ingest_details(result: IngestResult, origin: str, input_sha256: dict[str, str]) -> dict:
    """The manifest's record of the ingest: inputs, cut, reconciliation, run time."""
    return {
        "export": origin,
        "inputs": {name: {"sha256": digest} for name, digest in input_sha256.items()},
        "data_cut": result.data_cut.isoformat(),
        "cut_instant": result.cut_instant.isoformat(),
        "timezone": result.timezone,
        "exported_at": result.exported_at.isoformat() if result.exported_at else None,
        "reconciliation": {name: {**asdict(counts), "balanced": counts.balanced()} for name, counts in result.counts.items()},
        "run_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


@task(name="ingest")
def ingest_task(export: Path, data_cut: date | None, out_dir: Path | None, time_zone: str | None, plan: AnalysisPlan) -> Path:
    """Prefect task around :func:`run_ingest`; a user error ends it Failed with the error's message."""
    return as_user_outcome(run_ingest, export, data_cut=data_cut, out_dir=out_dir, time_zone=time_zone, plan=plan)


@flow(name="pacer-ingest", log_prints=False)
def ingest_flow(export: Path, data_cut: date | None = None, out_dir: Path | None = None, time_zone: str | None = None,
                plan: AnalysisPlan | None = None) -> Path:
    """Ingest one export bundle at one data cut."""
    ingested = ingest_task(export, data_cut, out_dir, time_zone, plan or AnalysisPlan(), return_state=True)
    return pass_on(ingested)
