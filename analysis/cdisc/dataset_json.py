"""CDISC Dataset-JSON 1.1 files of the ADaM datasets, written and read by dsjframe.

dsjframe checks every file against the Dataset-JSON 1.1 JSON schema as it writes it; the
metadata (OIDs matching define.xml, labels, types, lengths, keys) comes from
:mod:`analysis.cdisc.metadata`.
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dsjframe
import pandas as pd

from analysis.cdisc.metadata import FLAG, FLOAT, INTEGER, TEXT, Dataset, Variable

DATASET_JSON_VERSION = "1.1.0"
CREATION_FIELD = re.compile(rb'"datasetJSONCreationDateTime": ?"[^"]*"')
"""The creation time dsjframe writes (the metadata come before the rows: the first match is it)."""
DATA_TYPES = {TEXT: "string", FLAG: "string", INTEGER: "integer", FLOAT: "double"}
"""Variable kind → Dataset-JSON ``dataType``."""


def item_oid(dataset: Dataset, variable: Variable) -> str:
    """The variable's OID, shared by Dataset-JSON and Define-XML: ``IT.<dataset>.<variable>``."""
    return f"IT.{dataset.name}.{variable.name}"


def item_group_oid(dataset: Dataset) -> str:
    """The dataset's OID, shared by Dataset-JSON and Define-XML: ``IG.<dataset>``."""
    return f"IG.{dataset.name}"


def text_length(values: pd.Series) -> int:
    """Length of a text variable: its longest value in UTF-8 bytes, at least 1 (Define-XML ``Length``)."""
    sizes = values.dropna().astype("string").str.encode("utf-8").str.len()
    return max(int(sizes.max()) if len(sizes) else 0, 1)


def column_metadata(frame: pd.DataFrame, dataset: Dataset) -> list[dict[str, Any]]:
    """The ``columns`` of the Dataset-JSON file: OID, name, label, dataType, length of text, key sequence."""
    columns = []
    for variable in dataset.variables:
        column: dict[str, Any] = {
            "itemOID": item_oid(dataset, variable),
            "name": variable.name,
            "label": variable.label,
            "dataType": DATA_TYPES[variable.kind],
        }
        if variable.kind in (TEXT, FLAG):
            column["length"] = text_length(frame[variable.name])
        if variable.name in dataset.keys:
            column["keySequence"] = dataset.keys.index(variable.name) + 1
        columns.append(column)
    return columns


def json_frame(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """Typed for dsjframe: text as object with None for missing, integers as nullable Int64, floats as float64."""
    out = pd.DataFrame(index=frame.index)
    for variable in dataset.variables:
        column = frame[variable.name]
        if variable.kind in (TEXT, FLAG):
            out[variable.name] = column.astype("object").where(column.notna(), None)
        elif variable.kind == INTEGER:
            out[variable.name] = column.astype("Int64")
        else:
            out[variable.name] = column.astype("Float64")
    return out


def dataset_json_bytes(frame: pd.DataFrame, dataset: Dataset, study_id: str, created: datetime) -> bytes:
    """The Dataset-JSON 1.1 file of one ADaM dataset.

    Parameters
    ----------
    frame
        The ADaM dataset.
    dataset
        Its metadata.
    study_id
        STUDYID (``studyOID`` ``ST.<study>``).
    created
        ``datasetJSONCreationDateTime``, written in UTC (``…Z``). dsjframe stamps the clock and has
        no option for it, so its stamp is replaced in the bytes it wrote.

    Raises
    ------
    ValueError
        when dsjframe's output holds no creation time to replace.
    """
    metadata = {
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"FL.{study_id}.{dataset.name}",
        "originator": "PACER outcome-analysis pipeline",
        "sourceSystem": {"name": "pacer", "version": "1"},
        "studyOID": f"ST.{study_id}",
        "metaDataVersionOID": f"MDV.{study_id}.ADAM",
        "metaDataRef": "define.xml",
        "itemGroupOID": item_group_oid(dataset),
        "name": dataset.name,
        "label": dataset.label,
        "columns": column_metadata(frame, dataset),
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{dataset.name.lower()}.json"
        dsjframe.write_dataset(json_frame(frame, dataset), path, metadata, json_indent=None)
        content = path.read_bytes()
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    stamped, found = CREATION_FIELD.subn(f'"datasetJSONCreationDateTime":"{stamp}"'.encode("ascii"), content, count=1)
    if not found:
        raise ValueError(f"{dataset.name}: dsjframe wrote no datasetJSONCreationDateTime")
    return stamped


def read_dataset_json(path: Path) -> pd.DataFrame:
    """A Dataset-JSON file as a pandas frame (dsjframe)."""
    return dsjframe.read_dataset(path, as_pandas=True)
