"""SDTM domains (SAS XPT v5 or CDISC Dataset-JSON) read into an export bundle.

A folder holding ``dm.xpt`` (or ``dm.json``) is an SDTM export. Its domains are mapped through the
site-editable ``analysis/cdisc/sdtm_mapping.yaml`` (controlled terms → the vocabulary of
export-format.md) onto the rows of ``participants.csv`` and ``events.csv``, which then go through
the same ingest as a CSV bundle: the same validation, quarantine and typed tables. A record no
rule of the mapping takes is quarantined here with its domain file, ``--SEQ`` (as the line),
variable, value and a reason naming its USUBJID; the reconciliation holds per domain:
``records = mapped + quarantined``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.export.bundle import MAX_MEMBER_BYTES, Bundle, Manifest, parse_manifest
from analysis.export.errors import ExportError
from analysis.export.quarantine import QUARANTINE_COLUMNS
from analysis.export.vocabulary import EVENT_COLUMNS, PARTICIPANT_COLUMNS

MAPPING_PATH = Path(__file__).parents[1] / "cdisc" / "sdtm_mapping.yaml"
"""The site-editable mapping (docs/cdisc.md, "SDTM in")."""
SUFFIXES = (".xpt", ".json")
NOT_EVENTS = ("DM", "SUPPDM")
"""Domains that hold participants, not events."""


@dataclass(frozen=True)
class EventRule:
    """One rule of the mapping's ``events`` list (see the head of sdtm_mapping.yaml)."""

    domain: str
    event_type_by_term: dict[str, str]
    time: str
    where: str | None = None
    event_type: str | None = None
    end: str | None = None
    value: str | None = None
    unit: str | None = None
    detail: str | None = None
    detail_value: str | None = None
    detail_terms: dict[str, str] = field(default_factory=dict)
    detail_free: bool = False
    text: str | None = None


@dataclass(frozen=True)
class SdtmMapping:
    """The mapping file: DM (and SUPPDM) columns, and the event rules in order."""

    participant_columns: dict[str, str]
    supplemental: dict[str, str]
    rules: tuple[EventRule, ...]


def term_key(value: Any) -> str:
    """A controlled term as matched: trimmed, upper case."""
    return str(value).strip().upper()


def term_keys(values: pd.Series) -> pd.Series:
    """:func:`term_key` of a text column, vectorized."""
    return values.astype(str).str.strip().str.upper()


def load_mapping(path: Path = MAPPING_PATH) -> SdtmMapping:
    """Read the mapping file.

    Raises
    ------
    ExportError
        when it cannot be read or a rule lacks its domain or time variable.
    """
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        rules = []
        for entry in document["events"]:
            rules.append(
                EventRule(
                    domain=entry["domain"].upper(),
                    where=entry.get("where"),
                    event_type=entry.get("event_type"),
                    event_type_by_term={term_key(term): code for term, code in (entry.get("terms") or {}).items()},
                    time=entry["time"],
                    end=entry.get("end"),
                    value=entry.get("value"),
                    unit=entry.get("unit"),
                    detail=entry.get("detail"),
                    detail_value=entry.get("detail_value"),
                    detail_terms={term_key(term): code for term, code in (entry.get("detail_terms") or {}).items()},
                    detail_free=bool(entry.get("detail_free", False)),
                    text=entry.get("text"),
                )
            )
        participants = document["participants"]
        return SdtmMapping(dict(participants["columns"]), dict(participants.get("supplemental") or {}), tuple(rules))
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise ExportError(f"{path}: the SDTM mapping cannot be read ({exc})") from exc


def is_sdtm_folder(path: Path) -> bool:
    """A folder with a DM domain (``dm.xpt`` or ``dm.json``) and no participants.csv.

    A path the system cannot look at (too long, a loop) is not one: the bundle reader reports it.
    """
    path = Path(path)
    try:
        return (
            path.is_dir()
            and not (path / "participants.csv").exists()
            and any((path / f"dm{suffix}").is_file() for suffix in SUFFIXES)
        )
    except OSError:
        return False


