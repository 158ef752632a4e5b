"""CRS by ASTCT 2019 over time — grading.md, "CRS, ASTCT 2019" — and the tables of outputs.md.

:func:`build_crs_tables` is the entry point: ``participants`` and ``events`` (docs/processed-tables.md)
in, ``crs_timeline``, ``crs`` and ``queries`` out. The physiological state comes from
:mod:`analysis.derive.physiology`, the Penn approximation from :mod:`analysis.derive.penn`.

Choices made where grading.md is silent or ambiguous (each also in the docstring that applies it):

- **Follow-up**: the state, and so the timeline, runs from day 0 to the earliest of the export time
  or cut (``data_end_hours``), death, and day ``crs_followup_days`` (60). Rows at or after that
  horizon are not used for the state.
- **A new episode without fever** starts at the first moment after the previous episode's end at
  which hypotension ≥ 2 or hypoxia ≥ 2 holds and which lies in [m, m + 72 h] of a masking-drug dose
  m given at or after the first fever. A hypotension that began shortly before the dose and is
  still there at m starts the episode at m. (Reading "beginning at b" as "the run must *begin*
  inside [m, m + 72 h]" would let an *earlier* hypotension remove an episode: making a reading
  worse could then lower a grade.)
- **Grade 5** is a participant-level grade; the timeline's grades stop at 4 and at death.
- ``crs_duration_hours`` is 0 with no episode; an open episode counts up to its censoring time.
- ``first_fever_hours`` looks at every temperature at or after infusion, in the window or not;
  ``crs_onset_hours`` is the onset of the first episode that counts (starts within the window).
- ``crs_grade_reported_max`` takes every ``crs_grade_reported`` row of the participant.
- **Intervals** (:mod:`analysis.derive.physiology`): a vasopressor or oxygen row that started
  before infusion is not used, even if it runs past it ("never carried into day 0"); rows of one
  drug (or oxygen rows) at the same instant are one row with the worst dose/device and the latest
  end; only a row without an end that *no later row* ends (it runs to ``data_end_hours``) is
  flagged — a row ended by the next row of its drug is ordinary titration charting.
- **High dose**: a drug at its monotherapy threshold stays high dose when another vasopressor is
  added; "in combination" = two or more drugs running, vasopressin included.
- **Penn repeat bolus**: the earlier bolus may be at the same instant or up to exactly 24 h
  before (``penn_repeat_bolus_hours``).
- **Queries**: a reading gap counts from infusion to the first reading and from the last reading
  to the end of the window (or the horizon, if earlier).
- Numerical: times are compared in integer ticks of 10⁻⁶ h (exact "24 h", "3 h", "72 h"); doses
  with a 10⁻⁹ mcg/kg/min tolerance.
- Penn: see :mod:`analysis.derive.penn`; high dose: :func:`analysis.derive.penn.compute_high_dose`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.derive.key_times import derive_var_first_fever
from analysis.derive.penn import compute_crs_grade_penn
from analysis.derive.physiology import Physiology, build_physiology, prepare_events, prepare_participants
from analysis.derive.ticks import NEVER, asof_index, hours_to_ticks, pack, runs, take_or, to_hours, to_ticks
from analysis.settings import AnalysisPlan
from analysis.units import HOURS_PER_DAY

TIMELINE_COLUMNS: list[str] = [
    "participant_id",
    "start_hours",
    "end_hours",
    "episode",
    "crs_grade",
    "crs_grade_penn",
    "fever",
    "hypotension_level",
    "hypoxia_level",
    "temperature_observed",
    "sbp_observed",
    "sbp_low",
    "bolus",
    "repeat_bolus",
    "vasopressor_count",
    "vasopressin",
    "high_dose",
    "high_dose_run",
    "oxygen_device",
]
"""``crs_timeline`` columns: outputs.md's required ones, then the state that drives them."""

