"""A handover hands over the state's working memory, not only its access.

When someone becomes a focal point or national validator of a state (after a handover, or designated anew), what
the state has in progress is theirs to continue: the shared drafts, the reports awaiting national validation, the
secretariat's open clarifications, the open commitments the state owes, and where its items stand in the open
cycle. `working_memory` gathers it in a fixed handful of queries whatever the number of items; the welcome e-mail
lists it, and the person sees it once after signing in (`needs_summary`, `mark_summary_seen`), then on request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.core import clarifications
from tracker.core.commitments import with_lateness
from tracker.core.models import (
    Clarification,
    ClarificationMessage,
    Commitment,
    DueState,
    FocalPointDesignation,
    Implementation,
    ProgressReport,
    ReviewCycle,
    Status,
)
from tracker.core.querysets import StalledContext

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet


@dataclass
class ItemSummary:
    """Where the state's followed-up items stand: by status, against the open cycle, and stalled."""

    total: int = 0
    by_status: list[tuple[str, int]] = field(default_factory=list)  # (status label, count), statuses in use
    cycle: ReviewCycle | None = None  # the body's open cycle, if any
    by_due_state: dict[str, int] = field(default_factory=dict)  # DueState value -> count, for the open cycle
    stalled: int = 0

    @property
    def due(self) -> int:
        """Still to report in the open cycle before its deadline (due or due soon)."""
        return self.by_due_state.get(DueState.DUE, 0) + self.by_due_state.get(DueState.DUE_SOON, 0)

    @property
    def overdue(self) -> int:
        return self.by_due_state.get(DueState.OVERDUE, 0)

    @property
    def reported(self) -> int:
        return self.by_due_state.get(DueState.REPORTED, 0)

    @property
    def awaiting_validation(self) -> int:
        return self.by_due_state.get(DueState.AWAITING_VALIDATION, 0)


@dataclass
class WorkingMemory:
    """What a state has in progress for a body. The reports and clarifications carry their item's recommendation
    (select_related); clarifications carry `question` (the thread's first message), commitments `late`."""

    drafts: list[ProgressReport]
    awaiting_validation: list[ProgressReport]
    clarifications: list[Clarification]
    commitments: list[Commitment]
    items: ItemSummary

    @property
    def late_commitments(self) -> int:
        return sum(1 for commitment in self.commitments if getattr(commitment, "late", False))

    @property
    def in_progress(self) -> bool:
        """Whether anything is under way beyond the items themselves."""
        return bool(self.drafts or self.awaiting_validation or self.clarifications or self.commitments)


def _of_state(body_id: int, member_state_id: int, via: str = "") -> Q:
    """The followed-up items of the state for the body (`via`: the path to the item, e.g. "implementation__"):
    the same items as the state's page, so every link of the summary opens."""
    return Q(
        **{
            f"{via}member_state_id": member_state_id,
            f"{via}recommendation__meeting__body_id": body_id,
            f"{via}applies": True,
            f"{via}recommendation__is_archived": False,
        }
    )


def working_memory(body_id: int, member_state_id: int, now: datetime | None = None) -> WorkingMemory:
    """The state's working memory for the body: eight queries, whatever the number of its items."""
    now = now or timezone.now()
    in_state = _of_state(body_id, member_state_id, via="implementation__")
    return WorkingMemory(
        drafts=list(_drafts(in_state)),
        awaiting_validation=list(_awaiting_validation(in_state)),
        clarifications=list(_open_clarifications(body_id, member_state_id)),
        commitments=list(_open_commitments(in_state, now)),
        items=item_summary(body_id, member_state_id, now),
    )


def _drafts(in_state: Q) -> QuerySet[ProgressReport]:
    """The state's shared drafts, most recently changed first."""
    return (
        ProgressReport.objects.working_drafts()
        .filter(in_state)
        .select_related("implementation__recommendation", "author", "updated_by")
        .order_by("-updated_at", "pk")
    )


