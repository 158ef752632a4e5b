"""The closed report's stopping-rule pages only format the ARD's stopping rows (outputs.md v3)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analysis.report import sections_stopping
from analysis.report.inputs import load_inputs
from analysis.report.sections import context
from analysis.settings import AnalysisPlan, StoppingRules
from analysis.stats.ard import to_frame
from analysis.stats.stopping_ard import stopping_rows


def text_of(section) -> str:
    html = " ".join(str(block) for block in section.blocks)
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").replace("&gt;", ">")


def with_rule(folder: Path, stopping: StoppingRules):
    """The folder's inputs with the stopping rows the analyze step would write under ``stopping``."""
    inputs = load_inputs(folder)
    ard = inputs["ard"]
    adsl = inputs["adsl"]
    crs = inputs["crs"]
    evaluable = adsl.loc[adsl["crs_evaluable"].astype(bool), ["participant_id"]].merge(crs, on="participant_id")
    endpoints = pd.DataFrame(
        {"participant_id": evaluable["participant_id"], "crs_grade4plus": evaluable["crs_max_grade"] >= 4}
    )
    rows = to_frame(stopping_rows(endpoints, adsl, stopping))
    kept = ard[~ard["analysis"].str.startswith("stopping")]
    return replace(inputs, tables={**inputs.tables, "ard": pd.concat([kept, rows], ignore_index=True)})


def test_the_module_imports_no_statistics() -> None:
    tree = ast.parse(Path(sections_stopping.__file__).read_text(encoding="utf-8"))
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if name and name.startswith(("analysis.stats", "analysis.derive"))]


def test_default_rule_as_the_ard_holds_it(typical: Path) -> None:
    ctx = context(load_inputs(typical), AnalysisPlan())
    rules = sections_stopping.stopping_rules(ctx)
    assert [rule.name for rule in rules] == ["crs_grade4plus", "treatment_related_death"]
    crs = rules[0]
    assert crs.method == "thall_simon" and crs.design["threshold"] == 0.9
    assert crs.boundaries["n_evaluated"].tolist() == list(range(1, 41))
    assert crs.path["events"].iloc[-1] == crs.status["events"] == 2
    assert len(crs.oc) == 7 and crs.oc["true_rate"].is_monotonic_increasing
    assert (
        sections_stopping.status_text(crs)
        == "boundary not crossed: 2 grade ≥ 4 CRS in 8 evaluable; the boundary at 8 is 4"
    )


@pytest.mark.parametrize(
    ("method", "words"),
    [
        ("bb_calibrated", "Bayesian beta-binomial rule with a calibrated threshold (Geller et al. 2003)"),
        ("pocock", "stop when the one-sided binomial p-value against 25 % falls below"),
        ("obf", "stop when (events − n × 0.25) / √(N × 0.25 × 0.75) >"),
        ("sprt", "stop when the log-likelihood ratio of 40 % against 25 % exceeds"),
    ],
)
def test_a_calibrated_rule_is_stated_from_its_design_rows(typical: Path, method: str, words: str) -> None:
    stopping = StoppingRules(method=method, alpha=0.05)
    ctx = context(with_rule(typical, stopping), AnalysisPlan())
    text = text_of(sections_stopping.stopping_section(ctx))
    assert words in text
    assert "calibrated to α = 0.05" in text
    # the posterior column only for the Bayesian methods
    assert ("P(rate > p0 | data)" in text) == (method == "bb_calibrated")
    appendix = text_of(sections_stopping.oc_appendix(ctx))
    assert "Exact operating characteristics" in appendix and "Operating characteristics: Grade ≥ 4 CRS" in appendix


def test_no_stopping_rows_says_so(typical: Path) -> None:
    inputs = load_inputs(typical)
    ard = inputs["ard"]
    bare = replace(inputs, tables={**inputs.tables, "ard": ard[~ard["analysis"].str.startswith("stopping")]})
    ctx = context(bare, AnalysisPlan())
    assert "rerun the analyze step" in text_of(sections_stopping.stopping_section(ctx))
    assert sections_stopping.status_lines(ctx) == []
