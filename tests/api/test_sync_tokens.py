"""Incremental sync with change tokens: a partner that follows the README misses no committed change.

The findings of outside testing, each reproduced: a change to a page already read while paging, a change that
commits after the answer was built, and a cycle close that changed every item's stalled flags without moving
them in the feed or changing their ETags. The last test runs writers and a poller concurrently on PostgreSQL.
"""

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from django.db import connection, transaction

from tests.api.support import make_token
from tests.support.services import require_postgres
from tracker.core import services
from tracker.core.models import Implementation, ReviewCycle
from tracker.core.permissions import access_for

pytest_plugins = ["tests.api.support"]

SYNCED = ("implementations", "progress-reports", "review-outcomes")


def sync(client, resource, token=None, page_size=50):
    """One round as the README says: follow `next` to the end; returns the rows and the last page's token."""
    url = f"/api/v1/{resource}/?page_size={page_size}" + (f"&changed_since={token}" if token else "")
    rows = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        rows += body["results"]
        url, token = body["next"], body["sync_token"]
    return rows, token


def in_thread(work):
    """Run `work` on its own database connection, as a second process would."""

    def run():
        try:
            return work()
        finally:
            connection.close()

    return run


def report(item, user, progress, obstacles=""):
    data = services.ReportInput(status="in_progress", progress=progress, obstacles=obstacles)
    return services.submit_report(item, user, access_for(user), data)


def make_cycle(body):
    return ReviewCycle.objects.create(
        body=body,
        name_en="Cycle 2026-1",
        name_ar="دورة 2026-1",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        report_deadline=date(2026, 5, 31),
    )


def test_it_refuses_a_token_it_did_not_give_with_400(api):
    response = api("read").get("/api/v1/implementations/?changed_since=yesterday")
    assert response.status_code == 400 and "changed_since" in response.json()["fields"]


def test_it_delivers_a_change_made_to_a_page_already_read_while_paging(api, secretariat_officer):
    client = api("read")
    first = client.get("/api/v1/implementations/?page_size=20").json()
    item = Implementation.objects.get(pk=first["results"][0]["id"])
    report(item, secretariat_officer, 30)  # the partner has read this page and is still paging
    url, token = first["next"], first["sync_token"]
    while url:
        page = client.get(url).json()
        url, token = page["next"], page["sync_token"]
    assert token == first["sync_token"]  # the round keeps the token of its first page
    changed, _ = sync(client, "implementations", token)
    assert item.pk in {row["id"] for row in changed}


@pytest.mark.django_db(transaction=True)  # the close commits before the next read, as between two requests
def test_it_moves_every_item_of_the_body_and_its_etag_when_a_cycle_closes(api, reference, secretariat_officer):
    client = api("read")
    cycle = services.move_cycle(services.move_cycle(make_cycle(reference), "open"), "under_review")
    before, token = sync(client, "implementations")
    services.close_cycle_now(cycle, by=secretariat_officer)
    changed, _ = sync(client, "implementations", token)
    assert {row["id"] for row in changed} == {row["id"] for row in before}
    etags = {row["id"]: row["etag"] for row in before}
    moved = [row for row in changed if row["unchanged_cycles"] == 1]
    assert moved and all(row["etag"] != etags[row["id"]] for row in moved)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_delivers_a_change_that_commits_after_the_answer_was_built(reference, secretariat_officer):
    """A report whose transaction started before a poll and commits after it: the time watermark of the old README
    loses it; the token delivers it."""
    require_postgres()
    from tests.api.support import client_with

    client = client_with(make_token("read"))
    _, token = sync(client, "implementations")
    item = Implementation.objects.order_by("pk").first()
    written, commit = threading.Event(), threading.Event()

    def slow_report():
        with transaction.atomic():
            report(item, secretariat_officer, 55)
            written.set()
            assert commit.wait(10)

    with ThreadPoolExecutor(1) as pool:
        writing = pool.submit(in_thread(slow_report))
        assert written.wait(10)
        polled = client.get(f"/api/v1/implementations/?changed_since={token}&page_size=500").json()
        assert item.pk not in {row["id"] for row in polled["results"]}  # not committed yet
        commit.set()
        writing.result(timeout=10)
    by_time = client.get("/api/v1/implementations/", {"updated_since": polled["server_time"]}).json()
    assert item.pk not in {row["id"] for row in by_time["results"]}  # what the old procedure lost
    by_token, _ = sync(client, "implementations", polled["sync_token"])
    assert [row["progress"] for row in by_token if row["id"] == item.pk] == [55]


class Mirror:
    """What a partner holds: every row of each synced resource by id, updated from `changed_since` rounds."""

    def __init__(self, client):
        self.client, self.rows, self.tokens, self.received = client, {r: {} for r in SYNCED}, {}, 0

    def poll(self):
        for resource in SYNCED:
            rows, self.tokens[resource] = sync(self.client, resource, self.tokens.get(resource), page_size=200)
            self.rows[resource].update((row["id"], row) for row in rows)
            self.received += len(rows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_loses_nothing_while_writers_and_a_cycle_close_race_a_poller(reference, secretariat_officer, settings):
    """Three report writers (some holding their transaction open), an outcome writer and a cycle close, against a
    partner polling as fast as it can: at the end the partner's copy equals the API's, item by item."""
    require_postgres()
    settings.API_THROTTLE_RATE = None  # the partner polls far faster than a token may
    from tests.api.support import client_with

    items = list(Implementation.objects.order_by("pk"))
    cycle = services.move_cycle(services.move_cycle(make_cycle(reference), "open"), "under_review")
    mirror = Mirror(client_with(make_token("read")))
    mirror.poll()
    done = threading.Event()

    def write_reports(seed, count=500):
        chance = random.Random(seed)
        for _ in range(count):
            with transaction.atomic():
                item = Implementation.objects.get(pk=chance.choice(items).pk)
                report(item, secretariat_officer, chance.randint(1, 99), obstacles=chance.choice(["", "Funding"]))
                if chance.random() < 0.2:
                    time.sleep(chance.uniform(0.001, 0.03))  # commits late, after a poll began

    def write_outcomes(count=150):
        chance = random.Random(7)
        for _ in range(count):
            item = Implementation.objects.get(pk=chance.choice(items).pk)
            access = access_for(secretariat_officer)
            services.record_outcome(item, secretariat_officer, access, obstacle_category="resources", solution="Fund")

    def close_midway():
        time.sleep(1.5)
        services.close_cycle_now(cycle, by=secretariat_officer)

    def poll_until_done():
        while not done.is_set():
            mirror.poll()

    with ThreadPoolExecutor(6) as pool:
        polling = pool.submit(in_thread(poll_until_done))
        writers = [pool.submit(in_thread(lambda s=s: write_reports(s))) for s in (1, 2, 3)]
        writers += [pool.submit(in_thread(write_outcomes)), pool.submit(in_thread(close_midway))]
        for writer in writers:
            writer.result(timeout=600)
        done.set()
        polling.result(timeout=120)
    mirror.poll()  # the partner's next round, after the last write

    truth = Mirror(mirror.client)
    truth.poll()  # a full sync now
    assert len(truth.rows["progress-reports"]) == 1500 + 0 and len(truth.rows["review-outcomes"]) == 150
    for resource in SYNCED:
        missing = truth.rows[resource].keys() - mirror.rows[resource].keys()
        stale = [key for key, row in truth.rows[resource].items() if mirror.rows[resource].get(key) != row]
        assert (resource, missing, stale) == (resource, set(), [])
    assert mirror.received > 1650  # the partner did poll while the writers ran
