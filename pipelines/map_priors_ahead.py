"""The MAP priors of the published cohorts, fitted in a forked copy of the run while it ingests and derives.

What a MAP prior is before the trial is looked at depends on the analysis plan and the historical
cohorts alone (:func:`analysis.stats.map_prior_ard.published_map_fits`), not on the trial's data, and
fitting them is most of the analyze step's time. So `pacer run` has them fitted on the machine's
other core (:class:`analysis.forked.ForkedWork`) from its start, while this process ingests and
derives, which use one core. The analyze step takes them (:func:`map_fits_made_ahead`) and fits
whatever is not there itself (the site's historical patients as one more study, or every group
when nothing was started, as in `pacer analyze`): the ARD is the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from analysis.forked import ForkedWork
from analysis.reference.cohorts import HISTORICAL_COHORTS_PATH, load_cohorts
from analysis.settings import AnalysisPlan
from analysis.stats.map_prior_ard import FitsByStudies, published_map_fits

_started: dict[str, ForkedWork] = {}
"""The copy fitting the MAP priors of the run in progress, by the settings hash of its plan."""


def _fit_published(plan: AnalysisPlan) -> FitsByStudies:
    return published_map_fits(load_cohorts(HISTORICAL_COHORTS_PATH).cohorts, plan.map, plan.high_burden_pct)


@contextmanager
def map_priors_fitted_ahead(plan: AnalysisPlan) -> Iterator[None]:
    """Within the block, the MAP priors of ``plan`` are being fitted in a forked copy of this process; the copy is
    stopped when the block ends, whether the fits were taken or not. Nothing when MAP priors are off."""
    if not plan.map.enabled:
        yield
        return
    key = plan.settings_hash()
    _started[key] = ForkedWork(lambda: _fit_published(plan), what="fitting the MAP priors")
    try:
        yield
    finally:
        _started.pop(key).cancel()


def map_fits_made_ahead(plan: AnalysisPlan) -> FitsByStudies | None:
    """The fits :func:`map_priors_fitted_ahead` started for ``plan``, once made; None when none were started for
    it, or when the copy failed (the analyze step then fits them itself)."""
    copy = _started.get(plan.settings_hash())
    if copy is None or copy.pid is None:
        return None
    try:
        fits = copy.next_result()
    except Exception:
        return None
    copy.finish()
    return fits


__all__ = ["map_fits_made_ahead", "map_priors_fitted_ahead"]
