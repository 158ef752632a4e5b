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
