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
# # CRS timeline explorer
#
# One participant's course over days 0–30 after the infusion: temperature, systolic blood pressure,
# oxygen, vasopressors and the anakinra, tocilizumab and corticosteroid doses, under the CRS grade
# band (ASTCT 2019 and the Penn approximation) that the derive step wrote to `crs_timeline.parquet`.
#
# Everything is read from one output folder of `pacer run`; nothing is derived here. The charted
# values are the rows of `events.parquet`; the grades, the fever flag, the low-SBP flag and the
# levels are the derived state of `crs_timeline.parquet`.
#
# - `PACER_PROCESSED`: the output folder (default: the newest run under `data/processed/`).
# - `PACER_PARTICIPANT`: the participant (default: the infused participant with the highest grade).
#
# The executed notebook shows one participant's data: do not commit its `.ipynb`, share only
# within the closed (unblinded) team. No free text is shown.

# %%
import matplotlib.pyplot as plt
import pandas as pd

from analysis.explore import (
    default_participant,
    grade_spans,
    participant_course,
    plan_in_force,
    processed_folder,
    read_tables,
)

LAST_DAY = 30
folder = processed_folder()
tables = read_tables(folder, ["events", "crs_timeline", "crs", "anakinra"])
plan = plan_in_force(folder)
participant = default_participant(tables["crs"])
course = participant_course(tables["events"], tables["crs_timeline"], participant, last_day=LAST_DAY)
print(f"output folder: {folder}")
print(f"participant: {participant}")

# %% [markdown]
# ## The participant's CRS and anakinra summary (from `crs.parquet` and `anakinra.parquet`)

# %%
crs_columns = [
    "crs_max_grade",
    "crs_max_grade_penn",
    "crs_onset_hours",
    "crs_episodes",
    "crs_duration_hours",
    "crs_open",
]
anakinra_columns = [
    "first_fever_hours",
    "trigger_hours",
    "first_anakinra_hours",
    "fever_to_anakinra_hours",
    "anakinra_doses",
    "anakinra_escalated",
    "tocilizumab_given",
    "corticosteroids_given",
]
summary = pd.concat(
    [
        tables["crs"].set_index("participant_id").loc[participant, crs_columns],
        tables["anakinra"].set_index("participant_id").loc[participant, anakinra_columns],
    ]
)
summary.to_frame("value")

# %% [markdown]
# ## Days 0–30
#
# Shaded: ASTCT grade > 0 (darker = higher grade). Red bars under the SBP panel: intervals where the
# SBP in force is below the PALS threshold (`sbp_low`). Vasopressor rows run from their start to
# their end time; a row charted without an end time is drawn as a tick at its start.

# %%
GRADE_COLOURS = {1: "#fde0c5", 2: "#facba6", 3: "#f59e72", 4: "#e8684a", 5: "#b0302a"}
state = course["state"]
astct = grade_spans(state, "crs_grade")


def steps(column):
    """The interval starts and the last end, with the column's values (the last one repeated), for a step plot."""
    if state.empty:
        return [], []
    return [*state["start_day"], state["end_day"].iloc[-1]], [*state[column], state[column].iloc[-1]]


fig, axes = plt.subplots(
    6, 1, figsize=(11, 13), sharex=True, gridspec_kw={"height_ratios": [1.1, 1.4, 1.4, 1.1, 1.1, 1.1]}
)
for ax in axes:
    for span in astct.itertuples():
        ax.axvspan(span.start_day, span.end_day, color=GRADE_COLOURS.get(int(span.grade), "#b0302a"), alpha=0.6, lw=0)

ax = axes[0]
ax.step(*steps("crs_grade"), where="post", label="ASTCT", color="black")
ax.step(*steps("crs_grade_penn"), where="post", label="Penn approximation", color="tab:purple", ls="--")
ax.set_ylim(-0.2, 5.2)
ax.set_yticks(range(6))
ax.set_ylabel("CRS grade")
ax.legend(loc="upper right", fontsize=8)
ax.set_title(f"{participant}: days 0–{LAST_DAY} after the infusion")

ax = axes[1]
ax.plot(course["temperature"]["day"], course["temperature"]["value"], "o-", ms=3, lw=0.8, color="tab:red")
ax.axhline(plan.fever_celsius, color="grey", ls=":", lw=1)
ax.set_ylabel("temperature (°C)")

ax = axes[2]
ax.plot(course["sbp"]["day"], course["sbp"]["value"], "o-", ms=3, lw=0.8, color="tab:blue")
low = state.loc[state["sbp_low"]]
ax.hlines([ax.get_ylim()[0]] * len(low), low["start_day"], low["end_day"], color="red", lw=6)
ax.set_ylabel("SBP (mmHg)")

ax = axes[3]
ax.step(*steps("hypoxia_level"), where="post", color="tab:green", label="hypoxia level (derived)")
for row in course["oxygen"].itertuples():
    ax.annotate(row.code.replace("_", " "), (row.day, 0.2), fontsize=7, rotation=60, va="bottom")
ax.set_ylim(-0.2, 4.8)
ax.set_ylabel("oxygen")
ax.legend(loc="upper right", fontsize=8)

ax = axes[4]
for k, (drug, rows) in enumerate(course["vasopressor"].groupby("code")):
    colour = f"C{k}"
    ax.hlines(rows["value"], rows["day"], rows["end_day"].fillna(rows["day"]), lw=3, color=colour, label=drug)
    ax.plot(rows["day"], rows["value"], "|", ms=10, color=colour)
ax.set_ylabel("vasopressor\n(mcg/kg/min)")
if not course["vasopressor"].empty:
    ax.legend(loc="upper right", fontsize=8)

ax = axes[5]
rows_order = ["anakinra", "tocilizumab", "corticosteroid"]
doses = course["doses"]
for k, name in enumerate(rows_order):
    mine = doses.loc[doses["row"] == name]
    ax.plot(mine["day"], [k] * len(mine), "v", ms=7, color=f"C{k}")
ax.set_yticks(range(len(rows_order)), rows_order)
ax.set_ylim(-0.6, len(rows_order) - 0.4)
ax.set_xlim(0, LAST_DAY)
ax.set_xlabel("days after the infusion")
fig.tight_layout()

# %% [markdown]
# ## The doses charted (medication rows at or after the infusion, days 0–30)

# %%
doses

# %% [markdown]
# ## Vasopressor and oxygen rows charted
#
# `end_day` is empty when the row has no end time (the derivation then ends it at the next row of
# the same drug or device, see `docs/derived-tables.md`).

# %%
pd.concat({"vasopressor": course["vasopressor"], "oxygen": course["oxygen"]}, names=["kind", "row"])
