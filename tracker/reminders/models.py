"""The reminder log: one row per e-mail due to one recipient (written by `policy`, sent by `sending`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tracker.core.models import Body, Language, MemberState, ReviewCycle


class Reminder(models.Model):
    """One e-mail due to one recipient. The unique key makes computing what is due idempotent."""

    class Kind(models.TextChoices):
        BEFORE_DEADLINE = "before_deadline", _("Before the deadline")
        OVERDUE = "overdue", _("Overdue")
        STALLED_DIGEST = "stalled_digest", _("Monthly stalled digest")
        SECRETARIAT_DIGEST = "secretariat_digest", _("Weekly secretariat digest")

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("reminder", "Pending")
        SENDING = "sending", pgettext_lazy("reminder", "Sending")
        SENT = "sent", pgettext_lazy("reminder", "Sent")
        FAILED = "failed", pgettext_lazy("reminder", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("reminder", "Cancelled")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reminders", verbose_name=_("recipient")
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
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    stage = models.CharField(
        _("stage"), max_length=32, help_text=_("Which reminder of its kind: days before, overdue round, or period.")
    )
    scope = models.CharField(
        _("scope"),
        max_length=32,
        help_text=_("What the reminder is about: the cycle (cycle-12) or, for digests, the period (2026-11)."),
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
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="reminder_state_due"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.recipient} · {self.stage}"
