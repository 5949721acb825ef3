"""History rows for changes made by set-based statements (a cycle close, an outcome, a change of the states
a recommendation applies to), which django-simple-history's signals never see. Each row says who (the user
who triggered the change, or none for the system) and why, so the admin's History page shows them, and the
next person's change is not credited with this one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import CharField, DateTimeField, Field, IntegerField, QuerySet, Value
from django.utils import timezone

if TYPE_CHECKING:
    from tracker.core.models import Implementation

CHANGED = "~"
REASON_LENGTH = 100  # simple-history's history_change_reason


def tracked_fields() -> list[Field[Any, Any]]:
    """The item's columns that its history keeps (not the sync stamp, which the database sets)."""
    from tracker.core.models import Implementation

    kept = {field.name for field in Implementation.history.model._meta.concrete_fields}
    return [field for field in Implementation._meta.concrete_fields if field.name in kept]


def columns() -> list[str]:
    return [field.column for field in tracked_fields()]


def history_table() -> str:
    from tracker.core.models import Implementation

    return connection.ops.quote_name(Implementation.history.model._meta.db_table)


def insert_sql(select: str) -> str:
    """INSERT INTO the history table the rows of `select` (the item's columns, then date, reason, type, user)."""
    names = ", ".join(connection.ops.quote_name(c) for c in columns())
    return (
        f"INSERT INTO {history_table()} ({names}, history_date, history_change_reason, history_type, "
        f"history_user_id) {select}"
    )


def record_item_history(items: QuerySet[Implementation], reason: str, user_id: int | None = None) -> None:
    """One history row per item, as it is now (after the set-based change), in one INSERT ... SELECT."""
    attnames = [field.attname for field in tracked_fields()]
    rows = (
        items.order_by()
        .annotate(
            history_at=Value(timezone.now(), output_field=DateTimeField()),
            history_reason=Value(reason[:REASON_LENGTH], output_field=CharField()),
            history_kind=Value(CHANGED, output_field=CharField()),
            history_by=Value(user_id, output_field=IntegerField()),
        )
        .values_list(*attnames, "history_at", "history_reason", "history_kind", "history_by")
    )
    select, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(insert_sql(select), params)


def current_user_id() -> int | None:
    """The signed-in user of the request being served, if any (simple-history's middleware keeps it)."""
    from simple_history.models import HistoricalRecords

    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None
