"""The export step: ADaM datasets (XPT v5, Dataset-JSON 1.1 or CSV), define.xml and the cards ARD into ``<output folder>/adam/``."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.states import Failed, State

from analysis.cdisc.adam import read_processed
from analysis.cdisc.export import cdisc_export_files, data_time
from analysis.cdisc.xpt import XptLimitError
from analysis.store import StepWriter, read_manifest
from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.outcome import as_user_outcome, pass_on
from pipelines.steps import StepOutcome

ADAM_DIR = "adam"


def run_export(processed: Path, formats: tuple[str, ...]) -> StepOutcome:
    """Write the CDISC export of ``processed`` into ``processed/adam/`` and record it in the manifest.

    Needs the derive and analyze steps' tables (ard.parquet). The files land together or not at
    all (:class:`analysis.store.StepWriter`). Their creation time is the ingest's data time
    (:func:`analysis.cdisc.export.data_time`), so exporting the same outputs again gives the same bytes.
    """
    started = time.perf_counter()
    with StepWriter(processed, "export") as writer:
        created = data_time(read_manifest(processed).get("steps", {}).get("ingest", {}))
        files = cdisc_export_files(
            read_processed(processed), pd.read_parquet(processed / "ard.parquet"), formats, created
        )
        for name, content in sorted(files.items()):
            writer.file(f"{ADAM_DIR}/{name}", content)
        writer.commit({"formats": list(formats)})
    return StepOutcome("export", processed, reused=False, seconds=time.perf_counter() - started)


def export_or_failed(processed: Path, formats: tuple[str, ...]) -> StepOutcome | State:
    """:func:`run_export`; a value XPT v5 would cut, or a user error, becomes a Failed state with its message."""
    try:
        return as_user_outcome(run_export, processed, formats)
    except XptLimitError as exc:
        return Failed(message=str(exc))


@task(name="export")
def export_task(processed: Path, formats: tuple[str, ...]) -> StepOutcome | State:
    """Prefect task around :func:`run_export`."""
    return export_or_failed(processed, formats)


@flow(name="pacer-export")
def export_flow(processed: Path, formats: tuple[str, ...] = ("xpt",)) -> StepOutcome:
    """The CDISC export of one output folder."""
    return pass_on(export_task(processed, formats, return_state=True), "export")
