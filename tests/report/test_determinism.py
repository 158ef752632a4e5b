"""Two renders of the same run are identical except the declared render time (fixed SVG salt, fixed PDF dates)."""

from __future__ import annotations

from pathlib import Path

from analysis.report.inputs import load_inputs
from analysis.report.render import render_html, render_pdf
from analysis.settings import AnalysisPlan
from tests.report.conftest import RENDERED_AT, normalize
from tests.report.test_render import report

LATER = "2027-08-09T10:11:12+00:00"


def test_rerender_is_byte_identical(typical: Path):
    inputs = load_inputs(typical)
    for kind in ("open", "closed"):
        html = render_html(inputs, AnalysisPlan(), kind, RENDERED_AT)
        assert html.encode("utf-8") == report(typical, kind, "html").read_bytes()
    open_html = render_html(inputs, AnalysisPlan(), "open", RENDERED_AT)
    assert render_pdf(open_html) == report(typical, "open", "pdf").read_bytes()


def test_renders_differ_only_in_the_render_time(typical: Path):
    import io

    from pypdf import PdfReader

    inputs = load_inputs(typical)
    first = report(typical, "closed", "html").read_text(encoding="utf-8")
    later = render_html(inputs, AnalysisPlan(), "closed", LATER)
    assert later != first
    assert later.replace(LATER, RENDERED_AT) == first
    pages_first = [normalize(p.extract_text()) for p in PdfReader(report(typical, "open", "pdf")).pages]
    pages_later = [
        normalize(p.extract_text())
        for p in PdfReader(io.BytesIO(render_pdf(render_html(inputs, AnalysisPlan(), "open", LATER)))).pages
    ]
    assert [p.replace(LATER, RENDERED_AT) for p in pages_later] == pages_first
