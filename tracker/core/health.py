"""/health/: 200 when the database and the broker answer, 503 otherwise (used by compose).

/health/worker/: whether the background machinery runs: when beat last sent a periodic task (django-celery-beat
records it), when a worker last ran beat's heartbeat task, and the backlogs the rooms report (due and failed
reminders). 503 when beat or the worker has been silent for longer than HEALTH_SILENT_MINUTES: point an
external monitor (Uptime Kuma, Nagios, a cron with curl -f) at it.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        log.exception("health: database check failed")
        return False


def broker_ok(url: str | None = None) -> bool:
    from project.celery import app

    try:
        with app.connection_for_write(url) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            _ = conn.default_channel  # the Redis transport connects lazily: open a channel for real
        return True
    except Exception:
        log.exception("health: broker check failed")
        return False


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_ok(), "broker": broker_ok()}
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **{k: "ok" if v else "down" for k, v in checks.items()}},
        status=200 if healthy else 503,
    )


def last_beat() -> datetime | None:
    """When beat last sent a periodic task (the database scheduler saves each task's last run)."""
    from django_celery_beat.models import PeriodicTask  # type: ignore[import-untyped]

    return PeriodicTask.objects.aggregate(last=Max("last_run_at"))["last"]


def last_worker_heartbeat() -> datetime | None:
    from tracker.core.models import Heartbeat

    return Heartbeat.objects.filter(name="worker").values_list("at", flat=True).first()


def part(seen: datetime | None, now: datetime) -> dict[str, Any]:
    silent = seen is None or now - seen > timedelta(minutes=settings.HEALTH_SILENT_MINUTES)
    return {
        "status": "down" if silent else "ok",
        "last_seen": seen.isoformat() if seen else None,
        "silent_seconds": int((now - seen).total_seconds()) if seen else None,
    }


def machinery() -> dict[str, Any]:
    """Beat, the worker and the rooms' backlogs (an app config's `health_counts()`), for the health view and
    the admin index."""
    now = timezone.now()
    worker = last_worker_heartbeat()
    # Only beat sends the heartbeat task, so a worker's heartbeat is also a sign of beat: without it beat
    # would look silent for its first minutes (its scheduler saves last runs every three minutes).
    beat = max((seen for seen in (last_beat(), worker) if seen is not None), default=None)
    parts = {"beat": part(beat, now), "worker": part(worker, now)}
    backlog: dict[str, int] = {}
    for config in apps.get_app_configs():
        if hasattr(config, "health_counts"):
            backlog.update(config.health_counts())
    healthy = all(p["status"] == "ok" for p in parts.values())
    return {"status": "ok" if healthy else "unavailable", **parts, "backlog": backlog}


@never_cache
def worker_health(request: HttpRequest) -> JsonResponse:
    state = machinery()
    return JsonResponse(state, status=200 if state["status"] == "ok" else 503)
