"""What the public may see: the one place that decides it, for every public surface (pages, downloads, the
JSON, sitemaps, counts).

A recommendation is published when the secretariat marked it public (and it is neither archived nor a demo
sample). A state's item on it is published only while the state's agreement for that body is recorded
(`PublicationConsent.publishes_progress`); withdrawing it removes the item from the next answer. What is
published of an item is its status and progress as the submitted (and, where the state validates, validated)
reports left them, the date of the last such report, and the narrative of that report only where the state also
agreed to publish narratives. Names and contacts of focal points are never published.

Counts are always taken over these querysets, so no total reveals a confidential recommendation or a state that
did not agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Exists, Max, OuterRef, Q, QuerySet, Subquery, TextField, Value, When

from tracker.core.models import (
    Body,
    CycleSnapshot,
    Implementation,
    MemberState,
    ProgressReport,
    PublicationConsent,
    Recommendation,
    ReviewCycle,
    Status,
)


def published_recommendations() -> QuerySet[Recommendation]:
    """Recommendations the secretariat made public."""
    return Recommendation.objects.filter(is_public=True, is_archived=False, is_sample=False)


def _consent(prefix: str = "", **extra: bool) -> Exists:
    """Whether the item's state agreed to publish for the item's body (an OuterRef on implementations)."""
    agreements = PublicationConsent.objects.filter(
        body=OuterRef(f"{prefix}recommendation__meeting__body"),
        member_state=OuterRef(f"{prefix}member_state"),
        publishes_progress=True,
        **extra,
    )
    return Exists(agreements)


def _last_submitted_narrative() -> Subquery:
    reports = ProgressReport.objects.filter(
        implementation=OuterRef("pk"), state=ProgressReport.State.SUBMITTED, is_archived=False
    ).order_by("-submitted_at", "-pk")
    return Subquery(reports.values("narrative")[:1])


def published_implementations() -> QuerySet[Implementation]:
    """Items of published recommendations whose state agreed to publish, with `narrative_published` (whether the
    state agreed to publish narratives) and `published_narrative` (that text, or empty)."""
    items = Implementation.objects.filter(applies=True, recommendation__in=published_recommendations())
    items = items.filter(_consent()).annotate(narrative_published=_consent(publishes_narratives=True))
    narrative = Case(
        When(narrative_published=True, then=_last_submitted_narrative()), default=Value(""), output_field=TextField()
    )
    return items.annotate(published_narrative=narrative)


def published_states() -> QuerySet[MemberState]:
    """Member states with at least one published item."""
    return MemberState.objects.filter(pk__in=published_implementations().values("member_state"))


def published_snapshots() -> QuerySet[CycleSnapshot]:
    """Closed cycles' records of published items: the history the public pages chart."""
    return CycleSnapshot.objects.filter(
        cycle__state=ReviewCycle.State.CLOSED, implementation__in=published_implementations().values("pk")
    )


@dataclass(frozen=True)
class Tally:
    """What a set of published items adds up to."""

    items: int
    states_reporting: int
    implemented: int
    in_progress: int
    reported: int

    @property
    def share_implemented(self) -> int:
        """Percent of the published items that are implemented (0 when there are none)."""
        return round(100 * self.implemented / self.items) if self.items else 0


def _tally_counts() -> dict[str, Count]:
    return {
        "items": Count("pk"),
        "states_reporting": Count("member_state", distinct=True, filter=Q(last_reported_at__isnull=False)),
        "implemented": Count("pk", filter=Q(status=Status.IMPLEMENTED)),
        "in_progress": Count("pk", filter=Q(status__in=[Status.IN_PROGRESS])),
        "reported": Count("pk", filter=Q(last_reported_at__isnull=False)),
    }


def tally(items: QuerySet[Implementation]) -> Tally:
    """Counts over published items only (pass a filtered `published_implementations()`)."""
    return Tally(**items.aggregate(**_tally_counts()))


def tallies(items: QuerySet[Implementation], by: str) -> dict[Any, Tally]:
    """`tally()` per value of `by` (e.g. "recommendation", "recommendation__meeting") in one query, so a page
    that shows a count per meeting or per recommendation costs the same however many there are."""
    rows = items.order_by().values(by).annotate(**_tally_counts())
    return {row.pop(by): Tally(**row) for row in rows}


def publication_epoch() -> tuple[int, int, int, int]:
    """A cheap value that changes the moment what may be published changes (an agreement recorded or
    withdrawn, a recommendation made public or confidential, a licence changed): public pages key their cache on
    it, so a withdrawal is never served from a cache. Changes of progress reach the pages within the cache's
    lifetime (PUBLIC_CACHE_SECONDS). History rows are numbered in the order they are written, whatever the clock
    says or whichever transaction writes them, so each save moves the value."""
    consents = PublicationConsent.history.aggregate(last=Max("history_id"))["last"] or 0
    recommendations = Recommendation.history.aggregate(last=Max("history_id"))["last"] or 0
    # A change stamp moves on any write, saved or not (an update() of many rows writes no history).
    stamps = Recommendation.objects.aggregate(last=Max("change_xid"))["last"] or 0
    # A body's stamp moves when its licence changes or one of its cycles moves (tracker.core.models.ReviewCycle).
    bodies = Body.objects.aggregate(last=Max("change_xid"))["last"] or 0
    return consents, recommendations, stamps, bodies
