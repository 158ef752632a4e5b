"""MAP priors: the beta-mixture algebra (exact), the study likelihood quadrature, the selection of studies,
the ``map_prior`` rows and the densities table.

Hand calculations are written beside each expected value; the RBesT figures are quoted from its
vignette "Getting started with RBesT (binary)" (the mixture ``automixfit`` printed there).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

from analysis.reference.cohorts import HistoricalCohort
from analysis.settings import MapPriorSettings
from analysis.stats.ard import to_frame
from analysis.stats.comparisons import prob_trial_lower as historical_prob_lower
from analysis.stats.map_prior import BinomialStudy, map_predictive, study_log_likelihood
from analysis.stats.map_prior_ard import (
    MapCandidate,
    MapPriorFit,
    map_candidates,
    map_prior_ard,
    map_prior_densities,
    map_prior_rows,
    published_map_fits,
    select_map_studies,
)
from analysis.stats.map_prior_mixture import (
    BetaMixture,
    conflict_p_value,
    ess_elir,
    ess_moment,
    prob_trial_lower,
)

# RBesT vignette: map <- automixfit(map_mcmc); print(map)
VIGNETTE_MIXTURE = BetaMixture(
    (0.4612914, 0.1917812, 0.1893896, 0.1575378),
    (33.9513487, 19.4400089, 12.2692310, 2.2521243),
    (103.0146367, 41.5205219, 55.9202833, 5.4812202),
    ("comp1", "comp2", "comp3", "comp4"),
)


# --- beta-mixture algebra -----------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(1.5, 1.5), (2.0, 8.0), (3.5, 10.2), (40.0, 160.0), (1.2, 25.0)])
def test_ess_of_a_single_beta_is_a_plus_b(a: float, b: float) -> None:
    beta = BetaMixture.single(a, b)
    assert ess_moment(beta) == pytest.approx(a + b, rel=1e-12)
    # ELIR: E[(a − 1)(1 − p)/p + (b − 1)p/(1 − p)] = (a − 1)·b/(a − 1) + (b − 1)·a/(b − 1) = a + b
    assert ess_elir(beta) == pytest.approx(a + b, rel=2e-5)


def test_elir_at_the_boundary_a_equal_1() -> None:
    # at a = 1 the term (a − 1)(1 − p)/p vanishes: Beta(1, 1) has no information (0), Beta(1, 25) has a = 1
    # (RBesT's integrand, -d²/dp² log f · p(1 − p), gives the same: the moment ESS is a + b there)
    assert ess_elir(BetaMixture.single(1, 1)) == pytest.approx(0.0, abs=1e-12)
    assert ess_elir(BetaMixture.single(1, 25)) == pytest.approx(1.0, rel=1e-9)
    assert ess_moment(BetaMixture.single(1, 25)) == pytest.approx(26.0, rel=1e-12)


def test_mixture_moments_by_hand() -> None:
    mixture = BetaMixture((0.5, 0.5), (2.0, 6.0), (8.0, 4.0), ("comp1", "comp2"))
    # mean = 0.5·2/10 + 0.5·6/10 = 0.4; E[p²] = 0.5·(2·3)/(10·11) + 0.5·(6·7)/(10·11) = 24/110
    assert mixture.mean == pytest.approx(0.4, abs=1e-15)
    assert mixture.variance == pytest.approx(24 / 110 - 0.16, abs=1e-15)
    # moment ESS: 0.4·0.6/var − 1
    assert ess_moment(mixture) == pytest.approx(0.24 / (24 / 110 - 0.16) - 1, rel=1e-12)


def test_posterior_update_by_hand() -> None:
    mixture = BetaMixture((0.3, 0.7), (2.0, 1.0), (8.0, 1.0), ("comp1", "robust"))
    posterior = mixture.update(3, 10)
    assert posterior.a == (5.0, 4.0) and posterior.b == (15.0, 8.0)
    # w' ∝ w · B(a + 3, b + 7) / B(a, b): B(5, 15)/B(2, 8) and B(4, 8)/B(1, 1)
    first = 0.3 * math.exp(special.betaln(5, 15) - special.betaln(2, 8))
    second = 0.7 * math.exp(special.betaln(4, 8) - special.betaln(1, 1))
    assert posterior.weights[0] == pytest.approx(first / (first + second), rel=1e-12)
    assert posterior.labels == ("comp1", "robust")


def test_robustify_adds_a_uniform_component() -> None:
    # RBesT vignette: robustify(map, weight = 0.2, mean = 1/2) prints w 0.3690331 0.1534249 0.1515117 0.1260303 0.2
    robust = VIGNETTE_MIXTURE.robustify(0.2)
    assert robust.weights == pytest.approx((0.3690331, 0.1534249, 0.1515117, 0.1260303, 0.2), abs=1e-7)
    assert robust.a[-1] == 1.0 and robust.b[-1] == 1.0 and robust.labels[-1] == "robust"


def test_vignette_mixture_summaries_and_ess() -> None:
    # RBesT vignette: summary(map) 0.25545885 0.08662045 0.10730400 0.24758768 0.46276759;
    # round(ess(map, "elir")) 38, round(ess(map, "moment")) 24, round(ess(map_robust)) 27
    assert VIGNETTE_MIXTURE.mean == pytest.approx(0.25545885, abs=1e-8)
    assert VIGNETTE_MIXTURE.sd == pytest.approx(0.08662045, abs=1e-8)
    # qmix's root-finding tolerance (.Machine$double.eps^0.25 ≈ 1.2e-4) bounds the agreement of the quantiles
    for q, value in ((0.025, 0.10730400), (0.5, 0.24758768), (0.975, 0.46276759)):
        assert VIGNETTE_MIXTURE.quantile(q) == pytest.approx(value, abs=1.2e-4)
    assert round(ess_elir(VIGNETTE_MIXTURE)) == 38
    assert round(ess_moment(VIGNETTE_MIXTURE)) == 24
    assert round(ess_elir(VIGNETTE_MIXTURE.robustify(0.2))) == 27


def test_quantile_inverts_the_cdf() -> None:
    mixture = BetaMixture((0.6, 0.4), (3.0, 20.0), (7.0, 30.0), ("comp1", "comp2"))
    for q in (0.025, 0.5, 0.975):
        assert float(mixture.cdf(mixture.quantile(q))) == pytest.approx(q, abs=1e-12)


def test_prob_trial_lower_matches_the_historical_comparison() -> None:
    # with the single Beta(1 + m, 1 + M − m) it is historical_comparison's prob_lower (Beta(1, 1) priors, integrate())
    for x, n, m, big_m in ((15, 36, 35, 75), (0, 12, 4, 15), (9, 9, 2, 20)):
        single = BetaMixture.single(1 + m, 1 + big_m - m)
        assert prob_trial_lower(single, x, n) == pytest.approx(historical_prob_lower(x, n, m, big_m), abs=1e-9)


def test_prob_trial_lower_by_integration() -> None:
    mixture = VIGNETTE_MIXTURE.robustify(0.2)
    x, n = 4, 20

    def integrand(p: float) -> float:
        return float(mixture.pdf(p)) * stats.beta.cdf(p, 1 + x, 1 + n - x)

    expected = integrate.quad(integrand, 0, 1, limit=200, epsabs=1e-13)[0]
    assert prob_trial_lower(mixture, x, n) == pytest.approx(expected, abs=1e-9)


def test_conflict_p_value_by_hand() -> None:
    # Beta(2, 2), n = 2: beta-binomial P(0) = B(2, 4)/B(2, 2) = (1/20)/(1/6) = 0.3, P(1) = 0.4, P(2) = 0.3
    prior = BetaMixture.single(2, 2)
    assert prior.predictive_pmf(2) == pytest.approx([0.3, 0.4, 0.3], abs=1e-14)
    assert conflict_p_value(prior, 0, 2) == pytest.approx(0.6, abs=1e-14)  # counts no more likely than 0: 0 and 2
    assert conflict_p_value(prior, 1, 2) == pytest.approx(1.0, abs=1e-14)
    # the uniform prior predicts every count equally (1 / (n + 1)): never a conflict
    assert conflict_p_value(BetaMixture.single(1, 1), 0, 30) == pytest.approx(1.0, abs=1e-12)


def test_elir_needs_parameters_of_at_least_one() -> None:
    with pytest.raises(ValueError, match="ELIR"):
        ess_elir(BetaMixture.single(0.5, 3))


# --- the hierarchical model -----------------------------------------------------------------------


@pytest.mark.parametrize(("events", "n"), [(0, 15), (15, 15), (35, 75), (41, 255), (1, 768), (500, 1000)])
@pytest.mark.parametrize("tau", [0.01, 0.1, 0.5, 1.5])
def test_study_likelihood_against_adaptive_quadrature(events: int, n: int, tau: float) -> None:
    # log ∫ Bin(r; n, expit θ) N(θ; μ, τ²) dθ by scipy's adaptive Gauss–Kronrod around the integrand's mode
    for mu in (-6.0, -2.0, 0.0, 1.5, 4.0):

        def log_integrand(theta: float) -> float:
            return stats.binom.logpmf(events, n, special.expit(theta)) + stats.norm.logpdf(theta, mu, tau)

        mode = optimize.minimize_scalar(lambda t: -log_integrand(t), bounds=(-60, 60), method="bounded").x
        peak = log_integrand(mode)
        pieces = ((mode - 60, mode - 3), (mode - 3, mode + 3), (mode + 3, mode + 60))
        total = sum(
            integrate.quad(lambda t: math.exp(log_integrand(t) - peak), lo, hi, limit=1000, epsrel=1e-13)[0]
            for lo, hi in pieces
        )
        ours = float(study_log_likelihood(events, n, np.array(mu), np.array(tau)))
        assert ours == pytest.approx(math.log(total) + peak, abs=2e-6)


def test_tau_zero_is_the_binomial() -> None:
    assert float(study_log_likelihood(3, 10, np.array(0.4), np.array(0.0))) == pytest.approx(
        stats.binom.logpmf(3, 10, special.expit(0.4)), abs=1e-12
    )


def test_reruns_give_the_same_bytes() -> None:
    studies = [BinomialStudy("a", 41, 255), BinomialStudy("b", 5, 30)]
    first, second = map_predictive(studies), map_predictive(studies)
    assert first.mass.tobytes() == second.mass.tobytes() and first.theta.tobytes() == second.theta.tobytes()
    rows_first = to_frame(map_prior_rows("g", studies, 10, 36))
    rows_second = to_frame(map_prior_rows("g", studies, 10, 36))
    assert rows_first["stat_value"].to_numpy().tobytes() == rows_second["stat_value"].to_numpy().tobytes()


def test_the_predictive_is_a_distribution() -> None:
    result = map_predictive([BinomialStudy("a", 35, 75)], tau_scale=0.5)
    assert result.mass.sum() == pytest.approx(1.0, abs=1e-12) and (result.mass >= 0).all()
    assert np.all(np.diff(result.theta) > 0)


# --- selection, rows, densities -------------------------------------------------------------------


def _candidate(study: str, overlap: str, n: int, **extra) -> MapCandidate:
    values = {"endpoint": "crs_grade3plus", "scale": "penn", "confirmed": True, "events": n // 2, "population": "all"}
    values.update(extra)
    return MapCandidate(study, overlap_group=overlap, n=n, **values)


def test_one_study_per_overlap_group() -> None:
    candidates = [
        _candidate("eliana_2018", "eliana", 75),
        _candidate("eliana_n79", "eliana", 79),
        _candidate("other", "other", 40),
    ]
    selected, notes = select_map_studies(candidates, {"eliana": "eliana_2018"})
    assert [s.study_id for s in selected["crs_grade3plus__penn"]] == ["eliana_2018", "other"]
    assert any("eliana_n79 left out — shares patients with eliana_2018" in note for note in notes)
    # no representative named: the one with the most patients
    selected, _ = select_map_studies(candidates, {})
    assert [s.study_id for s in selected["crs_grade3plus__penn"]] == ["eliana_n79", "other"]


def test_unconfirmed_and_high_burden_cohorts_are_left_out() -> None:
    candidates = [
        _candidate("unconfirmed", "u", 50, confirmed=False),
        _candidate("high", "h", 26, population="high_burden"),
        _candidate("kept", "k", 80, scale="astct"),
    ]
    selected, notes = select_map_studies(candidates, {})
    assert list(selected) == ["crs_grade3plus__astct"]
    assert len(notes) == 2 and "not confirmed" in notes[0] and "high_burden cohort" in notes[1]


def test_the_reference_cohorts_give_the_expected_groups() -> None:
    cohorts = [
        {"id": "eliana_2018", "name": "ELIANA", "confirmed": True, "crs_scale": "penn", "n_infused": 75,
         "crs_grade3plus_n": 35, "crs_any_n": 58, "crs_grade4_n": 19, "crs_grade5_n": 0, "min_marrow_blast_pct": 5},
        {"id": "eliana_n79", "name": "ELIANA n=79", "confirmed": True, "crs_scale": "penn", "n_infused": 79,
         "crs_grade3plus_n": 38, "min_marrow_blast_pct": 5},
        {"id": "registry", "name": "Registry", "confirmed": True, "crs_scale": "astct", "n_infused": 255,
         "crs_grade3plus_n": 41},
    ]  # fmt: skip
    cohorts = [HistoricalCohort.model_validate(cohort) for cohort in cohorts]
    candidates = map_candidates(cohorts)
    selected, notes = select_map_studies(candidates, {"eliana": "eliana_2018"})
    assert {g: [s.study_id for s in v] for g, v in selected.items()} == {
        "crs_any__penn": ["eliana_2018"],
        "crs_grade3plus__penn": ["eliana_2018"],
        "crs_grade4plus__penn": ["eliana_2018"],
        "crs_grade3plus__astct": ["registry"],
    }
    counts = {("all", v): (10, 36) for v in ("crs_any", "crs_grade3plus", "crs_grade4plus", "crs_penn_grade3plus",
                                              "crs_penn_grade4plus", "icans_any", "icans_grade3plus")}  # fmt: skip
    rows, notes = map_prior_ard(cohorts, counts, MapPriorSettings())
    ard = to_frame(rows)
    assert sorted(ard["group"].unique()) == sorted(selected)
    assert "MAP prior icans_any__astct: not built — no confirmed, like-for-like study." in notes
    grade4 = ard[(ard["group"] == "crs_grade4plus__penn") & (ard["stat_name"] == "n_studies")]
    assert grade4["stat_label"].iloc[0] == "studies: eliana_2018 19/75"


def test_rows_of_one_group() -> None:
    studies = [BinomialStudy("a", 41, 255), BinomialStudy("b", 5, 30)]
    ard = to_frame(map_prior_rows("crs_grade3plus__astct", studies, 10, 36))
    value = {
        (v, s, m): x for v, s, m, x in ard[["variable", "stat_name", "method", "stat_value"]].itertuples(index=False)
    }
    for variable in ("map", "robust_map", "posterior"):
        for stat in ("mean", "sd", "q025", "q50", "q975"):
            assert (variable, stat, "") in value
        assert (variable, "ess", "elir") in value and (variable, "ess", "moment") in value
    assert value[("map", "n_studies", "")] == 2.0
    assert value[("posterior", "trial_n", "")] == 10.0 and value[("posterior", "trial_N", "")] == 36.0
    assert value[("robust_map", "w", "robust")] == pytest.approx(0.2, abs=1e-15)
    # the posterior is the conjugate update of the robust prior, whose components are rows too
    robust_labels = sorted(m for v, s, m in value if v == "robust_map" and s == "w")
    robust = BetaMixture(
        tuple(value[("robust_map", "w", k)] for k in robust_labels),
        tuple(value[("robust_map", "a", k)] for k in robust_labels),
        tuple(value[("robust_map", "b", k)] for k in robust_labels),
        tuple(robust_labels),
    )
    assert value[("posterior", "mean", "")] == pytest.approx(robust.update(10, 36).mean, abs=1e-12)
    assert value[("map", "prob_lower", "")] > 0 and 0 < value[("map", "conflict_p", "")] <= 1
    # robustifying lowers the ESS and raises the SD
    assert value[("robust_map", "ess", "elir")] < value[("map", "ess", "elir")]
    assert value[("robust_map", "sd", "")] > value[("map", "sd", "")]


def test_a_trial_of_nobody_has_no_posterior() -> None:
    ard = to_frame(map_prior_rows("g", [BinomialStudy("a", 41, 255)], 0, 0))
    posterior = ard[(ard["variable"] == "posterior") & ~ard["stat_name"].isin(["trial_n", "trial_N"])]
    assert posterior["stat_value"].isna().all()
    assert (posterior["stat_label"] == "not estimable (N = 0)").all()
    assert ard.loc[ard["stat_name"] == "prob_lower", "stat_value"].isna().all()


def test_densities_come_from_the_ard_mixtures() -> None:
    ard = to_frame(map_prior_rows("crs_any__astct", [BinomialStudy("a", 140, 255)], 26, 36))
    table = map_prior_densities(ard)
    assert list(table.columns) == ["group", "curve", "p", "density"]
    assert sorted(table["curve"].unique()) == ["map", "posterior", "robust_map"]
    robust = table[table["curve"] == "robust_map"]
    # a density: integrates to 1 over the grid (Simpson on 401 points)
    assert integrate.simpson(robust["density"], x=robust["p"]) == pytest.approx(1.0, abs=1e-3)
    w = ard[(ard["variable"] == "robust_map") & (ard["stat_name"] == "w")].set_index("method")["stat_value"]
    a = ard[(ard["variable"] == "robust_map") & (ard["stat_name"] == "a")].set_index("method")["stat_value"]
    b = ard[(ard["variable"] == "robust_map") & (ard["stat_name"] == "b")].set_index("method")["stat_value"]
    at_half = float(sum(w[k] * stats.beta.pdf(0.5, a[k], b[k]) for k in w.index))
    assert robust.loc[robust["p"] == 0.5, "density"].iloc[0] == pytest.approx(at_half, rel=1e-12)


REFERENCE_LIKE_COHORTS = [
    {"id": "eliana_2018", "name": "ELIANA", "confirmed": True, "crs_scale": "penn", "n_infused": 75,
     "crs_grade3plus_n": 35, "crs_any_n": 58, "crs_grade4_n": 19, "crs_grade5_n": 0, "min_marrow_blast_pct": 5},
    {"id": "registry", "name": "Registry", "confirmed": True, "crs_scale": "astct", "n_infused": 255,
     "crs_grade3plus_n": 41},
]  # fmt: skip
TRIAL_COUNTS = {("all", v): (10, 36) for v in ("crs_any", "crs_grade3plus", "crs_grade4plus", "crs_penn_grade3plus",
                                               "crs_penn_grade4plus", "icans_any", "icans_grade3plus")}  # fmt: skip


def test_fits_made_beforehand_give_the_rows_of_fits_made_here() -> None:
    cohorts = [HistoricalCohort.model_validate(cohort) for cohort in REFERENCE_LIKE_COHORTS]
    settings = MapPriorSettings()
    fits = published_map_fits(cohorts, settings)
    # one fit per group with studies: ELIANA alone for the three Penn groups, the registry for grade ≥ 3 ASTCT
    assert sorted((s.study_id, s.events, s.n) for studies in fits for s in studies) == [
        ("eliana_2018", 19, 75), ("eliana_2018", 35, 75), ("eliana_2018", 58, 75), ("registry", 41, 255),
    ]  # fmt: skip
    here, notes_here = map_prior_ard(cohorts, TRIAL_COUNTS, settings)
    beforehand, notes_beforehand = map_prior_ard(cohorts, TRIAL_COUNTS, settings, fits=fits)
    assert to_frame(beforehand).equals(to_frame(here)) and notes_beforehand == notes_here


def test_a_fit_made_beforehand_is_the_one_used() -> None:
    """A planted fit (one Beta(2, 8) component, τ median 0.25) for the registry's group shows in its rows:
    mean 2 / (2 + 8) = 0.2; the other groups are fitted here as before."""
    cohorts = [HistoricalCohort.model_validate(cohort) for cohort in REFERENCE_LIKE_COHORTS]
    planted = MapPriorFit(tau_median=0.25, prior=BetaMixture((1.0,), (2.0,), (8.0,), ("comp1",)))
    fits = {(BinomialStudy("registry", 41, 255),): planted}
    rows, _ = map_prior_ard(cohorts, TRIAL_COUNTS, MapPriorSettings(), fits=fits)
    ard = to_frame(rows).set_index(["group", "variable", "stat_name", "method"])["stat_value"]
    assert ard[("crs_grade3plus__astct", "map", "mean", "")] == pytest.approx(0.2, abs=1e-12)
    assert ard[("crs_grade3plus__astct", "map", "tau_median", "")] == 0.25
    penn_here = to_frame(map_prior_rows("crs_any__penn", [BinomialStudy("eliana_2018", 58, 75)], 10, 36))
    penn = ard.loc["crs_any__penn"].reset_index(drop=True)
    assert penn.equals(penn_here["stat_value"])


def test_no_fits_beforehand_when_map_priors_are_off() -> None:
    cohorts = [HistoricalCohort.model_validate(cohort) for cohort in REFERENCE_LIKE_COHORTS]
    assert published_map_fits(cohorts, MapPriorSettings(enabled=False)) == {}
