"""A stratified bootstrap of the IPTW risk difference, in fixed blocks that can run anywhere.

Why
---
The IPTW analysis (:mod:`analysis.stats.iptw`) gives the weighted risk difference of severe CRS,
trial − historical, with an HC0 sandwich interval that treats the weights as known: it ignores
that the propensity model was estimated (conservative for the ATE; Lunceford & Davidian 2004).
The bootstrap re-estimates the propensity model in every replicate and so carries that
uncertainty too (Austin 2016, *Stat Med* 35:5642, recommends it for IPTW). It is a sensitivity
analysis beside the sandwich interval; neither is the primary analysis.

Method
------
- **Data**: the subject frame of both cohorts (:func:`analysis.stats.cohort_comparison.subject_frame`),
  complete cases on severe CRS and the propensity covariates — the very rows of the ``cohort_iptw``
  ARD rows.
- **Resampling, stratified by cohort**: each replicate draws ``n_trial`` trial participants and
  ``n_historical`` historical participants with replacement, each within its own cohort, so that
  every replicate keeps the cohorts' sizes (and P(trial), the weights' stabilizing constant) as
  observed: the cohorts were assembled separately, not sampled together.
- **Each replicate** is :func:`analysis.stats.iptw.iptw` on the resampled rows (propensity refitted,
  stabilized weights recomputed, weighted risks and their difference), exactly the analysis of the
  ARD. A replicate whose propensity model cannot be fitted (separation, a constant covariate) is
  **counted as failed and left out**; the summary reports how many.
- **Summary**: the bootstrap standard error (the replicates' standard deviation, n − 1) and the
  **percentile interval**: the ``alpha/2`` and ``1 − alpha/2`` quantiles of the replicates, type 7
  (R's ``quantile`` default). The sandwich figures of the same data stand beside them.

Blocks and seeds
----------------
Replicates are drawn in fixed blocks of :data:`BOOTSTRAP_BLOCK_REPLICATES`; block ``b`` draws from
``numpy.random.default_rng(SeedSequence(seed, spawn_key=(b,)))``: first a ``(replicates, n_trial)``
matrix of trial positions, then a ``(replicates, n_historical)`` matrix of historical positions
(``Generator.integers``). Which blocks run together, in which order, on which worker, therefore
changes nothing: the result depends only on the data, the estimand, the number of replicates and
the seed. The block size is part of that definition, so it is a constant.

Validated in ``tests/stats/test_iptw_bootstrap.py`` against R (``tests/fixtures/r/bootstrap.R``:
``glm`` on the very resamples drawn here, written out by ``make_resamples.py``; ``sd``;
``quantile(type = 7)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats.cohort_comparison import COVARIATES, model_frame
from analysis.stats.iptw import Estimand, WeightedEffect, iptw
from analysis.stats.logistic import SeparationError

BOOTSTRAP_BLOCK_REPLICATES = 100
"""Replicates per block (the unit of independent random streams)."""

REPLICATE_COLUMNS = ("replicate", "trial_p", "historical_p", "rd")
SUMMARY_COLUMNS = (
    "statistic",
    "estimate",
    "boot_se",
    "boot_ci_low",
    "boot_ci_high",
    "sandwich_se",
    "sandwich_ci_low",
    "sandwich_ci_high",
    "replicates",
    "failed",
    "estimand",
    "alpha",
    "seed",
)
STATISTICS = ("trial_p", "historical_p", "rd")


@dataclass(frozen=True)
class BootstrapSample:
    """The rows the bootstrap resamples: covariates, cohort (1 = trial) and severe CRS (0/1), as arrays."""

    covariates: pd.DataFrame
    treated: np.ndarray
    severe_crs: np.ndarray

    @property
    def trial_rows(self) -> np.ndarray:
        return np.flatnonzero(self.treated == 1)

    @property
    def historical_rows(self) -> np.ndarray:
        return np.flatnonzero(self.treated == 0)


@dataclass(frozen=True)
class BootstrapBlock:
    """Block number ``index`` of the bootstrap, holding ``replicates`` replicates from ``first`` on."""

    index: int
    first: int
    replicates: int


def bootstrap_sample(subjects: pd.DataFrame) -> BootstrapSample:
    """The complete cases of ``subjects`` (both cohorts) on severe CRS and the propensity covariates."""
    frame = model_frame(subjects).dropna(subset=["severe_crs", "cohort_trial", *COVARIATES]).reset_index(drop=True)
    sample = BootstrapSample(
        frame[list(COVARIATES)], frame["cohort_trial"].to_numpy(float), frame["severe_crs"].to_numpy(float)
    )
    if len(sample.trial_rows) == 0 or len(sample.historical_rows) == 0:
        raise ValueError("the bootstrap needs participants of both cohorts with severe CRS and every covariate known")
    return sample


def bootstrap_blocks(replicates: int, block_replicates: int = BOOTSTRAP_BLOCK_REPLICATES) -> list[BootstrapBlock]:
    """Every block of a bootstrap of ``replicates`` replicates (the last block may be shorter).

    Examples
    --------
    >>> bootstrap_blocks(250)
    [BootstrapBlock(index=0, first=0, replicates=100), BootstrapBlock(index=1, first=100, replicates=100), BootstrapBlock(index=2, first=200, replicates=50)]
    """
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    return [
        BootstrapBlock(b, first, min(block_replicates, replicates - first))
        for b, first in enumerate(range(0, replicates, block_replicates))
    ]


def resampled_rows(sample: BootstrapSample, block: BootstrapBlock, seed: int) -> np.ndarray:
    """The rows of each replicate of ``block``: a ``(replicates, n)`` matrix, trial rows first (module notes)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block.index,)))
    trial, historical = sample.trial_rows, sample.historical_rows
    trial_draws = rng.integers(0, len(trial), size=(block.replicates, len(trial)))
    historical_draws = rng.integers(0, len(historical), size=(block.replicates, len(historical)))
    return np.hstack([trial[trial_draws], historical[historical_draws]])


