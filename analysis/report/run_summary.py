"""The run summary in Markdown (the Prefect artifact of each `pacer run`): aggregate numbers only.

What it holds: the data cut, the analysis sets' sizes (enrolled, infused, CRS-evaluable), the
severe-CRS rate with its exact 95 % CI as ``ard.parquet`` holds it, the status line of every
safety stopping rule (the ARD's ``stopping_status`` rows, worded as the DSMB report words them)
and where the reports are. It never holds a participant identifier, a participant row or
free text: every number is a count or an ARD statistic.
"""

from __future__ import annotations

from pathlib import Path

from analysis.report import fmt, summaries
from analysis.report.inputs import load_inputs
from analysis.report.sections import context
from analysis.report.sections_stopping import status_lines
from analysis.settings import AnalysisPlan

REPORT_TITLES = {
    "dsmb_open_report.html": "DSMB open report (HTML)",
    "dsmb_open_report.pdf": "DSMB open report (PDF)",
    "dsmb_report.html": "DSMB closed report (HTML)",
    "dsmb_report.pdf": "DSMB closed report (PDF)",
}


def build_run_summary(processed: Path, plan: AnalysisPlan) -> str:
    """The Markdown summary of one output folder (written by ingest, derive and analyze; report optional).

    Raises
    ------
    analysis.report.inputs.ReportInputError
        when a table or the manifest is missing.
    """
    processed = Path(processed).resolve()
    inputs = load_inputs(processed)
    ctx = context(inputs, plan)
    adsl = inputs["adsl"]
    severe = ctx.ard.rate("crs_rate", "all", "crs_grade3plus")
    grade4 = ctx.ard.rate("crs_rate", "all", "crs_grade4plus")
    lines = [
        f"# PACER run summary — data cut {inputs.data_cut}",
        "",
        "Aggregate numbers only (no participant rows).",
        "",
        "## Analysis sets",
        "",
        "| set | participants |",
        "|---|---:|",
        f"| enrolled | {len(adsl)} |",
        f"| infused | {int(summaries.flag(adsl, 'infused').sum())} |",
        f"| CRS-evaluable | {int(summaries.flag(adsl, 'crs_evaluable').sum())} |",
        "",
        "## Severe CRS (ASTCT grade ≥ 3), CRS-evaluable set",
        "",
        f"- grade ≥ 3: {fmt.rate(severe)}",
        f"- grade ≥ 4: {fmt.rate(grade4)}",
        "",
        "## Safety stopping rules",
        "",
        *[f"- **{title}** — {text}" for title, text, _ in status_lines(ctx)],
        "",
        "## Reports",
        "",
        *report_lines(processed, inputs.manifest),
        "",
        f"Output folder: `{processed}` · analysis-plan settings sha256 `{plan.settings_hash()[:12]}…`",
    ]
    return "\n".join(lines) + "\n"


def report_lines(processed: Path, manifest: dict) -> list[str]:
    """A link per report the manifest records and the folder holds; one line saying so when there is none."""
    names = sorted(name.removeprefix("report/") for name in manifest.get("files", {}) if name.startswith("report/"))
    present = [name for name in names if (processed / "report" / name).is_file()]
    if not present:
        return ["- not rendered yet (`pacer report --processed DIR`)"]
    return [f"- [{REPORT_TITLES.get(name, name)}]({(processed / 'report' / name).as_uri()})" for name in present]


__all__ = ["build_run_summary"]
