"""Run one pipeline step in this process and print its wall time, CPU time and peak memory as JSON.

Used by ``benchmarks/run_benchmarks.py``, which starts one process per step so that each step's
peak memory is its own. Steps: ``baseline`` (a bare multi-threaded Arrow CSV read plus one group-by
over all events: the least work any tool must do), ``ingest``, ``derive``, ``analyze`` (the
pipeline's own functions, without Prefect), ``simulate``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def baseline(bundle: Path) -> int:
    """Read events.csv with Arrow's multi-threaded reader and count rows per participant and type."""
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(bundle / "events.csv")
    grouped = table.group_by(["participant_id", "event_type"]).aggregate([([], "count_all")])
    return grouped.num_rows


def run_step(args: argparse.Namespace) -> None:
    """Do the work of one step (imports included in the timing, as a user pays them)."""
    from analysis.settings import AnalysisPlan

    if args.step == "baseline":
        baseline(args.bundle)
    elif args.step == "simulate":
        from analysis.simulate import simulate_export

        simulate_export(args.participants, args.seed, args.bundle, hourly_vitals_days=args.hourly_vitals_days)
    elif args.step == "ingest":
        from pipelines.ingest import run_ingest

        run_ingest(args.bundle, data_cut=None, out_dir=args.out, time_zone=None, plan=AnalysisPlan())
    elif args.step == "derive":
        from pipelines.derive import run_derive

        run_derive(args.out, AnalysisPlan())
    elif args.step == "analyze":
        from pipelines.analyze import run_analyze

        run_analyze(args.out, AnalysisPlan())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["baseline", "simulate", "ingest", "derive", "analyze"])
    parser.add_argument("--bundle", type=Path, required=True, help="the export bundle (written by simulate)")
    parser.add_argument("--out", type=Path, help="the processed output folder")
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hourly-vitals-days", type=int, default=0)
    args = parser.parse_args()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    run_step(args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"step": args.step, "wall_s": time.perf_counter() - started_wall,
                      "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
