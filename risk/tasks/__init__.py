"""Celery tasks of risk, one module per part; imported here so that the worker registers them all.
Tasks take ids (or nothing), re-check state and call one service; names are `risk.tasks.<part>.<task>`."""
from risk.tasks import alerts, guardian, leverage, rollout  # noqa: F401
