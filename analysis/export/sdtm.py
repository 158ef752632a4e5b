"""SDTM domains (SAS XPT v5 or CDISC Dataset-JSON) read into an export bundle.

A folder holding ``dm.xpt`` (or ``dm.json``) is an SDTM export. Its domains are mapped through the
site-editable ``analysis/cdisc/sdtm_mapping.yaml`` (controlled terms → the vocabulary of
export-format.md) onto the rows of ``participants.csv`` and ``events.csv``, handed to the ingest as
the cells the CSV reader would read from those files (no CSV is written): the same validation,
quarantine and typed tables as a CSV bundle. A record no rule of the mapping takes is quarantined
here with its domain file, ``--SEQ`` (as the line), variable, value and a reason naming its
USUBJID; the reconciliation holds per domain: ``records = mapped + quarantined``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from analysis.export.bundle import MAX_MEMBER_BYTES, Bundle, Manifest, parse_manifest
from analysis.export.csv_table import LINE, CsvCells, _set_aside_long_cells
from analysis.export.errors import ExportError
from analysis.export.events import FILE as EVENTS_FILE
from analysis.export.participants import FILE as PARTICIPANTS_FILE
from analysis.export.quarantine import QUARANTINE_COLUMNS
from analysis.export.text import TEXT
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


def term_keys(values: pa.Array) -> pa.Array:
    """:func:`term_key` of a text column, vectorized."""
    return pc.utf8_upper(pc.utf8_trim_whitespace(values))


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


def read_domain(path: Path, variables: frozenset[str] | None = None) -> pa.Table:
    """One SDTM domain file as a table of text cells (numbers written as their shortest repr, missing as "").

    XPT v5 through pyreadstat (as plain columns: the mapping works on Arrow arrays, so no pandas
    frame is built), Dataset-JSON through dsjframe. With ``variables``, only those (upper-case
    names) are read and converted: the ones the mapping uses.
    """
    try:
        if path.suffix == ".xpt":
            import pyreadstat

            usecols = None
            if variables is not None:
                _empty, meta = pyreadstat.read_xport(path, metadataonly=True)
                usecols = [name for name in meta.column_names if name.upper() in variables] or None
            columns, _meta = pyreadstat.read_xport(path, usecols=usecols, output_format="dict")
            arrays = {str(name).upper(): list_text(values) for name, values in columns.items()}
        else:
            import dsjframe

            frame = dsjframe.read_dataset(path, as_pandas=True)
            arrays = {str(name).upper(): series_text(frame[name]) for name in frame.columns}
    except Exception as exc:  # a damaged file of either library: one line naming it
        raise ExportError(f"{path}: not a readable SDTM dataset ({exc})") from exc
    kept = {name: values for name, values in arrays.items() if variables is None or name in variables}
    return pa.table(kept or arrays)  # a file with none of the variables keeps its records, to be quarantined


def list_text(values: list[Any]) -> pa.Array:
    """A column as pyreadstat reads it (a list of str, of float, or of dates) as export text."""
    if values and isinstance(values[0], str):
        return pc.fill_null(pa.array(values, type=pa.string()), "")
    try:
        numbers = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        return pa.array(["" if value is None else str(value) for value in values], type=pa.string())
    return number_text(numbers)


def series_text(values: pd.Series) -> pa.Array:
    """A column as dsjframe reads it (a pandas series) as export text."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return number_text(values.astype("float64").to_numpy())
    return pa.array(values.astype(object).where(values.notna(), "").astype(str), type=pa.string())


def number_text(numbers: np.ndarray) -> pa.Array:
    """Numbers as export text: a whole number without ``.0``, any other as its shortest repr, missing as ""."""
    present = ~np.isnan(numbers)
    whole = present & (np.abs(numbers) < 1e15)
    whole[whole] = numbers[whole] % 1 == 0
    text = pc.if_else(pa.array(whole), pc.cast(pa.array(np.where(whole, numbers, 0).astype("int64")), pa.string()), "")
    fractional = np.flatnonzero(present & ~whole)
    if len(fractional):
        cells = text.to_numpy(zero_copy_only=False)
        cells[fractional] = [repr(float(number)) for number in numbers[fractional]]
        text = pa.array(cells, type=pa.string())
    return text


def mapped_variables(domain: str, mapping: SdtmMapping) -> frozenset[str] | None:
    """The variables of ``domain`` the mapping reads (None: all, for DM, SUPPDM and unmapped domains)."""
    rules = [rule for rule in mapping.rules if rule.domain == domain]
    if not rules or domain in NOT_EVENTS:
        return None
    named = {"USUBJID", f"{domain}SEQ"}
    for rule in rules:
        named |= {rule.where, rule.time, rule.end, rule.value, rule.unit, rule.detail, rule.text} - {None}
    return frozenset(name.upper() for name in named)


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


