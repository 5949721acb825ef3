"""Querysets compiled to SQL once and run again with new parameter values.

Turning a queryset into SQL costs Django more than PostgreSQL needs to run a small prepared statement,
so the statements every API request runs (the token look-up, the implementations a list page or an item
reads, whatever the filters) are compiled once per database connection and shape. The queryset is built
with stand-ins (sentinel values) where the request's values go; compiling finds them among the
parameters, and each run swaps in the real values. The SQL text stays the same, so with server-side
binding PostgreSQL prepares it too.

On PostgreSQL every other parameter is written into the SQL text as a literal: it is a constant of the
shape (a status the stalled rules leave out, the id of an overdue cycle), and a prepared statement's
generic plan estimates `status NOT IN ('implemented', 'not_applicable')` where it cannot estimate
`status NOT IN ($1, $2)` (a filtered list ran five times slower once PostgreSQL switched to that plan).

A build may read the database (`changed_since` first reads which recommendations and bodies changed).
Those reads are recorded when the statement is compiled and run again (in one statement), with the
request's values, before it is used: if they answer differently now, the request is answered from the
queryset instead (`AnswerFromQueryset`), so a compiled statement never stands for a queryset the request
would not build. A build that writes is not compiled.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import EmptyResultSet
from django.db import connections

# A stand-in's placeholder in Django's SQL (`%%` is a literal percent sign).
PLACEHOLDER = re.compile(r"%%|%s")
BIGINT = range(-(2**63), 2**63)


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


class AnswerFromQueryset(NotCompilable):
    """This request is the queryset's to answer: what the build read from the database answers differently now, or a
    value is out of its column's range (the ORM knows to select nothing, or everything)."""


NOT_COMPILABLE = object()


@dataclass(frozen=True)
class Statement:
    """SQL with `%s` where stand-ins go; `template`: for each placeholder, (sentinel index, adapt, constant)."""

    sql: str
    template: tuple

    def params(self, values):
        return [
            param if slot is None else adapt(values[slot]) if adapt else values[slot]
            for slot, adapt, param in self.template
        ]


@dataclass(frozen=True)
class Compiled:
    statement: Statement | None  # None: the queryset selects nothing
    compiler: object
    converters: dict
    reads: tuple  # (Statement, the rows it answered with the sentinels) for each read the build made


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
                if type(form) is int and isinstance(param, int) and param == form:
                    return index, type(param)  # wrapped as the field binds it (psycopg's Int8 for a bigint)
        return None, None

    def _template(self, connection, sentinels, params):
        return tuple((*self._slot(connection, sentinels, param), param) for param in params)

    def _statement(self, connection, sentinels, sql, params):
        template = self._template(connection, sentinels, params)
        if connection.vendor != "postgresql":
            return Statement(sql, template)
        return inline_constants(connection, sql, template)

    def _compile(self, connection, sentinels, build_args):
        reads = []

        def record(execute, sql, params, many, context):
            reads.append((sql, list(params or ())))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            queryset = self.build(*sentinels, **build_args).using(connection.alias)
            compiler = queryset.query.get_compiler(connection=connection)
            try:
                sql, params = compiler.as_sql()
            except EmptyResultSet:  # e.g. `member_state=,`: no code, nothing selected
                sql, params = None, []
        statement = sql and self._statement(connection, sentinels, sql, params)
        reads = self._reads(connection, sentinels, reads)
        found = {slot for part in (statement, *reads) if part for slot, _, _ in part.template}
        missing = set(range(len(sentinels))) - found
        if missing and statement is not None:  # (with no statement, no row whatever the values)
            raise NotCompilable(f"{self.name}: sentinel(s) {sorted(missing)} not found among the parameters")
        converters = statement and compiler.get_converters([col[0] for col in compiler.select[: compiler.col_count]])
        answered = tuple((read, self._run(connection, read, read.params(sentinels))) for read in reads)
        return Compiled(statement, compiler, converters, answered)

    def _reads(self, connection, sentinels, reads):
        """The build's reads, to run again before each use: on PostgreSQL in one statement (each read's rows as JSON,
        side by side), so that they cost one round trip whatever their number."""
        if any(not sql.lstrip().upper().startswith("SELECT") for sql, _ in reads):
            raise NotCompilable(f"{self.name}: the build writes to the database")
        if connection.vendor == "postgresql" and len(reads) > 1:
            parts = ", ".join(f"(SELECT coalesce(json_agg(r), '[]') FROM ({sql}) r)" for sql, _ in reads)
            reads = [(f"SELECT {parts}", [param for _, params in reads for param in params])]
        return [Statement(sql, self._template(connection, sentinels, params)) for sql, params in reads]

    def compiled(self, key, sentinels, build_args, using):
        connection = connections[using]
        cache = connection.__dict__.setdefault("_tracker_compiled", {})
        entry = cache.get((self.name, key))
        if entry is NOT_COMPILABLE:
            raise AnswerFromQueryset(f"{self.name}: this shape did not compile (the first request said why)")
        if entry is None:
            if len(cache) > 512:  # shapes are few; this only bounds a pathological mix
                cache.clear()
            try:
                entry = self._compile(connection, sentinels, build_args)
            except NotCompilable:
                cache[(self.name, key)] = NOT_COMPILABLE  # not tried again on this connection
                raise
            cache[(self.name, key)] = entry
        return connection, entry

    @staticmethod
    def _run(connection, statement, params):
        with connection.cursor() as cursor:
            use_native_timestamps(connection, cursor)
            cursor.execute(statement.sql, params)
            return cursor.fetchall()

    def rows(self, key, sentinels, values, build_args=None, using="default"):
        """The result rows (tuples, converted like values_list) with `values` in place of `sentinels`."""
        if any(type(value) is int and value not in BIGINT for value in values):
            raise AnswerFromQueryset(f"{self.name}: a whole number out of bigint's range")
        connection, compiled = self.compiled(key, sentinels, build_args or {}, using)
        for read, answered in compiled.reads:
            if self._run(connection, read, read.params(values)) != answered:
                raise AnswerFromQueryset(f"{self.name}: a read of the build answers differently now")
        if compiled.statement is None:
            return []
        rows = self._run(connection, compiled.statement, compiled.statement.params(values))
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return rows


def inline_constants(connection, sql, template):
    """The statement with every parameter that is not a stand-in written into the SQL as a literal (quoted by
    psycopg, as client-side binding would), so that the plan PostgreSQL prepares sees the shape's constants."""
    slots = iter(template)
    kept = []

    def replace(match):
        if match.group() == "%%":
            return "%%"
        slot, adapt, param = next(slots)
        if slot is not None:
            kept.append((slot, adapt, None))
            return "%s"
        return connection.ops.compose_sql("%s", [param]).replace("%", "%%")

    inlined = PLACEHOLDER.sub(replace, sql)
    return Statement(inlined, tuple(kept))
