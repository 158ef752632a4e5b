"""The building blocks of a report: sections of HTML fragments, and the front matter (provenance)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from analysis.report.ardview import ArdView
from analysis.report.inputs import ReportInputs
from analysis.settings import AnalysisPlan

STUDY = "PACER — Pre-emptive Anakinra for Cytokine Event Reduction (NCT06703216)"
SPONSOR = "Ann & Robert H. Lurie Children's Hospital of Chicago"
CONFIDENTIALITY = {
    "open": "CONFIDENTIAL — open session report: the DSMB, the sponsor and the investigators only; do not distribute",
    "closed": "CONFIDENTIAL — closed session report: DSMB members and the reporting statistician only; do not distribute",
}
TITLES = {"open": "DSMB interim report — open session", "closed": "DSMB interim report — closed session"}


@dataclass
class Section:
    """One numbered section: an anchor id, a title, HTML fragments in order; appendix sections letter."""

    id: str
    title: str
    blocks: list[Markup] = field(default_factory=list)
    appendix: bool = False

    def add(self, *blocks: str | Markup) -> Section:
        self.blocks.extend(Markup(b) for b in blocks)
        return self


@dataclass(frozen=True)
class ReportContext:
    """What every section builder reads."""

    inputs: ReportInputs
    plan: AnalysisPlan
    ard: ArdView


def context(inputs: ReportInputs, plan: AnalysisPlan) -> ReportContext:
    return ReportContext(inputs, plan, ArdView(inputs["ard"]))


def para(text: str, css: str = "") -> Markup:
    """A paragraph of plain text (escaped)."""
    cls = f' class="{css}"' if css else ""
    return Markup(f"<p{cls}>{escape(text)}</p>")


def bullets(items: list[str], css: str = "") -> Markup:
    cls = f' class="{css}"' if css else ""
    return Markup(f"<ul{cls}>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")


def figure(svg: str, caption: str, figure_id: str) -> Markup:
    """An inline SVG with its caption."""
    return Markup(f'<figure id="{figure_id}">{svg}<figcaption>{escape(caption)}</figcaption></figure>')


def front_matter(ctx: ReportContext, kind: str, rendered_at: str) -> dict[str, Any]:
    """Title, study, data cut, confidentiality and provenance for the front page and every page's margins."""
    prov = ctx.inputs.provenance
    manifest = ctx.inputs.manifest
    ingest = manifest.get("steps", {}).get("ingest", {})
    inputs = dict(prov.get("input_sha256") or {k: v.get("sha256") for k, v in ingest.get("inputs", {}).items()})
    outputs = {
        name: entry.get("sha256", "")
        for name, entry in sorted(manifest.get("files", {}).items())
        if name.endswith(".parquet")
    }
    table_hash = str(prov.get("analysis_plan_sha256", ""))
    report_hash = ctx.plan.settings_hash()
    return {
        "kind": kind,
        "title": TITLES[kind],
        "study": STUDY,
        "sponsor": SPONSOR,
        "data_cut": ctx.inputs.data_cut,
        "confidentiality": CONFIDENTIALITY[kind],
        "export_files": sorted(inputs.items()),
        "output_files": list(outputs.items()),
        "code_version": str(prov.get("code_version", "unknown")),
        "packages": sorted((prov.get("package_versions") or {}).items()),
        "settings_hash": table_hash,
        "report_settings_hash": report_hash,
        "settings_match": table_hash == report_hash,
        "exported_at": str(ingest.get("exported_at") or "not recorded"),
        "timezone": str(ingest.get("timezone") or "not recorded"),
        "run_time": str(ingest.get("run_time") or "not recorded"),
        "rendered_at": rendered_at,
    }


def provenance_appendix(front: dict[str, Any]) -> Section:
    """The output tables' SHA-256s (manifest.json) and the package versions (the tables' provenance)."""
    import pandas as pd

    from analysis.report.tables import html_table

    section = Section("provenance", "Provenance", appendix=True)
    section.add(
        html_table(
            pd.DataFrame(front["output_files"], columns=["Output table", "SHA-256"]),
            "tbl-output-hashes",
            "Output tables read by this report",
            subtitle="from manifest.json",
            empty="manifest.json lists no table.",
        )
    )
    return section.add(
        html_table(
            pd.DataFrame(front["packages"], columns=["Package", "Version"]),
            "tbl-packages",
            "Package versions",
            subtitle="from the tables' provenance",
            empty="Not recorded.",
        )
    )
