"""Fixtures of the webhook tests: a running receiver, and Celery tasks run in this process."""

import pytest

from tests.webhooks.support import Receiver


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def eager_tasks():
    """Celery runs the delivery and e-mail tasks in this process, at once (the real worker has its own tests)."""
    from project.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before
