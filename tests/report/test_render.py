"""The rendered reports: sections, page furniture, provenance, numbers from the ARD, what the open report leaves out."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import fmt
from analysis.report.inputs import ReportInputError, load_inputs
from analysis.report.render import render_html
from analysis.settings import AnalysisPlan, StoppingRules
from analysis.store import file_sha256
from tests.report.builders import AE_FREE_TEXT, FREE_TEXT, PREFIX, TYPICAL, cut_date_for
from tests.report.conftest import RENDERED_AT, html_text, normalize, pdf_pages

CUT = cut_date_for(TYPICAL).isoformat()
OPEN_SECTIONS = [
    "Enrollment",
    "Disposition",
    "Baseline characteristics",
    "Data completeness and timeliness",
    "Provenance",
]
CLOSED_SECTIONS = [
    "Summary for the DSMB",
    *OPEN_SECTIONS[:-1],
    "Cytokine release syndrome",
    "Anakinra: timing, escalation, deviations",
    "ICANS",
    "Adverse events",
    "Comparison with historical cohorts",
    "Historical evidence as robust MAP priors",
    "Efficacy",
    "Safety stopping rules",
    "Listings",
    "Operating characteristics of the stopping rules",
    "Historical comparisons not made",
    "Analysis-plan settings in force",
    "Provenance",
]


def report(folder: Path, kind: str, ext: str) -> Path:
    return folder / "report" / f"{'dsmb_open_report' if kind == 'open' else 'dsmb_report'}.{ext}"


def ard(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "ard.parquet")


def ard_value(frame: pd.DataFrame, analysis: str, group: str, variable: str, stat: str, method: str = "") -> float:
    row = frame[
        (frame["analysis"] == analysis)
        & (frame["group"] == group)
        & (frame["variable"] == variable)
        & (frame["stat_name"] == stat)
        & (frame["method"] == method)
    ]
    assert len(row) == 1, (analysis, group, variable, stat, method)
    return float(row["stat_value"].iloc[0])


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_every_page_carries_study_cut_page_number_and_confidentiality(typical: Path, kind: str):
    pages = pdf_pages(report(typical, kind, "pdf"))
    assert len(pages) > 3
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text
        assert f"Data cut {CUT}" in text
        assert "PACER" in text and "NCT06703216" in text
        assert "CONFIDENTIAL" in text


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_front_page_provenance(typical: Path, kind: str):
    first = pdf_pages(report(typical, kind, "pdf"))[0]
    provenance = json.loads(json.dumps(load_inputs(typical).provenance))
    assert "a" * 64 in first and "b" * 64 in first  # export file SHA-256s
    assert provenance["code_version"] in first
    assert provenance["analysis_plan_sha256"] in first
    assert RENDERED_AT in first


def test_closed_report_has_every_section_in_order(typical: Path):
    pages = pdf_pages(report(typical, "closed", "pdf"))
    starts = []
    for number, title in enumerate(CLOSED_SECTIONS, start=1):
        label = f"{number}." if number <= 14 else f"Appendix {chr(ord('A') + number - 15)}."
        found = [i for i, page in enumerate(pages[1:], start=1) if f"{label} {title}" in page]
        assert found, f"{label} {title}"
        starts.append(found[0])
    assert starts == sorted(starts)
    assert all(f"{n}." in pages[0] for n in range(1, 15))  # the contents


def test_open_report_sections_only(typical: Path):
    text = " ".join(pdf_pages(report(typical, "open", "pdf")))
    for title in OPEN_SECTIONS:
        assert title in text
    for title in (
        "Cytokine release syndrome",
        "Safety stopping rules",
        "Comparison with historical cohorts",
        "Efficacy",
        "Listings",
    ):
        assert not re.search(rf"\d+\. {title}", text), title


@pytest.mark.parametrize("ext", ["html", "pdf"])
def test_open_report_has_no_participant_rows_or_free_text(typical: Path, ext: str):
    path = report(typical, "open", ext)
    text = path.read_text(encoding="utf-8") if ext == "html" else " ".join(pdf_pages(path))
    assert PREFIX not in text  # no participant_id, hence no per-participant row
    assert "SECRETFREETEXT" not in text and "SECRETAETEXT" not in text
    assert "grade ≥ 4 CRS" not in text and "treatment-related death" not in text.lower()


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_no_calendar_date_of_a_participant(typical: Path, kind: str):
    manifest = json.loads((typical / "manifest.json").read_text())
    ingest = manifest["steps"]["ingest"]
    allowed = {CUT, ingest["exported_at"][:10], ingest["run_time"][:10], RENDERED_AT[:10]}
    for ext in ("html", "pdf"):
        path = report(typical, kind, ext)
        text = html_text(path) if ext == "html" else " ".join(pdf_pages(path))
        assert set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text)) <= allowed
        assert FREE_TEXT not in text and AE_FREE_TEXT not in text


def test_closed_report_lists_participants_by_study_id(typical: Path):
    text = " ".join(pdf_pages(report(typical, "closed", "pdf")))
    assert f"{PREFIX}003" in text and f"{PREFIX}004" in text


def test_tables_carry_the_ard_numbers(typical: Path):
    """Each number of the ARD in the PDF's text (cell by cell) and in the HTML's table rows (row by row)."""
    frame = ard(typical)
    pdf = " ".join(pdf_pages(report(typical, "closed", "pdf")))
    html = html_text(report(typical, "closed", "html"))
    # rates, by hand from the fixture: ASTCT grade >= 3 in 3 of 8 CRS-evaluable
    assert "37.5 % (8.5–75.5)" in pdf and "CRS grade ≥ 3 (ASTCT) 3/8 37.5 % (8.5–75.5)" in html
    assert "Grade ≥ 4 CRS — boundary not crossed: 2 grade ≥ 4 CRS in 8 evaluable; the boundary at 8 is 4." in pdf
    assert (
        "Treatment-related death — boundary not crossed: 1 treatment-related death in 8 evaluable; the boundary at 8 is 2."
        in pdf
    )
    # every CRS and ICANS rate of the ARD, as printed
    for (group, variable), _ in frame[frame["analysis"] == "crs_rate"].groupby(["group", "variable"]):
        v = lambda s: ard_value(frame, "crs_rate", group, variable, s)  # noqa: E731
        cell = normalize(f"{fmt.pct(v('p'))} ({fmt.ci(v('ci_low'), v('ci_high'))})")
        assert cell in pdf and f"{fmt.count(v('n'))}/{fmt.count(v('N'))} {cell}" in html, (group, variable)
    # Kaplan–Meier, cumulative incidence, follow-up, anakinra timing
    for param in ("OS", "EFS", "RFS"):
        cells = []
        for m in (3, 6, 12):
            v = lambda s: ard_value(frame, "km", param, f"month_{m}", s)  # noqa: E731
            cells.append(
                normalize(f"{fmt.pct(v('surv'))} ({fmt.ci(v('ci_low'), v('ci_high'))}) {fmt.count(v('n_risk'))}")
            )
            assert normalize(f"{fmt.pct(v('surv'))} ({fmt.ci(v('ci_low'), v('ci_high'))})") in pdf
        assert f"{param} {' '.join(cells)}" in html
    assert normalize(f"{fmt.pct(ard_value(frame, 'cif', 'CIR', 'month_6', 'cif'))}") in pdf
    assert (
        f"Median follow-up (reverse Kaplan–Meier on OS): {fmt.number(ard_value(frame, 'follow_up', 'all', 'months', 'median'))} months"
        in pdf
    )
    v = lambda s: ard_value(frame, "fever_to_anakinra", "all", "hours", s)  # noqa: E731
    assert (
        f"First fever → first dose (h) {fmt.count(v('n'))} {fmt.number(v('median'))} {fmt.number(v('q1'))}–"
        f"{fmt.number(v('q3'))} {fmt.number(v('min'))}–{fmt.number(v('max'))}"
    ) in html
    # the primary comparison: counts, one-sided exact p (descriptive), role
    p = ard_value(frame, "historical_comparison", "eliana_2018", "crs_grade3plus", "p_value", "binom_exact_1s")
    assert "★ ELIANA (primary report) · CRS grade ≥ 3 4/8 (50.0 %) 35/75 (46.7 %)" in html
    assert f"one-sided exact p = {fmt.p_value(p)}" in pdf
    rr = ard_value(frame, "historical_comparison", "eliana_2018", "crs_grade3plus", "rr", "katz_log")
    assert fmt.number(rr, 2) in pdf


def test_comparison_section_states_bias_overlap_primary_and_interim(typical: Path):
    text = " ".join(pdf_pages(report(typical, "closed", "pdf")))
    assert "can only under-grade grades 3–4" in text and "favours PACER by construction" in text
    assert "overlaps ELIANA: not independent" in text
    assert "At this interim look every p-value is descriptive" in text
    assert "two readings ≥ 38.5 °C within 24 h (CHOP)" in text
    assert (
        "Pediatric Real-World CAR Consortium (disease-burden report) · CRS grade ≥ 3: not compared — confirmed: false"
        in text
    )
    assert "prwcc_schultz_2022" not in text


def svg_texts(html: str, figure_id: str) -> list[str]:
    block = re.search(rf'<figure id="{figure_id}">(.*?)</figure>', html, flags=re.S)
    assert block, figure_id
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", block.group(1))]


def test_figures_carry_the_ard_numbers(typical: Path):
    html = report(typical, "closed", "html").read_text(encoding="utf-8")
    frame = ard(typical)
    texts = svg_texts(html, "fig-km")
    at_risk = [fmt.count(ard_value(frame, "km", "OS", f"month_{m}", "n_risk")) for m in (3, 6, 12)]
    curve = pd.read_parquet(typical / "km_curves.parquet").query("parameter == 'OS'")
    # month 9 read off the step function: n_risk of the first step at or after 9 months, 0 past the last
    later = curve.loc[curve["time_months"] >= 9, "n_risk"]
    at_9 = str(int(later.iloc[0])) if len(later) else "0"
    expected = ["OS", "10", *at_risk[:2], at_9, at_risk[2]]
    assert any(texts[i : i + len(expected)] == expected for i in range(len(texts))), texts
    forest = svg_texts(html, "fig-forest")
    assert "35/75 · overlaps ELIANA" in forest and "★ ELIANA (primary report)" in forest
    assert "trial: 2 in 8 at the cut" in svg_texts(html, "fig-boundary-crs-grade4plus")
    assert "trial: 1 in 8 at the cut" in svg_texts(html, "fig-boundary-treatment-related-death")
    consort = " ".join(svg_texts(html, "fig-consort"))
    assert "n = 12" in consort and "n = 10" in consort


def test_html_is_self_contained(typical: Path):
    for kind in ("open", "closed"):
        html = report(typical, kind, "html").read_text(encoding="utf-8")
        assert "<script" not in html and "<link" not in html and "@import" not in html
        assert not re.search(r"\bsrc\s*=", html)
        # links within the page, and the images a figure's data layer is drawn as (the CSP's img-src data:)
        assert all(h.startswith(("#", "data:image/png;base64,")) for h in re.findall(r'href="([^"]*)"', html))
        assert all(u.startswith(("#", "data:")) for u in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html))
        outside = [u for u in re.findall(r"https?://[^\s\"'<>)]+", html) if not u.startswith("http://www.w3.org/")]
        assert outside == []
        assert "Content-Security-Policy" in html


def test_report_files_are_recorded_in_the_manifest(typical: Path):
    manifest = json.loads((typical / "manifest.json").read_text())
    for name in ("dsmb_open_report.html", "dsmb_open_report.pdf", "dsmb_report.html", "dsmb_report.pdf"):
        entry = manifest["files"][f"report/{name}"]
        assert entry["sha256"] == file_sha256(typical / "report" / name)
    assert manifest["steps"]["report"]["rendered_at"] == RENDERED_AT


def test_unchanged_inputs_reuse_the_reports(typical: Path):
    from pipelines.report import run_report

    before = (typical / "report" / "dsmb_report.pdf").stat().st_mtime_ns
    outcome = run_report(typical, AnalysisPlan(), "2030-01-01T00:00:00+00:00")
    assert outcome.reused and outcome.step == "report"
    assert (typical / "report" / "dsmb_report.pdf").stat().st_mtime_ns == before


def test_pdf_metadata_is_fixed(typical: Path):
    from pypdf import PdfReader

    meta = PdfReader(report(typical, "closed", "pdf")).metadata
    assert meta["/CreationDate"] == meta["/ModDate"] == f"D:{CUT.replace('-', '')}000000Z"
    assert "closed session" in meta["/Title"]


def test_a_crossed_boundary_is_flagged(typical: Path):
    # the report reads the status the analyze step wrote: 5 events at n = 8 (boundary 4) is crossed
    inputs = load_inputs(typical)
    frame = inputs["ard"].copy()
    status = (
        (frame["analysis"] == "stopping_status") & (frame["group"] == "crs_grade4plus") & (frame["variable"] == "cut")
    )
    frame.loc[status & (frame["stat_name"] == "events"), "stat_value"] = 5.0
    frame.loc[status & (frame["stat_name"] == "crossed"), "stat_value"] = 1.0
    changed = replace(inputs, tables={**inputs.tables, "ard": frame})
    text = html_text_of(render_html(changed, AnalysisPlan(), "closed", RENDERED_AT))
    assert (
        "BOUNDARY CROSSED: 5 grade ≥ 4 CRS in 8 evaluable; the boundary at 8 is 4 — the DSMB is asked to consider pausing enrollment"
        in text
    )


def test_other_settings_are_declared_and_used(typical: Path):
    plan = AnalysisPlan(stopping=StoppingRules(posterior_threshold=0.8))
    html = render_html(load_inputs(typical), plan, "closed", RENDERED_AT)
    text = html_text_of(html)
    assert "differ from the settings the tables were derived with" in text
    # the rule stated is the one the analyze step computed the ARD with, not the render-time setting
    assert "stop when P(true rate > 25 % | data) ≥ 0.9, from 5 evaluated on" not in text
    assert "Grade ≥ 4 CRS: with a Beta(1, 1) prior, stop when P(true rate > 25 % | data) ≥ 0.9;" in text
    assert "≥ 0.8" not in text


def test_missing_table_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ReportInputError, match="ard.parquet"):
        load_inputs(tmp_path)


def test_the_analyze_steps_tables_are_required(typical: Path, tmp_path: Path):
    """The report reads the comparison plan, the published figures, the curves and the notes; it never makes them."""
    for name in ("comparison_plan.parquet", "km_curves.parquet", "comparison_notes.json"):
        folder = tmp_path / name
        folder.mkdir()
        for source in typical.iterdir():
            if source.is_file() and source.name != name:
                (folder / source.name).write_bytes(source.read_bytes())
        with pytest.raises(ReportInputError, match=re.escape(f"missing {name}")):
            load_inputs(folder)


def test_published_figures_are_read_from_published_outcomes(typical: Path):
    """Beside the trial's best response: the builder's published figures, in the reference's cohort order, as published."""
    html = html_text(report(typical, "closed", "html"))
    assert (
        "ELIANA (primary report): 81 % (71–89), CR/CRi within 3 months; CIBMTR real-world update (ALL): 86 %, "
        "best response CR/CRi" in html
    )
    marks = svg_texts(report(typical, "closed", "html").read_text(encoding="utf-8"), "fig-km")
    assert "OS at 12 months, ELIANA (primary report)" in marks
    assert "OS at 12 months, CIBMTR real-world update (ALL)" in marks
    assert "EFS at 12 months, ELIANA (primary report)" in marks


def test_a_comparison_without_its_plan_is_a_clear_error(typical: Path):
    inputs = load_inputs(typical)
    plan = inputs["comparison_plan"]
    without = plan[~((plan["cohort_id"] == "kadauke_pt_htb") & (plan["endpoint"] == "crs_any"))]
    changed = replace(inputs, tables={**inputs.tables, "comparison_plan": without})
    with pytest.raises(ReportInputError, match="kadauke_pt_htb × crs_any"):
        render_html(changed, AnalysisPlan(), "closed", RENDERED_AT)


def html_text_of(html: str) -> str:
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return normalize(re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
