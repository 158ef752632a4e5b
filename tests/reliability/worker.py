"""A pipeline step in its own process, for the fault and lock tests: ``python -m tests.reliability.worker ...``.

Actions:

- ``hold OUT``: take the output folder's lock, print ``held <pid>``, keep it until stdin closes.
- ``steps OUT STEP[,STEP...] [options]``: run the steps' own functions (no Prefect) on the demo
  export into OUT. ``--variant`` uses a non-default analysis plan (so every step recomputes);
  ``--data-cut D``; ``--canned-report`` renders stand-in documents instead of the real reports;
  ``--kill-at-write N`` kills the process (SIGKILL) as it stages its N-th file;
  ``--kill-after-move N`` kills it right after its N-th file is moved into place;
  ``--pause-at-write N --until FILE`` prints ``paused <pid>`` at the N-th staged file and waits
  for FILE to exist; ``--file-size-limit BYTES`` sets RLIMIT_FSIZE (writes beyond it fail, EFBIG).

- ``cli OUT [options] -- PACER ARGS``: the ``pacer`` command itself (Prefect, its temporary server,
  the run log) with ``PACER ARGS``, stand-in reports, and faults: ``--record-events FILE`` writes
  one line per moment a kill can hit (each rename into the run's folders, each step's end, the
  run's switch before and after); ``--kill-at-event N`` kills the process (SIGKILL) at the N-th;
  ``--defect-in STEP`` makes that step raise ZeroDivisionError; ``--defect-outside`` makes the
  run flow raise it before any step.

Exit codes: 0 done; 3 a user error (its message on stderr, one line); 1 a defect (traceback);
for ``cli``, the ``pacer`` command's own.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import time
from datetime import date
from pathlib import Path

VARIANT = {"high_burden_pct": 50.0}


def canned_reports(*args, **kwargs) -> dict[str, bytes]:
    """Four small stand-in documents (the report step's writing, without its 8 s of rendering)."""
    return {
        name: f"stand-in {name}\n".encode() * 200
        for name in ("dsmb_open_report.html", "dsmb_open_report.pdf", "dsmb_report.html", "dsmb_report.pdf")
    }


def install_faults(args: argparse.Namespace) -> None:
    """Wrap the store's staging writes and os.replace with the requested kill or pause."""
    from analysis import store
    from analysis.store import tables  # noqa: F401  (the module whose writes are wrapped)

    staged = {"count": 0}

    def hook(function):
        def wrapper(*call_args, **call_kwargs):
            path = next((a for a in call_args if isinstance(a, Path)), None)
            if (
                path is not None
                and any(part.startswith(store.STAGING_PREFIX) for part in path.parts)
                and path.name != store.COMMIT_RECORD
            ):
                staged["count"] += 1
                if staged["count"] == args.kill_at_write:
                    os.kill(os.getpid(), signal.SIGKILL)
                if staged["count"] == args.pause_at_write:
                    print(f"paused {os.getpid()}", flush=True)
                    while not Path(args.until).exists():
                        time.sleep(0.05)
            return function(*call_args, **call_kwargs)

        return wrapper

    for name in ("write_table", "write_json", "write_bytes"):
        setattr(store.tables, name, hook(getattr(store.tables, name)))

    if args.kill_after_move:
        real_replace = os.replace
        moves = {"count": 0}

        def replace(source, target, *rest, **kw):
            real_replace(source, target, *rest, **kw)
            source, target = Path(source), Path(target)
            if (
                any(p.startswith(store.STAGING_PREFIX) for p in source.parts)
                and not any(p.startswith(store.STAGING_PREFIX) for p in target.parts)
                and not target.name.endswith(".tmp")
            ):
                moves["count"] += 1
                if moves["count"] == args.kill_after_move:
                    os.kill(os.getpid(), signal.SIGKILL)

        os.replace = replace


def run_steps(args: argparse.Namespace) -> None:
    from analysis.settings import AnalysisPlan
    from pipelines.paths import DEMO_EXPORT

    plan = AnalysisPlan(**VARIANT) if args.variant else AnalysisPlan()
    out = Path(args.out)
    if args.canned_report:
        import pipelines.report

        pipelines.report.render_reports = canned_reports
    for step in args.steps.split(","):
        if step == "ingest":
            from pipelines.ingest import run_ingest

            cut = None if args.data_cut is None else date.fromisoformat(args.data_cut)
            outcome = run_ingest(DEMO_EXPORT, data_cut=cut, out_dir=out, time_zone=None, plan=plan)
        elif step == "derive":
            from pipelines.derive import run_derive

            outcome = run_derive(out, plan)
        elif step == "analyze":
            from pipelines.analyze import run_analyze

            outcome = run_analyze(out, plan)
        elif step == "report":
            from pipelines.report import run_report

            outcome = run_report(out, plan, "2026-11-02T00:00:00+00:00")
        else:
            raise SystemExit(f"unknown step {step}")
        print(outcome.line(), flush=True)


def install_cli_faults(args: argparse.Namespace) -> None:
    """Count (and maybe kill at) every moment of a ``pacer`` run a kill can hit; plant a defect."""
    import pipelines.report
    import pipelines.run
    import pipelines.step_runner
    from analysis.store import run_commit

    pipelines.report.render_reports = canned_reports
    out_name = Path(args.out).name
    events = {"count": 0}

    def moment(label: str) -> None:
        events["count"] += 1
        if args.record_events:
            with open(args.record_events, "a", encoding="utf-8") as stream:
                stream.write(f"{events['count']} {label}\n")
        if events["count"] == args.kill_at_event:
            os.kill(os.getpid(), signal.SIGKILL)

    real_replace = os.replace

    def replace(source, target, *rest, **kw):
        result = real_replace(source, target, *rest, **kw)
        if out_name in str(target):
            moment(f"rename {Path(target).name}")
        return result

    os.replace = replace
    real_exchange = run_commit.exchange_folders

    def exchange(first, second):
        moment("switch-before")
        real_exchange(first, second)
        moment("switch-after")

    run_commit.exchange_folders = exchange
    real_run_step = pipelines.step_runner.run_step

    def run_step(name, *rest, **kw):
        if name == args.defect_in:
            raise ZeroDivisionError(f"planted defect in the {name} step")
        outcome = real_run_step(name, *rest, **kw)
        moment(f"step-done {name}")
        return outcome

    for module in (pipelines.step_runner, *(sys.modules[f"pipelines.{m}"] for m in ("ingest", "derive", "analyze"))):
        module.run_step = run_step
    pipelines.report.run_step = run_step
    if args.defect_outside:

        def broken_target(*rest, **kw):
            raise ZeroDivisionError("planted defect outside the steps")

        pipelines.run.ingest_target = broken_target


def run_cli(args: argparse.Namespace) -> int:
    """The ``pacer`` command, in this process, with the requested faults."""
    install_cli_faults(args)
    from pipelines.cli import main as pacer_main

    sys.argv = ["pacer", *args.pacer_args]
    try:
        pacer_main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


def stop_on_sigint_as_pacer_does() -> None:
    """SIGINT handled by pacer's own handler (:func:`pipelines.interrupt.stop_now`: one line, exit 130 at once).

    With Python's default handler a KeyboardInterrupt that lands in a finalizer (a weakref callback
    during garbage collection) is printed as "Exception ignored" and lost, and the steps run on to
    the end; the command line never relies on it.
    """
    import signal

    from pipelines.interrupt import stop_now

    signal.signal(signal.SIGINT, stop_now)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="worker")
    sub = parser.add_subparsers(dest="action", required=True)
    hold = sub.add_parser("hold")
    hold.add_argument("out")
    steps = sub.add_parser("steps")
    steps.add_argument("out")
    steps.add_argument("steps")
    steps.add_argument("--variant", action="store_true")
    steps.add_argument("--data-cut")
    steps.add_argument("--canned-report", action="store_true")
    steps.add_argument("--kill-at-write", type=int, default=0)
    steps.add_argument("--kill-after-move", type=int, default=0)
    steps.add_argument("--pause-at-write", type=int, default=0)
    steps.add_argument("--until")
    steps.add_argument("--file-size-limit", type=int, default=0)
    cli = sub.add_parser("cli")
    cli.add_argument("out")
    cli.add_argument("--record-events")
    cli.add_argument("--kill-at-event", type=int, default=0)
    cli.add_argument("--defect-in")
    cli.add_argument("--defect-outside", action="store_true")
    pacer_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.action == "cli":
        args.pacer_args = pacer_args
        return run_cli(args)

    from analysis.store import OutputError, output_lock

    try:
        if args.action == "hold":
            with output_lock(Path(args.out)):
                print(f"held {os.getpid()}", flush=True)
                sys.stdin.read()
            return 0
        install_faults(args)
        stop_on_sigint_as_pacer_does()
        if args.file_size_limit:
            resource.setrlimit(resource.RLIMIT_FSIZE, (args.file_size_limit, args.file_size_limit))
        run_steps(args)
    except OutputError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
