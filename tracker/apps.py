from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = _("Recommendation tracker")

    def ready(self):
        from tracker import signals  # noqa: F401
        from tracker.reminders import signals as reminder_signals  # noqa: F401
