"""Clock helpers: absolute instants (UTC minutes since the epoch) to the export's time strings.

Times are written as naive local times of the manifest time zone, which the pipeline reads back
exactly, except where that would be wrong: an instant in the *second* occurrence of a fall-back
hour (a naive time there is read as its first occurrence) is written with its explicit offset, as
is any row the caller marks. A local time obtained from a real instant never falls in a
spring-forward gap, so no nonexistent local time can be written.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd


def utc_minutes(timestamp: pd.Timestamp) -> int:
    """Whole minutes since 1970-01-01T00:00Z of a time-zone-aware timestamp (floored)."""
    return int(timestamp.tz_convert("UTC").value // 60_000_000_000)


def parse_export_time(exported_at: str) -> pd.Timestamp:
    """The export instant in UTC; ``exported_at`` must carry an offset.

    Raises
    ------
    ValueError
        if ``exported_at`` is naive.
    """
    parsed = datetime.fromisoformat(exported_at)
    if parsed.tzinfo is None:
        raise ValueError(f"exported_at must carry a UTC offset, got {exported_at!r}")
    return pd.Timestamp(parsed).tz_convert("UTC")


def local_to_utc_minutes(local_naive: pd.Series, timezone: str) -> np.ndarray:
    """UTC minutes of naive local datetimes (day-time clock times, never in a DST transition)."""
    aware = pd.DatetimeIndex(local_naive).as_unit("ns").tz_localize(timezone, ambiguous="raise", nonexistent="raise")
    return (aware.tz_convert("UTC").asi8 // 60_000_000_000).astype(np.int64)


def _as_index(minutes: np.ndarray) -> pd.DatetimeIndex:
    as_minutes = np.asarray(minutes, dtype=np.int64).astype("datetime64[m]")
    return pd.DatetimeIndex(as_minutes.astype("datetime64[ns]"), tz="UTC")


def local_time_strings(minutes: np.ndarray, timezone: str, force_offset: np.ndarray | None = None) -> np.ndarray:
    """ISO-8601 strings of UTC-minute instants in ``timezone``.

    Parameters
    ----------
    minutes
        UTC minutes since the epoch.
    timezone
        IANA zone name of the manifest.
    force_offset
        Booleans: rows to write with an explicit offset even when a naive time would do.

    Returns
    -------
    numpy.ndarray of str
        ``YYYY-MM-DDTHH:MM:SS`` (local, naive), or ``YYYY-MM-DDTHH:MM:SS±HH:MM`` where an offset is
        forced or the instant is the second occurrence of an ambiguous local time.
    """
    utc = _as_index(minutes)
    local = utc.tz_convert(timezone).tz_localize(None)
    naive = np.datetime_as_string(local.values.astype("datetime64[s]"), unit="s")
    as_dst = np.ones(len(local), dtype=bool)
    read_back_first = local.tz_localize(timezone, ambiguous=as_dst, nonexistent="raise")
    read_back_second = local.tz_localize(timezone, ambiguous=~as_dst, nonexistent="raise")
    first_occurrence = np.minimum(read_back_first.asi8, read_back_second.asi8)
    needs_offset = first_occurrence != utc.asi8
    if force_offset is not None:
        needs_offset |= force_offset
    if not needs_offset.any():
        return naive
    offset_minutes = ((local.asi8 - utc.asi8) // 60_000_000_000)[needs_offset]
    sign = np.where(offset_minutes < 0, "-", "+")
    hours = pd.Series(np.abs(offset_minutes) // 60).astype(str).str.zfill(2)
    mins = pd.Series(np.abs(offset_minutes) % 60).astype(str).str.zfill(2)
    suffix = pd.Series(sign) + hours + ":" + mins
    out = naive.astype(object)
    out[needs_offset] = (pd.Series(naive[needs_offset]) + suffix).to_numpy()
    return out


def local_dates(minutes: np.ndarray, timezone: str) -> np.ndarray:
    """Local calendar dates (``datetime64[D]``) of UTC-minute instants."""
    return _as_index(minutes).tz_convert(timezone).tz_localize(None).values.astype("datetime64[D]")
