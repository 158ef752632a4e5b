"""Exact operating characteristics of a sequential stopping rule, by recursion over the binomial paths.

grading.md, "Treatment-related death and stopping rules": boundaries and operating characteristics
are exact. Participants are evaluated one at a time, each an event with probability p, independently.
At the looks n_1 < … < n_K = N the rule stops when the cumulative count reaches the boundary b_k.
Let D_k(s) be the probability that the trial is still running at look k with s events. Then

.. math::

    D_k(s) = \\sum_{j < b_{k-1}} D_{k-1}(j)\\, \\binom{m_k}{s - j} p^{s-j} (1-p)^{m_k - s + j},
    \\qquad m_k = n_k - n_{k-1},

(the continuing mass of the previous look, spread by the m_k new participants), with D_0 = δ_0. The
probability of stopping at look k is Σ_{s ≥ b_k} D_k(s); the expected number of events at stopping
counts s at the look where the trial stops, or at N when it never does; the expected number evaluated
counts n_k, or N. This is the recursion of R's ``stoppingrule::OC.rule.bin`` (Martens and Logan
2024) and of ``clinfun::toxbdry``'s operating characteristics; no simulation is involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OC_COLUMNS = ("true_rate", "prob_stop", "expected_events", "expected_n")


@dataclass(frozen=True)
class ExactOc:
    """The operating characteristics of one rule at one true rate.

    Attributes
    ----------
    true_rate : float
    prob_stop : float
        P(the rule ever stops).
    expected_events : float
        E(events at stopping, or among all N when it never stops).
    expected_n : float
        E(number evaluated at stopping, or N).
    stop_by_look : numpy.ndarray
        P(stop at look k), one per look.
    """

    true_rate: float
    prob_stop: float
    expected_events: float
    expected_n: float
    stop_by_look: np.ndarray


def check_looks(looks: Sequence[int], boundaries: Sequence[int | None]) -> None:
    """Looks strictly increasing from ≥ 1, one boundary (or None: no count stops) per look."""
    if len(looks) == 0 or len(looks) != len(boundaries):
        raise ValueError("one boundary per look, and at least one look")
    if looks[0] < 1 or any(b <= a for a, b in zip(looks, looks[1:])):
        raise ValueError(f"looks must be strictly increasing numbers evaluated from 1 on, got {list(looks)}")


def exact_oc(looks: Sequence[int], boundaries: Sequence[int | None], true_rate: float) -> ExactOc:
    """The exact operating characteristics of the rule (looks, boundaries) when the true rate is ``true_rate``.

    Parameters
    ----------
    looks : sequence of int
        Numbers evaluated n_1 < … < n_K at which the rule is checked; N = n_K.
    boundaries : sequence of int or None
        b_k: stop at look k when the events among n_k reach b_k; None where no count stops.
    true_rate : float
        p, in [0, 1].

    Returns
    -------
    ExactOc

    Examples
    --------
    One look at n = 5 with boundary 3: P(stop) = P(Binomial(5, 0.3) ≥ 3) = 0.16308.

    >>> round(exact_oc([5], [3], 0.3).prob_stop, 5)
    0.16308
    """
    check_looks(looks, boundaries)
    continuing = np.ones(1)
    previous = 0
    prob_stop = expected_events = expected_n = 0.0
    by_look = np.zeros(len(looks))
    participant = np.array([1.0 - true_rate, true_rate])
    for k, (n, boundary) in enumerate(zip(looks, boundaries)):
        for _ in range(n - previous):  # one newly evaluated participant at a time
            continuing = np.convolve(continuing, participant)
        previous = n
        if boundary is None or boundary > n:
            continue
        stopped = continuing[boundary:]
        by_look[k] = stopped.sum()
        prob_stop += by_look[k]
        expected_events += float(np.dot(np.arange(boundary, n + 1), stopped))
        expected_n += n * by_look[k]
        continuing[boundary:] = 0.0
    planned = looks[-1]
    expected_events += float(np.dot(np.arange(planned + 1), continuing))
    expected_n += planned * float(continuing.sum())
    return ExactOc(float(true_rate), float(prob_stop), expected_events, float(expected_n), by_look)


def probability_of_stopping(looks: Sequence[int], boundaries: Sequence[int | None], true_rate: float) -> float:
    """P(the rule ever stops | true rate): at p0, the rule's type I error."""
    return exact_oc(looks, boundaries, true_rate).prob_stop


def operating_characteristics_records(
    looks: Sequence[int], boundaries: Sequence[int | None], true_rates: Sequence[float]
) -> list[dict[str, float]]:
    """:func:`exact_oc` for each true rate, in order: ``true_rate``, ``prob_stop``, ``expected_events``, ``expected_n``."""
    return [
        {column: getattr(oc, column) for column in OC_COLUMNS}
        for oc in (exact_oc(looks, boundaries, rate) for rate in true_rates)
    ]


__all__ = ["OC_COLUMNS", "ExactOc", "exact_oc", "operating_characteristics_records", "probability_of_stopping"]
