"""Celery tasks of risk: guardian."""
