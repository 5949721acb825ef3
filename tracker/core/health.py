"""/health/: 200 when the database and the broker answer, 503 otherwise (used by compose)."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
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
