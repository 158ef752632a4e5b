"""The `pacer` command: run the pipeline, or one step of it; simulate an export; show the settings.

Exit codes scripts can trust: 0 success; 2 a user error (one line on stderr, no traceback);
1 an unexpected failure (a defect: its traceback on stderr, then one line naming the step that
failed, or saying it was outside the steps), whether it happened inside a Prefect task or not.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)
from pipelines.gc_policy import collector_paused_while_loading, freeze_loaded_code
from pipelines.memory_policy import keep_memory_for_the_run
from pipelines.process_exit import end_now

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="PACER (NCT06703216) outcome-analysis pipeline: ingest an export, grade CRS/ICANS, derive "
    "outcomes, analyze. Start with `pacer run` (the demo export) or `pacer run --export PATH`.",
)
settings_app = typer.Typer(no_args_is_help=True, help="The analysis-plan settings.")
app.add_typer(settings_app, name="settings")

USER_ERROR = 2

ExportOption = Annotated[
    Path | None,
    typer.Option(
        "--export",
        help="Export bundle: a folder or .zip with participants.csv and events.csv. Default: the committed demo export data/raw/demo.",
    ),
]
DataCutOption = Annotated[
    str | None,
    typer.Option(
        "--data-cut",
        help="Data cut YYYY-MM-DD: all of that day, in the export's time zone. Default: the manifest's export date.",
    ),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Write the outputs into this folder. Default: data/processed/<data-cut>/.")
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA time zone of naive local times (e.g. America/Chicago), for an export whose manifest has none; a zone other than the manifest's is refused.",
    ),
]
SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        help="Analysis-plan settings file (.toml, .yaml, .json). Default: the documented defaults (`pacer settings show`).",
    ),
]
InputFormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        help="Format of --export: csv (participants.csv + events.csv) or sdtm (a folder of SDTM domains, XPT or Dataset-JSON, read through analysis/cdisc/sdtm_mapping.yaml).",
    ),
]
ProcessedOption = Annotated[
    Path, typer.Option("--processed", help="An output folder written by `pacer ingest` (or `pacer run`).")
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an output folder that holds the outputs of another export or another data cut (refused without it).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output folder (for scripts).")]
DaskAddressOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Run the work on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (its workers need this project installed). Default: on this machine.",
    ),
]
PartitionsOption = Annotated[
    int,
    typer.Option(
        "--partitions",
        min=1,
        help="With --dask-address: the number of groups of participants derived as separate tasks on the cluster's workers (a few per worker). Never changes the result.",
    ),
]


def fail(message: str) -> None:
    """Print one line on stderr and exit with the user-error code (a line break or control character in
    the message, e.g. from a file name, is shown as its escape: the error stays one line)."""
    one_line = "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in str(message))
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(USER_ERROR)


def check_paths(inputs: list[Path | None], outputs: list[Path | None]) -> None:
    """Inputs that cannot be read (a FIFO, socket or device; name too long; a symbolic-link loop; permission
    denied) and output folders that cannot be one stop the run in one line before any work."""
    import os
    import stat

    for path in filter(None, inputs):
        from analysis.export.bundle import input_path_problem

        problem = input_path_problem(path)
        if problem is not None:
            fail(problem)
    for path in filter(None, outputs):
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            from analysis.export.bundle import os_error_line

            fail(os_error_line(path, exc).replace("cannot be read", "cannot be the output folder", 1))
        if not stat.S_ISDIR(mode):
            fail(f"{path}: not a folder; it cannot be the output folder")


def check_dask_address(address: str | None) -> None:
    """`--dask-address` must look like a scheduler address; a user error otherwise."""
    if address is None:
        return
    from pipelines.dask_runner import is_dask_address

    if not is_dask_address(address):
        fail(f"--dask-address '{address}' is not a Dask scheduler address such as tcp://host:8786")


def parse_data_cut(text: str | None) -> date | None:
    """`--data-cut` as a date; a user error when it is not YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--data-cut '{text}' is not a date YYYY-MM-DD")
    return None


def load_plan(settings: Path | None):
    """The analysis plan from `--settings`, or the defaults; a bad file is a user error."""
    from analysis.settings import SettingsError, load_settings

    try:
        return load_settings(settings)
    except SettingsError as exc:
        fail(str(exc))


