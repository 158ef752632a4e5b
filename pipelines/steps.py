"""What a step reports back: where it wrote, whether it reused an up-to-date result, how long it took."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

PROGRESS = logging.getLogger("pacer.progress")
"""Each step's line as it finishes; the command line shows it on the terminal unless --quiet."""


@dataclass(frozen=True)
class StepOutcome:
    """One step's outcome, for the terminal and the run log."""

    step: str
    out_dir: Path
    reused: bool
    seconds: float

    def line(self) -> str:
        """One human line: ``ingest   done in 1.2 s`` or ``derive   reused (inputs, settings and code unchanged)``."""
        name = f"{self.step} ({self.out_dir.name})" if self.out_dir.name == "historical" else self.step
        if self.reused:
            return f"{name:<8} reused (inputs, settings and code unchanged)"
        return f"{name:<8} done in {self.seconds:.1f} s"


def cut_counts_line(out_dir: Path) -> str:
    """One line of what the cut did, read from what the ingest wrote (never re-derived).

    grading.md 2.2 ("The cut cannot outrun the data"): every run says how many participants were
    enrolled by the cut, how many of them were infused, and how many were left out because they
    enrolled after it. Enrolled: the rows of ``participants.parquet``; infused: its ``infused``
    flag; left out: the manifest's reconciliation of ``participants.csv`` (``left_out_by_cut``).

    Returns
    -------
    str
        e.g. ``cut 2026-11-01: 45 enrolled, 40 infused, 0 left out (enrolled after the cut)``.
    """
    import pyarrow.parquet as pq

    from analysis.store import read_manifest

    record = read_manifest(out_dir)["steps"]["ingest"]
    infused = pq.read_table(Path(out_dir) / "participants.parquet", columns=["infused"]).column("infused")
    enrolled = len(infused)
    infused_count = sum(1 for flag in infused.to_pylist() if flag)
    left_out = record["reconciliation"]["participants.csv"]["left_out_by_cut"]
    label = " (historical)" if Path(out_dir).name == "historical" else ""
    return (
        f"cut {record['data_cut']}{label}: {enrolled} enrolled, {infused_count} infused, "
        f"{left_out} left out (enrolled after the cut)"
    )