def read_domains(path: Path, mapping: SdtmMapping | None = None) -> dict[str, pa.Table]:
    """Every domain of the folder by upper-case domain name (:func:`domain_files`); with a mapping, only its variables."""
    return {
        domain: read_domain(file, None if mapping is None else mapped_variables(domain, mapping))
        for domain, file in domain_files(path).items()
    }


def map_participants(domains: dict[str, pa.Table], mapping: SdtmMapping) -> tuple[pd.DataFrame, dict[str, str]]:
    """participants.csv rows from DM (and SUPPDM); and USUBJID → participant_id."""
    dm = domains["DM"].to_pandas()
    rows = pd.DataFrame({column: dm.get(variable, "") for column, variable in mapping.participant_columns.items()})
    supp = domains["SUPPDM"].to_pandas() if "SUPPDM" in domains else None
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


def sequence_numbers(records: pa.Table, domain: str) -> np.ndarray:
    """Each record's ``--SEQ`` as a float (NaN where it is not a number; 0 for every record when the domain has none)."""
    name = f"{domain}SEQ"
    if name not in records.column_names:
        return np.zeros(records.num_rows)
    try:
        return pc.cast(records[name], pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(records[name].to_numpy(), errors="coerce").astype("float64")


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as a NumPy mask (null = False)."""
    return np.asarray(pc.fill_null(values, False).to_numpy(zero_copy_only=False), dtype=bool)


def _cells(values: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """The cells of ``rows`` as Python strings (for the few quarantined records only)."""
    return np.asarray(pc.take(values, pa.array(rows, type=pa.int64())).to_pylist(), dtype=object)


def _quarantine(file: str, seq: np.ndarray, column: str, values: np.ndarray, reason: Any) -> pd.DataFrame:
    """Quarantine rows of one file: ``line`` = the records' --SEQ (0 where none)."""
    return pd.DataFrame(
        {
            "file": file,
            "line": np.nan_to_num(seq, nan=0.0).astype("int64"),
            "column": column,
            "value": pd.Series(values, dtype=object).astype(str).to_numpy(),
            "reason": reason,
        }
    )


def _empty_quarantine() -> pd.DataFrame:
    """No quarantined record, with the columns' types."""
    return _quarantine("", np.zeros(0), "", np.zeros(0, dtype=object), [])


def map_domain_events(
    domain: str, file: str, records: pa.Table, mapping: SdtmMapping, subjects: dict[str, str]
) -> tuple[pa.Table, pd.DataFrame]:
    """events.csv rows of one domain and its quarantined records, with Arrow compute (Python objects only for quarantined records).

    Returns
    -------
    (events, quarantine)
        ``events`` has :data:`EVENT_COLUMNS` (text) and ``seq`` (the record's --SEQ, for the row order);
        ``quarantine`` the columns of the ingest's quarantine (``line`` = --SEQ).
    """
    rules = [rule for rule in mapping.rules if rule.domain == domain]
    count = records.num_rows
    taken = np.zeros(count, dtype=bool)
    events: list[pa.Table] = []
    quarantined: list[pd.DataFrame] = []
    names = set(records.column_names)
    usubjid = records["USUBJID"] if "USUBJID" in names else pa.repeat(pa.scalar(""), count)
    seq = sequence_numbers(records, domain)
    subject_index = pc.index_in(usubjid, value_set=pa.array(list(subjects), type=pa.string()))
    participant = pc.take(pa.array(list(subjects.values()), type=pa.string()), subject_index)
    keys_by_variable: dict[str, pa.ChunkedArray] = {}
    for rule in rules:
        if rule.where is None:
            selected = ~taken
            event_type = pa.repeat(pa.scalar(rule.event_type), count)
        else:
            if rule.where not in names:
                continue
            if rule.where not in keys_by_variable:
                keys_by_variable[rule.where] = term_keys(records[rule.where])
            term_index = pc.index_in(
                keys_by_variable[rule.where], value_set=pa.array(list(rule.event_type_by_term), type=pa.string())
            )
            selected = ~taken & _mask(pc.is_valid(term_index))
            event_type = pc.take(pa.array(list(rule.event_type_by_term.values()), type=pa.string()), term_index)
        taken |= selected
        rows = np.flatnonzero(selected)
        if not len(rows):
            continue
        chosen_rows = pa.array(rows, type=pa.int64())
        chosen_count = len(rows)

        def cell(variable: str | None, chosen_rows: pa.Array = chosen_rows, chosen_count: int = chosen_count) -> Any:
            """The variable's cells of the chosen records ('' for each where the domain has no such variable)."""
            if variable is not None and variable in names:
                return records[variable].take(chosen_rows)
            return pa.repeat(pa.scalar(""), chosen_count)

        detail: Any = pa.repeat(pa.scalar(rule.detail_value or ""), chosen_count)
        bad = np.zeros(chosen_count, dtype=bool)
        if rule.detail and rule.detail in names and not rule.detail_free:
            written = cell(rule.detail)
            codes = pc.take(
                pa.array(list(rule.detail_terms.values()), type=pa.string()),
                pc.index_in(term_keys(written), value_set=pa.array(list(rule.detail_terms), type=pa.string())),
            )
            unmapped = _mask(pc.and_(pc.is_null(codes), pc.not_equal(written, "")))
            if unmapped.any():
                where = rows[unmapped]
                expected = ", ".join(rule.detail_terms)
                reason = [
                    f"USUBJID {subject}: {rule.detail} term not in sdtm_mapping.yaml; expected one of {expected}"
                    for subject in _cells(usubjid, where)
                ]
                values = _cells(written, np.flatnonzero(unmapped))
                quarantined.append(_quarantine(file, seq[where], rule.detail, values, reason))
            bad |= unmapped
            detail = pc.fill_null(codes, "")
            if rule.text and rule.text in names:
                text = cell(rule.text)
                with_text = pc.binary_join_element_wise(detail, text, ": ")
                detail = pc.if_else(pc.equal(text, ""), detail, with_text)
        elif rule.detail and rule.detail in names:
            detail = cell(rule.detail)
        unknown_subject = ~_mask(pc.is_valid(participant.take(rows))) & ~bad
        if unknown_subject.any():
            where = rows[unknown_subject]
            quarantined.append(_quarantine(file, seq[where], "USUBJID", _cells(usubjid, where), "USUBJID is not in DM"))
        mapped = pa.table(
            {
                "participant_id": participant.take(rows),
                "event_time": cell(rule.time),
                "end_time": cell(rule.end),
                "event_type": pc.take(event_type, rows),
                "value": cell(rule.value),
                "unit": cell(rule.unit),
                "detail": detail,
                "seq": seq[rows],
            }
        )
        dropped = bad | unknown_subject
        events.append(mapped.filter(pa.array(~dropped)) if dropped.any() else mapped)
    rest = np.flatnonzero(~taken)
    if len(rest):
        where = rules[0].where if rules else None
        column = where if where in names else "DOMAIN"
        values = _cells(records[column], rest) if column in names else np.full(len(rest), domain, dtype=object)
        reason = [
            f"USUBJID {subject}: no rule of sdtm_mapping.yaml takes this {domain} record"
            for subject in _cells(usubjid, rest)
        ]
        quarantined.append(_quarantine(file, seq[rest], column, values, reason))
    events_table = pa.concat_tables(events) if events else _empty_events()
    quarantine = pd.concat(quarantined, ignore_index=True) if quarantined else _empty_quarantine()
    return events_table, quarantine[list(QUARANTINE_COLUMNS)]


def _empty_events() -> pa.Table:
    """No events: the columns of :func:`map_domain_events`' table."""
    return pa.table({**{name: pa.array([], pa.string()) for name in EVENT_COLUMNS}, "seq": pa.array([], pa.float64())})


def export_cells(file_name: str, table: pa.Table) -> CsvCells:
    """``table`` as the cells the CSV reader would read from it written as ``file_name``, without writing it.

    The same cells as :func:`analysis.export.csv_table.read_csv_cells` gives for that file: text
    trimmed ('' = missing), a carriage return read as a line break, each row's ``line`` (the header is
    line 1; a cell's line breaks push the later rows down) and a row with a cell longer than
    ``MAX_CELL_CHARS`` set aside as malformed — the SDTM route's rows are numbered as the lines of
    the ``events.csv`` they stand for. Arrow compute only: no Python object per cell.

    Parameters
    ----------
    file_name
        the export file the rows stand for (``participants.csv``, ``events.csv``).
    table
        the rows, one text column per column of that file, in the file's order (null = missing).

    Returns
    -------
    CsvCells
        ``cells`` with :data:`~analysis.export.csv_table.LINE` first, then the table's columns as
        Arrow-backed text; ``malformed`` the rows set aside.
    """
    columns: dict[str, pa.ChunkedArray] = {}
    line_breaks = np.zeros(table.num_rows, dtype=np.int64)
    for name in table.column_names:
        cells = pc.cast(pc.fill_null(table[name], ""), pa.large_string())
        if _may_hold_line_breaks(cells):
            if pc.any(pc.match_substring(cells, "\r")).as_py():
                cells = pc.replace_substring(pc.replace_substring(cells, "\r\n", "\n"), "\r", "\n")
            line_breaks += pc.count_substring(cells, "\n").to_numpy()
        columns[name] = pc.utf8_trim_whitespace(cells)
    frame = pa.table(columns).to_pandas(types_mapper={pa.large_string(): TEXT}.get)
    frame.insert(0, LINE, 2 + np.arange(table.num_rows, dtype=np.int64) + np.cumsum(line_breaks) - line_breaks)
    cells, oversized = _set_aside_long_cells(frame, table.column_names)  # the CSV reader's own rule
    return CsvCells(file_name=file_name, cells=cells, malformed=oversized)


def _may_hold_line_breaks(cells: pa.ChunkedArray) -> bool:
    """False when no byte of the cells' text is below 14 (a line feed is 10, a carriage return 13).

    One pass over each chunk's UTF-8 bytes (``cells`` of type ``large_string``), a fraction of the
    cost of searching cell by cell; a tab (9) answers True too, and the caller searches exactly.
    """
    for chunk in cells.chunks:
        if len(chunk) == 0 or chunk.buffers()[2] is None:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64, count=len(chunk) + 1, offset=8 * chunk.offset)
        text = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if text.size and text.min() < 14:
            return True
    return False


