"""participants.parquet rows built by hand, with exactly the columns of docs/processed-tables.md."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

INFUSION = pd.Timestamp("2026-03-02T15:00:00Z")

DEFAULTS = {
    "site_id": "S01",
    "age_years": 10.0,
    "sex": "F",
    "weight_kg": 30.0,
    "enrollment_date": date(2026, 2, 20),
    "infusion_datetime": INFUSION,
    "marrow_blast_pct": 50.0,
    "prior_hsct": False,
    "cns_status": "CNS1",
    "car_t_dose_per_kg": 2.0e6,
    "infused": True,
    "age_at_infusion_years": 10.0,
    "cut_hours": 2000.0,
    "data_end_hours": 2000.0,
    "safety": True,
    "crs_evaluable": True,
    "efficacy_evaluable": True,
}


def processed_participants(*rows: dict, **defaults: object) -> pd.DataFrame:
    """One row per dict (each needs ``participant_id``); ``defaults`` override :data:`DEFAULTS` for every row.

    A participant not infused gets no infusion time, age at infusion, cut or data-end hours.
    """
    frame = pd.DataFrame([{**DEFAULTS, **defaults, **row} for row in rows])
    not_infused = ~frame["infused"]
    frame.loc[not_infused, ["age_at_infusion_years", "cut_hours", "data_end_hours"]] = np.nan
    frame["infusion_datetime"] = frame["infusion_datetime"].where(~not_infused, pd.NaT).astype("datetime64[us, UTC]")
    return frame