def run_parameters(
    export: Path | None,
    data_cut: str | None,
    out: Path | None,
    timezone: str | None,
    settings: Path | None,
    historical_export: Path | None = None,
) -> dict[str, Any]:
    """Validated flow parameters from the command-line options; a bad one is a user error before any work."""
    from analysis.export.errors import ExportError
    from pipelines.parameters import validate_run_parameters
    from pipelines.paths import DEMO_EXPORT

    check_paths([export, historical_export, settings], [out])
    try:
        params = validate_run_parameters(
            export=export or DEMO_EXPORT,
            data_cut=parse_data_cut(data_cut),
            out_dir=out,
            time_zone=timezone,
            settings=settings,
            historical_export=historical_export,
        )
    except ExportError as exc:
        fail(str(exc))
    return {
        "export": params.export,
        "data_cut": params.data_cut,
        "out_dir": params.out_dir,
        "time_zone": params.time_zone,
        "plan": load_plan(params.settings),
    }


def check_overwrite(parameters: dict[str, Any], force: bool) -> None:
    """Refuse, before any server starts, an output folder holding files the pipeline did not write (always), or
    another export's or cut's outputs (unless ``force``). (A new folder, which has nothing to refuse, may have
    started its server already: :func:`start_server_for_new_folder`.)"""
    from analysis.export.errors import ExportError
    from analysis.store.run_commit import foreign_content_refusal
    from pipelines.out_folder import ingest_target, overwrite_refusal

    export, data_cut, time_zone = parameters["export"], parameters["data_cut"], parameters["time_zone"]
    try:
        target = ingest_target(export, data_cut, parameters["out_dir"], time_zone)
        foreign = foreign_content_refusal(target)
        if foreign is not None:
            fail(foreign)
        refusal = overwrite_refusal(target, export, data_cut, time_zone)
    except ExportError as exc:
        fail(str(exc))
    if refusal is not None and not force:
        fail(refusal)


def check_input_format(export: Path | None, input_format: str, option: str = "--export") -> None:
    """`--format` must name the kind of folder `--export` is (an SDTM folder is recognised by its DM domain)."""
    if input_format not in ("csv", "sdtm"):
        fail(f"--format {input_format}: not one of csv, sdtm")
    if export is None:
        if input_format == "sdtm":
            fail(f"--format sdtm needs {option} DIR (a folder with dm.xpt or dm.json)")
        return
    check_paths([export], [])
    if not export.exists():
        return  # a missing export is reported with the other parameters (run_parameters)
    from analysis.export.sdtm import is_sdtm_folder

    if input_format == "sdtm" and not is_sdtm_folder(export):
        fail(f"{option} {export}: no dm.xpt or dm.json there (and no participants.csv): not an SDTM export")
    if input_format == "csv" and is_sdtm_folder(export):
        fail(f"{option} {export} holds SDTM domains; pass --format sdtm")


def start_prefect_server() -> None:
    """Check that Prefect's local server can start (:func:`pipelines.prefect_server.prefect_start_problem`), then start
    it in the background, guarded to stop with this process (:func:`pipelines.prefect_server.start_temporary_server`).

    A command calls it as soon as its parameters are good, before it loads its flow's code, so the
    server comes up meanwhile; :func:`run_user_step` calls it too (it starts one server only).
    """
    from pipelines.prefect_server import prefect_start_problem, start_temporary_server

    problem = prefect_start_problem()
    if problem is not None:
        fail(problem)
    start_temporary_server()


def start_server_for_new_folder(out: Path | None) -> None:
    """Start Prefect's local server first thing (:func:`start_prefect_server`) when ``--out`` names a new folder.

    A folder that is missing or empty holds nothing to refuse or to reuse, so the command will run its
    steps: the server comes up while the command checks its parameters and loads pandas and the steps'
    code. Otherwise the command starts it once it knows it has work to do (:mod:`pipelines.reuse`); a
    command that then fails on a parameter stops it as it exits.
    """
    if out is None:
        return
    try:
        new = not out.exists() or (out.is_dir() and not any(out.iterdir()))
    except OSError:  # a name too long, a loop, no permission: the parameter checks say so in one line
        return
    if new:
        start_prefect_server()


