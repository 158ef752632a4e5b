"""Grade 4 alone, like with like (outputs.md v3): the published CHOP comparison reproduced from an export.

Kadauke et al. (ASH 2020) compared grade 4 CRS (Penn) in high-burden patients given pre-emptive
tocilizumab, 4 of 15, with the CHOP historical cohort under standard CRS management, 13 of 26:
RR 0.53 (95 % CI 0.21–1.34), p = 0.18. Here a hand-written export bundle of 15 high-burden
participants, 4 of whom reach Penn grade 4 from their events (a ≥ 3 h high-dose norepinephrine run),
goes through ingest, derive and analyze in process, and the ARD's ``historical_comparison`` rows of
``kadauke_stdcrs_htb_historical`` × ``crs_grade4`` must equal R's values for 4/15 against 13/26
(tests/fixtures/r/reference.R: katz.csv, binom.csv, fisher.csv, newcombe.csv, bayes.csv, case
x = 4, n = 15, m = 13, M = 26) to 1e-6.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.settings import AnalysisPlan
from tests.export.bundle_builder import PARTICIPANT_HEADER, write_bundle

R = Path(__file__).resolve().parents[1] / "fixtures" / "r"
TOL = 1e-6
COHORT = "kadauke_stdcrs_htb_historical"
PENN_GRADE4 = 4
PARTICIPANTS = 15
INFUSION = "2026-01-10T10:00:00"


def participant(number: int) -> list[str]:
    """A high-burden participant (60 % marrow blasts), infused 2026-01-10, followed to the export (≥ 30 days)."""
    row = {
        "participant_id": f"P{number:02d}",
        "site_id": "S1",
        "age_years": "10",
        "sex": "F",
        "weight_kg": "32",
        "enrollment_date": "2026-01-02",
        "infusion_datetime": INFUSION,
        "marrow_blast_pct": "60",
        "prior_hsct": "false",
        "cns_status": "CNS1",
        "car_t_dose_per_kg": "2000000",
    }
    return [row[column] for column in PARTICIPANT_HEADER]


def events() -> list[list[str]]:
    """P01–P04: fever, then norepinephrine 0.3 mcg/kg/min for 4 h (a high-dose run ≥ 3 h: Penn grade 4,
    grading.md "CRS, Penn scale"); P05–P10: fever only (grade 1); P11–P15: no CRS."""
    rows = []
    for number in range(1, 11):
        pid = f"P{number:02d}"
        rows.append([pid, "2026-01-11T10:00:00", "", "temperature", "39.2", "C", ""])
        if number <= PENN_GRADE4:
            rows.append(
                [
                    pid,
                    "2026-01-11T12:00:00",
                    "2026-01-11T16:00:00",
                    "vasopressor",
                    "0.3",
                    "mcg/kg/min",
                    "norepinephrine",
                ]
            )
    return rows


@pytest.fixture(scope="module")
def ard(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    from pipelines.analyze import run_analyze
    from pipelines.derive import run_derive
    from pipelines.ingest import run_ingest

    root = tmp_path_factory.mktemp("grade4")
    export = write_bundle(
        root / "export", participants=[participant(n) for n in range(1, PARTICIPANTS + 1)], events=events()
    )
    out = root / "out"
    plan = AnalysisPlan()
    run_ingest(export, data_cut=None, out_dir=out, time_zone=None, plan=plan)
    run_derive(out, plan)
    crs = pd.read_parquet(out / "crs.parquet").set_index("participant_id")
    # the Penn grades come from the events: 4 at grade 4 (vasopressor: ASTCT 3), 6 at grade 1, 5 without CRS
    assert crs["crs_max_grade_penn"].value_counts().to_dict() == {4: 4, 1: 6, 0: 5}
    assert crs["crs_max_grade"].value_counts().to_dict() == {3: 4, 1: 6, 0: 5}
    run_analyze(out, plan)
    return pd.read_parquet(out / "ard.parquet")


def values(ard: pd.DataFrame, analysis: str, group: str, variable: str) -> pd.Series:
    rows = ard[(ard["analysis"] == analysis) & (ard["group"] == group) & (ard["variable"] == variable)]
    return rows.set_index(["stat_name", "method"])["stat_value"]


def r_case(file: str) -> pd.Series:
    frame = pd.read_csv(R / file)
    return frame[(frame["x"] == 4) & (frame["n"] == 15) & (frame["m"] == 13) & (frame["M"] == 26)].iloc[0]


def test_crs_rate_counts_grade_4_alone_on_both_scales(ard: pd.DataFrame) -> None:
    penn = values(ard, "crs_rate", "high_burden", "crs_penn_grade4")
    assert (penn[("n", "")], penn[("N", "")]) == (4, 15)
    astct = values(ard, "crs_rate", "high_burden", "crs_grade4")
    assert (astct[("n", "")], astct[("N", "")]) == (0, 15)  # a single vasopressor is ASTCT grade 3


def test_the_published_chop_comparison_from_an_export(ard: pd.DataFrame) -> None:
    got = values(ard, "historical_comparison", COHORT, "crs_grade4")
    assert (got[("trial_n", "descriptive")], got[("trial_N", "descriptive")]) == (4, 15)
    assert (got[("historical_n", "descriptive")], got[("historical_N", "descriptive")]) == (13, 26)
    katz = r_case("katz.csv")
    # as published: RR 0.53 (95 % CI 0.21–1.34), p 0.18
    assert round(got[("rr", "katz_log")], 2) == 0.53
    assert (round(got[("rr_ci_low", "katz_log")], 2), round(got[("rr_ci_high", "katz_log")], 2)) == (0.21, 1.34)
    assert round(got[("p_value", "katz_log")], 2) == 0.18
    # and R's values to 1e-6: RR 0.5333333, CI 0.2118968–1.3423723, p 0.1819535
    for stat in ("rr", "ci_low", "ci_high", "p_value"):
        name = {"ci_low": "rr_ci_low", "ci_high": "rr_ci_high"}.get(stat, stat)
        assert got[(name, "katz_log")] == pytest.approx(float(katz[stat]), abs=TOL)
    assert got[("p_value", "binom_exact_1s")] == pytest.approx(float(r_case("binom.csv")["p_value"]), abs=TOL)
    assert got[("p_value", "fisher_exact")] == pytest.approx(float(r_case("fisher.csv")["p_value"]), abs=TOL)
    newcombe = r_case("newcombe.csv")
    for stat in ("rd", "rd_ci_low", "rd_ci_high"):
        assert got[(stat, "newcombe_hybrid")] == pytest.approx(float(newcombe[stat.replace("rd_", "")]), abs=TOL)
    assert got[("prob_lower", "beta_binomial")] == pytest.approx(float(r_case("bayes.csv")["prob_lower"]), abs=TOL)


def test_labelled_grade_4_alone_and_grade_4_plus_unchanged(ard: pd.DataFrame) -> None:
    comparison = ard[
        (ard["analysis"] == "historical_comparison") & (ard["group"] == COHORT) & (ard["variable"] == "crs_grade4")
    ]
    trial_p = comparison.loc[comparison["stat_name"] == "trial_p", "stat_label"].iloc[0]
    assert trial_p.startswith("trial high_burden, crs_penn_grade4: proportion [grade 4 alone")
    # the cohort published no grade-5 count: grade ≥ 4 is still not compared
    grade4plus = ard[(ard["group"] == COHORT) & (ard["variable"] == "crs_grade4plus")]
    assert grade4plus.empty
