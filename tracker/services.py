"""Operations that span models. Views, the admin, the API and tasks call these and nothing else, so the
web form, the admin and the API cannot disagree.
"""

import hashlib
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.models import (
    SETTLED_STATUSES,
    Evidence,
    Implementation,
    ProgressReport,
    ReviewCycle,
    ReviewOutcome,
    Status,
)


class StaleVersion(Exception):
    """The implementation changed after the form was opened; `current` is its state now."""

    def __init__(self, current, latest_report):
        super().__init__("The item changed after the form was opened.")
        self.current = current
        self.latest_report = latest_report


@dataclass
class ReportInput:
    status: str
    progress: int
    narrative: str = ""
    obstacles: str = ""
    support_needed: str = ""


def open_cycle_for(implementation):
    body_id = implementation.recommendation.meeting.body_id
    return ReviewCycle.objects.filter(body_id=body_id, state=ReviewCycle.State.OPEN).first()


def check_transition(implementation, data):
    """Refuse status changes that make no sense once work has been reported."""
    reported_before = implementation.last_reported_at is not None
    if reported_before and implementation.status != Status.NOT_STARTED and data.status == Status.NOT_STARTED:
        raise ValidationError({"status": _("An item that has already started cannot go back to not started.")})


def _lock(implementation_id, expected_version):
    locked = Implementation.objects.select_for_update().get(pk=implementation_id)
    if expected_version is not None and locked.version != expected_version:
        latest = locked.reports.submitted().select_related("author").first()
        raise StaleVersion(locked, latest)
    return locked


def _build_report(implementation, author, data, state):
    report = ProgressReport(
        implementation=implementation,
        author=author,
        state=state,
        status=data.status,
        progress=data.progress,
        narrative=data.narrative.strip(),
        obstacles=data.obstacles.strip(),
        support_needed=data.support_needed.strip(),
        based_on_version=implementation.version,
        cycle=open_cycle_for(implementation),
        # Set before validation: the constraint "submitted has a timestamp" is checked by full_clean.
        submitted_at=timezone.now() if state == ProgressReport.State.SUBMITTED else None,
    )
    report.full_clean(exclude=["implementation", "author", "cycle"])
    return report


def _apply_report(implementation, report):
    """Bring the implementation's durable state in line with a submitted report."""
    implementation.status = report.status
    implementation.progress = report.progress
    implementation.last_reported_at = report.submitted_at
    implementation.last_report_cycle_id = report.cycle_id
    # The latest report tells whether an obstacle is still open; a review solution clears it too.
    implementation.has_open_obstacle = report.mentions_obstacle and report.status not in SETTLED_STATUSES
    implementation.version += 1
    implementation.save()


def attach_evidence(report, uploaded_files, author):
    for uploaded in uploaded_files:
        digest = hashlib.sha256()
        for chunk in uploaded.chunks():
            digest.update(chunk)
        uploaded.seek(0)
        Evidence.objects.create(
            report=report, file=uploaded, original_name=uploaded.name[:255],
            content_type=getattr(uploaded, "detected_type", "") or uploaded.content_type or "",
            size=uploaded.size, sha256=digest.hexdigest(), uploaded_by=author,
        )


def ensure_may_report(access, implementation):
    if not access.may_report_on(implementation):
        raise PermissionDenied(_("You may not report on this item."))


@transaction.atomic
def submit_report(implementation, author, access, data, *, expected_version=None, files=(), draft=None):
    """Record a submitted report and update the implementation in one transaction.

    `expected_version` is the implementation version the author saw; if someone reported since,
    StaleVersion is raised and nothing is saved. `draft`, if given, is the draft being submitted.
    """
    ensure_may_report(access, implementation)
    locked = _lock(implementation.pk, expected_version)
    check_transition(locked, data)
    report = _build_report(locked, author, data, ProgressReport.State.SUBMITTED)
    if draft is not None:
        report.pk, report.created_at = draft.pk, draft.created_at
    report.submitted_at = timezone.now()
    report.save()
    attach_evidence(report, files, author)
    _apply_report(locked, report)
    return report


