"""A registry-sized cohort simulated in parts: one export bundle per range of participant ids.

A cohort too large for one process (100,000 participants with hourly vitals: about 80 million
event rows) is written as ``part-00000``, ``part-00001``, … each an ordinary export bundle
(export-format.md) of consecutive participant ids with the cohort's width (``PACER-000001`` …
``PACER-100000``), so the parts hold ascending, non-overlapping ranges of ids and, put one after
the other (:func:`analysis.export.parts.concatenate_parts`), are one cohort's export.

Each part has its own random stream, ``SeedSequence(seed).spawn(...)``'s child of the part's index:
a part's bytes depend on the seed, its index and its size only, never on which process or worker
simulates it, so the parts can be simulated anywhere and in any order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.simulate import simulate_export

PART_FOLDER = "part-{index:05d}"
"""The folder name of part ``index`` inside the cohort's folder."""


@dataclass(frozen=True)
class CohortPart:
    """One part of a cohort simulated in parts.

    Attributes
    ----------
    index
        0, 1, … in the order of the participant ids.
    first_number
        The number of the part's first participant id within the whole cohort.
    n_participants
        The part's participants.
    seed
        The part's seed (from the cohort's seed and ``index``).
    """

    index: int
    first_number: int
    n_participants: int
    seed: int

    @property
    def folder(self) -> str:
        """The part's folder name (:data:`PART_FOLDER`)."""
        return PART_FOLDER.format(index=self.index)


def cohort_parts(n_participants: int, parts: int, seed: int) -> list[CohortPart]:
    """Cut a cohort of ``n_participants`` into ``parts`` ranges of ids of near-equal size.

    Parameters
    ----------
    n_participants
        The whole cohort's participants (at least ``parts``).
    parts
        The number of parts (at least 1).
    seed
        The cohort's seed.

    Returns
    -------
    list of CohortPart
        In id order; sizes differ by at most one (the first ``n_participants % parts`` are larger).

    Examples
    --------
    >>> [(part.first_number, part.n_participants) for part in cohort_parts(10, 3, 1)]
    [(1, 4), (5, 3), (8, 3)]
    """
    if not 1 <= parts <= n_participants:
        raise ValueError(f"parts must be between 1 and the number of participants ({n_participants}), got {parts}")
    sizes = [len(chunk) for chunk in np.array_split(np.arange(n_participants), parts)]
    firsts = np.cumsum([1, *sizes[:-1]])
    streams = np.random.SeedSequence(seed).spawn(parts)
    return [
        CohortPart(index, int(first), size, int(stream.generate_state(1, dtype=np.uint64)[0]))
        for index, (first, size, stream) in enumerate(zip(firsts, sizes, streams))
    ]


def simulate_part(part: CohortPart, cohort_size: int, out_dir: Path, *, hourly_vitals_days: int = 0) -> Path:
    """Write one part's export bundle into ``out_dir / part.folder`` (:func:`analysis.simulate.simulate_export`).

    Returns
    -------
    pathlib.Path
        The part's folder.
    """
    return simulate_export(
        part.n_participants,
        part.seed,
        Path(out_dir) / part.folder,
        hourly_vitals_days=hourly_vitals_days,
        first_number=part.first_number,
        cohort_size=cohort_size,
    )
