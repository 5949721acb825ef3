"""Clarifications: a private thread between the secretariat and one state about an item or one of its reports.

- Who asks: the secretariat (`Access.can_manage`), and reviewers where the body allows it (`Body.reviewers_may_ask`).
- Who takes part: those who may ask, and the item's state's active focal points and national validators for the
  item's body (their designations' scopes, `Access.scopes`; a partner token's body-less scopes never count).
  Nobody else sees a thread: not other states, not reviewers where the body does not let them ask, not partners.
- A reply from the state answers the thread; a new message from the secretariat side on an answered thread opens
  it again.
- Each message is e-mailed to the other side once, after commit, by a task (`tracker.core.tasks`) that claims the
  message (`notified_at`) before sending, each recipient in their own language: the state's active designations in
  their preferred language; the asker in their profile's language and the body's secretariat mailbox in the
  language the reminders give it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from tracker.core.models import (
    Clarification,
    ClarificationMessage,
    FocalPointDesignation,
    Implementation,
    Language,
    ProgressReport,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tracker.core.models import Body, MemberState
    from tracker.core.permissions import Access

log = logging.getLogger(__name__)

OPEN, ANSWERED = Clarification.State.OPEN, Clarification.State.ANSWERED
ITEM = "implementation__"
BODY = "implementation__recommendation__meeting__body"
#: What every list of threads shows: the item, its state and body, who asked, the report asked about.
THREAD_RELATED = (
    "implementation__recommendation__meeting__body",
    "implementation__member_state",
    "asked_by",
    "report",
)
#: Without a language of its own, the secretariat reads English (as the reminders do: tracker.reminders.policy).
SECRETARIAT_LANGUAGE = Language.ENGLISH


# --- Who may do what ------------------------------------------------------------------------------------------


def asks_for_body(access: Access, body: Body) -> bool:
    """The secretariat's side of a body's threads: the secretariat, and reviewers where the body lets them ask."""
    return access.can_manage or (access.is_reviewer and body.reviewers_may_ask)


def may_ask(access: Access, item: Implementation) -> bool:
    """Needs `recommendation__meeting__body` loaded (select_related) to ask no query."""
    return access.sees_item(item) and asks_for_body(access, item.recommendation.meeting.body)


def speaks_for_state(access: Access, item: Implementation) -> bool:
    """An active focal point (primary, alternate) or national validator of the item's state for its body."""
    key = (item.recommendation.meeting.body_id, item.member_state_id)
    return key in access.scopes and access.sees_item(item)


def takes_part(access: Access, item: Implementation) -> bool:
    return may_ask(access, item) or speaks_for_state(access, item)


# --- What each participant sees -------------------------------------------------------------------------------


def participant_scope(access: Access) -> Q:
    """The threads an access takes part in, as a condition on Clarification."""
    confidential = Q() if access.sees_confidential else Q(**{f"{ITEM}recommendation__is_public": True})
    if access.all_states and access.can_manage:
        return confidential
    if access.all_states and access.is_reviewer:
        return confidential & Q(**{f"{BODY}__reviewers_may_ask": True})
    within = Q(pk__in=[])  # no designation: nothing
    for body_id, state_id in sorted((b, s) for b, s in access.scopes if b is not None):
        within |= Q(**{f"{BODY}_id": body_id, f"{ITEM}member_state_id": state_id})
    return confidential & within


def visible_to(access: Access) -> QuerySet[Clarification]:
    """The threads the access takes part in, with what a list of them shows."""
    return Clarification.objects.filter(participant_scope(access)).select_related(*THREAD_RELATED)


def with_messages(threads: QuerySet[Clarification]) -> QuerySet[Clarification]:
    """The threads with their messages (oldest first) and the messages' authors: two queries in all."""
    messages = ClarificationMessage.objects.select_related("author").order_by("created_at", "pk")
    return threads.prefetch_related(Prefetch("messages", queryset=messages))


def _open_current(threads: QuerySet[Clarification]) -> QuerySet[Clarification]:
    """Open threads of items still followed up (an archived item's page is gone: its thread is not listed)."""
    current = {f"{ITEM}applies": True, f"{ITEM}recommendation__is_archived": False}
    return threads.filter(state=OPEN, **current).order_by("created_at", "pk")


def open_for_home(access: Access, state_ids: list[int]) -> QuerySet[Clarification]:
    """The open threads of the states shown on a "my state" page, oldest first: one query."""
    return _open_current(visible_to(access).filter(**{f"{ITEM}member_state_id__in": state_ids}))