def run_user_step(step, quiet: bool = False, meanwhile: Any = None, **kwargs: Any) -> Any:
    """Run a flow; a user error becomes one line on stderr and exit code 2, a defect its traceback and exit code 1.

    Starts Prefect's local server first, unless a server is given (:func:`start_prefect_server`), and waits until it
    answers, doing ``meanwhile`` (a function, e.g. loading a later step's libraries) while it starts.
    """
    import threading

    from pipelines.interrupt import stop_on_signals
    from pipelines.outcome import USER_ERRORS, quiet_prefect_run_loggers, state_exception
    from pipelines.prefect_server import flow_run_settings, wait_for_temporary_server

    start_prefect_server()
    if threading.current_thread() is threading.main_thread():
        stop_on_signals()
    wait_for_temporary_server(meanwhile)
    freeze_loaded_code()
    quiet_prefect_run_loggers()
    show_progress(quiet)
    with flow_run_settings():
        state = step(**kwargs, return_state=True)
    if state.is_failed():
        exc = state_exception(state)
        if exc is None:
            fail(state.message)
        if isinstance(exc, USER_ERRORS):
            fail(str(exc))
        report_defect(exc)
    return state.result()


def report_defect(exc: BaseException) -> None:
    """Print a defect's traceback, then one line naming the step it happened in; exit with code 1."""
    import traceback

    from pipelines.outcome import DEFECT_CODE, StepDefectError

    cause = exc.__cause__ if isinstance(exc, StepDefectError) and exc.__cause__ is not None else exc
    traceback.print_exception(cause, file=sys.stderr)
    where = f"in the {exc.step} step" if isinstance(exc, StepDefectError) else "outside the steps"
    typer.echo(
        f"error: a defect {where}: {type(cause).__name__}: {cause} (traceback above; please report it)", err=True
    )
    raise typer.Exit(DEFECT_CODE)


def show_progress(quiet: bool) -> None:
    """Print each step's line on the terminal as the step finishes (nothing with --quiet)."""
    import logging

    from pipelines.steps import PROGRESS

    PROGRESS.handlers.clear()
    PROGRESS.propagate = False
    if not quiet:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        PROGRESS.addHandler(handler)
        PROGRESS.setLevel(logging.INFO)


def report_outcomes(outcomes: list, quiet: bool) -> None:
    """Where the outputs are (the step lines were printed as each step finished)."""
    typer.echo(f"outputs written to {outcomes[-1].out_dir}")


