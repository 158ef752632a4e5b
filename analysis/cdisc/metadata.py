"""The ADaM datasets' metadata: every dataset and variable, its label, origin and the rule it comes from.

One declaration per variable, read by the dataset builders (:mod:`analysis.cdisc.adam`), the XPT
and Dataset-JSON writers and the Define-XML writer, so a label or a rule is written once. A
variable either copies a column of a processed table (``source``: ``table.column``, outputs.md),
or is assigned by the export itself (``STUDYID``, ``PARAMCD`` …). ``rule`` is the Define-XML
derivation text: the grading.md (or outputs.md) section that defines the source column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STUDY_ID = "PACER"
"""``STUDYID`` of every dataset (the trial, NCT06703216)."""

FLAG = "flag"
TEXT = "text"
INTEGER = "integer"
FLOAT = "float"
KINDS = (FLAG, TEXT, INTEGER, FLOAT)
"""Variable kinds: a flag is a processed boolean written ``Y``/``N`` (missing stays missing)."""

ASSIGNED = "Assigned"
DERIVED = "Derived"
PREDECESSOR = "Predecessor"


@dataclass(frozen=True)
class Variable:
    """One ADaM variable.

    Parameters
    ----------
    name
        The ADaM name (≤ 8 characters, upper case).
    label
        The label (≤ 40 characters).
    kind
        ``flag``, ``text``, ``integer`` or ``float`` (:data:`KINDS`).
    source
        ``table.column`` of the processed table it copies, or None for a variable the export assigns.
    rule
        The derivation text of Define-XML: the rule of grading.md / outputs.md it comes from.
    origin
        Define-XML origin: ``Predecessor`` (copied as is), ``Derived`` (a derivation of the
        pipeline), ``Assigned`` (set by the export).
    """

    name: str
    label: str
    kind: str
    source: str | None = None
    rule: str = ""
    origin: str = DERIVED

    @property
    def source_table(self) -> str | None:
        """The processed table of :attr:`source`."""
        return None if self.source is None else self.source.split(".", 1)[0]

    @property
    def source_column(self) -> str | None:
        """The processed column of :attr:`source`."""
        return None if self.source is None else self.source.split(".", 1)[1]


@dataclass(frozen=True)
class Dataset:
    """One ADaM dataset: name, label, ADaM class and structure, key variables, variables in order, and subclass.

    ``subclass`` is Define-XML 2.1's ``def:SubClass`` of the ADaM class (``TIME-TO-EVENT`` of BDS,
    ``ADVERSE EVENT`` of OCCDS), read by validators that choose their rules by it.
    """

    name: str
    label: str
    adam_class: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...] = field(default_factory=tuple)
    subclass: str | None = None

    def variable(self, name: str) -> Variable:
        """The variable called ``name``."""
        return next(variable for variable in self.variables if variable.name == name)

    @property
    def names(self) -> list[str]:
        """Variable names in order."""
        return [variable.name for variable in self.variables]


T_TIME = "grading.md, 'Time': hours (or days) elapsed since infusion (day 0)"
T_SETS = "grading.md, 'Analysis sets'"
T_CRS = "grading.md, 'CRS, ASTCT 2019'"
T_PENN = "grading.md, 'CRS, Penn scale (approximation, for Penn-graded cohorts)'"
T_ICANS = "grading.md, 'ICANS, ASTCT 2019'"
T_ANAKINRA = "grading.md, 'Anakinra timing (PACER protocol)'"
T_OUTCOMES = "grading.md, 'Response and 12-month outcomes'"
T_DEATH = "grading.md, 'Treatment-related death and stopping rules'"
T_EXPORT = "export-format.md, participants.csv (as exported)"

IDENTIFIERS: tuple[Variable, ...] = (
    Variable("STUDYID", "Study Identifier", TEXT, rule=f"'{STUDY_ID}'", origin=ASSIGNED),
    Variable(
        "USUBJID",
        "Unique Subject Identifier",
        TEXT,
        "adsl.participant_id",
        rule="STUDYID, '-' and participant_id",
        origin=ASSIGNED,
    ),
)
"""The two identifiers every dataset starts with."""


def _flag(name: str, label: str, source: str, rule: str) -> Variable:
    return Variable(name, label, FLAG, source, f"{rule}; Y/N from the boolean")


def _copy(name: str, label: str, kind: str, source: str, rule: str = T_EXPORT) -> Variable:
    return Variable(name, label, kind, source, rule, PREDECESSOR if rule == T_EXPORT else DERIVED)


ADSL = Dataset(
    "ADSL",
    "Subject-Level Analysis Dataset",
    "SUBJECT LEVEL ANALYSIS DATASET",
    "One record per subject",
    ("STUDYID", "USUBJID"),
    (
        *IDENTIFIERS,
        _copy("SUBJID", "Subject Identifier for the Study", TEXT, "adsl.participant_id"),
        _copy("SITEID", "Study Site Identifier", TEXT, "participants.site_id"),
        _copy("AGE", "Age at Enrollment", FLOAT, "adsl.age_years"),
        Variable("AGEU", "Age Units", TEXT, rule="'YEARS'", origin=ASSIGNED),
        _copy("SEX", "Sex", TEXT, "adsl.sex"),
        _copy("WEIGHTBL", "Weight at Enrollment (kg)", FLOAT, "adsl.weight_kg"),
        _copy("BMBLPCT", "Marrow Blasts Pre-lymphodepletion (%)", FLOAT, "adsl.marrow_blast_pct"),
        Variable("PRHSCTFL", "Prior HSCT Flag", FLAG, "adsl.prior_hsct", f"{T_EXPORT}; Y/N", PREDECESSOR),
        _copy("CNSSTAT", "CNS Status", TEXT, "adsl.cns_status"),
        _copy("CARTDOSE", "CAR-T Dose (cells/kg)", FLOAT, "adsl.car_t_dose_per_kg"),
        _flag("INFFL", "Infused Before the Cut Flag", "adsl.infused", T_SETS),
        _flag("SAFFL", "Safety Population Flag", "adsl.safety", T_SETS),
        _flag("CRSEVLFL", "CRS-Evaluable Population Flag", "adsl.crs_evaluable", T_SETS),
        _flag("EFFFL", "Efficacy-Evaluable Population Flag", "adsl.efficacy_evaluable", T_SETS),
        _flag("HIBURDFL", "High Marrow Burden Flag", "adsl.high_burden", "grading.md, 'Burden'"),
        _flag("WDFL", "Withdrawn Flag", "adsl.withdrawn", T_OUTCOMES),
        _copy("WDREAS", "Reason for Withdrawal", TEXT, "adsl.withdrawal_reason", T_OUTCOMES),
        _copy("WDDY", "Withdrawal Day (days from infusion)", FLOAT, "adsl.withdrawal_days", T_TIME),
        _flag("DTHFL", "Subject Death Flag", "adsl.death", T_OUTCOMES),
        _copy("DTHCAUS", "Cause of Death", TEXT, "adsl.death_cause", T_OUTCOMES),
        _copy("DTHDY", "Death Day (days from infusion)", FLOAT, "adsl.death_days", T_TIME),
        _flag("TRDTHFL", "Treatment-Related Death Flag", "adsl.treatment_related_death", T_DEATH),
        _flag("COMP12FL", "Completed 12 Months Flag", "adsl.completed_12_months", T_OUTCOMES),
        _flag("ONGOFL", "Ongoing at the Data Cut Flag", "adsl.ongoing_at_cut", T_OUTCOMES),
        _copy("D28RSP", "Day-28 Response", TEXT, "adsl.response_day28", T_OUTCOMES),
        _copy("D28RSPDY", "Day-28 Assessment Day", FLOAT, "adsl.response_day28_days", T_OUTCOMES),
        _copy("D28MRD", "Day-28 MRD (%)", FLOAT, "adsl.mrd_day28_pct", T_OUTCOMES),
        _flag("D28MRDFL", "Day-28 MRD-Negative Flag", "adsl.mrd_negative_day28", T_OUTCOMES),
        _flag("D28CRFL", "Day-28 CR/CRi Flag", "adsl.cr_cri_day28", T_OUTCOMES),
        _copy("BESTRSP", "Best Response Within 3 Months", TEXT, "adsl.best_response_3mo", T_OUTCOMES),
        _flag("BCR3FL", "CR/CRi Within 3 Months Flag", "adsl.best_cr_cri_3mo", T_OUTCOMES),
        _copy("FCRDY", "First CR/CRi Day", FLOAT, "adsl.first_cr_days", T_OUTCOMES),
        _copy("LKADY", "Last Known Alive Day", FLOAT, "adsl.last_known_alive_days", T_OUTCOMES),
        _flag("CRSFL", "CRS (ASTCT) Flag", "adsl.crs_any", T_CRS),
        _copy("CRSONHR", "CRS Onset (hours from infusion)", FLOAT, "adsl.crs_onset_hours", T_CRS),
        _copy("CRSMXGR", "Maximum CRS Grade (ASTCT)", INTEGER, "adsl.crs_max_grade", T_CRS),
        _copy("CRSPNGR", "Maximum CRS Grade (Penn approximation)", INTEGER, "adsl.crs_max_grade_penn", T_PENN),
        _copy("CRSEPIS", "Number of CRS Episodes", INTEGER, "adsl.crs_episodes", T_CRS),
        _flag("ICANSFL", "ICANS Flag", "adsl.icans_any", T_ICANS),
        _copy("ICMXGR", "Maximum ICANS Grade (ASTCT)", INTEGER, "adsl.icans_max_grade", T_ICANS),
        _flag("ICASSFL", "Neurologically Assessed Flag", "adsl.icans_assessed", T_ICANS),
        _flag("ANAKFL", "Anakinra Given Flag", "adsl.anakinra_given", T_ANAKINRA),
        _copy("ANAK1HR", "First Anakinra Dose (hours)", FLOAT, "adsl.first_anakinra_hours", T_ANAKINRA),
        _copy("ANAKDOSN", "Number of Anakinra Doses", INTEGER, "adsl.anakinra_doses", T_ANAKINRA),
        _flag("TOCIFL", "Tocilizumab Given Flag", "adsl.tocilizumab_given", T_ANAKINRA),
        _flag("STERFL", "Corticosteroids Given Flag", "adsl.corticosteroids_given", T_ANAKINRA),
    ),
)

ADTTE = Dataset(
    "ADTTE",
    "Time-to-Event Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per subject per parameter",
    ("STUDYID", "USUBJID", "PARAMCD"),
    (
        *IDENTIFIERS,
        _copy("PARAMCD", "Parameter Code", TEXT, "adtte.paramcd", T_OUTCOMES),
        _copy("PARAM", "Parameter", TEXT, "adtte.param", T_OUTCOMES),
        _copy("AVAL", "Analysis Value", FLOAT, "adtte.aval", f"{T_OUTCOMES}: days from the origin"),
        Variable("AVALU", "Analysis Value Unit", TEXT, rule="'DAYS'", origin=ASSIGNED),
        Variable(
            "STARTDY",
            "Origin of Time to Event (days)",
            FLOAT,
            "adtte.origin_hours",
            f"{T_OUTCOMES}: origin_hours / 24 (RFS: the first CR/CRi)",
        ),
        _copy("CNSR", "Censor", INTEGER, "adtte.cnsr", f"{T_OUTCOMES}: cnsr"),
        _copy("EVNTDESC", "Event or Censoring Description", TEXT, "adtte.evntdesc", T_OUTCOMES),
        _copy("CNSDTDSC", "Censor Date Description", TEXT, "adtte.cnsdtdsc", T_OUTCOMES),
        _copy("EVNTCD", "Competing Event Code (CIR)", INTEGER, "adtte.event_code", f"{T_OUTCOMES}: event_code"),
        Variable(
            "SRCDOM",
            "Source Data",
            TEXT,
            "adtte.source",
            "the dataset of the deciding record: EVENTS (the export's events), ADSL, or empty (12-month horizon)",
            ASSIGNED,
        ),
        Variable("SRCVAR", "Source Variable", TEXT, "adtte.source", "the variable of the deciding record", ASSIGNED),
        Variable(
            "SRCSEQ",
            "Source Sequence Number",
            INTEGER,
            "events.line",
            "line of the deciding record in events.csv (events.parquet line)",
            ASSIGNED,
        ),
    ),
    subclass="TIME-TO-EVENT",
)

ADAE = Dataset(
    "ADAE",
    "Adverse Events Analysis Dataset",
    "OCCURRENCE DATA STRUCTURE",
    "One record per adverse event",
    ("STUDYID", "USUBJID", "AESEQ"),
    (
        *IDENTIFIERS,
        Variable("AESEQ", "Sequence Number", INTEGER, rule="order of ae.parquet within the subject", origin=ASSIGNED),
        _copy("AEDECOD", "Adverse Event Term (export vocabulary)", TEXT, "ae.term", "export-format.md, adverse_event"),
        _copy("AETERM", "Reported Term Text", TEXT, "ae.term_text", "export-format.md, adverse_event"),
        _copy("ATOXGR", "Analysis Toxicity Grade (CTCAE)", TEXT, "ae.grade", "export-format.md, adverse_event"),
        _copy("ATOXGRN", "Analysis Toxicity Grade (CTCAE) (N)", INTEGER, "ae.grade", "export-format.md, adverse_event"),
        _copy("ASTHR", "Analysis Start (hours from infusion)", FLOAT, "ae.onset_hours", T_TIME),
        _copy("AENHR", "Analysis End (hours from infusion)", FLOAT, "ae.resolved_hours", T_TIME),
        _copy("ASTDY", "Analysis Start Day (day 0 = infusion)", INTEGER, "ae.study_day_onset", T_TIME),
    ),
    subclass="ADVERSE EVENT",
)

ADCRS_PARAMETERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("CRSMXGR", "Maximum CRS grade, ASTCT 2019", "crs.crs_max_grade", "GRADE", T_CRS),
    ("CRSPNGR", "Maximum CRS grade, Penn approximation", "crs.crs_max_grade_penn", "GRADE", T_PENN),
    ("CRSREPGR", "Maximum CRS grade reported by the site", "crs.crs_grade_reported_max", "GRADE", T_CRS),
    ("CRSONSHR", "CRS onset (hours from infusion)", "crs.crs_onset_hours", "HOURS", T_CRS),
    ("CRSDURHR", "CRS duration (hours)", "crs.crs_duration_hours", "HOURS", T_CRS),
    ("ICMXGR", "Maximum ICANS grade, ASTCT 2019", "icans.icans_max_grade", "GRADE", T_ICANS),
    ("ICREPGR", "Maximum ICANS grade reported by the site", "icans.icans_grade_reported_max", "GRADE", T_ICANS),
    ("FEVANAKH", "First fever to first anakinra (hours)", "anakinra.fever_to_anakinra_hours", "HOURS", T_ANAKINRA),
    ("TRGANAKH", "Protocol trigger to anakinra (hours)", "anakinra.trigger_to_anakinra_hours", "HOURS", T_ANAKINRA),
    ("ANAKDOSN", "Number of anakinra doses", "anakinra.anakinra_doses", "DOSES", T_ANAKINRA),
)
"""ADCRS parameters: PARAMCD, PARAM, the processed column it carries, AVALU and the rule."""

ADCRS = Dataset(
    "ADCRS",
    "CRS, ICANS and Anakinra Analysis Dataset",
    "BASIC DATA STRUCTURE",
    "One record per infused subject per parameter",
    ("STUDYID", "USUBJID", "PARAMN"),
    (
        *IDENTIFIERS,
        Variable("PARAMCD", "Parameter Code", TEXT, rule="the ADCRS parameter (docs/cdisc.md)", origin=ASSIGNED),
        Variable("PARAM", "Parameter", TEXT, rule="the ADCRS parameter (docs/cdisc.md)", origin=ASSIGNED),
        Variable("PARAMN", "Parameter (N)", INTEGER, rule="order of the ADCRS parameters", origin=ASSIGNED),
        Variable("AVAL", "Analysis Value", FLOAT, rule="the processed column SRCDOM.SRCVAR, as derived"),
        Variable("AVALU", "Analysis Value Unit", TEXT, rule="GRADE, HOURS or DOSES", origin=ASSIGNED),
        _flag("SAFFL", "Safety Population Flag", "adsl.safety", T_SETS),
        _flag("CRSEVLFL", "CRS-Evaluable Population Flag", "adsl.crs_evaluable", T_SETS),
        Variable("SRCDOM", "Source Data", TEXT, rule="the processed table (CRS, ICANS, ANAKINRA)", origin=ASSIGNED),
        Variable("SRCVAR", "Source Variable", TEXT, rule="the processed column", origin=ASSIGNED),
    ),
)

DATASETS: tuple[Dataset, ...] = (ADSL, ADTTE, ADAE, ADCRS)
"""Every ADaM dataset the export writes, in the order of Define-XML."""