def read_domain(path: Path, variables: frozenset[str] | None = None) -> pd.DataFrame:
    """One SDTM domain file as text cells (numbers written as their shortest repr, missing as "").

    XPT v5 through pyreadstat, Dataset-JSON through dsjframe. With ``variables``, only those
    (upper-case names) are read and converted: the ones the mapping uses.
    """
    try:
        if path.suffix == ".xpt":
            import pyreadstat

            usecols = None
            if variables is not None:
                _empty, meta = pyreadstat.read_xport(path, metadataonly=True)
                usecols = [name for name in meta.column_names if name.upper() in variables]
            frame, _meta = pyreadstat.read_xport(path, usecols=usecols)
        else:
            import dsjframe

            frame = dsjframe.read_dataset(path, as_pandas=True)
    except Exception as exc:  # a damaged file of either library: one line naming it
        raise ExportError(f"{path}: not a readable SDTM dataset ({exc})") from exc
    frame.columns = [str(column).upper() for column in frame.columns]
    kept = [column for column in frame.columns if variables is None or column in variables]
    return pd.DataFrame({column: column_text(frame[column]) for column in kept}, index=frame.index)


def mapped_variables(domain: str, mapping: SdtmMapping) -> frozenset[str] | None:
    """The variables of ``domain`` the mapping reads (None: all, for DM, SUPPDM and unmapped domains)."""
    rules = [rule for rule in mapping.rules if rule.domain == domain]
    if not rules or domain in NOT_EVENTS:
        return None
    named = {"USUBJID", "DOMAIN", f"{domain}SEQ"}
    for rule in rules:
        named |= {rule.where, rule.time, rule.end, rule.value, rule.unit, rule.detail, rule.text} - {None}
    return frozenset(name.upper() for name in named)


def column_text(values: pd.Series) -> pd.Series:
    """A column as export text: numbers as their shortest repr (a whole number without ``.0``), missing as ""."""
    if not pd.api.types.is_numeric_dtype(values):
        return values.astype(object).where(values.notna(), "").astype(str)
    numbers = values.astype("float64")
    whole = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 1e15)
    text = pd.Series("", index=values.index, dtype=object)
    text[whole] = numbers[whole].astype("int64").astype(str)
    fractional = numbers.notna() & ~whole
    text[fractional] = numbers[fractional].map(repr)
    return text.astype(str)


def domain_files(path: Path) -> dict[str, Path]:
    """The folder's domain files by upper-case domain name (``.xpt`` wins over ``.json``; manifest.json is none).

    Raises
    ------
    ExportError
        for a domain file that is not a regular file (a FIFO, a device) or is larger than the bundle limit.
    """
    files: dict[str, Path] = {}
    for suffix in reversed(SUFFIXES):
        for file in sorted(Path(path).glob(f"*{suffix}")):
            if file.name == "manifest.json":
                continue
            if not file.is_file():
                raise ExportError(f"{file}: not a regular file; refused")
            if file.stat().st_size > MAX_MEMBER_BYTES:
                raise ExportError(f"{file}: {file.stat().st_size} bytes; the limit is {MAX_MEMBER_BYTES}; refused")
            files[file.stem.upper()] = file
    return files


def read_domains(path: Path, mapping: SdtmMapping | None = None) -> dict[str, pd.DataFrame]:
    """Every domain of the folder by upper-case domain name (:func:`domain_files`); with a mapping, only its variables."""
    return {
        domain: read_domain(file, None if mapping is None else mapped_variables(domain, mapping))
        for domain, file in domain_files(path).items()
    }


