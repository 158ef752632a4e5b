"""Run one pipeline step in this process and print its wall time, CPU time and peak memory as JSON.

Used by ``benchmarks/run_benchmarks.py``, which starts one process per step so that each step's
peak memory is its own. Steps: ``baseline`` (a bare multi-threaded Arrow CSV read plus one group-by
over all events: the least work any tool must do), ``ingest``, ``derive``, ``analyze`` (the
pipeline's own functions, without Prefect), ``simulate``, ``bootstrap_2000`` (the IPTW bootstrap, 2,000
replicates, in one process), ``floor_ingest`` (the ingest's floor: a polars pass doing the same kind of
work, ``benchmarks/floor_ingest.py``, writing into ``--out``), and ``derive_dask``: the derive step with
the cohort cut into ``--partitions`` groups of participants derived on a Dask cluster (the one at
``--dask-address``, else a ``LocalCluster`` with one single-threaded worker per core, started before
the clock starts: an existing cluster is the case it serves). ``derive_dask`` submits the groups with
a plain ``distributed.Client``, without Prefect, so it measures the partitioned derivation itself; its
JSON adds the cluster's start-up time and the workers' peak memory. ``scale_dask``: a cohort of
``--participants`` simulated in ``--partitions`` part bundles on a ``LocalCluster`` of
``--workers`` workers held to ``--memory-limit`` each, the workers restarted, then the parts ingested
and derived on them (:func:`pipelines.scale.run_scale`, ``pacer scale``): its JSON gives the
simulation's time apart, the phases, each worker's and this client's peak memory. ``floor_derive`` is
the derive step's columnar floor (:func:`floor_derive`): what a columnar engine needs for the core of
the derivation on the same ingested folder. ``ingest_derive``: the ingest then the derive in one
process, as ``pacer run`` runs them (the derive reuses the memory the ingest took); its JSON gives
each part's seconds.

Every step runs under pacer's memory policy (:mod:`pipelines.memory_policy`), as ``pacer`` runs
its steps; the JSON gives user and system CPU apart, since on the project's machines touching
memory the host has taken back shows up as system time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pipelines.memory_policy import keep_memory_for_the_run


def baseline(bundle: Path) -> int:
    """Read events.csv with Arrow's multi-threaded reader and count rows per participant and type."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(bundle / "events.csv")
    grouped = table.group_by(["participant_id", "event_type"]).aggregate([([], "count_all")])
    return grouped.num_rows


def floor_derive(processed: Path, destination: Path, fever_celsius: float) -> int:
    """The derive step's core columnar work done by polars: the floor ``derive`` is measured against.

    Reads ``processed/events.parquet`` (the columns this needs), keeps the rows at or after
    infusion, and per participant and hour since infusion takes the maximum temperature, the
    minimum systolic blood pressure and whether a vasopressor or an oxygen row falls in it; then per
    participant the maximum temperature, the minimum SBP and the number of hours with fever (≥
    ``fever_celsius``), with a vasopressor and with oxygen. Both tables are sorted and written as
    Parquet to ``destination``, as the derive step writes its tables. Honest, not artificially
    slow: one lazy query plan, polars' own multi-threaded Parquet reader and group-bys.

    Returns
    -------
    int
        The number of participant-hours.
    """
    import polars as pl

    event_type = pl.col("event_type")
    hourly = (
        pl.scan_parquet(processed / "events.parquet")
        .select("participant_id", "event_type", "hours_from_infusion", "value")
        .filter(pl.col("hours_from_infusion") >= 0)
        .group_by("participant_id", pl.col("hours_from_infusion").floor().cast(pl.Int32).alias("hour"))
        .agg(
            pl.col("value").filter(event_type == "temperature").max().alias("temperature_max"),
            pl.col("value").filter(event_type == "systolic_bp").min().alias("sbp_min"),
            (event_type == "vasopressor").any().alias("vasopressor"),
            (event_type == "oxygen").any().alias("oxygen"),
        )
        .sort("participant_id", "hour")
    )
    per_participant = (
        hourly.group_by("participant_id")
        .agg(
            pl.col("temperature_max").max(),
            pl.col("sbp_min").min(),
            (pl.col("temperature_max") >= fever_celsius).sum().alias("fever_hours"),
            pl.col("vasopressor").sum().alias("vasopressor_hours"),
            pl.col("oxygen").sum().alias("oxygen_hours"),
        )
        .sort("participant_id")
    )
    hours, participants = pl.collect_all([hourly, per_participant])
    destination.mkdir(parents=True, exist_ok=True)
    hours.write_parquet(destination / "participant_hours.parquet")
    participants.write_parquet(destination / "participants.parquet")
    return hours.height


