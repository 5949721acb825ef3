"""The reminder log: one row per e-mail due to one recipient (written by `policy`, sent by `sending`).

A recipient is a user (focal points, secretariat officers) or, for those who have no account (a partner
organisation, the body's secretariat mailbox), an e-mail address: exactly one of the two is set.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tracker.core.models import Body, Commitment, Language, MemberState, ReviewCycle


class Reminder(models.Model):
    """One e-mail due to one recipient. The unique key makes computing what is due idempotent."""

    class Kind(models.TextChoices):
        BEFORE_DEADLINE = "before_deadline", _("Before the deadline")
        OVERDUE = "overdue", _("Overdue")
        STALLED_DIGEST = "stalled_digest", _("Monthly stalled digest")
        SECRETARIAT_DIGEST = "secretariat_digest", _("Weekly secretariat digest")
        COMMITMENT_DUE = "commitment_due", _("Commitment due soon")
        COMMITMENT_LATE = "commitment_late", _("Commitment late")
        # To a state's national validators, about the reports waiting for their approval.
        VALIDATION_DUE = "validation_due", _("Reports awaiting validation")
        VALIDATION_OVERDUE = "validation_overdue", _("Reports awaiting validation after the deadline")
        # To the secretariat, daily while reminders have failed for good (a retry window spent, or refused).
        DELIVERY_FAILED = "delivery_failed", _("Undelivered reminders")

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("reminder", "Pending")
        SENDING = "sending", pgettext_lazy("reminder", "Sending")
        SENT = "sent", pgettext_lazy("reminder", "Sent")
        FAILED = "failed", pgettext_lazy("reminder", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("reminder", "Cancelled")
        # The server may have delivered it: held for the secretariat to mark sent or resend (see sending.py).
        UNKNOWN = "unknown", pgettext_lazy("reminder", "Outcome unknown")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("recipient"),
    )
    recipient_email = models.EmailField(
        _("recipient's address"),
        blank=True,
        help_text=_("For a recipient without an account: a partner organisation or the secretariat's mailbox."),
    )
    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("body"))
    member_state = models.ForeignKey(
        MemberState,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("member state"),
    )
    cycle = models.ForeignKey(
        ReviewCycle,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("review cycle"),
    )
    commitment = models.ForeignKey(
        Commitment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reminders",
        verbose_name=_("commitment"),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    stage = models.CharField(
        _("stage"), max_length=32, help_text=_("Which reminder of its kind: days before, overdue round, or period.")
    )
    scope = models.CharField(
        _("scope"),
        max_length=32,
        help_text=_(
            "What the reminder is about: the cycle (cycle-12), the commitment (commitment-7) or, for digests, "
            "the period (2026-11)."
        ),
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ARABIC)
    cc = models.JSONField(_("copied to"), default=list, blank=True)
    state = models.CharField(
        pgettext_lazy("reminder", "state"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    retry_until = models.DateTimeField(
        _("retried until"),
        null=True,
        blank=True,
        help_text=_("Set at the first temporary failure: after this the reminder is marked failed."),
    )
    unknown_at = models.DateTimeField(
        _("outcome unknown since"),
        null=True,
        blank=True,
        help_text=_("When the mail server took the message but its answer never came."),
    )
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "tracker_reminder"  # created when reminders were part of the core app; the name stays
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-created_at"]
        constraints = [
            # scope stands in for the cycle (or the digest period) because NULLs are distinct in a key.
            models.UniqueConstraint(
                fields=["recipient", "scope", "kind", "stage"], name="one_reminder_per_recipient_scope_kind_stage"
            ),
            # The same key for recipients known by address only (the key above never matches a NULL recipient).
            models.UniqueConstraint(
                fields=["recipient_email", "scope", "kind", "stage"],
                condition=Q(recipient__isnull=True),
                name="one_reminder_per_address_scope_kind_stage",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=False, recipient_email="")
                | (Q(recipient__isnull=True) & ~Q(recipient_email="")),
                name="reminder_to_a_user_or_an_address",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="reminder_state_due"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.addressee} · {self.stage}"

    @property
    def addressee(self):
        """Who the e-mail goes to, for display: the user, or the address of a recipient without an account."""
        return self.recipient if self.recipient_id else self.recipient_email

    @property
    def address(self):
        return self.recipient.email if self.recipient_id else self.recipient_email
