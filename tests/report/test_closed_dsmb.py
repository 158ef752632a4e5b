"""The closed report as a DSMB statistician reads it: outcomes of AEs, ICANS assessment, informative tests,
labels, planned enrollment, participant flow."""

from __future__ import annotations

from pathlib import Path

from tests.report.conftest import html_text


def closed_html(folder: Path) -> str:
    return html_text(folder / "report" / "dsmb_report.html")


def test_icans_rates_show_the_never_assessed_and_the_rates_among_the_assessed(typical: Path):
    # CRS-evaluable P1–P8; ICANS in P1, P3, P4, P8 (grade >= 3: P3, P4); P7 (low burden) never assessed.
    html = closed_html(typical)
    assert "Any ICANS 4/8 50.0 % (15.7–84.3) 1 4/5 80.0 % (28.4–99.5) 0 0/3 0.0 % (0.0–70.8) 1" in html
    # among the 7 assessed: 4/7 and 2/7; low burden 0/2
    assert "Any ICANS, among the assessed (sensitivity) 4/7 57.1 % (18.4–90.1) 4/5" in html
    assert "ICANS grade ≥ 3, among the assessed (sensitivity) 2/7 28.6 % (3.7–71.0)" in html
    assert "0/2 0.0 % (0.0–84.2)" in html


def test_a_test_against_a_100_percent_cohort_is_not_informative(typical: Path):
    # kadauke_pt_htb 15/15 is the fifth comparison: its one-sided p (0.0123 + 4/100) is not printed
    html = closed_html(typical)
    row = html[html.index("Kadauke pre-emptive tocilizumab, high tumour burden (PT cohort) · any CRS 5/5") :]
    row = row[: row.index("0.876")]
    assert "not informative: the historical rate is 100 % (15/15)" in row
    assert "0.052" not in row
    # the others keep their p-value: eliana_2018 grade >= 3 (primary, k = 0) 0.012
    assert "0.012" in html[html.index("★ ELIANA (primary report) · CRS grade ≥ 3 4/8") :]


def test_cohorts_are_named_as_the_reference_names_them(typical: Path):
    html = closed_html(typical)
    body = html[html.index("Summary for the DSMB") :]
    assert "Primary comparison against ELIANA (primary report) (trial" in body
    assert "CIBMTR real-world (ALL) · CRS grade ≥ 3 3/8 (37.5 %) 41/255 (16.1 %)" in body
    for cohort_id in ("eliana_2018 ·", "cibmtr_pasquini_2020 ·", "kadauke_pt_htb ·", "against eliana_2018"):
        assert cohort_id not in body
