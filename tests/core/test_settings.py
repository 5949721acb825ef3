"""Bad settings stop start-up with a message that names the variable."""

import os
import subprocess
import sys

import pytest

from tests.support.services import ROOT

CHECK = (
    "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
)


def start(**env):
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    full = {**base, "DJANGO_SETTINGS_MODULE": "project.settings", **env}
    return subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "mysql://localhost/tracker"),
        ("CELERY_BROKER_URL", "amqp://guest@localhost//"),
        ("SITE_URL", "tracker.example.org"),
        ("TIME_ZONE", "Mars/Olympus"),
        ("EMAIL_PORT", "twenty-five"),
        ("EMAIL_BACKEND", "smtp"),
        ("DEFAULT_FROM_EMAIL", "not-an-address"),
        ("CSRF_TRUSTED_ORIGINS", "tracker.example.org"),
        ("SESSION_IDLE_SECONDS", "5"),
        ("EVIDENCE_MAX_MB", "0"),
        ("REMINDER_JOURNAL_URL", "localhost:6379"),
    ],
)
def test_it_refuses_a_bad_value_and_names_the_variable(variable, value):
    result = start(**{"DEBUG": "true", variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_it_requires_a_secret_key_when_debug_is_off():
    result = start(DEBUG="false", ALLOWED_HOSTS="tracker.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_requires_allowed_hosts_when_debug_is_off():
    result = start(DEBUG="false", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_it_starts_with_sqlite_and_no_configuration_in_debug():
    result = start(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_it_reads_a_postgres_database_url():
    result = start(DEBUG="true", DATABASE_URL="postgres://u:p@db.example.org:5432/tracker")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "project.postgresql"  # Django's, with a cheaper health check
