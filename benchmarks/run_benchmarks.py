"""The benchmark command: generate seeded workloads, time each step in its own process, write a table.

Usage (from the project root, after `make install`)::

    .venv/bin/python benchmarks/run_benchmarks.py                 # sizes 1k, 3k, 10k + the demo run
    .venv/bin/python benchmarks/run_benchmarks.py --sizes 1000    # a quick look

For each size the simulator writes a bundle with hourly vital signs for days 0-14 (10,000
participants ≈ 10 million event rows), then ``baseline``, ``ingest``, ``derive`` and ``analyze`` run
as separate processes (``benchmarks/step.py``), each reporting wall time, CPU time and peak memory.
Each step's wall time is also given as a ratio to the baseline (a bare Arrow CSV read plus one
group-by). The demo run end to end is ``pacer run`` on the committed demo, Prefect included.
``stats_100k`` times KM, Cox and the historical comparisons on 100,000 simulated participants;
``oc_100k`` the stopping rules' operating characteristics over 100,000 simulated trials (each rule,
one true rate). ``derive_dask`` derives a copy of the same ingested folder in groups of participants
on a Dask cluster (``--dask-address``, else a LocalCluster with one worker per core) and checks that
it wrote the same bytes as ``derive``. ``floor_derive`` runs right after ``derive`` on the same
ingested folder: the derivation's core columnar work done by polars, the floor ``derive`` is measured
against (``derive / floor_derive``, the ``× floor`` table). ``bootstrap_2000`` times the IPTW
bootstrap, 2,000 replicates of 100 simulated participants (40 % trial), in one process. With
``--scale-participants N``, ``scale_dask`` simulates a cohort of N in ``--scale-parts`` part bundles
on a LocalCluster of two workers (``--scale-memory-limit`` each) and ingests and derives them part by
part (``pacer scale``).
``floor_ingest`` runs right after ``ingest`` on the same bundle, writing its own folder: a polars
pass doing the same kind of work as the ingest (``benchmarks/floor_ingest.py``).
Results go to ``benchmarks/out/results.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP = ROOT / "benchmarks" / "step.py"
STEPS = ("baseline", "ingest", "derive", "analyze")
FLOOR_OF = {"ingest": "floor_ingest", "derive": "floor_derive"}
"""A project step → its columnar floor (``benchmarks/step.py``), measured right after it on the same input."""
DERIVED_TABLES = ("crs_timeline", "crs", "icans", "anakinra", "ae", "adsl", "adtte", "queries")


def measure(*arguments: str) -> dict:
    """Run ``benchmarks/step.py`` with ``arguments`` in a fresh process; its JSON line is the measurement."""
    completed = subprocess.run([sys.executable, str(STEP), *arguments], capture_output=True, text=True, cwd=ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"step {arguments[0]} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def timed_pacer_run(out: Path, env: dict[str, str]) -> tuple[float, dict[str, str]]:
    """`pacer run --out OUT` on the demo export in a new process: its wall seconds and its step lines by step."""
    started = time.perf_counter()
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "pacer"), "run", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"pacer run failed:\n{completed.stderr[-3000:]}")
    steps = {
        line.split()[0]: line for line in completed.stdout.splitlines() if " done in " in line or " reused " in line
    }
    return wall, steps


def measure_demo_run(work: Path) -> dict:
    """`pacer run` on the demo export, end to end, Prefect included: on a fresh PREFECT_HOME (``wall_s``); again on
    the same folder, every step reused (``reuse_wall_s``); into a new folder with the now warm PREFECT_HOME
    (``warm_wall_s``); and into a new folder against a running `pacer server` (``server_wall_s``)."""
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect-home")}
    env.pop("PREFECT_API_URL", None)
    wall, steps = timed_pacer_run(work / "demo-out", env)
    reuse_wall, _ = timed_pacer_run(work / "demo-out", env)
    warm_wall, _ = timed_pacer_run(work / "demo-warm", env)
    return {
        "step": "demo pacer run (Prefect included)",
        "wall_s": wall,
        "step_lines": steps,
        "reuse_wall_s": reuse_wall,
        "warm_wall_s": warm_wall,
        "server_wall_s": time_against_server(work, env),
    }


def time_against_server(work: Path, env: dict[str, str]) -> float:
    """Start `pacer server` on a free port, wait until it answers, time `pacer run` into a new folder against it, stop it."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "pacer"), "server", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped whole below
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("pacer server did not start") from None
                time.sleep(0.5)
        wall, _ = timed_pacer_run(work / "demo-server", {**env, "PREFECT_API_URL": api})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return wall


