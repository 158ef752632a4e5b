"""ADaM datasets (ADSL, ADTTE, ADAE, ADCRS) from one output folder's processed tables.

A layer above the derivations, like the report: every value is a column of a processed table
(outputs.md), renamed, reshaped and described (:mod:`analysis.cdisc.metadata`); nothing is
derived again. Pure functions: processed frames in, ADaM frames out. Flags become ``Y``/``N``;
times stay elapsed hours or days since infusion (day 0), never calendar dates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.cdisc.metadata import (
    ADAE,
    ADCRS,
    ADCRS_PARAMETERS,
    ADSL,
    ADTTE,
    FLAG,
    FLOAT,
    INTEGER,
    STUDY_ID,
    TEXT,
    Dataset,
)
from analysis.units import HOURS_PER_DAY

SOURCE_TABLES: tuple[str, ...] = ("participants", "events", "adsl", "adtte", "ae", "crs", "icans", "anakinra")
"""The processed tables the ADaM datasets are built from."""

TRACE_TOLERANCE_HOURS = 1e-6
"""How close (hours) an events row must lie to an ADTTE time to be named its source record."""

ADTTE_SOURCES: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "death": ("EVENTS", "EVENT_TIME", ("death",)),
    "relapse": ("EVENTS", "EVENT_TIME", ("relapse",)),
    "hsct_in_remission": ("EVENTS", "EVENT_TIME", ("hsct",)),
    "new_therapy_in_remission": ("EVENTS", "EVENT_TIME", ("new_therapy",)),
    "failure_new_therapy_before_cr": ("EVENTS", "EVENT_TIME", ("new_therapy",)),
    "last_known_alive": ("EVENTS", "EVENT_TIME", None),
    "failure_no_cr_day28": ("ADSL", "D28RSP", ()),
    "failure_no_assessment_day28": ("ADSL", "D28RSP", ()),
    "horizon": ("", "", ()),
}
"""ADTTE ``source`` (the deciding declaration of analysis/derive/adtte.py) → SRCDOM, SRCVAR and the
event types whose ``events.csv`` line is SRCSEQ (None: any type; empty: no source record)."""


def read_processed(processed: Path) -> dict[str, pd.DataFrame]:
    """The processed tables of :data:`SOURCE_TABLES` from one output folder."""
    return {name: pd.read_parquet(Path(processed) / f"{name}.parquet") for name in SOURCE_TABLES}


def usubjid(participant_id: pd.Series, study_id: str = STUDY_ID) -> pd.Series:
    """``USUBJID``: the study identifier, a hyphen and the participant identifier."""
    return (study_id + "-" + participant_id.astype("string")).astype("string")


def to_adam_column(values: pd.Series, kind: str) -> pd.Series:
    """A processed column as its ADaM kind: booleans to ``Y``/``N``, integers as nullable Int64.

    Parameters
    ----------
    values
        The processed column.
    kind
        ``flag``, ``text``, ``integer`` or ``float`` (metadata.KINDS).

    Returns
    -------
    pandas.Series
        ``string`` for flags and text (missing stays missing), ``Int64`` or ``float64``.
    """
    if kind == FLAG:
        flags = values.astype("boolean")
        return flags.map({True: "Y", False: "N"}, na_action="ignore").astype("string")
    if kind == TEXT:
        return values.astype("string")
    if kind == INTEGER:
        return values.astype("Int64")
    if kind == FLOAT:
        return values.astype("float64")
    raise ValueError(f"unknown variable kind {kind!r}")


def copy_variables(frame: pd.DataFrame, dataset: Dataset, table: str, study_id: str) -> pd.DataFrame:
    """The variables of ``dataset`` whose source is ``table``, copied from ``frame`` row for row, with the identifiers."""
    out = pd.DataFrame(index=frame.index)
    out["STUDYID"] = pd.Series(study_id, index=frame.index, dtype="string")
    out["USUBJID"] = usubjid(frame["participant_id"], study_id)
    for variable in dataset.variables:
        if variable.source_table == table and variable.name != "USUBJID":
            out[variable.name] = to_adam_column(frame[variable.source_column], variable.kind)
    return out


def derive_adsl(tables: dict[str, pd.DataFrame], study_id: str = STUDY_ID) -> pd.DataFrame:
    """ADSL: one row per enrolled participant, from ``adsl.parquet`` (and ``site_id`` of participants.parquet).

    Returns
    -------
    pandas.DataFrame
        The variables of :data:`~analysis.cdisc.metadata.ADSL`, in order, sorted by USUBJID.
    """
    adsl = tables["adsl"].merge(tables["participants"][["participant_id", "site_id"]], on="participant_id", how="left")
    out = copy_variables(adsl, ADSL, "adsl", study_id)
    out["SITEID"] = to_adam_column(adsl["site_id"], TEXT)
    out["AGEU"] = pd.Series("YEARS", index=adsl.index, dtype="string")
    return out[ADSL.names].sort_values("USUBJID", kind="stable").reset_index(drop=True)


def trace_source_lines(adtte: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """SRCSEQ of each ADTTE row: the ``events.csv`` line of the record that decided it.

    The record is the events row of the source's event types (:data:`ADTTE_SOURCES`) at the row's
    time, ``origin_hours + 24·aval``, within :data:`TRACE_TOLERANCE_HOURS`; a row time before
    infusion counts at day 0 (grading.md: a death before infusion counts at day 0, LKA is at least
    day 0). Of several such records, the first line. No source record (horizon, treatment
    failure): missing.
    """
    target = adtte[["participant_id", "source"]].copy()
    target["row"] = np.arange(len(adtte))
    target["hours"] = adtte["origin_hours"].to_numpy() + HOURS_PER_DAY * adtte["aval"].to_numpy()
    candidates = events[["participant_id", "event_type", "hours_from_infusion", "line"]].copy()
    candidates["hours_from_infusion"] = candidates["hours_from_infusion"].clip(lower=0.0)
    matched = target.merge(candidates, on="participant_id", how="inner")
    types = matched["source"].map(lambda source: ADTTE_SOURCES.get(source, ("", "", ()))[2])
    type_ok = [kinds is None or event_type in kinds for kinds, event_type in zip(types, matched["event_type"])]
    close = (matched["hours_from_infusion"] - matched["hours"]).abs() <= TRACE_TOLERANCE_HOURS
    lines = matched[np.asarray(type_ok, dtype=bool) & close.to_numpy()].groupby("row")["line"].min()
    return pd.Series(lines.reindex(np.arange(len(adtte))).to_numpy(), dtype="Int64")


def derive_adtte(tables: dict[str, pd.DataFrame], study_id: str = STUDY_ID) -> pd.DataFrame:
    """ADTTE: OS, EFS, RFS and CIR from ``adtte.parquet``, with the source record of every row.

    Returns
    -------
    pandas.DataFrame
        The variables of :data:`~analysis.cdisc.metadata.ADTTE`: ``STARTDY`` = origin_hours / 24;
        ``SRCDOM``/``SRCVAR`` from the deciding source (:data:`ADTTE_SOURCES`), ``SRCSEQ`` from
        :func:`trace_source_lines`. Sorted by USUBJID, PARAMCD.
    """
    adtte = tables["adtte"].reset_index(drop=True)
    out = copy_variables(adtte, ADTTE, "adtte", study_id)
    out["AVALU"] = pd.Series("DAYS", index=adtte.index, dtype="string")
    out["STARTDY"] = adtte["origin_hours"].astype("float64") / HOURS_PER_DAY
    sources = adtte["source"].astype("string")
    unknown = sorted(set(sources.dropna()) - set(ADTTE_SOURCES))
    if unknown:
        raise ValueError(f"adtte.parquet: source {unknown} has no SRCDOM/SRCVAR in analysis/cdisc/adam.py")
    out["SRCDOM"] = sources.map(lambda source: ADTTE_SOURCES[source][0]).astype("string").replace("", pd.NA)
    out["SRCVAR"] = sources.map(lambda source: ADTTE_SOURCES[source][1]).astype("string").replace("", pd.NA)
    out["SRCSEQ"] = trace_source_lines(adtte, tables["events"])
    return out[ADTTE.names].sort_values(["USUBJID", "PARAMCD"], kind="stable").reset_index(drop=True)


def derive_adae(tables: dict[str, pd.DataFrame], study_id: str = STUDY_ID) -> pd.DataFrame:
    """ADAE: one row per adverse event of ``ae.parquet``; AESEQ numbers each subject's rows in the table's order."""
    ae = tables["ae"].reset_index(drop=True)
    out = copy_variables(ae, ADAE, "ae", study_id)
    out["AESEQ"] = (ae.groupby("participant_id", sort=False).cumcount() + 1).astype("Int64")
    return out[ADAE.names].sort_values(["USUBJID", "AESEQ"], kind="stable").reset_index(drop=True)


def derive_adcrs(tables: dict[str, pd.DataFrame], study_id: str = STUDY_ID) -> pd.DataFrame:
    """ADCRS: the CRS, ICANS and anakinra endpoints of each infused participant, one row per parameter.

    Each parameter of :data:`~analysis.cdisc.metadata.ADCRS_PARAMETERS` carries one column of
    crs.parquet, icans.parquet or anakinra.parquet as AVAL (missing stays missing, e.g. no
    fever); SAFFL and CRSEVLFL come from ADSL.

    Returns
    -------
    pandas.DataFrame
        The variables of :data:`~analysis.cdisc.metadata.ADCRS`, sorted by USUBJID, PARAMN.
    """
    flags = tables["adsl"][["participant_id", "safety", "crs_evaluable"]]
    pieces = []
    for number, (paramcd, param, source, unit, _rule) in enumerate(ADCRS_PARAMETERS, start=1):
        table, column = source.split(".", 1)
        frame = tables[table][["participant_id", column]]
        pieces.append(
            pd.DataFrame(
                {
                    "participant_id": frame["participant_id"].astype("string"),
                    "PARAMCD": paramcd,
                    "PARAM": param,
                    "PARAMN": number,
                    "AVAL": frame[column].astype("Float64").astype("float64"),
                    "AVALU": unit,
                    "SRCDOM": table.upper(),
                    "SRCVAR": column.upper(),
                }
            )
        )
    long = pd.concat(pieces, ignore_index=True).merge(flags.astype({"participant_id": "string"}), on="participant_id")
    out = pd.DataFrame({"STUDYID": pd.Series(study_id, index=long.index, dtype="string")})
    out["USUBJID"] = usubjid(long["participant_id"], study_id)
    for name in ("PARAMCD", "PARAM", "AVALU", "SRCDOM", "SRCVAR"):
        out[name] = long[name].astype("string")
    out["PARAMN"] = long["PARAMN"].astype("Int64")
    out["AVAL"] = long["AVAL"]
    out["SAFFL"] = to_adam_column(long["safety"], FLAG)
    out["CRSEVLFL"] = to_adam_column(long["crs_evaluable"], FLAG)
    return out[ADCRS.names].sort_values(["USUBJID", "PARAMN"], kind="stable").reset_index(drop=True)


BUILDERS = {"ADSL": derive_adsl, "ADTTE": derive_adtte, "ADAE": derive_adae, "ADCRS": derive_adcrs}
"""Dataset name → its builder."""


def derive_adam(tables: dict[str, pd.DataFrame], study_id: str = STUDY_ID) -> dict[str, pd.DataFrame]:
    """Every ADaM dataset (metadata.DATASETS) from the processed tables."""
    return {name: builder(tables, study_id) for name, builder in BUILDERS.items()}
