"""Partner systems and their scoped API tokens.

A partner system (a UNHCR or other organisation's information system) acts through a service account:
one Django user per partner, never a person. Each of its tokens is a django-rest-knox token (only a
hash is stored) plus the scope it grants: read or read-write, and optionally a set of member states.
Imported from tracker.core.models, so these models belong to the tracker app and its migrations.
"""

from django.conf import settings
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PartnerSystem(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255)
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="partner_system",
        verbose_name=_("service account"),
    )
    is_secretariat_level = models.BooleanField(
        _("secretariat level"),
        default=False,
        help_text=_(
            "May see focal point contact data and, with a read-write token, create and update "
            "recommendations and review cycles."
        ),
    )
    cleared_for_confidential = models.BooleanField(
        _("cleared for confidential recommendations"),
        default=False,
        help_text=_(
            "Sees recommendations that are not public (within its tokens' member states). Secretariat-level "
            "partners act for the secretariat and are always cleared."
        ),
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive partner's tokens stop working.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "tracker_partnersystem"
        verbose_name = _("partner system")
        verbose_name_plural = _("partner systems")
        ordering = ["code"]

    def __str__(self):
        return self.name


class ApiToken(models.Model):
    """The scope of one knox token. Revoking deletes the knox token and keeps this row for the record."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    partner = models.ForeignKey(
        PartnerSystem, on_delete=models.PROTECT, related_name="tokens", verbose_name=_("partner system")
    )
    auth_token = models.OneToOneField(
        "knox.AuthToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scope",
        verbose_name=_("token"),
    )
    token_key = models.CharField(_("token prefix"), max_length=32, editable=False)
    label = models.CharField(_("label"), max_length=100, blank=True)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices, default=Scope.READ)
    states = models.ManyToManyField(
        "tracker.MemberState",
        blank=True,
        related_name="+",
        verbose_name=_("member states"),
        help_text=_("Leave empty for every member state."),
    )
    # A copy of `states` (their ids), kept by a signal, so authenticating a request is one query.
    state_ids = models.JSONField(default=list, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "tracker_apitoken"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.partner} · {self.token_key}… · {self.get_scope_display()}"

    @property
    def is_usable(self):
        return (
            self.auth_token_id is not None
            and self.revoked_at is None
            and (self.expires_at is None or self.expires_at > timezone.now())
        )

    def revoke(self):
        from knox.models import AuthToken

        if self.auth_token_id:
            AuthToken.objects.filter(pk=self.auth_token_id).delete()
        self.revoked_at = self.revoked_at or timezone.now()
        self.auth_token = None
        self.save(update_fields=["auth_token", "revoked_at"])


@receiver(m2m_changed, sender=ApiToken.states.through)
def copy_token_states(sender, instance, action, **kwargs):
    if action in {"post_add", "post_remove", "post_clear"} and isinstance(instance, ApiToken):
        instance.state_ids = sorted(instance.states.values_list("pk", flat=True))
        ApiToken.objects.filter(pk=instance.pk).update(state_ids=instance.state_ids)


class IdempotencyKey(models.Model):
    """A POST's Idempotency-Key and the answer it got (tracker.api.idempotency): a retry with the same key is
    answered the same, without running again. One row per client and key, claimed before the request runs: the
    unique constraint lets one of two racing requests run."""

    # "token:<ApiToken id>" or "user:<User id>": a key belongs to the client that sent it.
    client = models.CharField(_("client"), max_length=64)
    key = models.CharField(_("key"), max_length=255)
    # A digest of the method, path, preconditions and body; empty until the request has finished.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64, blank=True)
    started_at = models.DateTimeField(_("started"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    status = models.PositiveSmallIntegerField(
        _("answer status"), null=True, blank=True, help_text=_("Empty while the request runs.")
    )
    headers = models.JSONField(_("answer headers"), default=dict, blank=True)
    body = models.BinaryField(_("answer body"), default=b"", blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_key_once_per_client")]

    def __str__(self):
        return f"{self.client} · {self.key}"

    @property
    def is_running(self):
        return self.status is None
