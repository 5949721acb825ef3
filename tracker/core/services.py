"""Operations that span models. Views, the admin, the API and tasks call these and nothing else, so the
web form, the admin and the API cannot disagree.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.core import events
from tracker.core.history import record_item_history
from tracker.core.models import (
    SETTLED_STATUSES,
    Evidence,
    Implementation,
    ProgressReport,
    ReviewCycle,
    ReviewOutcome,
    Status,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

    from tracker.core.models import Body, FocalPointDesignation, MemberState
    from tracker.core.permissions import Access


class StaleVersion(Exception):
    """The implementation changed after the form was opened; `current` is its state now."""

    def __init__(self, current: Implementation, latest_report: ProgressReport | None) -> None:
        super().__init__("The item changed after the form was opened.")
        self.current = current
        self.latest_report = latest_report


class StaleDraft(Exception):
    """The state's shared draft changed after the form was opened (another focal point saved or submitted it);
    `current` is the draft now, None if it was submitted. Nothing was saved."""

    def __init__(self, current: ProgressReport | None) -> None:
        super().__init__("The draft changed after the form was opened.")
        self.current = current

    @property
    def current_revision(self) -> int:
        """The revision to expect on the next save: the draft's now, 0 for "no draft"."""
        return self.current.revision if self.current is not None else 0


@dataclass
class ReportInput:
    status: str
    progress: int
    narrative: str = ""
    obstacles: str = ""
    support_needed: str = ""


def report_cycle_for(implementation: Implementation) -> ReviewCycle | None:
    """The cycle a report counts for: the body's open cycle, else the one under review (a report sent while
    the secretariat reviews still belongs to that round), else none; never a cycle whose close has begun.

    Inside a transaction on PostgreSQL the chosen cycle row is share-locked until the report commits, so a
    close (which updates that row) waits for reports in flight and its freeze sees them; a report that waited
    for a close re-reads the row and finds the cycle no longer takes reports."""
    body_id = implementation.recommendation.meeting.body_id
    if connection.vendor != "postgresql" or connection.get_autocommit():
        return current_cycle_of(body_id)
    table = connection.ops.quote_name(ReviewCycle._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE body_id = %s AND state IN (%s, %s) FOR SHARE",
            [body_id, ReviewCycle.State.OPEN, ReviewCycle.State.UNDER_REVIEW],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return current_cycle_of(body_id, among=ids)


def check_transition(implementation: Implementation, data: ReportInput) -> None:
    """Refuse status changes that make no sense once work has been reported."""
    reported_before = implementation.last_reported_at is not None
    if reported_before and implementation.status != Status.NOT_STARTED and data.status == Status.NOT_STARTED:
        raise ValidationError({"status": _("An item that has already started cannot go back to not started.")})


#: The version a writer saw: one, any of several (an API If-Match list), or None for "do not check".
ExpectedVersion = int | frozenset[int] | None


def _lock(implementation_id: int, expected_version: ExpectedVersion) -> Implementation:
    locked = Implementation.objects.select_for_update().get(pk=implementation_id)
    accepted = {expected_version} if isinstance(expected_version, int) else expected_version
    if accepted is not None and locked.version not in accepted:
        latest = locked.reports.submitted().select_related("author").first()
        raise StaleVersion(locked, latest)
    return locked


def _shared_draft(implementation: Implementation, expected_revision: int | None) -> ProgressReport | None:
    """The state's working draft of the (locked) item; with `expected_revision` (0: the form was opened without a
    draft), StaleDraft if someone saved or submitted it since: the same check as a report's version."""
    current = ProgressReport.objects.shared_draft_of(implementation)
    if expected_revision is not None and (current.revision if current is not None else 0) != expected_revision:
        raise StaleDraft(current)
    return current


def _build_report(
    implementation: Implementation, author: User, data: ReportInput, state: ProgressReport.State
) -> ProgressReport:
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
        updated_by=author,
        cycle=report_cycle_for(implementation),
        # Set before validation: the constraint "submitted has a timestamp" is checked by full_clean.
        submitted_at=timezone.now() if state == ProgressReport.State.SUBMITTED else None,
    )
    report.full_clean(exclude=["implementation", "author", "cycle", "updated_by"])
    return report


