"""The numpydoc examples of analysis/stats run as doctests (each quotes the R call it mirrors)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "ard",
    "proportions",
    "comparisons",
    "kaplan_meier",
    "cumulative_incidence",
    "quantiles",
    "historical",
    "chunking",
    "iptw_bootstrap",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples(name):
    module = importlib.import_module(f"analysis.stats.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
