"""Define-XML 2.1 describing the ADaM datasets: every dataset and variable, its label, type, length,
origin and derivation (the grading.md rule it comes from), built with lxml from
:mod:`analysis.cdisc.metadata`. The tests validate it against the CDISC Define-XML 2.1 schema.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from lxml import etree

from analysis.cdisc.dataset_json import item_group_oid, item_oid, text_length
from analysis.cdisc.metadata import (
    ADCRS,
    ADCRS_PARAMETERS,
    ASSIGNED,
    DATASETS,
    FLAG,
    FLOAT,
    INTEGER,
    PREDECESSOR,
    TEXT,
    Dataset,
    Variable,
)

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
DATA_TYPES = {TEXT: "text", FLAG: "text", INTEGER: "integer", FLOAT: "float"}
"""Variable kind → Define-XML ``DataType``."""
STANDARD_OID = "STD.ADAMIG.1.3"
GRADING_LEAF = "LF.GRADING"
CODELISTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ADTTE", "PARAMCD"): ("OS", "EFS", "RFS", "CIR"),
    ("ADCRS", "PARAMCD"): tuple(parameter[0] for parameter in ADCRS_PARAMETERS),
    ("ADTTE", "CNSR"): ("0", "1", "2", "3", "4"),
}
"""The controlled values of a few variables (Define-XML ``CodeList``)."""
FLAG_VALUES = ("Y", "N")


def _d(name: str) -> str:
    return f"{{{DEF_NS}}}{name}"


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """``<tag><TranslatedText xml:lang="en">text</TranslatedText></tag>`` under ``parent``."""
    element = etree.SubElement(parent, tag)
    translated = etree.SubElement(element, "TranslatedText")
    translated.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    translated.text = text
    return element


def method_oid(dataset: Dataset, variable: Variable) -> str:
    """OID of the derivation method of a derived variable."""
    return f"MT.{dataset.name}.{variable.name}"


def codelist_oid(dataset: Dataset, variable: Variable) -> str | None:
    """OID of the variable's code list, None when it has none."""
    if (dataset.name, variable.name) in CODELISTS:
        return f"CL.{dataset.name}.{variable.name}"
    return "CL.NY" if variable.kind == FLAG else None


def derivation_text(dataset: Dataset, variable: Variable) -> str:
    """The derivation of a variable: its source column and the rule that defines it."""
    if dataset is ADCRS and variable.name == "AVAL":
        lines = [f"{code}: {source} ({rule})" for code, _label, source, _unit, rule in ADCRS_PARAMETERS]
        return "AVAL by PARAMCD — " + "; ".join(lines)
    source = f"{variable.source} — " if variable.source else ""
    return f"{source}{variable.rule}"


def _item_def(mdv: etree._Element, dataset: Dataset, variable: Variable, frame: pd.DataFrame) -> None:
    item = etree.SubElement(mdv, "ItemDef")
    item.set("OID", item_oid(dataset, variable))
    item.set("Name", variable.name)
    item.set("DataType", DATA_TYPES[variable.kind])
    if variable.kind in (TEXT, FLAG):
        item.set("Length", str(text_length(frame[variable.name])))
    elif variable.kind == INTEGER:
        item.set("Length", "8")
    item.set("SASFieldName", variable.name)
    _text(item, "Description", variable.label)
    codelist = codelist_oid(dataset, variable)
    if codelist is not None:
        etree.SubElement(item, "CodeListRef", CodeListOID=codelist)
    origin = etree.SubElement(item, _d("Origin"), Type=variable.origin)
    if variable.origin in (PREDECESSOR, ASSIGNED):
        _text(origin, "Description", derivation_text(dataset, variable))


def _codelist(mdv: etree._Element, oid: str, name: str, values: tuple[str, ...], data_type: str) -> None:
    codelist = etree.SubElement(mdv, "CodeList", OID=oid, Name=name, DataType=data_type)
    for order, value in enumerate(values, start=1):
        etree.SubElement(codelist, "EnumeratedItem", CodedValue=value, OrderNumber=str(order))