def survival_and_comparisons(n: int, seed: int) -> None:
    """KM with log-log CIs, a Cox model (Efron) and the historical comparisons on ``n`` simulated participants."""
    import numpy as np
    import pandas as pd

    from analysis.reference.cohorts import load_cohorts
    from analysis.stats.cox import cox_ph
    from analysis.stats.historical import compare_with_cohorts
    from analysis.stats.kaplan_meier import kaplan_meier, survival_at

    rng = np.random.default_rng(seed)
    blasts = rng.uniform(5, 99, n)
    time = np.clip(rng.exponential(300 / (1 + blasts / 50)), 0.1, 365.25).round(1)
    event = (time < 365.25) & (rng.random(n) < 0.8)
    survival_at(kaplan_meier(time, event), [91.3, 182.6, 365.25])
    cox_ph(time, event, pd.DataFrame({"log2_blasts": np.log2(blasts)}))
    severe = int((rng.random(n) < 0.25).sum())
    counts = {
        (group, variable): (severe, n)
        for group in ("all", "high_burden")
        for variable in (
            "crs_any",
            "crs_grade3plus",
            "crs_grade4plus",
            "crs_grade4",
            "crs_penn_grade3plus",
            "crs_penn_grade4plus",
            "crs_penn_grade4",
            "icans_any",
            "icans_grade3plus",
        )
    }
    compare_with_cohorts(counts, load_cohorts().cohorts)


def bootstrap_two_cohorts(n: int, replicates: int, seed: int) -> None:
    """The IPTW bootstrap (:func:`analysis.stats.iptw_bootstrap.iptw_bootstrap`) of ``n`` simulated participants, 40 % trial."""
    import numpy as np
    import pandas as pd

    from analysis.stats.iptw_bootstrap import iptw_bootstrap

    rng = np.random.default_rng(seed)
    trial = rng.random(n) < 0.4
    blasts = rng.uniform(5, 99, n)
    subjects = pd.DataFrame(
        {
            "participant_id": [f"P{i:06d}" for i in range(n)],
            "cohort": np.where(trial, "trial", "historical"),
            "severe_crs": rng.random(n) < np.where(trial, 0.2, 0.35) + blasts / 500,
            "marrow_blast_pct": blasts,
            "age_years": rng.uniform(1, 26, n).round(1),
            "prior_hsct": rng.random(n) < 0.3,
            "os_aval": 365.25,
            "os_cnsr": 2,
            "efs_aval": 365.25,
            "efs_cnsr": 2,
        }
    )
    iptw_bootstrap(subjects, replicates, seed)


def cluster_for(args: argparse.Namespace) -> Any:
    """The Dask client a step needs (None for the steps in this process alone)."""
    if args.step not in ("derive_dask", "scale_dask"):
        return nullcontext()
    from pipelines.scale import scale_client  # only the Dask steps pay for its imports

    if args.step == "derive_dask":  # one single-threaded worker per core, Dask's own memory limit
        return scale_client(args.dask_address, os.cpu_count() or 1, memory_limit="auto")
    return scale_client(args.dask_address, args.workers or os.cpu_count() or 1, args.memory_limit)


def derive_on_client(client: Any, partitions: int) -> Callable[..., dict[str, Any]]:
    """A ``derive_tables`` for :func:`pipelines.derive.run_derive`: the groups of participants derived on ``client``'s workers."""
    from analysis.derive.all_tables import EVENT_COLUMNS_READ, derive_all_tables, read_for_derivation
    from analysis.derive.partitions import combine_partitions, partitions_for_workers

    def derive(participants: Any, events_path: Path, plan: Any) -> dict[str, Any]:
        events = read_for_derivation(events_path, EVENT_COLUMNS_READ)
        futures = [
            client.submit(derive_all_tables, group_participants, group_events, plan, pure=False)
            for group_participants, group_events in partitions_for_workers(participants, events, partitions)
        ]
        return combine_partitions(client.gather(futures))

    return derive


def workers_peak_rss_mb(client: Any) -> float:
    """The largest peak resident set among the cluster's workers."""
    peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return max(peaks.values())


