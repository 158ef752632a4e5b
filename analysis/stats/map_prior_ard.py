"""The ``map_prior`` rows of the ARD (outputs.md v3) and the densities the closed report draws.

For each endpoint and scale (group ``<endpoint>__<scale>``, e.g. ``crs_grade3plus__penn``):

1. **Which studies** (:func:`select_map_studies`; outputs.md v3 notes): confirmed, like-for-like
   cohorts — the same rules as ``historical_comparison`` (:func:`map_candidates` takes them from
   :func:`analysis.stats.historical.plan_comparisons`) — compared with the trial's whole CRS-evaluable
   set (a cohort restricted to high burden is compared with the high-burden subgroup only and is not
   pooled with all-comers cohorts); one cohort per overlap group ([choice `map.overlap_representative`]);
   optionally the site's own historical patients as one more study. With none: no row and a note.
2. **The MAP prior** (:func:`analysis.stats.map_prior.map_predictive`), approximated by a beta mixture
   (:func:`analysis.stats.map_prior_mixture.auto_fit_beta_mixture`) — variable ``map``;
3. **robustified** with Beta(1, 1) of weight ``map.robust_weight`` — variable ``robust_map``;
4. **the trial's posterior** under the robust MAP prior — variable ``posterior``.

Statistics: ``mean``, ``sd``, ``q025``, ``q50``, ``q975`` of each mixture; ``ess`` (methods ``elir``,
``moment``); for ``map``, ``tau_median`` and ``n_studies``; for ``map`` and ``robust_map``,
``prob_lower`` (P(trial rate < a rate drawn from the prior), the trial's rate with a Beta(1, 1) prior
as in ``historical_comparison``) and ``conflict_p`` (the prior-predictive probability of a count no
more likely than the trial's); for ``posterior``, ``trial_n`` and ``trial_N``. Every mixture's
components are rows too (stat_names ``w``, ``a``, ``b``; method ``comp1`` … ``robust``), so the prior
can be written into a protocol as it is and :func:`map_prior_densities` draws it from the ARD.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.reference.cohorts import HistoricalCohort
from analysis.settings import MapPriorSettings
from analysis.stats.ard import NOT_ESTIMABLE_N0, ArdRow, ard_row
from analysis.stats.historical import PENN_VARIABLE, plan_comparisons
from analysis.stats.map_prior import BinomialStudy, map_predictive
from analysis.stats.map_prior_mixture import (
    BetaMixture,
    auto_fit_beta_mixture,
    conflict_p_value,
    ess_elir,
    ess_moment,
    prob_trial_lower,
)

ANALYSIS = "map_prior"
GROUPS: tuple[tuple[str, str], ...] = (
    ("crs_any", "penn"),
    ("crs_any", "astct"),
    ("crs_grade3plus", "penn"),
    ("crs_grade3plus", "astct"),
    ("crs_grade4plus", "penn"),
    ("crs_grade4plus", "astct"),
    ("icans_any", "astct"),
    ("icans_grade3plus", "astct"),
)
"""Every endpoint × scale a MAP prior can be built for (ICANS: ASTCT only, as the comparisons)."""
SITE_STUDY = "site_historical"
DENSITY_GRID = np.linspace(0.0, 1.0, 401)
"""The rates at which :func:`map_prior_densities` evaluates each curve."""
CURVES = ("map", "robust_map", "posterior")


@dataclass(frozen=True)
class MapCandidate:
    """One study that may enter a MAP prior: what the selection needs, nothing more.

    ``overlap_group`` is shared by studies with shared patients (a study alone: its own id);
    ``population`` is the trial group it is like-for-like with (``all`` or ``high_burden``).
    """

    study_id: str
    endpoint: str
    scale: str
    confirmed: bool
    overlap_group: str
    events: int
    n: int
    population: str = "all"

    @property
    def group(self) -> str:
        return f"{self.endpoint}__{self.scale}"


def map_candidates(cohorts: Iterable[HistoricalCohort], high_burden_pct: float = 40.0) -> list[MapCandidate]:
    """The cohort × endpoint pairs ``historical_comparison`` compares, as MAP candidates.

    The rules are those of :func:`analysis.stats.historical.plan_comparisons` (confirmed, scale,
    published counts, ICANS graded as ASTCT), for the endpoints of :data:`GROUPS`; the ELIANA cohorts
    form the overlap group ``eliana``.
    """
    endpoints = tuple(dict.fromkeys(endpoint for endpoint, _ in GROUPS))
    comparable, _ = plan_comparisons(list(cohorts), endpoints, high_burden_pct=high_burden_pct)
    return [
        MapCandidate(
            study_id=plan.cohort_id,
            endpoint=plan.endpoint,
            scale=plan.scale,
            confirmed=True,
            overlap_group="eliana" if plan.overlapping else plan.cohort_id,
            events=plan.historical_n,
            n=plan.historical_N,
            population=plan.trial_group,
        )
        for plan in comparable
    ]


def trial_variable(endpoint: str, scale: str) -> str:
    """The ``crs_rate`` variable measured like the group's studies: the Penn approximation for Penn."""
    return PENN_VARIABLE.get(endpoint, endpoint) if scale == "penn" else endpoint


