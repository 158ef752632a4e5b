"""The demo's ARD against R (issue 5, "Validated against R": on the demo data as well as on standard sets).

``tests/fixtures/r/demo/make_demo_tables.py`` puts the demo bundle through PACER's ingest and
derivations and writes ``adtte.csv`` and ``rates.csv``; ``demo.R`` reads them and writes
``r_demo_results.csv``, one row per ARD row, named as ``ard.parquet`` names it, with the R call that
produced each figure in its ``r_call`` column. The R calls, by analysis:

- ``km``: ``summary(survfit(Surv(aval, cnsr == 0) ~ 1, conf.type = "log-log"), times = c(3, 6, 12) * 30.4375,
  extend = TRUE)`` — ``$surv``, ``$lower``, ``$upper``, ``$n.risk`` — for OS, EFS and RFS;
- ``cif``: ``timepoints(cuminc(aval, event_code, cencode = 0), c(3, 6, 12) * 30.4375)`` (cause 1, relapse),
  CI ``F^exp(±qnorm(0.975)·√var/(F·log F))`` (grading.md);
- ``follow_up``: ``summary(survfit(Surv(aval, cnsr != 0) ~ 1))$table[["median"]] / 30.4375`` (reverse KM on OS);
- ``crs_rate``: ``binom.test(n, N)`` estimate and Clopper–Pearson ``conf.int`` over the CRS-evaluable set, all,
  high burden (marrow blasts ≥ 40 %) and low burden;
- ``historical_comparison`` (primary, eliana_2018, Penn 35 / 75): ``binom.test(n, N, p = 35/75,
  alternative = "less")$p.value`` and ``fisher.test(matrix(c(n, N - n, 35, 40), 2))$p.value``.

This test rebuilds the demo ARD in-process (ingest → derive_all_tables → build_trial_ard, no Prefect) and
compares every R row with it: counts exactly, estimates to 1e-6, CIs and p-values to 1e-4 (absolute).

**The one deliberate difference** (outputs.md): at a month after the longest follow-up, R's
``summary(..., extend = TRUE)`` carries the last estimate and CI forward with ``n.risk`` 0, whereas PACER
reports NaN (not estimable) with ``n_risk`` 0. On the demo every ``month_12`` is such a month (the
longest follow-up, 365.08 d, is short of 12 × 30.4375 = 365.25 d). Those rows (``beyond_last`` TRUE)
are not compared with R's value: the test checks that PACER's estimate and CI are NaN and that both
give 0 at risk. For the cumulative incidence ``cmprsk::timepoints`` itself gives NA there, as PACER does.

Also checked: the committed ``adtte.csv`` / ``rates.csv`` still equal what the derivations give now,
and (when Rscript with survival and cmprsk is present) a fresh run of ``demo.R`` equals the committed
``r_demo_results.csv``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from r_output import run_r_script

from analysis.reference.cohorts import load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.ard import ARD_KEY
from analysis.stats.trial_ard import build_trial_ard

DEMO = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "demo"
SCRIPT = DEMO / "demo.R"
RESULTS = DEMO / "r_demo_results.csv"
RERUN = (
    "rerun both scripts from the repository root: `.venv/bin/python tests/fixtures/r/demo/make_demo_tables.py` "
    "then `Rscript tests/fixtures/r/demo/demo.R`, review the changed figures and commit them"
)

COUNTS = {"n", "N", "n_risk", "trial_n", "trial_N"}
ESTIMATES = {"surv", "cif", "p", "median"}
INTERVALS_AND_P = {"ci_low", "ci_high", "p_value"}
TOLERANCE = {**dict.fromkeys(ESTIMATES, 1e-6), **dict.fromkeys(INTERVALS_AND_P, 1e-4)}
NOT_ESTIMABLE_BEYOND_LAST = {"surv", "ci_low", "ci_high", "cif"}


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_demo_tables", DEMO / "make_demo_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read_results(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, na_values=["NA"], keep_default_na=False, dtype={"method": str})
    frame["r_value"] = frame["r_value"].astype(float)
    frame["beyond_last"] = frame["beyond_last"].astype(bool)
    return frame


R = _read_results(RESULTS)
ROW_IDS = ["/".join(str(x) for x in key) for key in R[list(ARD_KEY)].itertuples(index=False)]


@pytest.fixture(scope="module")
def maker():
    return _load_maker()


@pytest.fixture(scope="module")
def demo_tables(maker):
    return maker.derive_demo_tables()


@pytest.fixture(scope="module")
def ard(demo_tables) -> pd.DataFrame:
    frame, _notes = build_trial_ard(demo_tables, load_cohorts().cohorts, AnalysisPlan())
    return frame.set_index(list(ARD_KEY))


def test_results_are_unique_and_carry_their_r_call():
    assert not R.duplicated(list(ARD_KEY)).any()
    assert (R["r_call"].str.len() > 0).all()
    assert set(R["stat_name"]) <= COUNTS | ESTIMATES | INTERVALS_AND_P


def test_every_required_survival_row_is_checked_against_r(ard):
    # outputs.md's km, cif and follow_up rows, all of them, are in r_demo_results.csv.
    required = {key for key in ard.index if key[0] in ("km", "cif", "follow_up")}
    assert required <= set(R[list(ARD_KEY)].itertuples(index=False, name=None))


@pytest.mark.parametrize("row", R.to_dict("records"), ids=ROW_IDS)
def test_ard_matches_r(ard, row):
    # The R call that produced the figure is row["r_call"] (see demo.R and the module docstring).
    key = tuple(row[name] for name in ARD_KEY)
    assert key in ard.index, f"{key} is not in the demo ARD"
    ours = float(ard.loc[key, "stat_value"])
    theirs = row["r_value"]
    stat = row["stat_name"]
    if row["beyond_last"] and stat in NOT_ESTIMABLE_BEYOND_LAST:
        # Deliberate difference: R carries the estimate forward (survfit) or gives NA (timepoints); PACER gives NaN.
        assert np.isnan(ours), f"{key}: beyond the longest follow-up PACER must report NaN, got {ours}"
        return
    assert not np.isnan(theirs), f"{key}: R gave NA"
    if stat in COUNTS:
        assert ours == theirs, f"{key}: PACER {ours} vs R {theirs} ({row['r_call']})"
    else:
        assert abs(ours - theirs) <= TOLERANCE[stat], (
            f"{key}: PACER {ours!r} vs R {theirs!r}, |diff| = {abs(ours - theirs):.3g} > {TOLERANCE[stat]} ({row['r_call']})"
        )


@pytest.mark.parametrize("name", ["adtte", "rates"])
def test_committed_inputs_equal_the_derivations(maker, demo_tables, name):
    fresh = maker.demo_r_inputs(demo_tables)[name].reset_index(drop=True)
    committed = maker.read_r_input(DEMO / f"{name}.csv")
    try:
        pd.testing.assert_frame_equal(committed, fresh, check_dtype=False, check_exact=False, rtol=1e-12, atol=0)
    except AssertionError as error:
        raise AssertionError(
            f"tests/fixtures/r/demo/{name}.csv no longer equals what the demo's derivations give "
            f"(the R figures would be stale): {RERUN}.\n{error}"
        ) from None


def test_fresh_r_run_matches_committed(tmp_path):
    # R: Rscript tests/fixtures/r/demo/demo.R <tmpdir>
    run_r_script(SCRIPT, tmp_path, ("survival", "cmprsk"), timeout=300)
    fresh = _read_results(tmp_path / "r_demo_results.csv")
    assert list(fresh.columns) == list(R.columns)
    assert fresh.shape == R.shape, f"r_demo_results.csv changed shape: {RERUN}"
    for col in R.columns:
        if col == "r_value":
            a, b = R[col].to_numpy(float), fresh[col].to_numpy(float)
            assert (np.isnan(a) == np.isnan(b)).all(), f"NA positions differ: {RERUN}"
            ok = ~np.isnan(a)
            np.testing.assert_allclose(
                b[ok], a[ok], rtol=1e-7, atol=1e-10, err_msg=f"r_demo_results.csv is stale: {RERUN}"
            )
        else:
            assert R[col].astype(str).tolist() == fresh[col].astype(str).tolist(), (
                f"r_demo_results.csv:{col} is stale: {RERUN}"
            )
