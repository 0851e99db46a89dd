"""A read-through cache for figures many pages show and a few writes change: every write expires it at once.

`Versioned("name", seconds)`: `get(compute)` answers from the cache or computes and keeps the value under the
current version; `expire()` moves to a new version, so a read that raced the write keeps only its old key.
`seconds` is a safety net, not the freshness rule."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
_MISSING = object()


class Versioned:
    def __init__(self, name: str, seconds: int):
        self.name, self.seconds = name, seconds
        self.version_key = f"{name}:version"

    def get(self, compute: Callable[[], T]) -> T:
        key = f"{self.name}:{cache.get_or_set(self.version_key, 0, None)}"
        value = cache.get(key, default=_MISSING)
        if value is _MISSING:
            value = compute()
            cache.set(key, value, self.seconds)
        return value

    def expire(self) -> None:
        try:
            cache.incr(self.version_key)
        except ValueError:  # the version was evicted: any new value retires every key read before
            cache.set(self.version_key, time.time_ns(), None)
