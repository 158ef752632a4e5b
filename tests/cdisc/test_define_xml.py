"""Define-XML 2.1: valid against the CDISC schema; every dataset and variable described, derivations citing grading.md."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from analysis.cdisc.metadata import DATASETS

XSD_PATH = resources.files("defineutils") / "validate" / "schema" / "cdisc-define-2.1" / "define2-1-0.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    """The CDISC Define-XML 2.1 schema (with ODM 1.3.2), as shipped by defineutils."""
    return xmlschema.XMLSchema(str(XSD_PATH))


def test_define_xml_is_valid(demo_adam: Path, schema: xmlschema.XMLSchema) -> None:
    errors = list(schema.iter_errors(str(demo_adam / "define.xml")))
    assert errors == []


def test_the_schema_catches_a_wrong_type(demo_adam: Path, schema: xmlschema.XMLSchema) -> None:
    text = (demo_adam / "define.xml").read_text(encoding="utf-8").replace('DataType="float"', 'DataType="real"', 1)
    assert len(list(schema.iter_errors(text))) == 1


def test_every_dataset_and_variable_is_described(demo_adam: Path) -> None:
    root = etree.parse(str(demo_adam / "define.xml")).getroot()
    groups = root.findall(".//odm:ItemGroupDef", NS)
    assert [group.get("Name") for group in groups] == [dataset.name for dataset in DATASETS]
    items = {item.get("OID"): item for item in root.findall(".//odm:ItemDef", NS)}
    for dataset in DATASETS:
        for variable in dataset.variables:
            item = items[f"IT.{dataset.name}.{variable.name}"]
            assert item.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == variable.label
            assert item.find("def:Origin", NS).get("Type") == variable.origin
    adsl_length = items["IT.ADSL.USUBJID"].get("Length")
    assert adsl_length == str(len("PACER-PACER-001"))
    crs = root.find(".//odm:MethodDef[@OID='MT.ADSL.CRSMXGR']", NS)
    assert crs.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == (
        "adsl.crs_max_grade — grading.md, 'CRS, ASTCT 2019'"
    )
    leaf = root.find(".//def:leaf[@ID='LF.ADTTE']", NS)
    assert leaf.get("{http://www.w3.org/1999/xlink}href") == "adtte.xpt"


def test_docs_name_every_variable() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "cdisc.md").read_text(encoding="utf-8")
    for dataset in DATASETS:
        assert f"### {dataset.name} " in docs
        for variable in dataset.variables:
            assert f"| `{variable.name}` | {variable.label} |" in docs, (dataset.name, variable.name)


def test_classes_and_subclasses(demo_adam: Path) -> None:
    """ADaM classes, with Define-XML 2.1's def:SubClass where a validator picks rules by it."""
    root = etree.parse(str(demo_adam / "define.xml")).getroot()
    found = {}
    for group in root.findall(".//odm:ItemGroupDef", NS):
        adam_class = group.find("def:Class", NS)
        found[group.get("Name")] = (
            adam_class.get("Name"),
            [subclass.get("Name") for subclass in adam_class.findall("def:SubClass", NS)],
        )
    assert found == {
        "ADSL": ("SUBJECT LEVEL ANALYSIS DATASET", []),
        "ADTTE": ("BASIC DATA STRUCTURE", ["TIME-TO-EVENT"]),
        "ADAE": ("OCCURRENCE DATA STRUCTURE", ["ADVERSE EVENT"]),
        "ADCRS": ("BASIC DATA STRUCTURE", []),
    }
