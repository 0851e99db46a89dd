"""Rendered parts of pages that never change once a cohort has ended, kept in the cache.

A completed or failed cohort has no further transitions (COHORT_TRANSITIONS), so its list row is rendered
once and reused by every page and live update that shows it. Keys carry `VERSION`, a digest of the templates,
so a deployment that changes how a row reads never serves an old rendering."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache as once
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from cohorts.models import Cohort, CohortStatus

FINISHED = (CohortStatus.COMPLETED, CohortStatus.FAILED)
ROW_SECONDS = 7 * 24 * 3600


@once
def version() -> str:
    """A short digest of every project template: changes when any of them does."""
    digest = hashlib.sha1(usedforsecurity=False)
    for root in settings.TEMPLATES[0]["DIRS"]:
        for path in sorted(Path(root).rglob("*.html")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def cohort_rows(cohorts: Sequence[Cohort]) -> list[SafeString]:
    """The list rows of `cohorts`, in order: finished ones from the cache (one read for all), the others
    rendered now."""
    keys = {c.pk: f"cohort-row:{version()}:{c.pk}:{c.created_at.timestamp()}:{c.status}"  # a reused id differs
            for c in cohorts if c.status in FINISHED}
    stored = cache.get_many(keys.values()) if keys else {}
    rows, fresh = [], {}
    for cohort in cohorts:
        key = keys.get(cohort.pk)
        html = stored.get(key) if key else None
        if html is None:
            html = render_to_string("cohorts/_row.html", {"c": cohort, "oob": False})
            if key:
                fresh[key] = html
        rows.append(mark_safe(html))
    if fresh:
        cache.set_many(fresh, ROW_SECONDS)
    return rows
