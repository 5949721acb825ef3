"""A kept PostgreSQL connection is checked before a request reuses it: by reading its socket, with a round trip only
when the server has sent something (project/postgresql/base.py)."""

import select
import time

import psycopg
import pytest
from django.db import connection

from tests.support.services import require_postgres

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kept_connection():
    require_postgres()
    connection.ensure_connection()
    yield connection
    connection.close()


def end_session(pid):
    """pg_terminate_backend from another connection, as a restart or a failover ends every session."""
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or "127.0.0.1", user=settings["USER"], dbname=settings["NAME"]) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def wait_until_readable(kept, timeout=5):
    deadline = time.monotonic() + timeout
    while not select.select([kept.connection.pgconn.socket], [], [], 0.05)[0]:
        assert time.monotonic() < deadline, "the server never ended the session"


def start_of_request(kept):
    kept.health_check_done = False  # as close_old_connections sets it when a request starts
    kept.close_if_health_check_failed()


def test_it_checks_a_quiet_connection_without_a_round_trip(kept_connection, monkeypatch):
    asked = []
    monkeypatch.setattr(kept_connection, "is_usable", lambda: asked.append(True) or True)
    start_of_request(kept_connection)
    assert asked == [] and kept_connection.health_check_done


def test_it_reconnects_after_the_server_ended_the_session(kept_connection):
    pid = kept_connection.connection.info.backend_pid
    end_session(pid)
    wait_until_readable(kept_connection)
    start_of_request(kept_connection)
    with kept_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_it_checks_with_a_round_trip_when_the_server_has_sent_something(kept_connection, monkeypatch):
    asked = []
    monkeypatch.setattr(kept_connection, "is_usable", lambda: asked.append(True) or False)
    end_session(kept_connection.connection.info.backend_pid)
    wait_until_readable(kept_connection)
    start_of_request(kept_connection)
    assert asked == [True] and kept_connection.connection is None


def test_it_checks_with_a_round_trip_a_connection_left_in_a_transaction(kept_connection, monkeypatch):
    asked = []
    monkeypatch.setattr(kept_connection, "is_usable", lambda: asked.append(True) or True)
    kept_connection.connection.execute("BEGIN")
    start_of_request(kept_connection)
    kept_connection.connection.execute("ROLLBACK")
    assert asked == [True]
