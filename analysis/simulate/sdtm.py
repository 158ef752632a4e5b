"""An export bundle written as SDTM domains (SAS XPT v5): the inverse of sdtm_mapping.yaml.

Each participants.csv row becomes a DM record (and SUPPDM qualifiers); each events.csv row one
record of the domain the mapping reads it from, with its controlled term (the first term the
mapping lists for the export code). ``--SEQ`` is the row's events.csv line, so a reader can keep
the rows' order. A code the mapping cannot express (an unknown event type, drug or device) is
written as it stands — PACER's custom domain XP for an unknown event type — and so is quarantined
by the reader, as the CSV ingest would quarantine it. Results are written as character, as in
``--ORRES``, so that every value reads back exactly as exported.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pyreadstat

from analysis.export.sdtm import EventRule, SdtmMapping, load_mapping

STUDY_ID = "PACER"
MAX_CHAR_BYTES = 200
CUSTOM_DOMAIN = "XP"


def normalize(value: str) -> str:
    """A vocabulary code as the export contract matches it: trimmed, lower case, spaces and hyphens as underscores."""
    return "_".join(value.strip().lower().replace("-", " ").split())


def rule_event_types(rule: EventRule) -> list[str]:
    """The export event types a rule produces."""
    return [rule.event_type] if rule.event_type else list(rule.event_type_by_term.values())


def inverse_terms(terms: dict[str, str]) -> dict[str, str]:
    """Export code → the first controlled term the mapping lists for it."""
    inverse: dict[str, str] = {}
    for term, code in terms.items():
        inverse.setdefault(normalize(code), term)
    return inverse


def choose_rule(mapping: SdtmMapping, event_type: str, detail: str) -> EventRule | None:
    """The rule an events row is written for: one that carries its detail code, else the first for its type."""
    candidates = [rule for rule in mapping.rules if event_type in rule_event_types(rule)]
    code = normalize(detail.split(":", 1)[0]) if detail else ""
    for rule in candidates:
        if (rule.detail_value and normalize(rule.detail_value) == code) or code in inverse_terms(rule.detail_terms):
            return rule
    with_detail = [rule for rule in candidates if rule.detail and not rule.detail_value]
    if detail and with_detail:
        return with_detail[0]
    return candidates[0] if candidates else None


def event_records(rows: pd.DataFrame, rule: EventRule | None) -> tuple[str, pd.DataFrame]:
    """The SDTM domain and records of events.csv rows of one event type and detail code (one rule)."""
    records = pd.DataFrame({"USUBJID": STUDY_ID + "-" + rows["participant_id"]}, index=rows.index)
    if rule is None:
        records["XPTESTCD"] = rows["event_type"].str.strip().str.upper().str[:8]
        records["XPDTC"] = rows["event_time"]
        records["XPORRES"] = rows["value"].where(rows["value"] != "", rows["detail"])
        return CUSTOM_DOMAIN, records
    records[rule.time] = rows["event_time"]
    if rule.where:
        event_type = normalize(rows["event_type"].iloc[0])
        records[rule.where] = next(key for key, code in rule.event_type_by_term.items() if code == event_type)
    for variable, column in ((rule.end, "end_time"), (rule.value, "value"), (rule.unit, "unit")):
        if variable:
            records[variable] = rows[column]
    if rule.detail:
        detail, text = rows["detail"], pd.Series("", index=rows.index)
        if rule.text:
            parts = rows["detail"].str.split(":", n=1, expand=True).reindex(columns=[0, 1]).fillna("")
            has_text = rows["detail"].str.contains(":", regex=False)
            detail = parts[0].str.strip().where(has_text, rows["detail"])
            text = parts[1].str.strip().where(has_text, "")
        if rule.detail_free:
            records[rule.detail] = detail
        else:
            inverse = inverse_terms(rule.detail_terms)
            records[rule.detail] = detail.map(lambda value: inverse.get(normalize(value), value) if value else "")
        if rule.text:
            records[rule.text] = text
    return rule.domain, records


def export_to_sdtm(
    participants: pd.DataFrame, events: pd.DataFrame, mapping: SdtmMapping | None = None
) -> dict[str, pd.DataFrame]:
    """The SDTM domains of an export bundle.

    Parameters
    ----------
    participants, events
        participants.csv and events.csv as text (``dtype=str``, empty cells as ``""``).
    mapping
        The SDTM mapping (default: analysis/cdisc/sdtm_mapping.yaml).

    Returns
    -------
    dict of str to DataFrame
        Domain → records, every column text except ``--SEQ``; DM and SUPPDM included.
    """
    mapping = mapping or load_mapping()
    dm_columns = mapping.participant_columns
    dm = pd.DataFrame({"STUDYID": STUDY_ID, "DOMAIN": "DM"}, index=participants.index)
    dm["USUBJID"] = STUDY_ID + "-" + participants["participant_id"]
    for column, variable in dm_columns.items():
        dm[variable] = participants[column] if column in participants else ""
    supp = [
        pd.DataFrame(
            {
                "STUDYID": STUDY_ID,
                "RDOMAIN": "DM",
                "USUBJID": dm["USUBJID"],
                "QNAM": qnam,
                "QLABEL": column,
                "QVAL": participants[column] if column in participants else "",
            }
        )
        for column, qnam in mapping.supplemental.items()
    ]
    suppdm = pd.concat(supp, ignore_index=True)
    events = events.reset_index(drop=True)
    keys = pd.DataFrame(
        {
            "event_type": events["event_type"].map(normalize),
            "code": events["detail"].map(lambda detail: normalize(detail.split(":", 1)[0])),
            "has_detail": events["detail"] != "",
        }
    )
    records: dict[str, list[pd.DataFrame]] = {}
    for (event_type, _code, _has_detail), index in keys.groupby(["event_type", "code", "has_detail"]).groups.items():
        rows = events.loc[index]
        domain, frame = event_records(rows, choose_rule(mapping, event_type, rows["detail"].iloc[0]))
        frame[f"{domain}SEQ"] = index + 2  # the events.csv line
        records.setdefault(domain, []).append(frame)
    domains = {"DM": dm.reset_index(drop=True), "SUPPDM": suppdm[suppdm["QVAL"] != ""].reset_index(drop=True)}
    for domain, frames in sorted(records.items()):
        frame = pd.concat(frames).sort_index().fillna("").reset_index(drop=True)
        seq = f"{domain}SEQ"
        frame = frame[["USUBJID", seq, *(column for column in frame.columns if column not in ("USUBJID", seq))]]
        frame.insert(0, "DOMAIN", domain)
        frame.insert(0, "STUDYID", STUDY_ID)
        domains[domain] = frame
    return domains


def write_sdtm(domains: dict[str, pd.DataFrame], out_dir: Path) -> Path:
    """Write each domain as ``<domain>.xpt`` (XPT v5, pyreadstat) into ``out_dir``.

    Raises
    ------
    ValueError
        when a value is longer than the 200 bytes XPT v5 holds (naming domain, variable and row).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for domain, frame in domains.items():
        text = frame.select_dtypes(exclude="number")
        for column in text.columns:
            sizes = text[column].astype(str).str.encode("utf-8").str.len()
            if (sizes > MAX_CHAR_BYTES).any():
                row = int(sizes.idxmax())
                raise ValueError(f"{domain}.{column}, row {row + 1}: longer than the {MAX_CHAR_BYTES} bytes of XPT v5")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{domain.lower()}.xpt"
            pyreadstat.write_xport(frame, path, table_name=domain, file_format_version=5)
            (out_dir / f"{domain.lower()}.xpt").write_bytes(path.read_bytes())
    return out_dir


def bundle_to_sdtm(bundle_dir: Path, out_dir: Path) -> Path:
    """An export bundle folder (participants.csv, events.csv, manifest.json) rewritten as SDTM XPT files in ``out_dir``."""
    bundle_dir = Path(bundle_dir)
    participants = pd.read_csv(bundle_dir / "participants.csv", dtype=str, keep_default_na=False)
    events = pd.read_csv(bundle_dir / "events.csv", dtype=str, keep_default_na=False)
    write_sdtm(export_to_sdtm(participants, events), out_dir)
    if (bundle_dir / "manifest.json").is_file():
        (Path(out_dir) / "manifest.json").write_bytes((bundle_dir / "manifest.json").read_bytes())
    return Path(out_dir)
