from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublicConfig(AppConfig):
    """The public overview and the open data: what the secretariat and each state agreed to publish, for anyone,
    without an account (what is public is decided once, in tracker.core.publication)."""

    name = "tracker.public"
    label = "public"
    verbose_name = _("Public overview")
