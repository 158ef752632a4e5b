"""Rerun tests/fixtures/r/reference.R and compare its fresh output with the committed fixtures.

Skipped when Rscript, survival or cmprsk is missing (CI installs r-base-core, r-cran-survival and
r-cran-cmprsk). Numbers must agree to 1e-7 relative / 1e-10 absolute; text and NA positions exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from r_output import assert_same_r_csv, run_r_script

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r"
SCRIPT = FIXTURES / "reference.R"


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory):
    return run_r_script(SCRIPT, tmp_path_factory.mktemp("r_reference"), ("survival", "cmprsk"))


COMMITTED = sorted(p.name for p in FIXTURES.glob("*.csv"))


def test_fixture_set_is_complete(fresh_dir):
    fresh = sorted(p.name for p in fresh_dir.glob("*.csv"))
    assert fresh == COMMITTED


@pytest.mark.parametrize("name", COMMITTED)
def test_fresh_output_matches_committed(fresh_dir, name):
    # R: Rscript tests/fixtures/r/reference.R <tmpdir>
    assert_same_r_csv(FIXTURES / name, fresh_dir / name)
