"""Seeded, vectorized simulator of PACER export bundles (``spec/export-format.md``).

:func:`simulate_export` writes ``manifest.json``, ``participants.csv`` and ``events.csv``; the
same arguments give byte-identical files (numpy ``SeedSequence(seed)`` spawns one independent
stream per component, so changing one generator does not reshuffle the others).

Generative model
----------------
PACER: children and young adults (1-26 y) with relapsed/refractory B-ALL receive
tisagenlecleucel on day 0; the trial gives IV anakinra 2.5 mg/kg (max 100 mg) every 12 h from the
persistent-fever trigger, every 6 h if CRS worsens; follow-up is 12 months. Times are whole
minutes from infusion; written as naive local times of the manifest's zone (explicit offsets
for the second occurrence of a fall-back hour and for 0.3 % of vitals rows).

1. **Cohort** (``cohort.py``). Age 70 % uniform 1-18, 30 % uniform 18-27 (one decimal); 55 %
   male; weight = median for age x log-normal(0, 0.15); marrow blasts 5 + 94 x Beta(1.4, 1.1) %
   (median ~59 %, ~73 % high burden >= 40 %); prior HSCT 50 %; CNS1/2/3 80/12/8 % (3 %
   missing); CAR-T dose 2.5e6/kg x log-normal(0, 0.4) within 0.3-5e6. Trial infusions are uniform
   over 3-700 days before the export, 5 % in the last 3-28 days (not yet CRS-evaluable);
   enrollment 14-35 days before infusion; ``n_not_infused`` participants (default n/9) are never
   infused, 40 % of them enrolled in the last 3-25 days. The historical cohort was infused
   410-2200 days before the export (all followed 12 months).
2. **CRS** (``course.py``). Maximum ASTCT grade from a cumulative-logit model on blasts:
   P(grade >= k) = logistic(3 x blasts/100 + shift - c_k), c = (0.1, 1.5, 2.7, 4.0), shift 0
   (trial) or 0.6 (historical): severe (>= 3) in ~29 % of the trial (~35 % high burden vs
   ~12 % low), ~41 % of the historical cohort (~49 % vs ~20 %). Onset (first fever) log-normal
   around 66 h - 10 h per grade above 1 - 8 h if high burden, clipped to 2 h-8 days, at a vitals
   slot.
   Grade 1 has a persistent fever (50 %), a single reading > 38.5 °C, two such readings under 4 h
   apart, or only 38.0-38.5 °C; grade >= 2 always has a persistent fever. Grade 2 = hypotension
   (low SBP + boluses) and/or low-flow oxygen; grade 3 = one vasopressor and/or high-flow oxygen;
   grade 4 = two overlapping vasopressors and/or CPAP/BiPAP/ventilation; every support starts after
   the first fever and within the febrile phase, so the ASTCT derivation of grading.md recovers
   the designed grade.
3. **Vitals** (``vitals.py``): temperature and SBP every 4 h to day 14, daily to day 30, jittered
   -10 to +25 min. **Support** (``support.py``): boluses, vasopressor titration chains, oxygen
   escalation/step-down chains, some ``end_time`` left empty where the next row implies it.
4. **Medications** (``medications.py``): anakinra from the trigger computed on the simulated
   readings (0.5-5 h later; ~8 % later than 6 h; one per hundred before the trigger), escalation
   to every 6 h; tocilizumab, dexamethasone, acetaminophen premedication.
5. **ICANS** (``neuro.py``): in 3/10/25/50/70 % by CRS grade 0-4, grade 1-4 in 45/30/20/5 %; ICE or
   CAPD daily during CRS and ICANS, consciousness, seizures, edema, motor signs.
6. **Reported grades** (``reported.py``): equal to what the rows document except planted
   discrepancies (>= 2 CRS, >= 1 ICANS; flagged in ``truth``). In the demo: PACER-011 CRS
   reported 1, documented 2; PACER-022 CRS reported 2, documented 1; PACER-009 ICANS reported 0,
   documented 1.
7. **Outcomes** (``outcomes.py``, ``adverse_events.py``): day-28 response (~81 % CR/CRi, 90 % of
   them MRD-negative), relapse (~30 % of responders within a year), B-cell recovery, HSCT, new
   therapy, deaths (disease; 2.5 % treatment-related: CRS or infection), withdrawals, monthly
   last contacts, adverse events.
8. **Cut** (``bundle.py``): nothing after death, withdrawal, 12 months or the export; interval
   ends beyond them left empty (ends after a death moved to the death).
9. **Faults** (``faults.py``, ``plant_faults=True``, demo only): :data:`PLANTED_FAULTS`.
"""

