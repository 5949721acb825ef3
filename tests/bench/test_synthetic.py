"""The synthetic data generator, the hand-written SQL the benchmark compares our stalled query with, the
close the benchmark times, and the raw endpoint `make bench-api` compares the API with."""

import io
import json
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Max, Q
from django.utils import timezone

from bench import raw_api_app, review, synthetic
from bench.review import HAND_WRITTEN, hand_written_params
from tests.api.support import client_with, make_token
from tests.support.services import require_postgres
from tracker.core import services, sync
from tracker.core.models import (
    Body,
    Commitment,
    CycleSnapshot,
    Implementation,
    Meeting,
    ProgressReport,
    Recommendation,
    ReviewCycle,
)
from tracker.core.querysets import StalledContext, StalledReason
from tracker.core.roles import ensure_roles


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


def hand_written_count(body, now):
    with connection.cursor() as cursor:
        cursor.execute(HAND_WRITTEN, hand_written_params(body, now))
        return cursor.fetchone()[0]


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
    context = StalledContext.load(now)
    ours = Implementation.objects.filter(recommendation__meeting__body=body).stalled(context=context).count()
    assert hand_written_count(body, now) == ours > 0
    # Every reason occurs, the new ones included, so the comparison covers them.
    by_reason = items.count_by_reason(context)
    assert all(by_reason[reason] > 0 for reason in StalledReason if reason != StalledReason.MISSING_CYCLE_REPORT)
    assert by_reason[StalledReason.MISSING_CYCLE_REPORT] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_synthetic_history_is_consistent_and_the_closed_cycles_are_frozen():
    require_postgres()
    call_command(synthetic.Command(), size="tiny")
    items = Implementation.objects.filter(recommendation__is_sample=True)
    body = Body.objects.get(code="aimc")
    context = StalledContext.load()
    windows = context.closed_windows[body.pk]
    assert len(windows) == 2
    # Status and progress are those of the last report; status_changed_at is a report's time or the creation.
    reported = items.exclude(last_reported_at=None).annotate(latest=Max("reports__submitted_at"))
    assert not reported.exclude(latest=F("last_reported_at")).exists()
    for item in items.order_by("pk")[:200]:
        reports = list(item.reports.order_by("submitted_at"))
        if reports:
            assert (reports[-1].status, reports[-1].progress) == (item.status, item.progress)
            assert item.last_report_cycle_id == reports[-1].cycle_id
        assert item.status_changed_at in {item.created_at, *(r.submitted_at for r in reports)}
    # Some items unchanged over two closed cycles, some over one, some changed in the last one.
    counts = {
        context.unchanged_count(body.pk, changed) for changed in items.values_list("status_changed_at", flat=True)
    }
    assert counts == {0, 1, 2}
    # A few percent of the unsettled items have an open commitment, some late; each has its commitment row.
    due = items.exclude(open_commitment_due=None)
    assert 0 < due.count() < 0.1 * items.unsettled().count()
    assert due.filter(open_commitment_due__lt=timezone.localdate()).exists()
    assert due.filter(open_commitment_due__gte=timezone.localdate()).exists()
    assert Commitment.objects.filter(state="open", implementation__in=due).count() == due.count()
    # Both synthetic closed cycles froze every item, with reasons, dates and the record a close keeps.
    for cycle in ReviewCycle.objects.filter(body=body, state="closed"):
        snapshots = CycleSnapshot.objects.filter(cycle=cycle)
        assert snapshots.count() == items.count()
        assert not snapshots.filter(Q(reasons=None) | Q(status_changed_at=None)).exists()
        assert snapshots.filter(reasons__gt=0).exists() and snapshots.filter(reported_in_cycle=True).exists()
        assert cycle.record["windows"] and cycle.record["now"] and "commitments" in cycle.record
    later = ReviewCycle.objects.filter(body=body, state="closed").order_by("closed_at").last()
    unchanged = CycleSnapshot.objects.filter(cycle=later).alias(bit=F("reasons").bitand(StalledReason.UNCHANGED.bit))
    assert unchanged.filter(bit__gt=0).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_close_benchmark_freezes_every_item_and_leaves_the_data_as_it_was():
    require_postgres()
    call_command(synthetic.Command(), size="tiny")
    ensure_roles(django_apps)  # the page benchmark signs in as the secretariat
    body = Body.objects.get(code="aimc")
    open_cycle = ReviewCycle.objects.get(body=body, state="open")
    snapshots = CycleSnapshot.objects.count()
    out = io.StringIO()
    call_command(review.Command(), runs=1, close_runs=2, stdout=out, stderr=io.StringIO())
    output = out.getvalue()
    current = Implementation.objects.current().filter(recommendation__meeting__body=body).count()
    assert f"close at {current:,} items: " in output
    assert "(target < 10 s)" in output and f"{current:,} snapshot rows written" in output
    assert "stalled items:" in output and "/review/?view=table" in output
    open_cycle.refresh_from_db()
    assert open_cycle.state == "open" and open_cycle.closed_at is None
    assert CycleSnapshot.objects.count() == snapshots
    # Without an open cycle or one under review, it closes a cycle of its own that half the items reported in.
    services.move_cycle(open_cycle, ReviewCycle.State.UNDER_REVIEW)
    services.close_cycle_now(open_cycle)
    cycles, snapshots = ReviewCycle.objects.count(), CycleSnapshot.objects.count()
    out = io.StringIO()
    call_command(review.Command(), runs=1, close_runs=1, skip_pages=True, stdout=out, stderr=io.StringIO())
    assert f"close at {current:,} items: " in out.getvalue()
    assert (ReviewCycle.objects.count(), CycleSnapshot.objects.count()) == (cycles, snapshots)


