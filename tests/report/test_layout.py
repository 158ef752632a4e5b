"""How the report pages: table heads that repeat, short tables kept whole, tokens never split, figures in
blocks of bounded size, a progress line per section."""

from __future__ import annotations

import base64
import gc
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import figures
from analysis.report.column_widths import column_shares, text_width
from analysis.report.inputs import load_inputs
from analysis.report.render import _no_garbage_collection, figures_as_images, render_html, report_sections
from analysis.report.sections import context
from analysis.report.tables import KEEP_TOGETHER_ROWS, html_table
from analysis.settings import AnalysisPlan
from tests.report.conftest import RENDERED_AT, pdf_pages
from tests.report.test_render import report


def test_a_table_repeats_its_head_and_keeps_tokens_whole():
    frame = pd.DataFrame(
        {
            "Endpoint": ["Any CRS", "CRS grade ≥ 3"],
            "n/N": ["29/36", "10/36"],
            "% (95 % CI)": ["80.6\u00a0% (64.0–91.8)", "27.8\u00a0% (14.2–45.2)"],
        }
    )
    html = html_table(frame, "tbl-x", "Rates", subtitle="exact CI", notes=["a note"], widths={"Endpoint": 30})
    head = html[html.index("<thead>") : html.index("</thead>")]
    # the title, the subtitle and the column labels are the head, which the PDF repeats on every page
    assert "Rates<span class='sub'>exact CI</span>" in head and "<th>Endpoint</th>" in head
    # the columns' widths are given (the PDF's fixed table layout): the endpoint its 30 %, the numbers the rest
    assert html.count("<col ") == 3 and "<table class='fixed'><colgroup><col style='width: 30.0%'>" in html
    # numbers right-aligned, each interval kept on one line, the text column left as it is
    assert "<td class='r'>29/36</td>" in html and "<td>Any CRS</td>" in html
    assert "<td class='r'>80.6\u00a0% <span class=\"nw\">(64.0–91.8)</span></td>" in html
    # a short table is kept whole with its title; the note comes once, after the table
    assert html.startswith("<div class='rt keep' id='tbl-x'>")
    assert html.index("a note") > html.index("</table>")


def test_only_a_short_table_is_kept_whole_and_only_a_long_token_may_break():
    rows = pd.DataFrame({"Participant": [f"PACER-{k:03d}" for k in range(KEEP_TOGETHER_ROWS + 1)], "Note": "ok"})
    assert html_table(rows.iloc[:KEEP_TOGETHER_ROWS], "tbl-a").startswith("<div class='rt keep'")
    assert html_table(rows, "tbl-b").startswith("<div class='rt' ")
    hashes = html_table(pd.DataFrame({"File": ["adsl.parquet"], "SHA-256": ["ab" * 32]}), "tbl-c")
    assert f"<td class='any'>{'ab' * 32}</td>" in hashes and "<td>adsl.parquet</td>" in hashes
    many = html_table(pd.DataFrame({f"c{k}": ["1"] for k in range(7)}), "tbl-d")
    assert many.startswith("<div class='rt keep wide'")


def test_spanners_cover_their_columns():
    frame = pd.DataFrame({"Endpoint": ["a"], "all_n": ["1/2"], "all_p": ["50.0 %"], "na": ["0"]})
    html = html_table(frame, "tbl-s", spanners={"All": ["all_n", "all_p"]})
    assert "<tr class='spanners'><th></th><th colspan='2' class='span'>All</th><th></th></tr>" in html


def test_swimmer_blocks_are_bounded_at_any_size():
    ids = [f"P{k:04d}" for k in range(3000, 0, -1)]
    blocks = figures.swimmer_blocks(ids)
    assert len(blocks) == 120 and {len(b) for b in blocks} == {figures.SWIMMER_ROWS}
    assert blocks[0][:2] == ["P0001", "P0002"] and blocks[-1][-1] == "P3000"
    assert [len(b) for b in figures.swimmer_blocks(ids[:60])] == [25, 25, 10]
    assert figures.swimmer_blocks([]) == []