def _apply_report(implementation: Implementation, report: ProgressReport) -> None:
    """Bring the implementation's durable state in line with a submitted report."""
    before = events.watched_state(implementation)
    if (report.status, report.progress) != (implementation.status, implementation.progress):
        # A reported change ends "unchanged over closed cycles" at once, not at the next close.
        implementation.status_changed_at = report.submitted_at or timezone.now()
    implementation.status = report.status
    implementation.progress = report.progress
    implementation.last_reported_at = report.submitted_at
    implementation.last_report_cycle_id = report.cycle_id
    # The latest report tells whether an obstacle is still open; a review solution clears it too.
    implementation.has_open_obstacle = report.mentions_obstacle and report.status not in SETTLED_STATUSES
    implementation.version += 1
    implementation.save()
    events.implementation_changed(implementation, events.changed_fields(before, implementation))


def attach_evidence(report: ProgressReport, uploaded_files: Iterable[UploadedFile], author: User) -> None:
    """Store evidence files on a saved report. Every path stores them here, so every path obeys the rules of
    `tracker.core.evidence` (type by content, no macros, no inflating archive, size, quotas): all the files are
    checked before any is written, and the ValidationError names the `evidence` field."""
    from tracker.core.evidence import check_upload

    files = list(uploaded_files)
    if not files:
        return
    with transaction.atomic():
        kinds = check_upload(report, files)
        for uploaded, kind in zip(files, kinds, strict=True):
            digest = hashlib.sha256()
            for chunk in uploaded.chunks():
                digest.update(chunk)
            uploaded.seek(0)
            # The stubs allow a file without a name or size; an uploaded file always has both. The stored name
            # takes the extension of the detected type (`content_type`, set before the file is written).
            original = "".join(c for c in cast(str, uploaded.name) if c.isprintable())[:255] or "evidence"
            Evidence.objects.create(
                report=report,
                file=uploaded,
                original_name=original,
                content_type=kind.mime,
                size=cast(int, uploaded.size),
                sha256=digest.hexdigest(),
                uploaded_by=author,
            )


def ensure_may_report(access: Access, implementation: Implementation) -> None:
    if not access.may_report_on(implementation):
        raise PermissionDenied(_("You may not report on this item."))


@transaction.atomic
def submit_report(
    implementation: Implementation,
    author: User,
    access: Access,
    data: ReportInput,
    *,
    expected_version: ExpectedVersion = None,
    files: Iterable[UploadedFile] = (),
    expected_draft_revision: int | None = None,
) -> ProgressReport:
    """Record a submitted report and update the implementation in one transaction.

    `expected_version` is the implementation version the author saw (or the versions, any of which will do); if
    someone reported since, StaleVersion is raised and nothing is saved. With `expected_draft_revision` (the focal
    point form: the revision of the state's shared draft when the form was opened, 0 for none) the shared draft
    becomes this report, its files with it; StaleDraft if the draft changed since. Without it (the API) drafts are
    untouched.

    Where the state requires national validation (tracker.core.validation) and the sender is not the secretariat,
    the report is returned "awaiting validation" instead: the item changes only when a validator approves it.
    """
    from tracker.core import validation

    ensure_may_report(access, implementation)
    locked = _lock(implementation.pk, expected_version)
    validation.ensure_not_awaiting(locked)
    draft = _shared_draft(locked, expected_draft_revision) if expected_draft_revision is not None else None
    check_transition(locked, data)
    to_validate = validation.applies_to(implementation, access)
    if to_validate and draft is None:
        _refuse_beside_a_draft(locked)
    report = _build_report(locked, author, data, ProgressReport.State.SUBMITTED)
    if draft is not None:
        report.pk, report.created_at, report.revision = draft.pk, draft.created_at, draft.revision + 1
    if to_validate:
        validation.mark_sent(locked, report, author)
    report.save()
    attach_evidence(report, files, author)
    if not to_validate:
        _apply_report(locked, report)
    events.report_event(events.EventType.REPORT_SUBMITTED, report, locked)
    return report


def _refuse_beside_a_draft(implementation: Implementation) -> None:
    """A report that waits for validation takes the item's one working place: refuse it, losing nothing, while
    the state's focal points have a draft of the item (through the API, which does not touch drafts)."""
    if ProgressReport.objects.working_drafts().filter(implementation=implementation).exists():
        raise ValidationError(
            _(
                "The state's focal points have a draft of this item: a report that needs national validation can "
                "be sent once they submit or discard it."
            )
        )


