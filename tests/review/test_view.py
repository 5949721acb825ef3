"""The review view: who may open it, what it shows, outcomes, cycle moves, a constant query count."""

from datetime import date

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracker.core.models import Implementation, Recommendation, ReviewCycle, ReviewOutcome

URL = "/review/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def planned_cycle(body, name="C"):
    return ReviewCycle.objects.create(
        body=body,
        name_en=name,
        name_ar="د",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 6, 30),
        report_deadline=date(2026, 5, 31),
    )


@pytest.fixture
def egypt_item(reference):
    item = Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")
    Implementation.objects.filter(pk=item.pk).update(has_open_obstacle=True, status="in_progress", progress=30)
    return item


def test_it_sends_anonymous_visitors_to_sign_in(client, reference):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_refuses_focal_points(client, egypt_focal_point, egypt_item):
    client.force_login(egypt_focal_point)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}?state=EG").status_code == 403
    assert client.get(f"{URL}export.csv").status_code == 403
    assert client.get(f"{URL}report/").status_code == 403
    assert client.get(f"{URL}items/{egypt_item.pk}/outcome/").status_code == 403


def test_it_shows_the_matrix_with_stalled_cells_and_counts(client, reviewer, egypt_item):
    client.force_login(reviewer)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/items/{egypt_item.pk}/"' in html
    assert "Obstacle reported, no solution recorded" in html
    assert 'class="cell status-in_progress stalled' in html
    summary = response.context["summary"]
    assert {e["reason"].value: e["count"] for e in summary["reasons"]}["open_obstacle"] == 1
    assert len(response.context["matrix"]["states"]) == 22
    assert len(response.context["matrix"]["rows"]) == 7


def test_it_filters_the_table_by_reason(client, reviewer, egypt_item):
    client.force_login(reviewer)
    response = client.get(URL, {"view": "table", "reason": "open_obstacle"}, HTTP_ACCEPT_LANGUAGE="en")
    items = response.context["table"]["items"]
    assert [i.pk for i in items] == [egypt_item.pk]
    assert "the review has recorded no solution" in response.content.decode()


