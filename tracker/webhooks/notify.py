"""The e-mail to the secretariat when an endpoint that kept failing is disabled (sent once, after commit)."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import override

from tracker.core.clarifications import mailbox_language
from tracker.core.models import Body
from tracker.core.permissions import SECRETARIAT_GROUP
from tracker.webhooks.models import Delivery, DeliveryAttempt, Endpoint

log = logging.getLogger(__name__)


def secretariat_addresses():
    """The bodies' secretariat mailboxes; without any, the members of the Secretariat group (as the reminders copy
    the secretariat: its mailbox, or else its officers)."""
    mailboxes = Body.objects.exclude(secretariat_email="").values_list("secretariat_email", flat=True)
    addresses = sorted({address.lower() for address in mailboxes})
    if addresses:
        return addresses
    officers = get_user_model().objects.filter(groups__name=SECRETARIAT_GROUP, is_active=True).exclude(email="")
    return sorted({email.lower() for email in officers.values_list("email", flat=True)})


def endpoint_disabled(endpoint_id):
    """Tell the secretariat (and the partner's contact, in copy) that the endpoint was disabled and why."""
    endpoint = Endpoint.objects.select_related("partner").get(pk=endpoint_id)
    to = secretariat_addresses()
    if not to:
        log.warning("webhooks: endpoint %s disabled, and the secretariat has no e-mail address", endpoint_id)
        return 0
    failed = Delivery.objects.filter(endpoint=endpoint, state=Delivery.State.FAILED)
    last = DeliveryAttempt.objects.filter(delivery__endpoint=endpoint).order_by("-started_at", "-pk").first()
    context = {
        "endpoint": endpoint,
        "failed": failed.count(),
        "last_error": last.error if last else "",
        "link": settings.SITE_URL + reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
    }
    with override(mailbox_language()):
        subject = render_to_string("webhooks/endpoint_disabled_subject.txt", context)
        body = render_to_string("webhooks/endpoint_disabled.txt", context)
    cc = [endpoint.partner.contact_email] if endpoint.partner.contact_email else []
    return EmailMessage(" ".join(subject.split()), body, None, to, cc=cc).send()
