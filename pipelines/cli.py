"""The `pacer` command: run the whole pipeline, ingest an export, or simulate one.

Exit codes scripts can trust: 0 success; 2 a user error (one line on stderr, no traceback);
1 an unexpected failure (a defect: the traceback is kept for the developers).
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipelines import prefect_env  # noqa: F401  (offline defaults before Prefect loads)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="PACER (NCT06703216) outcome-analysis pipeline.")

USER_ERROR = 2

DataCutOption = Annotated[Optional[str], typer.Option("--data-cut", help="Data cut YYYY-MM-DD (all of that day, export time zone). Default: the manifest's export date.")]
OutOption = Annotated[Optional[Path], typer.Option("--out", help="Write the tables into this folder. Default: data/processed/<data-cut>/.")]
TimezoneOption = Annotated[Optional[str], typer.Option("--timezone", help="IANA time zone of naive local times, when the manifest has none.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the output folder (for scripts).")]
SettingsOption = Annotated[Optional[Path], typer.Option("--settings", help="Analysis-plan settings file (.toml, .yaml, .json). Default: the documented defaults.")]


def fail(message: str) -> None:
    """Print one line on stderr and exit with the user-error code."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(USER_ERROR)


def parse_data_cut(text: str | None) -> date | None:
    """`--data-cut` as a date; a user error when it is not YYYY-MM-DD."""
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        fail(f"--data-cut '{text}' is not a date YYYY-MM-DD")
    return None


def report_outcomes(outcomes: list, quiet: bool) -> None:
    """One line per step (unless quiet), then where the outputs are."""
    if not quiet:
        for outcome in outcomes:
            typer.echo(outcome.line())
    typer.echo(f"outputs written to {outcomes[-1].out_dir}")


def run_user_step(step, **kwargs) -> Path:
    """Run a flow; a user error (a Failed state with a message) becomes one line on stderr and exit code 2."""
    from pipelines.outcome import failed_message, quiet_prefect_run_loggers

    quiet_prefect_run_loggers()
    state = step(**kwargs, return_state=True)
    message = failed_message(state)
    if message is not None:
        fail(message)
    return state.result()


@app.command()
def run(export: Annotated[Optional[Path], typer.Option("--export", help="Export bundle folder or .zip. Default: the committed demo export.")] = None, data_cut: DataCutOption = None, out: OutOption = None,
        timezone: TimezoneOption = None, settings: SettingsOption = None, quiet: QuietOption = False) -> None:
    """Run the pipeline on an export (default: the committed demo) and print where the outputs are."""
    from analysis.settings import SettingsError, load_settings
    from pipelines.paths import DEMO_EXPORT
    from pipelines.run import run_flow

    cut = parse_data_cut(data_cut)
    try:
        plan = load_settings(settings)
    except SettingsError as exc:
        fail(str(exc))
    outcomes = run_user_step(run_flow, export=export or DEMO_EXPORT, data_cut=cut, out_dir=out, time_zone=timezone, plan=plan)
    report_outcomes(outcomes, quiet)


@app.command()
def ingest(export: Annotated[Optional[Path], typer.Option("--export", help="Export bundle folder or .zip. Default: the committed demo export.")] = None, data_cut: DataCutOption = None, out: OutOption = None,
           timezone: TimezoneOption = None, settings: SettingsOption = None, quiet: QuietOption = False) -> None:
    """Validate an export, quarantine bad rows, and write participants, events, quarantine and manifest.json."""
    from analysis.settings import SettingsError, load_settings
    from pipelines.ingest import ingest_flow
    from pipelines.paths import DEMO_EXPORT

    cut = parse_data_cut(data_cut)
    try:
        plan = load_settings(settings)
    except SettingsError as exc:
        fail(str(exc))
    outcome = run_user_step(ingest_flow, export=export or DEMO_EXPORT, data_cut=cut, out_dir=out, time_zone=timezone, plan=plan)
    report_outcomes([outcome], quiet)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the simulated bundle into.")],
    participants: Annotated[int, typer.Option("--participants", min=1, help="Number of enrolled participants.")] = 45,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed writes the same bytes.")] = 20261101,
    historical: Annotated[bool, typer.Option("--historical", help="Simulate a historical cohort (no pre-emptive anakinra).")] = False,
) -> None:
    """Write a simulated PACER export bundle (manifest.json, participants.csv, events.csv)."""
    from analysis.simulate import simulate_export

    simulate_export(participants, seed, out, historical=historical)
    typer.echo(f"simulated export written to {out}")


def main() -> None:
    """Entry point for `python -m pipelines.cli`."""
    app(prog_name="pacer")


if __name__ == "__main__":
    sys.exit(main())
