"""Counts over every item (a few hundred milliseconds at a million items), reused while nothing they depend on
changed. The stalled rules are evaluated at the start of a minute, so a count is the same for the whole minute
unless an item, a recommendation or a cycle changed (`data_version`) or a body's thresholds did. The review's
summary, the secretariat's landing page and the admin index share this rule."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

from tracker.core.querysets import StalledContext, data_version

COUNTS_CACHE_SECONDS = 60
T = TypeVar("T")


def counts_key(name: str, context: StalledContext, *parts: object) -> str:
    """A cache key that changes with the minute, the data, the thresholds, the overdue cycles and `parts`."""
    depends_on = [
        context.now.isoformat(),
        data_version(),
        sorted((b.pk, b.stale_after_days, b.unchanged_cycles) for b in context.bodies),
        sorted((b, c.pk, c.report_deadline.isoformat()) for b, c in context.overdue_cycles.items()),
        *parts,
    ]
    return f"{name}:" + hashlib.sha256(repr(depends_on).encode()).hexdigest()


def cached_counts(name: str, context: StalledContext, count: Callable[[], T], *parts: object) -> T:
    """`count()`'s answer, computed once per key (see counts_key) and kept COUNTS_CACHE_SECONDS."""
    key = counts_key(name, context, *parts)
    counted = cache.get(key)
    if counted is None:
        counted = count()
        cache.set(key, counted, COUNTS_CACHE_SECONDS)
    return counted
