"""National validation: where a state requires it, its focal points' reports wait for one of its national
validators before they reach the secretariat.

- `NationalValidation` (per body and member state, off by default) says whether a state's reports need it.
- `submit_report` (tracker.core.services) sends the report for validation instead of submitting it when the
  state requires validation and the sender is not the secretariat: the state's shared draft (or a partner's
  report through the API) becomes a report "awaiting validation" and `Implementation.awaiting_validation_since`
  is set in the same transaction, so the review view and the reminders read one indexed column.
- A validator approves it (it is submitted then, counts for the cycle open at that moment, and updates the
  item like any report) or returns it with a comment (it is the state's shared draft again, one revision on).
Every face (the focal point pages, the API, the workbook upload) goes through these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.core import events
from tracker.core.models import (
    FocalPointDesignation,
    Implementation,
    NationalValidation,
    ProgressReport,
    ValidationDecision,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tracker.core.permissions import Access

Decision = ValidationDecision.Decision


class NotAwaiting(ValidationError):
    """The report is no longer awaiting validation (another validator decided first). The API answers 409."""


def requires_validation(body_id: int, member_state_id: int) -> bool:
    """Whether the state's reports for the body need national validation (no setting: they do not)."""
    return NationalValidation.objects.filter(body_id=body_id, member_state_id=member_state_id, required=True).exists()


def applies_to(implementation: Implementation, access: Access) -> bool:
    """A report on the item waits for validation: the state requires it and the sender is not the secretariat
    (which reports on a state's behalf, e.g. from a letter the state already validated)."""
    body_id = implementation.recommendation.meeting.body_id
    return not access.can_manage and requires_validation(body_id, implementation.member_state_id)


def ensure_not_awaiting(implementation: Implementation) -> None:
    """Refuse a draft or a report while the state's report on the item waits for its validator."""
    if implementation.awaiting_validation_since is not None:
        raise ValidationError(
            _(
                "A report on this item is awaiting national validation: it can be changed once the validator "
                "approves it or returns it."
            )
        )


def mark_sent(implementation: Implementation, report: ProgressReport, by: User) -> None:
    """Called by submit_report on the locked item: make `report` (unsaved) the one awaiting validation."""
    now = timezone.now()
    report.state = ProgressReport.State.AWAITING_VALIDATION
    report.submitted_at = None
    report.sent_for_validation_at = now
    report.sent_for_validation_by = by
    implementation.awaiting_validation_since = now
    implementation.save(update_fields=["awaiting_validation_since", "updated_at"])


def validators_of(body_id: int, member_state_id: int) -> QuerySet[FocalPointDesignation]:
    """The state's active national validators for the body."""
    return FocalPointDesignation.objects.active().filter(
        body_id=body_id, member_state_id=member_state_id, role=FocalPointDesignation.Role.VALIDATOR
    )


def awaiting_for(access: Access) -> QuerySet[ProgressReport]:
    """The reports waiting for this validator (oldest first): their states and bodies only."""
    from django.db.models import Q

    scope = Q(pk__in=[])
    for body_id, state_id in access.validator_scopes:
        scope |= Q(implementation__recommendation__meeting__body_id=body_id, implementation__member_state_id=state_id)
    return (
        ProgressReport.objects.filter(scope, state=ProgressReport.State.AWAITING_VALIDATION, is_archived=False)
        .select_related(
            "implementation__recommendation__meeting__body",
            "implementation__member_state",
            "sent_for_validation_by",
            "updated_by",
        )
        .order_by("sent_for_validation_at", "pk")
    )


def _locked_awaiting(report: ProgressReport, access: Access) -> tuple[Implementation, ProgressReport]:
    """The report's item (locked) and the report, re-read, if `access` may decide on it."""
    from tracker.core.services import _lock

    item = report.implementation
    if not access.may_validate(item):
        raise PermissionDenied(_("Only a national validator of this state may approve or return its reports."))
    locked = _lock(item.pk, None)
    current = ProgressReport.objects.select_for_update().get(pk=report.pk)
    if current.state != ProgressReport.State.AWAITING_VALIDATION or current.is_archived:
        raise NotAwaiting(_("This report is no longer awaiting validation: someone decided on it already."))
    return locked, current


@transaction.atomic
def approve(report: ProgressReport, by: User, access: Access, comment: str = "") -> ProgressReport:
    """The validator approves: the report reaches the secretariat and counts for the cycle that takes reports
    now; the item's status, progress and stalled columns follow it, exactly as for a report submitted directly."""
    from tracker.core.services import ReportInput, _apply_report, check_transition, report_cycle_for

    locked, current = _locked_awaiting(report, access)
    check_transition(locked, ReportInput(current.status, current.progress))
    current.state = ProgressReport.State.SUBMITTED
    current.submitted_at = timezone.now()
    current.cycle = report_cycle_for(locked)
    current.revision += 1
    current.save()
    _decide(current, by, Decision.APPROVED, comment)
    locked.awaiting_validation_since = None
    _apply_report(locked, current)
    events.report_event(events.EventType.REPORT_VALIDATED, current, locked)
    return current


@transaction.atomic
def return_to_focal_points(report: ProgressReport, by: User, access: Access, comment: str) -> ProgressReport:
    """The validator returns the report with a comment: it is the state's shared draft again (one revision on,
    so a form opened on the awaiting report cannot overwrite it), and the comment goes on the item's timeline."""
    locked, current = _locked_awaiting(report, access)
    _decide(current, by, Decision.RETURNED, comment)
    current.state = ProgressReport.State.DRAFT
    current.revision += 1
    current.save()
    locked.awaiting_validation_since = None
    locked.save(update_fields=["awaiting_validation_since", "updated_at"])
    events.report_event(events.EventType.REPORT_RETURNED, current, locked)
    return current


def _decide(report: ProgressReport, by: User, decision: str, comment: str) -> ValidationDecision:
    made = ValidationDecision(report=report, decided_by=by, decision=decision, comment=comment.strip())
    made.full_clean(exclude=["report", "decided_by"])
    made.save()
    return made
