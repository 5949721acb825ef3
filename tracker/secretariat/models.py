"""The secretariat room's own data: exports from the admin's change lists, written on the Celery worker."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def export_upload_to(instance, filename):
    """A random name under exports/ in the private media folder: never guessable, never served by URL."""
    return f"exports/{uuid.uuid4().hex}.{instance.format}"


class AdminExport(models.Model):
    """One export of a change list as the admin showed it (its filters, search and order in `query`, its
    model's admin, resource, columns and format): queued, written (with its progress), then ready (its file
    stored) or failed (with the error). Only the person who asked downloads it, or a superuser."""

    class State(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("admin export", "Queued")
        WRITING = "writing", pgettext_lazy("admin export", "Being written")
        READY = "ready", pgettext_lazy("admin export", "Ready")
        FAILED = "failed", pgettext_lazy("admin export", "Failed")

    app_label = models.CharField(_("application"), max_length=100)
    model_name = models.CharField(_("model"), max_length=100)
    query = models.TextField(_("filters and search"), blank=True)
    resource = models.PositiveSmallIntegerField(_("resource"), default=0)
    fields = models.JSONField(_("columns"), default=list, blank=True)
    format = models.CharField(_("format"), max_length=8)
    language = models.CharField(_("language"), max_length=8)
    state = models.CharField(
        pgettext_lazy("admin export", "state"), max_length=16, choices=State.choices, default=State.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to=export_upload_to, max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("admin export")
        verbose_name_plural = _("admin exports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "created_at"], name="admin_export_state")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="admin_export_progress_0_100"),
            models.CheckConstraint(condition=~Q(state="ready") | ~Q(file=""), name="admin_export_ready_has_file"),
        ]

    def __str__(self):
        return f"{self.app_label}.{self.model_name} · {self.format} · {self.state}"

    @property
    def is_ready(self):
        return self.state == self.State.READY

    @property
    def in_progress(self):
        return self.state in (self.State.QUEUED, self.State.WRITING)
