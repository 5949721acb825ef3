"""Bad input for the "never a 500" tests: what PostgreSQL refuses, reproduced on any database.

PostgreSQL refuses a NUL character (0x00) in a text value; SQLite stores it. `postgresql_refuses_nul()`
makes the test database refuse it too, so a test fails on SQLite exactly where it would fail in production:
wherever such a value reaches a query.
"""

from contextlib import contextmanager

from django.db import DataError, connection

NUL = "\x00"


def _has_nul(value):
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, bytes):
        return b"\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(item) for item in value.values())
    return False


def _refuse_nul(execute, sql, params, many, context):
    rows = params if many else [params]
    if any(_has_nul(row) for row in rows or ()):
        raise DataError("A string literal cannot contain NUL (0x00) characters.")
    return execute(sql, params, many, context)


@contextmanager
def postgresql_refuses_nul():
    """Queries whose parameters contain a NUL character fail, as they do on PostgreSQL."""
    with connection.execute_wrapper(_refuse_nul):
        yield
