"""Querysets compiled to SQL once and run again with new parameter values.

Turning a queryset into SQL costs Django more than PostgreSQL needs to run a small prepared statement,
so the statements every API request runs (the token look-up, the pages of the implementations list)
are compiled once per database connection and shape. The queryset is built with sentinel values where
the request's values go; compiling finds them among the parameters, and each run swaps in the real
values. The SQL text stays the same, so with server-side binding PostgreSQL prepares it too.
"""

from datetime import date, datetime

from django.db import connections


def _native_timestamptz_loader():
    try:
        import psycopg
        from psycopg.pq import Format
    except ImportError:
        return None
    return psycopg.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)


NATIVE_TIMESTAMPTZ = _native_timestamptz_loader()


def use_native_timestamps(connection, cursor):
    """Read timestamptz with psycopg's own loader (C, with psycopg[binary]) on this cursor.

    Django loads them through a Python subclass that sets the tzinfo; with the session in UTC (as
    Django sets it when USE_TZ is on) psycopg's loader returns the same datetimes, in UTC, and on a
    100-row page that is a third of the request's time.
    """
    if connection.vendor == "postgresql" and NATIVE_TIMESTAMPTZ and connection.timezone_name == "UTC":
        cursor.cursor.adapters.register_loader("timestamptz", NATIVE_TIMESTAMPTZ)


class NotCompilable(Exception):
    """A sentinel did not reach the parameters (the field changed it): use the queryset as usual."""


class CompiledQuery:
    """`build(*sentinels, **build_args)` returns a `.values_list()` queryset; `rows(...)` runs it.

    Sentinels are values no request uses (a negative id, a marker string, a date in 1901), one per
    run-time value, each of a type the field keeps as it is. `key` names the shape: everything that
    changes the SQL text (not only parameter values) must be in it, and so decide `build_args`.
    """

    def __init__(self, name, build):
        self.name = name
        self.build = build

    @staticmethod
    def _forms(connection, sentinel):
        """How a value may appear among the parameters: as it is, or as the backend adapts it (SQLite
        passes dates and times as text)."""
        yield sentinel, None
        if isinstance(sentinel, datetime):
            yield connection.ops.adapt_datetimefield_value(sentinel), connection.ops.adapt_datetimefield_value
        elif isinstance(sentinel, date):
            yield connection.ops.adapt_datefield_value(sentinel), connection.ops.adapt_datefield_value

    def _slot(self, connection, sentinels, param):
        for index, sentinel in enumerate(sentinels):
            for form, adapt in self._forms(connection, sentinel):
                if type(param) is type(form) and param == form:
                    return index, adapt
        return None, None

    def _compile(self, connection, sentinels, build_args):
        queryset = self.build(*sentinels, **build_args).using(connection.alias)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        template = [(*self._slot(connection, sentinels, param), param) for param in params]
        missing = set(range(len(sentinels))) - {slot for slot, _, _ in template}
        if missing:
            raise NotCompilable(f"{self.name}: sentinel(s) {sorted(missing)} not found among the parameters")
        converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
        return sql, template, compiler, converters

    def compiled(self, key, sentinels, build_args, using):
        connection = connections[using]
        cache = connection.__dict__.setdefault("_tracker_compiled", {})
        entry = cache.get((self.name, key))
        if entry is None:
            if len(cache) > 512:  # shapes are few; this only bounds a pathological mix
                cache.clear()
            entry = cache[(self.name, key)] = self._compile(connection, sentinels, build_args)
        return connection, entry

    def rows(self, key, sentinels, values, build_args=None, using="default"):
        """The result rows (tuples, converted like values_list) with `values` in place of `sentinels`."""
        connection, (sql, template, compiler, converters) = self.compiled(key, sentinels, build_args or {}, using)
        params = [
            param if slot is None else adapt(values[slot]) if adapt else values[slot] for slot, adapt, param in template
        ]
        with connection.cursor() as cursor:
            use_native_timestamps(connection, cursor)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        return rows
