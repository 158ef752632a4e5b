"""``pacer scale``: an export in parts ingested and derived part by part on a Dask cluster.

A registry-sized cohort (100,000 participants, about 80 million event rows) does not fit one
process. Its export comes in parts (:mod:`analysis.export.parts`; the simulator writes one with
``pacer simulate --parts``); each part is ingested on a worker
(:func:`analysis.export.ingest.ingest_bundle`) and derived on a worker
(:func:`analysis.derive.all_tables.derive_all_tables`), and each writes its tables as one file of a
partitioned Parquet dataset: ``OUT/<table>/part-00000.parquet`` … (:data:`PART_FILE`). The client
(this process) reads only participant ids, line counts and the quarantine, checks the rules that
cross parts, and writes the small tables of one row per participant (participants, crs, icans,
anakinra, adsl) and the quarantine as single files beside the datasets, so no process ever holds
the event table of the whole cohort.

The parts' tables one after the other are the tables of the cohort's export
(:func:`analysis.export.parts.concatenate_parts`) ingested and derived in one process, data and
schema, or the parts are refused. Tasks go through a plain ``distributed.Client``, not Prefect:
a task per part stays a function call, and workers need no Prefect server.
"""

from __future__ import annotations

import csv
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from analysis.derive.all_tables import TABLE_KEYS, derive_all_tables
from analysis.derive.partitions import concatenate
from analysis.export import events as events_file
from analysis.export import participants as participants_file
from analysis.export.bundle import read_bundle
from analysis.export.ingest import FileCounts, ingest_bundle
from analysis.export.parts import (
    PART_FILES,
    add_counts,
    check_disjoint_ranges,
    check_foreign_events,
    check_no_unclosed_quote,
    check_same_manifest,
    data_lines,
    line_offsets,
    part_folders,
    participant_ids,
    shift_lines,
    shift_quarantine_lines,
)
from analysis.settings import AnalysisPlan
from analysis.simulate.parts import cohort_parts, simulate_part
from analysis.store import provenance, read_provenance
from analysis.store.tables import write_json, write_table

PART_FILE = "{table}/part-{index:05d}.parquet"
"""Where part ``index`` of a partitioned table is written, inside the output folder."""

SUBJECT_TABLES = ("participants", *(name for name, key in TABLE_KEYS.items() if key == ("participant_id",)))
"""The tables of one row per participant, also written whole (``OUT/<table>.parquet``): small at any scale."""

SUMMARY_FILE = "scale.json"
"""The run's record: parts, reconciliation, rows per table, phase times and memory (written last)."""


@dataclass(frozen=True)
class IngestedPart:
    """What a worker hands back of one ingested part: no table but the (small) quarantine."""

    counts: dict[str, FileCounts]
    foreign_ids: set[str]
    quarantine: pd.DataFrame
    data_cut: str


def part_path(out_dir: Path, table: str, index: int) -> Path:
    """The file of part ``index`` of ``table`` (:data:`PART_FILE`)."""
    return Path(out_dir) / PART_FILE.format(table=table, index=index)


def part_lines(part: Path) -> dict[str, int]:
    """The data lines of the part's participants.csv and events.csv (a worker's pass over the bytes)."""
    return {name: data_lines(Path(part) / name) for name in PART_FILES}


def foreign_event_ids(part: Path) -> set[str]:
    """The trimmed participant ids of the part's events that are not in its participants.csv.

    One column of events.csv read by Arrow (rows Arrow cannot parse are skipped: the ingest
    quarantines them whoever they belong to).
    """
    events_path = Path(part) / events_file.FILE
    with open(events_path, encoding="utf-8-sig", newline="") as stream:
        header = next(csv.reader(stream), [])
    position = next((at for at, name in enumerate(header) if name.strip().lower() == "participant_id"), None)
    if position is None:
        return set()
    column = f"f{position}"
    ids = pacsv.read_csv(
        events_path,
        read_options=pacsv.ReadOptions(skip_rows=1, autogenerate_column_names=True),
        convert_options=pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()}),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip"),
    ).column(column)
    distinct = set(pc.unique(pc.utf8_trim_whitespace(ids)).drop_null().to_pylist())
    return distinct - set(participant_ids(part)) - {""}