@transaction.atomic
def save_draft(implementation, author, access, data, *, draft=None, files=()):
    """Save (or update) the author's draft. A draft changes nothing else and never counts as a report."""
    ensure_may_report(access, implementation)
    report = _build_report(implementation, author, data, ProgressReport.State.DRAFT)
    if draft is not None:
        if draft.is_submitted or draft.author_id != author.pk:
            raise ValidationError(_("Only your own draft can be changed."))
        report.pk, report.created_at = draft.pk, draft.created_at
    report.save()
    attach_evidence(report, files, author)
    return report


@transaction.atomic
def record_outcome(implementation, recorded_by, access, **fields):
    """Record what the review concluded; a recorded solution clears the open-obstacle reason."""
    if not access.can_manage:
        raise PermissionDenied(_("Only the secretariat records review outcomes."))
    outcome = ReviewOutcome(implementation=implementation, recorded_by=recorded_by, **fields)
    outcome.full_clean(exclude=["implementation", "recorded_by"])
    outcome.save()
    if outcome.records_solution:
        Implementation.objects.filter(pk=implementation.pk).update(
            has_open_obstacle=False, updated_at=timezone.now()
        )
    return outcome


# --- Review cycles -------------------------------------------------------------------------------

CYCLE_MOVES = {
    ReviewCycle.State.PLANNED: {ReviewCycle.State.OPEN},
    ReviewCycle.State.OPEN: {ReviewCycle.State.UNDER_REVIEW},
    ReviewCycle.State.UNDER_REVIEW: {ReviewCycle.State.CLOSED, ReviewCycle.State.OPEN},
    ReviewCycle.State.CLOSED: set(),
}


def check_cycle_move(cycle, target):
    if target not in CYCLE_MOVES[cycle.state]:
        raise ValidationError(
            _("A cycle that is %(current)s cannot become %(target)s.")
            % {"current": cycle.get_state_display(), "target": ReviewCycle.State(target).label}
        )
    if target == ReviewCycle.State.OPEN:
        other = ReviewCycle.objects.filter(body=cycle.body_id, state=ReviewCycle.State.OPEN).exclude(pk=cycle.pk)
        if other.exists():
            raise ValidationError(_("Another cycle of this body is already open: close it first."))


@transaction.atomic
def move_cycle(cycle, target):
    """Move a cycle along planned → open → under review → closed; closing freezes a snapshot."""
    cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    check_cycle_move(cycle, target)
    now = timezone.now()
    cycle.state = target
    if target == ReviewCycle.State.OPEN and cycle.opened_at is None:
        cycle.opened_at = now
    if target == ReviewCycle.State.CLOSED:
        cycle.closed_at = now
        freeze_snapshot(cycle)
    cycle.save()
    return cycle


def _previous_snapshots(cycle):
    previous = (
        ReviewCycle.objects.filter(body=cycle.body_id, state=ReviewCycle.State.CLOSED)
        .exclude(pk=cycle.pk).order_by("-closed_at").first()
    )
    if previous is None:
        return {}
    rows = previous.snapshots.values_list("implementation_id", "status", "progress")
    return {impl_id: (status, progress) for impl_id, status, progress in rows.iterator(chunk_size=5000)}


def freeze_snapshot(cycle, batch_size=5000):
    """Snapshot every current implementation of the cycle's body and update its unchanged-cycles streak."""
    from tracker.models import CycleSnapshot

    before = _previous_snapshots(cycle)
    items = Implementation.objects.current().filter(recommendation__meeting__body_id=cycle.body_id).only(
        "id", "status", "progress", "last_report_cycle_id", "unchanged_cycles"
    )
    snapshots, changed = [], []
    for item in items.iterator(chunk_size=batch_size):
        same = before.get(item.pk, (Status.NOT_STARTED, 0)) == (item.status, item.progress)
        item.unchanged_cycles = item.unchanged_cycles + 1 if same else 0
        changed.append(item)
        snapshots.append(CycleSnapshot(
            cycle=cycle, implementation_id=item.pk, status=item.status, progress=item.progress,
            reported_in_cycle=item.last_report_cycle_id == cycle.pk,
        ))
    CycleSnapshot.objects.bulk_create(snapshots, batch_size=batch_size, ignore_conflicts=True)
    Implementation.objects.bulk_update(changed, ["unchanged_cycles"], batch_size=batch_size)
