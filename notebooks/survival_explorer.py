# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Survival explorer
#
# Kaplan–Meier curves of overall survival (OS) and event-free survival (EFS) from `adtte.parquet`,
# overall, by disease burden (ADSL `high_burden`) and by the maximum ASTCT CRS grade (ADSL
# `crs_max_grade`: none, 1–2, ≥ 3). The estimator is the pipeline's own
# `analysis.stats.kaplan_meier.kaplan_meier` (R `survfit`, log-log CI): the times, events, censoring
# and groups are those the derive step wrote; nothing is re-derived. Subgroups are small and these
# curves are descriptive only.
#
# - `PACER_PROCESSED`: the output folder (default: the newest run under `data/processed/`).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.explore import plan_in_force, processed_folder, read_tables, survival_groups
from analysis.stats.kaplan_meier import kaplan_meier, median_survival, survival_at

folder = processed_folder()
tables = read_tables(folder, ["adtte", "adsl", "ard"])
plan = plan_in_force(folder)
MONTH = plan.days_per_month
PARAMETERS = {"OS": "overall survival", "EFS": "event-free survival"}
GROUPINGS = {"all": "all infused", "burden": "by disease burden", "crs_grade": "by maximum CRS grade (ASTCT)"}
print(f"output folder: {folder}")

# %% [markdown]
# ## The fits
#
# One fit per parameter, grouping and group: `aval` in days, an event where `cnsr` = 0.

# %%
fits = {
    (parameter, by, label): kaplan_meier(records["aval"].to_numpy(float), records["event"].to_numpy())
    for parameter in PARAMETERS
    for by in GROUPINGS
    for label, records in survival_groups(tables["adtte"], tables["adsl"], parameter, by).items()
}

# %% [markdown]
# The overall curves are the ones behind the ARD's `km` rows: check that they agree at months 3, 6 and 12.

# %%
ard = tables["ard"]
for parameter in PARAMETERS:
    at = survival_at(fits[(parameter, "all", "all")], [3 * MONTH, 6 * MONTH, 12 * MONTH])
    expected = [
        ard.loc[
            (ard["analysis"] == "km")
            & (ard["group"] == parameter)
            & (ard["variable"] == f"month_{m}")
            & (ard["stat_name"] == "surv"),
            "stat_value",
        ].squeeze()
        for m in (3, 6, 12)
    ]
    assert np.allclose(at["surv"].to_numpy(float), np.asarray(expected, dtype=float), equal_nan=True), parameter
print("the overall curves match ard.parquet")

# %% [markdown]
# ## Curves

# %%
fig, axes = plt.subplots(len(PARAMETERS), len(GROUPINGS), figsize=(15, 8.5), sharex=True, sharey=True)
for i, (parameter, title) in enumerate(PARAMETERS.items()):
    for j, (by, subtitle) in enumerate(GROUPINGS.items()):
        ax = axes[i, j]
        for k, ((p, b, label), fit) in enumerate((key, f) for key, f in fits.items() if key[:2] == (parameter, by)):
            colour = f"C{k}"
            months = np.r_[0.0, fit.time / MONTH]
            ax.step(months, np.r_[1.0, fit.surv], where="post", color=colour, label=f"{label} (n = {fit.n})")
            lower, upper = (
                np.where(np.isnan(limit), fit.surv, limit) for limit in (fit.lower, fit.upper)
            )  # no CI where S is 0 or 1
            ax.fill_between(months, np.r_[1.0, lower], np.r_[1.0, upper], step="post", color=colour, alpha=0.12, lw=0)
            censored = fit.n_censor > 0
            ax.plot(fit.time[censored] / MONTH, fit.surv[censored], "|", ms=8, color=colour)
        ax.set_title(f"{parameter} {subtitle}", fontsize=10)
        ax.set_ylim(0, 1.03)
        ax.legend(loc="lower left", fontsize=8)
        if j == 0:
            ax.set_ylabel(f"{title} (probability)")
        if i == len(PARAMETERS) - 1:
            ax.set_xlabel("months from infusion")
fig.tight_layout()

# %% [markdown]
# ## At months 3, 6 and 12, and the medians
#
# "n.e.": beyond the group's longest follow-up (nobody left to estimate from); no interval where the
# estimate is 1 (the log-log interval is undefined there, as in R). Median: NaN when not reached.


# %%
def estimate(surv, low, high):
    """ "0.94 (0.78–0.98)"; the estimate alone where the log-log CI is undefined (S = 1 or 0); "n.e." beyond follow-up."""
    if not np.isfinite(surv):
        return "n.e."
    return f"{surv:.2f} ({low:.2f}–{high:.2f})" if np.isfinite(low) and np.isfinite(high) else f"{surv:.2f}"


rows = []
for (parameter, by, label), fit in fits.items():
    at = survival_at(fit, [3 * MONTH, 6 * MONTH, 12 * MONTH])
    median = median_survival(fit)
    rows.append(
        {
            "parameter": parameter,
            "grouping": by,
            "group": label,
            "n": fit.n,
            "events": int(fit.n_event.sum()),
            **{
                f"month {m}": estimate(s, lo, hi)
                for m, s, lo, hi in zip((3, 6, 12), at["surv"], at["ci_low"], at["ci_high"])
            },
            "median (months)": median.median / MONTH if np.isfinite(median.median) else np.nan,
        }
    )
pd.DataFrame(rows).set_index(["parameter", "grouping", "group"])