LIST = "/api/v1/implementations/"


def raw_answer(path):
    """The raw endpoint's (status, headers, JSON) for a path, called as gunicorn calls it."""
    parts = urlsplit(path)
    environ = {"PATH_INFO": parts.path, "QUERY_STRING": parts.query, "HTTP_HOST": "testserver"}
    started = []
    body = b"".join(raw_api_app.application(environ, lambda status, headers: started.append((status, headers))))
    ((status, headers),) = started
    return status, dict(headers), json.loads(body)


def full_sync_token(client):
    """A partner's full sync: follow `next` to the end, keep the last page's sync_token."""
    url, token = f"{LIST}?page_size=500", None
    while url:
        page = client.get(url).json()
        url, token = page["next"], page["sync_token"]
    return token


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_raw_endpoint_answers_every_measured_shape_as_the_api(monkeypatch):
    """What `make bench-api` checks before measuring, shape by shape, on data with closed cycles and late
    commitments, for a partner that sees the public recommendations of every state: the same rows (a single item:
    the same item and ETag), and sync tokens of their own, not before the full sync's (a token is a lower bound: the
    oldest transaction running then, in any database of the server)."""
    require_postgres()
    call_command(synthetic.Command(), size="tiny")
    Recommendation.objects.filter(is_sample=False).update(is_archived=True)  # the first page: synthetic items
    Recommendation.objects.filter(is_sample=True).update(is_public=True)
    items = Implementation.objects.filter(recommendation__is_sample=True).order_by("pk")
    late = items.filter(status__in=["not_started", "in_progress"])[:1].get()
    late.open_commitment_due = timezone.localdate() - timedelta(days=3)
    late.save(update_fields=["open_commitment_due"])
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(raw_api_app, "_connection", None)
    client = client_with(make_token())

    def same(path):
        api = client.get(path)
        status, headers, raw = raw_answer(path)
        assert (api.status_code, status) == (200, "200 OK")
        if "results" in raw:
            assert raw["results"] == api.json()["results"]
        else:
            assert (raw, headers["ETag"]) == (api.json(), api["ETag"])
        return api.json(), raw

    def same_round(path, since_token):
        """A sync round on both endpoints, each following its own `next` to the end: the same rows, page by page,
        and sync tokens not before the round's `changed_since` (each a lower bound it takes for itself)."""
        api_url, raw_url, rows = path, path, []
        while api_url:
            api = client.get(api_url).json()
            status, _headers, raw = raw_answer(raw_url)
            assert status == "200 OK" and raw["results"] == api["results"]
            assert bool(raw["next"]) == bool(api["next"])
            assert all(sync.parse_token(page["sync_token"]) >= sync.parse_token(since_token) for page in (api, raw))
            rows += api["results"]
            api_url, raw_url = api["next"], raw["next"]
        return {row["id"]: row for row in rows}

    first, _ = same(f"{LIST}?page_size=100")
    assert {item["unchanged_cycles"] for item in first["results"]} >= {0, 1, 2}
    reasons = {reason for item in first["results"] for reason in item["stalled_reasons"]}
    assert {"unchanged", "late_commitment", "missing_cycle_report", "no_recent_report"} <= reasons

    # An incremental sync after a full one: items changed, one of them no longer applies (archived, in the sync).
    token = full_sync_token(client)
    since = timezone.now()
    touched = list(items.values_list("pk", flat=True)[::37])
    Implementation.objects.filter(pk__in=touched).update(updated_at=timezone.now())
    Implementation.objects.filter(pk=touched[0]).update(applies=False)
    # (The token is the oldest transaction running in any database of the server: with others writing meanwhile,
    # the round may hold more than what this test changed, never less.)
    changed = same_round(f"{LIST}?changed_since={token}&page_size=10", token)
    assert set(touched) <= set(changed)
    assert changed[touched[0]]["is_archived"] and not changed[touched[0]]["stalled_reasons"]
    updated, _ = same(f"{LIST}?updated_since={quote(since.isoformat())}&page_size=200")
    assert [item["id"] for item in updated["results"]] == touched

    filtered, _ = same(f"{LIST}?member_state=EG,JO&stalled=any&page_size=100")
    assert filtered["results"] and all(item["is_stalled"] for item in filtered["results"])
    assert {item["member_state"] for item in filtered["results"]} == {"EG", "JO"}
    same(f"{LIST}{filtered['results'][0]['id']}/")
    same(f"{LIST}{touched[0]}/")  # archived: still found

    # A recommendation changed too: all its items are in the sync (the API reads which from the database).
    recommendation = items.last().recommendation
    Recommendation.objects.filter(pk=recommendation.pk).update(target_date=timezone.localdate() - timedelta(days=1))
    after = same_round(f"{LIST}?changed_since={token}&page_size=10", token)
    assert set(touched) | set(recommendation.implementations.values_list("pk", flat=True)) <= set(after)