def open_for_review(access: Access, body: Body, state: MemberState | None = None) -> QuerySet[Clarification]:
    """The body's open threads for the review view (of one state when the view is filtered), oldest first."""
    threads = visible_to(access).filter(**{f"{BODY}_id": body.pk})
    if state is not None:
        threads = threads.filter(**{f"{ITEM}member_state_id": state.pk})
    return _open_current(threads)


def open_for_state(body_id: int, member_state_id: int) -> QuerySet[Clarification]:
    """A state's open threads for a body, oldest first, whoever asks (the handover summary lists them)."""
    threads = Clarification.objects.filter(**{f"{BODY}_id": body_id, f"{ITEM}member_state_id": member_state_id})
    return _open_current(threads.select_related(*THREAD_RELATED))


@dataclass
class ItemThreads:
    """The threads of an item for its timeline (newest first, with their messages), and whether one may ask."""

    threads: list[Clarification]
    may_ask: bool


def for_item(item: Implementation, access: Access) -> ItemThreads:
    """Needs `recommendation__meeting__body` loaded. No query for someone who takes no part; two otherwise."""
    if not takes_part(access, item):
        return ItemThreads(threads=[], may_ask=False)
    threads = with_messages(visible_to(access).filter(implementation=item).order_by("-created_at", "-pk"))
    return ItemThreads(threads=list(threads), may_ask=may_ask(access, item))


def askable_reports(item: Implementation) -> QuerySet[ProgressReport]:
    """The reports a clarification may be about: the item's submitted ones, newest first."""
    return item.reports.submitted().filter(is_archived=False).order_by("-submitted_at", "-pk")


# --- Asking and replying --------------------------------------------------------------------------------------


@transaction.atomic
def ask(
    item: Implementation, by: User, access: Access, text: str, report: ProgressReport | None = None
) -> Clarification:
    """Open a thread on the item (or one of its submitted reports) with a first message to the state."""
    if not may_ask(access, item):
        raise PermissionDenied(_("You may not ask this state for a clarification."))
    if report is not None and not askable_reports(item).filter(pk=report.pk).exists():
        raise ValidationError({"report": _("Choose a submitted report of this item.")})
    clarification = Clarification.objects.create(implementation=item, report=report, asked_by=by)
    _post(clarification, by, text, from_state=False)
    return clarification


@transaction.atomic
def reply(clarification: Clarification, by: User, access: Access, text: str) -> ClarificationMessage:
    """A message on the thread: from the state it answers the thread, from the secretariat side it reopens an
    answered one. The thread's row is locked, so two replies at once cannot leave it in the wrong state."""
    item = clarification.implementation
    from_state = speaks_for_state(access, item)
    if not from_state and not may_ask(access, item):
        raise PermissionDenied(_("You do not take part in this clarification."))
    locked = Clarification.objects.select_for_update().get(pk=clarification.pk)
    message = _post(locked, by, text, from_state=from_state)
    if from_state and locked.state == OPEN:
        locked.state, locked.answered_at = ANSWERED, message.created_at
    elif not from_state and locked.state == ANSWERED:
        locked.state, locked.answered_at = OPEN, None
    locked.save(update_fields=["state", "answered_at"])
    clarification.state, clarification.answered_at = locked.state, locked.answered_at
    return message


def writing_language() -> str:
    """The writer's interface language: what the message is written in, most likely."""
    return Language.ARABIC if (get_language() or "").startswith("ar") else Language.ENGLISH


def _post(clarification: Clarification, by: User, text: str, *, from_state: bool) -> ClarificationMessage:
    message = ClarificationMessage(
        clarification=clarification, author=by, from_state=from_state, text=text.strip(), language=writing_language()
    )
    if not message.text:
        raise ValidationError({"text": _("Write a message before sending it.")})
    message.full_clean(exclude=["clarification", "author"])
    message.save()
    transaction.on_commit(lambda: enqueue_notification(message.pk))
    return message


# --- E-mails to the other side --------------------------------------------------------------------------------


def enqueue_notification(message_id: int) -> None:
    """Hand the e-mails to a worker. A broker outage is logged, never raised at the user who wrote the message:
    `resend_unnotified` (beat) queues again what was not e-mailed."""
    from tracker.core.tasks import notify_clarification

    try:
        notify_clarification.delay(message_id)
    except Exception:  # any broker failure: kombu raises several kinds
        log.warning("Could not enqueue the e-mails of clarification message %s", message_id, exc_info=True)


