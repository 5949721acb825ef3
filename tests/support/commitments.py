"""Commitments for tests: recorded through the real services, as the review's outcome page records them."""

from datetime import timedelta

from django.utils import timezone

from tracker.core import commitments
from tracker.core.models import Implementation, Organisation, ReviewCycle
from tracker.core.permissions import access_for


def item_of(iso_code, reference="R2"):
    return Implementation.objects.select_related("recommendation__meeting").get(
        recommendation__reference=reference, member_state__iso_code=iso_code
    )


def promise(description="Adopt the data-sharing protocol", days=30, owner="state", organisation=None):
    """One commitment as the outcome form collects it, due `days` from today."""
    return commitments.CommitmentInput(
        description=description,
        due_date=timezone.localdate() + timedelta(days=days),
        owner=owner,
        organisation=organisation,
    )


def agree(item, officer, *promises, solution="Draft the protocol with UNHCR's help", cycle=None):
    """A review outcome that agrees a solution, with its commitments (by default one, due in 30 days)."""
    fields = {"obstacle_category": "capacity", "solution": solution}
    if cycle is not None:
        fields["cycle"] = cycle
    outcome = commitments.record_outcome_with_commitments(
        item, officer, access_for(officer), promises or (promise(),), **fields
    )
    return list(outcome.commitments.order_by("pk"))


def unhcr():
    return Organisation.objects.get(code="unhcr")


def review_cycle(body, name="2026-1", state=ReviewCycle.State.UNDER_REVIEW, start=None):
    """A cycle in the given state (outcomes recorded while it is under review are filed under it)."""
    start = start or timezone.localdate() - timedelta(days=120)
    return ReviewCycle.objects.create(
        body=body,
        name_en=f"Cycle {name}",
        name_ar=f"دورة {name}",
        period_start=start,
        period_end=start + timedelta(days=90),
        report_deadline=start + timedelta(days=60),
        state=state,
        closed_at=timezone.now() if state == ReviewCycle.State.CLOSED else None,
    )


def close(cycle, when=None):
    """Marks a cycle closed without the freeze (the commitments' summary reads only outcomes and their cycle)."""
    ReviewCycle.objects.filter(pk=cycle.pk).update(state=ReviewCycle.State.CLOSED, closed_at=when or timezone.now())
    cycle.refresh_from_db()
    return cycle
