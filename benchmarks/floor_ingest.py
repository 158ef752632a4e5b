"""The ingest's floor: a polars pass doing the same kind of work as ``pacer ingest`` on the same bundle.

``benchmarks/step.py floor_ingest`` runs it as one step beside ``ingest``; ``run_benchmarks.py``
reports ``ingest / floor_ingest``. It is a reference for speed, not a second ingest: it does each
kind of work the ingest does, in a columnar engine, without the ingest's every rule and message.

- a typed read of participants.csv and events.csv: every cell read as text and trimmed (the ingest
  must quote the cell as written), exact duplicate rows dropped, each row's line number kept;
- date-times parsed: naive local times in the manifest's time zone (the earliest of an ambiguous
  pair, none in a spring-forward gap) or times with a UTC offset, all to UTC;
- numbers parsed; the range of each event type's value checked (the plausible ranges of
  export-format.md), units and detail codes checked against the vocabulary per event type;
- the participant key checked (an event's participant must have a valid row in participants.csv)
  and each event's time checked against the participant's enrollment and the export time;
- every faulty row quarantined with its line and one reason, the rest sorted and given hours from
  infusion; participants, events and the quarantine written as Parquet (zstd), as the ingest does.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from analysis.export.vocabulary import DETAIL_CODES, EVENT_TYPES, MAX_DAYS_BEFORE_ENROLLMENT, UNITS

RANGES: dict[str, tuple[float, float]] = {
    "systolic_bp": (20, 250),
    "oxygen": (0, 80),
    "fluid_bolus": (0, 100),
    "ice_score": (0, 10),
    "capd_score": (0, 32),
    "response_assessment": (0, 100),
    "adverse_event": (1, 5),
    "crs_grade_reported": (0, 5),
    "icans_grade_reported": (0, 5),
}
"""The plausible value range of each event type with one (temperature apart: its range depends on the unit)."""


def text_cells(path: Path) -> pl.DataFrame:
    """Every cell as trimmed text ('' = missing), the line number first, exact duplicate rows dropped."""
    cells = pl.read_csv(path, infer_schema=False)
    cells = cells.with_columns(pl.all().fill_null("").str.strip_chars()).with_row_index("line", offset=2)
    return cells.filter(pl.struct(pl.exclude("line")).is_first_distinct())


def instants(column: str, zone: str) -> pl.Expr:
    """ISO-8601 text to UTC: with an offset as given, naive as local time in ``zone``."""
    text = pl.col(column)
    aware = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", strict=False, time_zone="UTC")
    local = (
        text.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False)
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return pl.coalesce(aware, local)


def first_reason(*checks: tuple[pl.Expr, str]) -> pl.Expr:
    """The reason of the first failed check, null when every check passes."""
    reason = pl.lit(None, dtype=pl.String)
    for failed, text in reversed(checks):
        reason = pl.when(failed).then(pl.lit(text)).otherwise(reason)
    return reason


def floor_ingest(bundle: Path, out: Path) -> None:
    """Read, check, type and write the bundle at ``bundle`` into ``out`` (see the module's docstring)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    zone = manifest["timezone"]
    exported_at = pl.lit(manifest["exported_at"]).str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", time_zone="UTC")

    participant_cells = text_cells(bundle / "participants.csv")
    participants = participant_cells.with_columns(
        pl.col("age_years", "weight_kg", "marrow_blast_pct").cast(pl.Float64, strict=False),
        pl.col("enrollment_date").str.to_date("%Y-%m-%d", strict=False),
        instants("infusion_datetime", zone),
        pl.col("prior_hsct")
        .str.to_lowercase()
        .replace_strict({"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}, default=None),
    ).with_columns(
        first_reason(
            (pl.col("participant_id") == "", "participant_id is missing"),
            (~pl.col("age_years").is_between(1, 27, closed="left").fill_null(False), "age_years must be 1 to 27"),
            (~pl.col("weight_kg").is_between(0, 250, closed="none").fill_null(False), "weight_kg out of range"),
            (~pl.col("marrow_blast_pct").is_between(0, 100).fill_null(False), "marrow_blast_pct out of range"),
            (~pl.col("sex").str.to_uppercase().is_in(["M", "F"]), "sex must be M or F"),
            (pl.col("enrollment_date").is_null(), "enrollment_date must be a date"),
            (pl.col("prior_hsct").is_null(), "prior_hsct must be true/false"),
        ).alias("reason")
    )
    valid_participants = participants.filter(pl.col("reason").is_null()).drop("reason")

    unit_rules = pl.DataFrame(
        [(kind, unit) for kind, allowed in UNITS.items() for unit in allowed],
        schema={"event_type": pl.String, "unit_ok": pl.String},
        orient="row",
    )
    code_rules = pl.DataFrame(
        [(kind, code.lower()) for kind, codes in DETAIL_CODES.items() for code in codes],
        schema={"event_type": pl.String, "code_ok": pl.String},
        orient="row",
    )
    keys = valid_participants.select(
        "participant_id",
        (pl.col("enrollment_date").cast(pl.Datetime("us")) - pl.duration(days=MAX_DAYS_BEFORE_ENROLLMENT))
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .alias("earliest"),
        pl.col("infusion_datetime").alias("infusion"),
    )
    events = (
        text_cells(bundle / "events.csv")
        .with_columns(
            pl.col("event_type").str.to_lowercase().str.replace_all(r"[ \-]+", "_").cast(pl.Categorical),
            pl.col("value").cast(pl.Float64, strict=False).alias("number"),
            instants("event_time", zone).alias("start"),
            instants("end_time", zone).alias("end"),
            pl.col("detail").str.to_lowercase().str.replace(r":[\s\S]*$", "").str.strip_chars().alias("code"),
        )
        .join(keys, on="participant_id", how="left")
        .join(
            unit_rules.with_columns(pl.col("event_type").cast(pl.Categorical), pl.col("unit_ok").alias("unit")),
            on=["event_type", "unit"],
            how="left",
        )
        .join(
            code_rules.with_columns(pl.col("event_type").cast(pl.Categorical), pl.col("code_ok").alias("code")),
            on=["event_type", "code"],
            how="left",
        )
    )
    event_type, number = pl.col("event_type").cast(pl.String), pl.col("number")
    in_range = pl.lit(True)
    for kind, (low, high) in RANGES.items():
        in_range = pl.when(event_type == kind).then(number.is_between(low, high)).otherwise(in_range)
    in_range = (
        pl.when((event_type == "temperature") & (pl.col("unit") == "C"))
        .then(number.is_between(30, 45))
        .when((event_type == "temperature") & (pl.col("unit") == "F"))
        .then(number.is_between(86, 113))
        .otherwise(in_range)
    )
    events = events.with_columns(
        first_reason(
            (pl.col("participant_id") == "", "participant_id is missing"),
            (pl.col("earliest").is_null(), "participant_id is not in participants.csv"),
            (~event_type.is_in(list(EVENT_TYPES)), "unknown event_type"),
            (pl.col("start").is_null(), "event_time is not an ISO-8601 date-time"),
            ((pl.col("end_time") != "") & pl.col("end").is_null(), "end_time is not an ISO-8601 date-time"),
            (pl.col("end") < pl.col("start"), "end_time is before event_time"),
            (pl.col("start") < pl.col("earliest"), "event_time is too early"),
            (pl.col("start") > exported_at, "event_time is after the export time"),
            ((pl.col("value") != "") & number.is_null(), "value is not a number"),
            (event_type.is_in(list(UNITS)) & (pl.col("unit") != "") & pl.col("unit_ok").is_null(), "unknown unit"),
            (
                event_type.is_in(list(DETAIL_CODES)) & (pl.col("code") != "") & pl.col("code_ok").is_null(),
                "unknown code",
            ),
            (number.is_not_null() & ~in_range.fill_null(False), "value out of range"),
        ).alias("reason")
    )
    quarantine = pl.concat(
        [
            frame.filter(pl.col("reason").is_not_null()).select(pl.lit(name).alias("file"), "line", "reason")
            for name, frame in (("participants.csv", participants), ("events.csv", events))
        ]
    )
    hours = pl.duration(hours=1)
    kept = (
        events.filter(pl.col("reason").is_null())
        .select(
            "line",
            "participant_id",
            pl.col("event_type").cast(pl.String),
            pl.col("start").alias("event_time"),
            pl.col("end").alias("end_time"),
            number.alias("value"),
            "unit",
            "detail",
            ((pl.col("start") - pl.col("infusion")) / hours).alias("hours_from_infusion"),
            ((pl.col("end") - pl.col("infusion")) / hours).alias("end_hours_from_infusion"),
        )
        .sort(["participant_id", "event_time", "event_type", "line"])
    )
    out.mkdir(parents=True, exist_ok=True)
    valid_participants.write_parquet(out / "participants.parquet", compression="zstd")
    kept.write_parquet(out / "events.parquet", compression="zstd")
    quarantine.write_parquet(out / "quarantine.parquet", compression="zstd")
