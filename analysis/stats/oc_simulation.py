"""Operating characteristics of the stopping rules, simulated in fixed blocks that can run anywhere.

:func:`analysis.stats.monitoring.operating_characteristics` draws every simulated trial of a true
rate from one random stream, so it cannot be split across processes. This module defines the same
simulation (the same rule, boundaries and summary columns) over **fixed blocks** of
:data:`OC_BLOCK_TRIALS` simulated trials, each with its own independent random stream:

- block ``b`` of true rate number ``r`` draws from ``numpy.random.default_rng`` seeded with
  ``SeedSequence(seed).spawn(n_rates)[r].spawn(n_blocks)[b]`` (built directly as
  ``SeedSequence(seed, spawn_key=(r, b))``, which is the same sequence);
- a block returns integer counts only (trials stopped, stopped by half, sum of the numbers
  evaluated), and the summary adds them up per rule and rate.

Which blocks run together, in which order, on which worker or cluster, therefore cannot change a
single bit of the result: the table depends only on the rules, the true rates, the number of trials
and the seed. The block size is part of the definition (changing it changes the random draws), so
it is a constant. Both rules are simulated from the same draws (common random numbers), as in
:func:`~analysis.stats.monitoring.operating_characteristics`.

The numbers are a seeded Monte Carlo estimate of the exact operating characteristics the analyze
step writes to the ARD (:mod:`analysis.stats.stopping_oc`): an optional cross-check, and the way to
spread a large simulation over a Dask cluster. They agree with the exact figures, and with the
single-stream simulation, within Monte Carlo error (``mc_se``), not bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats.chunking import split_blocks
from analysis.stats.monitoring import MonitoredRule, stop_limits

OC_BLOCK_TRIALS = 1_000
"""Simulated trials per block (the unit of independent random streams)."""

OC_COLUMNS = ("rule", "true_rate", "prob_stop", "prob_stop_by_half", "mean_evaluated", "mc_se", "trials")


@dataclass(frozen=True)
class OcBlock:
    """One block of simulated trials: true rate number ``rate_index``, block number ``block_index``, ``trials`` trials."""

    rate_index: int
    block_index: int
    trials: int


def oc_blocks(n_rates: int, trials: int, block_trials: int = OC_BLOCK_TRIALS) -> list[OcBlock]:
    """Every block of the simulation: ``trials`` per true rate, in blocks of ``block_trials`` (the last one may be shorter)."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    n_blocks = -(-trials // block_trials)
    return [
        OcBlock(r, b, min(block_trials, trials - b * block_trials)) for r in range(n_rates) for b in range(n_blocks)
    ]


def block_seed(seed: int, block: OcBlock) -> np.random.SeedSequence:
    """The block's own stream: ``SeedSequence(seed).spawn(n_rates)[rate_index].spawn(n_blocks)[block_index]``."""
    return np.random.SeedSequence(seed, spawn_key=(block.rate_index, block.block_index))


def simulate_blocks(
    rules: Sequence[MonitoredRule], true_rates: Sequence[float], blocks: Sequence[OcBlock], seed: int
) -> pd.DataFrame:
    """Integer counts of every (rule, block): ``stopped``, ``stopped_by_half``, ``evaluated_sum``, ``trials``.

    Each simulated trial evaluates ``max_evaluated`` participants one at a time, each an event with
    the block's true rate, and stops at the first look whose cumulative count reaches the boundary
    there (as :func:`~analysis.stats.monitoring.operating_characteristics`).
    """
    limits = [stop_limits(rule) for rule in rules]
    rows = []
    for block in blocks:
        p = float(true_rates[block.rate_index])
        for k, (rule, limit) in enumerate(zip(rules, limits)):
            rng = np.random.default_rng(block_seed(seed, block))
            counts = np.cumsum(rng.random((block.trials, rule.max_evaluated)) < p, axis=1)
            hit = counts >= limit
            stopped = hit.any(axis=1)
            stop_n = np.where(stopped, hit.argmax(axis=1) + 1, rule.max_evaluated)
            rows.append(
                {
                    "rule_index": k,
                    "rate_index": block.rate_index,
                    "block_index": block.block_index,
                    "trials": block.trials,
                    "stopped": int(stopped.sum()),
                    "stopped_by_half": int((stopped & (stop_n <= rule.max_evaluated // 2)).sum()),
                    "evaluated_sum": int(stop_n.sum()),
                }
            )
    return pd.DataFrame(
        rows,
        columns=["rule_index", "rate_index", "block_index", "trials", "stopped", "stopped_by_half", "evaluated_sum"],
    ).astype("int64")


def summarize_blocks(rules: Sequence[MonitoredRule], true_rates: Sequence[float], counts: pd.DataFrame) -> pd.DataFrame:
    """The operating-characteristics table from the blocks' counts, whatever their order or grouping.

    Returns
    -------
    pandas.DataFrame
        One row per rule and true rate: ``rule`` (machine name), ``true_rate``, ``prob_stop``,
        ``prob_stop_by_half``, ``mean_evaluated``, ``mc_se``, ``trials`` (as
        :func:`~analysis.stats.monitoring.operating_characteristics`).
    """
    if counts.duplicated(["rule_index", "rate_index", "block_index"]).any():
        raise ValueError("a block was counted twice")
    totals = counts.groupby(["rule_index", "rate_index"], sort=True)[
        ["trials", "stopped", "stopped_by_half", "evaluated_sum"]
    ].sum()
    rows = []
    for (k, r), t in totals.iterrows():
        n = int(t["trials"])
        prob = int(t["stopped"]) / n
        rows.append(
            {
                "rule": rules[k].name,
                "true_rate": float(true_rates[r]),
                "prob_stop": prob,
                "prob_stop_by_half": int(t["stopped_by_half"]) / n,
                "mean_evaluated": int(t["evaluated_sum"]) / n,
                "mc_se": float(np.sqrt(prob * (1 - prob) / n)),
                "trials": n,
            }
        )
    return pd.DataFrame(rows, columns=list(OC_COLUMNS))


def blocked_operating_characteristics(
    rules: Sequence[MonitoredRule], true_rates: Sequence[float], trials: int, seed: int
) -> pd.DataFrame:
    """The whole simulation in this process (what the Prefect flow computes in chunks)."""
    return summarize_blocks(
        rules, true_rates, simulate_blocks(rules, true_rates, oc_blocks(len(true_rates), trials), seed)
    )


__all__ = [
    "OC_BLOCK_TRIALS",
    "OC_COLUMNS",
    "OcBlock",
    "block_seed",
    "blocked_operating_characteristics",
    "oc_blocks",
    "simulate_blocks",
    "split_blocks",
    "stop_limits",
    "summarize_blocks",
]