def resend_unnotified(older_than_minutes: int = 10) -> list[int]:
    """Queue again the messages whose e-mails were never handed to the mail server (a lost task, a broker outage,
    a mail server that refused the first e-mail). The claim makes a duplicate harmless."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = list(
        ClarificationMessage.objects.filter(notified_at__isnull=True, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for message_id in ids:
        enqueue_notification(message_id)
    return ids


def claim(message_id: int) -> bool:
    """Compare-and-set: only the first of a retried or doubled task gets the message; the others send nothing."""
    unclaimed = ClarificationMessage.objects.filter(pk=message_id, notified_at__isnull=True)
    return bool(unclaimed.update(notified_at=timezone.now()))


def release(message_id: int) -> None:
    """Give the claim back when not one e-mail left, so a retry sends them."""
    ClarificationMessage.objects.filter(pk=message_id).update(notified_at=None)


def recipients_of(message: ClarificationMessage) -> list[tuple[str, str]]:
    """(address, language) of the other side, each address once: the state's active designations for the body
    (primary, alternate, validator) in their preferred language; or the asker in their own language and the body's
    secretariat mailbox. Needs the message loaded as `load_message` does."""
    clarification = message.clarification
    item = clarification.implementation
    body = item.recommendation.meeting.body
    if message.from_state:
        pairs = _secretariat_side(clarification, body)
    else:
        pairs = _state_side(body.pk, item.member_state_id)
    seen = {message.author.email.lower()} - {""}
    unique = []
    for address, language in pairs:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            unique.append((address, language))
    return unique


def _state_side(body_id: int, member_state_id: int) -> list[tuple[str, str]]:
    designations = (
        FocalPointDesignation.objects.active()
        .filter(body_id=body_id, member_state_id=member_state_id, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("role", "pk")
    )
    return [(d.user.email, d.preferred_language) for d in designations]


def _secretariat_side(clarification: Clarification, body: Body) -> list[tuple[str, str]]:
    pairs = []
    asker = clarification.asked_by
    if asker.is_active and asker.email:
        pairs.append((asker.email, user_language(asker)))
    if body.secretariat_email:
        pairs.append((body.secretariat_email, mailbox_language()))
    return pairs


def user_language(user: User) -> str:
    """A user's own language (their profile), else the secretariat's default."""
    profile = getattr(user, "tracker_profile", None)  # no profile: the related lookup raises an AttributeError
    return (profile.language if profile else "") or SECRETARIAT_LANGUAGE


def mailbox_language() -> str:
    """The body's mailbox has no profile: it reads what the reminders send it in (tracker.reminders.policy's
    `mailbox_language`): the language of the first secretariat officer with an address, else English."""
    from django.contrib.auth import get_user_model

    from tracker.core.permissions import SECRETARIAT_GROUP

    officers = get_user_model().objects.filter(groups__name=SECRETARIAT_GROUP, is_active=True).exclude(email="")
    first = officers.select_related("tracker_profile").order_by("pk").first()
    return user_language(first) if first else SECRETARIAT_LANGUAGE


def load_message(message_id: int) -> ClarificationMessage:
    return ClarificationMessage.objects.select_related(
        "author",
        "clarification__asked_by__tracker_profile",
        "clarification__report",
        "clarification__implementation__recommendation__meeting__body",
        "clarification__implementation__member_state",
    ).get(pk=message_id)


def send_notification(message_id: int) -> int:
    """E-mail a message to the other side, once: the number of e-mails sent (0 when another run claimed it).

    If the mail server refuses the first e-mail nothing left: the claim is given back and the error raised, so
    the task retries. Once one e-mail left, the rest are not retried (a retry would send the first one twice): the
    error is logged, and the message is on the site for everyone in the thread all the same."""
    if not claim(message_id):
        return 0
    message = load_message(message_id)
    first = is_first(message)
    emails = [compose(message, address, language, first) for address, language in recipients_of(message)]
    sent = 0
    try:
        with get_connection() as connection:
            for email in emails:
                email.connection = connection
                sent += email.send()
    except Exception:
        if sent == 0:
            release(message_id)
            raise
        log.exception("Clarification message %s: %s of %s e-mails sent, the rest not", message_id, sent, len(emails))
    return sent


def is_first(message: ClarificationMessage) -> bool:
    """The question that opened the thread (its e-mail says so)."""
    return not message.clarification.messages.filter(pk__lt=message.pk).exists()


def compose(message: ClarificationMessage, address: str, language: str, first: bool) -> EmailMessage:
    """The e-mail to one recipient, in their language; the message is quoted as written, with the thread's link."""
    clarification = message.clarification
    with override(language):
        context = {
            "message": message,
            "clarification": clarification,
            "item": clarification.implementation,
            "first": first,
            "link": settings.SITE_URL + reverse("clarification", args=[clarification.pk]),
            "written_in": Language(message.language).label,
        }
        subject = render_to_string("emails/clarification_message_subject.txt", context)
        body = render_to_string("emails/clarification_message.txt", context)
    return EmailMessage(" ".join(subject.split()), body, None, [address])
