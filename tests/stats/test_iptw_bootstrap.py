"""The stratified bootstrap of the IPTW risk difference against R, and its block structure.

R: ``Rscript tests/fixtures/r/bootstrap.R`` refits ``glm`` on every replicate of
``tests/fixtures/r/bootstrap/resamples.csv`` (the rows PACER's seeded blocks draw, written by
``make_resamples.py``) and summarizes with ``sd`` and ``quantile(type = 7)``.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from r_output import assert_same_r_csv, run_r_script

from analysis.stats.chunking import split_blocks
from analysis.stats.iptw import iptw
from analysis.stats.iptw_bootstrap import (
    BootstrapBlock,
    bootstrap_blocks,
    bootstrap_sample,
    observed_effect,
    replicate_effects,
    resampled_rows,
    summarize_bootstrap,
)

R_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "r"
FIXTURES = R_DIR / "bootstrap"
R_OUTPUTS = ("replicates.csv", "summary.csv")


def load_make_resamples():
    spec = importlib.util.spec_from_file_location("make_resamples", FIXTURES / "make_resamples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKE = load_make_resamples()


@pytest.fixture(scope="module")
def sample():
    return MAKE.fixture_sample()


@pytest.fixture(scope="module")
def python_replicates(sample) -> pd.DataFrame:
    return replicate_effects(sample, bootstrap_blocks(MAKE.REPLICATES), MAKE.SEED)


def test_the_code_still_draws_the_committed_resamples(sample) -> None:
    pd.testing.assert_frame_equal(
        MAKE.sample_table(sample),
        pd.read_csv(FIXTURES / "sample.csv", float_precision="round_trip"),
        check_dtype=False,
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        MAKE.resamples_table(sample), pd.read_csv(FIXTURES / "resamples.csv"), check_dtype=False
    )


def test_every_replicate_keeps_each_cohort_size(sample) -> None:
    rows = resampled_rows(sample, BootstrapBlock(0, 0, 50), seed=1)
    assert rows.shape == (50, 100)
    assert (sample.treated[rows[:, :40]] == 1).all() and (sample.treated[rows[:, 40:]] == 0).all()


def test_each_replicate_equals_r(python_replicates: pd.DataFrame) -> None:
    # R: per replicate, glm(cohort_trial ~ log2_marrow_blasts + age_years + prior_hsct, binomial), ATE weights
    expected = pd.read_csv(FIXTURES / "replicates.csv")
    assert python_replicates["replicate"].tolist() == expected["replicate"].tolist()
    for column in ("trial_p", "historical_p", "rd"):
        np.testing.assert_allclose(python_replicates[column], expected[column], rtol=1e-9, atol=1e-12, err_msg=column)


def test_summary_equals_r(sample, python_replicates: pd.DataFrame) -> None:
    # R: sd(rd); quantile(rd, c(0.025, 0.975), type = 7)
    summary = summarize_bootstrap(observed_effect(sample), python_replicates, seed=MAKE.SEED).set_index("statistic")
    expected = pd.read_csv(FIXTURES / "summary.csv").set_index("statistic")
    assert summary.index.tolist() == ["trial_p", "historical_p", "rd"]
    for column in ("estimate", "boot_se", "boot_ci_low", "boot_ci_high"):
        np.testing.assert_allclose(summary[column], expected.loc[summary.index, column], rtol=1e-9, err_msg=column)
    assert (summary["replicates"] == 250).all() and (summary["failed"] == 0).all()
    # R: rd -0.23389, bootstrap SE 0.10345, 95 % percentile interval -0.44094 to -0.03340
    assert summary.loc["rd", "boot_ci_low"] == pytest.approx(-0.4409357130620013, abs=1e-12)


def test_the_sandwich_columns_are_the_iptw_analysis(sample, python_replicates: pd.DataFrame) -> None:
    effect = iptw(sample.covariates, sample.treated, sample.severe_crs).effect
    rd = (
        summarize_bootstrap(observed_effect(sample), python_replicates, seed=MAKE.SEED).set_index("statistic").loc["rd"]
    )
    assert (rd["sandwich_se"], rd["sandwich_ci_low"], rd["sandwich_ci_high"]) == (
        effect.rd_se,
        effect.rd_ci_low,
        effect.rd_ci_high,
    )


@pytest.mark.parametrize("chunks", [1, 2, 3])
def test_blocks_give_the_same_replicates_whatever_their_grouping_or_order(sample, python_replicates, chunks) -> None:
    parts = split_blocks(bootstrap_blocks(MAKE.REPLICATES), chunks)
    pieces = [replicate_effects(sample, part, MAKE.SEED) for part in reversed(parts)]
    regrouped = pd.concat(pieces, ignore_index=True)
    pd.testing.assert_frame_equal(
        summarize_bootstrap(observed_effect(sample), regrouped, seed=MAKE.SEED),
        summarize_bootstrap(observed_effect(sample), python_replicates, seed=MAKE.SEED),
        check_exact=True,
    )


def test_failed_replicates_are_counted_and_left_out(sample) -> None:
    # rd 0.1, 0.2, 0.3, 0.4 and one failure; alpha 0.5 -> type-7 quantiles at 0.25 and 0.75:
    # h = 3 * 0.25 = 0.75 -> 0.1 + 0.75 * 0.1 = 0.175; h = 2.25 -> 0.3 + 0.25 * 0.1 = 0.325
    replicates = pd.DataFrame(
        {
            "replicate": [4, 0, 1, 2, 3],
            "trial_p": [math.nan, 0.5, 0.6, 0.7, 0.8],
            "historical_p": [math.nan, 0.4, 0.4, 0.4, 0.4],
            "rd": [math.nan, 0.1, 0.2, 0.3, 0.4],
        }
    )
    rd = summarize_bootstrap(observed_effect(sample, alpha=0.5), replicates, seed=0).set_index("statistic").loc["rd"]
    assert rd["boot_ci_low"] == pytest.approx(0.175) and rd["boot_ci_high"] == pytest.approx(0.325)
    assert rd["boot_se"] == pytest.approx(math.sqrt(((0.15**2 + 0.05**2) * 2) / 3))
    assert (rd["replicates"], rd["failed"]) == (5, 1)


def test_a_replicate_whose_propensity_model_separates_fails(sample) -> None:
    # Every trial participant drawn is the same one: its covariates are constant, no model is estimable.
    trial_row = int(sample.trial_rows[0])
    picked = np.concatenate([np.full(40, trial_row), sample.historical_rows])
    from analysis.stats.iptw_bootstrap import replicate_effect

    assert all(math.isnan(v) for v in replicate_effect(sample, picked, "ATE"))


def test_a_replicate_counted_twice_is_an_error(sample, python_replicates) -> None:
    doubled = pd.concat([python_replicates, python_replicates.head(1)], ignore_index=True)
    with pytest.raises(ValueError, match="counted twice"):
        summarize_bootstrap(observed_effect(sample), doubled, seed=MAKE.SEED)


def test_one_empty_cohort_is_an_error() -> None:
    subjects = pd.read_csv(R_DIR / "regression" / "cohorts.csv")
    with pytest.raises(ValueError, match="both cohorts"):
        bootstrap_sample(subjects[subjects["cohort"] == "trial"])


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory):
    return run_r_script(R_DIR / "bootstrap.R", tmp_path_factory.mktemp("r_bootstrap"), ())


@pytest.mark.parametrize("name", R_OUTPUTS)
def test_fresh_r_output_matches_committed(fresh_dir, name) -> None:
    # R: Rscript tests/fixtures/r/bootstrap.R <tmpdir>
    assert_same_r_csv(FIXTURES / name, fresh_dir / name)
