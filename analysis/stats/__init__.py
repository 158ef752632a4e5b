"""Statistics: pure functions, one estimator per module, each validated against R (tests/fixtures/r/)."""
