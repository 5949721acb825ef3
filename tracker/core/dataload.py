"""Idempotent loading of Django-format fixtures: a row is written only when it differs.

`loaddata` re-saves every row, which bumps `updated_at`, adds history entries and so tells partner
systems that everything changed. This loader compares first, so loading twice changes nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

from django.apps import apps
from django.db import models, transaction


def _plain_fields(model: type[models.Model], fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, set[Any]]]:
    values: dict[str, Any] = {}
    m2m: dict[str, set[Any]] = {}
    for name, value in fields.items():
        # A fixture names concrete fields only, never a reverse relation or a generic foreign key.
        field = cast("models.Field[Any, Any]", model._meta.get_field(name))
        if field.many_to_many:
            m2m[name] = set(value)
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        elif isinstance(field, models.ForeignKey):
            values[field.attname] = value
        else:
            values[name] = field.to_python(value)
    return values, m2m


def _upsert(model: type[models.Model], pk: Any, values: dict[str, Any]) -> tuple[models.Model, bool]:
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None:
        obj = model(pk=pk, **values)
        obj.save()
        return obj, True
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save()
    return obj, bool(changed)


def _sync_m2m(obj: models.Model, m2m: dict[str, set[Any]]) -> bool:
    changed = False
    for name, wanted in m2m.items():
        manager = getattr(obj, name)
        if set(manager.values_list("pk", flat=True)) != wanted:
            manager.set(wanted)
            changed = True
    return changed


@transaction.atomic
def load_fixture(path: str | os.PathLike[str]) -> int:
    """Load one fixture file; returns the number of rows created or changed."""
    changed = 0
    for row in json.loads(Path(path).read_text(encoding="utf-8")):
        model = apps.get_model(row["model"])
        values, m2m = _plain_fields(model, row["fields"])
        obj, row_changed = _upsert(model, row["pk"], values)
        changed += int(_sync_m2m(obj, m2m) or row_changed)
    _reset_sequences()
    return changed


def _reset_sequences() -> None:
    """Explicit primary keys leave PostgreSQL sequences behind; move them past the loaded rows."""
    from django.core.management.color import no_style
    from django.db import connection

    tracker_models = list(apps.get_app_config("tracker").get_models())
    statements = connection.ops.sequence_reset_sql(no_style(), tracker_models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
