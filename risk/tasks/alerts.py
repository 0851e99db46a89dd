"""Celery tasks of risk: alerts."""
