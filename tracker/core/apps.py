from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The domain every face of the system shares. Its label stays "tracker" (the tables, content types,
    permissions and migration history were created under it before the rooms existed)."""

    name = "tracker.core"
    label = "tracker"
    verbose_name = _("Recommendation tracker")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from tracker.core import signals  # noqa: F401

        post_migrate.connect(refresh_roles, sender=self)
        post_migrate.connect(stamp_changes, sender=self)

    def admin_index_panel(self) -> tuple[str, dict[str, Any]]:
        """The admin index says whether beat and the worker run, as /health/worker/ does."""
        from tracker.core.health import machinery

        return "admin/tracker/machinery_panel.html", machinery()


def refresh_roles(sender: AppConfig, **kwargs: Any) -> None:
    """Give the roles the permissions of models added after the data migration that created them."""
    from django.apps import apps

    from tracker.core.roles import ensure_roles

    ensure_roles(apps)


def stamp_changes(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The triggers behind incremental sync exist after every migrate (tracker.core.sync)."""
    from tracker.core.sync import ensure_triggers

    ensure_triggers(using)
