"""What each ADaM variable must hold, worked out from the processed tables independently of analysis/cdisc/adam.py.

Rows in the datasets' key order; flags ``Y``/``N``; missing text ``""`` (XPT has no missing text), missing numbers NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.cdisc.metadata import ADCRS_PARAMETERS, FLAG, FLOAT, INTEGER


def _text(values) -> list[str]:
    return ["" if pd.isna(value) else str(value) for value in values]


def _flag(values) -> list[str]:
    return ["" if pd.isna(value) else ("Y" if bool(value) else "N") for value in values]


def _number(values) -> np.ndarray:
    return np.array([np.nan if pd.isna(value) else float(value) for value in values], dtype=float)


def as_kind(values, kind: str):
    """Processed values as the ADaM kind shows them after a round trip through a file."""
    if kind == FLAG:
        return _flag(values)
    if kind in (FLOAT, INTEGER):
        return _number(values)
    return _text(values)


def expected_columns(tables: dict[str, pd.DataFrame], name: str) -> dict[str, object]:
    """Variable → expected values of dataset ``name`` (the variables it can state; SRC* of ADTTE are checked by hand)."""
    if name == "ADSL":
        frame = (
            tables["adsl"]
            .sort_values("participant_id")
            .merge(tables["participants"][["participant_id", "site_id"]], on="participant_id", how="left")
        )
        ids = frame["participant_id"]
        out = {"SITEID": _text(frame["site_id"]), "AGEU": ["YEARS"] * len(frame)}
        columns = {
            "SUBJID": ("participant_id", "text"),
            "AGE": ("age_years", FLOAT),
            "SEX": ("sex", "text"),
            "WEIGHTBL": ("weight_kg", FLOAT),
            "BMBLPCT": ("marrow_blast_pct", FLOAT),
            "PRHSCTFL": ("prior_hsct", FLAG),
            "SAFFL": ("safety", FLAG),
            "CRSEVLFL": ("crs_evaluable", FLAG),
            "EFFFL": ("efficacy_evaluable", FLAG),
            "DTHFL": ("death", FLAG),
            "DTHCAUS": ("death_cause", "text"),
            "D28RSP": ("response_day28", "text"),
            "D28MRDFL": ("mrd_negative_day28", FLAG),
            "LKADY": ("last_known_alive_days", FLOAT),
            "CRSMXGR": ("crs_max_grade", INTEGER),
            "CRSPNGR": ("crs_max_grade_penn", INTEGER),
            "ICMXGR": ("icans_max_grade", INTEGER),
            "ANAKDOSN": ("anakinra_doses", INTEGER),
        }
    elif name == "ADTTE":
        frame = tables["adtte"].sort_values(["participant_id", "paramcd"], kind="stable")
        ids = frame["participant_id"]
        out = {"AVALU": ["DAYS"] * len(frame), "STARTDY": _number(frame["origin_hours"] / 24.0)}
        columns = {
            "PARAMCD": ("paramcd", "text"),
            "PARAM": ("param", "text"),
            "AVAL": ("aval", FLOAT),
            "CNSR": ("cnsr", INTEGER),
            "EVNTDESC": ("evntdesc", "text"),
            "CNSDTDSC": ("cnsdtdsc", "text"),
            "EVNTCD": ("event_code", INTEGER),
        }
    elif name == "ADAE":
        ae = tables["ae"].reset_index(drop=True)
        frame = ae.assign(seq=ae.groupby("participant_id", sort=False).cumcount() + 1).sort_values(
            ["participant_id", "seq"], kind="stable"
        )
        ids = frame["participant_id"]
        out = {"AESEQ": _number(frame["seq"])}
        columns = {
            "AEDECOD": ("term", "text"),
            "AETERM": ("term_text", "text"),
            "ATOXGR": ("grade", "text"),
            "ATOXGRN": ("grade", INTEGER),
            "ASTHR": ("onset_hours", FLOAT),
            "AENHR": ("resolved_hours", FLOAT),
            "ASTDY": ("study_day_onset", INTEGER),
        }
    else:
        rows = []
        flags = tables["adsl"].set_index("participant_id")
        for participant in sorted(tables["crs"]["participant_id"]):
            for number, (code, _param, source, unit, _rule) in enumerate(ADCRS_PARAMETERS, start=1):
                table, column = source.split(".")
                value = tables[table].set_index("participant_id").loc[participant, column]
                rows.append(
                    (
                        participant,
                        code,
                        number,
                        value,
                        unit,
                        table.upper(),
                        column.upper(),
                        flags.loc[participant, "safety"],
                        flags.loc[participant, "crs_evaluable"],
                    )
                )
        frame = pd.DataFrame(
            rows, columns=["pid", "PARAMCD", "PARAMN", "AVAL", "AVALU", "SRCDOM", "SRCVAR", "saf", "crs"]
        )
        ids = frame["pid"]
        out = {
            "PARAMCD": _text(frame["PARAMCD"]),
            "PARAMN": _number(frame["PARAMN"]),
            "AVAL": _number(frame["AVAL"]),
            "AVALU": _text(frame["AVALU"]),
            "SRCDOM": _text(frame["SRCDOM"]),
            "SRCVAR": _text(frame["SRCVAR"]),
            "SAFFL": _flag(frame["saf"]),
            "CRSEVLFL": _flag(frame["crs"]),
        }
        columns = {}
    out["STUDYID"] = ["PACER"] * len(ids)
    out["USUBJID"] = [f"PACER-{participant}" for participant in ids]
    for variable, (column, kind) in columns.items():
        out[variable] = as_kind(frame[column], kind)
    return out
