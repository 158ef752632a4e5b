"""What a step reports back: where it wrote, whether it reused an up-to-date result, how long it took."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StepOutcome:
    """One step's outcome, for the terminal and the run log."""

    step: str
    out_dir: Path
    reused: bool
    seconds: float

    def line(self) -> str:
        """One human line: ``ingest   done in 1.2 s`` or ``derive   reused (inputs, settings and code unchanged)``."""
        if self.reused:
            return f"{self.step:<8} reused (inputs, settings and code unchanged)"
        return f"{self.step:<8} done in {self.seconds:.1f} s"