@app.command()
def run(
    export: ExportOption = None,
    data_cut: DataCutOption = None,
    out: OutOption = None,
    timezone: TimezoneOption = None,
    settings: SettingsOption = None,
    historical_export: Annotated[
        Path | None,
        typer.Option(
            "--historical-export",
            help="The site's own historical patients (same export format), put through the same ingest and derivations and compared with the trial by regression (e.g. data/raw/demo_historical).",
        ),
    ] = None,
    input_format: InputFormatOption = "csv",
    dask_address: DaskAddressOption = None,
    partitions: PartitionsOption = 16,
    export_format: Annotated[
        list[str] | None,
        typer.Option(
            "--export-format",
            help="After the report, also write the ADaM datasets in this format (xpt, dataset-json, csv; repeat for several), define.xml and the cards ARD into <out>/adam/.",
        ),
    ] = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Run the whole pipeline (ingest → derive → analyze → report) on an export, and print where the outputs are.

    A second run on the same export, cut, settings and code reuses the results and says so; when every step is reused it starts no Prefect server. With --dask-address the derive step runs on that Dask cluster and writes the same tables.
    """
    with collector_paused_while_loading():  # until the flow starts (run_user_step), or the command ends
        start_server_for_new_folder(out)
        from pipelines.dask_runner import partitions_on

        check_dask_address(dask_address)
        check_input_format(export, input_format)
        if historical_export is not None:
            check_input_format(historical_export, input_format, "--historical-export")
        formats = export_formats(export_format) if export_format else ()
        parameters = run_parameters(export, data_cut, out, timezone, settings, historical_export)
        check_overwrite(parameters, force)
        run_partitions = partitions_on(dask_address, partitions)
        if not formats:  # the export step always writes: a run with one always has work to do
            from pipelines.reuse import run_if_nothing_to_do

            show_progress(quiet)
            reused = run_if_nothing_to_do(
                **parameters, historical_export=historical_export, partitions=run_partitions, force=force
            )
            if isinstance(reused, str):
                fail(reused)
            if reused is not None:
                report_outcomes(reused, quiet)
                return
        start_prefect_server()  # comes up while the steps' code loads
        from analysis.report.render import load_layout_libraries
        from pipelines.dask_runner import on_dask_cluster
        from pipelines.run import run_flow

        report_outcomes(
            run_user_step(
                on_dask_cluster(run_flow, dask_address),
                quiet,
                meanwhile=load_layout_libraries,  # the report step's, while the server starts
                **parameters,
                historical_export=historical_export,
                partitions=run_partitions,
                export_formats=formats,
                force=force,
            ),
            quiet,
        )


@app.command()
def ingest(
    export: ExportOption = None,
    data_cut: DataCutOption = None,
    out: OutOption = None,
    timezone: TimezoneOption = None,
    settings: SettingsOption = None,
    input_format: InputFormatOption = "csv",
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Validate an export, quarantine bad rows, and write participants, events, quarantine and manifest.json."""
    start_server_for_new_folder(out)
    check_input_format(export, input_format)
    parameters = run_parameters(export, data_cut, out, timezone, settings)
    check_overwrite(parameters, force)
    from pipelines.ingest import ingest_flow  # Prefect loads only once the parameters are good

    report_outcomes([run_user_step(ingest_flow, quiet, **parameters, force=force)], quiet)


@app.command()
def derive(
    processed: ProcessedOption,
    settings: SettingsOption = None,
    dask_address: DaskAddressOption = None,
    partitions: PartitionsOption = 16,
    quiet: QuietOption = False,
) -> None:
    """Grade CRS (ASTCT and the Penn approximation) and ICANS, time anakinra, derive ADSL and ADTTE.

    With --dask-address the participants are derived in groups on that Dask cluster; the tables are the same.
    """
    check_dask_address(dask_address)
    folder, plan = existing_folder(processed), load_plan(settings)
    from pipelines.derive import run_derive_flow  # Prefect loads only once the parameters are good

    report_outcomes(
        [
            run_user_step(
                run_derive_flow,
                quiet,
                processed=folder,
                plan=plan,
                dask_address=dask_address,
                partitions=partitions,
            )
        ],
        quiet,
    )


@app.command()
def analyze(processed: ProcessedOption, settings: SettingsOption = None, quiet: QuietOption = False) -> None:
    """Compute every analysis result (rates, historical comparisons, survival) into ard.parquet."""
    folder, plan = existing_folder(processed, "derive"), load_plan(settings)
    from pipelines.analyze import analyze_flow  # Prefect loads only once the parameters are good

    report_outcomes([run_user_step(analyze_flow, quiet, processed=folder, plan=plan)], quiet)


@app.command()
def report(processed: ProcessedOption, settings: SettingsOption = None, quiet: QuietOption = False) -> None:
    """Render the DSMB open and closed reports (HTML and PDF) into <processed>/report/."""
    folder, plan = existing_folder(processed, "analyze"), load_plan(settings)
    from pipelines.report import report_flow  # Prefect loads only once the parameters are good

    report_outcomes([run_user_step(report_flow, quiet, processed=folder, plan=plan)], quiet)


ExportFormatOption = Annotated[
    list[str] | None,
    typer.Option(
        "--format",
        help="Dataset format of the ADaM datasets: xpt (SAS transport v5), dataset-json (CDISC Dataset-JSON 1.1) or csv; repeat for several. define.xml and the cards ARD are always written.",
    ),
]


def export_formats(formats: list[str] | None) -> tuple[str, ...]:
    """`--format` values, checked; default xpt."""
    from analysis.cdisc.export import FORMATS

    chosen = tuple(dict.fromkeys(value.strip().lower() for value in (formats or ["xpt"])))
    unknown = [value for value in chosen if value not in FORMATS]
    if unknown:
        fail(f"--format {', '.join(unknown)}: not one of {', '.join(FORMATS)}")
    return chosen


@app.command("export")
def export_cdisc(
    processed: ProcessedOption, data_format: ExportFormatOption = None, quiet: QuietOption = False
) -> None:
    """Write the ADaM datasets (ADSL, ADTTE, ADAE, ADCRS), define.xml and the cards ARD into <processed>/adam/."""
    formats = export_formats(data_format)
    folder = existing_folder(processed, "analyze")
    from pipelines.export_step import export_flow  # Prefect loads only once the parameters are good

    report_outcomes([run_user_step(export_flow, quiet, processed=folder, formats=formats)], quiet)


STEP_ORDER = ("ingest", "derive", "analyze")
"""The steps whose outputs a later command reads, in the order they run."""


def existing_folder(path: Path, after: str = "ingest") -> Path:
    """`--processed` must be a folder where ``after`` and every step before it have run (its manifest records them).

    Checked before any server starts; the message names the command to run next, e.g. ``run `pacer analyze
    --processed DIR` first``.
    """
    import json

    check_paths([], [path])
    if not path.is_dir():
        fail(f"--processed {path}: no such folder; run `pacer run --out {path}` first")
    try:
        recorded = json.loads((path / "manifest.json").read_text(encoding="utf-8")).get("steps", {})
    except (OSError, ValueError, AttributeError):
        recorded = {}
    for step in STEP_ORDER[: STEP_ORDER.index(after) + 1]:
        files = recorded.get(step, {}).get("files", []) if isinstance(recorded.get(step), dict) else []
        if step not in recorded or not all((path / name).is_file() for name in files):
            if step == "ingest":
                fail(
                    f"--processed {path}: the ingest has not run there (no manifest.json with its tables); run `pacer ingest --out {path}` (or `pacer run --out {path}`) first"
                )
            fail(f"--processed {path}: the {step} step has not run there; run `pacer {step} --processed {path}` first")
    return path


@app.command()
def serve(
    name: Annotated[
        str, typer.Option("--name", help="Deployment name (the Prefect UI shows pacer-run/NAME).")
    ] = "interim",
    cron: Annotated[str, typer.Option("--cron", help="Schedule, cron syntax. Default: Mondays 06:00.")] = "0 6 * * 1",
    export: ExportOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The folder of the runs: each scheduled run writes <out>/<data-cut>/ and the run log <out>/runs.jsonl. Default: data/processed.",
        ),
    ] = None,
    settings: SettingsOption = None,
) -> None:
    """Deploy the pipeline on a running Prefect server (PREFECT_API_URL) with a schedule, and run what it schedules.

    Trigger a run from the Prefect UI (Deployments → pacer-run/NAME → Run) or with
    `prefect deployment run pacer-run/NAME`. Stop with Ctrl-C.
    """
    import os

    from pipelines.paths import DEMO_EXPORT
    from pipelines.serve import serve_pipeline

    if not os.environ.get("PREFECT_API_URL"):
        fail(
            "PREFECT_API_URL is not set: start a server (`pacer server`, Prefect with its telemetry off) and export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    run_parameters(export, None, None, None, settings)
    check_paths([], [out])
    serve_pipeline(name, cron, export or DEMO_EXPORT, out, settings)


@app.command()
def server(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on. Default: this machine only.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port of the API and UI.")] = 4200,
) -> None:
    """Start a Prefect server for `pacer serve`, offline: DO_NOT_TRACK=1 and PREFECT_SERVER_ANALYTICS_ENABLED=false.

    The same as `prefect server start` with its telemetry off (a plain `prefect server start` sends
    analytics unless those are set). Stop with Ctrl-C.
    """
    import os

    from pipelines.prefect_server import offline_server_command

    argv, environ = offline_server_command(dict(os.environ), host, port)
    typer.echo(
        f"starting the Prefect server offline on http://{host}:{port} (export PREFECT_API_URL=http://{host}:{port}/api)"
    )
    os.execve(argv[0], argv, environ)


@settings_app.command("show")
def settings_show(settings: SettingsOption = None) -> None:
    """Print the analysis-plan settings in force, where they come from, and their hash."""
    import json

    plan = load_plan(settings)
    typer.echo(f"# source: {settings if settings else 'defaults of grading.md / outputs.md'}")
    typer.echo(f"# sha256: {plan.settings_hash()}")
    typer.echo(json.dumps(plan.model_dump(mode="json"), indent=2))


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the simulated bundle into.")],
    participants: Annotated[int, typer.Option("--participants", min=1, help="Number of enrolled participants.")] = 45,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed writes the same bytes.")] = 20261101,
    historical: Annotated[
        bool, typer.Option("--historical", help="Simulate a historical cohort (no pre-emptive anakinra).")
    ] = False,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv (manifest.json, participants.csv, events.csv) or sdtm (manifest.json and SDTM domains as XPT v5: DM, SUPPDM, VS, EX, CM, QS, RS, DS, AE, XP).",
        ),
    ] = "csv",
    parts: Annotated[
        int | None,
        typer.Option(
            "--parts",
            min=1,
            help="Write the cohort as this many part bundles <out>/part-00000, … of consecutive participant ids, for `pacer scale` (csv only).",
        ),
    ] = None,
    hourly_vitals_days: Annotated[
        int,
        typer.Option(
            "--hourly-vitals-days",
            min=0,
            help="Add hourly monitor charting of temperature and SBP to this day (the registry-scale workload; 0 = none).",
        ),
    ] = 0,
) -> None:
    """Write a simulated PACER export bundle (manifest.json, participants.csv, events.csv), or the same as SDTM."""
    import tempfile

    from analysis.simulate import simulate_export
    from analysis.simulate.sdtm import bundle_to_sdtm

    if output_format not in ("csv", "sdtm"):
        fail(f"--format {output_format}: not one of csv, sdtm")
    if parts is not None:
        from pipelines.scale import simulate_parts

        if output_format != "csv" or historical:
            fail("--parts writes trial cohorts in csv only: drop --format sdtm and --historical")
        if parts > participants:
            fail(f"--parts {parts} is more than --participants {participants}")
        simulate_parts(participants, parts, seed, out, hourly_vitals_days=hourly_vitals_days)
        typer.echo(f"simulated export written to {out} in {parts} parts")
        return
    if output_format == "csv":
        simulate_export(participants, seed, out, historical=historical, hourly_vitals_days=hourly_vitals_days)
    else:
        with tempfile.TemporaryDirectory() as folder:
            bundle_to_sdtm(
                simulate_export(
                    participants, seed, Path(folder), historical=historical, hourly_vitals_days=hourly_vitals_days
                ),
                out,
            )
    typer.echo(f"simulated export written to {out}")


