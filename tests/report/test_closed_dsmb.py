"""The closed report as a DSMB statistician reads it: outcomes of AEs, ICANS assessment, informative tests,
labels, planned enrollment, participant flow."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from analysis.report.inputs import load_inputs
from analysis.report.render import render_html, render_pdf
from analysis.report.sections_efficacy import TICK_MONTHS, n_at_risk
from analysis.settings import AnalysisPlan, ReportSettings
from tests.report.conftest import RENDERED_AT, html_text


def closed_html(folder: Path) -> str:
    return html_text(folder / "report" / "dsmb_report.html")


def test_icans_rates_show_the_never_assessed_and_the_rates_among_the_assessed(typical: Path):
    # CRS-evaluable P1–P8; ICANS in P1, P3, P4, P8 (grade >= 3: P3, P4); P7 (low burden) never assessed.
    html = closed_html(typical)
    # among the 7 assessed: 4/7 and 2/7; low burden 0/3 with 1 not assessed, 0/2 among the assessed
    assert "Any ICANS All 4/8 50.0 % (15.7–84.3) 1 4/7 57.1 % (18.4–90.1)" in html
    assert "Any ICANS High burden 4/5 80.0 % (28.4–99.5) 0 4/5 80.0 % (28.4–99.5)" in html
    assert "Any ICANS Low burden 0/3 0.0 % (0.0–70.8) 1 0/2 0.0 % (0.0–84.2)" in html
    assert "ICANS grade ≥ 3 All 2/8" in html and "1 2/7 28.6 % (3.7–71.0)" in html


def test_a_test_against_a_100_percent_cohort_is_not_informative(typical: Path):
    # kadauke_pt_htb 15/15 is the fifth comparison: its one-sided p (0.0123 + 4/100) is not printed
    html = closed_html(typical)
    name = "Kadauke pre-emptive tocilizumab, high tumour burden (PT cohort) · any CRS"
    row = html[html.index(f"{name} 5/5") :]
    row = row[: row.index("0.876")]
    assert "not informative †" in row
    assert "0.052" not in row
    assert f"† {name}: not informative: the historical rate is 100 % (15/15); taken as fixed" in html
    # the others keep their p-value: eliana_2018 grade >= 3 (primary, k = 0) 0.012
    assert "0.012" in html[html.index("★ ELIANA (primary report) · CRS grade ≥ 3 4/8") :]


def test_cohorts_are_named_as_the_reference_names_them(typical: Path):
    html = closed_html(typical)
    body = html[html.index("Summary for the DSMB") :]
    assert "Primary comparison against ELIANA (primary report) (trial" in body
    assert "CIBMTR real-world (ALL) · CRS grade ≥ 3 3/8 (37.5 %) 41/255 (16.1 %)" in body
    for cohort_id in ("eliana_2018 ·", "cibmtr_pasquini_2020 ·", "kadauke_pt_htb ·", "against eliana_2018"):
        assert cohort_id not in body


def test_the_enrollment_target_is_the_planned_enrollment_not_the_last_look(typical: Path):
    plan = AnalysisPlan(report=ReportSettings(planned_enrollment=60))
    assert plan.stopping.max_evaluated == 40
    html = render_html(load_inputs(typical), plan, "open", RENDERED_AT)
    figure = re.search(r'<figure id="fig-enrollment">(.*?)</figure>', html, flags=re.S).group(1)
    assert "target 60" in figure and "target 40" not in figure
    assert "against a planned 60 (analysis-plan setting report.planned_enrollment)" in html


def page_size_points(pdf: bytes | Path) -> tuple[float, float]:
    reader = PdfReader(pdf if isinstance(pdf, Path) else io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    return round(float(box.width), 1), round(float(box.height), 1)


def test_us_letter_by_default_and_a4_as_a_setting(typical: Path):
    # US Letter 8.5 x 11 in = 612 x 792 pt; A4 210 x 297 mm = 595.3 x 841.9 pt
    assert page_size_points(typical / "report" / "dsmb_report.pdf") == (612.0, 792.0)
    a4 = AnalysisPlan(report=ReportSettings(paper_size="a4"))
    assert page_size_points(render_pdf(render_html(load_inputs(typical), a4, "open", RENDERED_AT))) == (
        pytest.approx(595.3, abs=0.1),
        pytest.approx(841.9, abs=0.1),
    )


def test_the_flow_diagram_prints_the_analyze_steps_counts(typical: Path):
    # TYPICAL: 12 enrolled, 10 infused (P11 awaits infusion, P12 withdrew before it), 8 CRS-evaluable
    # (P9, P10 in the window), all 8 efficacy-evaluable; among them P3 and P6 died, none completed 12 months
    html = (typical / "report" / "dsmb_report.html").read_text(encoding="utf-8")
    figure = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", html[html.index('id="fig-consort"') :]))
    for text in (
        "n = 12",
        "Not infused: 2",
        "died 0; withdrew 1",
        "awaiting infusion 1",
        "n = 10",
        "Not yet CRS-evaluable: 2",
        "in the CRS window (&lt; 30 days) 2",
        "n = 8",
        "Not yet efficacy-evaluable: 0",
        "before day 42 0",
        "Efficacy-evaluable (≥ 42 days or died) n = 8",
        "Not at 12 months: 8",
        "died 2; withdrew 0",
        "in follow-up at the cut 6",
        "n = 0",
    ):
        assert text in figure, text


def site_historical_rows() -> pd.DataFrame:
    """The ARD rows of a run with the site's historical cohort (values made up, each distinct)."""
    rows = []

    def add(analysis, group, variable, stat, value, method=""):
        rows.append((analysis, group, variable, stat, method, float(value), ""))

    for variable, odds in (
        ("cohort_trial", 0.5171),
        ("log2_marrow_blasts", 1.55),
        ("age_years", 0.98),
        ("prior_hsct", 0.83),
    ):
        for stat, value in (("or", odds), ("or_ci_low", odds / 2), ("or_ci_high", odds * 2), ("p_value", 0.19)):
            add("cohort_firth_logistic", "severe_crs", variable, stat, value, "firth_profile")
    for stat, value in (("n", 72), ("n_trial", 36), ("n_historical", 36), ("events", 25), ("events_trial", 10)):
        add("cohort_firth_logistic", "severe_crs", "model", stat, value)
    add("cohort_firth_logistic", "severe_crs", "model", "events_historical", 15)
    for stat, value in (
        ("or", 0.4874),
        ("or_ci_low", 0.1757),
        ("or_ci_high", 1.3519),
        ("or_p_value", 0.1674),
        ("trial_p", 0.2579),
        ("historical_p", 0.4162),
        ("rd", -0.1583),
        ("rd_ci_low", -0.3787),
        ("rd_ci_high", 0.0620),
        ("rd_p_value", 0.1591),
    ):
        add("cohort_iptw", "severe_crs", "cohort_trial", stat, value, "iptw_ate_robust")
    for stat, value in (("ess_trial", 32.5), ("ess_historical", 33.9), ("weight_min", 0.62), ("weight_max", 2.43)):
        add("cohort_iptw", "severe_crs", "weights", stat, value, "iptw_ate_robust")
    for method, smd in (("unweighted", 0.375), ("iptw_ate", -0.016)):
        add("cohort_smd", "trial_vs_historical", "log2_marrow_blasts", "smd", smd, method)
        add("cohort_smd", "trial_vs_historical", "log2_marrow_blasts", "mean_trial", 5.9, method)
        add("cohort_smd", "trial_vs_historical", "log2_marrow_blasts", "mean_historical", 5.61, method)
    for endpoint in ("OS", "EFS"):
        for cohort, surv in (("trial", 0.94), ("historical", 0.886)):
            add("cohort_km", f"{endpoint}_{cohort}", "month_12", "surv", surv)
            add("cohort_km", f"{endpoint}_{cohort}", "month_12", "ci_low", surv - 0.1)
            add("cohort_km", f"{endpoint}_{cohort}", "month_12", "ci_high", surv + 0.05)
            add("cohort_logrank", endpoint, cohort, "observed", 2 if cohort == "trial" else 4, "logrank")
            add("cohort_logrank", endpoint, cohort, "n", 36, "logrank")
        for stat, value in (("hr", 0.5589), ("hr_ci_low", 0.1022), ("hr_ci_high", 3.0584), ("p_value", 0.5023)):
            add("cohort_cox", endpoint, "cohort_trial", stat, value, "efron_wald")
        add("cohort_logrank", endpoint, "cohort", "chisq", 0.4627, "logrank")
        add("cohort_logrank", endpoint, "cohort", "p_value", 0.4964, "logrank")
    return pd.DataFrame(
        rows, columns=["analysis", "group", "variable", "stat_name", "method", "stat_value", "stat_label"]
    )


