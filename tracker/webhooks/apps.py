from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Signed HTTP notifications of changes to partner systems (the Standard Webhooks specification)."""

    name = "tracker.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from tracker.core.events import domain_event
        from tracker.webhooks.outbox import record_event

        domain_event.connect(record_event, dispatch_uid="webhooks-outbox")