def measure_derive_dask(bundle: Path, out: Path, dask_address: str | None) -> dict:
    """``derive_dask`` on a copy of ``out`` taken before its derive step; ``same_tables``: it wrote derive's bytes."""
    copy = out.with_name(out.name + "-dask")
    address = [] if dask_address is None else ["--dask-address", dask_address]
    result = measure("derive_dask", "--bundle", str(bundle), "--out", str(copy), *address)
    same = all(
        (copy / f"{name}.parquet").read_bytes() == (out / f"{name}.parquet").read_bytes() for name in DERIVED_TABLES
    )
    return {**result, "same_tables": same}


def measure_scale_dask(work: Path, participants: int, parts: int, seed: int, memory_limit: str) -> dict:
    """``scale_dask``: a cohort of ``participants`` in ``parts`` part bundles, simulated, ingested and derived on 2 workers."""
    arguments = ["--participants", str(participants), "--partitions", str(parts), "--seed", str(seed)]
    return measure(
        "scale_dask",
        "--bundle",
        str(work / "scale-parts"),
        "--out",
        str(work / "scale-out"),
        *arguments,
        "--hourly-vitals-days",
        "14",
        "--workers",
        "2",
        "--memory-limit",
        memory_limit,
    )


def run(sizes: list[int], seed: int, work: Path, dask_address: str | None = None) -> dict:
    results: list[dict] = []
    for size in sizes:
        bundle, out = work / f"bundle-{size}", work / f"out-{size}"
        simulated = measure(
            "simulate",
            "--bundle",
            str(bundle),
            "--participants",
            str(size),
            "--seed",
            str(seed),
            "--hourly-vitals-days",
            "14",
        )
        with open(bundle / "events.csv", "rb") as lines:
            rows = sum(1 for _ in lines) - 1
        results.append({**simulated, "participants": size, "event_rows": rows})
        for step in STEPS:
            results.append(
                {**measure(step, "--bundle", str(bundle), "--out", str(out)), "participants": size, "event_rows": rows}
            )
            if step == "ingest":
                shutil.copytree(out, out.with_name(out.name + "-dask"))
            if step in FLOOR_OF:
                # the ingest's floor writes a folder of its own: the ingest's tables stay for derive
                floor_out = work / f"floor_ingest-{size}" if step == "ingest" else out
                results.append(
                    {
                        **measure(FLOOR_OF[step], "--bundle", str(bundle), "--out", str(floor_out)),
                        "participants": size,
                        "event_rows": rows,
                    }
                )
        results.append({**measure_derive_dask(bundle, out, dask_address), "participants": size, "event_rows": rows})
        together = work / f"ingest_derive-{size}"
        results.append(
            {
                **measure("ingest_derive", "--bundle", str(bundle), "--out", str(together)),
                "participants": size,
                "event_rows": rows,
            }
        )
    scale = [
        {
            **measure("stats_100k", "--bundle", str(work), "--participants", "100000", "--seed", str(seed)),
            "participants": 100_000,
            "event_rows": 0,
        },
        {
            **measure("oc_100k", "--bundle", str(work), "--participants", "100000", "--seed", str(seed)),
            "participants": 100_000,
            "event_rows": 0,
        },
        {
            **measure("bootstrap_2000", "--bundle", str(work), "--participants", "100", "--seed", str(seed)),
            "participants": 100,
            "event_rows": 0,
        },
    ]
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": results,
        "scale": scale,
        "demo": measure_demo_run(work),
    }


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
    }


def table(report: dict) -> str:
    """The results as a Markdown table, each step's wall time also as a ratio to its size's baseline."""
    baseline = {r["participants"]: r["wall_s"] for r in report["results"] if r["step"] == "baseline"}
    lines = [
        "| participants | event rows | step | wall s | CPU s | user s | sys s | peak MB | × baseline |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        ratio = (
            r["wall_s"] / baseline[r["participants"]]
            if r["step"] in (*STEPS, *FLOOR_OF.values(), "derive_dask")
            else float("nan")
        )
        lines.append(
            f"| {r['participants']:,} | {r['event_rows']:,} | {step_label(r)} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
            f"{r['user_s']:.2f} | {r['sys_s']:.2f} | {r['peak_rss_mb']:.0f} | {ratio:.1f} |"
        )
    for r in report["scale"]:
        lines.append(
            f"| {r['participants']:,} | – | {r['step']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['user_s']:.2f} | "
            f"{r['sys_s']:.2f} | {r['peak_rss_mb']:.0f} | – |"
        )
    lines.append("\n" + floor_table(report))
    lines.append("\n" + together_table(report))
    demo = report["demo"]
    lines.append(
        f"\nDemo `pacer run`, end to end with Prefect: {demo['wall_s']:.1f} s wall on a new PREFECT_HOME "
        f"({'; '.join(demo['step_lines'].values())}); {demo['warm_wall_s']:.1f} s into a new folder, warm; "
        f"{demo['server_wall_s']:.1f} s against a running `pacer server`; {demo['reuse_wall_s']:.1f} s again with "
        "every step reused"
    )
    return "\n".join(lines)


