"""The open-session sections: enrollment, disposition, baseline, data completeness — aggregate only.

Nothing here prints a participant identifier, a per-participant row, a calendar date of a
participant or free text from the export (withdrawal reasons, AE text, new-therapy text).
"""

from __future__ import annotations

from collections.abc import Callable

from analysis.report import figures, fmt, summaries
from analysis.report.sections import ReportContext, Section, figure, para
from analysis.report.tables import html_table


def enrollment_section(ctx: ReportContext) -> Section:
    participants = ctx.inputs["participants"]
    by_month = summaries.enrollment_by_month(participants)
    target = ctx.plan.report.planned_enrollment
    section = Section("enrollment", "Enrollment")
    section.add(
        para(
            f"{len(participants)} participants enrolled by the data cut, against a planned {target} "
            "(analysis-plan setting report.planned_enrollment)."
        )
    )
    if by_month.empty:
        return section.add(para("No participant is enrolled at this data cut."))
    section.add(
        figure(
            figures.enrollment(by_month, target),
            "Participants enrolled per calendar month and cumulatively, against the planned number.",
            "fig-enrollment",
        )
    )
    table = by_month.rename(columns={"month": "Month", "enrolled": "Enrolled", "cumulative": "Cumulative"})
    return section.add(html_table(table, "tbl-enrollment", "Enrollment by month"))


def disposition_section(ctx: ReportContext) -> Section:
    flow: dict[str, dict[str, str]] = {}
    for box, outflow in ctx.ard.pairs("participant_flow"):
        flow.setdefault(box, {})[outflow] = fmt.count(ctx.ard.value("participant_flow", box, outflow, "n"))
    section = Section("disposition", "Disposition")
    if set(flow) != {"enrolled", "infused", "crs_evaluable", "efficacy_evaluable"}:
        return section.add(para("The ARD holds no participant flow: rerun the analyze step."))
    section.add(
        figure(
            figures.consort(flow),
            "Participant flow (CONSORT style). Analysis sets as grading.md defines "
            "them: CRS-evaluable = infused at least 30 days before the cut or died before day 30; "
            "efficacy-evaluable = at least 42 days or died before day 42.",
            "fig-consort",
        )
    )
    return section.add(
        para(
            "Reasons for leaving are counted by category only (death, withdrawal); withdrawal reasons "
            "are free text in the export and are not reproduced."
        )
    )


def baseline_section(ctx: ReportContext) -> Section:
    table = summaries.baseline(ctx.inputs["adsl"], ctx.inputs["participants"])
    section = Section("baseline", "Baseline characteristics")
    return section.add(
        html_table(
            table,
            "tbl-baseline",
            "Baseline characteristics",
            notes=[
                f"High burden: marrow blasts ≥ {ctx.plan.high_burden_pct:g} % before lymphodepletion "
                "[choice high_burden_pct]. IQR: interquartile range."
            ],
        )
    )


def completeness_section(ctx: ReportContext) -> Section:
    inputs = ctx.inputs
    exported_at = inputs.manifest.get("steps", {}).get("ingest", {}).get("exported_at")
    section = Section("completeness", "Data completeness and timeliness")
    section.add(
        html_table(
            summaries.completeness(inputs["participants"], inputs["events"], exported_at),
            "tbl-completeness",
            "Events by type",
            notes=["Days from event to export: from each row's time to the export's time."],
        )
    )
    queries = inputs["queries"]
    section.add(
        html_table(
            summaries.counts_by(queries, ["kind"], {"kind": "Query kind"}),
            "tbl-query-counts",
            f"Open data queries: {len(queries)}",
            empty="No open data query.",
        )
    )
    quarantine = inputs["quarantine"]
    return section.add(
        html_table(
            summaries.counts_by(quarantine, ["file", "column"], {"file": "File", "column": "Column"}),
            "tbl-quarantine-counts",
            f"Rows quarantined at ingest: {len(quarantine)}",
            empty="No input row was quarantined.",
        )
    )


OPEN_SECTIONS: tuple[Callable[[ReportContext], Section], ...] = (
    enrollment_section,
    disposition_section,
    baseline_section,
    completeness_section,
)
"""The open report's section builders, in order (the closed report repeats them after its summary)."""


def open_sections(ctx: ReportContext) -> list[Section]:
    """Every section of the open report, in order."""
    return [build(ctx) for build in OPEN_SECTIONS]