def test_the_site_historical_cohort_has_its_section_with_the_bootstrap(typical: Path):
    inputs = load_inputs(typical)
    assert "Trial against the site" not in closed_html(typical)  # no historical export: no section
    ard = pd.concat([inputs["ard"], site_historical_rows()], ignore_index=True)
    bootstrap = pd.DataFrame(
        {
            "statistic": ["trial_p", "historical_p", "rd"],
            "estimate": [0.2579, 0.4162, -0.1583],
            "boot_se": [0.07, 0.08, 0.1123],
            "boot_ci_low": [0.13, 0.26, -0.3712],
            "boot_ci_high": [0.40, 0.57, 0.0555],
            "replicates": [2000] * 3,
            "failed": [3] * 3,
            "seed": [20261125] * 3,
        }
    )
    with_site = replace(inputs, tables={**inputs.tables, "ard": ard}, iptw_bootstrap=bootstrap)
    text = html_text_of(render_html(with_site, AnalysisPlan(), "closed", RENDERED_AT))
    section = text[text.index("Trial against the site") :]
    assert "Firth logistic regression: Trial vs historical OR 0.52 (0.26–1.03) 0.190" in section
    assert "IPTW (stabilized ATE weights): odds ratio, trial vs historical OR 0.49 (0.18–1.35) 0.167" in section
    assert "IPTW: weighted severe-CRS risk, trial / historical 25.8 % / 41.6 %" in section
    assert "IPTW: risk difference, trial − historical (sandwich CI) -15.8 points (-37.9–6.2) 0.159" in section
    assert "IPTW: risk difference, bootstrap percentile CI -15.8 points (-37.1–5.5)" in section
    assert "2000 replicates resampled within each cohort (3 failed), seed 20261125; bootstrap SE 11.2 points" in section
    assert "log2 marrow blasts (per doubling) 5.90 5.61 0.375 -0.016" in section
    assert "Overall survival trial" in section and "94.0 % (84.0–99.0)" in section and "2/36" in section
    assert "0.56 (0.10–3.06), p 0.502 0.46, p 0.496" in section