def test_it_ignores_filters_it_does_not_understand(client, reviewer, egypt_item):
    client.force_login(reviewer)
    response = client.get(
        URL, {"state": "abc", "reason": "nonsense", "page": "-3", "body": "99"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()


def test_it_lets_the_secretariat_record_an_outcome_that_clears_the_obstacle(client, secretariat_officer, egypt_item):
    client.force_login(secretariat_officer)
    response = client.post(
        f"{URL}items/{egypt_item.pk}/outcome/",
        {
            "obstacle_category": "resources",
            "obstacle": "No budget line",
            "solution": "UNHCR funds a pilot",
            "follow_up_by": "UNHCR MENA bureau",
            "follow_up_due": "2027-03-01",
            "next": "/review/?view=table",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/review/?view=table"
    outcome = egypt_item.outcomes.get()
    assert (outcome.solution, outcome.follow_up_due) == ("UNHCR funds a pilot", date(2027, 3, 1))
    assert outcome.recorded_by == secretariat_officer
    assert Implementation.objects.get(pk=egypt_item.pk).has_open_obstacle is False


def test_it_refuses_an_incomplete_outcome_and_keeps_the_input(client, secretariat_officer, egypt_item):
    client.force_login(secretariat_officer)
    response = client.post(f"{URL}items/{egypt_item.pk}/outcome/", {"solution": "Keep this text"})
    assert response.status_code == 400
    assert "Keep this text" in response.content.decode()
    assert not ReviewOutcome.objects.exists()


def test_it_lets_a_reviewer_read_but_change_nothing(client, reviewer, egypt_item, reference):
    cycle = planned_cycle(reference)
    client.force_login(reviewer)
    assert client.get(f"{URL}items/{egypt_item.pk}/outcome/").status_code == 200
    response = client.post(f"{URL}items/{egypt_item.pk}/outcome/", {"obstacle_category": "legal", "solution": "x"})
    assert response.status_code == 403
    response = client.post(f"{URL}cycles/move/", {"cycle": cycle.pk, "target": "open"})
    assert response.status_code == 403
    assert not ReviewOutcome.objects.exists()
    cycle.refresh_from_db()
    assert cycle.state == "planned"
    assert Implementation.objects.get(pk=egypt_item.pk).has_open_obstacle is True
    assert "Record outcome" not in client.get(URL, {"view": "table"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_it_moves_a_cycle_and_refuses_an_illegal_move_with_a_message(client, secretariat_officer, reference):
    cycle = planned_cycle(reference)
    client.force_login(secretariat_officer)
    response = client.post(
        f"{URL}cycles/move/", {"cycle": cycle.pk, "target": "closed"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "A cycle that is Planned cannot become Closed. From Planned it can only become: Open." in (
        response.content.decode()
    )
    client.post(f"{URL}cycles/move/", {"cycle": cycle.pk, "target": "open"})
    cycle.refresh_from_db()
    assert cycle.state == "open" and cycle.opened_at is not None


def add_recommendations(body, count):
    meeting = body.meetings.get(code__contains="2021")
    for n in range(count):
        rec = Recommendation.objects.create(
            meeting=meeting,
            reference=f"X{n}",
            position=100 + n,
            text_en=f"Extra {n}",
            text_ar=f"إضافية {n}",
            target_date=date(2024, 1, 1),
        )
        rec.sync_implementations()


@pytest.mark.parametrize("view", ["matrix", "table"])
def test_it_runs_the_same_number_of_queries_whatever_the_data(client, secretariat_officer, reference, view):
    client.force_login(secretariat_officer)
    client.get(URL, {"view": view})  # the session and the caches settle

    def count():
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, {"view": view}).status_code == 200
        return len(queries)

    before = count()
    add_recommendations(reference, 30)
    Implementation.objects.filter(member_state__iso_code__in=["EG", "JO"]).update(has_open_obstacle=True)
    count()  # counted again and kept (tests/core/test_memo.py)
    assert count() == before
    # the page, the summary (kept counts: the check, or on PostgreSQL inside the test's open transaction, which
    # hides nothing it wrote from the check, a count and its keeping), the matrix (its cells, their states), the
    # clarifications, the trends
    assert before <= 36


def test_it_says_so_when_no_body_is_set_up(client, db):
    from django.contrib.auth.models import Group, User

    from tracker.core.permissions import SECRETARIAT_GROUP

    user = User.objects.create_user("lonely", password="a-strong-test-password-2021")
    user.groups.add(Group.objects.get_or_create(name=SECRETARIAT_GROUP)[0])
    client.force_login(user)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "No body has been set up yet." in response.content.decode()
    assert client.get("/review/report/").status_code == 200
    assert client.get("/review/export.csv").status_code == 302


def test_it_asks_to_confirm_a_close_on_a_page_that_says_what_it_freezes(client, secretariat_officer, reference):
    from tracker.core.services import move_cycle

    cycle = planned_cycle(reference)
    cycle = move_cycle(move_cycle(cycle, "open"), "under_review")
    client.force_login(secretariat_officer)
    page = client.post(f"{URL}cycles/move/", {"cycle": cycle.pk, "target": "closed"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "154 followed-up items, of which 0 reported in this cycle and 154 did not" in page.content.decode()
    cycle.refresh_from_db()
    assert cycle.state == "under_review"
    answer = client.post(f"{URL}cycles/move/", {"cycle": cycle.pk, "target": "closed", "confirmed": "yes"})
    cycle.refresh_from_db()
    assert cycle.state == "closing"  # frozen by a Celery task, never inside the request
    page = client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "the records of 154 items are being frozen" in page and 'http-equiv="refresh"' in page


def test_it_lists_the_states_late_for_the_open_cycle_most_missing_first(client, reviewer, reference, egypt_focal_point):
    from tracker.core.permissions import access_for
    from tracker.core.services import ReportInput, move_cycle, submit_report

    cycle = planned_cycle(reference, "2027 H1")
    move_cycle(cycle, "open")
    for item in Implementation.objects.filter(member_state__iso_code="EG")[:5]:
        submit_report(
            item,
            egypt_focal_point,
            access_for(egypt_focal_point),
            ReportInput(status="in_progress", progress=10, narrative="x"),
        )
    client.force_login(reviewer)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    summary = response.context["summary"]
    rows = {row["state"].iso_code: row for row in summary["per_state"]}
    assert (rows["EG"]["reported"], rows["EG"]["missing"]) == (5, 2)
    assert summary["per_state"][-1]["state"].iso_code == "EG"  # the least missing last
    assert "Member states by reports missing for 2027 H1" in response.content.decode()