def map_participants(domains: dict[str, pd.DataFrame], mapping: SdtmMapping) -> tuple[pd.DataFrame, dict[str, str]]:
    """participants.csv rows from DM (and SUPPDM); and USUBJID → participant_id."""
    dm = domains["DM"]
    rows = pd.DataFrame({column: dm.get(variable, "") for column, variable in mapping.participant_columns.items()})
    supp = domains.get("SUPPDM")
    for column, qnam in mapping.supplemental.items():
        values = pd.Series("", index=dm.index)
        if supp is not None and {"USUBJID", "QNAM", "QVAL"} <= set(supp.columns):
            by_subject = supp[supp["QNAM"].str.upper() == qnam.upper()].drop_duplicates("USUBJID")
            values = dm["USUBJID"].map(by_subject.set_index("USUBJID")["QVAL"]).fillna("")
        rows[column] = values
    for column in PARTICIPANT_COLUMNS:
        if column not in rows:
            rows[column] = ""
    return rows[list(PARTICIPANT_COLUMNS)], dict(zip(dm["USUBJID"], rows["participant_id"], strict=True))


def _quarantine(file: str, records: pd.DataFrame, column: str, values: pd.Series, reason: pd.Series) -> pd.DataFrame:
    seq_column = f"{file.split('.', maxsplit=1)[0].upper()}SEQ"
    seq = records[seq_column] if seq_column in records else pd.Series("", index=records.index)
    return pd.DataFrame(
        {
            "file": file,
            "line": pd.to_numeric(seq, errors="coerce").fillna(0).astype("int64"),
            "column": column,
            "value": values.astype(str),
            "reason": reason,
        }
    )


def map_domain_events(
    domain: str, file: str, records: pd.DataFrame, mapping: SdtmMapping, subjects: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """events.csv rows of one domain and its quarantined records.

    Returns
    -------
    (events, quarantine)
        ``events`` has :data:`EVENT_COLUMNS` and ``seq`` (the record's --SEQ, for the row order);
        ``quarantine`` the columns of the ingest's quarantine (``line`` = --SEQ).
    """
    rules = [rule for rule in mapping.rules if rule.domain == domain]
    taken = pd.Series(False, index=records.index)
    events, quarantined = [], []
    usubjid = records.get("USUBJID", pd.Series("", index=records.index))
    keys_by_variable: dict[str, pd.Series] = {}
    for rule in rules:
        if rule.where is None:
            selected = ~taken
            event_type = pd.Series(rule.event_type, index=records.index)
        else:
            if rule.where not in records:
                continue
            if rule.where not in keys_by_variable:
                keys_by_variable[rule.where] = term_keys(records[rule.where])
            keys = keys_by_variable[rule.where]
            selected = ~taken & keys.isin(list(rule.event_type_by_term))
            event_type = keys.map(rule.event_type_by_term)
        taken |= selected
        chosen = records[selected]
        if chosen.empty:
            continue
        rows = pd.DataFrame(
            {
                "participant_id": usubjid[selected].map(subjects),
                "event_time": chosen.get(rule.time, ""),
                "end_time": chosen[rule.end] if rule.end in chosen else "",
                "event_type": event_type[selected],
                "value": chosen[rule.value] if rule.value in chosen else "",
                "unit": chosen[rule.unit] if rule.unit in chosen else "",
                "detail": rule.detail_value or "",
                "seq": pd.to_numeric(chosen.get(f"{domain}SEQ", pd.Series(0, index=chosen.index)), errors="coerce"),
            }
        )
        bad = pd.Series(False, index=chosen.index)
        if rule.detail and rule.detail in chosen and not rule.detail_free:
            codes = term_keys(chosen[rule.detail]).map(rule.detail_terms)
            unmapped = codes.isna() & (chosen[rule.detail] != "")
            expected = ", ".join(rule.detail_terms)
            quarantined.append(
                _quarantine(
                    file,
                    chosen[unmapped],
                    rule.detail,
                    chosen.loc[unmapped, rule.detail],
                    "USUBJID " + usubjid[chosen.index[unmapped]] + f": {rule.detail} term not in sdtm_mapping.yaml; "
                    f"expected one of {expected}",
                )
            )
            bad |= unmapped
            rows["detail"] = codes.fillna("")
            if rule.text and rule.text in chosen:
                text = chosen[rule.text]
                rows["detail"] = rows["detail"].where(text == "", rows["detail"] + ": " + text)
        elif rule.detail and rule.detail in chosen:
            rows["detail"] = chosen[rule.detail]
        unknown_subject = rows["participant_id"].isna()
        quarantined.append(
            _quarantine(
                file,
                chosen[unknown_subject & ~bad],
                "USUBJID",
                usubjid[chosen.index[unknown_subject & ~bad]],
                pd.Series("USUBJID is not in DM", index=chosen.index[unknown_subject & ~bad]),
            )
        )
        events.append(rows[~(bad | unknown_subject)])
    rest = records[~taken]
    if len(rest):
        where = rules[0].where if rules else None
        column = where if where in rest else "DOMAIN"
        values = rest[column] if column in rest else pd.Series(domain, index=rest.index)
        reason = "USUBJID " + usubjid[rest.index] + f": no rule of sdtm_mapping.yaml takes this {domain} record"
        quarantined.append(_quarantine(file, rest, column, values, reason))
    columns = [*EVENT_COLUMNS, "seq"]
    events_frame = pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=columns)
    quarantine = pd.concat(quarantined, ignore_index=True) if quarantined else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    return events_frame[columns], quarantine[list(QUARANTINE_COLUMNS)]