@dataclass(frozen=True)
class SdtmIntake:
    """An SDTM folder mapped: the cells of the export's two files, the records quarantined by the mapping, counts per domain."""

    participants: CsvCells
    events: CsvCells
    quarantine: pd.DataFrame
    domain_counts: dict[str, dict[str, int]]


def map_sdtm(path: Path, mapping: SdtmMapping | None = None) -> SdtmIntake:
    """Map an SDTM folder onto the cells of participants.csv and events.csv, quarantining what does not map.

    Events are written in the order of their --SEQ (the simulator writes the events.csv line there),
    then domain, so that rows of equal time and type keep their order.

    Raises
    ------
    ExportError
        when the folder has no DM, or DM lacks USUBJID.
    """
    mapping = mapping or load_mapping()
    domains = read_domains(path, mapping)
    if "DM" not in domains or "USUBJID" not in domains["DM"].column_names:
        raise ExportError(f"{path}: an SDTM export needs a DM domain (dm.xpt or dm.json) with USUBJID")
    participants, subjects = map_participants(domains, mapping)
    file_names = {domain: file.name for domain, file in domain_files(path).items()}
    events, quarantine = [], []
    counts = {"DM": {"read": domains["DM"].num_rows, "mapped": len(participants), "quarantined": 0}}
    for domain, records in domains.items():
        if domain in NOT_EVENTS:
            continue
        mapped, unmapped = map_domain_events(domain, file_names[domain], records, mapping, subjects)
        events.append(mapped.append_column("domain", pa.repeat(pa.scalar(domain), mapped.num_rows)))
        quarantine.append(unmapped)
        counts[domain] = {"read": records.num_rows, "mapped": mapped.num_rows, "quarantined": len(unmapped)}
    rows = pa.concat_tables(events) if events else _empty_events().append_column("domain", pa.array([], pa.string()))
    rows = rows.take(pc.sort_indices(rows, sort_keys=[("seq", "ascending"), ("domain", "ascending")]))
    participant_table = pa.table(
        {name: pa.array(participants[name].astype(str), type=pa.string()) for name in participants}
    )
    return SdtmIntake(
        participants=export_cells(PARTICIPANTS_FILE, participant_table),
        events=export_cells(EVENTS_FILE, rows.select(list(EVENT_COLUMNS))),
        quarantine=pd.concat(quarantine, ignore_index=True) if quarantine else _empty_quarantine(),
        domain_counts=counts,
    )


def read_sdtm_bundle(path: Path) -> Bundle:
    """An SDTM folder as a bundle: its domains mapped (:class:`SdtmIntake`), the folder's manifest.json if any.

    The bundle's files are what decides the mapped rows, so that the provenance hashes them: every
    domain file's bytes, the mapping file's and the manifest's.
    """
    path = Path(path)
    intake = map_sdtm(path)
    files = {file.name: file.read_bytes() for file in domain_files(path).values()}
    files[MAPPING_PATH.name] = MAPPING_PATH.read_bytes()
    manifest = Manifest()
    if (path / "manifest.json").is_file():
        files["manifest.json"] = (path / "manifest.json").read_bytes()
        manifest = parse_manifest(files["manifest.json"])
    return Bundle(origin=str(path), files=files, manifest=manifest, sdtm=intake)
