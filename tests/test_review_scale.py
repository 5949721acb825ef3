"""The synthetic data generator and the hand-written SQL the benchmark compares our stalled query with."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from tests.services import require_postgres
from tracker.management.commands.bench_review import HAND_WRITTEN
from tracker.models import Body, Implementation, Meeting, ProgressReport
from tracker.querysets import StalledContext


@pytest.mark.django_db
def test_it_refuses_to_generate_on_sqlite_with_a_clear_message():
    if connection.vendor == "postgresql":
        pytest.skip("This checks the message given on SQLite.")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("generate_synthetic_data", size="tiny")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_review")


@pytest.mark.django_db(transaction=True)
def test_it_generates_labelled_data_that_our_rules_and_plain_sql_count_alike():
    require_postgres()
    call_command("generate_synthetic_data", size="tiny")
    assert Meeting.objects.filter(code__startswith="synthetic-").count() == 40
    items = Implementation.objects.filter(recommendation__is_sample=True)
    assert items.count() == 50 * 22
    assert ProgressReport.objects.submitted().count() > 2 * items.count()
    with pytest.raises(CommandError, match="--replace"):
        call_command("generate_synthetic_data", size="tiny")
    call_command("generate_synthetic_data", size="tiny", replace=True)
    assert items.count() == 50 * 22
    body = Body.objects.get(code="aimc")
    now = timezone.now()
    ours = Implementation.objects.filter(recommendation__meeting__body=body).stalled(
        context=StalledContext.load(now)).count()
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, {"body": body.pk, "now": now, "today": timezone.localdate(now)})
        assert cursor.fetchone()[0] == ours > 0