def define_xml_bytes(frames: dict[str, pd.DataFrame], study_id: str, created: datetime) -> bytes:
    """Define-XML 2.1 of the ADaM datasets.

    Parameters
    ----------
    frames
        Dataset name → the ADaM frame (text lengths are the longest value).
    study_id
        STUDYID.
    created
        ``CreationDateTime``, written in UTC (ISO 8601): the output folder's data time
        (:func:`analysis.cdisc.export.data_time`).

    Returns
    -------
    bytes
        The document, UTF-8, with its XML declaration: one ItemGroupDef per dataset (with its
        ``def:leaf`` to the XPT file), one ItemDef per variable (label, type, length, origin), a
        MethodDef per derived variable whose text names the processed column and the grading.md
        rule, code lists for flags, PARAMCD and CNSR.
    """
    odm = etree.Element(
        "ODM",
        nsmap=NSMAP,
        FileType="Snapshot",
        FileOID=f"DEF.{study_id}.ADAM",
        CreationDateTime=created.astimezone(UTC).isoformat(timespec="seconds"),
        ODMVersion="1.3.2",
        Originator="PACER outcome-analysis pipeline",
        SourceSystem="pacer",
    )
    odm.set(_d("Context"), "Other")
    study = etree.SubElement(odm, "Study", OID=f"ST.{study_id}")
    variables = etree.SubElement(study, "GlobalVariables")
    etree.SubElement(variables, "StudyName").text = study_id
    etree.SubElement(
        variables, "StudyDescription"
    ).text = "PACER (NCT06703216): anakinra for CRS after tisagenlecleucel"
    etree.SubElement(variables, "ProtocolName").text = study_id
    mdv = etree.SubElement(study, "MetaDataVersion", OID=f"MDV.{study_id}.ADAM", Name="PACER ADaM")
    mdv.set(_d("DefineVersion"), "2.1.0")
    standards = etree.SubElement(mdv, _d("Standards"))
    etree.SubElement(
        standards, _d("Standard"), OID=STANDARD_OID, Name="ADaMIG", Type="IG", Version="1.3", Status="Final"
    )
    supplemental = etree.SubElement(mdv, _d("SupplementalDoc"))
    etree.SubElement(supplemental, _d("DocumentRef"), leafID=GRADING_LEAF)

    for dataset in DATASETS:
        group = etree.SubElement(
            mdv,
            "ItemGroupDef",
            OID=item_group_oid(dataset),
            Name=dataset.name,
            SASDatasetName=dataset.name,
            Repeating="No" if dataset.name == "ADSL" else "Yes",
            IsReferenceData="No",
            Purpose="Analysis",
        )
        group.set(_d("Structure"), dataset.structure)
        group.set(_d("StandardOID"), STANDARD_OID)
        group.set(_d("ArchiveLocationID"), f"LF.{dataset.name}")
        _text(group, "Description", dataset.label)
        for order, variable in enumerate(dataset.variables, start=1):
            ref = etree.SubElement(group, "ItemRef", ItemOID=item_oid(dataset, variable), OrderNumber=str(order))
            ref.set("Mandatory", "Yes" if variable.name in dataset.keys else "No")
            if variable.name in dataset.keys:
                ref.set("KeySequence", str(dataset.keys.index(variable.name) + 1))
            if variable.origin not in (PREDECESSOR, ASSIGNED):
                ref.set("MethodOID", method_oid(dataset, variable))
        adam_class = etree.SubElement(group, _d("Class"), Name=dataset.adam_class)
        if dataset.subclass is not None:
            etree.SubElement(adam_class, _d("SubClass"), Name=dataset.subclass)
        leaf = etree.SubElement(group, _d("leaf"), ID=f"LF.{dataset.name}")
        leaf.set(f"{{{XLINK_NS}}}href", f"{dataset.name.lower()}.xpt")
        etree.SubElement(leaf, _d("title")).text = f"{dataset.name.lower()}.xpt"

    for dataset in DATASETS:
        for variable in dataset.variables:
            _item_def(mdv, dataset, variable, frames[dataset.name])

    _codelist(mdv, "CL.NY", "No Yes Response", FLAG_VALUES, "text")
    for (name, variable_name), values in CODELISTS.items():
        dataset = next(candidate for candidate in DATASETS if candidate.name == name)
        variable = dataset.variable(variable_name)
        data_type = "integer" if variable.kind == INTEGER else "text"
        _codelist(mdv, codelist_oid(dataset, variable), f"{name} {variable_name}", values, data_type)

    for dataset in DATASETS:
        for variable in dataset.variables:
            if variable.origin in (PREDECESSOR, ASSIGNED):
                continue
            method = etree.SubElement(
                mdv, "MethodDef", OID=method_oid(dataset, variable), Name=f"{dataset.name}.{variable.name}"
            )
            method.set("Type", "Computation")
            _text(method, "Description", derivation_text(dataset, variable))
            etree.SubElement(method, _d("DocumentRef"), leafID=GRADING_LEAF)

    leaf = etree.SubElement(mdv, _d("leaf"), ID=GRADING_LEAF)
    leaf.set(f"{{{XLINK_NS}}}href", "grading.md")
    etree.SubElement(leaf, _d("title")).text = "Clinical derivation rules (grading.md, version 2.2)"
    return etree.tostring(odm, xml_declaration=True, encoding="UTF-8", pretty_print=True)
