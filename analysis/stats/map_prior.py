"""Meta-analytic-predictive (MAP) prior of a binary endpoint, computed deterministically.

The model is RBesT's ``gMAP(cbind(r, n - r) ~ 1 | study, family = binomial)``
(Neuenschwander et al. 2010), the binomial–normal hierarchical model on the logit scale:

.. math::

    r_j \\sim \\mathrm{Bin}(n_j, \\operatorname{expit} \\theta_j), \\quad
    \\theta_j \\sim N(\\mu, \\tau^2), \\quad
    \\mu \\sim N(0, \\sigma_\\mu^2), \\quad \\tau \\sim \\mathrm{HalfNormal}(s)

with RBesT's defaults for a binary endpoint: :math:`\\sigma_\\mu = 2` (gMAP's default ``beta.prior``:
"mean 0 … standard deviation 2 for the binary case") and ``s`` = 1 (the "conservative
HalfNormal(0, 1) prior as a default" of RBesT's binary vignette, for rates between 0.2 and 0.8).
The MAP prior is the predictive distribution of a new study's rate
:math:`p^* = \\operatorname{expit} \\theta^*`, :math:`\\theta^* \\sim N(\\mu, \\tau^2)`, given the
historical studies.

RBesT samples it by MCMC (Stan). Here it is integrated numerically, so a rerun gives the same
bytes:

1. τ on a Simpson grid of 41 points over [0, τ_max], τ_max where the posterior density of τ falls
   below 1e-9 of its maximum (found on a coarse pass from 6 s, widened if needed);
2. for each τ, μ on a uniform grid of ±12 approximate posterior SDs around the approximate
   conditional posterior mean (widened while the density at the window's ends is not negligible);
3. each study's marginal likelihood :math:`L_j(\\mu, \\tau) = \\int \\mathrm{Bin}(r_j; n_j,
   \\operatorname{expit}\\theta) N(\\theta; \\mu, \\tau^2) d\\theta` by 20-point adaptive
   Gauss–Hermite quadrature around the integrand's mode (found by Newton's method);
4. the predictive distribution of θ* as probabilities of fine logit bins (1/8 of the smallest
   conditional SD of μ): for each τ the
   conditional posterior of μ, put on a common grid, convolved with the mass the normal
   N(0, τ²) gives each bin (exact as τ → 0), summed over τ with the Simpson weights.

References
----------
Neuenschwander B, Capkun-Niggli G, Branson M, Spiegelhalter DJ. Summarizing historical information
on controls in clinical trials. *Clin Trials* 2010;7(1):5-18.

Weber S, Li Y, Seaman JW, Kakizume T, Schmidli H. Applying meta-analytic-predictive priors with
the R Bayesian evidence synthesis tools. *J Stat Softw* 2021;100(19):1-32 (RBesT ``gMAP``).

Liu Q, Pierce DA. A note on Gauss–Hermite quadrature. *Biometrika* 1994;81(3):624-629 (adaptive
Gauss–Hermite quadrature).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft, interpolate, special

TAU_NODES = 41
"""Simpson nodes over [0, τ_max] (an odd number)."""
RANGE_NODES = 25
"""Nodes of the first, coarse pass that finds τ_max (where the posterior of τ has become negligible)."""
MU_NODES = 193
"""Points of each conditional μ window (spacing: 1/8 of the approximate conditional SD)."""
WINDOW_SDS = 12.0
"""Half-width of the μ window, in approximate conditional SDs."""
HERMITE_NODES = 24
"""Adaptive Gauss–Hermite nodes per study likelihood (log-likelihood within 1e-6 for τ ≤ 1.5, 1e-3 up to τ = 4)."""
KERNEL_SDS = 7.5
"""The normal kernel N(0, τ²) is cut at ±7.5 τ (mass outside < 7e-14)."""
FIT_BINS = 150
"""The MAP prior is handed to the mixture fit on at most this many logit bins."""
MU_PRIOR_SDS = 10.0
"""μ is integrated within ±10 prior SDs (the prior's mass outside is below 2e-23)."""
NEGLIGIBLE = 1e-13
"""Relative density below which the edge of a grid counts as reached."""

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(HERMITE_NODES)
_GH_LOG_W = np.log(_GH_W) + _GH_X**2


@dataclass(frozen=True)
class BinomialStudy:
    """One historical study: ``events`` out of ``n``."""

    study_id: str
    events: int
    n: int

    def __post_init__(self) -> None:
        if not 0 <= self.events <= self.n or self.n < 1:
            raise ValueError(f"{self.study_id}: need 0 ≤ events ≤ n and n ≥ 1, got {self.events}/{self.n}")


@dataclass(frozen=True)
class MapPredictive:
    """The MAP prior on a fine logit grid, and the hyper-parameters' posterior summaries.

    Attributes
    ----------
    theta : ndarray
        Centres of equal logit bins of width ``step``.
    mass : ndarray
        P(θ* in each bin); sums to 1.
    step : float
    mu_mean : float
        Posterior mean of μ.
    tau_nodes, tau_density : ndarray
        The marginal posterior density of τ at the Simpson nodes.
    tau_median : float
    """

    theta: np.ndarray
    mass: np.ndarray
    step: float
    mu_mean: float
    tau_nodes: np.ndarray
    tau_density: np.ndarray
    tau_median: float

    @property
    def log_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """log p* and log(1 − p*) at the bin centres (exact in the tails)."""
        return -np.logaddexp(0.0, -self.theta), -np.logaddexp(0.0, self.theta)

    def coarsened(self, bins: int = FIT_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(log p*, log(1 − p*), mass) on at most ``bins`` merged bins, for fitting a mixture.

        The tails holding less than 1e-12 of the mass are cut (into the nearest kept bin); groups of
        adjacent bins are merged, each at its mass-weighted mean logit.
        """
        cumulative = np.cumsum(self.mass)
        first = int(np.searchsorted(cumulative, 1e-12))
        last = int(np.searchsorted(cumulative, 1.0 - 1e-12))
        theta, mass = self.theta[first : last + 1], self.mass[first : last + 1].copy()
        mass[0] += self.mass[:first].sum()
        mass[-1] += self.mass[last + 1 :].sum()
        group = np.arange(len(theta)) // max(1, math.ceil(len(theta) / bins))
        merged_mass = np.bincount(group, weights=mass)
        merged_theta = np.bincount(group, weights=mass * theta) / np.where(merged_mass > 0, merged_mass, 1.0)
        keep = merged_mass > 0
        merged_theta, merged_mass = merged_theta[keep], merged_mass[keep]
        return -np.logaddexp(0.0, -merged_theta), -np.logaddexp(0.0, merged_theta), merged_mass / merged_mass.sum()

    def rate_mean(self) -> float:
        """E[p*]."""
        return float(np.sum(self.mass * special.expit(self.theta)))

    def rate_sd(self) -> float:
        """SD[p*]."""
        p = special.expit(self.theta)
        mean = float(np.sum(self.mass * p))
        return math.sqrt(float(np.sum(self.mass * (p - mean) ** 2)))

    def rate_quantile(self, q: float) -> float:
        """The q-quantile of p* (mass spread evenly within each logit bin)."""
        edges = np.concatenate([[self.theta[0] - self.step / 2], self.theta + self.step / 2])
        cdf = np.concatenate([[0.0], np.cumsum(self.mass)])
        return float(special.expit(np.interp(q, cdf, edges)))


def _simpson_weights(count: int, width: float) -> np.ndarray:
    weights = np.ones(count)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return weights * width / (3 * (count - 1))


def _normal_approximation(studies: Sequence[BinomialStudy]) -> tuple[np.ndarray, np.ndarray]:
    """Each study's empirical logit and its variance, with 0.5 added (finite for 0 and n events)."""
    events = np.array([s.events for s in studies], dtype=float)
    n = np.array([s.n for s in studies], dtype=float)
    rate = (events + 0.5) / (n + 1.0)
    return special.logit(rate), 1.0 / ((n + 1.0) * rate * (1 - rate))


def study_log_likelihood(events: int, n: int, mu: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """log L(μ, τ) = log ∫ Bin(events; n, expit θ) N(θ; μ, τ²) dθ, by adaptive Gauss–Hermite quadrature.

    The integrand is log-concave in θ: its mode is found by 12 damped Newton steps from the
    precision-weighted normal approximation, and the 20 Gauss–Hermite nodes are centred there and
    scaled by the curvature (Liu & Pierce 1994). At τ = 0 it is the binomial log-probability at μ.
    ``mu`` and ``tau`` broadcast.
    """
    mu, tau = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(tau, dtype=float))
    log_choose = special.gammaln(n + 1) - special.gammaln(events + 1) - special.gammaln(n - events + 1)

    def log_binomial(theta: np.ndarray) -> np.ndarray:
        return log_choose + events * theta - n * np.logaddexp(0.0, theta)

    zero = tau <= 0
    safe_tau = np.where(zero, 1.0, tau)
    precision = 1.0 / safe_tau**2
    y, v = _normal_approximation([BinomialStudy("", events, n)])
    mode = (mu * precision + y[0] / v[0]) / (precision + 1.0 / v[0])
    for _ in range(12):
        rate = special.expit(mode)
        gradient = events - n * rate - (mode - mu) * precision
        curvature = n * rate * (1 - rate) + precision
        mode = mode + np.clip(gradient / curvature, -2.0, 2.0)
    rate = special.expit(mode)
    scale = np.sqrt(2.0 / (n * rate * (1 - rate) + precision))
    nodes = mode[..., None] + scale[..., None] * _GH_X
    log_prior = -0.5 * ((nodes - mu[..., None]) / safe_tau[..., None]) ** 2 - np.log(
        safe_tau[..., None] * math.sqrt(2 * math.pi)
    )
    log_value = np.log(scale) + special.logsumexp(_GH_LOG_W + log_binomial(nodes) + log_prior, axis=-1)
    return np.where(zero, log_binomial(mu), log_value)


def map_predictive(studies: Sequence[BinomialStudy], tau_scale: float = 1.0, mu_sd: float = 2.0) -> MapPredictive:
    """The MAP prior of a new study's rate from ``studies``, by numerical integration (module doc).

    Parameters
    ----------
    studies : sequence of BinomialStudy
        At least one.
    tau_scale : float
        Scale s of the HalfNormal(s) prior on τ (RBesT ``tau.dist = "HalfNormal"``, ``tau.prior = s``).
    mu_sd : float
        SD of the N(0, mu_sd²) prior on μ (RBesT ``beta.prior = mu_sd``).

    Returns
    -------
    MapPredictive
    """
    if not studies:
        raise ValueError("a MAP prior needs at least one study")
    tau_max = 6.0 * tau_scale
    for _ in range(6):
        tau = np.linspace(0.0, tau_max, RANGE_NODES)
        tau_density = _posterior_grid(studies, tau, tau_scale, mu_sd)[3]
        if tau_density[-1] <= NEGLIGIBLE * 1e4:
            break
        tau_max *= 1.5
    else:
        raise RuntimeError("the posterior of τ does not vanish within 68 prior scales")
    last = int(np.nonzero(tau_density > NEGLIGIBLE * 1e4)[0].max())
    return _integrate(studies, tau_scale, mu_sd, float(tau[min(last + 1, RANGE_NODES - 1)]))


def _conditional_windows(
    studies: Sequence[BinomialStudy], tau: np.ndarray, mu_sd: float, half_width: float
) -> np.ndarray:
    """For each τ, MU_NODES points of μ around the normal-approximation conditional posterior."""
    y, v = _normal_approximation(studies)
    precision_j = 1.0 / (v[None, :] + tau[:, None] ** 2)
    precision = 1.0 / mu_sd**2 + precision_j.sum(axis=1)
    centre = (precision_j * y).sum(axis=1) / precision
    limit = MU_PRIOR_SDS * mu_sd
    low = np.maximum(centre - half_width / np.sqrt(precision), -limit)
    high = np.minimum(centre + half_width / np.sqrt(precision), limit)
    return np.linspace(low, high, MU_NODES, axis=1)


def _posterior_grid(
    studies: Sequence[BinomialStudy], tau: np.ndarray, tau_scale: float, mu_sd: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(μ windows, conditional density of μ given each τ on its window, window spacing, τ density with maximum 1)."""
    half_width = WINDOW_SDS
    for _ in range(6):
        mu = _conditional_windows(studies, tau, mu_sd, half_width)
        log_post = -0.5 * (mu / mu_sd) ** 2 + sum(
            study_log_likelihood(s.events, s.n, mu, tau[:, None]) for s in studies
        )
        row_max = log_post.max(axis=1, keepdims=True)
        edges = np.maximum(log_post[:, 0], log_post[:, -1]) - row_max[:, 0]
        if np.all(edges < math.log(NEGLIGIBLE)):
            break
        half_width *= 1.5
    else:
        raise RuntimeError("the conditional posterior of μ does not vanish within its window")
    spacing = mu[:, 1] - mu[:, 0]
    conditional = np.exp(log_post - row_max)
    row_integral = np.trapezoid(conditional, dx=1.0, axis=1) * spacing
    log_marginal = row_max[:, 0] + np.log(row_integral) - 0.5 * (tau / tau_scale) ** 2
    return mu, conditional / row_integral[:, None], spacing, np.exp(log_marginal - log_marginal.max())


def _integrate(studies: Sequence[BinomialStudy], tau_scale: float, mu_sd: float, tau_max: float) -> MapPredictive:
    tau = np.linspace(0.0, tau_max, TAU_NODES)
    mu, conditional_density, spacing, tau_density = _posterior_grid(studies, tau, tau_scale, mu_sd)
    simpson = _simpson_weights(TAU_NODES, tau_max)
    tau_density = tau_density / np.sum(simpson * tau_density)
    tau_weight = simpson * tau_density  # probability carried by each τ node
    mu_mean = float(np.sum(tau_weight * np.trapezoid(conditional_density * mu, dx=1.0, axis=1) * spacing))

    step = float(spacing.min())
    theta = np.arange(math.floor(mu[:, 0].min() / step), math.ceil(mu[:, -1].max() / step) + 1) * step
    mu_mass = np.stack(
        [np.interp(theta, mu[node], conditional_density[node], left=0.0, right=0.0) for node in range(TAU_NODES)]
    )
    mu_mass /= mu_mass.sum(axis=1, keepdims=True)
    mass = np.clip(_convolve_normal(mu_mass, tau, tau_weight, step), 0.0, None)
    mass /= mass.sum()
    keep = mass > 0
    return MapPredictive(
        theta=theta[keep],
        mass=mass[keep],
        step=step,
        mu_mean=mu_mean,
        tau_nodes=tau,
        tau_density=tau_density,
        tau_median=_simpson_median(tau, tau_density),
    )


def _convolve_normal(masses: np.ndarray, tau: np.ndarray, weights: np.ndarray, step: float) -> np.ndarray:
    """Σ_τ weight(τ) · (masses(τ) spread by N(0, τ²)): each bin's mass goes to the bins as the normal puts it.

    The kernel of τ is the normal's mass in each bin, Φ((d + step/2)/τ) − Φ((d − step/2)/τ) (the
    identity at τ = 0); the weighted sum over τ is taken in the frequency domain (one inverse FFT).
    """
    reach = math.ceil(KERNEL_SDS * tau.max() / step) + 1
    offsets = np.arange(-reach, reach + 1) * step
    edges = np.append(offsets - step / 2, offsets[-1] + step / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cdf = special.ndtr(edges[None, :] / tau[:, None])
    kernels = np.where(tau[:, None] > 0, np.diff(cdf, axis=1), (offsets[None, :] == 0).astype(float))
    size = masses.shape[1] + kernels.shape[1] - 1
    length = 1 << (size - 1).bit_length()
    spectrum = np.sum(weights[:, None] * fft.rfft(masses, length, axis=1) * fft.rfft(kernels, length, axis=1), axis=0)
    full = fft.irfft(spectrum, length)[:size]
    inside = full[reach : reach + masses.shape[1]].copy()
    inside[0] += full[:reach].sum()  # the mass spread below the grid stays in its first bin …
    inside[-1] += full[reach + masses.shape[1] :].sum()  # … and above it in its last (rates within 1e-8 of 0 or 1)
    return inside


def _simpson_median(tau: np.ndarray, density: np.ndarray) -> float:
    """The median of τ: the density interpolated by a cubic spline through the Simpson nodes, integrated on a
    grid 50 times finer (trapezoid), the CDF inverted linearly."""
    fine = np.linspace(tau[0], tau[-1], 50 * (len(tau) - 1) + 1)
    values = np.clip(interpolate.CubicSpline(tau, density)(fine), 0.0, None)
    cdf = np.concatenate([[0.0], np.cumsum((values[1:] + values[:-1]) / 2 * np.diff(fine))])
    return float(np.interp(0.5, cdf / cdf[-1], fine))


__all__ = ["BinomialStudy", "MapPredictive", "map_predictive", "study_log_likelihood"]
