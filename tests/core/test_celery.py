"""A Celery round trip through the real broker (Redis in CI) and a real worker process."""

import uuid

import pytest

from tests.support.services import IN_CI, require_redis, start_worker, subprocess_env
from tracker.core.tasks import ping


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_task_in_a_real_worker_and_returns_its_result(settings):
    if IN_CI:
        require_redis()
    token = uuid.uuid4().hex
    with start_worker(subprocess_env(), name="roundtrip") as worker:
        result = ping.delay(token)
        try:
            value = result.get(timeout=60)
        except Exception:
            print(worker.output())
            raise
    assert value["pong"] == token