@app.command()
def scale(
    parts_dir: Annotated[
        Path, typer.Option("--parts", help="Folder of part bundles (part-00000, …: `pacer simulate --parts`).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder: a partitioned Parquet dataset per table.")],
    dask_address: DaskAddressOption = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Without --dask-address: worker processes of the local cluster.")
    ] = 2,
    memory_limit: Annotated[
        str,
        typer.Option("--memory-limit", help="Without --dask-address: each local worker's memory limit, e.g. 4GiB."),
    ] = "4GiB",
    data_cut: Annotated[
        str | None, typer.Option("--data-cut", help="Data cut YYYY-MM-DD. Default: the manifest's export date.")
    ] = None,
    settings: SettingsOption = None,
) -> None:
    """Ingest and derive an export in parts, part by part on a Dask cluster, into partitioned Parquet.

    The parts' tables one after the other equal those of the whole export ingested and derived in one process; no process holds the whole event table.
    """
    import json

    from analysis.export.errors import ExportError
    from pipelines.scale import checked_parts, run_scale, scale_client

    check_dask_address(dask_address)
    check_paths([parts_dir], [out])
    cut = parse_data_cut(data_cut)
    plan = load_plan(settings)
    try:
        parts = checked_parts(parts_dir)
        with scale_client(dask_address, workers, memory_limit) as client:
            summary = run_scale(parts, out, client, data_cut=cut, plan=plan)
    except ExportError as exc:
        fail(str(exc))
    typer.echo(json.dumps({key: summary[key] for key in ("rows", "phase_seconds", "workers_peak_rss_mb")}, indent=2))
    typer.echo(f"scaled run written to {out}")