def endpoint_counts(endpoints: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """``{variable: (events, N)}`` of a frame with one row per CRS-evaluable participant and a bool per endpoint."""
    flags = [c for c in endpoints.columns if c not in ("participant_id", "high_burden")]
    return {c: (int(endpoints[c].sum()), len(endpoints)) for c in flags}


def site_candidates(counts: Mapping[str, tuple[int, int]]) -> list[MapCandidate]:
    """The site's own historical patients as one more study of every group, graded as the trial is.

    ``counts`` maps a ``crs_rate`` variable to (events, N) over the historical CRS-evaluable set.
    """
    return [
        MapCandidate(SITE_STUDY, endpoint, scale, True, SITE_STUDY, *counts[trial_variable(endpoint, scale)])
        for endpoint, scale in GROUPS
        if trial_variable(endpoint, scale) in counts and counts[trial_variable(endpoint, scale)][1] > 0
    ]


def select_map_studies(
    candidates: Iterable[MapCandidate], representatives: Mapping[str, str]
) -> tuple[dict[str, list[MapCandidate]], list[str]]:
    """The studies of each group's MAP prior, and a note for every study left out (outputs.md v3).

    Kept: confirmed, population ``all``; of each overlap group the study ``representatives`` names,
    else (not named, or not usable for this endpoint) the one with the most patients (ties: id).
    Groups in study order of first appearance; studies in candidate order.
    """
    usable: dict[str, list[MapCandidate]] = {}
    notes: list[str] = []
    for candidate in candidates:
        if not candidate.confirmed:
            notes.append(f"MAP prior {candidate.group}: {candidate.study_id} left out — not confirmed.")
        elif candidate.population != "all":
            notes.append(
                f"MAP prior {candidate.group}: {candidate.study_id} left out — a {candidate.population} cohort, "
                "not pooled with all-comers cohorts."
            )
        else:
            usable.setdefault(candidate.group, []).append(candidate)
    selected: dict[str, list[MapCandidate]] = {}
    for group, members in usable.items():
        by_overlap: dict[str, list[MapCandidate]] = {}
        for member in members:
            by_overlap.setdefault(member.overlap_group, []).append(member)
        chosen_ids = set()
        for overlap, sharing in by_overlap.items():
            named = representatives.get(overlap)
            chosen = next((m for m in sharing if m.study_id == named), None)
            if chosen is None:
                chosen = sorted(sharing, key=lambda m: (-m.n, m.study_id))[0]
            chosen_ids.add(chosen.study_id)
            for other in sharing:
                if other is not chosen:
                    notes.append(
                        f"MAP prior {group}: {other.study_id} left out — shares patients with {chosen.study_id} "
                        f"(overlap group {overlap}), which stands for the group."
                    )
        selected[group] = [m for m in members if m.study_id in chosen_ids]
    return selected, notes


def _summary_rows(group: str, variable: str, mixture: BetaMixture, label: str) -> list[ArdRow]:
    rows = [
        ard_row(ANALYSIS, group, variable, "mean", mixture.mean, f"{label}: mean rate"),
        ard_row(ANALYSIS, group, variable, "sd", mixture.sd, f"{label}: SD of the rate"),
        ard_row(ANALYSIS, group, variable, "q025", mixture.quantile(0.025), f"{label}: 2.5 % quantile"),
        ard_row(ANALYSIS, group, variable, "q50", mixture.quantile(0.5), f"{label}: median"),
        ard_row(ANALYSIS, group, variable, "q975", mixture.quantile(0.975), f"{label}: 97.5 % quantile"),
        ard_row(
            ANALYSIS,
            group,
            variable,
            "ess",
            ess_elir(mixture),
            f"{label}: effective sample size, expected local-information ratio (Neuenschwander 2020; RBesT ess 'elir')",
            "elir",
        ),
        ard_row(
            ANALYSIS,
            group,
            variable,
            "ess",
            ess_moment(mixture),
            f"{label}: effective sample size of the moment-matched beta (RBesT ess 'moment')",
            "moment",
        ),
    ]
    for label_k, w, a, b in zip(mixture.labels, mixture.weights, mixture.a, mixture.b, strict=True):
        rows += [
            ard_row(ANALYSIS, group, variable, "w", w, f"{label}: weight of component {label_k}", label_k),
            ard_row(ANALYSIS, group, variable, "a", a, f"{label}: Beta a of component {label_k}", label_k),
            ard_row(ANALYSIS, group, variable, "b", b, f"{label}: Beta b of component {label_k}", label_k),
        ]
    return rows


def _trial_rows(group: str, variable: str, prior: BetaMixture, events: int, n: int, label: str) -> list[ArdRow]:
    if n == 0:
        return [
            ard_row(ANALYSIS, group, variable, "prob_lower", math.nan, NOT_ESTIMABLE_N0),
            ard_row(ANALYSIS, group, variable, "conflict_p", math.nan, NOT_ESTIMABLE_N0),
        ]
    return [
        ard_row(
            ANALYSIS,
            group,
            variable,
            "prob_lower",
            prob_trial_lower(prior, events, n),
            f"P(trial rate < a new study's rate under the {label}); trial {events}/{n} with a Beta(1, 1) prior",
        ),
        ard_row(
            ANALYSIS,
            group,
            variable,
            "conflict_p",
            conflict_p_value(prior, events, n),
            f"prior-predictive P(a count of {n} no more likely than the trial's {events}) under the {label}; "
            "small = prior-data conflict",
        ),
    ]


@dataclass(frozen=True)
class MapPriorFit:
    """What one group's MAP prior is before the trial is looked at: steps 2 of the module doc.

    ``tau_median``: the posterior median of the between-study SD τ; ``prior``: the beta mixture
    approximating the MAP prior.
    """

    tau_median: float
    prior: BetaMixture


FitsByStudies = Mapping[tuple[BinomialStudy, ...], MapPriorFit]
"""MAP prior fits made beforehand, by the studies they were fitted to (all under the same settings)."""


def fit_map_prior(studies: Sequence[BinomialStudy], settings: MapPriorSettings) -> MapPriorFit:
    """The MAP prior of ``studies`` and its beta-mixture approximation (module doc, step 2): the trial plays no part."""
    predictive = map_predictive(studies, settings.tau_prior_scale, settings.mean_prior_sd)
    fit = auto_fit_beta_mixture(*predictive.coarsened(), settings.max_mixture_components)
    return MapPriorFit(predictive.tau_median, fit.mixture)


def map_prior_rows(
    group: str,
    studies: Sequence[BinomialStudy],
    trial_events: int,
    trial_n: int,
    settings: MapPriorSettings | None = None,
    fit: MapPriorFit | None = None,
) -> list[ArdRow]:
    """Every ``map_prior`` row of one group, from its studies and the trial's count (module doc).

    Parameters
    ----------
    group : str
        ``<endpoint>__<scale>``.
    studies : sequence of BinomialStudy
        The historical studies (at least one).
    trial_events, trial_n : int
        The trial's count in the same measure (for a Penn group, its Penn approximation).
    settings : MapPriorSettings
        τ prior scale, μ prior SD, robust weight, mixture components; the defaults when None.
    fit : MapPriorFit, optional
        :func:`fit_map_prior` of ``studies`` under ``settings``, made beforehand; made here when None.
    """
    settings = settings or MapPriorSettings()
    fit = fit or fit_map_prior(studies, settings)
    prior = fit.prior
    robust = prior.robustify(settings.robust_weight)
    listed = ", ".join(f"{s.study_id} {s.events}/{s.n}" for s in studies)
    map_label = (
        f"MAP prior (binomial-normal, HalfNormal({settings.tau_prior_scale:g}) on τ, N(0, {settings.mean_prior_sd:g}²) "
        f"on μ; {len(prior.weights)}-component beta mixture)"
    )
    robust_label = f"robust MAP prior ({settings.robust_weight:g} Beta(1, 1))"
    rows = [
        *_summary_rows(group, "map", prior, map_label),
        ard_row(
            ANALYSIS,
            group,
            "map",
            "tau_median",
            fit.tau_median,
            "posterior median of the between-study SD τ (logit scale)",
        ),
        ard_row(ANALYSIS, group, "map", "n_studies", len(studies), f"studies: {listed}"),
        *_trial_rows(group, "map", prior, trial_events, trial_n, "MAP prior"),
        *_summary_rows(group, "robust_map", robust, robust_label),
        *_trial_rows(group, "robust_map", robust, trial_events, trial_n, robust_label),
    ]
    posterior_label = f"trial posterior under the robust MAP prior ({trial_events}/{trial_n})"
    if trial_n == 0:
        names = ["mean", "sd", "q025", "q50", "q975"]
        rows += [ard_row(ANALYSIS, group, "posterior", name, math.nan, NOT_ESTIMABLE_N0) for name in names]
        rows += [
            ard_row(ANALYSIS, group, "posterior", "ess", math.nan, NOT_ESTIMABLE_N0, method)
            for method in ("elir", "moment")
        ]
    else:
        rows += _summary_rows(group, "posterior", robust.update(trial_events, trial_n), posterior_label)
    rows += [
        ard_row(ANALYSIS, group, "posterior", "trial_n", trial_events, "trial events"),
        ard_row(ANALYSIS, group, "posterior", "trial_N", trial_n, "trial participants (CRS-evaluable)"),
    ]
    return rows


def map_prior_ard(
    cohorts: Iterable[HistoricalCohort],
    trial_counts: Mapping[tuple[str, str], tuple[int, int]],
    settings: MapPriorSettings,
    high_burden_pct: float = 40.0,
    site_counts: Mapping[str, tuple[int, int]] | None = None,
    fits: FitsByStudies | None = None,
) -> tuple[list[ArdRow], list[str]]:
    """The ``map_prior`` rows of every group with at least one study, and the notes (outputs.md v3).

    Parameters
    ----------
    cohorts : iterable of HistoricalCohort
        The typed historical cohorts (:func:`analysis.reference.cohorts.load_cohorts`).
    trial_counts : mapping
        ``{(group, variable): (n, N)}`` of the trial's ``crs_rate`` rows.
    settings : MapPriorSettings
    high_burden_pct : float
    site_counts : mapping, optional
        ``{variable: (n, N)}`` of the site's historical patients (``--historical-export``), added as
        one more study when ``settings.include_site_historical``.
    fits : mapping, optional
        Fits made beforehand under ``settings`` (:func:`published_map_fits`); a group whose studies
        have none is fitted here. The rows are the same either way.
    """
    if not settings.enabled:
        return [], []
    studies_by_group, notes = map_studies(cohorts, settings, high_burden_pct, site_counts)
    rows: list[ArdRow] = []
    for endpoint, scale in GROUPS:
        group = f"{endpoint}__{scale}"
        studies = studies_by_group.get(group, ())
        if not studies:
            notes.append(f"MAP prior {group}: not built — no confirmed, like-for-like study.")
            continue
        events, n = trial_counts[("all", trial_variable(endpoint, scale))]
        fit = None if fits is None else fits.get(studies)
        rows += map_prior_rows(group, studies, int(events), int(n), settings, fit)
    return rows, notes


def map_studies(
    cohorts: Iterable[HistoricalCohort],
    settings: MapPriorSettings,
    high_burden_pct: float = 40.0,
    site_counts: Mapping[str, tuple[int, int]] | None = None,
) -> tuple[dict[str, tuple[BinomialStudy, ...]], list[str]]:
    """The studies each group's MAP prior is fitted to (:func:`select_map_studies` of the cohorts' candidates, and
    of the site's patients when ``site_counts`` is given and ``settings.include_site_historical``), and the notes."""
    candidates = map_candidates(cohorts, high_burden_pct)
    if site_counts is not None and settings.include_site_historical:
        candidates += site_candidates(site_counts)
    selected, notes = select_map_studies(candidates, settings.overlap_representative)
    return {
        group: tuple(BinomialStudy(c.study_id, c.events, c.n) for c in members) for group, members in selected.items()
    }, notes


def published_map_fits(
    cohorts: Iterable[HistoricalCohort], settings: MapPriorSettings, high_burden_pct: float = 40.0
) -> dict[tuple[BinomialStudy, ...], MapPriorFit]:
    """:func:`fit_map_prior` of every group's studies from the published cohorts alone (:func:`map_studies` without
    the site's patients): all it needs of the trial is its settings, so it may run before the trial's data are
    derived. Nothing when MAP priors are off."""
    if not settings.enabled:
        return {}
    studies_by_group, _ = map_studies(cohorts, settings, high_burden_pct)
    return {studies: fit_map_prior(studies, settings) for studies in studies_by_group.values() if studies}


def map_prior_densities(ard: pd.DataFrame) -> pd.DataFrame:
    """The density of ``map``, ``robust_map`` and ``posterior`` of every group on :data:`DENSITY_GRID`.

    Read from the mixture components of the ``map_prior`` rows (stat_names ``w``, ``a``, ``b``),
    so the table and the ARD cannot disagree. Columns ``group``, ``curve``, ``p``, ``density``;
    sorted by them. A curve without components (a trial of N = 0 has no posterior) has no rows.
    """
    rows = ard[(ard["analysis"] == ANALYSIS) & ard["stat_name"].isin(["w", "a", "b"])]
    frames = []
    for (group, curve), part in rows.groupby(["group", "variable"], sort=True):
        value = {(str(m), str(s)): float(v) for m, s, v in zip(part["method"], part["stat_name"], part["stat_value"])}
        labels = tuple(sorted({m for m, _ in value}))
        weights = np.array([value[(label, "w")] for label in labels])
        mixture = BetaMixture(
            tuple(weights / weights.sum()),
            tuple(value[(label, "a")] for label in labels),
            tuple(value[(label, "b")] for label in labels),
            labels,
        )
        frames.append(
            pd.DataFrame({"group": group, "curve": curve, "p": DENSITY_GRID, "density": mixture.pdf(DENSITY_GRID)})
        )
    columns = {"group": "string", "curve": "string", "p": "float64", "density": "float64"}
    if not frames:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    table = pd.concat(frames, ignore_index=True).astype(columns)
    return table.sort_values(["group", "curve", "p"], kind="mergesort").reset_index(drop=True)


__all__ = [
    "ANALYSIS",
    "GROUPS",
    "FitsByStudies",
    "MapCandidate",
    "MapPriorFit",
    "endpoint_counts",
    "fit_map_prior",
    "map_candidates",
    "map_prior_ard",
    "map_prior_densities",
    "map_prior_rows",
    "map_studies",
    "published_map_fits",
    "select_map_studies",
    "site_candidates",
    "trial_variable",
]