@transaction.atomic
def save_draft(
    implementation: Implementation,
    author: User,
    access: Access,
    data: ReportInput,
    *,
    expected_revision: int | None = None,
    files: Iterable[UploadedFile] = (),
) -> ProgressReport:
    """Save the state's shared draft of the item (one per item; any of the state's focal points, primary or
    alternate, or the secretariat): start it, or update it keeping who started it and recording who changed it.

    `expected_revision` is the draft revision the form was opened on (0: no draft then); if someone saved or
    submitted the draft since, StaleDraft is raised and nothing is saved. None (scripts, tests) skips the check.
    A draft changes nothing else and never counts as a report."""
    from tracker.core.validation import ensure_not_awaiting

    ensure_may_report(access, implementation)
    locked = _lock(implementation.pk, None)  # one save of the item's draft at a time
    ensure_not_awaiting(locked)
    current = _shared_draft(locked, expected_revision)
    report = _build_report(locked, author, data, ProgressReport.State.DRAFT)
    if current is not None:
        report.pk, report.created_at, report.author_id = current.pk, current.created_at, current.author_id
        report.revision = current.revision + 1
    report.save()
    attach_evidence(report, files, author)
    return report


@transaction.atomic
def record_outcome(implementation: Implementation, recorded_by: User, access: Access, **fields: Any) -> ReviewOutcome:
    """Record what the review concluded; a recorded solution clears the open-obstacle reason."""
    if not access.can_manage:
        raise PermissionDenied(_("Only the secretariat records review outcomes."))
    if "cycle" not in fields and "cycle_id" not in fields:
        fields["cycle"] = current_cycle_of(implementation.recommendation.meeting.body_id)
    outcome = ReviewOutcome(implementation=implementation, recorded_by=recorded_by, **fields)
    outcome.full_clean(exclude=["implementation", "recorded_by"])
    outcome.save()
    apply_outcome(outcome)
    events.outcome_recorded(outcome)
    return outcome


def outcome_saved(outcome: ReviewOutcome, created: bool) -> None:
    """An outcome saved outside `record_outcome` (the admin): the same effects on the item, the same event."""
    apply_outcome(outcome)
    if created:
        events.outcome_recorded(outcome)


def implementation_edited(implementation: Implementation, fields: Iterable[str]) -> None:
    """The secretariat edited an item directly (the admin): announce the watched fields it changed."""
    changed = [name.removesuffix("_id") for name in events.WATCHED_FIELDS if name.removesuffix("_id") in fields]
    events.implementation_changed(implementation, changed)


def apply_outcome(outcome: ReviewOutcome) -> None:
    """A recorded solution clears the implementation's open-obstacle reason (and says so in its history)."""
    if outcome.records_solution:
        item = Implementation.objects.filter(pk=outcome.implementation_id)
        if item.filter(has_open_obstacle=True).update(has_open_obstacle=False, updated_at=timezone.now()):
            record_item_history(item, f"Review outcome {outcome.pk}: solution recorded", outcome.recorded_by_id)
            if events.listening():
                changed = item.select_related("recommendation__meeting", "member_state").get()
                events.implementation_changed(changed, ["has_open_obstacle"])


def current_cycle_of(body_id: int, among: list[int] | None = None) -> ReviewCycle | None:
    """The cycle a review is about: the open one, else the one under review, else None."""
    cycles = ReviewCycle.objects.filter(
        body_id=body_id, state__in=[ReviewCycle.State.OPEN, ReviewCycle.State.UNDER_REVIEW]
    )
    if among is not None:
        cycles = cycles.filter(pk__in=among)
    return min(cycles, key=lambda c: c.state != ReviewCycle.State.OPEN, default=None)


# --- Review cycles -------------------------------------------------------------------------------

CYCLE_MOVES: dict[str, set[str]] = {
    ReviewCycle.State.PLANNED: {ReviewCycle.State.OPEN},
    ReviewCycle.State.OPEN: {ReviewCycle.State.UNDER_REVIEW},
    ReviewCycle.State.UNDER_REVIEW: {ReviewCycle.State.CLOSED, ReviewCycle.State.OPEN},
    ReviewCycle.State.CLOSING: set(),
    ReviewCycle.State.CLOSED: set(),
}


