"""Real services for tests: PostgreSQL, Redis, a Celery worker process, Chromium.

Outside CI a missing service skips the tests that need it; with CI=true it fails them, so CI can
never pass by skipping.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def missing(what):
    """Skip (locally) or fail (in CI) a test that needs a service that is not there."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available.")
    pytest.skip(f"{what} is not available here (it is in CI).")


def require_postgres():
    if connection.vendor != "postgresql":
        missing("PostgreSQL (set DATABASE_URL)")


def require_redis():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        missing("Redis (set CELERY_BROKER_URL=redis://...)")


def require_chromium():
    if not Path(CHROMIUM).exists():
        missing("Debian's chromium package")
    return CHROMIUM


def subprocess_env():
    """The environment for a subprocess (worker, server) that must use pytest's test database."""
    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db.get("USER") or ""
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        env["DATABASE_URL"] = f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    else:
        name = db["NAME"]
        if name == ":memory:" or "mode=memory" in str(name):
            raise RuntimeError("A subprocess cannot share an in-memory SQLite database.")
        env["DATABASE_URL"] = f"sqlite:///{name}"
    env.setdefault("DEBUG", "true")
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Process:
    """A child process that is always stopped: by context manager exit, or at interpreter exit."""

    def __init__(self, args, env, log_path):
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def output(self):
        return self.log_path.read_text(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_worker(env, name="worker", extra=()):
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "project",
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"{name}@%h",
        *extra,
    ]
    return Process(args, env, ROOT / "var" / "test" / f"{name}.log")


def wait_for(predicate, timeout=30, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"Timed out waiting for {message}.")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_server(port, tmp_path):
    binary = shutil.which("redis-server")
    if not binary:
        missing("redis-server")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]
    server = Process(args, subprocess_env(), tmp_path / f"redis-{time.monotonic_ns()}.log")
    wait_for(lambda: _answers(port), timeout=10, message="redis-server to start")
    return server


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False
