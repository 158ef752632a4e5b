"""Units of time shared by every layer (export, derive, stats, report): defined here once.

These are units, not analysis-plan choices: the 12-month horizon and the month used for
Kaplan–Meier time points are settings (``AnalysisPlan.horizon_days``, ``AnalysisPlan.days_per_month``).
"""

from __future__ import annotations

HOURS_PER_DAY = 24.0
"""Hours in a day: study days are hours from infusion / 24 (grading.md, "Time")."""

DAYS_PER_YEAR = 365.25
"""Days in a year of age: the age at infusion adds (infusion date − enrollment date) / 365.25
(grading.md, "Hypotension level", PALS age)."""

HOURS_PER_YEAR = DAYS_PER_YEAR * HOURS_PER_DAY
"""Hours in a year of age (8766)."""
