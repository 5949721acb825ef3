"""After the database ends every session (a restart, a failover), a real server's next answers are not 500s: each
web process finds its kept connection ended before reusing it (project/postgresql/base.py)."""

import json
import time
import urllib.request

import psycopg
import pytest
from django.db import connection

from tests.api.support import make_token

pytestmark = pytest.mark.postgres


def get(url, raw):
    request = urllib.request.Request(url, headers={"Authorization": f"Token {raw}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def end_the_servers_sessions():
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or "127.0.0.1", user=settings["USER"], dbname=settings["NAME"]) as other:
        ended = other.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)",
            [connection.connection.info.backend_pid],
        ).fetchone()[0]
    assert ended >= 1
    time.sleep(0.5)  # the sessions' end reaches the servers' sockets


def test_it_answers_a_partner_after_the_database_ended_every_session(reference, api_server):
    raw = make_token("read")
    url = f"{api_server}/api/v1/member-states/"
    for _ in range(6):  # both workers keep a connection
        assert get(url, raw)[0] == 200
    end_the_servers_sessions()
    answers = [get(url, raw) for _ in range(6)]
    assert {status for status, _body in answers} == {200}
    assert all(body["results"] for _status, body in answers)
