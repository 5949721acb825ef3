"""Someone notices when the machinery stops: /health/worker/ and the admin index say whether beat and a worker run."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tracker.core.models import Heartbeat
from tracker.core.tasks import heartbeat

pytestmark = pytest.mark.django_db
URL = "/health/worker/"


def beat_ran(at):
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.update_or_create(
        name="heartbeat", defaults={"task": "tracker.tasks.heartbeat", "interval": every, "last_run_at": at}
    )


def test_it_answers_200_while_beat_and_the_worker_run(client):
    beat_ran(timezone.now())
    heartbeat()  # what the worker runs when beat sends it
    answer = client.get(URL)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["beat"]["status"], body["worker"]["status"]) == ("ok", "ok")
    assert body["backlog"] == {"reminders_due": 0, "reminders_failed": 0, "reminders_unknown": 0}


def test_it_answers_503_when_beat_has_been_silent_longer_than_the_threshold(client):
    beat_ran(timezone.now())
    heartbeat()
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        answer = client.get(URL)
    assert answer.status_code == 503
    assert answer.json()["beat"]["status"] == "down" and answer.json()["beat"]["silent_seconds"] >= 960


def test_it_answers_503_when_no_worker_ever_ran_the_heartbeat(client):
    beat_ran(timezone.now())
    answer = client.get(URL)
    assert answer.status_code == 503
    assert answer.json()["worker"] == {"status": "down", "last_seen": None, "silent_seconds": None}


def test_it_records_the_workers_heartbeat_each_time_it_runs():
    with time_machine.travel(timezone.now() - timedelta(minutes=5), tick=False):
        heartbeat()
    first = Heartbeat.objects.get(name="worker").at
    heartbeat()
    assert Heartbeat.objects.get(name="worker").at > first and Heartbeat.objects.count() == 1


def test_it_counts_the_due_and_failed_reminders(client, egypt_focal_point, reference):
    from tracker.reminders.models import Reminder

    for state in ("pending", "failed"):
        Reminder.objects.create(
            recipient=egypt_focal_point, body=reference, kind="overdue", stage=state, scope="cycle-1", state=state
        )
    assert client.get(URL).json()["backlog"] == {"reminders_due": 1, "reminders_failed": 1, "reminders_unknown": 0}


def test_it_tells_the_secretariat_on_the_admin_index(client, secretariat_officer):
    client.force_login(secretariat_officer)
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Background work is stopped:" in page and "beat has never run" in page


def test_it_takes_a_workers_heartbeat_as_a_sign_of_beat_before_beat_saves_its_runs(client):
    heartbeat()  # beat sent it; its scheduler has not saved a last run yet
    answer = client.get(URL)
    assert answer.status_code == 200 and answer.json()["beat"]["status"] == "ok"