def ingest_part(
    part: Path, index: int, offsets: dict[str, int], data_cut: date | None, out_dir: Path, plan: AnalysisPlan
) -> IngestedPart:
    """Ingest one part (on a worker): write its participants and events as part ``index`` of their datasets.

    Line numbers are moved to the concatenated export's (``offsets``, per file).
    """
    bundle = read_bundle(part)
    result = ingest_bundle(bundle, data_cut=data_cut)
    record = provenance(bundle.sha256(), result.data_cut.isoformat(), plan.canonical_json(), plan.settings_hash())
    write_table(
        shift_lines(result.participants, offsets[participants_file.FILE]),
        part_path(out_dir, "participants", index),
        record,
    )
    write_table(shift_lines(result.events, offsets[events_file.FILE]), part_path(out_dir, "events", index), record)
    return IngestedPart(
        counts=result.counts,
        foreign_ids=foreign_event_ids(part),
        quarantine=shift_quarantine_lines(result.quarantine, offsets),
        data_cut=result.data_cut.isoformat(),
    )


def derive_part(out_dir: Path, index: int, plan: AnalysisPlan) -> dict[str, int]:
    """Derive one ingested part (on a worker): every derived table as part ``index`` of its dataset; their rows."""
    events_path = part_path(out_dir, "events", index)
    participants = pd.read_parquet(part_path(out_dir, "participants", index))
    events = pd.read_parquet(events_path)
    tables = derive_all_tables(participants, events, plan)
    del participants, events
    record = {
        **read_provenance(events_path),
        "analysis_plan": plan.model_dump(mode="json"),
        "analysis_plan_sha256": plan.settings_hash(),
    }
    for name, frame in tables.items():
        write_table(frame, part_path(out_dir, name, index), record)
    return {name: len(frame) for name, frame in tables.items()}


def whole_table(out_dir: Path, table: str, parts: int) -> pa.Table:
    """A partitioned table's non-empty parts one after the other, in one chunk (the first part when all are empty).

    Read and joined in Arrow, so the types are the parts' own; the parts' rows are already sorted by
    the table's key, and so is their succession.
    """
    tables = [pq.read_table(part_path(out_dir, table, index)) for index in range(parts)]
    filled = [part for part in tables if part.num_rows] or tables[:1]
    return pa.concat_tables(filled).combine_chunks()


def write_whole_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as :func:`analysis.store.tables.write_table` writes a frame (zstd), its parts' metadata kept."""
    pq.write_table(table, path, compression="zstd")