def test_swimmer_draws_its_marks_as_one_image_and_its_labels_as_text():
    ids = [f"PACER-{k:03d}" for k in range(1, 26)]
    timeline = pd.DataFrame({"participant_id": ids, "start_hours": 24.0, "end_hours": 72.0, "crs_grade": 2})
    doses = pd.DataFrame({"participant_id": ids, "day": 1.5, "drug_class": "anakinra"})
    svg = figures.swimmer(timeline, doses, dict.fromkeys(ids, 30.0), name="swimmer-test")
    # two image layers (the bars; the dose markers above the axes' spines), not a shape per bar or marker
    assert svg.count("<image") == 2 and svg.count("data:image/png;base64,") == 2
    assert svg.count('id="swimmer-test-patch_') < 15
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "PACER-001" in [t.strip() for t in texts] and "PACER-025" in [t.strip() for t in texts]


def test_ten_participants_are_one_swimmer_figure(typical: Path):
    """The typical folder has ten infused participants: one block, the plain caption."""
    html = report(typical, "closed", "html").read_text(encoding="utf-8")
    assert html.count('<figure id="fig-swimmer') == 1 and "participants 1–" not in html


def test_each_section_says_when_it_is_built(typical: Path):
    lines: list[str] = []
    sections = report_sections(context(load_inputs(typical), AnalysisPlan()), progress=lines.append)
    opened, closed = sections["open"], sections["closed"]
    # built in this order: the open sections, the summary, the closed report's own sections
    built = [*opened, closed[0], *closed[1 + len(opened) :]]
    assert len(built) == len(closed) and closed[0].title == "Summary for the DSMB"
    assert [line.split(" (")[0] for line in lines] == [f"report   section {s.title}" for s in built]
    assert all(re.fullmatch(r"report   section .+ \(\d+\.\d s\)", line) for line in lines)
    # the closed report holds the open report's very sections (built once)
    assert all(any(s is c for c in sections["closed"]) for s in sections["open"])


def test_km_figure_has_bands_and_rfs_note_gives_the_latest_estimable(typical: Path):
    html = report(typical, "closed", "html").read_text(encoding="utf-8")
    block = html[html.index('<figure id="fig-km">') :]
    block = block[: block.index("</figure>")]
    assert "OS 95 % CI" in block and "EFS 95 % CI" in block
    text = " ".join(pdf_pages(report(typical, "closed", "pdf")))
    # the builder's RFS curve ends at 6 months: 77.2 %, limits 57.2–82.2 (the ARD's: estimate − 0.2, + 0.05)
    assert "The latest RFS estimable is at the longest follow-up from remission, 6.0 months: 77.2 % (57.2–82.2)" in text


def test_a_figure_keeps_only_the_ids_it_refers_to_and_no_bare_group():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><clipPath id="p1"><rect/></clipPath>'
        '<path id="m1" d="M 0 0"/></defs><g id="figure_1"><g id="patch_1"><path d="M 1 1"/></g>'
        '<g id="line2d_1" clip-path="url(#p1)"><use xlink:href="#m1" x="1"/></g>'
        '<g id="text_1"><text x="0">id="label" &lt;g&gt;</text></g></g></svg>'
    )
    lean = figures.without_bare_groups(figures.without_unused_ids(svg))
    assert lean == (
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><clipPath id="p1"><rect/></clipPath>'
        '<path id="m1" d="M 0 0"/></defs><path d="M 1 1"/>'
        '<g clip-path="url(#p1)"><use xlink:href="#m1" x="1"/></g>'
        '<text x="0">id="label" &lt;g&gt;</text></svg>'
    )


def test_a_drawn_figure_has_no_unused_id_and_no_bare_group():
    by_month = pd.DataFrame({"month": ["2026-01", "2026-02"], "enrolled": [3, 4], "cumulative": [3, 7]})
    svg = figures.enrollment(by_month, 40)
    ids = re.findall(r'\sid="([^"]+)"', svg)
    referenced = set(re.findall(r"url\(#([^)]+)\)", svg)) | set(re.findall(r'href="#([^"]+)"', svg))
    assert ids and set(ids) <= referenced and all(i.startswith("enrollment-") for i in ids)
    assert "<g>" not in svg and "target 40" in svg


