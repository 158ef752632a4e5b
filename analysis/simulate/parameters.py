"""The simulator's parameters: what differs between the PACER trial and its historical cohort.

Every number the generative model uses that a reader might want to change lives here, named.
Shares are probabilities per participant unless said otherwise; times are in hours or days from
infusion (day 0).
"""

from __future__ import annotations

from dataclasses import dataclass

# Ordinal (cumulative-logit) CRS severity model, shared by both cohorts:
#   P(max grade >= k) = logistic(CRS_BLAST_SLOPE * blasts / 100 + shift - CRS_GRADE_CUTPOINTS[k - 1])
CRS_BLAST_SLOPE = 3.0
CRS_GRADE_CUTPOINTS = (0.1, 1.5, 2.7, 4.0)

# P(ICANS | maximum CRS grade 0..4), and the ICANS grade 1..4 given ICANS.
ICANS_SHARE_BY_CRS_GRADE = (0.03, 0.10, 0.25, 0.50, 0.70)
ICANS_GRADE_SHARES = (0.45, 0.30, 0.20, 0.05)

# Fever patterns of grade-1 CRS (grade >= 2 always has a persistent fever).
GRADE1_FEVER_PATTERN_SHARES = {"persistent": 0.50, "single_high": 0.20, "close_pair": 0.15, "low_grade": 0.15}

# Tisagenlecleucel timing and follow-up.
FOLLOW_UP_DAYS = 365.25
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class CohortModel:
    """The parameters that distinguish one simulated cohort from another.

    Attributes
    ----------
    label
        ``"trial"`` or ``"historical"``.
    id_prefix
        Participant ids are ``<id_prefix><zero-padded number>`` in enrollment order.
    crs_latent_shift
        Added to the ordinal CRS model's linear predictor: > 0 means more severe CRS.
    anakinra
        Whether the protocol gives anakinra from the persistent-fever trigger.
    tocilizumab_share_by_grade
        P(tocilizumab) by maximum CRS grade 0..4.
    dexamethasone_share_severe
        P(dexamethasone for CRS) given grade >= 3.
    infusion_days_before_export
        Infusions are spread uniformly over this many days before the export (low, high).
    recent_infusion_share
        Share of infused participants forced into the last 3-28 days before the export (not yet
        CRS-evaluable).
    recent_enrollment_share
        Share of the never-infused participants who were enrolled in the last weeks and are
        awaiting their product.
    """

    label: str
    id_prefix: str
    crs_latent_shift: float
    anakinra: bool
    tocilizumab_share_by_grade: tuple[float, float, float, float, float]
    dexamethasone_share_severe: float
    infusion_days_before_export: tuple[float, float]
    recent_infusion_share: float
    recent_enrollment_share: float


TRIAL = CohortModel(
    label="trial",
    id_prefix="PACER-",
    crs_latent_shift=0.0,
    anakinra=True,
    tocilizumab_share_by_grade=(0.0, 0.0, 0.05, 0.30, 0.50),
    dexamethasone_share_severe=0.25,
    infusion_days_before_export=(3.0, 700.0),
    recent_infusion_share=0.05,
    recent_enrollment_share=0.4,
)

HISTORICAL = CohortModel(
    label="historical",
    id_prefix="HIST-",
    crs_latent_shift=0.6,
    anakinra=False,
    tocilizumab_share_by_grade=(0.0, 0.05, 0.35, 0.85, 0.95),
    dexamethasone_share_severe=0.35,
    infusion_days_before_export=(410.0, 2200.0),
    recent_infusion_share=0.0,
    recent_enrollment_share=0.0,
)
