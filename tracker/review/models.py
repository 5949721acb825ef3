"""The review room's own data: meeting packs requested from the web, the API or a command."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tracker.core.models import Language, ReviewCycle


def pack_upload_to(instance, filename):
    """A random name under packs/ in the private media folder: never guessable, never served by URL."""
    return f"packs/{uuid.uuid4().hex}.{instance.format}"


class MeetingPack(models.Model):
    """One build of a cycle's meeting pack, in one language and format: queued, building (with its progress),
    then ready (its file stored) or failed (with the error)."""

    class Format(models.TextChoices):
        DOCX = "docx", _("Word document")
        PDF = "pdf", _("PDF")

    class State(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("meeting pack", "Queued")
        BUILDING = "building", pgettext_lazy("meeting pack", "Being built")
        READY = "ready", pgettext_lazy("meeting pack", "Ready")
        FAILED = "failed", pgettext_lazy("meeting pack", "Failed")

    cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.PROTECT, related_name="meeting_packs", verbose_name=_("review cycle")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    state = models.CharField(
        pgettext_lazy("meeting pack", "state"), max_length=16, choices=State.choices, default=State.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    file = models.FileField(_("file"), upload_to=pack_upload_to, max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("meeting pack")
        verbose_name_plural = _("meeting packs")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["cycle", "language", "format", "state"], name="pack_lookup")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="pack_progress_0_100"),
            models.CheckConstraint(condition=~Q(state="ready") | ~Q(file=""), name="pack_ready_has_file"),
        ]

    def __str__(self):
        return f"{self.cycle} · {self.language} · {self.format} · {self.state}"

    @property
    def is_ready(self):
        return self.state == self.State.READY

    @property
    def in_progress(self):
        return self.state in (self.State.QUEUED, self.State.BUILDING)
