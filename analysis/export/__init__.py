"""Reading and validating an export bundle (spec/export-format.md)."""
