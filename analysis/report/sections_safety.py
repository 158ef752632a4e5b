"""Closed-session safety sections: CRS, anakinra, ICANS, adverse events, listings.

Rates and their CIs and the anakinra timing summary are read from the ARD; grade distributions,
onset and duration, and listings are tabulated from the derived tables (the ARD does not carry
them). Times are study days or hours since infusion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.report import figures, fmt, summaries
from analysis.report.sections import ReportContext, Section, figure, para
from analysis.report.tables import html_table

RATE_VARIABLES = {
    "crs_any": "Any CRS",
    "crs_grade3plus": "CRS grade ≥ 3 (ASTCT)",
    "crs_grade4plus": "CRS grade ≥ 4 (ASTCT)",
    "crs_penn_grade3plus": "CRS grade ≥ 3 (Penn approximation)",
    "crs_penn_grade4plus": "CRS grade ≥ 4 (Penn approximation)",
    "icans_any": "Any ICANS",
    "icans_grade3plus": "ICANS grade ≥ 3",
}
PENN_BIAS = (
    "Penn approximation bias: the export carries no organ, coagulation or dialysis data, so the trial's Penn "
    "grade is approximated from physiology and can only under-grade grades 3–4. Every comparison with a "
    "Penn-graded cohort therefore favours PACER by construction. Penn and ASTCT grades are never compared "
    "with each other (grading.md)."
)


# ---- CRS ---------------------------------------------------------------------------------------


def rates_table(ctx: ReportContext, variables: list[str], table_id: str, title: str) -> str:
    """ARD ``crs_rate`` rows: n/N, % and exact 95 % CI by burden group."""
    rows, spanners, labels = [], {}, {}
    for variable in variables:
        row = {"Endpoint": RATE_VARIABLES[variable]}
        for group, _label in summaries.BURDEN_GROUPS:
            count, estimate = fmt.rate_cells(ctx.ard.rate("crs_rate", group, variable))
            row[f"{group}_n"], row[f"{group}_p"] = count, estimate
        rows.append(row)
    for group, label in summaries.BURDEN_GROUPS:
        spanners[label] = [f"{group}_n", f"{group}_p"]
        labels[f"{group}_n"], labels[f"{group}_p"] = "n/N", "% (95 % CI)"
    return html_table(
        pd.DataFrame(rows),
        table_id,
        title,
        spanners=spanners,
        labels=labels,
        subtitle="CRS-evaluable set; exact Clopper–Pearson 95 % CI",
    )


def crs_section(ctx: ReportContext) -> Section:
    inputs = ctx.inputs
    crs, adsl, timeline = inputs["crs"], inputs["adsl"], inputs["crs_timeline"]
    section = Section("crs", "Cytokine release syndrome")
    section.add(
        rates_table(
            ctx,
            ["crs_any", "crs_grade3plus", "crs_grade4plus", "crs_penn_grade3plus", "crs_penn_grade4plus"],
            "tbl-crs-rates",
            "CRS rates",
        )
    )
    section.add(
        html_table(
            summaries.grade_distribution(crs, adsl, "crs_max_grade"),
            "tbl-crs-astct",
            "Maximum CRS grade, ASTCT 2019",
            subtitle="CRS-evaluable set, by burden",
        )
    )
    section.add(
        html_table(
            summaries.grade_distribution(crs, adsl, "crs_max_grade_penn"),
            "tbl-crs-penn",
            "Maximum CRS grade, Penn approximation",
            subtitle="CRS-evaluable set, by burden",
            notes=[PENN_BIAS],
        )
    )
    section.add(
        html_table(
            summaries.onset_duration(crs, adsl),
            "tbl-crs-onset",
            "CRS onset and duration",
            subtitle="CRS-evaluable set; onset = first fever after infusion (study day); duration = sum of "
            "episode lengths",
        )
    )
    followed = _followed_days(ctx)
    if followed:
        doses = summaries.medication_doses(inputs["events"], ctx.plan.crs_window_days)
        blocks = figures.swimmer_blocks(list(followed))
        for k, ids in enumerate(blocks):
            part = f" — participants {k * figures.SWIMMER_ROWS + 1}–{k * figures.SWIMMER_ROWS + len(ids)} of {len(followed)}"
            section.add(
                figure(
                    figures.swimmer(
                        timeline,
                        doses,
                        {pid: followed[pid] for pid in ids},
                        ctx.plan.crs_window_days,
                        _block_id("swimmer", k),
                    ),
                    "CRS grade (ASTCT) of each infused participant over days 0–30; grey: followed without CRS; "
                    "markers: anakinra (▼), tocilizumab (◆), corticosteroid (■) doses"
                    + (part if len(blocks) > 1 else "")
                    + ".",
                    _block_id("fig-swimmer", k),
                )
            )
    else:
        section.add(para("No participant is infused at this data cut: no CRS course to show."))
    discrepancies = inputs["queries"]
    discrepancies = discrepancies[discrepancies["kind"].astype(str) == "crs_grade_discrepancy"]
    table = pd.DataFrame(
        {
            "Participant": discrepancies["participant_id"].astype(str),
            "Derived vs reported": discrepancies["detail"].astype(str),
        }
    )
    return section.add(
        html_table(
            table,
            "tbl-crs-discrepancies",
            "Derived versus investigator-reported CRS grade",
            empty="No discrepancy between the derived and the reported maximum CRS grade.",
        )
    )


def _block_id(prefix: str, block: int) -> str:
    """The first block keeps the plain id (``fig-swimmer``), the next ones are numbered (``fig-swimmer-2``)."""
    return prefix if block == 0 else f"{prefix}-{block + 1}"


def _followed_days(ctx: ReportContext) -> dict[str, float]:
    """Infused participants → days followed (to the cut, death or last contact), for the swimmer plot."""
    participants = ctx.inputs["participants"]
    adsl = ctx.inputs["adsl"].set_index("participant_id")
    infused = participants[summaries.flag(participants, "infused")]
    out = {}
    for r in infused.itertuples(index=False):
        days = float(r.cut_hours) / 24.0 if not fmt.is_missing(getattr(r, "cut_hours", np.nan)) else np.nan
        if r.participant_id in adsl.index:
            dd = adsl.loc[r.participant_id].get("death_days", np.nan)
            if not fmt.is_missing(dd):
                days = min(days, float(dd)) if not fmt.is_missing(days) else float(dd)
        out[str(r.participant_id)] = 0.0 if fmt.is_missing(days) else days
    return out


# ---- anakinra ----------------------------------------------------------------------------------


def anakinra_section(ctx: ReportContext) -> Section:
    inputs = ctx.inputs
    anakinra = inputs["anakinra"]
    section = Section("anakinra", "Anakinra: timing, escalation, deviations")
    rows = []
    for variable, label in (("hours", "First fever → first dose (h)"), ("trigger_hours", "Trigger → first dose (h)")):
        value = lambda stat: ctx.ard.value("fever_to_anakinra", "all", variable, stat)  # noqa: E731
        rows.append(
            {
                "Interval": label,
                "n": fmt.count(value("n")),
                "Median": fmt.number(value("median")),
                "Q1–Q3": f"{fmt.number(value('q1'))}–{fmt.number(value('q3'))}",
                "Range": f"{fmt.number(value('min'))}–{fmt.number(value('max'))}",
            }
        )
    section.add(
        html_table(
            pd.DataFrame(rows),
            "tbl-anakinra-summary",
            "Time to the first anakinra dose",
            subtitle="Quartiles as R type 7",
            notes=[
                f"Protocol trigger: a reading > {ctx.plan.trigger_temperature_celsius:g} °C with an earlier one "
                f"> {ctx.plan.trigger_temperature_celsius:g} °C {ctx.plan.trigger_min_gap_hours:g}–"
                f"{ctx.plan.trigger_max_gap_hours:g} h before it; a first dose more than "
                f"{ctx.plan.anakinra_window_hours:g} h after the trigger is a deviation [choice anakinra_window_hours]."
            ],
        )
    )
    given = anakinra[anakinra["first_anakinra_hours"].notna()]
    if not given.empty:
        section.add(
            figure(
                figures.anakinra_timing(anakinra, ctx.plan.anakinra_window_hours),
                "Hours from first fever and from the trigger to the first anakinra dose, one dot per participant.",
                "fig-anakinra-timing",
            )
        )
    escalated = int(summaries.flag(anakinra, "anakinra_escalated").sum())
    deviations = int(anakinra["deviation"].notna().sum()) if "deviation" in anakinra else 0
    section.add(
        para(
            f"{len(given)} participants received anakinra; {escalated} escalated to every 6 h or a higher "
            f"dose; {deviations} had a protocol deviation listed below."
        )
    )
    listing = summaries.anakinra_listing(anakinra)
    section.add(
        html_table(
            listing.drop(columns="Deviation"),
            "tbl-anakinra-listing",
            "Anakinra by participant",
            subtitle="hours since infusion",
            empty="No participant with fever or anakinra.",
        )
    )
    section.add(
        html_table(
            listing.loc[listing["Deviation"] != "", ["Participant", "Deviation"]],
            "tbl-anakinra-deviations",
            "Protocol deviations (anakinra)",
            empty="No anakinra protocol deviation.",
        )
    )
    section.add(
        html_table(
            summaries.severe_crs_and_anakinra(inputs["crs"], inputs["crs_timeline"], anakinra),
            "tbl-severe-before-anakinra",
            "Severe CRS relative to the trigger and the first anakinra dose",
            subtitle="participants with ASTCT grade ≥ 3; study days",
            empty="No participant with grade ≥ 3 CRS.",
        )
    )
    return section


# ---- ICANS, AEs ----------------------------------------------------------------------------------


def icans_rates_table(ctx: ReportContext) -> str:
    """ARD ``crs_rate`` ICANS rates with the number never assessed beside each (counted as grade 0,
    grading.md), and the ``icans_assessed`` rates among the assessed as the sensitivity analysis."""
    rows = []
    for variable in ("icans_any", "icans_grade3plus"):
        for group, label in summaries.BURDEN_GROUPS:
            count, estimate = fmt.rate_cells(ctx.ard.rate("crs_rate", group, variable))
            assessed_count, assessed_estimate = fmt.rate_cells(ctx.ard.rate("icans_assessed", group, variable))
            rows.append(
                {
                    "Endpoint": RATE_VARIABLES[variable],
                    "Group": label,
                    "n": count,
                    "p": estimate,
                    "na": fmt.count(ctx.ard.value("icans_assessed", group, "not_assessed", "n")),
                    "assessed_n": assessed_count,
                    "assessed_p": assessed_estimate,
                }
            )
    return html_table(
        pd.DataFrame(rows),
        "tbl-icans-rates",
        "ICANS rates",
        spanners={
            "All CRS-evaluable": ["n", "p", "na"],
            "Among the assessed (sensitivity)": ["assessed_n", "assessed_p"],
        },
        labels={
            "n": "n/N",
            "p": "% (95 % CI)",
            "na": "Not assessed",
            "assessed_n": "n/N",
            "assessed_p": "% (95 % CI)",
        },
        subtitle="CRS-evaluable set; exact Clopper–Pearson 95 % CI",
        notes=[
            "A participant never assessed neurologically counts as grade 0 (grading.md); 'Not assessed' is how "
            "many of the N that is. The sensitivity columns give the rates among the assessed only."
        ],
    )


def icans_section(ctx: ReportContext) -> Section:
    icans, adsl = ctx.inputs["icans"], ctx.inputs["adsl"]
    section = Section("icans", "ICANS")
    section.add(icans_rates_table(ctx))
    section.add(
        html_table(
            summaries.grade_distribution(icans, adsl, "icans_max_grade"),
            "tbl-icans-grades",
            "Maximum ICANS grade, ASTCT 2019",
            subtitle="CRS-evaluable set, by burden",
        )
    )
    return section.add(
        html_table(summaries.icans_summary(icans, adsl), "tbl-icans-summary", "ICANS onset and assessment")
    )


def ae_section(ctx: ReportContext) -> Section:
    ae = ctx.inputs["ae"]
    section = Section("adverse-events", "Adverse events")
    section.add(
        html_table(
            summaries.ae_by_term(ae),
            "tbl-ae-term",
            "Adverse events of grade ≥ 3 by term",
            subtitle="CRS and ICANS are derived and reported above, never entered as AEs",
            empty="No adverse event of grade ≥ 3.",
        )
    )
    section.add(
        html_table(
            summaries.ae_listing(ae, terms=("infection", "febrile_neutropenia")),
            "tbl-ae-infections",
            "Infections (any grade)",
            subtitle="the risk anakinra may add",
            empty="No infection recorded.",
        )
    )
    section.add(
        html_table(
            summaries.ae_listing(ae, terms=summaries.CYTOPENIAS, after_day=30),
            "tbl-ae-cytopenias",
            "Cytopenias beyond day 30",
            subtitle="onset after day 30 or unresolved at day 30",
            empty="No cytopenia beyond day 30.",
        )
    )
    return section.add(
        html_table(
            summaries.ae_listing(ae, terms=("iec_hs",)),
            "tbl-ae-iechs",
            "IEC-HS (HLH-like syndrome)",
            empty="No IEC-HS recorded.",
        )
    )


# ---- listings ----------------------------------------------------------------------------------


def listings_section(ctx: ReportContext) -> Section:
    inputs = ctx.inputs
    section = Section("listings", "Listings")
    section.add(
        html_table(
            summaries.listing_severe_crs(inputs["crs"]),
            "tbl-list-crs",
            "Grade ≥ 3 CRS (ASTCT)",
            empty="No grade ≥ 3 CRS.",
        )
    )
    section.add(
        html_table(
            summaries.listing_severe_icans(inputs["icans"]),
            "tbl-list-icans",
            "Grade ≥ 3 ICANS",
            empty="No grade ≥ 3 ICANS.",
        )
    )
    return section.add(
        html_table(summaries.listing_deaths(inputs["adsl"]), "tbl-list-deaths", "Deaths", empty="No death.")
    )
