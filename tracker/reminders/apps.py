from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RemindersConfig(AppConfig):
    name = "tracker.reminders"
    label = "reminders"
    verbose_name = _("Reminders")

    def ready(self):
        from tracker.reminders import checks, signals  # noqa: F401

    def health_counts(self):
        """The reminders waiting to go out (due now) and those that failed, for /health/worker/."""
        from django.utils import timezone

        from tracker.reminders.models import Reminder

        pending = Reminder.objects.filter(state=Reminder.State.PENDING, due_at__lte=timezone.now())
        return {
            "reminders_due": pending.count(),
            "reminders_failed": Reminder.objects.filter(state=Reminder.State.FAILED).count(),
            "reminders_unknown": Reminder.objects.filter(state=Reminder.State.UNKNOWN).count(),
        }

    def admin_index_panel(self):
        """The admin index's links to the reminder log, with the failures the secretariat must see."""
        from tracker.reminders.models import Reminder
        from tracker.reminders.sending import past_the_lease

        return "admin/reminders/index_panel.html", {
            "failed_reminders": Reminder.objects.filter(state=Reminder.State.FAILED).count(),
            "unknown_reminders": Reminder.objects.filter(state=Reminder.State.UNKNOWN).count(),
            "held_reminders": Reminder.objects.filter(past_the_lease()).count(),
        }