def test_the_pdf_gets_each_inline_figure_as_an_image_of_the_same_svg():
    svg = '<svg role="img" aria-label="forest" xmlns="http://www.w3.org/2000/svg"><text>n = 3</text></svg>'
    html = f"<p>&lt;svg&gt; is text</p><figure>{svg}<figcaption>Forest</figcaption></figure>"
    images = figures_as_images(html)
    source = re.search(r'<img alt="forest" src="data:image/svg\+xml;base64,([^"]+)">', images)
    assert source is not None and base64.b64decode(source.group(1)).decode("utf-8") == svg
    assert images.replace(source.group(0), svg) == html


def test_the_forked_render_gives_the_html_of_a_render_in_one_process(typical: Path):
    """The copy builds half of the closed report's sections: the file is byte for byte a sequential render's."""
    inputs = load_inputs(typical)
    for kind in ("open", "closed"):
        assert report(typical, kind, "html").read_text(encoding="utf-8") == render_html(
            inputs, AnalysisPlan(), kind, RENDERED_AT
        )


def test_the_report_font_is_measured_as_the_pdf_lays_it_out():
    """The column widths rest on text widths: the PDF's own layout of a line gives the same width, to 0.05 pt."""
    from weasyprint import HTML

    texts = ["none reported", "80.6\u00a0% (64.0–91.8)", "PACER-001", "Trial n/N"]
    spans = "".join(f"<p><span style='white-space: nowrap'>{t}</span></p>" for t in texts)
    page = HTML(string=f"<body style='font: 8.5pt DejaVu Sans'>{spans}</body>").render().pages[0]
    widths = {id(b.element): b.width * 0.75 for b in page._page_box.descendants() if b.element_tag == "span"}
    laid_out = list(widths.values())
    assert [round(w, 2) for w in laid_out] == pytest.approx([text_width(t, 8.5) for t in texts], abs=0.05)


def test_column_widths_are_those_of_the_automatic_table_layout():
    """A table of text and numbers, with a set 30 % column and a spanner: the PDF's automatic layout (the same
    table without its column widths) gives each column the share worked out here, to 0.3 points of percent."""
    from weasyprint import HTML
    from weasyprint.formatting_structure.boxes import TableBox

    frame = pd.DataFrame(
        {
            "Comparison": ["ELIANA (primary report) · CRS grade ≥ 3", "CIBMTR real-world (ALL) · any CRS"],
            "Fever trigger": ["none reported", "tocilizumab at two readings ≥ 38.5 °C within 24 h (CHOP)"],
            "n/N": ["29/36", "10/36"],
            "% (95 % CI)": ["80.6\u00a0% (64.0–91.8)", "27.8\u00a0% (14.2–45.2)"],
            "Role": ["primary", "supportive"],
        }
    )
    table = html_table(
        frame, "tbl-w", "Widths", widths={"Comparison": 30}, spanners={"Trial, all": ["n/N", "% (95 % CI)"]}
    )
    given = [float(w) for w in re.findall(r"<col style='width: ([\d.]+)%'>", table)]
    bare = "<col>" * (len(given) - 1)
    automatic = re.sub(
        r"<table class='fixed'><colgroup>.*?</colgroup>", f"<table><col style='width: 30%'>{bare}", table
    )
    css = (Path(__file__).resolve().parents[2] / "analysis/report/templates/report.css").read_text(encoding="utf-8")
    page = HTML(string=f"<style>{css} @page {{ size: letter }}</style><body>{automatic}</body>").render().pages[0]
    box = next(b for b in page._page_box.descendants() if isinstance(b, TableBox))
    laid_out = [100 * w / sum(box.column_widths) for w in box.column_widths]
    assert given[0] == 30.0 and sum(given) <= 100
    assert given == pytest.approx(laid_out, abs=0.3)


def test_a_table_whose_words_cannot_fit_keeps_the_automatic_layout():
    words = pd.DataFrame({f"c{k}": ["Thrombocytopenia"] for k in range(12)})
    assert column_shares([60.0] * 12, [80.0] * 12) is None and column_shares([30.0] * 12, [80.0] * 12) is not None
    assert "<table><thead>" in html_table(words, "tbl-wide")


def test_no_garbage_collection_during_a_layout_and_the_collector_as_it_was_after():
    assert gc.isenabled()
    with _no_garbage_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _no_garbage_collection():
            pass
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
