"""Deliberate real-world faults planted in the demo bundle (``plant_faults=True``).

Each fault is added or altered on a row chosen by a fixed rule from the faults' own random
stream, and described by a dict: ``participant``, ``event_type``, ``event_time`` (as written),
``what`` was done, and ``expected`` (what ingest must do with it, in words). None of them changes
the simulated truth: the converted temperatures stay on the same side of every threshold, the
mistyped reading is an afebrile one long after any CRS, and the other rows are extra copies.
:data:`PLANTED_FAULTS` is the list realised in the committed demo (``data/raw/demo``); a test
checks that a fresh demo plants exactly these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.simulate.clock import local_time_strings
from analysis.simulate.frames import MINUTES_PER_DAY

FAHRENHEIT_READINGS = 3

PLANTED_FAULTS: list[dict[str, str]] = [
    {
        "participant": "PACER-032",
        "event_type": "temperature",
        "event_time": "2026-02-25T13:19:00",
        "what": "38.4 °C charted in Fahrenheit as 101.1 F",
        "expected": "none: valid, converted to 38.39 °C",
    },
    {
        "participant": "PACER-008",
        "event_type": "temperature",
        "event_time": "2025-02-23T22:08:00",
        "what": "39.7 °C charted in Fahrenheit as 103.5 F",
        "expected": "none: valid, converted to 39.72 °C",
    },
    {
        "participant": "PACER-015",
        "event_type": "temperature",
        "event_time": "2025-04-17T18:39:00",
        "what": "38.5 °C charted in Fahrenheit as 101.3 F",
        "expected": "none: valid, converted to 38.50 °C",
    },
    {
        "participant": "PACER-031",
        "event_type": "medication",
        "event_time": "2026-01-08T09:56:00",
        "what": "anakinra dose entered twice (exact duplicate row)",
        "expected": "exact duplicate: removed and counted, not quarantined",
    },
    {
        "participant": "PACER-019",
        "event_type": "temperature",
        "event_time": "2025-06-14T12:21:00",
        "what": "36.6 °C typed without its decimal point as 366 C",
        "expected": "quarantined: temperature 366 C is outside the plausible range 30-45 °C",
    },
    {
        "participant": "PACER-008",
        "event_type": "heart_rate",
        "event_time": "2025-02-20T13:58:00",
        "what": "heart rate 153 bpm sent by the monitor",
        "expected": "quarantined: unknown event type 'heart_rate'",
    },
    {
        "participant": "PACER-O38",
        "event_type": "systolic_bp",
        "event_time": "2026-06-14T23:45:00",
        "what": "a blood pressure of PACER-038 entered under a mistyped id",
        "expected": "quarantined: participant 'PACER-O38' is not in participants.csv",
    },
    {
        "participant": "PACER-023",
        "event_type": "vasopressor",
        "event_time": "2025-08-29T07:49:00",
        "what": "norepinephrine entered by its brand name 'Levophed' (an extra row)",
        "expected": (
            "quarantined: unknown vasopressor drug 'Levophed' (expected norepinephrine, epinephrine, "
            "dopamine, phenylephrine or vasopressin)"
        ),
    },
]


def _pick(rng: np.random.Generator, eligible: pd.Series, what: str) -> int:
    positions = np.flatnonzero(eligible.to_numpy())
    if positions.size == 0:
        raise ValueError(f"cannot plant the {what} fault: no eligible row in this simulation")
    return int(eligible.index[rng.choice(positions)])


def _describe(rows: pd.DataFrame, row: int, timezone: str, what: str, expected: str) -> dict[str, str]:
    """The fault's description, with ``rows.loc[row]``'s time as it will be written."""
    time = local_time_strings(
        rows.loc[[row], "abs_minute"].to_numpy(), timezone, rows.loc[[row], "force_offset"].to_numpy()
    )
    return {
        "participant": rows.at[row, "participant_id"],
        "event_type": rows.at[row, "event_type"],
        "event_time": str(time[0]),
        "what": what,
        "expected": expected,
    }


def _mangled_id(participant_id: str) -> str:
    """The id with the first zero of its number typed as the letter O (``PACER-012`` -> ``PACER-O12``)."""
    prefix, number = participant_id.rsplit("-", 1)
    return f"{prefix}-{number.replace('0', 'O', 1)}"


def _chart_in_fahrenheit(
    rng: np.random.Generator, events: pd.DataFrame, fever: pd.Series, timezone: str
) -> dict[str, str]:
    """Rewrite one fever reading in °F, in place (valid: ingest converts it back)."""
    row = _pick(rng, fever & (events["unit"] == "C"), "Fahrenheit")
    celsius = events.at[row, "value"]
    fahrenheit = round(celsius * 9 / 5 + 32, 1)
    events.loc[row, ["value", "unit"]] = [fahrenheit, "F"]
    return _describe(
        events,
        row,
        timezone,
        f"{celsius:.1f} °C charted in Fahrenheit as {fahrenheit:.1f} F",
        f"none: valid, converted to {round((fahrenheit - 32) * 5 / 9, 2):.2f} °C",
    )


def _drop_decimal_point(
    rng: np.random.Generator, events: pd.DataFrame, eligible: pd.Series, timezone: str
) -> dict[str, str]:
    """Multiply one afebrile reading by 10, in place (36.6 -> 366)."""
    row = _pick(rng, eligible, "impossible value")
    celsius = events.at[row, "value"]
    typed = round(celsius * 10)
    events.loc[row, ["value", "decimals"]] = [typed, 0]
    return _describe(
        events,
        row,
        timezone,
        f"{celsius:.1f} °C typed without its decimal point as {typed} C",
        f"quarantined: temperature {typed} C is outside the plausible range 30-45 °C",
    )


def plant_faults(
    rng: np.random.Generator, events: pd.DataFrame, quiet_after_minute: pd.Series, timezone: str
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Plant the demo's faults into the kept internal events.

    Parameters
    ----------
    rng
        The faults' random stream.
    events
        Kept internal rows with ``participant_id``, ``abs_minute`` (UTC) and ``force_offset``.
    quiet_after_minute
        Per ``pidx``: minutes from infusion after which nothing about CRS happens (CRS end + 2 days,
        or 0 without CRS); the mistyped temperature is chosen later than that.
    timezone
        The manifest's zone, to describe the rows' times as written.

    Returns
    -------
    events, faults
        The rows with the faults planted, and one description per fault.

    Raises
    ------
    ValueError
        if the simulation has no row a fault can be planted on (a very small cohort).
    """
    events = events.copy()
    temperature = events["event_type"] == "temperature"
    fever = temperature & (events["value"] >= 38.0) & (events["minute"] >= 0)
    faults = [_chart_in_fahrenheit(rng, events, fever, timezone) for _ in range(FAHRENHEIT_READINGS)]

    row = _pick(rng, (events["event_type"] == "medication") & (events["minute"] >= 0), "duplicate")
    duplicate = events.loc[[row]]
    faults.append(
        _describe(
            duplicate,
            row,
            timezone,
            f"{events.at[row, 'detail']} dose entered twice (exact duplicate row)",
            "exact duplicate: removed and counted, not quarantined",
        )
    )

    quiet = events["minute"] > events["pidx"].map(quiet_after_minute).fillna(np.inf)
    late_afebrile = temperature & quiet & (events["value"] < 38.0) & (events["minute"] >= 16 * MINUTES_PER_DAY)
    faults.append(_drop_decimal_point(rng, events, late_afebrile, timezone))

    row = _pick(rng, fever, "unknown event type")
    heart_rate = events.loc[[row]].assign(
        event_type="heart_rate",
        value=float(rng.integers(120, 161)),
        decimals=0,
        unit="bpm",
        abs_minute=events.at[row, "abs_minute"] + 2,
    )
    faults.append(
        _describe(
            heart_rate,
            row,
            timezone,
            f"heart rate {heart_rate.at[row, 'value']:.0f} bpm sent by the monitor",
            "quarantined: unknown event type 'heart_rate'",
        )
    )

    has_zero = events["participant_id"].str.rsplit("-", n=1).str[1].str.contains("0")
    row = _pick(rng, (events["event_type"] == "systolic_bp") & has_zero, "unknown participant")
    stray = events.loc[[row]].assign(participant_id=_mangled_id(events.at[row, "participant_id"]))
    faults.append(
        _describe(
            stray,
            row,
            timezone,
            f"a blood pressure of {events.at[row, 'participant_id']} entered under a mistyped id",
            f"quarantined: participant '{stray.at[row, 'participant_id']}' is not in participants.csv",
        )
    )

    norepinephrine = (events["event_type"] == "vasopressor") & (events["detail"] == "norepinephrine")
    row = _pick(rng, norepinephrine, "unknown drug code")
    brand = events.loc[[row]].assign(detail="Levophed")
    faults.append(
        _describe(
            brand,
            row,
            timezone,
            "norepinephrine entered by its brand name 'Levophed' (an extra row)",
            "quarantined: unknown vasopressor drug 'Levophed' (expected norepinephrine, epinephrine, "
            "dopamine, phenylephrine or vasopressin)",
        )
    )
    return pd.concat([events, duplicate, heart_rate, stray, brand], ignore_index=True), faults