@app.command("simulate-oc")
def simulate_oc(
    trials: Annotated[
        int | None,
        typer.Option(
            "--trials",
            min=1,
            help="Simulated trials per true rate. Default: the settings' stopping.oc_trials (10,000).",
        ),
    ] = None,
    dask_address: DaskAddressOption = None,
    chunks: Annotated[
        int,
        typer.Option(
            "--chunks", min=1, help="Number of tasks the simulated trials are shared among. Never changes the result."
        ),
    ] = 8,
    settings: SettingsOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the table to this CSV file.")] = None,
) -> None:
    """Simulate the operating characteristics of the safety stopping rules (probability of stopping by true rate).

    The same settings and --trials give the same table on one machine or on a Dask cluster.
    """
    from pipelines.simulation import run_simulate_oc

    check_dask_address(dask_address)
    table = run_user_step(
        run_simulate_oc, trials=trials, plan=load_plan(settings), chunks=chunks, dask_address=dask_address
    )
    echo_table(table, out)


@app.command("stopping-rule")
def stopping_rule(
    p0: Annotated[float, typer.Option("--p0", min=0, max=1, help="Null rate p0 (thall_simon: the unacceptable rate).")],
    n: Annotated[int, typer.Option("--n", min=1, help="Planned maximum number evaluated (the last look).")],
    method: Annotated[
        str,
        typer.Option("--method", help="thall_simon, bb_calibrated (or bb), pocock, obf or sprt (grading.md's names)."),
    ] = "bb_calibrated",
    alpha: Annotated[float, typer.Option("--alpha", help="Target P(ever stop | p0) of a calibrated method.")] = 0.10,
    threshold: Annotated[float, typer.Option("--threshold", help="thall_simon's posterior threshold.")] = 0.90,
    prior: Annotated[tuple[float, float], typer.Option("--prior", help="Beta prior a b.")] = (1.0, 1.0),
    p1: Annotated[float | None, typer.Option("--p1", help="sprt: the alternative rate.")] = None,
    first: Annotated[int, typer.Option("--first", min=1, help="First look (then after every participant).")] = 1,
    looks: Annotated[
        str | None, typer.Option("--looks", help="Comma-separated looks instead, the last equal to --n.")
    ] = None,
    rates: Annotated[str | None, typer.Option("--rates", help="Comma-separated true rates. Default: p0.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Design a safety stopping rule without trial data: boundaries, the condensed rule and its exact OC.

    Example (R stoppingrule's README): pacer stopping-rule --method bb --n 30 --p0 0.20 --alpha 0.10
    --prior 0.6 2.4 --rates 0.20,0.25,0.30,0.35,0.40
    """
    import json

    from analysis.stats.stopping_design import design_stopping_rule, design_tables

    try:
        schedule = [int(v) for v in looks.split(",")] if looks else list(range(first, n + 1))
        true_rates = [float(v) for v in rates.split(",")] if rates else [p0]
        if schedule[-1] != n or output_format not in ("table", "csv", "json"):
            raise ValueError("the last of --looks must equal --n, and --format one of table, csv, json")
        design = design_stopping_rule(
            "bb_calibrated" if method == "bb" else method,
            p0,
            schedule,
            alpha=alpha,
            threshold=threshold,
            prior=prior,
            alternative=p1,
        )
    except ValueError as exc:
        fail(str(exc))
    tables = design_tables(design, true_rates)
    if output_format == "json":
        typer.echo(json.dumps(tables, indent=2))
        return
    for name, records in tables.items():
        typer.echo(f"# {name}")
        echo_records(records, output_format)


def echo_records(records: list[dict], output_format: str) -> None:
    """Records as CSV or as an aligned text table ('–' for a missing value)."""
    import csv

    columns = list(records[0]) if records else []
    if output_format == "csv":
        writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return
    cells = [columns] + [
        ["–" if r[c] is None else f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]) for c in columns]
        for r in records
    ]
    widths = [max(len(row[k]) for row in cells) for k in range(len(columns))]
    typer.echo("\n".join("  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells) + "\n")


def echo_table(table, out: Path | None) -> None:
    """Print a result table; also write it to ``out`` as CSV when given."""
    typer.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        typer.echo(f"table written to {out}")


@app.command()
def bootstrap(
    processed: ProcessedOption,
    historical: Annotated[
        Path | None,
        typer.Option(
            "--historical",
            help="Output folder of the site's historical patients. Default: <processed>/historical, where `pacer run --historical-export` writes it.",
        ),
    ] = None,
    replicates: Annotated[
        int | None,
        typer.Option(
            "--replicates",
            min=100,
            help="Bootstrap replicates. Default: the settings' iptw_bootstrap.replicates (2,000).",
        ),
    ] = None,
    dask_address: DaskAddressOption = None,
    chunks: Annotated[
        int | None,
        typer.Option(
            "--chunks",
            min=1,
            help="Number of tasks the replicates are shared among. Never changes the result. Default: 8 on a Dask cluster, 1 on this machine.",
        ),
    ] = None,
    settings: SettingsOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Also write the table to this CSV file.")] = None,
) -> None:
    """Bootstrap the IPTW risk difference of severe CRS, trial − historical (a sensitivity analysis).

    Each replicate resamples both cohorts with replacement, refits the propensity model and recomputes the weighted risks; the table gives the bootstrap standard error and 95 % percentile interval beside the ARD's sandwich interval. The same settings give the same table on one machine or on a Dask cluster.
    """
    from pipelines.bootstrap import run_bootstrap

    check_dask_address(dask_address)
    table = run_user_step(
        run_bootstrap,
        processed=existing_folder(processed, "derive"),
        historical=historical,
        plan=load_plan(settings),
        replicates=replicates,
        chunks=chunks,
        dask_address=dask_address,
    )
    echo_table(table, out)


@app.command()
def notebooks(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Notebooks to run (crs_timeline_explorer, survival_explorer, comparison_sensitivity). Default: all three.",
            show_default=False,
        ),
    ] = None,
    processed: Annotated[
        Path | None,
        typer.Option(
            "--processed",
            help="The output folder the notebooks read. Default: $PACER_PROCESSED, else the newest run under data/processed/.",
        ),
    ] = None,
) -> None:
    """Execute the exploratory notebooks on an output folder and write <processed>/notebooks/<name>.ipynb with their outputs.

    The executed notebooks can show participant-level data, so they land beside the outputs they read, at the outputs' permissions (0640), never in the source tree; the source is notebooks/<name>.py (Jupytext percent format), which also opens directly in VS Code or PyCharm.
    """
    from analysis.explore import processed_folder
    from pipelines.notebooks import NOTEBOOKS, NotebookError, execute_notebook, executed_path, notebook_source

    if processed is not None:
        existing_folder(processed, "analyze")
    try:
        processed = processed or processed_folder()
    except FileNotFoundError as exc:
        fail(str(exc))
    typer.echo(f"reading {processed}")
    for name in names or NOTEBOOKS:
        try:
            source = notebook_source(name)
        except FileNotFoundError as exc:
            fail(str(exc))
        output = executed_path(processed, source.stem)
        try:
            execute_notebook(source, processed=processed, output=output)
        except NotebookError as exc:
            fail(f"{exc} (see {output})")
        typer.echo(f"{source.stem}: written to {output}")


def main() -> None:
    """Entry point for `pacer` and `python -m pipelines.cli`: a defect outside the steps exits 1.

    The process keeps the memory it takes until it ends (:mod:`pipelines.memory_policy`), and ends
    without Python's interpreter teardown (:func:`pipelines.process_exit.end_now`).
    SIGINT (Ctrl-C) and SIGTERM: before a flow starts, Python's default (Ctrl-C ends the command);
    during a flow, :func:`pipelines.interrupt.stop_now` (one line, exit code 130 or 143).
    """
    keep_memory_for_the_run()
    try:
        app(prog_name="pacer")
    except SystemExit as exit_:
        end_now(exit_.code)
    except Exception as exc:  # click has handled user errors, --help and Ctrl-C: what is left is a defect
        try:
            report_defect(exc)
        except typer.Exit as exit_:
            end_now(exit_.exit_code)


if __name__ == "__main__":
    sys.exit(main())
