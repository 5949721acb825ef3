"""Domain events: the core says what changed, once, inside the transaction of the operation that changed it.

The core names no listener. A room that wants to hear of changes (tracker.webhooks) connects a receiver to
`domain_event`; it is called synchronously, inside the caller's transaction, so whatever it writes commits or
rolls back with the change itself (a rolled-back report announces nothing).

Each event's `data` says which item it is about (`id`), the item's `version` after the change (the version in
its API row; a cycle's is its revision count), the member state's ISO code and the names of the fields that
`changed`, with a few plain values. Never text and never people: focal points' names and e-mails, report
narratives and outcome texts stay behind the API, where the reader's own rights decide what they see.

Who may hear of an item-level event is decided by `Access.sees_item` (tracker.core.permissions) on the
`implementation` sent with it, the same rule as the API's; cycle events concern every reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from tracker.core.models import Commitment, Implementation, ProgressReport, ReviewCycle, ReviewOutcome


class EventType(models.TextChoices):
    REPORT_SUBMITTED = "report.submitted", _("A progress report was submitted (or sent for national validation)")
    REPORT_VALIDATED = "report.validated", _("A national validator approved a progress report")
    REPORT_RETURNED = "report.returned", _("A national validator returned a progress report to the focal points")
    IMPLEMENTATION_CHANGED = "implementation.changed", _("An implementation changed (status, progress, applies...)")
    CYCLE_MOVED = "cycle.moved", _("A review cycle moved (opened, under review, closing, closed)")
    OUTCOME_RECORDED = "outcome.recorded", _("A review outcome was recorded")
    COMMITMENT_DUE = "commitment.due", _("A commitment is due soon")
    COMMITMENT_LATE = "commitment.late", _("A commitment is late")


#: Sent with `event_type` (an EventType value), `implementation` (the item the event is about, for the visibility
#: check; None for an event every reader may hear of) and `build`, which returns the event's JSON-safe `data`: a
#: receiver calls it only if somebody is to receive the event, so a change nobody listens to costs no query.
#: Receivers run inside the caller's transaction.
domain_event = Signal()

#: The fields of an implementation whose change is announced (those the API shows and a report moves).
WATCHED_FIELDS = ("status", "progress", "applies", "has_open_obstacle", "last_reported_at", "last_report_cycle_id")


def json_value(value: Any) -> Any:
    """JSON-safe: times in UTC ending in Z (as the API writes them), dates as ISO dates."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def listening() -> bool:
    """Whether any receiver is connected at all."""
    return domain_event.has_listeners()


def announce(event_type: str, about: Implementation | None, build: Callable[[], dict[str, Any]]) -> None:
    """Announce a change to the receivers, now, inside the caller's transaction. `about` is the item it concerns
    (None: every reader may hear of it); `build()` gives its data, called only if somebody is to receive it."""
    if not listening():
        return

    def data() -> dict[str, Any]:
        return {key: json_value(value) for key, value in build().items()}

    domain_event.send(sender=EventType, event_type=str(event_type), implementation=about, build=data)


def emit(event_type: str, *, about: Implementation | None = None, **data: Any) -> None:
    """Announce a change whose data is at hand (see `announce`)."""
    announce(event_type, about, lambda: data)


def watched_state(implementation: Implementation) -> dict[str, Any]:
    """The values of the watched fields, to compare before and after a change."""
    return {name: getattr(implementation, name) for name in WATCHED_FIELDS}


def changed_fields(before: dict[str, Any], implementation: Implementation) -> list[str]:
    """The watched fields whose value differs from `before`, under their API names (`last_report_cycle`)."""
    after = watched_state(implementation)
    return [name.removesuffix("_id") for name in WATCHED_FIELDS if before[name] != after[name]]


def _item(implementation: Implementation, version: int | None = None) -> dict[str, Any]:
    """What every item-level event says of its item: the item's version, its member state, its ids."""
    return {
        "version": implementation.version if version is None else version,
        "member_state": implementation.member_state.iso_code,
        "implementation": implementation.pk,
        "recommendation": implementation.recommendation_id,
    }