@dataclass(frozen=True)
class SdtmIntake:
    """An SDTM folder mapped: the export's two CSV files, the records quarantined by the mapping, counts per domain."""

    participants_csv: bytes
    events_csv: bytes
    quarantine: pd.DataFrame
    domain_counts: dict[str, dict[str, int]]


def map_sdtm(path: Path, mapping: SdtmMapping | None = None) -> SdtmIntake:
    """Map an SDTM folder onto participants.csv and events.csv (as bytes), quarantining what does not map.

    Events are written in the order of their --SEQ (the simulator writes the events.csv line there),
    then domain, so that rows of equal time and type keep their order.

    Raises
    ------
    ExportError
        when the folder has no DM, or DM lacks USUBJID.
    """
    mapping = mapping or load_mapping()
    domains = read_domains(path, mapping)
    if "DM" not in domains or "USUBJID" not in domains["DM"]:
        raise ExportError(f"{path}: an SDTM export needs a DM domain (dm.xpt or dm.json) with USUBJID")
    participants, subjects = map_participants(domains, mapping)
    file_names = {domain: file.name for domain, file in domain_files(path).items()}
    events, quarantine = [], []
    counts = {"DM": {"read": len(domains["DM"]), "mapped": len(participants), "quarantined": 0}}
    for domain, records in domains.items():
        if domain in NOT_EVENTS:
            continue
        mapped, unmapped = map_domain_events(domain, file_names[domain], records, mapping, subjects)
        events.append(mapped.assign(domain=domain))
        quarantine.append(unmapped)
        counts[domain] = {"read": len(records), "mapped": len(mapped), "quarantined": len(unmapped)}
    rows = pd.concat(events, ignore_index=True).sort_values(["seq", "domain"], kind="stable")
    return SdtmIntake(
        participants_csv=_csv(participants),
        events_csv=_csv(rows[list(EVENT_COLUMNS)]),
        quarantine=pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame(columns=QUARANTINE_COLUMNS),
        domain_counts=counts,
    )


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def read_sdtm_bundle(path: Path) -> Bundle:
    """An SDTM folder as a bundle: the mapped participants.csv and events.csv, the folder's manifest.json if any.

    Every domain file's bytes are kept too, so that the provenance hashes what was read.
    """
    path = Path(path)
    intake = map_sdtm(path)
    files = {file.name: file.read_bytes() for file in domain_files(path).values()}
    files["participants.csv"] = intake.participants_csv
    files["events.csv"] = intake.events_csv
    manifest = Manifest()
    if (path / "manifest.json").is_file():
        files["manifest.json"] = (path / "manifest.json").read_bytes()
        manifest = parse_manifest(files["manifest.json"])
    return Bundle(origin=str(path), files=files, manifest=manifest, sdtm=intake)
