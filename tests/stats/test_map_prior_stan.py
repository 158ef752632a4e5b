"""The deterministic MAP prior against Stan (rstan) for the same model, and against RBesT's vignette.

``tests/fixtures/r/map_prior.R`` samples the binomial–normal hierarchical model with Stan (4 chains ×
25,000 draws, seed 20261204) and writes ``map_prior_stan.json``: per case the posterior mean of μ,
the posterior median of τ and the MAP prior's mean, SD and quantiles, each with its Monte Carlo
standard error (from Stan's effective sample size). The numerical integration must agree within
4 Monte Carlo standard errors (the script takes ~7 min with compilation, so the test reads the
committed output; regenerate with ``Rscript tests/fixtures/r/map_prior.R``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.stats.map_prior import BinomialStudy, map_predictive
from analysis.stats.map_prior_mixture import auto_fit_beta_mixture, ess_elir, ess_moment

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "r" / "map_prior_stan.json"
STAN = json.loads(FIXTURE.read_text(encoding="utf-8"))
CASES = [name for name in STAN if name != "versions"]
STAN_DRAWS = 4 * 25_000
VIGNETTE_DRAWS = 4_000
"""RBesT's defaults: 4 chains × (6000 − 2000) / 4 retained draws."""


def _predictive(case: dict):
    studies = [BinomialStudy(f"s{i}", r, n) for i, (r, n) in enumerate(zip(case["r"], case["n"], strict=True))]
    return map_predictive(studies, tau_scale=case["tau_scale"], mu_sd=case["mu_sd"])


@pytest.fixture(scope="module", params=CASES)
def case(request) -> tuple[dict, object]:
    return STAN[request.param], _predictive(STAN[request.param])


def test_stan_run_converged(case) -> None:
    stan, _ = case
    assert stan["max_rhat"] < 1.01


def test_hyperparameters_agree_with_stan(case) -> None:
    # R: mean(mu); median(tau) of rstan::sampling(...) in tests/fixtures/r/map_prior.R
    stan, result = case
    assert result.mu_mean == pytest.approx(stan["mu_mean"]["value"], abs=4 * stan["mu_mean"]["mcse"])
    assert result.tau_median == pytest.approx(stan["tau_median"]["value"], abs=4 * stan["tau_median"]["mcse"])


def test_map_prior_summaries_agree_with_stan(case) -> None:
    # R: p_star = inv_logit(normal_rng(mu, tau)); mean, sd, quantile(p_star, c(0.025, 0.5, 0.975))
    stan, result = case
    ours = {
        "p_star_mean": result.rate_mean(),
        "p_star_sd": result.rate_sd(),
        "p_star_q025": result.rate_quantile(0.025),
        "p_star_q50": result.rate_quantile(0.5),
        "p_star_q975": result.rate_quantile(0.975),
    }
    for name, value in ours.items():
        assert value == pytest.approx(stan[name]["value"], abs=4 * stan[name]["mcse"]), name


def test_rbest_getting_started_example() -> None:
    """RBesT vignette "Getting started with RBesT (binary)", the ankylosing spondylitis (AS) data.

    ``gMAP(cbind(r, n - r) ~ 1 | study, data = AS, tau.dist = "HalfNormal", tau.prior = 1,
    beta.prior = 2, family = binomial)`` prints (seed 34563): tau median 0.359; MAP prior sample
    mean 0.255, sd 0.0864, q2.5 0.106, median 0.247, q97.5 0.461; ``automixfit`` then gives
    ``ess(map, "elir")`` 38, ``ess(map, "moment")`` 24 and, robustified with 0.2 Beta(1, 1), 27.
    The vignette states no Monte Carlo error: its run has 4,000 draws, so its error is Stan's
    standard error above scaled by sqrt(100,000 / 4,000) = 5; we allow 3 of those. An ESS goes like
    1/SD², so its relative error is twice the SD's (1.3 % per standard error): 3 errors ≈ 8 %.
    """
    stan = STAN["AS"]
    result = _predictive(stan)
    scale = (STAN_DRAWS / VIGNETTE_DRAWS) ** 0.5

    def within(value: float, published: float, name: str) -> None:
        assert value == pytest.approx(published, abs=3 * scale * stan[name]["mcse"]), name

    within(result.tau_median, 0.359, "tau_median")
    within(result.rate_mean(), 0.255, "p_star_mean")
    within(result.rate_sd(), 0.0864, "p_star_sd")
    within(result.rate_quantile(0.025), 0.106, "p_star_q025")
    within(result.rate_quantile(0.5), 0.247, "p_star_q50")
    within(result.rate_quantile(0.975), 0.461, "p_star_q975")
    mixture = auto_fit_beta_mixture(*result.coarsened(), 4).mixture
    assert ess_elir(mixture) == pytest.approx(38, rel=0.08)
    assert ess_moment(mixture) == pytest.approx(24, rel=0.08)
    assert ess_elir(mixture.robustify(0.2)) == pytest.approx(27, rel=0.08)


def test_the_mixture_approximates_the_map_prior() -> None:
    # the beta mixture (EM + BFGS, AIC) keeps the exact MAP prior's mean, SD and quantiles within 1 %
    result = _predictive(STAN["AS"])
    mixture = auto_fit_beta_mixture(*result.coarsened(), 4).mixture
    assert mixture.mean == pytest.approx(result.rate_mean(), rel=0.01)
    assert mixture.sd == pytest.approx(result.rate_sd(), rel=0.01)
    for q in (0.025, 0.5, 0.975):
        assert mixture.quantile(q) == pytest.approx(result.rate_quantile(q), rel=0.015)
