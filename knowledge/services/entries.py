"""Writes to the knowledge base: one entry per event or decision worth remembering."""
from __future__ import annotations

from knowledge.models import KnowledgeEntry


def entry_create(*, kind: str, title: str, body: str = "", data: dict | None = None, campaign=None, cycle=None,
                 cohort=None) -> KnowledgeEntry:
    """Appends an entry (entries are never edited: a later entry supersedes an earlier one)."""
    return KnowledgeEntry.objects.create(kind=kind, title=title[:200], body=body, data=data or {},
                                         campaign=campaign, cycle=cycle, cohort=cohort)
