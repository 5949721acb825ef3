"""Start-up checks of the reminders' timing (`manage.py check`, and every worker and web process)."""

from django.conf import settings
from django.core.checks import Error, register

from tracker.reminders import timing


@register()
def send_task_fits_the_broker(app_configs, **kwargs):
    """Redis gives an unacknowledged task to another worker after its visibility timeout: a send task still
    running then would be run twice (its rows are claimed, so nothing is sent twice, but it is wasted)."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    limits = timing.current()
    if visibility is None or limits.hard_limit < visibility:
        return []
    return [
        Error(
            f"A reminder send task may run {limits.hard_limit:.0f} s (REMINDER_RUN_SECONDS and EMAIL_TIMEOUT), "
            f"not less than the broker's visibility timeout ({visibility} s).",
            hint="Lower REMINDER_RUN_SECONDS or EMAIL_TIMEOUT.",
            id="reminders.E001",
        )
    ]
