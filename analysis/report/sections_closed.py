"""The closed report's sections in order, and the settings appendix.

The closed report is the open report plus: the summary page (first), CRS, anakinra, ICANS, adverse
events, the historical comparison, the site's own historical cohort (with ``--historical-export``), efficacy, the stopping rules, listings, and the appendices.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from analysis.report.sections import ReportContext, Section
from analysis.report.sections_comparison import historical_section, skipped_appendix
from analysis.report.sections_efficacy import efficacy_section
from analysis.report.sections_map import map_prior_section
from analysis.report.sections_safety import ae_section, anakinra_section, crs_section, icans_section, listings_section
from analysis.report.sections_site_historical import site_historical_section
from analysis.report.sections_stopping import oc_appendix, stopping_section, summary_section
from analysis.report.tables import html_table

__all__ = ["CLOSED_SECTIONS", "closed_sections", "settings_appendix", "summary_section"]


def settings_appendix(ctx: ReportContext) -> Section:
    """Every analysis-plan setting in force (each [choice] of grading.md and the stopping rules), flattened."""
    flat = _flatten(ctx.plan.model_dump(mode="json"))
    table = pd.DataFrame({"Setting": list(flat), "Value": [str(v) for v in flat.values()]})
    section = Section("settings", "Analysis-plan settings in force", appendix=True)
    return section.add(
        html_table(
            table, "tbl-settings", "Analysis-plan settings", subtitle=f"settings hash {ctx.plan.settings_hash()}"
        )
    )


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            out.update(_flatten(item, f"{name}."))
        else:
            out[name] = ", ".join(map(str, item)) if isinstance(item, list) else item
    return out


CLOSED_SECTIONS: tuple[Callable[[ReportContext], Section | None], ...] = (
    crs_section,
    anakinra_section,
    icans_section,
    ae_section,
    historical_section,
    site_historical_section,
    map_prior_section,
    efficacy_section,
    stopping_section,
    listings_section,
    oc_appendix,
    skipped_appendix,
    settings_appendix,
)
"""The closed report's own section builders (after the open ones), appendices last; :func:`summary_section` goes
first. A builder returning None has nothing to show at this run (the site's historical cohort without
``--historical-export``)."""


def closed_sections(ctx: ReportContext) -> list[Section]:
    """The closed report's own sections, in order (:data:`CLOSED_SECTIONS`)."""
    return [section for build in CLOSED_SECTIONS if (section := build(ctx)) is not None]
