"""Time-to-event parameters declared, not coded — the pharmaverse admiral ``derive_param_tte`` pattern.

grading.md, "Response and 12-month outcomes": a parameter has an origin, events and censorings;
*cnsr 0 event; 1 last known alive; 2 12-month horizon; 3 HSCT in remission; 4 new therapy in
remission*. A parameter is a few lines of declaration::

    os_events = [EventSource("death", event_types=("death",), evntdesc="death")]
    os_censors = [CensorSource("last_known_alive", cnsr=1, dataset_name="lka", cnsdtdsc="last known alive")]
    derive_param_tte(origin, os_events, os_censors, "OS", "Overall survival",
                     source_datasets={"events": events, "lka": lka}, horizon_days=plan.horizon_days)

Every source reads a *candidate frame* (``participant_id`` and a time in hours from infusion,
default column ``hours_from_infusion``, plus whatever its filter needs) named in
``source_datasets``. :func:`derive_param_tte` then takes, per participant, the first event, or
else the last censoring, with these rules:

- only candidates at or after the participant's origin count;
- a censoring source with ``ends_follow_up`` (HSCT or new therapy in remission) ends follow-up at
  its earliest time: later events and censorings are ignored;
- an event beats a censoring at the same time; among sources at the same time the one declared
  first wins (so the declaration order is the tie-break, and it is visible);
- the horizon (``horizon_days`` on the study-day scale, day 0 = infusion) truncates: an event
  after it, or a censoring at or after it, becomes a censoring at the horizon with
  ``horizon_cnsr`` (grading.md: *Follow-up ends at the earliest of death, the cut and 12 months
  (365.25 d)*; *censored at 365.25 d once 12 months are complete*). An event exactly at the
  horizon stays an event ("days a–b" includes both ends).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.units import HOURS_PER_DAY

TIME_COLUMN = "hours_from_infusion"
"""Default time column of a candidate frame: hours since infusion (grading.md, "Time")."""

RowFilter = Callable[[pd.DataFrame], pd.Series]
TimeSpec = str | Callable[[pd.DataFrame], pd.Series]
TextSpec = str | Callable[[pd.DataFrame], pd.Series]

ADTTE_COLUMNS: list[str] = [
    "participant_id",
    "paramcd",
    "param",
    "aval",
    "cnsr",
    "evntdesc",
    "cnsdtdsc",
    "event_code",
    "origin_hours",
    "source",
]
"""Columns of :func:`derive_param_tte`'s result, in order (outputs.md, ``adtte.parquet``, plus
``origin_hours`` — the origin in hours from infusion — and ``source``, the name of the source
that decided the row, for traceability)."""


@dataclass(frozen=True)
class EventSource:
    """An event of a time-to-event parameter (admiral ``event_source``).

    Parameters
    ----------
    name
        Short name, written to the ``source`` column when this source decides a row.
    dataset_name
        Key of the candidate frame in ``source_datasets``.
    event_types
        If given, keep only rows whose ``event_type`` is one of these.
    filter
        If given, a function of the candidate frame returning a boolean mask (NA = False).
    time
        Column name, or a function of the (filtered) frame, giving hours from infusion.
    evntdesc
        Event description: text, or a function of the frame giving one text per row.
    event_code
        Code for competing-risk parameters (CIR: 1 relapse, 2 death without relapse); ``None``
        elsewhere.
    """

    name: str
    dataset_name: str = "events"
    event_types: tuple[str, ...] | None = None
    filter: RowFilter | None = None
    time: TimeSpec = TIME_COLUMN
    evntdesc: TextSpec = ""
    event_code: int | None = None


@dataclass(frozen=True)
class CensorSource:
    """A censoring of a time-to-event parameter (admiral ``censor_source``).

    Parameters
    ----------
    name, dataset_name, event_types, filter, time
        As in :class:`EventSource`.
    cnsr
        Censoring code (grading.md: 1 last known alive, 3 HSCT in remission, 4 new therapy in
        remission; 2 is the horizon, applied by :func:`derive_param_tte`).
    cnsdtdsc
        Censoring-date description: text, or a function of the frame.
    ends_follow_up
        True when the censoring ends the participant's follow-up for this parameter (HSCT or new
        therapy in remission): events after it no longer count.
    """

    name: str
    cnsr: int
    dataset_name: str = "events"
    event_types: tuple[str, ...] | None = None
    filter: RowFilter | None = None
    time: TimeSpec = TIME_COLUMN
    cnsdtdsc: TextSpec = ""
    ends_follow_up: bool = False


def _text(spec: TextSpec, frame: pd.DataFrame) -> np.ndarray:
    if callable(spec):
        return pd.Series(spec(frame), index=frame.index).astype("string").to_numpy(dtype=object)
    return np.full(len(frame), spec, dtype=object)


def _candidates(
    source: EventSource | CensorSource,
    order: int,
    datasets: Mapping[str, pd.DataFrame],
    origin: pd.DataFrame,
    text: TextSpec,
) -> pd.DataFrame:
    """The candidate rows of one source: participant_id, t (hours from infusion), order, text, name."""
    if source.dataset_name not in datasets:
        raise KeyError(
            f"source {source.name!r}: dataset {source.dataset_name!r} not in source_datasets ({sorted(datasets)})"
        )
    data = datasets[source.dataset_name]
    mask = pd.Series(True, index=data.index)
    if source.event_types is not None:
        mask &= data["event_type"].isin(source.event_types).fillna(False).astype(bool)
    if source.filter is not None:
        mask &= pd.Series(source.filter(data), index=data.index).fillna(False).astype(bool)
    rows = data.loc[mask]
    times = rows[source.time] if isinstance(source.time, str) else source.time(rows)
    frame = pd.DataFrame(
        {
            "participant_id": rows["participant_id"].astype("string").to_numpy(dtype=object),
            "t": pd.to_numeric(pd.Series(times, index=rows.index), errors="coerce").to_numpy(dtype=float),
            "order": order,
            "text": _text(text, rows),
            "name": source.name,
        }
    )
    frame = frame.loc[frame["t"].notna()]
    frame = frame.merge(origin[["participant_id", "origin_hours"]], on="participant_id", how="inner")
    return frame.loc[frame["t"] >= frame["origin_hours"]].drop(columns="origin_hours")


def derive_param_tte(
    origin: pd.DataFrame,
    events: Sequence[EventSource],
    censors: Sequence[CensorSource],
    paramcd: str,
    param: str = "",
    *,
    source_datasets: Mapping[str, pd.DataFrame],
    horizon_days: float | None = None,
    horizon_cnsr: int = 2,
    horizon_desc: str = "12-month horizon",
) -> pd.DataFrame:
    """Derive one time-to-event parameter: the first event, else the last censoring, per participant.

    grading.md, "Response and 12-month outcomes" (the OS, EFS, RFS and CIR rules are declared in
    :mod:`analysis.derive.adtte`); style.md, admiral ``derive_param_tte``.

    Parameters
    ----------
    origin
        One row per participant of the parameter: ``participant_id`` and ``origin_hours`` (hours
        from infusion; 0 for OS/EFS/CIR, the first CR/CRi for RFS). Participants absent from it get
        no row; so does one whose origin lies after the horizon.
    events, censors
        The declared sources; their order is the tie-break at equal times.
    paramcd, param
        Parameter code and label.
    source_datasets
        Candidate frames by name.
    horizon_days
        Study day (from infusion) at which follow-up ends; ``None`` for none.
    horizon_cnsr, horizon_desc
        Censoring code and description at the horizon.

    Returns
    -------
    pandas.DataFrame
        :data:`ADTTE_COLUMNS`, sorted by participant. ``aval`` = (time − origin) / 24 days;
        ``cnsr`` 0 for an event; ``event_code`` (Int64) is the event's code and 0 when censored if
        any event source declares a code, else NA. A participant with no candidate at all gets no
        row (as in admiral).

    Examples
    --------
    >>> origin = pd.DataFrame({"participant_id": ["A", "B"], "origin_hours": [0.0, 0.0]})
    >>> ev = pd.DataFrame({"participant_id": ["A"], "event_type": ["death"], "hours_from_infusion": [240.0]})
    >>> lka = pd.DataFrame({"participant_id": ["A", "B"], "hours_from_infusion": [240.0, 480.0]})
    >>> out = derive_param_tte(origin, [EventSource("death", event_types=("death",), evntdesc="death")],
    ...                        [CensorSource("lka", cnsr=1, dataset_name="lka", cnsdtdsc="last known alive")],
    ...                        "OS", source_datasets={"events": ev, "lka": lka})
    >>> out[["participant_id", "aval", "cnsr"]].values.tolist()
    [['A', 10.0, 0], ['B', 20.0, 1]]
    """
    origin = origin[["participant_id", "origin_hours"]].copy()
    origin["participant_id"] = origin["participant_id"].astype("string").astype(object)
    origin["origin_hours"] = origin["origin_hours"].astype(float)
    horizon_hours = None if horizon_days is None else float(horizon_days) * HOURS_PER_DAY
    if horizon_hours is not None:
        origin = origin.loc[origin["origin_hours"] <= horizon_hours]

    empty = pd.DataFrame(
        {
            "participant_id": pd.Series(dtype=object),
            "t": pd.Series(dtype=float),
            "order": pd.Series(dtype="int64"),
            "text": pd.Series(dtype=object),
            "name": pd.Series(dtype=object),
        }
    )
    ev = pd.concat(
        [empty] + [_candidates(s, i, source_datasets, origin, s.evntdesc) for i, s in enumerate(events)],
        ignore_index=True,
    )
    ev["code"] = ev["order"].map({i: s.event_code for i, s in enumerate(events)})
    cn = pd.concat(
        [empty] + [_candidates(s, i, source_datasets, origin, s.cnsdtdsc) for i, s in enumerate(censors)],
        ignore_index=True,
    )
    cn["cnsr"] = cn["order"].map({i: s.cnsr for i, s in enumerate(censors)}).astype("int64")
    cn["terminal"] = cn["order"].map({i: s.ends_follow_up for i, s in enumerate(censors)}).astype(bool)

    # End of follow-up: the earliest censoring that ends it (HSCT / new therapy in remission).
    end = cn.loc[cn["terminal"]].groupby("participant_id")["t"].min().rename("end")
    ev = ev.join(end, on="participant_id")
    ev = ev.loc[ev["end"].isna() | (ev["t"] <= ev["end"])]
    first_event = ev.sort_values(["participant_id", "t", "order"], kind="mergesort").groupby("participant_id").head(1)

    cn = cn.join(end, on="participant_id")
    cn = cn.loc[(cn["end"].isna() | (cn["t"] <= cn["end"])) & ~cn["participant_id"].isin(first_event["participant_id"])]
    last_censor = (
        cn.assign(neg_t=-cn["t"], not_terminal=~cn["terminal"])
        .sort_values(["participant_id", "neg_t", "not_terminal", "order"], kind="mergesort")
        .groupby("participant_id")
        .head(1)
    )

    has_codes = any(s.event_code is not None for s in events)
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    "participant_id": first_event["participant_id"],
                    "t": first_event["t"],
                    "cnsr": 0,
                    "evntdesc": first_event["text"],
                    "cnsdtdsc": None,
                    "event_code": first_event["code"],
                    "source": first_event["name"],
                }
            ),
            pd.DataFrame(
                {
                    "participant_id": last_censor["participant_id"],
                    "t": last_censor["t"],
                    "cnsr": last_censor["cnsr"],
                    "evntdesc": None,
                    "cnsdtdsc": last_censor["text"],
                    "event_code": 0,
                    "source": last_censor["name"],
                }
            ),
        ],
        ignore_index=True,
    )
    rows = rows.merge(origin, on="participant_id", how="left")

    if horizon_hours is not None:
        beyond = ((rows["cnsr"] == 0) & (rows["t"] > horizon_hours)) | (
            (rows["cnsr"] != 0) & (rows["t"] >= horizon_hours)
        )
        rows.loc[beyond, ["t", "cnsr", "evntdesc", "cnsdtdsc", "event_code", "source"]] = [
            horizon_hours,
            horizon_cnsr,
            None,
            horizon_desc,
            0,
            "horizon",
        ]

    out = pd.DataFrame(
        {
            "participant_id": rows["participant_id"].astype("string"),
            "paramcd": pd.Series(paramcd, index=rows.index, dtype="string"),
            "param": pd.Series(param, index=rows.index, dtype="string"),
            "aval": ((rows["t"] - rows["origin_hours"]) / HOURS_PER_DAY).astype("float64"),
            "cnsr": rows["cnsr"].astype("int64"),
            "evntdesc": rows["evntdesc"].astype("string"),
            "cnsdtdsc": rows["cnsdtdsc"].astype("string"),
            "event_code": (
                pd.to_numeric(rows["event_code"]).astype("Int64")
                if has_codes
                else pd.Series(pd.NA, index=rows.index, dtype="Int64")
            ),
            "origin_hours": rows["origin_hours"].astype("float64"),
            "source": rows["source"].astype("string"),
        }
    )
    return out.sort_values("participant_id", kind="mergesort").reset_index(drop=True)[ADTTE_COLUMNS]
