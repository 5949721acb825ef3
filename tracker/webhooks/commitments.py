"""Commitments that became due soon or late, announced once each: "commitment.due" from
WEBHOOK_COMMITMENT_DUE_DAYS before the due date, "commitment.late" from the day after it.

"Due" and "late" are derived from the date (tracker.core.commitments), so no operation changes them: beat scans.
Each announcement is claimed by a CommitmentNotice row (unique per commitment, stage and due date) in the
transaction that writes the event, so two beats, or a run retried after a crash, announce it once.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from tracker.core import events
from tracker.core.events import EventType
from tracker.core.models import Commitment, Implementation
from tracker.webhooks.models import CommitmentNotice, Endpoint

#: A commitment already late for longer than this when first seen (the first run, after a long outage) is not
#: announced: a backlog of old news would flood the partners, who read it from the API.
LATE_LOOKBACK_DAYS = 7
#: Commitments announced per run (the next run goes on).
BATCH = 1000

STAGES = {
    CommitmentNotice.Stage.DUE: EventType.COMMITMENT_DUE,
    CommitmentNotice.Stage.LATE: EventType.COMMITMENT_LATE,
}


def anybody_listens():
    chosen = Endpoint.objects.filter(is_active=True, partner__is_active=True).values_list("events", flat=True)
    return any(event_type in wanted for wanted in chosen for event_type in STAGES.values())


def candidates(stage, today):
    """Open commitments of followed-up items in the stage on `today`, not yet announced in it for their date."""
    if stage == CommitmentNotice.Stage.DUE:
        window = {"due_date__gte": today, "due_date__lte": today + timedelta(days=settings.WEBHOOK_COMMITMENT_DUE_DAYS)}
    else:
        window = {"due_date__lt": today, "due_date__gte": today - timedelta(days=LATE_LOOKBACK_DAYS)}
    announced = CommitmentNotice.objects.filter(commitment=OuterRef("pk"), stage=stage, due_date=OuterRef("due_date"))
    return (
        Commitment.objects.filter(
            state=Commitment.State.OPEN, implementation__in=Implementation.objects.current().values("pk"), **window
        )
        .exclude(Exists(announced))
        .select_related("implementation__recommendation__meeting", "implementation__member_state")
        .order_by("due_date", "pk")
    )


def announce(today=None, limit=BATCH):
    """Announce what became due or late; the number of commitments announced by this run."""
    if not anybody_listens():
        return 0
    today = today or timezone.localdate()
    announced = 0
    for stage, event_type in STAGES.items():
        for commitment in candidates(stage, today)[:limit]:
            announced += claim_and_emit(commitment, stage, event_type, today)
    return announced


@transaction.atomic
def claim_and_emit(commitment, stage, event_type, today):
    _notice, created = CommitmentNotice.objects.get_or_create(
        commitment=commitment, stage=stage, due_date=commitment.due_date
    )
    if not created:  # another run announced it first
        return 0
    events.commitment_event(event_type, commitment, today)
    return 1
