from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = _("Recommendation tracker")

    def ready(self):
        from django.db.models.signals import post_migrate

        from tracker import signals  # noqa: F401

        post_migrate.connect(refresh_roles, sender=self)
        from tracker.api import admin as api_admin  # noqa: F401
        from tracker.reminders import signals as reminder_signals  # noqa: F401


def refresh_roles(sender, **kwargs):
    """Give the roles the permissions of models added after the data migration that created them."""
    from django.apps import apps

    from tracker.roles import ensure_roles

    ensure_roles(apps)
