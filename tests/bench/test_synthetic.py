"""The synthetic data generator and the hand-written SQL the benchmark compares our stalled query with."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from bench import synthetic
from bench.review import HAND_WRITTEN
from tests.support.services import require_postgres
from tracker.core.models import Body, Implementation, Meeting, ProgressReport
from tracker.core.querysets import StalledContext


@pytest.mark.parametrize("command", [["synthetic", "--size", "tiny"], ["review"]])
def test_it_refuses_to_run_on_sqlite_with_a_clear_message(tmp_path, command):
    """Run as a newcomer would, on the default SQLite database, whatever database the tests use."""
    import os
    import subprocess
    import sys

    from tests.support.services import ROOT

    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bench", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "needs PostgreSQL" in result.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_generates_labelled_data_that_our_rules_and_plain_sql_count_alike():
    require_postgres()
    call_command(synthetic.Command(), size="tiny")
    assert Meeting.objects.filter(code__startswith="synthetic-").count() == 40
    items = Implementation.objects.filter(recommendation__is_sample=True)
    assert items.count() == 50 * 22
    assert ProgressReport.objects.submitted().count() > 2 * items.count()
    with pytest.raises(CommandError, match="--replace"):
        call_command(synthetic.Command(), size="tiny")
    call_command(synthetic.Command(), size="tiny", replace=True)
    assert items.count() == 50 * 22
    body = Body.objects.get(code="aimc")
    now = timezone.now()
    ours = (
        Implementation.objects.filter(recommendation__meeting__body=body)
        .stalled(context=StalledContext.load(now))
        .count()
    )
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, {"body": body.pk, "now": now, "today": timezone.localdate(now)})
        assert cursor.fetchone()[0] == ours > 0
