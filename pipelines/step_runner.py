"""The one way a step runs: lock and stage its folder, reuse its outputs when its key is unchanged, else compute and commit.

Every step (ingest, derive, analyze, report, bootstrap) is :func:`run_step` with its own name,
folder, cache-key parts and computation. The computation returns :class:`StepOutputs` (tables by
file name, JSON documents, other files, the manifest's details); the runner writes them through
a :class:`analysis.store.StepWriter`, so they land together or not at all, and records the key.
Every table is validated against its schema (:func:`analysis.schemas.validate_output`) before
anything is written: a table that breaks its contract is a defect and nothing of the step lands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from prefect.states import Failed, State

from analysis.schemas import validate_output
from analysis.store import OutputError, StepWriter, hold_output_locks, step_is_current
from analysis.store.run_commit import RunCommit
from pipelines.interrupt import ACTIVE_COMMITS
from pipelines.step_keys import step_cache_key
from pipelines.steps import StepOutcome


@dataclass
class StepOutputs:
    """What one step writes into its output folder.

    Attributes
    ----------
    tables
        Parquet tables by file name (``"adsl.parquet"``), each written with ``provenance``.
    provenance
        The provenance record every table of the step carries (outputs.md).
    documents
        JSON documents by file name, with the number of rows the manifest records for each.
    files
        Other files by path relative to the output folder (``"report/dsmb_report.pdf"``).
    details
        The step's record in ``manifest.json`` besides its files and key.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, tuple[dict[str, Any], int]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def run_step(
    name: str,
    out_dir: Path,
    key_parts: Callable[[], dict[str, Any]],
    compute: Callable[[], StepOutputs],
) -> StepOutcome:
    """Run the step ``name`` in ``out_dir``: reuse its outputs when current, else ``compute`` them and commit.

    Parameters
    ----------
    name
        The step's name in the manifest and the run log.
    out_dir
        The output folder the step writes (and usually reads) in.
    key_parts
        What determines the step's result (input SHA-256s, upstream steps' keys, settings hash);
        called under the folder's lock, since it may read the manifest (:mod:`pipelines.step_keys`).
        The code version is added here, for every step (:func:`pipelines.step_keys.step_cache_key`).
    compute
        The step's work, called only when its outputs are not current.

    Returns
    -------
    StepOutcome
        Where it wrote, whether it reused its outputs, and how long it took.
    """
    started = time.perf_counter()
    with StepWriter(out_dir, name) as writer:
        key = step_cache_key(key_parts())
        if step_is_current(out_dir, name, key):
            return StepOutcome(name, out_dir, reused=True, seconds=time.perf_counter() - started)
        outputs = compute()
        for file_name, frame in outputs.tables.items():
            validate_output(file_name, frame)
        for file_name, frame in outputs.tables.items():
            writer.table(file_name, frame, outputs.provenance)
        for file_name, (document, rows) in outputs.documents.items():
            writer.json_file(file_name, document, rows)
        for file_name, content in outputs.files.items():
            writer.file(file_name, content)
        writer.commit({**outputs.details, "key": key})
    return StepOutcome(name, out_dir, reused=False, seconds=time.perf_counter() - started)


def in_one_commit(out_dir: Path, work: Callable[[Path], Any], fresh: bool = False) -> Any:
    """Run ``work`` on a staging copy of ``out_dir`` and switch it in whole when it ends well (:class:`RunCommit`).

    ``work`` gets the staging folder and returns a step's outcome, a list of them, or a Failed
    state (a user error: nothing is switched in). Outcomes come back with the output folder's
    paths, and a failure's message names the output folder, not the staging folder. The run holds
    the locks of its folders until it ends. ``fresh``: the staging folder starts empty (a forced run
    replacing another export's or cut's outputs keeps none of them).
    """
    with hold_output_locks():
        try:
            with RunCommit(out_dir, fresh=fresh) as run:
                ACTIVE_COMMITS.append(run)  # a signal removes its staging folder and exits (pipelines.interrupt)
                try:
                    result = work(run.folder)
                    if isinstance(result, State) and result.is_failed():
                        return Failed(message=run.public(result.message or ""))
                    run.commit()
                    return public_outcomes(result, run)
                finally:
                    ACTIVE_COMMITS.remove(run)
        except OutputError as exc:
            return Failed(message=str(exc))


def public_outcomes(result: Any, run: RunCommit) -> Any:
    """A step's outcome (or a list of them) with the output folder's paths in place of the staging folder's."""
    if isinstance(result, StepOutcome):
        return replace(result, out_dir=run.public_path(result.out_dir))
    if isinstance(result, list):
        return [public_outcomes(item, run) for item in result]
    return result