def html_text_of(html: str) -> str:
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def test_numbers_at_risk_at_every_tick_as_r_summary_survfit():
    # R: fit <- survfit(Surv(c(2.5, 2.5, 4, 4, 4, 4, 4, 9.5, 9.5, 9.5), rep(1, 10)) ~ 1)
    #    summary(fit, times = c(0, 3, 6, 9, 12), extend = TRUE)$n.risk = 10 8 3 3 0
    steps = pd.DataFrame({"time_months": [0.0, 2.5, 4.0, 9.5], "n_risk": [10, 10, 8, 3]})
    assert [n_at_risk(steps, month) for month in TICK_MONTHS] == [10, 8, 3, 3, 0]


def test_km_figure_marks_censoring_and_explains_rfs(typical: Path):
    html = (typical / "report" / "dsmb_report.html").read_text(encoding="utf-8")
    block = html[html.index('id="fig-km"') :]
    block = block[: block.index("</figure>")]
    assert "| a censored participant; numbers at risk under every tick" in html_text_of(block)
    assert "no responder can be followed 12 months from remission" in closed_html(typical)


def test_notes_on_comparisons_not_made_name_the_cohorts():
    """comparison_notes.json speaks in ids; the appendix shows the reference's names and the endpoints in words."""
    from analysis.report.sections_comparison import readable_note

    names = {"eliana_2018": "ELIANA (primary report)", "kadauke_pt_hlb": "Kadauke pre-emptive tocilizumab, low burden"}
    assert (
        readable_note("eliana_2018 × icans_any: not compared — neurotoxicity not graded as ASTCT ICANS.", names)
        == "ELIANA (primary report) · any ICANS: not compared — neurotoxicity not graded as ASTCT ICANS."
    )
    assert (
        readable_note("MAP prior crs_any__penn: kadauke_pt_hlb left out — shares patients with eliana_2018.", names)
        == "MAP prior for any CRS, Penn (trial: Penn approximation): Kadauke pre-emptive tocilizumab, low burden "
        "left out — shares patients with ELIANA (primary report)."
    )
    # an id no table names, and a reason's reference field name, stay as written
    assert readable_note("x_2020 × crs_any: not compared — crs_any_n is null.", names) == (
        "x_2020 × crs_any: not compared — crs_any_n is null."
    )
