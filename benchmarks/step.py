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


def survival_and_comparisons(n: int, seed: int) -> None:
    """KM with log-log CIs, a Cox model (Efron) and the historical comparisons on ``n`` simulated participants."""
    import numpy as np
    import pandas as pd

    from analysis.stats.cox import cox_ph
    from analysis.stats.historical import compare_with_cohorts, load_cohorts
    from analysis.stats.kaplan_meier import kaplan_meier, survival_at

    rng = np.random.default_rng(seed)
    blasts = rng.uniform(5, 99, n)
    time = np.clip(rng.exponential(300 / (1 + blasts / 50)), 0.1, 365.25).round(1)
    event = (time < 365.25) & (rng.random(n) < 0.8)
    survival_at(kaplan_meier(time, event), [91.3, 182.6, 365.25])
    cox_ph(time, event, pd.DataFrame({"log2_blasts": np.log2(blasts)}))
    severe = int((rng.random(n) < 0.25).sum())
    counts = {(group, variable): (severe, n) for group in ("all", "high_burden")
              for variable in ("crs_any", "crs_grade3plus", "crs_grade4plus", "crs_penn_grade3plus", "crs_penn_grade4plus",
                               "icans_any", "icans_grade3plus")}
    compare_with_cohorts(counts, load_cohorts())


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
    elif args.step == "stats_100k":
        survival_and_comparisons(args.participants, args.seed)
    elif args.step == "oc_100k":
        from analysis.stats.monitoring import operating_characteristics, rules_from_settings

        plan = AnalysisPlan()
        for rule in rules_from_settings(plan.stopping):
            operating_characteristics(rule, (0.10,), trials=args.participants, seed=args.seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["baseline", "simulate", "ingest", "derive", "analyze", "stats_100k", "oc_100k"])
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