def check_cycle_move(cycle: ReviewCycle, target: str) -> None:
    """Refuse a move that the cycle's life (planned → open → under review → closed) does not allow."""
    if target not in ReviewCycle.State.values:
        raise ValidationError(_("Unknown cycle state: %(target)s.") % {"target": target})
    allowed = CYCLE_MOVES[cycle.state]
    if target not in allowed:
        if allowed:
            hint = _("From %(current)s it can only become: %(allowed)s.") % {
                "current": cycle.get_state_display(),
                "allowed": ", ".join(str(ReviewCycle.State(s).label) for s in sorted(allowed)),
            }
        elif cycle.state == ReviewCycle.State.CLOSING:
            hint = _("Its close is under way.")
        else:
            hint = _("A closed cycle stays closed.")
        raise ValidationError(
            _("A cycle that is %(current)s cannot become %(target)s.")
            % {"current": cycle.get_state_display(), "target": ReviewCycle.State(target).label}
            + " "
            + hint
        )
    if target == ReviewCycle.State.OPEN:
        other = ReviewCycle.objects.filter(body=cycle.body_id, state=ReviewCycle.State.OPEN).exclude(pk=cycle.pk)
        if other.exists():
            raise ValidationError(_("Another cycle of this body is already open: close it first."))


@transaction.atomic
def move_cycle(cycle: ReviewCycle, target: str, by: User | None = None, *, enqueue: bool = True) -> ReviewCycle:
    """Move a cycle along planned → open → under review → closed.

    Closing never runs inside the request: the cycle becomes "closing" at once and a Celery task freezes its
    record (`finish_close`), seconds later even at a million items. From that moment reports no longer count
    for it (`report_cycle_for`); the freeze reads every report committed before, because a report holds a
    share lock on its cycle row until it commits and this move waits for it."""
    cycle = ReviewCycle.objects.select_for_update().get(pk=cycle.pk)
    check_cycle_move(cycle, target)
    previous_state = cycle.state
    now = timezone.now()
    if target == ReviewCycle.State.OPEN and cycle.opened_at is None:
        cycle.opened_at = now
    if target == ReviewCycle.State.CLOSED:
        target = ReviewCycle.State.CLOSING
        cycle.closing_started_at, cycle.closed_by = now, by
        if enqueue:  # not when the caller freezes it at once (close_cycle_now)
            transaction.on_commit(lambda: enqueue_close(cycle.pk))
    cycle.state = target
    cycle.save()
    events.cycle_moved(cycle, previous_state)
    return cycle


def closing_summary(cycle: ReviewCycle) -> dict[str, int]:
    """What closing the cycle freezes: its body's followed-up items, and how many reported in the cycle."""
    items = Implementation.objects.current().filter(recommendation__meeting__body_id=cycle.body_id)
    counts = items.aggregate(items=Count("pk"), reported=Count("pk", filter=Q(last_report_cycle=cycle.pk)))
    return {**counts, "missing": counts["items"] - counts["reported"]}


def previous_closed_cycle(cycle: ReviewCycle) -> ReviewCycle | None:
    """The body's cycle closed last before this one (or None)."""
    closed = ReviewCycle.objects.filter(body=cycle.body_id, state=ReviewCycle.State.CLOSED).exclude(pk=cycle.pk)
    if cycle.closed_at is not None:
        closed = closed.filter(closed_at__lte=cycle.closed_at)
    return closed.order_by("-closed_at", "-pk").first()


def finish_close(cycle_id: int) -> ReviewCycle | None:
    """Freeze a closing cycle and mark it closed, in one transaction; what Celery runs after `move_cycle`.

    Idempotent and safe to run twice at once: the cycle row is claimed with SKIP LOCKED, and a cycle that is
    no longer closing is left alone. Returns the closed cycle, or None if there was nothing to do."""
    from tracker.core.record import freeze_record

    with transaction.atomic():
        cycle = (
            ReviewCycle.objects.select_for_update(skip_locked=True)
            .filter(pk=cycle_id, state=ReviewCycle.State.CLOSING)
            .first()
        )
        if cycle is None:
            return None
        now = timezone.now()
        cycle.record = freeze_record(cycle, now)
        cycle.state, cycle.closed_at = ReviewCycle.State.CLOSED, now
        cycle.save()
        events.cycle_moved(cycle, ReviewCycle.State.CLOSING)
    return cycle


def close_cycle_now(cycle: ReviewCycle, by: User | None = None) -> ReviewCycle:
    """Close a cycle under review in this process (the demo, data loading, tests); the web, the admin and the
    API go through `move_cycle`, which leaves the freeze to a Celery task."""
    move_cycle(cycle, ReviewCycle.State.CLOSED, by=by, enqueue=False)
    closed = finish_close(cycle.pk)
    return closed or ReviewCycle.objects.get(pk=cycle.pk)


