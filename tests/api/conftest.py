"""Fixtures of the API tests that run against a live server (tests/api/test_schema.py, test_generated_client.py)."""

import sys
import urllib.request

import pytest

from tests.support.services import ROOT, Process, free_port, require_postgres, subprocess_env, wait_for


@pytest.fixture
def api_server(transactional_db):
    """gunicorn serving the project on a free port, against the test database; stopped afterwards.

    (pytest-django's live_server cannot be used: it chokes on MEDIA_URL = None.)
    """
    require_postgres()
    port = free_port()
    env = subprocess_env()
    env["API_THROTTLE_RATE"] = "100000/minute"
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "project.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "60",
    ]
    with Process(args, env, ROOT / "var" / "test" / "api-gunicorn.log") as server:
        url = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return urllib.request.urlopen(f"{url}/api/schema/", timeout=2).status == 200
            except OSError:
                return False

        wait_for(answers, timeout=60, message="gunicorn to answer")
        yield url
        assert server.proc.poll() is None, server.output()[-3000:]
