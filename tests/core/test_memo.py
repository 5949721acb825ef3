"""Counts kept in the database between requests (tracker.core.memo): the review's summary per member state, the
commitments of the last review, the trend. Transactional: each change commits, as in production, so the change
tokens see exactly what a later request would."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.commitments import agree, close, item_of, review_cycle
from tests.support.services import wait_for
from tracker.core import commitments, memo
from tracker.core.models import Commitment, CountMemo, Implementation, MemberState, Recommendation, ReviewCycle
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/review/"
PER_STATE = '"tracker_implementation"."member_state_id" AS "member_state_id", COUNT('


@pytest.fixture
def officer(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    return client


def settle():
    """Wait until every transaction older than this test's last write has ended. On PostgreSQL the change token is
    the oldest transaction running on the whole server (another test's too, in another database): until it ends,
    kept counts are counted again, which is right (never stale) but not what these tests look at."""
    written = max(
        model.objects.aggregate(last=Max("change_xid"))["last"] or 0
        for model in (Implementation, Recommendation, Commitment)
    )
    wait_for(lambda: memo.token_value() > written, timeout=60, message="older transactions to end")


def cold(client):
    """The review page after a restart: the Django cache is empty; the queries it ran."""
    settle()
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response, [query["sql"] for query in queries]


def reasons(response):
    return {entry["reason"].value: entry["count"] for entry in response.context["summary"]["reasons"]}


def per_state_counts(sqls):
    return [sql for sql in sqls if PER_STATE in sql]


def memo_of(iso_code):
    return CountMemo.objects.get(name="review-summary", state=MemberState.objects.get(iso_code=iso_code).pk)


def test_it_counts_the_summary_once_and_reads_it_back_after_a_restart(officer):
    first, sqls = cold(officer)
    assert len(per_state_counts(sqls)) == 1
    again, sqls = cold(officer)
    assert per_state_counts(sqls) == []
    assert again.context["summary"]["totals"] == first.context["summary"]["totals"]
    assert first.context["summary"]["totals"]["total"] == 7 * 22


def test_it_counts_again_only_the_state_whose_item_changed(officer):
    cold(officer)
    egypt_before, jordan_before = memo_of("EG").computed_at, memo_of("JO").computed_at
    Implementation.objects.filter(pk=item_of("EG", "R1").pk).update(has_open_obstacle=True, status="in_progress")
    response, sqls = cold(officer)
    assert reasons(response)["open_obstacle"] == 1
    assert len(per_state_counts(sqls)) == 1
    assert memo_of("EG").computed_at > egypt_before and memo_of("JO").computed_at == jordan_before


def test_it_counts_an_item_stalled_when_its_limit_passes_without_any_write(officer, reference):
    limit = reference.stale_after_days
    reported = timezone.now() - timedelta(days=limit) + timedelta(minutes=20)
    Implementation.objects.update(last_reported_at=timezone.now())
    Implementation.objects.filter(pk=item_of("JO", "R1").pk).update(last_reported_at=reported)
    response, _ = cold(officer)
    assert reasons(response)["no_recent_report"] == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=40)):  # within the idle session timeout
        later, sqls = cold(officer)
    assert reasons(later)["no_recent_report"] == 1
    assert len(per_state_counts(sqls)) == 1  # Jordan's time was up; the other states' counts were kept


def test_it_counts_every_state_again_when_a_recommendation_is_archived(officer):
    before, _ = cold(officer)
    Recommendation.objects.filter(reference="R1").update(is_archived=True)
    after, _ = cold(officer)
    assert after.context["summary"]["totals"]["total"] == before.context["summary"]["totals"]["total"] - 22


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's concurrent transactions")
def test_it_misses_no_change_that_commits_while_it_counts(officer):
    """A writer's transaction is open while the summary is counted and kept; it commits after. The next request
    after a restart sees the change: the kept counts' token is older than the writer's transaction."""
    item = item_of("EG", "R1")
    written, counted = threading.Event(), threading.Event()

    def writer():
        with transaction.atomic():
            Implementation.objects.filter(pk=item.pk).update(has_open_obstacle=True, status="in_progress")
            written.set()
            counted.wait(30)
        connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(30)
    during, _ = cold(officer)
    counted.set()
    thread.join(30)
    after, _ = cold(officer)
    assert reasons(during)["open_obstacle"] == 0
    assert reasons(after)["open_obstacle"] == 1


def test_it_shows_a_commitment_marked_done_after_a_restart(officer, secretariat_officer, reference):
    cycle = review_cycle(reference)
    (commitment,) = agree(item_of("EG"), secretariat_officer, cycle=cycle)
    close(cycle)
    review_cycle(reference, name="2026-2", state=ReviewCycle.State.OPEN, start=timezone.localdate())
    before, _ = cold(officer)
    commitments.mark_done(commitment, secretariat_officer, access_for(secretariat_officer), "Signed.")
    again, sqls = cold(officer)
    assert (before.context["commitments"].totals.open, before.context["commitments"].totals.done) == (1, 0)
    assert (again.context["commitments"].totals.open, again.context["commitments"].totals.done) == (0, 1)
    kept, sqls = cold(officer)
    assert not any('FROM "tracker_commitment"' in sql and "COUNT(" in sql for sql in sqls)
    assert kept.context["commitments"].totals.done == 1


def test_it_counts_a_target_date_as_passed_the_day_after_without_any_write(client, secretariat_officer, reference):
    Recommendation.objects.update(target_date=None)
    Recommendation.objects.filter(reference="R1").update(target_date=timezone.localdate())
    client.force_login(secretariat_officer)
    today, _ = cold(client)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        client.force_login(secretariat_officer)  # a day later the session has timed out
        tomorrow, sqls = cold(client)
    assert reasons(today)["past_target"] == 0
    assert reasons(tomorrow)["past_target"] == 22
    assert per_state_counts(sqls)  # counted again: the memos' time ran out with the target date


def test_it_keeps_a_focal_points_summary_and_counts_it_again_after_a_change(client, egypt_focal_point, reference):
    client.force_login(egypt_focal_point)

    def home():
        settle()
        cache.clear()
        return client.get("/", HTTP_ACCEPT_LANGUAGE="en").context["summary"]

    first = home()
    memo_before = CountMemo.objects.get(name="focal-summary", state=MemberState.objects.get(iso_code="EG").pk)
    assert home() == first and first["total"] == 7
    assert CountMemo.objects.get(pk=memo_before.pk).computed_at == memo_before.computed_at  # read back, not counted
    stalled = Implementation.objects.filter(member_state__iso_code="EG", has_open_obstacle=False, status="not_started")
    Implementation.objects.filter(pk=stalled.first().pk).update(has_open_obstacle=True, status="in_progress")
    after = home()
    assert after["stalled"] == first["stalled"] + 1
    assert CountMemo.objects.get(pk=memo_before.pk).computed_at > memo_before.computed_at
