"""Filling the templates: the open and the closed report as one self-contained HTML file each, and PDF.

The HTML carries its CSS inline and its figures as inline SVG; it makes no request (a
Content-Security-Policy forbids any). The PDF is WeasyPrint's rendering of the same HTML, with
fixed metadata dates (the data cut), so two renders of one run differ only in the declared
render time.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from analysis.report.inputs import ReportInputs
from analysis.report.sections import Section, context, front_matter, provenance_appendix
from analysis.report.sections_closed import closed_sections, summary_section
from analysis.report.sections_open import open_sections
from analysis.settings import AnalysisPlan
from analysis.store import output_file_mode

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("open", "closed")
FILE_NAMES = {"open": "dsmb_open_report", "closed": "dsmb_report"}
"""outputs.md: ``report/dsmb_open_report.{html,pdf}`` and ``report/dsmb_report.{html,pdf}`` (closed)."""


def _css_string(value: object) -> Markup:
    """A value safe inside a double-quoted CSS string of a ``<style>`` element (no HTML escaping there)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
    return Markup(text)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["css_string"] = _css_string
    return env


def numbered(sections: list[Section]) -> list[dict]:
    """Sections with their numbers: 1, 2, … then appendices A, B, …"""
    out, main, appendix = [], 0, 0
    for s in sections:
        if s.appendix:
            number = f"Appendix {chr(ord('A') + appendix)}."
            appendix += 1
        else:
            main += 1
            number = f"{main}."
        out.append({"id": s.id, "title": s.title, "blocks": s.blocks, "appendix": s.appendix, "number": number})
    return out


PAGE_SIZES = {"letter": "letter", "a4": "A4"}
"""CSS ``@page`` size of each ``report.paper_size`` setting."""


def render_html(inputs: ReportInputs, plan: AnalysisPlan, kind: str, rendered_at: str) -> str:
    """The ``kind`` ("open" or "closed") report as one self-contained HTML document.

    The open report holds aggregate sections only; the closed report adds the safety, comparison,
    efficacy and stopping-rule sections and the appendices.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    ctx = context(inputs, plan)
    front = front_matter(ctx, kind, rendered_at)
    sections = open_sections(ctx)
    if kind == "closed":
        sections = [summary_section(ctx), *sections, *closed_sections(ctx)]
    sections.append(provenance_appendix(front))
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    template = _environment().get_template("report.html")
    return template.render(
        front=front, sections=numbered(sections), css=css, paper_size=PAGE_SIZES[plan.report.paper_size]
    )


def render_pdf(html: str) -> bytes:
    """The PDF of a rendered HTML report (WeasyPrint; vector figures; metadata dates from the HTML head).

    WeasyPrint's warnings about CSS it does not use (SVG presentation attributes) are kept out of the
    run log; its errors still show.
    """
    from weasyprint import HTML

    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    finally:
        logger.setLevel(level)


def render_reports(inputs: ReportInputs, plan: AnalysisPlan, rendered_at: str) -> dict[str, bytes]:
    """Both reports in both formats: file name → bytes."""
    documents: dict[str, bytes] = {}
    for kind in KINDS:
        html = render_html(inputs, plan, kind, rendered_at)
        documents[f"{FILE_NAMES[kind]}.html"] = html.encode("utf-8")
        documents[f"{FILE_NAMES[kind]}.pdf"] = render_pdf(html)
    return documents


def write_documents(documents: dict[str, bytes], folder: Path) -> dict[str, Path]:
    """Write each document into ``folder`` atomically (beside its destination, then renamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, content in documents.items():
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, output_file_mode())
        os.replace(temporary, folder / name)
        written[name] = folder / name
    return written
