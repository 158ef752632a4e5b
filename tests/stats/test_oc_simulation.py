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
from analysis.stats.stopping_design import design_stopping_rule

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
    rule = MonitoredRule(
        "crs_grade4plus", "grade ≥ 4 CRS", design_stopping_rule("thall_simon", 0.25, [5], threshold=0.9)
    )
    oc = blocked_operating_characteristics([rule], (0.3,), 200_000, seed=1)
    assert abs(oc.loc[0, "prob_stop"] - binom.sf(2, 5, 0.3)) < 4 * oc.loc[0, "mc_se"]


def test_agrees_with_the_exact_operating_characteristics_within_monte_carlo_error() -> None:
    # the simulation is only a cross-check of the exact recursion the ARD carries
    simulated = blocked_operating_characteristics(RULES, RATES, 20_000, seed=9)
    for rule in RULES:
        exact = rule.design.operating_characteristics(RATES)
        rows = simulated[simulated["rule"] == rule.name]
        for sim, ex in zip(rows.itertuples(), exact):
            se = max(np.sqrt(ex["prob_stop"] * (1 - ex["prob_stop"]) / 20_000), 1e-4)
            assert abs(sim.prob_stop - ex["prob_stop"]) <= 4 * se, (rule.name, sim.true_rate)
            assert abs(sim.mean_evaluated - ex["expected_n"]) <= 4 * 20 / np.sqrt(20_000), (rule.name, sim.true_rate)


def test_simulates_a_calibrated_rule_with_a_look_schedule() -> None:
    # any method and schedule of the settings: stops only at the looks, at the exact rate within MC error
    rule = MonitoredRule(
        "crs_grade4plus", "grade ≥ 4 CRS", design_stopping_rule("bb_calibrated", 0.2, (10, 20, 30, 40), alpha=0.1)
    )
    oc = blocked_operating_characteristics([rule], (0.2, 0.35), 40_000, seed=4)
    exact = rule.design.operating_characteristics((0.2, 0.35))
    for sim, ex in zip(oc.itertuples(), exact):
        assert abs(sim.prob_stop - ex["prob_stop"]) <= 4 * sim.mc_se
    assert oc["mean_evaluated"].iloc[0] > 30  # stops happen at 10, 20, 30 or 40 only
