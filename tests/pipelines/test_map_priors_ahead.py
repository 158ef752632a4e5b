"""The MAP priors fitted in a forked copy while `pacer run` ingests and derives: the analyze step gets exactly the fits
it would make, only for the plan they were started for, and the copy never outlives the run's block."""

from __future__ import annotations

import os

import pytest

from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH, load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.ard import to_frame
from analysis.stats.map_prior_ard import map_prior_ard, published_map_fits
from pipelines import map_priors_ahead
from pipelines.map_priors_ahead import map_fits_made_ahead, map_priors_fitted_ahead

COHORTS = load_cohorts(HISTORICAL_COHORTS_PATH).cohorts
TRIAL_COUNTS = {("all", v): (9, 40) for v in ("crs_any", "crs_grade3plus", "crs_grade4plus", "crs_penn_grade3plus",
                                              "crs_penn_grade4plus", "icans_any", "icans_grade3plus")}  # fmt: skip


def test_the_fits_made_ahead_are_the_fits_made_here():
    plan = AnalysisPlan()
    with map_priors_fitted_ahead(plan):
        copy = map_priors_ahead._started[plan.settings_hash()]
        assert copy.pid not in (None, os.getpid())
        fits = map_fits_made_ahead(plan)
    assert fits is not None and fits.keys() == published_map_fits(COHORTS, plan.map, plan.high_burden_pct).keys()
    ahead, _ = map_prior_ard(COHORTS, TRIAL_COUNTS, plan.map, plan.high_burden_pct, fits=fits)
    here, _ = map_prior_ard(COHORTS, TRIAL_COUNTS, plan.map, plan.high_burden_pct)
    assert len(here) > 0 and to_frame(ahead).equals(to_frame(here))
    assert copy.pid is None  # collected
    assert map_priors_ahead._started == {}


def test_nothing_is_made_ahead_outside_the_block_or_for_another_plan():
    plan = AnalysisPlan()
    assert map_fits_made_ahead(plan) is None
    other = AnalysisPlan.model_validate({"map": {"robust_weight": 0.5}})
    with map_priors_fitted_ahead(plan):
        assert map_fits_made_ahead(other) is None


def test_map_priors_off_start_no_copy():
    plan = AnalysisPlan.model_validate({"map": {"enabled": False}})
    with map_priors_fitted_ahead(plan):
        assert map_priors_ahead._started == {}
        assert map_fits_made_ahead(plan) is None


def test_a_copy_that_fails_leaves_the_fitting_to_the_analyze_step(monkeypatch: pytest.MonkeyPatch):
    def broken(plan: AnalysisPlan) -> None:
        raise ZeroDivisionError("planted defect")

    monkeypatch.setattr(map_priors_ahead, "_fit_published", broken)
    plan = AnalysisPlan()
    with map_priors_fitted_ahead(plan):
        assert map_fits_made_ahead(plan) is None


def test_fits_not_taken_are_stopped_with_the_block():
    plan = AnalysisPlan()
    with map_priors_fitted_ahead(plan):
        copy = map_priors_ahead._started[plan.settings_hash()]
        pid = copy.pid
    assert copy.pid is None
    with pytest.raises(ChildProcessError):  # reaped: no such child any more
        os.waitpid(pid, os.WNOHANG)
