"""The published reference the analyses compare with: ``historical_cohorts.yaml`` and its typed model."""