def whole_quarantine(quarantines: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The parts' quarantines as the export's: sorted by file and line (lines already the concatenated export's)."""
    return concatenate(quarantines).sort_values(["file", "line"], kind="stable").reset_index(drop=True)


def workers_peak_rss_mb(client: Any) -> dict[str, float]:
    """Each worker's peak resident set (MB), by worker address."""
    return client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


@dataclass(frozen=True)
class CheckedParts:
    """The part bundles of an export in parts and their participant ids, checked across parts."""

    parts: list[Path]
    ids_by_part: list[list[str]]


def checked_parts(parts_dir: Path) -> CheckedParts:
    """The parts of ``parts_dir``, refused before any cluster work when they are not one export cut by participant.

    One manifest, no participant in two parts, ascending ranges of ids
    (:mod:`analysis.export.parts`); the client reads the participant_id column of each part's
    participants.csv, nothing else.

    Raises
    ------
    analysis.export.errors.ExportError
        naming the part at fault.
    """
    parts = part_folders(parts_dir)
    check_same_manifest(parts)
    ids_by_part = [participant_ids(part) for part in parts]
    check_disjoint_ranges(parts, ids_by_part)
    return CheckedParts(parts, ids_by_part)


def run_scale(
    checked: CheckedParts, out_dir: Path, client: Any, *, data_cut: date | None = None, plan: AnalysisPlan | None = None
) -> dict[str, Any]:
    """Ingest and derive an export in parts on ``client``'s cluster; write ``out_dir``.

    Parameters
    ----------
    checked
        The part bundles, checked across parts (:func:`checked_parts`).
    out_dir
        The output folder: a dataset folder per table (participants, events, each derived table), the tables of
        one row per participant and the quarantine whole, and :data:`SUMMARY_FILE`.
    client
        A ``distributed.Client``; its workers must import this project.
    data_cut
        The data cut (default: the manifest's export date), as ``pacer ingest --data-cut``.
    plan
        The analysis plan (default settings when None).

    Returns
    -------
    dict
        The summary also written to ``out_dir / SUMMARY_FILE``.

    Raises
    ------
    analysis.export.errors.ExportError
        when an event names a participant of another part, or a part is refused by the ingest.
    """
    plan = plan or AnalysisPlan()
    out_dir = Path(out_dir)
    phases: dict[str, float] = {}
    parts, ids_by_part = checked.parts, checked.ids_by_part
    with timed(phases, "count lines"):
        offsets = line_offsets(client.gather(client.map(part_lines, parts, pure=False)))
    with timed(phases, "ingest"):
        ingested: list[IngestedPart] = client.gather(
            [
                client.submit(ingest_part, part, index, offsets[index], data_cut, out_dir, plan, pure=False)
                for index, part in enumerate(parts)
            ]
        )
        check_foreign_events(parts, ids_by_part, [part.foreign_ids for part in ingested])
        check_no_unclosed_quote(parts, [part.quarantine for part in ingested])
    with timed(phases, "derive"):
        derived_rows: list[dict[str, int]] = client.gather(
            [client.submit(derive_part, out_dir, index, plan, pure=False) for index in range(len(parts))]
        )
    with timed(phases, "combine"):
        for table in SUBJECT_TABLES:
            write_whole_table(whole_table(out_dir, table, len(parts)), out_dir / f"{table}.parquet")
        write_table(
            whole_quarantine([part.quarantine for part in ingested]),
            out_dir / "quarantine.parquet",
            read_provenance(part_path(out_dir, "events", 0)),
        )
    summary = {
        "parts": [str(part) for part in parts],
        "data_cut": ingested[0].data_cut,
        "reconciliation": {
            name: {**asdict(counts), "balanced": counts.balanced()}
            for name, counts in add_counts([part.counts for part in ingested]).items()
        },
        "rows": {
            "participants": sum(part.counts[participants_file.FILE].kept for part in ingested),
            "events": sum(part.counts[events_file.FILE].kept for part in ingested),
            **{name: sum(rows[name] for rows in derived_rows) for name in TABLE_KEYS},
        },
        "phase_seconds": phases,
        "workers_peak_rss_mb": workers_peak_rss_mb(client),
        "client_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    write_json(summary, out_dir / SUMMARY_FILE)
    return summary


@contextmanager
def timed(phases: dict[str, float], name: str) -> Iterator[None]:
    """Record the wall seconds of the ``with`` block as ``phases[name]``."""
    started = time.perf_counter()
    yield
    phases[name] = round(time.perf_counter() - started, 2)


@contextmanager
def scale_client(dask_address: str | None, workers: int, memory_limit: str) -> Iterator[Any]:
    """A client of the cluster at ``dask_address``, else of a ``LocalCluster``.

    The local cluster has ``workers`` single-threaded worker processes, each held to
    ``memory_limit`` (Dask's nanny restarts a worker that goes beyond it; its task is retried).
    """
    from distributed import Client, LocalCluster

    if dask_address is not None:
        with Client(dask_address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def simulate_parts(
    n_participants: int,
    parts: int,
    seed: int,
    out_dir: Path,
    *,
    hourly_vitals_days: int = 0,
    run: Callable[..., list[Path]] | None = None,
) -> list[Path]:
    """Simulate a cohort in ``parts`` part bundles (:mod:`analysis.simulate.parts`), here or with ``run``.

    ``run(function, items)`` maps ``function`` over the parts elsewhere (e.g. on a Dask client:
    ``lambda function, items: client.gather(client.map(function, items))``); the parts' bytes
    are the same wherever they are simulated.
    """
    simulate = partial(
        simulate_part, cohort_size=n_participants, out_dir=out_dir, hourly_vitals_days=hourly_vitals_days
    )
    cohort = cohort_parts(n_participants, parts, seed)
    if run is None:
        return [simulate(part) for part in cohort]
    return run(simulate, cohort)
