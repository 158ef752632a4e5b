"""Derivations of grading.md: pure functions, processed tables in, derived tables out."""
