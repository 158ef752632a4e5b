"""The direct-identifier guard of export-format.md, "What bad input gets", read by meaning.

A column is judged by the words of its name, whatever their spelling: case, separators and camelCase
are undone first (``patientName``, ``PatientName``, ``Patient Name`` and ``patient-name`` are all
``patient_name``). The names and fragments export-format.md lists are refused, and so is every other
kind of identifier of the HIPAA Safe Harbor list (45 CFR 164.514(b)(2)): names; geographic
subdivisions smaller than a state (street address, city, county, ZIP or postal code, coordinates);
every date of an individual but the contract's own (birth, admission, discharge, death, any other
date column); telephone and fax numbers; e-mail addresses; social security, medical record, health
plan beneficiary, account, certificate or licence numbers; vehicle and device identifiers and serial
numbers; URLs; IP addresses; biometric identifiers; full-face photographs; any other unique
identifying number. Every name and fragment export-format.md lists (``name``, ``mrn``, ``dob``,
``zipcode``, ``e_mail``, ... and any name containing ``mrn``, ``ssn``, ``email``, ``phone`` or
``birth``) is among them. The contract's own columns (``participant_id``, ``enrollment_date``,
``infusion_datetime``, ``event_time`` ...) always pass.
"""

from __future__ import annotations

import re

from analysis.export.errors import ExportError
from analysis.export.vocabulary import EVENT_COLUMNS, PARTICIPANT_COLUMNS

CONTRACT_COLUMNS = frozenset(PARTICIPANT_COLUMNS + EVENT_COLUMNS)
"""The columns of participants.csv and events.csv (export-format.md): never refused."""

SAFE_HARBOR_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("name", "names", "surname", "forename", "firstname", "lastname", "fullname", "maiden", "initials", "nickname"),
        "a name",
    ),
    **dict.fromkeys(
        (
            "address",
            "street",
            "city",
            "town",
            "county",
            "zip",
            "zipcode",
            "postcode",
            "postal",
            "geocode",
            "latitude",
            "longitude",
            "gps",
            "precinct",
        ),
        "a geographic subdivision smaller than a state",
    ),
    **dict.fromkeys(
        (
            "date",
            "dates",
            "datetime",
            "timestamp",
            "dttm",
            "dob",
            "dod",
            "birthday",
            "birthdate",
            "admission",
            "admitted",
            "admit",
            "discharge",
            "discharged",
        ),
        "a date of an individual other than the year",
    ),
    **dict.fromkeys(("telephone", "tel", "mobile", "cellphone", "fax", "pager"), "a telephone or fax number"),
    **dict.fromkeys(("url", "urls", "website", "homepage", "uri"), "a URL"),
    **dict.fromkeys(("ip", "ipv4", "ipv6", "ipaddress"), "an IP address"),
    **dict.fromkeys(
        ("insurance", "insurer", "beneficiary", "medicaid", "medicare", "subscriber", "policy"),
        "a health plan beneficiary number",
    ),
    **dict.fromkeys(("account", "acct", "iban", "billing"), "an account number"),
    **dict.fromkeys(("license", "licence", "certificate", "passport", "dea", "npi"), "a certificate or licence number"),
    **dict.fromkeys(("vehicle", "vin", "plate"), "a vehicle identifier"),
    **dict.fromkeys(("serial", "imei", "udi", "mac"), "a device identifier or serial number"),
    **dict.fromkeys(
        ("biometric", "biometrics", "fingerprint", "fingerprints", "voiceprint", "retina", "iris"),
        "a biometric identifier",
    ),
    **dict.fromkeys(("photo", "photos", "photograph", "portrait", "headshot", "selfie", "face"), "a photograph"),
}
"""One word of a column name that makes it an identifier, with the Safe Harbor kind it is."""