from __future__ import annotations

from pathlib import Path

from analysis.simulate.bundle import (
    DEFAULT_EXPORTED_AT,
    DEFAULT_TIMEZONE,
    SimulatedExport,
    simulate_bundle,
    write_bundle,
)
from analysis.simulate.faults import PLANTED_FAULTS

__all__ = [
    "DEMO_BUNDLES",
    "PLANTED_FAULTS",
    "SimulatedExport",
    "regenerate_demo_bundles",
    "simulate_bundle",
    "simulate_export",
]

# The committed demo bundles under data/raw/: folder name -> simulate_export keyword arguments.
DEMO_BUNDLES: dict[str, dict[str, object]] = {
    "demo": {"n_participants": 45, "seed": 20261101, "n_not_infused": 5, "plant_faults": True},
    "demo_historical": {"n_participants": 40, "seed": 20190701, "historical": True},
}


def simulate_export(
    n_participants: int,
    seed: int,
    out_dir: Path,
    *,
    historical: bool = False,
    n_not_infused: int | None = None,
    plant_faults: bool = False,
    exported_at: str = DEFAULT_EXPORTED_AT,
    timezone: str = DEFAULT_TIMEZONE,
    hourly_vitals_days: int = 0,
    first_number: int = 1,
    cohort_size: int | None = None,
) -> Path:
    """Simulate a PACER export bundle and write it into ``out_dir``.

    Parameters
    ----------
    n_participants
        Enrolled participants (infused and not).
    seed
        Seed of every random draw: the same arguments give byte-identical files.
    out_dir
        Folder to write ``manifest.json``, ``participants.csv`` and ``events.csv`` into (created).
    historical
        Simulate the site's historical cohort instead: no anakinra, more severe CRS, more
        tocilizumab, infused 1-6 years before the export.
    n_not_infused
        Participants enrolled but never infused; default ``round(n_participants / 9)``.
    plant_faults
        Add the demo's deliberate faults (:data:`PLANTED_FAULTS`).
    exported_at
        Export instant, ISO-8601 with offset; no event lies after it.
    timezone
        IANA zone of the site; event times are written as its naive local times.
    hourly_vitals_days
        Add hourly monitor charting of temperature and SBP over days 0 to this (the registry-scale
        benchmark workload; 0 = none): :func:`analysis.simulate.vitals.monitor_readings`.
    first_number, cohort_size
        Number the participant ids from ``first_number``, as wide as ``cohort_size``'s ids: one
        part of a larger cohort (:mod:`analysis.simulate.parts`).

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Examples
    --------
    >>> simulate_export(45, 20261101, Path("data/raw/demo"), n_not_infused=5, plant_faults=True)  # doctest: +SKIP
    PosixPath('data/raw/demo')
    """
    bundle = simulate_bundle(
        n_participants,
        seed,
        historical=historical,
        n_not_infused=n_not_infused,
        plant_faults=plant_faults,
        exported_at=exported_at,
        timezone=timezone,
        hourly_vitals_days=hourly_vitals_days,
        first_number=first_number,
        cohort_size=cohort_size,
    )
    return write_bundle(bundle, out_dir)


def regenerate_demo_bundles(raw_dir: Path) -> list[Path]:
    """Rewrite every bundle of :data:`DEMO_BUNDLES` under ``raw_dir`` (e.g. ``data/raw``)."""
    return [simulate_export(out_dir=Path(raw_dir) / name, **kwargs) for name, kwargs in DEMO_BUNDLES.items()]