def replicate_effects(
    sample: BootstrapSample, blocks: Sequence[BootstrapBlock], seed: int, estimand: Estimand = "ATE"
) -> pd.DataFrame:
    """:data:`REPLICATE_COLUMNS` of every replicate of ``blocks``; NaN where the replicate failed."""
    rows = []
    for block in blocks:
        for offset, picked in enumerate(resampled_rows(sample, block, seed)):
            rows.append((block.first + offset, *replicate_effect(sample, picked, estimand)))
    return pd.DataFrame(rows, columns=list(REPLICATE_COLUMNS)).astype({"replicate": "int64"})


def replicate_effect(sample: BootstrapSample, picked: np.ndarray, estimand: Estimand) -> tuple[float, float, float]:
    """Weighted risks and their difference on the rows ``picked``; NaN when the propensity model cannot be fitted."""
    try:
        effect = iptw(
            sample.covariates.iloc[picked], sample.treated[picked], sample.severe_crs[picked], estimand=estimand
        ).effect
    except (SeparationError, ValueError, np.linalg.LinAlgError):
        return math.nan, math.nan, math.nan
    return effect.trial_p, effect.historical_p, effect.rd


def observed_effect(sample: BootstrapSample, estimand: Estimand = "ATE", alpha: float = 0.05) -> WeightedEffect:
    """The IPTW analysis of the observed data (the ARD's ``cohort_iptw`` figures): the bootstrap's ``estimate``.

    Raises
    ------
    analysis.stats.logistic.SeparationError, ValueError
        When the propensity model cannot be fitted on the observed data: there is nothing to bootstrap.
    """
    return iptw(sample.covariates, sample.treated, sample.severe_crs, estimand=estimand, alpha=alpha).effect


def summarize_bootstrap(
    effect: WeightedEffect, replicates: pd.DataFrame, *, seed: int, estimand: Estimand = "ATE"
) -> pd.DataFrame:
    """:data:`SUMMARY_COLUMNS` for each of :data:`STATISTICS`, whatever the order the replicates arrive in.

    ``effect`` is :func:`observed_effect`: its figures are the ``estimate`` column, its HC0 sandwich
    interval the sandwich columns (the risk difference only: the weighted risks have none), its
    ``alpha`` the percentile interval's level.
    """
    if replicates["replicate"].duplicated().any():
        raise ValueError("a bootstrap replicate was counted twice")
    alpha = effect.alpha
    sandwich = {"rd": (effect.rd_se, effect.rd_ci_low, effect.rd_ci_high)}
    failed = int(replicates["rd"].isna().sum())
    rows = []
    for statistic in STATISTICS:
        values = np.sort(replicates[statistic].dropna().to_numpy(float))
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2]) if len(values) else (math.nan, math.nan)
        boot_se = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        rows.append(
            (
                statistic,
                getattr(effect, statistic),
                boot_se,
                float(low),
                float(high),
                *sandwich.get(statistic, (math.nan, math.nan, math.nan)),
                len(replicates),
                failed,
                estimand,
                alpha,
                seed,
            )
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def iptw_bootstrap(
    subjects: pd.DataFrame, replicates: int, seed: int, *, estimand: Estimand = "ATE", alpha: float = 0.05
) -> pd.DataFrame:
    """The whole bootstrap in this process (what the Prefect flow computes in chunks); the summary table."""
    sample = bootstrap_sample(subjects)
    effect = observed_effect(sample, estimand, alpha)
    effects = replicate_effects(sample, bootstrap_blocks(replicates), seed, estimand)
    return summarize_bootstrap(effect, effects, seed=seed, estimand=estimand)


__all__ = [
    "BOOTSTRAP_BLOCK_REPLICATES",
    "REPLICATE_COLUMNS",
    "STATISTICS",
    "SUMMARY_COLUMNS",
    "BootstrapBlock",
    "BootstrapSample",
    "bootstrap_blocks",
    "bootstrap_sample",
    "iptw_bootstrap",
    "observed_effect",
    "replicate_effects",
    "resampled_rows",
    "summarize_bootstrap",
]
