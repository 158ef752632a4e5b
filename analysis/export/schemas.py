"""The processed participants and events tables as pandera contracts, kept here for the ingest step's imports.

The schemas of every output table live in :mod:`analysis.schemas` (``analysis/schemas/processed.py``
for these two); this module re-exports them.
"""

from analysis.schemas.processed import ProcessedEvents, ProcessedParticipants

__all__ = ["ProcessedEvents", "ProcessedParticipants"]
