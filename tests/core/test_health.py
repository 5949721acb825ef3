import pytest

pytestmark = pytest.mark.django_db


def test_it_answers_200_when_the_database_and_the_broker_answer(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_it_answers_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr("tracker.core.health.broker_ok", lambda: False)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_it_answers_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr("tracker.core.health.database_ok", lambda: False)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_it_reports_a_broker_that_refuses_connections():
    from tracker.core.health import broker_ok

    assert broker_ok("redis://127.0.0.1:1/0") is False
