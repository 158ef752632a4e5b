"""The analysis plan: every [choice] of ``spec/grading.md`` and ``spec/outputs.md`` as a named setting.

Each field carries the default the specification documents. A run may load the plan from a TOML,
YAML or JSON file (:func:`load_settings`); the settings in force and their hash
(:meth:`AnalysisPlan.settings_hash`) travel into every Parquet file's provenance and the report.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from analysis.export.vocabulary import MASKING_DRUGS


class HighDoseVasopressors(BaseModel):
    """[choice `high_dose`] — Lee 2014's adult table scaled to 70 kg, all mcg/kg/min (grading.md, Penn)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    norepinephrine: float = 0.28
    epinephrine: float = 0.14
    dopamine: float = 10.0
    phenylephrine: float = 2.86
    combination_ne_equivalent: float = 0.28
    combination_ne_equivalent_with_vasopressin: float = 0.14
    min_duration_hours: float = Field(
        3.0, description="an uninterrupted high-dose run of at least this long is grade 4"
    )


class PrimaryAnalysis(BaseModel):
    """[choice `primary`] — outputs.md, "Primary analysis"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = "crs_grade3plus"
    comparator: str = "eliana_2018"
    alpha: float = Field(
        0.05, gt=0, lt=1, description="one-sided level of the exact binomial test (the method is fixed by outputs.md)"
    )


class StoppingRules(BaseModel):
    """Safety stopping rules (grading.md, "Treatment-related death and stopping rules").

    Each monitored event (grade ≥ 4 CRS; treatment-related death) is checked over the CRS-evaluable
    set at the ``looks`` (by default after every newly evaluable participant from ``min_evaluated``
    to ``max_evaluated``). ``method`` ``thall_simon`` (the default, Thall–Simon 1994) stops when
    P(true rate > the rule's rate | data, Beta(prior_a, prior_b)) ≥ ``posterior_threshold``;
    ``bb_calibrated`` (Geller et al. 2003), ``pocock``, ``obf`` and ``sprt`` calibrate their critical
    value so that P(ever stop | true rate = the rule's rate p0) ≤ ``alpha``, the largest such
    probability. These are **proposed defaults that the DSMB must confirm** at its first meeting;
    the report shows them beside every status line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["thall_simon", "bb_calibrated", "pocock", "obf", "sprt"] = Field(
        "thall_simon", description="[choice stopping] how the boundaries are made (grading.md's method names)"
    )
    prior_a: float = Field(
        1.0, gt=0, description="Beta prior a (1, 1 = uniform: one pseudo-participant's weight each way)"
    )
    prior_b: float = Field(1.0, gt=0, description="Beta prior b")
    crs_grade4plus_unacceptable_rate: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="grade ≥ 4 CRS (ASTCT) rate the DSMB will not accept: the rule's p0 (its null rate for the calibrated methods)",
    )
    treatment_related_death_unacceptable_rate: float = Field(
        0.10,
        gt=0,
        lt=1,
        description="treatment-related death rate (grading.md) the DSMB will not accept: the rule's p0",
    )
    posterior_threshold: float = Field(
        0.90, gt=0, lt=1, description="thall_simon: stop when P(rate > unacceptable) reaches this"
    )
    alpha: float = Field(
        0.10,
        gt=0,
        lt=1,
        description="bb_calibrated, pocock, obf, sprt: the largest allowed P(ever stop | true rate = p0)",
    )
    sprt_rate_increase: float = Field(
        0.15, gt=0, lt=1, description="sprt: the alternative rate p1 = p0 + this, for each rule"
    )
    min_evaluated: int = Field(5, ge=1, description="no stop is signalled before this many are evaluated")
    max_evaluated: int = Field(
        40, ge=1, description="planned number evaluated (enrollment target): boundaries are tabulated up to it"
    )
    looks: tuple[int, ...] | None = Field(
        None,
        description="numbers evaluated at which the rules are checked (increasing, the last = max_evaluated); "
        "none: after every participant from min_evaluated to max_evaluated",
    )
    oc_true_rates: tuple[float, ...] = Field(
        (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40),
        description="true rates of the operating characteristics (exact in the ARD; also simulated by `pacer simulate-oc`)",
    )
    oc_trials: int = Field(10_000, ge=100, description="simulated trials per true rate (`pacer simulate-oc`)")
    oc_seed: int = Field(20241121, description="seed of the operating-characteristics simulation")

    @model_validator(mode="after")
    def coherent_design(self) -> StoppingRules:
        """The look schedule ends at ``max_evaluated``; the SPRT's alternative rates stay below 1."""
        if self.min_evaluated > self.max_evaluated:
            raise ValueError("min_evaluated must not exceed max_evaluated")
        if self.looks is not None:
            looks = self.looks
            if not looks or looks[0] < 1 or any(b <= a for a, b in zip(looks, looks[1:])):
                raise ValueError("looks must be strictly increasing numbers evaluated, from 1 on")
            if looks[-1] != self.max_evaluated:
                raise ValueError("the last of the looks must be max_evaluated")
        highest = max(self.crs_grade4plus_unacceptable_rate, self.treatment_related_death_unacceptable_rate)
        if highest + self.sprt_rate_increase >= 1:
            raise ValueError("sprt_rate_increase puts an alternative rate p0 + increase at or above 1")
        return self

    def look_schedule(self) -> tuple[int, ...]:
        """The numbers evaluated at which the rules are checked."""
        return self.looks or tuple(range(self.min_evaluated, self.max_evaluated + 1))


class IptwBootstrap(BaseModel):
    """The stratified bootstrap of the IPTW risk difference (``pacer bootstrap``; :mod:`analysis.stats.iptw_bootstrap`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    replicates: int = Field(
        2_000,
        ge=100,
        description="bootstrap replicates (with 2,000, the Monte Carlo standard error of a 95 % percentile limit is about 0.007 when the bootstrap SE is 0.11)",
    )
    seed: int = Field(
        20261125, description="seed of the bootstrap: the same seed and data give the same table anywhere"
    )


class MapPriorSettings(BaseModel):
    """Robust meta-analytic-predictive (MAP) priors of the historical rates (:mod:`analysis.stats.map_prior`).

    Model and defaults as R's RBesT for a binary endpoint: ``gMAP`` with ``tau.dist = "HalfNormal"``,
    ``tau.prior = 1`` (its vignette's "conservative HalfNormal(0,1) prior as a default" for rates of
    20–80 %) and ``beta.prior = 2`` (its documented default for the binary case); ``automixfit``
    (1–4 components, AIC penalty 6); ``robustify`` with Beta(1, 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="compute the map_prior rows and densities")
    tau_prior_scale: float = Field(
        1.0, gt=0, description="scale of the HalfNormal prior on the between-study SD τ (logit scale)"
    )
    mean_prior_sd: float = Field(2.0, gt=0, description="SD of the N(0, SD²) prior on the mean logit μ")
    robust_weight: float = Field(
        0.2, ge=0, lt=1, description="weight of the Beta(1, 1) component of the robust MAP prior"
    )
    max_mixture_components: int = Field(
        4, ge=1, le=6, description="the beta-mixture approximation tries 1 … this many components (AIC)"
    )
    overlap_representative: dict[str, str] = Field(
        default_factory=lambda: {"eliana": "eliana_2018"},
        description="[choice map.overlap_representative] the one cohort that stands for each overlap group",
    )
    include_site_historical: bool = Field(
        True, description="with --historical-export, the site's own historical patients are one more study"
    )


class ReportSettings(BaseModel):
    """How the DSMB reports are laid out and what they measure enrollment against (no derivation reads these)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    planned_enrollment: int = Field(
        40, ge=1, description="the protocol's planned number of participants: the enrollment chart's target line"
    )
    paper_size: Literal["letter", "a4"] = Field(
        "letter", description="the PDF's page size: US Letter (a US trial's default) or A4"
    )


class AnalysisPlan(BaseModel):
    """Every analysis-plan setting, with the defaults of grading.md (version 2.1) and outputs.md (version 2)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The physiological state over time
    reading_hold_hours: float = Field(
        12.0, gt=0, description="[choice reading_hold_hours] how long a reading describes the state"
    )
    bolus_hold_hours: float = Field(
        1.0, gt=0, description="[choice bolus_hold_hours] how long a fluid bolus counts as hypotension"
    )
    pals_age: Literal["completed_years", "exact"] = Field(
        "completed_years", description="[choice pals_age] age used for the PALS threshold"
    )
    fever_celsius: float = Field(38.0, description="fever is a temperature at or above this (°C)")
    high_flow_nasal_cannula_above_l_min: float = Field(
        6.0, description="a nasal cannula above this flow counts as high flow"
    )

    # CRS ASTCT episodes
    episode_gap_hours: float = Field(
        24.0, gt=0, description="[choice episode_gap_hours] clean span that ends an episode"
    )
    masking_hours: float = Field(
        72.0,
        ge=0,
        description="[choice masking_hours] a masking dose lets a new episode start without fever for this long",
    )
    masking_drugs: tuple[str, ...] = Field(
        MASKING_DRUGS,
        description="[choice masking_drugs] drugs that may hide a fever",
    )
    crs_window_days: float = Field(
        30.0, gt=0, description="[choice crs_window_days] episodes must start within days 0 to this"
    )
    crs_followup_days: float = Field(60.0, gt=0, description="an episode is followed to its end or this day at most")

    # Penn approximation
    high_dose: HighDoseVasopressors = HighDoseVasopressors()
    penn_repeat_bolus_hours: float = Field(
        24.0,
        ge=0,
        description="Penn grade 3: a bolus counts with another bolus given this many hours before it or less",
    )

    # Anakinra (PACER protocol)
    trigger_temperature_celsius: float = Field(
        38.5, description="persistent-fever trigger: readings strictly above this"
    )
    trigger_min_gap_hours: float = 4.0
    trigger_max_gap_hours: float = 24.0
    anakinra_window_hours: float = Field(
        6.0,
        ge=0,
        description="[choice anakinra_window_hours] a first dose later than this after the trigger is a deviation",
    )
    anakinra_max_mg_per_kg: float = 2.5
    anakinra_max_mg: float = 100.0
    escalation_interval_hours: float = Field(
        9.0, description="two consecutive doses less than this apart mean escalation to every 6 h"
    )
    rescue_window_days: float = Field(
        30.0, description="tocilizumab_given / corticosteroids_given look from infusion to this day"
    )
    anakinra_mg_per_kg_decimals: int = Field(
        2,
        ge=0,
        description="per-dose mg/kg is rounded to this many decimals before the escalation comparison, so a dose in mg and the same dose in mg/kg compare equal",
    )

    # ICANS ASTCT 2019
    ice_min_age_years: float = Field(
        12.0, description="ICE is the encephalopathy tool from this age (at the assessment); CAPD below it"
    )

    # Burden
    high_burden_pct: float = Field(
        40.0, description="[choice high_burden_pct] marrow blasts at or above this are high burden"
    )

    # Response and 12-month outcomes
    response_target_day: float = 28.0
    response_window_days: tuple[float, float] = Field(
        (21.0, 42.0), description="[choice] day-28 response: the assessment nearest the target within these days"
    )
    best_response_by_day: float = Field(91.0, description="best response within 3 months: CR/CRi by this day")
    mrd_negative_below_pct: float = 0.01
    horizon_days: float = 365.25
    days_per_month: float = 30.4375
    efs_failure_day: Literal[28, 0] = Field(28, description="[choice efs_failure_day] time of a treatment failure")
    missing_day28_is_failure: bool = Field(
        True, description="[choice] no assessment in the window, alive at day 42, is a treatment failure"
    )
    censor_at_hsct_in_remission: bool = Field(
        True, description="[choice] censor EFS/RFS/CIR at HSCT or new therapy in remission (ELIANA, CIBMTR)"
    )

    # Treatment-related death
    trm_causes: tuple[str, ...] = Field(
        ("crs", "icans", "infection"), description="[choice] causes that are treatment-related within trm_cause_days"
    )
    trm_cause_days: float = 100.0
    trm_any_cause_days: float = Field(
        30.0, description="any cause other than disease within this many days is treatment-related"
    )

    # Primary analysis
    primary: PrimaryAnalysis = PrimaryAnalysis()

    # Safety stopping rules
    stopping: StoppingRules = StoppingRules()

    # Sensitivity analysis: bootstrap of the IPTW risk difference (issue 7)
    iptw_bootstrap: IptwBootstrap = IptwBootstrap()

    # Robust MAP priors of the historical rates (outputs.md v3, map_prior)
    map: MapPriorSettings = MapPriorSettings()

    # The DSMB reports' layout and enrollment target
    report: ReportSettings = ReportSettings()

    @model_validator(mode="after")
    def ordered_ranges(self) -> AnalysisPlan:
        """Ranges whose ends must be in order: the trigger's gap and the day-28 response window."""
        if self.trigger_max_gap_hours < self.trigger_min_gap_hours:
            raise ValueError("trigger_max_gap_hours must not be below trigger_min_gap_hours")
        low, high = self.response_window_days
        if not low <= self.response_target_day <= high:
            raise ValueError("response_window_days must be (low, high) with low ≤ response_target_day ≤ high")
        return self

    def settings_hash(self) -> str:
        """SHA-256 of the canonical JSON of the settings in force."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def canonical_json(self) -> str:
        """The settings as sorted, compact JSON: what the hash and the provenance record."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


class SettingsError(ValueError):
    """An analysis-plan file that cannot be read or does not validate."""


def load_settings(path: Path | str | None = None) -> AnalysisPlan:
    """Load the analysis plan from a TOML, YAML or JSON file; the documented defaults when ``path`` is None.

    Raises
    ------
    SettingsError
        naming the file and every invalid or unknown setting.
    """
    if path is None:
        return AnalysisPlan()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings file ({exc.strerror})") from exc
    try:
        if path.suffix == ".toml":
            raw = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(text) or {}
        elif path.suffix == ".json":
            raw = json.loads(text)
        else:
            raise SettingsError(f"{path}: settings must be .toml, .yaml or .json")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise SettingsError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from exc
    try:
        return AnalysisPlan.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SettingsError(f"{path}: invalid settings: {problems}") from exc
