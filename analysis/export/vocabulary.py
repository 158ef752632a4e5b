"""The controlled vocabulary and plausible ranges of export-format.md ("Vocabulary", "Plausible ranges")."""

from __future__ import annotations

import pandas as pd


def normalize_code(values: pd.Series) -> pd.Series:
    """Vocabulary values are matched case-insensitively after trimming, spaces and hyphens read as underscores."""
    return values.str.strip().str.lower().str.replace(r"[ \-]+", "_", regex=True)


PARTICIPANT_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "site_id",
    "age_years",
    "sex",
    "weight_kg",
    "enrollment_date",
    "infusion_datetime",
    "marrow_blast_pct",
    "prior_hsct",
    "cns_status",
    "car_t_dose_per_kg",
)
"""The columns of participants.csv (export-format.md), in the contract's order."""

EVENT_COLUMNS: tuple[str, ...] = ("participant_id", "event_time", "end_time", "event_type", "value", "unit", "detail")
"""The columns of events.csv (export-format.md), in the contract's order."""

CORTICOSTEROIDS: tuple[str, ...] = ("dexamethasone", "methylprednisolone", "hydrocortisone")
"""The corticosteroids of the ``medication`` vocabulary (export-format.md): the one definition of the class."""

IL6_BLOCKERS: tuple[str, ...] = ("tocilizumab", "siltuximab")
"""The IL-6 (receptor) blockers of the ``medication`` vocabulary."""

MASKING_DRUGS: tuple[str, ...] = ("anakinra", *IL6_BLOCKERS, *CORTICOSTEROIDS)
"""Drugs that may hide a fever (grading.md, "A new episode"): the default of the setting ``masking_drugs``."""

RESCUE_DRUGS: tuple[str, ...] = (*IL6_BLOCKERS, *CORTICOSTEROIDS)
"""grading.md, "Anakinra timing", rescue: tocilizumab, siltuximab or a corticosteroid."""

VASOPRESSIN = "vasopressin"

NOREPINEPHRINE_EQUIVALENTS: dict[str, float] = {
    "norepinephrine": 1.0,
    "epinephrine": 1.0,
    "phenylephrine": 1.0 / 10.0,
    "dopamine": 1.0 / 140.0,
}
"""grading.md, "High dose": NE-equivalent = norepinephrine + epinephrine + phenylephrine / 10 +
dopamine / 140 (VASST weights at 70 kg), all mcg/kg/min; vasopressin has none (its units/kg/min
add nothing)."""

VASOPRESSORS: tuple[str, ...] = ("norepinephrine", "epinephrine", "dopamine", "phenylephrine", VASOPRESSIN)
"""The vasopressors of the ``vasopressor`` vocabulary (export-format.md)."""

NEUROLOGICAL_ASSESSMENTS: tuple[str, ...] = (
    "ice_score",
    "capd_score",
    "consciousness",
    "seizure",
    "motor_weakness",
    "cerebral_edema",
)
"""The event types that count as a neurological assessment (grading.md, ICANS: ``icans_assessed``)."""

EVENT_TYPES = (
    "temperature",
    "systolic_bp",
    "fluid_bolus",
    "vasopressor",
    "oxygen",
    "medication",
    *NEUROLOGICAL_ASSESSMENTS,
    "crs_grade_reported",
    "icans_grade_reported",
    "response_assessment",
    "relapse",
    "b_cell_recovery",
    "hsct",
    "new_therapy",
    "death",
    "last_contact",
    "withdrawal",
    "adverse_event",
)

INTERVAL_TYPES = ("vasopressor", "oxygen", "adverse_event")

UNITS: dict[str, tuple[str, ...]] = {
    "temperature": ("C", "F"),
    "systolic_bp": ("mmHg",),
    "fluid_bolus": ("mL/kg",),
    "vasopressor": ("mcg/kg/min", "units/kg/min"),
    "oxygen": ("L/min",),
    "medication": ("mg", "mg/kg"),
    "response_assessment": ("%",),
}
"""Units by event type, as spelled in the contract; matched case-insensitively."""

DETAIL_CODES: dict[str, tuple[str, ...]] = {
    "vasopressor": VASOPRESSORS,
    "oxygen": (
        "blow_by",
        "nasal_cannula",
        "high_flow_nasal_cannula",
        "simple_face_mask",
        "venturi_mask",
        "nonrebreather_mask",
        "cpap",
        "bipap",
        "mechanical_ventilation",
    ),
    "medication": (*MASKING_DRUGS, "acetaminophen", "ibuprofen"),
    "consciousness": ("awake", "awakens_to_voice", "awakens_to_tactile", "unarousable"),
    "seizure": ("focal_or_generalized_resolving", "nonconvulsive_on_eeg", "prolonged_or_repetitive"),
    "motor_weakness": ("deep_focal",),
    "cerebral_edema": ("focal", "diffuse"),
    "response_assessment": ("CR", "CRi", "PR", "NR", "not_evaluable"),
    "relapse": ("cd19_positive", "cd19_negative", "unknown"),
    "death": ("disease", "crs", "icans", "infection", "other"),
    "adverse_event": (
        "infection",
        "febrile_neutropenia",
        "neutropenia",
        "thrombocytopenia",
        "anemia",
        "iec_hs",
        "hypogammaglobulinemia",
        "tumor_lysis",
        "other",
    ),
}
"""Detail codes by event type; ``adverse_event`` allows free text after a colon."""

FREE_TEXT_DETAIL = ("new_therapy", "withdrawal")

VALUE_REQUIRED = (
    "temperature",
    "systolic_bp",
    "fluid_bolus",
    "vasopressor",
    "medication",
    "ice_score",
    "capd_score",
    "crs_grade_reported",
    "icans_grade_reported",
    "adverse_event",
)
OXYGEN_DEVICES_WITHOUT_FLOW = ("cpap", "bipap", "mechanical_ventilation")

VASOPRESSOR_MAX_DOSE = {
    "norepinephrine": 5.0,
    "epinephrine": 5.0,
    "phenylephrine": 10.0,
    "dopamine": 30.0,
    "vasopressin": 0.01,
}
"""Upper plausible dose: mcg/kg/min, vasopressin units/kg/min."""

MAX_DAYS_BEFORE_ENROLLMENT = 30


def canonical(codes: tuple[str, ...]) -> dict[str, str]:
    """Map each code's normalized spelling to its spelling in the contract."""
    return {normalize_code(pd.Series([code])).iloc[0]: code for code in codes}
