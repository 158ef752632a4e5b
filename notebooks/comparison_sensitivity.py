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
# # Sensitivity of the historical comparisons
#
# How the trial-versus-published-cohort comparisons (`historical_comparison` rows of the ARD) move
# with two analysis-plan settings:
#
# - `high_burden_pct` — the marrow-blast percentage from which a participant is high burden
#   (grading.md, "Burden"). It decides which trial participants are compared with a cohort that
#   enrolled high-burden patients only (the burden-matched comparisons).
# - the Penn high-dose vasopressor table (`high_dose.*`) — every monotherapy threshold and the
#   combination norepinephrine-equivalent thresholds, multiplied together by a factor (the 3-hour
#   duration is kept). It decides Penn grade 4 in the trial's Penn approximation.
#
# Each setting is changed on its own, the other kept as in force for the run. For each value the
# pipeline's own derivations and analyses are re-run on the run's processed participants and
# events — `analysis.derive.all_tables.derive_all_tables`, then
# `analysis.stats.trial_ard.build_trial_ard` — so no rule is re-implemented here. Only aggregate
# numbers are shown.
#
# - `PACER_PROCESSED`: the output folder (default: the newest run under `data/processed/`).

# %%
import matplotlib.pyplot as plt

from analysis.explore import plan_in_force, processed_folder, read_tables, sensitivity
from analysis.reference.cohorts import load_cohorts

folder = processed_folder()
tables = read_tables(folder, ["participants", "events"])
base = plan_in_force(folder)
HIGH_BURDEN_PCTS = sorted({5.0, 25.0, 40.0, 50.0, 75.0, base.high_burden_pct})
HIGH_DOSE_FACTORS = [0.5, 0.75, 1.0, 1.5, 2.0]
print(f"output folder: {folder}")
print(f"in force: high_burden_pct = {base.high_burden_pct:g}; high_dose = {base.high_dose.model_dump()}")
print(f"primary comparison: {base.primary.endpoint} against {base.primary.comparator}")

# %% [markdown]
# ## Re-running derive and analyze under each setting

# %%
results = sensitivity(
    tables["participants"], tables["events"], base, load_cohorts().cohorts, HIGH_BURDEN_PCTS, HIGH_DOSE_FACTORS
)
results["comparison"] = results["cohort"] + " · " + results["endpoint"]
primary = f"{base.primary.comparator} · {base.primary.endpoint}"
print(f"{len(results)} comparison rows from {results[['setting', 'value']].drop_duplicates().shape[0]} settings")

# %% [markdown]
# ## Which comparisons move
#
# The trial's events and denominator (`trial_n/trial_N`) of every comparison that changes with the
# setting; `m` marks a burden-matched comparison (the cohort's marrow-blast floor is at least the
# high-burden threshold, so only the trial's high-burden participants are compared). A comparison
# that does not appear did not change at all.


# %%
def moving(setting):
    frame = results.loc[results["setting"] == setting]
    trial = frame["trial_n"].astype(int).astype(str) + "/" + frame["trial_N"].astype(int).astype(str)
    frame = frame.assign(trial=trial + frame["burden_matched"].map({1.0: " m"}).fillna(""))
    wide = frame.pivot(index="comparison", columns="value", values="trial")
    in_force = set(frame.loc[frame["is_base"], "value"])
    wide.columns = [f"{value:g}" + (" (in force)" if value in in_force else "") for value in wide.columns]
    changes = (
        frame.groupby("comparison")[["trial_n", "trial_N", "rd", "burden_matched"]].nunique(dropna=False).max(axis=1)
        > 1
    )
    return wide.loc[changes[changes].index]


moving("high_burden_pct")

# %%
moving("high_dose_factor")

# %% [markdown]
# ## Risk difference (trial − cohort) with its 95 % CI, by setting
#
# Newcombe hybrid score interval, as in the ARD; the primary comparison is drawn in black.

# %%
fig, axes = plt.subplots(1, 2, figsize=(14, 5.5), sharey=True)
labels = {
    "high_burden_pct": "high-burden threshold (% marrow blasts)",
    "high_dose_factor": "factor on the high-dose thresholds",
}
for ax, (setting, label) in zip(axes, labels.items()):
    frame = results.loc[results["setting"] == setting]
    changed = frame.groupby("comparison")["rd"].nunique() > 1
    shown = sorted(set(changed[changed].index) | {primary} & set(frame["comparison"]))
    for k, comparison in enumerate(shown):
        rows = frame.loc[frame["comparison"] == comparison].sort_values("value")
        colour = "black" if comparison == primary else f"C{k}"
        ax.plot(
            rows["value"],
            rows["rd"],
            "o-",
            color=colour,
            label=comparison + (" (primary)" if comparison == primary else ""),
        )
        ax.fill_between(rows["value"], rows["rd_ci_low"], rows["rd_ci_high"], color=colour, alpha=0.08)
    in_force = frame.loc[frame["is_base"], "value"].iloc[0]
    ax.axvline(in_force, color="grey", ls=":", lw=1)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel(label)
    ax.legend(fontsize=7, loc="best")
axes[0].set_ylabel("risk difference, trial − historical")
fig.tight_layout()

# %% [markdown]
# ## The primary comparison under every setting
#
# The one-sided exact binomial p-value is descriptive at an interim look (see the DSMB report).

# %%
columns = [
    "setting",
    "value",
    "is_base",
    "trial_n",
    "trial_N",
    "trial_p",
    "historical_p",
    "rd",
    "rd_ci_low",
    "rd_ci_high",
    "p_binom_1s",
]
results.loc[results["comparison"] == primary, columns].round(4).reset_index(drop=True)
