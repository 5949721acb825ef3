"""Forward foreign keys of many rows loaded at once: each related row read once and shared by the rows pointing at it.

What `prefetch_related` does for a foreign key, with one `pk IN (...)` query a relation. Django 5.2 prefetches a
foreign key through a tuple lookup, which on SQLite (no row values in Django's eyes) it writes as one OR branch
per value: building that SQL for a batch's 500 member states took longer than reading them (`make
bench-reminders`). PostgreSQL is unaffected either way; this path is as quick there.
"""

from collections.abc import Iterable, Mapping
from typing import Any, cast

from django.db.models import ForeignKey, Model

Known = Mapping[str, Mapping[Any, Model]]  # instances by foreign key name and primary key


def with_related(rows: Iterable[Model], *names: str, known: Known | None = None) -> list[Model]:
    """`rows` as a list, each of the foreign keys `names` cached on it (None where the key is null).

    `known`: instances the caller already holds, by name and primary key ({"member_state": {pk: state}}), shared
    rather than read again.
    """
    rows = list(rows)
    if not rows:
        return rows
    meta = rows[0]._meta
    for name in names:
        field = meta.get_field(name)
        if not isinstance(field, ForeignKey):
            raise TypeError(f"{name} is not a foreign key of {meta.label}")
        model = cast(type[Model], field.related_model)
        related = dict((known or {}).get(name, {}))
        ids = {getattr(row, field.attname) for row in rows} - {None} - related.keys()
        related.update(model._base_manager.in_bulk(ids) if ids else {})
        for row in rows:
            field.set_cached_value(row, related.get(getattr(row, field.attname)))
    return rows
