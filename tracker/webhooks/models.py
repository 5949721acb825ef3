"""Webhooks: partner systems' endpoints, the outbox of events and the log of their deliveries.

- `Endpoint`: a partner system's URL, the event types it chose, the member states it is limited to, and its
  signing secret ("whsec_" + base64, shown once; the previous one stays valid for a day after a rotation).
- `Event`: the outbox. Written by the receiver of `tracker.core.events.domain_event`, in the transaction of the
  change itself, so a rolled-back change leaves no event and a committed one is never lost.
- `Delivery`: one event to one endpoint, retried with back-off until delivered or given up; `DeliveryAttempt`
  logs every try (status, response time, error).
- `CommitmentNotice`: which commitments were announced due or late, so a doubled beat announces each once.
"""

import base64
import secrets
import uuid
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tracker.core.events import EventType
from tracker.core.permissions import Access

#: Random bytes of a signing secret (the Standard Webhooks specification asks for 24 to 64).
SECRET_BYTES = 32
#: How long the secret before a rotation still signs deliveries, so the receiver can switch without a gap.
PREVIOUS_SECRET_VALID = timedelta(hours=24)


def new_secret():
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def check_event_types(value):
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one event."))
    unknown = sorted({str(item) for item in value} - set(EventType.values))
    if unknown:
        raise ValidationError(_("Unknown events: %(events)s.") % {"events": ", ".join(unknown)})


class Endpoint(models.Model):
    partner = models.ForeignKey(
        "api.PartnerSystem",
        on_delete=models.PROTECT,
        related_name="webhook_endpoints",
        verbose_name=_("partner system"),
    )
    url = models.URLField(
        _("URL"),
        max_length=2000,
        help_text=_("Where the events are sent (POST). HTTPS; addresses of private networks are refused."),
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    events = models.JSONField(
        _("events"), default=list, validators=[check_event_types], help_text=_("The event types sent here.")
    )
    member_states = models.ManyToManyField(
        "tracker.MemberState",
        blank=True,
        related_name="+",
        verbose_name=_("member states"),
        help_text=_("Leave empty for every member state the partner system may see."),
    )
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    previous_secret = models.CharField(_("previous signing secret"), max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive endpoint receives nothing; its pending events fail.")
    )
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=255, blank=True)
    # The current run of failed attempts: reset by any delivered event. Long enough, it disables the endpoint.
    failure_streak = models.PositiveIntegerField(_("consecutive failures"), default=0, editable=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["partner", "pk"]
        indexes = [models.Index(fields=["partner"], name="webhook_endpoint_active", condition=Q(is_active=True))]

    def __str__(self):
        return f"{self.partner} · {self.url}"

    def save(self, *args, **kwargs):
        if not self.secret:
            self.secret = new_secret()
        if not self._state.adding:
            self.version += 1  # every saved change moves the ETag
        super().save(*args, **kwargs)

    @property
    def etag(self):
        return f'"{self.version}"'

    def rotate_secret(self):
        """A new secret, returned once. The old one keeps signing (beside the new) for PREVIOUS_SECRET_VALID."""
        self.previous_secret = self.secret
        self.previous_secret_expires_at = timezone.now() + PREVIOUS_SECRET_VALID
        self.secret = new_secret()
        self.save()
        return self.secret

    def signing_secrets(self, now=None):
        """The secrets a delivery is signed with now: the current one, and the previous one for a day."""
        now = now or timezone.now()
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            keys.append(self.previous_secret)
        return keys

    def access(self, state_ids):
        """What the endpoint may hear of, as tracker.core.permissions sees it: the member states it is limited to
        (`state_ids`, empty for all) and the partner's clearance; the same Access a partner token is given."""
        partner = self.partner
        return Access(
            all_states=not state_ids,
            scopes=frozenset((None, state_id) for state_id in state_ids),
            sees_confidential=partner.is_secretariat_level or partner.cleared_for_confidential,
        )

    def enable(self):
        self.is_active, self.disabled_at, self.disabled_reason = True, None, ""
        self.failure_streak, self.failing_since = 0, None
        self.save()


class Event(models.Model):
    """One change to announce: its type and the JSON body every endpoint receives (the outbox)."""

    uid = models.UUIDField(_("message id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("event"), max_length=32, choices=EventType.choices, db_index=True)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    member_state = models.ForeignKey(
        "tracker.MemberState",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member state"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.type} · {self.webhook_id}"

    @property
    def webhook_id(self):
        """The `webhook-id` header: the same on every attempt and replay, so a receiver can skip a duplicate."""
        return f"msg_{self.uid.hex}"


class Delivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
        DELIVERING = "delivering", pgettext_lazy("webhook delivery", "Delivering")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("endpoint")
    )
    state = models.CharField(
        pgettext_lazy("webhook delivery", "state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    # Attempts of the current round (a replay starts a new round); the back-off is read from it.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    replays = models.PositiveSmallIntegerField(_("replays"), default=0)
    # Pending: when the next attempt is due. Delivering: until when the worker that claimed it holds it (its lease).
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # When a task was last queued for it: beat queues again only what waited long past that (tracker.webhooks.delivery).
    enqueued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_response_ms = models.PositiveIntegerField(_("last response time (ms)"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_and_endpoint"),
            models.CheckConstraint(
                condition=~Q(state="delivered") | Q(delivered_at__isnull=False), name="webhook_delivered_has_time"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(state__in=["pending", "delivering"]),
            ),
            models.Index(fields=["endpoint", "state"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} · {self.get_state_display()}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery: what the endpoint answered, and how fast (never changed)."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    replay = models.PositiveSmallIntegerField(_("replay"), default=0)
    started_at = models.DateTimeField(_("started"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    response_excerpt = models.CharField(_("response (start)"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery attempt")
        verbose_name_plural = _("webhook delivery attempts")
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.delivery_id} #{self.number} · {self.status_code or self.error[:40]}"

    @property
    def succeeded(self):
        return self.status_code is not None and 200 <= self.status_code < 300


class CommitmentNotice(models.Model):
    """A commitment announced due or late (for its due date then): claimed once, so a doubled beat sends once."""

    class Stage(models.TextChoices):
        DUE = "due", _("Due soon")
        LATE = "late", _("Late")

    commitment = models.ForeignKey(
        "tracker.Commitment", on_delete=models.PROTECT, related_name="+", verbose_name=_("commitment")
    )
    stage = models.CharField(_("stage"), max_length=8, choices=Stage.choices)
    due_date = models.DateField(_("due by"))
    created_at = models.DateTimeField(_("announced"), auto_now_add=True)

    class Meta:
        verbose_name = _("commitment notice")
        verbose_name_plural = _("commitment notices")
        constraints = [
            models.UniqueConstraint(
                fields=["commitment", "stage", "due_date"], name="one_notice_per_commitment_stage_and_date"
            ),
        ]

    def __str__(self):
        return f"{self.commitment_id} · {self.stage} · {self.due_date}"
