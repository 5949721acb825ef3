"""Docker is not available here: check that docker-compose.yml agrees with the settings instead."""

import re

import yaml

from tests.support.services import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = dict(
    line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and not line.startswith("#")
)


def command(name):
    return " ".join(SERVICES[name]["command"])


def test_it_declares_every_service_of_the_production_shape():
    assert set(SERVICES) == {"postgres", "redis", "migrate", "static", "web", "worker", "beat", "proxy"}


def test_it_keeps_postgres_on_a_volume_with_a_health_check():
    assert any(v.endswith(":/var/lib/postgresql/data") for v in SERVICES["postgres"]["volumes"])
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])


def test_it_runs_redis_with_an_append_only_file_and_no_eviction():
    assert "--appendonly yes" in command("redis")
    assert "--maxmemory-policy noeviction" in command("redis")


def test_it_runs_the_app_services_from_one_image_and_one_env_file():
    app = ["migrate", "web", "worker", "beat"]
    assert len({SERVICES[s]["image"] for s in app}) == 1
    assert all(SERVICES[s]["env_file"] == ".env" for s in app)


def test_it_starts_web_worker_and_beat_with_the_right_commands():
    assert command("web").startswith("gunicorn project.wsgi:application")
    assert command("worker").startswith("celery -A project worker")
    assert command("beat").startswith("celery -A project beat")
    assert "migrate --noinput" in command("migrate")


def test_it_runs_exactly_one_beat():
    assert SERVICES["beat"]["deploy"]["replicas"] == 1


def test_it_waits_for_the_migration_before_starting_the_app():
    for name in ["web", "worker", "beat"]:
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_it_checks_the_web_health_endpoint():
    assert "/health/" in " ".join(SERVICES["web"]["healthcheck"]["test"])


def test_its_environment_file_names_variables_the_settings_read():
    settings_source = (ROOT / "project" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', settings_source))
    app_variables = {k for k in ENV_EXAMPLE if not k.startswith("POSTGRES_")}
    assert app_variables <= read, app_variables - read
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"} <= app_variables


def test_its_database_and_broker_urls_point_at_the_compose_services():
    assert "@postgres:5432/" in ENV_EXAMPLE["DATABASE_URL"]
    assert ENV_EXAMPLE["CELERY_BROKER_URL"].startswith("redis://redis:6379")
