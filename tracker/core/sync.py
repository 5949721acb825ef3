"""Change tokens for incremental sync: a client that follows them misses no committed change.

A time watermark (`updated_since=server_time`) loses changes: `updated_at` is taken before the writing
transaction commits, so a change that commits after a reader's answer can carry a time older than the
answer. Here every synced row carries `change_xid`, stamped by a database trigger with the writing
transaction's id (PostgreSQL) or the next value of a commit-ordered clock (SQLite, whose writers are serial).

A token is a lower bound below which every change has committed when the token was taken: on PostgreSQL
the snapshot's xmin, the oldest transaction still running (every transaction with a smaller id has
ended, and any later one gets a larger id). Rows with `change_xid >= token` are "changed since": a
change that was in flight when the token was taken is delivered next time, never skipped. The price is
that a row may be delivered twice, which the item's version and ETag make harmless.
"""

import re

from django.db import connection

TOKEN = re.compile(r"c(\d{1,19})")


class BadToken(ValueError):
    pass


def current_token() -> str:
    """A token for "changes from now on"; take it before reading the rows it goes with."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {token_sql()}")
        (value,) = cursor.fetchone()
    return f"c{value}"


def token_sql() -> str:
    """The token's value as an SQL expression, for a statement that reads it with what it checks (one snapshot)."""
    if connection.vendor == "postgresql":
        return "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    return "(SELECT value + 1 FROM tracker_sync_clock WHERE id = 1)"


def parse_token(token: str) -> int:
    """The lower bound a token stands for; BadToken unless it is one we gave out."""
    match = TOKEN.fullmatch(token.strip())
    if match is None or int(match.group(1)) >= 2**63:
        raise BadToken(token)
    return int(match.group(1))


# The tables whose rows are synced; each gets the trigger that stamps change_xid.
SYNCED_TABLES = (
    "tracker_body",
    "tracker_recommendation",
    "tracker_implementation",
    "tracker_progressreport",
    "tracker_reviewoutcome",
    "tracker_commitment",
)

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION tracker_stamp_change() RETURNS trigger AS $$
BEGIN
    NEW.change_xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""


def install_triggers(schema_editor) -> None:  # type: ignore[no-untyped-def]
    """Stamp change_xid on every insert and update, whatever the path (save, update(), raw SQL). Idempotent:
    it runs after every `migrate` too, since SQLite drops a table's triggers when a migration rebuilds it."""
    execute = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        execute(POSTGRES_FUNCTION)
        for table in SYNCED_TABLES:
            execute(
                f"CREATE OR REPLACE TRIGGER {table}_change BEFORE INSERT OR UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tracker_stamp_change()"
            )
        return
    execute("CREATE TABLE IF NOT EXISTS tracker_sync_clock (id integer PRIMARY KEY CHECK (id = 1), value integer)")
    execute("INSERT OR IGNORE INTO tracker_sync_clock (id, value) VALUES (1, 0)")
    for table in SYNCED_TABLES:
        for event in ("INSERT", "UPDATE"):
            # SQLite cannot change NEW: the row is stamped after the write (recursive triggers are off).
            execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_change_{event.lower()} AFTER {event} ON {table} "
                "FOR EACH ROW BEGIN UPDATE tracker_sync_clock SET value = value + 1 WHERE id = 1; "
                f"UPDATE {table} SET change_xid = (SELECT value FROM tracker_sync_clock WHERE id = 1) "
                "WHERE id = NEW.id; END"
            )


def drop_triggers(schema_editor) -> None:  # type: ignore[no-untyped-def]
    execute = schema_editor.execute
    if schema_editor.connection.vendor == "postgresql":
        for table in SYNCED_TABLES:
            execute(f"DROP TRIGGER IF EXISTS {table}_change ON {table}")
        execute("DROP FUNCTION IF EXISTS tracker_stamp_change()")
        return
    for table in SYNCED_TABLES:
        for event in ("insert", "update"):
            execute(f"DROP TRIGGER IF EXISTS {table}_change_{event}")
    execute("DROP TABLE IF EXISTS tracker_sync_clock")


def ensure_triggers(using: str = "default") -> None:
    """After `migrate`: the triggers exist once the synced tables do."""
    from django.db import connections

    target = connections[using]
    if not set(SYNCED_TABLES) <= set(target.introspection.table_names()):
        return
    with target.schema_editor() as schema_editor:
        install_triggers(schema_editor)
