"""Comparing a fresh R run's CSV with the committed fixture (shared by the R rerun tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


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