def implementation_changed(implementation: Implementation, changed: Iterable[str]) -> None:
    """The item's status, progress, applicability or obstacle flag changed (a report, an outcome, a resync)."""
    names = list(changed)
    if not names:
        return
    item = implementation
    announce(
        EventType.IMPLEMENTATION_CHANGED,
        item,
        lambda: {
            "id": item.pk,
            **_item(item),
            "changed": names,
            "status": item.status,
            "progress": item.progress,
            "applies": item.applies,
            "has_open_obstacle": item.has_open_obstacle,
            "last_reported_at": item.last_reported_at,
            "last_report_cycle": item.last_report_cycle_id,
        },
    )


def applies_changed(implementation_ids: Iterable[int]) -> None:
    """Items that became applicable to their state again, or no longer are (their recommendation changed)."""
    ids = list(implementation_ids)
    if not ids or not listening():
        return
    from tracker.core.models import Implementation

    items = Implementation.objects.filter(pk__in=ids).select_related("recommendation__meeting", "member_state")
    for item in items.order_by("pk"):
        implementation_changed(item, ["applies"])


def report_event(event_type: str, report: ProgressReport, implementation: Implementation) -> None:
    """A report was submitted (or sent for validation), approved or returned; `version` is its item's."""
    announce(
        event_type,
        implementation,
        lambda: {
            "id": report.pk,
            **_item(implementation),
            "changed": ["state"],
            "state": report.state,
            "status": report.status,
            "progress": report.progress,
            "cycle": report.cycle_id,
            "revision": report.revision,
            "submitted_at": report.submitted_at,
            "sent_for_validation_at": report.sent_for_validation_at,
        },
    )


def cycle_moved(cycle: ReviewCycle, previous_state: str) -> None:
    """A cycle moved along planned → open → under review → closing → closed (or back to open)."""
    if cycle.state == previous_state:
        return
    announce(
        EventType.CYCLE_MOVED,
        None,
        lambda: {
            "id": cycle.pk,
            # Cycles carry no version field: the number of their saved revisions goes up with every change.
            "version": cycle.history.count(),
            "member_state": None,
            "changed": ["state"],
            "body": cycle.body.code,
            "state": cycle.state,
            "previous_state": previous_state,
            "report_deadline": cycle.report_deadline,
            "opened_at": cycle.opened_at,
            "closed_at": cycle.closed_at,
        },
    )


def outcome_recorded(outcome: ReviewOutcome) -> None:
    """The review recorded an outcome on an item; `version` is the item's."""
    from tracker.core.models import Implementation

    implementation = outcome.implementation

    def data() -> dict[str, Any]:
        # The caller's copy of the item may be older than the row (read before a report landed): read the version.
        version = Implementation.objects.filter(pk=implementation.pk).values_list("version", flat=True).get()
        return {
            "id": outcome.pk,
            **_item(implementation, version),
            "changed": ["created"],
            "cycle": outcome.cycle_id,
            "obstacle_category": outcome.obstacle_category,
            "records_solution": outcome.records_solution,
            "follow_up_due": outcome.follow_up_due,
        }

    announce(EventType.OUTCOME_RECORDED, implementation, data)


def commitment_event(event_type: str, commitment: Commitment, today: date) -> None:
    """An open commitment is due soon (`commitment.due`) or past its due date (`commitment.late`)."""
    late = event_type == EventType.COMMITMENT_LATE
    implementation = commitment.implementation
    announce(
        event_type,
        implementation,
        lambda: {
            "id": commitment.pk,
            **_item(implementation),
            "changed": ["is_late"] if late else ["is_due"],
            "outcome": commitment.outcome_id,
            "owner": commitment.owner,
            "state": commitment.state,
            "due_date": commitment.due_date,
            "days_left": (commitment.due_date - today).days,
            "is_late": late,
        },
    )
