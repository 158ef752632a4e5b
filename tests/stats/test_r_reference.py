"""Rerun tests/fixtures/r/reference.R and compare its fresh output with the committed fixtures.

Skipped when Rscript, survival or cmprsk is missing (CI installs r-base-core, r-cran-survival and
r-cran-cmprsk). Numbers must agree to 1e-7 relative / 1e-10 absolute; text and NA positions exactly.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from r_output import assert_same_r_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r"
SCRIPT = FIXTURES / "reference.R"


def _r_ready() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript not found"
    check = 'quit(status = if (all(c("survival", "cmprsk") %in% rownames(installed.packages()))) 0 else 1)'
    if subprocess.run([rscript, "-e", check], capture_output=True, timeout=120).returncode != 0:
        return "R packages survival and cmprsk not installed"
    return None


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory):
    reason = _r_ready()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("r_reference")
    proc = subprocess.run(["Rscript", str(SCRIPT), str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


COMMITTED = sorted(p.name for p in FIXTURES.glob("*.csv"))


def test_fixture_set_is_complete(fresh_dir):
    fresh = sorted(p.name for p in fresh_dir.glob("*.csv"))
    assert fresh == COMMITTED


@pytest.mark.parametrize("name", COMMITTED)
def test_fresh_output_matches_committed(fresh_dir, name):
    # R: Rscript tests/fixtures/r/reference.R <tmpdir>
    assert_same_r_csv(FIXTURES / name, fresh_dir / name)