def scale_on_client(client: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Simulate the cohort in parts on the workers, restart them, ingest and derive the parts (``pacer scale``)."""
    from pipelines.scale import checked_parts, run_scale, simulate_parts

    started = time.perf_counter()
    simulate_parts(
        args.participants,
        args.partitions,
        args.seed,
        args.bundle,
        hourly_vitals_days=args.hourly_vitals_days,
        run=lambda function, items: client.gather(client.map(function, items, pure=False)),
    )
    simulate_s = time.perf_counter() - started
    client.restart()
    started = time.perf_counter()
    summary = run_scale(checked_parts(args.bundle), args.out, client)
    return {
        "simulate_s": simulate_s,
        "scale_s": time.perf_counter() - started,
        "partitions": args.partitions,
        "memory_limit": args.memory_limit,
        **{key: summary[key] for key in ("phase_seconds", "rows", "workers_peak_rss_mb", "client_peak_rss_mb")},
    }


def run_step(args: argparse.Namespace, client: Any = None) -> dict[str, Any]:
    """Do the work of one step (imports included in the timing, as a user pays them); return any extra figures."""
    from analysis.settings import AnalysisPlan

    if args.step == "baseline":
        baseline(args.bundle)
    elif args.step == "simulate":
        from analysis.simulate import simulate_export

        simulate_export(args.participants, args.seed, args.bundle, hourly_vitals_days=args.hourly_vitals_days)
    elif args.step == "ingest":
        from pipelines.ingest import run_ingest

        run_ingest(args.bundle, data_cut=None, out_dir=args.out, time_zone=None, plan=AnalysisPlan())
    elif args.step == "ingest_derive":
        from pipelines.derive import run_derive
        from pipelines.ingest import run_ingest

        plan = AnalysisPlan()
        started = time.perf_counter()
        run_ingest(args.bundle, data_cut=None, out_dir=args.out, time_zone=None, plan=plan)
        ingest_s = time.perf_counter() - started
        run_derive(args.out, plan)
        return {"ingest_s": ingest_s, "derive_s": time.perf_counter() - started - ingest_s}
    elif args.step == "floor_ingest":
        from floor_ingest import floor_ingest

        floor_ingest(args.bundle, args.out)
    elif args.step == "derive":
        from pipelines.derive import run_derive

        run_derive(args.out, AnalysisPlan())
    elif args.step == "floor_derive":
        participant_hours = floor_derive(
            args.out, args.out.with_name(args.out.name + "-floor"), AnalysisPlan().fever_celsius
        )
        return {"participant_hours": participant_hours}
    elif args.step == "derive_dask":
        from pipelines.derive import run_derive

        run_derive(args.out, AnalysisPlan(), derive_tables=derive_on_client(client, args.partitions))
        return {
            "partitions": args.partitions,
            "workers": len(client.scheduler_info()["workers"]),
            "workers_peak_rss_mb": workers_peak_rss_mb(client),
        }
    elif args.step == "scale_dask":
        return scale_on_client(client, args)
    elif args.step == "analyze":
        from pipelines.analyze import run_analyze

        run_analyze(args.out, AnalysisPlan())
    elif args.step == "stats_100k":
        survival_and_comparisons(args.participants, args.seed)
    elif args.step == "oc_100k":
        from analysis.stats.monitoring import operating_characteristics, rules_from_settings

        plan = AnalysisPlan()
        for rule in rules_from_settings(plan.stopping):
            operating_characteristics(rule, (0.10,), trials=args.participants, seed=args.seed)
    elif args.step == "bootstrap_2000":
        bootstrap_two_cohorts(args.participants, 2_000, args.seed)
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "step",
        choices=[
            "baseline",
            "simulate",
            "ingest",
            "floor_ingest",
            "derive",
            "floor_derive",
            "derive_dask",
            "ingest_derive",
            "scale_dask",
            "analyze",
            "stats_100k",
            "oc_100k",
            "bootstrap_2000",
        ],
    )
    parser.add_argument("--bundle", type=Path, required=True, help="the export bundle (written by simulate)")
    parser.add_argument("--out", type=Path, help="the processed output folder")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hourly-vitals-days", type=int, default=0)
    parser.add_argument("--dask-address", help="derive_dask: the Dask scheduler to use (default: a LocalCluster)")
    parser.add_argument(
        "--partitions", type=int, default=16, help="derive_dask: groups of participants; scale_dask: parts"
    )
    parser.add_argument("--workers", type=int, help="scale_dask: LocalCluster workers (default: one per core)")
    parser.add_argument("--memory-limit", default="4GiB", help="scale_dask: each LocalCluster worker's memory limit")
    args = parser.parse_args()
    keep_memory_for_the_run()
    cluster_started = time.perf_counter()
    with cluster_for(args) as client:
        cluster_start_s = time.perf_counter() - cluster_started
        started_wall = time.perf_counter()
        extra = run_step(args, client)
        wall_s = time.perf_counter() - started_wall
        usage = resource.getrusage(resource.RUSAGE_SELF)
    # The derive's worker processes have ended and been waited for: their CPU counts, and the peak is
    # the largest process's (this one or a worker's).
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    if client is not None:
        extra["cluster_start_s"] = cluster_start_s
    print(
        json.dumps(
            {
                "step": args.step,
                "wall_s": wall_s,
                "cpu_s": usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime,
                "user_s": usage.ru_utime + workers.ru_utime,
                "sys_s": usage.ru_stime + workers.ru_stime,
                "peak_rss_mb": max(usage.ru_maxrss, workers.ru_maxrss) / 1024,
                "worker_processes_peak_rss_mb": workers.ru_maxrss / 1024,
                **extra,
            }
        )
    )


if __name__ == "__main__":
    main()
