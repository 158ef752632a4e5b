"""The SDTM reader against the CSV ingest on one simulated bundle: wall time of read + ingest of each.

    .venv/bin/python benchmarks/sdtm_ingest.py --participants 1000 [--seed 20261125] [--work DIR]

The simulator writes the bundle (hourly vital signs to day 14, as run_benchmarks.py), the
simulator's SDTM writer rewrites it as XPT files; then, each in this process and timed apart,
``ingest_bundle(read_bundle(csv))`` and ``ingest_bundle(read_bundle(sdtm))``. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from analysis.export.bundle import read_bundle
from analysis.export.ingest import ingest_bundle
from analysis.simulate import simulate_export
from analysis.simulate.sdtm import bundle_to_sdtm


def timed_ingest(path: Path) -> tuple[float, int]:
    """Seconds to read and ingest the bundle at ``path``, and the events kept."""
    started = time.perf_counter()
    result = ingest_bundle(read_bundle(path))
    return time.perf_counter() - started, len(result.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        csv = simulate_export(args.participants, args.seed, work / "csv", hourly_vitals_days=14)
        started = time.perf_counter()
        sdtm = bundle_to_sdtm(csv, work / "sdtm")
        write_seconds = time.perf_counter() - started
        csv_seconds, csv_events = timed_ingest(csv)
        sdtm_seconds, sdtm_events = timed_ingest(sdtm)
    print(
        json.dumps(
            {
                "participants": args.participants,
                "sdtm_write_s": round(write_seconds, 2),
                "csv_ingest_s": round(csv_seconds, 2),
                "sdtm_ingest_s": round(sdtm_seconds, 2),
                "ratio": round(sdtm_seconds / csv_seconds, 2),
                "events_kept": [csv_events, sdtm_events],
            }
        )
    )


if __name__ == "__main__":
    main()
