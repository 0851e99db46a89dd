"""Fixtures of the live-cohort tests: the cohorts tests' bundled hours of bars."""
from tests.cohorts.conftest import HOURS, HOURS_SYMBOLS, crypto_hours, operator  # noqa: F401