CRS_COLUMNS: list[str] = [
    "participant_id",
    "crs_any",
    "crs_onset_hours",
    "crs_max_grade",
    "crs_max_grade_penn",
    "crs_episodes",
    "crs_duration_hours",
    "crs_open",
    "crs_grade_reported_max",
    "first_fever_hours",
    "crs_grade3plus",
    "crs_grade4plus",
    "crs_penn_grade3plus",
    "crs_penn_grade4plus",
    "crs_death",
    "crs_end_hours",
    "crs_followed_to_hours",
]
"""``crs`` columns: outputs.md's required ones, then extras for the analyses (ard ``crs_rate``)."""

EPISODE_COLUMNS: list[str] = [
    "participant_id",
    "episode",
    "start_hours",
    "end_hours",
    "duration_hours",
    "open",
    "open_reason",
    "crs_grade",
    "crs_grade_penn",
]

MASKING_MIN_LEVEL = 2
"""grading.md, "A new episode": hypotension ≥ 2 or hypoxia ≥ 2 may start an episode without fever."""


# --------------------------------------------------------------------------------------------
# onset and masking


def derive_masking_doses(
    prepared_events: pd.DataFrame, prepared_participants: pd.DataFrame, first_fever: np.ndarray, plan: AnalysisPlan
) -> pd.DataFrame:
    """Masking-drug doses that may let a new episode start without fever.

    grading.md, "A new episode": *m is a dose of a masking drug* [choice ``masking_drugs``]
    *given at or after the participant's first CRS onset*. Only doses before the horizon matter.

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``t`` (ticks), sorted.
    """
    medications = prepared_events.loc[prepared_events["event_type"] == "medication", ["pid", "t", "detail"]]
    doses = medications.loc[medications["detail"].isin(list(plan.masking_drugs)), ["pid", "t"]]
    pid = doses["pid"].to_numpy()
    keep = (doses["t"].to_numpy() >= first_fever[pid]) & (
        doses["t"].to_numpy() < prepared_participants["horizon"].to_numpy()[pid]
    )
    return doses.loc[keep].sort_values(["pid", "t"], kind="mergesort").reset_index(drop=True)


def compute_masking_cover(state: pd.DataFrame, masking: pd.DataFrame, plan: AnalysisPlan) -> np.ndarray:
    """``masking_cover`` per grid interval: the moment lies in [m, m + ``masking_hours``] of a masking dose m.

    grading.md, "A new episode" [choice ``masking_hours``], both bounds included. Masking doses
    are grid boundaries, so a grid interval is covered from its start iff its start is covered.

    Returns
    -------
    numpy.ndarray
        bool per row of ``state`` (``pid``, ``start``).
    """
    pid = state["pid"].to_numpy()
    start = state["start"].to_numpy()
    idx = asof_index(masking["pid"].to_numpy(), masking["t"].to_numpy(), pid, start)
    covered = (idx >= 0) & (start <= take_or(masking["t"].to_numpy(), idx, -NEVER) + hours_to_ticks(plan.masking_hours))
    return covered


# --------------------------------------------------------------------------------------------
# episodes