def _awaiting_validation(in_state: Q) -> QuerySet[ProgressReport]:
    """The reports waiting for the state's national validator, oldest first (the order the validator takes)."""
    return (
        ProgressReport.objects.filter(in_state, state=ProgressReport.State.AWAITING_VALIDATION, is_archived=False)
        .select_related("implementation__recommendation", "sent_for_validation_by", "author")
        .order_by("sent_for_validation_at", "pk")
    )


def _open_clarifications(body_id: int, member_state_id: int) -> QuerySet[Clarification]:
    """The questions the state has not answered yet, oldest first, each with its first message (`question`)."""
    first_message = ClarificationMessage.objects.filter(clarification=OuterRef("pk")).order_by("created_at", "pk")
    threads = clarifications.open_for_state(body_id, member_state_id)
    return threads.annotate(question=Subquery(first_message.values("text")[:1]))


def _open_commitments(in_state: Q, now: datetime) -> QuerySet[Commitment]:
    """The open commitments the state's focal points owe, earliest due (so the late ones) first, marked `late`."""
    commitments = Commitment.objects.filter(in_state, state=Commitment.State.OPEN, owner=Commitment.Owner.STATE)
    return (
        with_lateness(commitments, timezone.localdate(now))
        .select_related("implementation__recommendation")
        .order_by("due_date", "pk")
    )


def item_summary(body_id: int, member_state_id: int, now: datetime | None = None) -> ItemSummary:
    """Counts of the state's followed-up items by status, by what the open cycle expects of them (the items'
    own `due_state`) and stalled (the querysets' rules): four queries, the items read once."""
    context = StalledContext.load(now)
    cycle = ReviewCycle.objects.filter(body_id=body_id, state=ReviewCycle.State.OPEN).select_related("body").first()
    items = list(
        Implementation.objects.filter(_of_state(body_id, member_state_id))
        .with_stalled_reasons(context)
        .only("status", "applies", "last_report_cycle", "awaiting_validation_since")
    )
    statuses = Counter(item.status for item in items)
    return ItemSummary(
        total=len(items),
        by_status=[(str(status.label), statuses[status]) for status in Status if statuses[status]],
        cycle=cycle,
        by_due_state=dict(Counter(str(item.due_state(cycle, context.today)) for item in items)),
        stalled=sum(1 for item in items if getattr(item, "is_stalled", False)),
    )


# --- The summary after signing in ------------------------------------------------------------------------------


def active_designations(user: User) -> QuerySet[FocalPointDesignation]:
    """The user's designations in force, with their state and body, in a stable order."""
    return (
        FocalPointDesignation.objects.active()
        .filter(user=user)
        .select_related("member_state", "body")
        .order_by("body__code", "member_state__name_en", "pk")
    )


def needs_summary(user: User) -> bool:
    """Whether the user acts for a state under a designation whose summary they have not seen yet (one query)."""
    return active_designations(user).filter(summary_seen_at__isnull=True).exists()


def mark_summary_seen(user: User) -> int:
    """Record that the user saw the summary of each of their active designations; how many were unseen."""
    unseen = FocalPointDesignation.objects.active().filter(user=user, summary_seen_at__isnull=True)
    return unseen.update(summary_seen_at=timezone.now())


# --- The welcome e-mail ----------------------------------------------------------------------------------------


def welcome_subject(designation: FocalPointDesignation) -> str:
    """In the active language: a national validator is not told they are a focal point."""
    if designation.role == FocalPointDesignation.Role.VALIDATOR:
        return _("You are designated as a national validator")
    return _("You are designated as a national focal point")


def welcome_context(designation: FocalPointDesignation) -> dict[str, Any]:
    """What the welcome e-mail lists besides the password link: the state's working memory, and the site's
    address for the links to its items."""
    from django.conf import settings

    return {
        "memory": working_memory(designation.body_id, designation.member_state_id),
        "site_url": settings.SITE_URL,
    }
