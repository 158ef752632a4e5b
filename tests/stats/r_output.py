"""Rerunning a committed R script and comparing its CSVs with the fixtures (shared by the R rerun tests)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def assert_same_r_csv(committed: Path, fresh: Path) -> None:
    """Same columns and shape; numbers within 1e-7 relative (1e-10 absolute), NA where NA; text exact."""
    old = pd.read_csv(committed, na_values=["NA"], keep_default_na=False)
    new = pd.read_csv(fresh, na_values=["NA"], keep_default_na=False)
    assert list(new.columns) == list(old.columns)
    assert new.shape == old.shape
    for col in old.columns:
        a, b = old[col], new[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            a, b = a.to_numpy(float), b.to_numpy(float)
            assert (np.isnan(a) == np.isnan(b)).all(), col
            ok = ~np.isnan(a)
            np.testing.assert_allclose(b[ok], a[ok], rtol=1e-7, atol=1e-10, err_msg=f"{committed.name}:{col}")
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), f"{committed.name}:{col}"


def run_r_script(script: Path, out: Path, packages: tuple[str, ...], timeout: int = 600) -> Path:
    """``Rscript script out``; skip the test cleanly when R or one of ``packages`` is not installed."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript not found")
    wanted = ", ".join(f'"{name}"' for name in packages)
    check = f"quit(status = if (all(c({wanted}) %in% rownames(installed.packages()))) 0 else 1)"
    if subprocess.run([rscript, "-e", check], capture_output=True, timeout=120).returncode != 0:
        pytest.skip(f"R packages {', '.join(packages)} not installed")
    proc = subprocess.run([rscript, str(script), str(out)], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return out
