"""The SDTM reader against the CSV ingest on one simulated bundle: wall time of read + ingest of each.

    .venv/bin/python benchmarks/sdtm_ingest.py --participants 1000 [--seed 20261125] [--work DIR]

The simulator writes the bundle (hourly vital signs to day 14, as run_benchmarks.py), the
simulator's SDTM writer rewrites it as XPT files; then, each in this process and timed apart,
``ingest_bundle(read_bundle(csv))`` and ``ingest_bundle(read_bundle(sdtm))``. ``read_s`` is
``read_bundle`` alone: for the SDTM folder, reading the XPT domains and mapping them onto the
export's rows (the SDTM route's own cost); ``ingest_s`` the shared ingest after it. With
``--work DIR``, the bundles are kept in ``DIR/csv`` and ``DIR/sdtm`` and reused by the next run;
``--only csv`` or ``--only sdtm`` times one route (at 10,000 participants, one process each keeps
the peak memory to one ingest). The process runs under pacer's memory policy
(:mod:`pipelines.memory_policy`), as ``pacer`` does; each route's user and system CPU seconds are
given apart (``user_s``, ``sys_s``), and the process's peak resident memory (``peak_rss_mb``).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from pipelines.memory_policy import keep_memory_for_the_run


def timed_ingest(path: Path) -> dict[str, float | int]:
    """Seconds to read (``read_s``) and ingest (``ingest_s``) the bundle at ``path``, CPU seconds, the events kept."""
    from analysis.export.bundle import read_bundle
    from analysis.export.ingest import ingest_bundle

    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    bundle = read_bundle(path)
    read_seconds = time.perf_counter() - started
    events = len(ingest_bundle(bundle).events)
    total = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "read_s": round(read_seconds, 2),
        "ingest_s": round(total - read_seconds, 2),
        "total_s": total,
        "user_s": round(after.ru_utime - before.ru_utime, 2),
        "sys_s": round(after.ru_stime - before.ru_stime, 2),
        "events": events,
    }


def bundles(participants: int, seed: int, work: Path) -> tuple[Path, Path]:
    """The CSV bundle and its SDTM rewrite in ``work`` (made unless there)."""
    from analysis.simulate import simulate_export
    from analysis.simulate.sdtm import bundle_to_sdtm

    csv, sdtm = work / "csv", work / "sdtm"
    if not (csv / "events.csv").is_file():
        simulate_export(participants, seed, csv, hourly_vitals_days=14)
    if not (sdtm / "dm.xpt").is_file():
        bundle_to_sdtm(csv, sdtm)
    return csv, sdtm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--only", choices=("csv", "sdtm"), default=None)
    args = parser.parse_args()
    keep_memory_for_the_run()
    with tempfile.TemporaryDirectory() as scratch:
        folders = dict(zip(("csv", "sdtm"), bundles(args.participants, args.seed, args.work or Path(scratch))))
        routes = [args.only] if args.only else ["csv", "sdtm"]
        timings = {route: timed_ingest(folders[route]) for route in routes}
    result: dict[str, object] = {
        "participants": args.participants,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    for route, timing in timings.items():
        result[route] = {**timing, "total_s": round(float(timing["total_s"]), 2)}
    if len(timings) == 2:
        result["ratio"] = round(float(timings["sdtm"]["total_s"]) / float(timings["csv"]["total_s"]), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
