"""The run summary in Markdown (the Prefect artifact of each `pacer run`): open-report content only.

The Prefect UI has no login, so the summary holds only what the DSMB's open session may see:
the data cut, the analysis sets' sizes (enrolled, infused, CRS-evaluable, as the open report's
disposition counts them) and where the open reports are. No outcome rate, no comparison with a
historical cohort and no stopping-rule status: those are closed-session results, in the closed
report only. It never holds a participant identifier, a participant row or free text.
"""

from __future__ import annotations

from pathlib import Path

from analysis.report import summaries
from analysis.report.inputs import load_inputs
from analysis.settings import AnalysisPlan

REPORT_TITLES = {
    "dsmb_open_report.html": "DSMB open report (HTML)",
    "dsmb_open_report.pdf": "DSMB open report (PDF)",
}
"""The reports the summary links: the open session's only (the closed report is not named in the UI)."""


def build_run_summary(processed: Path, plan: AnalysisPlan) -> str:
    """The Markdown summary of one output folder (written by ingest, derive and analyze; report optional).

    Raises
    ------
    analysis.report.inputs.ReportInputError
        when a table or the manifest is missing.
    """
    processed = Path(processed).resolve()
    inputs = load_inputs(processed)
    adsl = inputs["adsl"]
    lines = [
        f"# PACER run summary — data cut {inputs.data_cut}",
        "",
        "Open-session content only: aggregate counts, no participant rows, no outcome rates, "
        "comparisons or stopping-rule status (those are in the closed report).",
        "",
        "## Analysis sets",
        "",
        "| set | participants |",
        "|---|---:|",
        f"| enrolled | {len(adsl)} |",
        f"| infused | {int(summaries.flag(adsl, 'infused').sum())} |",
        f"| CRS-evaluable | {int(summaries.flag(adsl, 'crs_evaluable').sum())} |",
        "",
        "## Open reports",
        "",
        *report_lines(processed, inputs.manifest),
        "",
        f"Output folder: `{processed}` · analysis-plan settings sha256 `{plan.settings_hash()[:12]}…`",
    ]
    return "\n".join(lines) + "\n"


def report_lines(processed: Path, manifest: dict) -> list[str]:
    """A link per open report the manifest records and the folder holds; one line saying so when there is none."""
    names = sorted(
        name.removeprefix("report/")
        for name in manifest.get("files", {})
        if name.startswith("report/") and name.removeprefix("report/") in REPORT_TITLES
    )
    present = [name for name in names if (processed / "report" / name).is_file()]
    if not present:
        return ["- not rendered yet (`pacer report --processed DIR`)"]
    return [f"- [{REPORT_TITLES[name]}]({(processed / 'report' / name).as_uri()})" for name in present]


__all__ = ["build_run_summary"]