def enqueue_close(cycle_id: int) -> None:
    """Hand the freeze to a worker. If the broker is down the cycle stays closing and beat's
    `resume_stuck_closes` enqueues it again: the move that the user made is never lost or answered with 500."""
    from tracker.core.tasks import close_cycle

    try:
        close_cycle.delay(cycle_id)
    except Exception:  # any broker failure: kombu raises several kinds
        log.warning("Could not enqueue the close of cycle %s; beat will retry", cycle_id, exc_info=True)


def resume_stuck_closes(older_than_minutes: int = 10) -> list[int]:
    """Enqueue again the closes whose task was lost (a worker killed mid-freeze rolls back, leaving the cycle
    closing): beat calls this every few minutes; `finish_close` makes a duplicate harmless."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    stuck = ReviewCycle.objects.filter(state=ReviewCycle.State.CLOSING, closing_started_at__lt=cutoff)
    ids = list(stuck.values_list("pk", flat=True))
    for cycle_id in ids:
        enqueue_close(cycle_id)
    return ids


# --- Focal point designations --------------------------------------------------------------------


@dataclass
class NewFocalPoint:
    email: str
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language: str = "ar"
    phone: str = ""


def focal_point_account(person: NewFocalPoint) -> User:
    """The existing account with this e-mail, or a new one without a usable password (the welcome e-mail
    lets its owner set one). A staff or superuser account is never made a focal point: its powers would
    come with the designation's reach, and a focal point's e-mail would reach an administrator's account."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tracker.core.permissions import FOCAL_POINT_GROUP

    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=person.email).order_by("pk").first()
    if user is not None and (user.is_staff or user.is_superuser):
        raise ValidationError(
            {"email": _("This e-mail belongs to a staff account: a focal point needs an account of their own.")}
        )
    if user is None:
        username = person.username or person.email.split("@")[0]
        if user_model.objects.filter(username=username).exists():
            raise ValidationError({"username": _("This username is taken: choose another one.")})
        user = user_model(
            username=username, email=person.email, first_name=person.first_name, last_name=person.last_name
        )
        user.set_unusable_password()
        user.save()
    user.groups.add(Group.objects.get_or_create(name=FOCAL_POINT_GROUP)[0])
    return user


@transaction.atomic
def designate_focal_point(
    member_state: MemberState,
    body: Body,
    role: str,
    person: NewFocalPoint,
    *,
    start_date: date | None = None,
    replacing: FocalPointDesignation | None = None,
) -> FocalPointDesignation:
    """Designate a focal point; with `replacing`, hand over: the old designation ends today, history is kept.

    The new focal point receives an e-mail with a link to set a password (sent after commit).
    """
    from tracker.core.models import FocalPointDesignation

    today = timezone.localdate()
    if replacing is not None:
        ending = FocalPointDesignation.objects.select_for_update().get(pk=replacing.pk)
        if ending.end_date is None:
            ending.end_date = today
            ending.save(update_fields=["end_date"])  # through save(), so the handover enters the history
    user = focal_point_account(person)
    designation = FocalPointDesignation(
        user=user,
        member_state=member_state,
        body=body,
        role=role,
        start_date=start_date or today,
        preferred_language=person.language,
        phone=person.phone,
    )
    designation.full_clean(validate_constraints=True)
    designation.save()
    transaction.on_commit(lambda: send_welcome(designation.pk))
    return designation


def send_welcome(designation_id: int) -> None:
    """E-mail a new focal point or validator a link to set their password and what their state has in progress
    (tracker.core.handover), in their language."""
    from django.conf import settings
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django.utils.translation import override

    from tracker.core import handover
    from tracker.core.models import FocalPointDesignation

    designation = FocalPointDesignation.objects.select_related("user", "member_state", "body").get(pk=designation_id)
    user = designation.user
    path = reverse(
        "password_reset_confirm",
        args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)],
    )
    with override(designation.preferred_language):
        context = {"designation": designation, "user": user, "link": settings.SITE_URL + path}
        context |= handover.welcome_context(designation)
        subject = handover.welcome_subject(designation)
        body = render_to_string("emails/welcome_focal_point.txt", context)
    send_mail(str(subject), body, None, [user.email])
