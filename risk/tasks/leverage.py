"""Celery tasks of risk: leverage."""
