"""The blocked operating-characteristics simulation: seeds by SeedSequence.spawn, identical under any chunking."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom

from analysis.settings import AnalysisPlan
from analysis.stats.monitoring import MonitoredRule, operating_characteristics, rules_from_settings
from analysis.stats.oc_simulation import (
    OC_BLOCK_TRIALS,
    OcBlock,
    block_seed,
    blocked_operating_characteristics,
    oc_blocks,
    simulate_blocks,
    split_blocks,
    summarize_blocks,
)

STOPPING = AnalysisPlan().stopping
RULES = rules_from_settings(STOPPING)
RATES = STOPPING.oc_true_rates


def test_block_seed_is_the_spawned_child() -> None:
    spawned = np.random.SeedSequence(11).spawn(3)[2].spawn(5)[4]
    assert (block_seed(11, OcBlock(2, 4, 10)).generate_state(8) == spawned.generate_state(8)).all()


def test_blocks_cover_every_trial_once() -> None:
    blocks = oc_blocks(2, 2 * OC_BLOCK_TRIALS + 7)
    assert [b.trials for b in blocks] == [OC_BLOCK_TRIALS, OC_BLOCK_TRIALS, 7] * 2
    for chunks in (1, 2, 4, 100):
        parts = split_blocks(blocks, chunks)
        assert [b for part in parts for b in part] == blocks and all(parts)


def test_result_is_identical_whatever_the_chunking_and_order() -> None:
    trials = 3 * OC_BLOCK_TRIALS + 250
    whole = blocked_operating_characteristics(RULES, RATES, trials, seed=5)
    blocks = oc_blocks(len(RATES), trials)
    for chunks in (1, 3, 7, len(blocks)):
        counts = [simulate_blocks(RULES, RATES, part, 5) for part in split_blocks(blocks, chunks)]
        pd.testing.assert_frame_equal(
            summarize_blocks(RULES, RATES, pd.concat(counts[::-1], ignore_index=True)), whole, check_exact=True
        )


def test_agrees_with_the_single_stream_simulation_within_monte_carlo_error() -> None:
    blocked = blocked_operating_characteristics(RULES[:1], RATES, 20_000, seed=3)
    single = operating_characteristics(RULES[0], RATES, 20_000, seed=3)
    se = np.sqrt(blocked["mc_se"].to_numpy() ** 2 + single["mc_se"].to_numpy() ** 2)
    assert (np.abs(blocked["prob_stop"].to_numpy() - single["prob_stop"].to_numpy()) <= 5 * se + 1e-12).all()
    assert list(blocked.columns[1:]) == list(single.columns)


def test_exact_for_a_short_rule() -> None:
    # max 5, min 5: one look at n = 5 with boundary 3 -> P(stop) = P(Bin(5, p) >= 3) exactly
    rule = MonitoredRule("crs_grade4plus", "grade ≥ 4 CRS", 0.25, 1.0, 1.0, 0.90, 5, 5)
    oc = blocked_operating_characteristics([rule], (0.3,), 200_000, seed=1)
    assert abs(oc.loc[0, "prob_stop"] - binom.sf(2, 5, 0.3)) < 4 * oc.loc[0, "mc_se"]
