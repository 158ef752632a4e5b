"""Text a renderer would interpret is shown literally in the DSMB reports.

The bundle: the demo export with two extra events.csv columns whose names are hostile (HTML, a
matplotlib mathtext formula, a right-to-left override, a zero-width space; a 300-character token),
each with one over-long cell, so that the quarantine — and the report's count of quarantined rows
by column — names them. The participant ids of the swimmer plot cannot be hostile (ingest
quarantines anything but a plain token), so the plot's own escaping is checked by drawing it with
such ids directly.
"""

from __future__ import annotations

import csv
import shutil
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.report.escaping import visible_text
from analysis.settings import AnalysisPlan
from pipelines.paths import DEMO_EXPORT

HOSTILE = "<script>alert(1)</script>$\\frac{1}{0}$ \u202edrowssap\u200b&amp;"
LONG_TOKEN = "x" * 300


def hostile_bundle(folder: Path) -> Path:
    shutil.copytree(DEMO_EXPORT, folder)
    with (folder / "events.csv").open(encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    rows[0] += [HOSTILE, LONG_TOKEN]
    for row in rows[1:]:
        row += ["", ""]
    rows[1][-2] = "y" * 10_001
    rows[2][-1] = "y" * 10_001
    with (folder / "events.csv").open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    return folder


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from analysis.report.inputs import load_inputs
    from analysis.report.render import render_html
    from pipelines.analyze import run_analyze
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest

    root = tmp_path_factory.mktemp("hostile-report")
    out = root / "out"
    plan = AnalysisPlan()
    run_ingest(hostile_bundle(root / "bundle"), data_cut=None, out_dir=out, time_zone=None, plan=plan)
    run_derive(out, plan)
    run_analyze(out, plan)
    inputs = load_inputs(out)
    assert set(inputs.tables["quarantine"]["column"]) >= {HOSTILE.lower().replace(" ", "_"), LONG_TOKEN}
    return {kind: render_html(inputs, plan, kind, "2026-11-02T00:00:00+00:00") for kind in ("open", "closed")}


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_hostile_column_names_are_shown_literally_in_the_report(rendered: dict[str, str], kind: str) -> None:
    html = rendered[kind]
    shown = "&lt;script&gt;alert(1)&lt;/script&gt;$\\frac{1}{0}$_&lt;U+202E&gt;drowssap&lt;U+200B&gt;&amp;amp;"
    assert shown in html
    assert "<script>" not in html and "\u202e" not in html and "\u200b" not in html
    assert LONG_TOKEN in html
    # the column holding the 300-character token may break it anywhere (and only that column: a token of
    # real data, "29/36" or a participant id, is never split)
    cell = re.search(rf"<td class='any'>{LONG_TOKEN}</td>", html)
    assert cell is not None
    assert ".rt .any { overflow-wrap: anywhere; }" in html


def test_the_pdf_of_the_report_shows_the_hostile_text(rendered: dict[str, str], tmp_path: Path) -> None:
    from analysis.report.render import render_pdf

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    (tmp_path / "open.pdf").write_bytes(render_pdf(rendered["open"]))
    text = subprocess.run(
        ["pdftotext", "-raw", str(tmp_path / "open.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "<script>alert(1)</script>$\\frac{1}{0}$_<U+202E>drowssap<U+200B>&amp;" in flat
    assert LONG_TOKEN in flat


def test_figure_labels_with_mathtext_markup_and_invisible_characters_are_drawn_literally() -> None:
    from analysis.report.figures import swimmer

    ids = ["$\\frac{1}{0}$", "$\\undefined$", "<b>P1</b>", "P\u202e200", "P00\u200b2"]
    timeline = pd.DataFrame({"participant_id": ids, "start_hours": 0.0, "end_hours": 24.0, "crs_grade": 1})
    doses = pd.DataFrame({"participant_id": ids[:1], "day": [0.5], "drug_class": ["anakinra"]})
    svg = swimmer(timeline, doses, dict.fromkeys(ids, 30.0))
    assert "$\\frac{1}{0}$" in svg and "$\\undefined$" in svg  # as mathtext: a fraction, and a ParseFatalException
    assert "&lt;b&gt;P1&lt;/b&gt;" in svg
    assert "P&lt;U+202E&gt;200" in svg and "P00&lt;U+200B&gt;2" in svg
    assert "\u202e" not in svg and "\u200b" not in svg


def test_visible_text_shows_every_hidden_character_and_leaves_the_rest() -> None:
    assert visible_text("PACER-001 ≥ 38.0 °C – ok") == "PACER-001 ≥ 38.0 °C – ok"
    assert visible_text("a\u200bb\u200c\u200d\u2066c\u2069\ufeff") == "a<U+200B>b<U+200C><U+200D><U+2066>c<U+2069><U+FEFF>"
    assert visible_text("\u202bx\u202c\u200e\u200f\x07") == "<U+202B>x<U+202C><U+200E><U+200F><U+0007>"
    assert visible_text("two\tcells\nlines\u00a0nbsp") == "two\tcells\nlines\u00a0nbsp"