def compute_crs_episodes(
    state: pd.DataFrame, prepared_participants: pd.DataFrame, plan: AnalysisPlan
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """ASTCT CRS episodes on the state grid, and each moment's ``episode`` and ``crs_grade``.

    grading.md, "CRS, ASTCT 2019":

    - **Onset** = the first fever; before it there is no CRS, whatever the blood pressure or oxygen.
    - **Episode end**: with D(t) true while fever, hypotension level > 0, any oxygen or any
      vasopressor holds, an episode with onset s ends at the first t ≥ s such that D is false
      throughout [t, t + 24 h) [choice ``episode_gap_hours``; exactly 24 h suffices]: the start of
      the first *clean span* (a maximal D-false run of at least 24 h) after s. Unobserved readings
      are normal. An episode with no clean span before the horizon (death, day
      ``crs_followup_days``, or the export time/cut) is *open*, censored at the horizon.
    - **A new episode**, after the previous has ended, starts at the next fever, or at the first
      moment at which hypotension ≥ 2 or hypoxia ≥ 2 holds within [m, m + 72 h] of a masking-drug
      dose m given at or after the first fever (``masking_cover``; see the module docstring for
      why the first such *moment* rather than the beginning of the run).
    - **Window**: only episodes starting within days 0–``crs_window_days`` (both ends included)
      count; each is followed to its end or the horizon.
    - **Grade** within an episode at every moment = max(1, hypotension level, hypoxia level); 0
      outside episodes.

    Vectorized: clean spans cut each participant's grid into segments; an episode starts at the
    first candidate moment (fever, or masked hypotension/hypoxia) of a segment and runs to the
    segment's end (the next clean span's start, or the horizon — then it is open).

    Parameters
    ----------
    state
        The physiology state (:class:`~analysis.derive.physiology.Physiology`) with
        ``masking_cover`` (:func:`compute_masking_cover`).
    prepared_participants
        :func:`~analysis.derive.physiology.prepare_participants`.
    plan
        The analysis plan.

    Returns
    -------
    columns : dict
        ``episode`` (0 outside, else 1, 2, … per participant) and ``crs_grade`` arrays, per row of
        ``state``.
    episodes : pandas.DataFrame
        ``pid``, ``episode``, ``start``, ``end`` (ticks), ``open``, ``group`` (internal).
    """
    pid = state["pid"].to_numpy()
    start = state["start"].to_numpy()
    end = state["end"].to_numpy()
    n = len(state)
    hypotension = state["hypotension_level"].to_numpy()
    hypoxia = state["hypoxia_level"].to_numpy()
    fever = state["fever"].to_numpy(dtype=bool)

    active = fever | (hypotension > 0) | (hypoxia > 0)
    clean_start, _, clean_ticks = runs(pid, ~active, end - start)
    clean_start &= clean_ticks >= hours_to_ticks(plan.episode_gap_hours)

    masked = ((hypotension >= MASKING_MIN_LEVEL) | (hypoxia >= MASKING_MIN_LEVEL)) & state["masking_cover"].to_numpy(
        dtype=bool
    )
    candidate = fever | masked

    first_of_pid = np.ones(n, dtype=bool)
    first_of_pid[1:] = pid[1:] != pid[:-1]
    new_group = first_of_pid | clean_start
    group = np.cumsum(new_group) - 1
    group_first = np.flatnonzero(new_group)
    if n:
        group_last = np.r_[group_first[1:] - 1, n - 1]
        group_start = np.minimum.reduceat(np.where(candidate, start, NEVER), group_first)
    else:
        group_last = group_first
        group_start = np.zeros(0, dtype="int64")
    group_pid = pid[group_first]
    group_end = end[group_last]
    group_open = np.r_[group_pid[1:] != group_pid[:-1], True] if len(group_first) else np.zeros(0, dtype=bool)
    counted = group_start <= hours_to_ticks(plan.crs_window_days * HOURS_PER_DAY)

    cum = np.cumsum(counted)
    pid_first_group = np.r_[True, group_pid[1:] != group_pid[:-1]] if len(group_first) else np.zeros(0, dtype=bool)
    first_index = np.maximum.accumulate(np.where(pid_first_group, np.arange(len(group_first)), 0))
    number = np.where(counted, cum - (cum - counted)[first_index], 0)

    in_episode = counted[group] & (start >= group_start[group]) if n else np.zeros(0, dtype=bool)
    episode = np.where(in_episode, number[group], 0).astype("int64")
    grade = np.where(in_episode, np.maximum(1, np.maximum(hypotension, hypoxia)), 0).astype("int64")

    episodes = pd.DataFrame(
        {
            "pid": group_pid[counted],
            "episode": number[counted].astype("int64"),
            "start": group_start[counted],
            "end": group_end[counted],
            "open": group_open[counted],
            "group": np.flatnonzero(counted),
        }
    )
    return {"episode": episode, "crs_grade": grade}, episodes


def derive_episode_grades(
    state: pd.DataFrame, episodes: pd.DataFrame, prepared_participants: pd.DataFrame, plan: AnalysisPlan
) -> pd.DataFrame:
    """Each episode's maximum ASTCT and Penn-approximate grade, length and censoring.

    grading.md, "CRS, ASTCT 2019": *a participant's maximum grade is the maximum over all
    episodes*; an open episode's *duration is censored* at death, the end of CRS follow-up or the
    cut (``open_reason`` says which).

    Returns
    -------
    pandas.DataFrame
        :data:`EPISODE_COLUMNS` (hours), sorted by participant and episode, with ``pid`` and
        ``start``, ``end`` in ticks.
    """
    in_episode = state.loc[state["episode"] > 0]
    grades = in_episode.groupby(["pid", "episode"], sort=True).agg(
        crs_grade=("crs_grade", "max"), crs_grade_penn=("crs_grade_penn", "max")
    )
    out = episodes.merge(grades.reset_index(), on=["pid", "episode"], how="left")
    death = prepared_participants["death"].to_numpy()[out["pid"].to_numpy()]
    end = out["end"].to_numpy()
    followup_end = hours_to_ticks(plan.crs_followup_days * HOURS_PER_DAY)
    reason = np.select(
        [end == death, end == followup_end],
        ["death", f"end of CRS follow-up (day {plan.crs_followup_days:g})"],
        "data cut",
    )
    return pd.DataFrame(
        {
            "participant_id": prepared_participants["participant_id"].to_numpy(dtype=object)[out["pid"].to_numpy()],
            "pid": out["pid"].to_numpy(),
            "episode": out["episode"].to_numpy(dtype="int64"),
            "start_hours": to_hours(out["start"].to_numpy()),
            "end_hours": to_hours(end),
            "duration_hours": to_hours(end - out["start"].to_numpy()),
            "open": out["open"].to_numpy(dtype=bool),
            "open_reason": np.where(out["open"].to_numpy(dtype=bool), reason, None).astype(object),
            "crs_grade": out["crs_grade"].fillna(1).to_numpy(dtype="int64"),
            "crs_grade_penn": out["crs_grade_penn"].fillna(1).to_numpy(dtype="int64"),
            "start": out["start"].to_numpy(dtype="int64"),
            "end": end.astype("int64"),
        }
    )


def compute_crs_death(prepared_participants: pd.DataFrame, episodes: pd.DataFrame, plan: AnalysisPlan) -> np.ndarray:
    """Grade 5: death with cause ``crs`` during an episode or within the window, per participant.

    grading.md, "Grade 5": *death with cause crs during an episode or within the window (with no
    episode: crs_any true, no onset, 0 episodes). Grade 5 applies to the Penn approximation too.*
    "During an episode" = at a time t with start ≤ t ≤ end of a counted episode (an episode open
    at death ends at the death); the window is days 0–``crs_window_days``, both ends included.

    Returns
    -------
    numpy.ndarray
        bool indexed by ``pid``.
    """
    death = prepared_participants["death"].to_numpy()
    crs_cause = (prepared_participants["death_cause"].to_numpy(dtype=object) == "crs") & (death < NEVER)
    in_window = death <= hours_to_ticks(plan.crs_window_days * HOURS_PER_DAY)
    ep_pid = episodes["pid"].to_numpy()
    ep_death = death[ep_pid]
    start = episodes["start"].to_numpy()
    end = episodes["end"].to_numpy()
    during = np.zeros(len(prepared_participants), dtype=bool)
    hit = (start <= ep_death) & (ep_death <= end)
    during[ep_pid[hit]] = True
    return crs_cause & (in_window | during)


# --------------------------------------------------------------------------------------------
# tables


def _constant_runs(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Merge consecutive intervals of one participant whose ``columns`` are all equal."""
    n = len(frame)
    if n == 0:
        return frame
    change = np.ones(n, dtype=bool)
    pid = frame["pid"].to_numpy()
    same = pid[1:] == pid[:-1]
    for column in columns:
        values = frame[column].to_numpy()
        same &= values[1:] == values[:-1]
    change[1:] = ~same
    first = np.flatnonzero(change)
    last = np.r_[first[1:] - 1, n - 1]
    out = frame.iloc[first].reset_index(drop=True)
    out["end"] = frame["end"].to_numpy()[last]
    return out


def derive_crs_timeline(state: pd.DataFrame, prepared_participants: pd.DataFrame) -> pd.DataFrame:
    """``crs_timeline``: participant × interval of piecewise-constant state (outputs.md).

    Consecutive intervals where nothing shown changes are merged. Times in hours since infusion;
    ``oxygen_device`` is null without oxygen. Grade 5 does not appear (death ends the timeline).
    """
    shown = [c for c in TIMELINE_COLUMNS if c not in ("participant_id", "start_hours", "end_hours")]
    merged = _constant_runs(state, shown)
    out = pd.DataFrame(
        {
            "participant_id": prepared_participants["participant_id"].to_numpy(dtype=object)[merged["pid"].to_numpy()],
            "start_hours": to_hours(merged["start"].to_numpy()),
            "end_hours": to_hours(merged["end"].to_numpy()),
        }
    )
    for column in shown:
        out[column] = merged[column].to_numpy()
    for column in ("episode", "crs_grade", "crs_grade_penn", "hypotension_level", "hypoxia_level", "vasopressor_count"):
        out[column] = out[column].astype("int64")
    for column in (
        "fever",
        "temperature_observed",
        "sbp_observed",
        "sbp_low",
        "bolus",
        "repeat_bolus",
        "vasopressin",
        "high_dose",
        "high_dose_run",
    ):
        out[column] = out[column].astype(bool)
    out["oxygen_device"] = out["oxygen_device"].astype(object).where(out["oxygen_device"] != "", None)
    return out[TIMELINE_COLUMNS]


def derive_crs_summary(
    prepared_participants: pd.DataFrame,
    episodes: pd.DataFrame,
    crs_death: np.ndarray,
    first_fever_hours: np.ndarray,
    events: pd.DataFrame,
) -> pd.DataFrame:
    """``crs``: one row per infused participant (outputs.md).

    grading.md, "CRS, ASTCT 2019": ``crs_any`` = at least one episode within the window, or grade
    5; ``crs_onset_hours`` = the first counted episode's onset; ``crs_max_grade`` = the maximum
    over episodes, 5 for a death from CRS (:func:`compute_crs_death`), 0 without CRS; likewise
    ``crs_max_grade_penn`` (approximation); ``crs_episodes`` counts fever and masked episodes;
    ``crs_duration_hours`` = the sum of episode lengths (0 without an episode; an open episode up
    to its censoring); ``crs_open`` = an episode is open; ``crs_grade_reported_max`` = the maximum
    ``crs_grade_reported`` (null if none); ``first_fever_hours`` = the first temperature ≥ 38.0 °C
    after infusion, read from :func:`analysis.derive.key_times.derive_var_first_fever` (the
    value ``anakinra`` shows too). Extras: ``crs_grade3plus``, ``crs_grade4plus``, ``crs_penn_grade3plus``,
    ``crs_penn_grade4plus`` (severe CRS, grading.md: *also report ≥ 4*), ``crs_death`` (grade 5),
    ``crs_end_hours`` (end or censoring of the last episode), ``crs_followed_to_hours`` (the
    horizon).
    """
    n = len(prepared_participants)
    by = episodes.groupby("pid", sort=True)
    per = pd.DataFrame(
        {
            "episodes": by.size(),
            "onset": by["start_hours"].min(),
            "grade": by["crs_grade"].max(),
            "penn": by["crs_grade_penn"].max(),
            "duration": by["duration_hours"].sum(),
            "open": by["open"].any(),
            "end": by["end_hours"].max(),
        }
    ).reindex(np.arange(n))
    n_episodes = per["episodes"].fillna(0).to_numpy(dtype="int64")
    grade = np.where(crs_death, 5, per["grade"].fillna(0).to_numpy()).astype("int64")
    penn = np.where(crs_death, 5, per["penn"].fillna(0).to_numpy()).astype("int64")

    is_reported = (events["event_type"] == "crs_grade_reported").fillna(False).to_numpy(dtype=bool)
    reported = (
        pd.DataFrame(
            {
                "participant_id": events.loc[is_reported, "participant_id"].astype(str).to_numpy(dtype=object),
                "value": events.loc[is_reported, "value"].to_numpy(dtype="float64", na_value=np.nan),
            }
        )
        .groupby("participant_id")["value"]
        .max()
    )
    reported_max = prepared_participants["participant_id"].map(reported).round().astype("Int64")

    return pd.DataFrame(
        {
            "participant_id": prepared_participants["participant_id"].to_numpy(dtype=object),
            "crs_any": (n_episodes > 0) | crs_death,
            "crs_onset_hours": per["onset"].to_numpy(dtype="float64"),
            "crs_max_grade": grade,
            "crs_max_grade_penn": penn,
            "crs_episodes": n_episodes,
            "crs_duration_hours": per["duration"].fillna(0.0).to_numpy(dtype="float64"),
            "crs_open": per["open"].astype("boolean").fillna(False).to_numpy(dtype=bool),
            "crs_grade_reported_max": reported_max.to_numpy(),
            "first_fever_hours": np.asarray(first_fever_hours, dtype="float64"),
            "crs_grade3plus": grade >= 3,
            "crs_grade4plus": grade >= 4,
            "crs_penn_grade3plus": penn >= 3,
            "crs_penn_grade4plus": penn >= 4,
            "crs_death": np.asarray(crs_death, dtype=bool),
            "crs_end_hours": per["end"].to_numpy(dtype="float64"),
            "crs_followed_to_hours": to_hours(prepared_participants["horizon"].to_numpy()),
        }
    ).astype({"crs_grade_reported_max": "Int64"})[CRS_COLUMNS]


def _hours_text(ticks: np.ndarray) -> np.ndarray:
    """Hours as short text: 12, 12.5, 12.25."""
    text = np.char.mod("%.2f", to_hours(np.asarray(ticks, dtype="int64")))
    return np.char.rstrip(np.char.rstrip(text, "0"), ".").astype(object)


def _queries_frame(pid: np.ndarray, kind: str, detail: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    pid = np.asarray(pid, dtype="int64")
    return {
        "pid": pid,
        "kind": np.full(len(pid), kind, dtype=object),
        "detail": np.asarray(detail, dtype=object),
        "_t": np.asarray(t, dtype="int64"),
    }


def _reading_gap_queries(
    pid: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    unobserved_from: np.ndarray,
    label: str,
    window: np.ndarray,
    plan: AnalysisPlan,
) -> dict[str, np.ndarray]:
    """One ``reading_gap`` query per participant and reading type: how many gaps, the hours unobserved, the longest.

    A protocol with daily vitals after day 14 has a gap every day; one row per participant and
    type keeps the queries readable while naming every hour the state was read as normal.
    """
    gaps = pd.DataFrame({"pid": pid, "a": a, "b": b, "unobserved": b - unobserved_from, "length": b - a})
    if gaps.empty:
        return _queries_frame(pid, "reading_gap", np.array([], dtype=object), a)
    longest = gaps.sort_values(["pid", "length", "a"], ascending=[True, False, True], kind="mergesort").drop_duplicates(
        "pid"
    )
    summary = gaps.groupby("pid", sort=True).agg(
        count=("a", "size"), unobserved=("unobserved", "sum"), first=("a", "min")
    )
    longest = longest.set_index("pid").loc[summary.index]
    count = summary["count"].to_numpy()
    detail = (
        count.astype(str).astype(object)
        + np.where(count == 1, " gap", " gaps").astype(object)
        + f" in {label} readings longer than the {plan.reading_hold_hours:g} h a reading holds, in days 0-"
        + f"{plan.crs_window_days:g} (observed to hour "
        + _hours_text(window[summary.index.to_numpy()])
        + "): "
        + _hours_text(summary["unobserved"].to_numpy())
        + " h unobserved in all, read as normal; longest from hour "
        + _hours_text(longest["a"].to_numpy())
        + " to hour "
        + _hours_text(longest["b"].to_numpy())
        + " ("
        + _hours_text(longest["length"].to_numpy())
        + " h)"
    )
    return _queries_frame(summary.index.to_numpy(), "reading_gap", detail, summary["first"].to_numpy())


def derive_crs_queries(physiology: Physiology, episodes: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Data queries of the CRS derivation (outputs.md, ``queries.parquet``), in plain words with the values.

    Kinds:

    - ``reading_gap``: no ``temperature`` (or ``systolic_bp``) reading for longer than
      ``reading_hold_hours`` inside days 0–``crs_window_days`` (from infusion to the first reading,
      between readings, from the last reading to the end of the window or the horizon): the state
      is unobserved there, read as normal (grading.md, "The physiological state over time"). One
      row per participant and reading type, with the number of gaps, the hours unobserved and the
      longest gap.
    - ``no_temperature_in_window``: no temperature reading at all in the window (observed part).
    - ``open_interval``: a vasopressor or oxygen row with no end time and no later row to end it,
      taken as running to the export time or the cut (grading.md, "Intervals").
    - ``crs_episode_open``: an episode with no clean span by death, the end of CRS follow-up or the
      cut (grading.md, "Episode end").

    Returns
    -------
    pandas.DataFrame
        ``pid``, ``kind``, ``detail``, ``_t`` (for ordering).
    """
    prepared_participants = physiology.participants
    horizon = prepared_participants["horizon"].to_numpy()
    window = np.minimum(hours_to_ticks(plan.crs_window_days * HOURS_PER_DAY), horizon)
    hold = hours_to_ticks(plan.reading_hold_hours)
    parts: list[dict[str, np.ndarray]] = []

    has_window = window > 0
    for label, readings in (("temperature", physiology.temperature), ("systolic_bp", physiology.systolic_bp)):
        r_pid = readings["pid"].to_numpy()
        r_t = readings["start"].to_numpy()
        inside = r_t <= window[r_pid]
        r_pid, r_t = r_pid[inside], r_t[inside]
        n_readings = np.bincount(r_pid, minlength=len(prepared_participants))
        pids = prepared_participants["pid"].to_numpy()[has_window]
        if label == "temperature":
            none = has_window & (n_readings == 0)
            parts.append(
                _queries_frame(
                    np.flatnonzero(none),
                    "no_temperature_in_window",
                    "no temperature reading in days 0-"
                    + f"{plan.crs_window_days:g}"
                    + " (observed to hour "
                    + _hours_text(window[none])
                    + "): fever, and so CRS onset, cannot be assessed",
                    np.zeros(int(none.sum()), dtype="int64"),
                )
            )
            pids = pids[n_readings[pids] > 0]
        all_pid = np.concatenate([pids, pids, r_pid])
        all_t = np.concatenate([np.zeros(len(pids), dtype="int64"), window[pids], r_t])
        is_reading = np.concatenate([np.zeros(2 * len(pids), dtype=bool), np.ones(len(r_pid), dtype=bool)])
        # by participant, time, a reading before a bound at the same time: one packed key, one sort
        order = np.argsort((pack(all_pid, all_t) << 1) | ~is_reading, kind="stable")
        all_pid, all_t, is_reading = all_pid[order], all_t[order], is_reading[order]
        keep = np.ones(len(all_t), dtype=bool)
        keep[1:] = (all_pid[1:] != all_pid[:-1]) | (all_t[1:] != all_t[:-1])
        all_pid, all_t, is_reading = all_pid[keep], all_t[keep], is_reading[keep]
        gap = np.zeros(len(all_t), dtype=bool)
        gap[:-1] = (all_pid[1:] == all_pid[:-1]) & (all_t[1:] - all_t[:-1] > hold)
        a = all_t[gap]
        b = all_t[np.flatnonzero(gap) + 1]
        unobserved_from = np.where(is_reading[gap], a + hold, a)
        parts.append(_reading_gap_queries(all_pid[gap], a, b, unobserved_from, label, window, plan))

    data_end = prepared_participants["data_end"].to_numpy()
    v = physiology.vasopressor.loc[physiology.vasopressor["open"]]
    parts.append(
        _queries_frame(
            v["pid"].to_numpy(),
            "open_interval",
            v["drug"].to_numpy(dtype=object)
            + " from hour "
            + _hours_text(v["start"].to_numpy())
            + " has no end time and no later "
            + v["drug"].to_numpy(dtype=object)
            + " row: taken as running until hour "
            + _hours_text(data_end[v["pid"].to_numpy()])
            + " (the export time or the cut)",
            v["start"].to_numpy(),
        )
    )
    o = physiology.oxygen.loc[physiology.oxygen["open"]]
    parts.append(
        _queries_frame(
            o["pid"].to_numpy(),
            "open_interval",
            "oxygen ("
            + o["device"].to_numpy(dtype=object)
            + ") from hour "
            + _hours_text(o["start"].to_numpy())
            + " has no end time and no later oxygen row: taken as running until hour "
            + _hours_text(data_end[o["pid"].to_numpy()])
            + " (the export time or the cut)",
            o["start"].to_numpy(),
        )
    )

    e = episodes.loc[episodes["open"]]
    start = e["start"].to_numpy()
    end = e["end"].to_numpy()
    parts.append(
        _queries_frame(
            e["pid"].to_numpy(),
            "crs_episode_open",
            "CRS episode "
            + e["episode"].astype(str).to_numpy(dtype=object)
            + " (onset hour "
            + _hours_text(start)
            + f") has no clean {plan.episode_gap_hours:g} h span by hour "
            + _hours_text(end)
            + " ("
            + e["open_reason"].to_numpy(dtype=object)
            + "): duration censored at "
            + _hours_text(end - start)
            + " h",
            start,
        )
    )
    return pd.DataFrame({column: np.concatenate([part[column] for part in parts]) for column in parts[0]})


def build_crs_tables(participants: pd.DataFrame, events: pd.DataFrame, plan: AnalysisPlan) -> dict[str, pd.DataFrame]:
    """ASTCT CRS over time, the Penn approximation, and their queries.

    grading.md, "The physiological state over time", "CRS, ASTCT 2019" and "CRS, Penn scale";
    outputs.md, ``crs.parquet``, ``crs_timeline.parquet``, ``queries.parquet``.

    Parameters
    ----------
    participants, events
        The processed tables of docs/processed-tables.md.
    plan
        The analysis plan.

    Returns
    -------
    dict
        ``crs_timeline`` (participant × interval, sorted by ``participant_id``, ``start_hours``),
        ``crs`` (one row per infused participant, sorted by ``participant_id``) and ``queries``
        (``participant_id``, ``kind``, ``detail``).

    Examples
    --------
    >>> tables = build_crs_tables(participants, events, AnalysisPlan())  # doctest: +SKIP
    >>> tables["crs"].loc[:, ["participant_id", "crs_max_grade", "crs_max_grade_penn"]]  # doctest: +SKIP
    """
    prepared_participants = prepare_participants(participants, events, plan)
    prepared_events = prepare_events(events, prepared_participants)
    first_fever = derive_var_first_fever(participants, events, plan).set_index("participant_id")["first_fever_hours"]
    first_fever_hours = (
        prepared_participants["participant_id"].map(first_fever).to_numpy(dtype="float64", na_value=np.nan)
    )
    first_fever = to_ticks(first_fever_hours)
    masking = derive_masking_doses(prepared_events, prepared_participants, first_fever, plan)
    physiology = build_physiology(
        prepared_participants, prepared_events, plan, extra_times=[(masking["pid"].to_numpy(), masking["t"].to_numpy())]
    )
    del prepared_events  # millions of rows at registry scale, read by nothing below: its memory serves the state

    state = physiology.state  # built by build_physiology for this call alone: columns are added in place
    state["masking_cover"] = compute_masking_cover(state, masking, plan)
    columns, episode_groups = compute_crs_episodes(state, prepared_participants, plan)
    for name, values in columns.items():
        state[name] = values
    state["crs_grade_penn"] = compute_crs_grade_penn(state)
    episodes = derive_episode_grades(state, episode_groups, prepared_participants, plan)
    crs_death = compute_crs_death(prepared_participants, episodes, plan)

    crs = derive_crs_summary(prepared_participants, episodes, crs_death, first_fever_hours, events)
    timeline = derive_crs_timeline(state, prepared_participants)
    queries = derive_crs_queries(physiology, episodes, plan)
    queries = queries.sort_values(["pid", "kind", "_t", "detail"], kind="mergesort")
    queries = pd.DataFrame(
        {
            "participant_id": prepared_participants["participant_id"].to_numpy(dtype=object)[queries["pid"].to_numpy()],
            "kind": queries["kind"].to_numpy(dtype=object),
            "detail": queries["detail"].to_numpy(dtype=object),
        }
    )
    return {"crs_timeline": timeline.reset_index(drop=True), "crs": crs.reset_index(drop=True), "queries": queries}