SAFE_HARBOR_FRAGMENTS: dict[str, str] = {
    "mrn": "a medical record number",
    "ssn": "a social security number",
    "email": "an e-mail address",
    "phone": "a telephone or fax number",
    "birth": "a date of an individual other than the year",
    "medicalrecord": "a medical record number",
    "chartnumber": "a medical record number",
    "socialsecurity": "a social security number",
    "dateofdeath": "a date of an individual other than the year",
    "deathdate": "a date of an individual other than the year",
    "zipcode": "a geographic subdivision smaller than a state",
    "postalcode": "a geographic subdivision smaller than a state",
    "ipaddress": "an IP address",
    "healthplan": "a health plan beneficiary number",
    "memberid": "a health plan beneficiary number",
    "accountnumber": "an account number",
    "licenseplate": "a vehicle identifier",
    "deviceid": "a device identifier or serial number",
    "serialnumber": "a device identifier or serial number",
    "patientid": "another unique identifying number",
    "patientnumber": "another unique identifying number",
    "hospitalnumber": "another unique identifying number",
    "nationalid": "another unique identifying number",
    "nhsnumber": "another unique identifying number",
}
"""A run of letters anywhere in a column name (its words joined) that makes it an identifier; the first
five are export-format.md's own fragments."""

NOT_A_PERSON = frozenset(
    {
        "study",
        "site",
        "drug",
        "file",
        "event",
        "unit",
        "form",
        "instrument",
        "arm",
        "hospital",
        "stat",
        "statistic",
        "param",
        "parameter",
        "variable",
        "column",
        "table",
        "group",
        "cohort",
        "analysis",
    }
)
"""A ``name`` after one of these words names a thing, not a person (``site_name``, ``redcap_event_name``,
the ARD's ``stat_name``)."""


def normalize_column_name(name: str) -> str:
    """Column names are matched case-insensitively after trimming; spaces and hyphens read as underscores."""
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def column_words(name: str) -> list[str]:
    """The lower-case words of a column name: camelCase, case and every separator undone.

    ``patientName``, ``PatientName``, ``Patient Name``, ``patient-name`` and ``PATIENT_NAME`` all give
    ``["patient", "name"]``; ``MRNNumber`` gives ``["mrn", "number"]``; ``date.of.birth`` gives
    ``["date", "of", "birth"]``.
    """
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", name.strip())
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", spaced)
    return [word for word in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if word]


def identifier_kind(name: str) -> str | None:
    """The Safe Harbor kind of identifier a column name denotes, or None (always None for a contract column).

    Parameters
    ----------
    name : str
        The column name as written in the header.

    Returns
    -------
    str or None
        e.g. ``"a name"`` for ``patientName``, ``"a date of an individual other than the year"`` for
        ``admission_date``; None for ``enrollment_date`` or ``temperature_site``.
    """
    words = column_words(name)
    if normalize_column_name(name) in CONTRACT_COLUMNS or "_".join(words) in CONTRACT_COLUMNS:
        return None
    for position, word in enumerate(words):
        kind = SAFE_HARBOR_WORDS.get(word)
        if kind == "a name" and word in ("name", "names") and position and words[position - 1] in NOT_A_PERSON:
            continue
        if kind is not None:
            return kind
    joined = "".join(words)
    return next((kind for fragment, kind in SAFE_HARBOR_FRAGMENTS.items() if fragment in joined), None)


def is_identifier_column(name: str) -> bool:
    """True for a column name that denotes an identifier (:func:`identifier_kind`)."""
    return identifier_kind(name) is not None


def refuse_identifier_columns(file_name: str, header: list[str]) -> None:
    """Stop the run, naming the column, when a header carries an identifier.

    Raises
    ------
    ExportError
        for the first identifier column found; nothing of the file reaches the processed data.
    """
    for raw in header:
        kind = identifier_kind(raw)
        if kind is not None:
            raise ExportError(
                f"{file_name}: column '{raw.strip()}' looks like a direct identifier; identifiers are refused "
                f"(export-format.md, HIPAA Safe Harbor: {kind}) — remove the column and export again"
            )
