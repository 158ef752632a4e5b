"""The files of the CDISC export of one output folder: ADaM datasets, define.xml and the cards ARD.

Pure: processed tables in, ``{relative file name: bytes}`` out; the pipeline step writes them
into ``<output folder>/adam/``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from analysis.cdisc.adam import derive_adam
from analysis.cdisc.ard import cards_csv_bytes, cards_json_bytes, derive_cards_ard
from analysis.cdisc.dataset_json import dataset_json_bytes
from analysis.cdisc.define_xml import define_xml_bytes
from analysis.cdisc.metadata import DATASETS, STUDY_ID
from analysis.cdisc.xpt import xpt_bytes

FORMATS: tuple[str, ...] = ("xpt", "dataset-json", "csv")
"""The dataset formats of ``pacer export --format``."""


def data_time(ingest_record: dict[str, Any]) -> datetime:
    """The time the CDISC files carry as their creation time: the export's ``exported_at``, else the cut instant.

    Both are what the ingest step recorded in the output folder's manifest.json, and neither is the
    clock: the same bundle and data cut give the same files, byte for byte (outputs.md: the run's
    time never goes into a table), and the time says when the data were taken (docs/cdisc.md,
    "Byte-stable files").

    Parameters
    ----------
    ingest_record
        The ``steps.ingest`` entry of manifest.json (``exported_at``, ``cut_instant``: ISO 8601 with offset).

    Returns
    -------
    datetime
        Aware.

    Raises
    ------
    ValueError
        when the record holds neither.
    """
    moment = ingest_record.get("exported_at") or ingest_record.get("cut_instant")
    if not moment:
        raise ValueError("manifest.json records neither the export time nor the cut instant of the ingest step")
    return datetime.fromisoformat(moment)


def dataset_files(
    frame: pd.DataFrame, dataset, data_format: str, study_id: str, created: datetime
) -> tuple[str, bytes]:
    """One ADaM dataset in one format: its file name and content (``created``: :func:`data_time`)."""
    stem = dataset.name.lower()
    if data_format == "xpt":
        return f"{stem}.xpt", xpt_bytes(frame, dataset, created)
    if data_format == "dataset-json":
        return f"{stem}.json", dataset_json_bytes(frame, dataset, study_id, created)
    if data_format == "csv":
        return f"{stem}.csv", frame.to_csv(index=False, lineterminator="\n", float_format="%.17g").encode("utf-8")
    raise ValueError(f"unknown format {data_format!r}: one of {', '.join(FORMATS)}")


def cdisc_export_files(
    tables: dict[str, pd.DataFrame],
    ard: pd.DataFrame,
    formats: tuple[str, ...],
    created: datetime,
    study_id: str = STUDY_ID,
) -> dict[str, bytes]:
    """Every file of the CDISC export.

    Parameters
    ----------
    tables
        The processed tables (:data:`analysis.cdisc.adam.SOURCE_TABLES`).
    ard
        ``ard.parquet``.
    formats
        Dataset formats among :data:`FORMATS`.
    created
        The creation time the XPT headers, Dataset-JSON and define.xml carry (:func:`data_time`).
    study_id
        STUDYID.

    Returns
    -------
    dict of str to bytes
        ``adsl.xpt`` … per format, ``define.xml``, ``ard_cards.csv`` and ``ard_cards.json``.
    """
    frames = derive_adam(tables, study_id)
    files: dict[str, bytes] = {}
    for data_format in formats:
        for dataset in DATASETS:
            name, content = dataset_files(frames[dataset.name], dataset, data_format, study_id, created)
            files[name] = content
    files["define.xml"] = define_xml_bytes(frames, study_id, created)
    cards = derive_cards_ard(ard)
    files["ard_cards.csv"] = cards_csv_bytes(cards)
    files["ard_cards.json"] = cards_json_bytes(cards)
    return files
