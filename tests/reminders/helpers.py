"""Shared set-up for the reminder tests: an open review cycle of the reference body."""

import datetime as dt
import os
import zoneinfo
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone

from tracker.core import services
from tracker.core.models import Implementation, ReviewCycle
from tracker.core.permissions import access_for

DEADLINE = dt.date(2026, 12, 20)


def local(day, hour=9):
    """A moment on `day` in the project's time zone (reminders follow local dates)."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def open_cycle(body, deadline=DEADLINE):
    return ReviewCycle.objects.create(
        body=body,
        name_en="Review cycle 2026-2",
        name_ar="دورة المراجعة 2026-2",
        period_start=dt.date(2026, 7, 1),
        period_end=dt.date(2026, 12, 31),
        report_deadline=deadline,
        state=ReviewCycle.State.OPEN,
        opened_at=timezone.now(),
    )


def items_of(user):
    state_ids = access_for(user).state_ids
    return list(Implementation.objects.current().filter(member_state_id__in=state_ids).order_by("pk"))


def report_everything(user):
    """The focal point submits a report on every item of their state."""
    data = services.ReportInput(status="in_progress", progress=40, narrative="Work continues.")
    for item in items_of(user):
        services.submit_report(item, user, access_for(user), data)


def save_a_draft(user):
    item = items_of(user)[0]
    services.save_draft(item, user, access_for(user), services.ReportInput(status="in_progress", progress=10))


@contextmanager
def broker_at(url, **transport_options):
    """Point this process's Celery app at another broker for a while (pools included), then restore it."""
    from project.celery import app
    from tracker.reminders import enqueue

    saved = app.conf.broker_url, app.conf.broker_transport_options

    def drop_pools():  # dropped, not closed: kombu's global producer registry may still hand them out
        app._pool = None
        app.amqp._producer_pool = None

    drop_pools()
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url  # Celery reads this variable before its own setting
    app.conf.broker_url = url
    if transport_options:
        app.conf.broker_transport_options = transport_options
    try:
        yield app
    finally:
        drop_pools()
        app.conf.broker_url, app.conf.broker_transport_options = saved
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        enqueue.reset()