def floor_table(report: dict) -> str:
    """Each step that has a columnar floor beside it (``FLOOR_OF``): wall and CPU of both, µs per event row, the ratios.

    The CPU ratio is the one to read on a shared machine, where wall times swing with the load. The
    marginal µs per row is the growth from the next smaller size, (wall − its wall) / (rows − its rows):
    the per-row cost without the fixed part (imports, start-up) that a per-row figure of a small
    bundle carries.
    """
    measured = {(r["participants"], r["step"]): r for r in report["results"]}
    lines = [
        "| participants | event rows | step | wall s | CPU s | µs per row | marginal µs per row | floor | floor wall s "
        "| floor CPU s | × floor | × floor (CPU) |",
        "|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    previous: dict[str, dict] = {}
    steps_in_order = list(FLOOR_OF)
    for (participants, step), r in sorted(
        ((key, r) for key, r in measured.items() if key[1] in FLOOR_OF),
        key=lambda item: (item[0][0], steps_in_order.index(item[0][1])),
    ):
        if (participants, FLOOR_OF[step]) not in measured:
            continue
        floor = measured[participants, FLOOR_OF[step]]
        smaller = previous.get(step)
        marginal = (
            f"{(r['wall_s'] - smaller['wall_s']) / (r['event_rows'] - smaller['event_rows']) * 1e6:.2f}"
            if smaller is not None and r["event_rows"] > smaller["event_rows"]
            else "–"
        )
        previous[step] = r
        lines.append(
            f"| {participants:,} | {r['event_rows']:,} | {step} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | "
            f"{r['wall_s'] / r['event_rows'] * 1e6:.2f} | {marginal} | {floor['step']} | {floor['wall_s']:.2f} | "
            f"{floor['cpu_s']:.2f} | {r['wall_s'] / floor['wall_s']:.1f} | {r['cpu_s'] / floor['cpu_s']:.1f} |"
        )
    return "\n".join(lines)


def together_table(report: dict) -> str:
    """Ingest and derive in one process (``ingest_derive``, as ``pacer run`` runs them) beside the two separate
    steps and the two floors added up."""
    measured = {(r["participants"], r["step"]): r for r in report["results"]}
    lines = [
        "| participants | ingest + derive in one process: wall s (ingest, derive) | user s | sys s | peak MB "
        "| the two steps apart: wall s | the two floors: wall s | × floors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (participants, step), r in measured.items():
        if step != "ingest_derive":
            continue
        apart = sum(measured[participants, name]["wall_s"] for name in FLOOR_OF)
        floors = sum(measured[participants, name]["wall_s"] for name in FLOOR_OF.values())
        lines.append(
            f"| {participants:,} | {r['wall_s']:.2f} ({r['ingest_s']:.2f}, {r['derive_s']:.2f}) | {r['user_s']:.2f} | "
            f"{r['sys_s']:.2f} | {r['peak_rss_mb']:.0f} | {apart:.2f} | {floors:.2f} | {r['wall_s'] / floors:.1f} |"
        )
    return "\n".join(lines)


def step_label(result: dict) -> str:
    """The step's name; for derive_dask also its partitions, workers' peak memory and whether it wrote derive's bytes."""
    if result["step"] != "derive_dask":
        return result["step"]
    return (
        f"derive_dask ({result['partitions']} partitions on {result['workers']} workers, each ≤ "
        f"{result['workers_peak_rss_mb']:.0f} MB; cluster start {result['cluster_start_s']:.1f} s not counted; "
        f"{'same tables' if result['same_tables'] else 'TABLES DIFFER'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "results.json")
    parser.add_argument(
        "--dask-address", help="the Dask scheduler derive_dask uses (default: a LocalCluster, one worker per core)"
    )
    parser.add_argument("--scale-participants", type=int, help="also run scale_dask on a cohort of this many")
    parser.add_argument("--scale-parts", type=int, default=50, help="scale_dask: part bundles of the cohort")
    parser.add_argument("--scale-memory-limit", default="4GiB", help="scale_dask: each worker's memory limit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pacer-bench-") as work:
        report = run(args.sizes, args.seed, Path(work), args.dask_address)
        if args.scale_participants:
            report["scale_dask"] = measure_scale_dask(
                Path(work), args.scale_participants, args.scale_parts, args.seed, args.scale_memory_limit
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(report))
    if "scale_dask" in report:
        print(f"\nscale_dask: {json.dumps(report['scale_dask'])}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
