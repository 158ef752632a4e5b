"""A data cut with nobody infused yet, and one with every participant past 12 months."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.builders import NONE_INFUSED, cut_date_for
from tests.report.conftest import html_text, pdf_pages
from tests.report.test_render import report, svg_texts


@pytest.mark.parametrize("kind", ["open", "closed"])
def test_no_infused_participant_renders(none_infused: Path, kind: str):
    pages = pdf_pages(report(none_infused, kind, "pdf"))
    cut = cut_date_for(NONE_INFUSED).isoformat()
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text and f"Data cut {cut}" in text
    text = " ".join(pages)
    assert "2 participants enrolled by the data cut" in text
    consort = svg_texts(report(none_infused, kind, "html").read_text(encoding="utf-8"), "fig-consort")
    assert "Not infused: 2" in consort and "awaiting infusion 2" in consort
    if kind == "closed":
        assert "No participant is infused at this data cut" in text
        assert "not yet monitored: 0 grade ≥ 4 CRS in 0 evaluable; the rule applies from 5 evaluable" in text
        assert "0/0: not estimable" in text
        assert "No grade ≥ 3 CRS." in text and "No death." in text
        # the analyze step's notes (comparison_notes.json), as the builder writes them by default, with the
        # cohort's name from published_outcomes instead of its id
        assert "CIBMTR real-world update (ALL) · any CRS: not compared — unknown CRS grading scale" in text
        assert "cibmtr_john_2025" not in text


def test_every_participant_past_12_months_renders(all_12_months: Path):
    text = " ".join(pdf_pages(report(all_12_months, "closed", "pdf")))
    consort = svg_texts(report(all_12_months, "closed", "html").read_text(encoding="utf-8"), "fig-consort")
    assert "Completed 12 months" in consort and consort[consort.index("Completed 12 months") + 1] == "n = 3"
    assert "Not at 12 months: 1" in consort and "died 1; withdrew 0" in consort
    assert "in follow-up at the cut 0" in consort
    # OS at 12 months from the ARD (0.7321, CI 0.5321–0.7821, 1 at risk): estimable once follow-up reaches it
    assert "OS 91.1 % (71.1–96.1) 2 82.2 % (62.2–87.2) 1 73.2 % (53.2–78.2) 1" in text
    assert "OS at 12 months 73.2 %" in html_text(report(all_12_months, "closed", "html"))
