"""The outcome page records the commitments of an agreed solution (no JavaScript needed) and lists the item's."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template.loader import render_to_string
from django.utils import timezone, translation

from tests.support.bad_input import NUL, postgresql_refuses_nul
from tests.support.commitments import agree, close, item_of, promise, review_cycle, unhcr
from tracker.core import commitments
from tracker.core.commitments import CommitmentSummary, commitment_summary
from tracker.core.models import Commitment, Implementation, ReviewOutcome
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db


def url(item):
    return f"/review/items/{item.pk}/outcome/"


def day(n):
    return (timezone.localdate() + timedelta(days=n)).isoformat()


def outcome_with(*rows, solution="UNHCR helps draft the protocol", total=None, **extra):
    data = {"obstacle_category": "capacity", "solution": solution, "action": "record", **extra}
    data["commitments-TOTAL_FORMS"] = str(total if total is not None else max(len(rows), 2))
    data["commitments-INITIAL_FORMS"] = "0"
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"commitments-{index}-{name}"] = value
    return data


def row(description="Sign the protocol", owner="state", organisation="", due=30):
    return {"description": description, "owner": owner, "organisation": organisation, "due_date": day(due)}


@pytest.fixture
def officer(client, secretariat_officer):
    client.force_login(secretariat_officer)
    return client


def test_it_records_an_outcome_with_its_commitments(officer):
    item = item_of("EG")
    partner = row("Send two experts", owner="partner", organisation=str(unhcr().pk), due=60)
    response = officer.post(url(item), outcome_with(row(due=20), partner, {"owner": "state"}, total=3))
    assert response.status_code == 302
    outcome = ReviewOutcome.objects.get()
    ours, theirs = outcome.commitments.order_by("due_date")
    assert (ours.description, ours.owner, ours.created_by.username) == ("Sign the protocol", "state", "officer")
    assert (theirs.owner, theirs.organisation.code) == ("partner", "unhcr")
    assert Implementation.objects.get(pk=item.pk).open_commitment_due == timezone.localdate() + timedelta(days=20)


def test_it_still_records_an_outcome_without_commitments(officer):
    response = officer.post(url(item_of("EG")), {"obstacle_category": "legal", "obstacle": "The law is old."})
    assert response.status_code == 302
    assert ReviewOutcome.objects.count() == 1 and not Commitment.objects.exists()


def test_it_refuses_commitments_without_a_solution_and_keeps_the_text(officer):
    response = officer.post(
        url(item_of("EG")), outcome_with(row("Keep this text"), solution=""), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert b"write the solution agreed first" in response.content and b"Keep this text" in response.content
    assert not ReviewOutcome.objects.exists() and not Commitment.objects.exists()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(owner="partner"), b"Name the partner organisation that follows up."),
        (row(due=-3), b"This date has passed"),
        ({**row(), "due_date": "next spring"}, b"Enter a valid date."),
        ({**row(), "description": ""}, b"This field is required."),
    ],
)
def test_it_refuses_a_bad_row_next_to_it_and_records_nothing(officer, bad, message):
    response = officer.post(url(item_of("EG")), outcome_with(row("A good row"), bad), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content and b"A good row" in response.content
    assert not ReviewOutcome.objects.exists() and not Commitment.objects.exists()


def test_it_adds_rows_without_javascript_and_loses_nothing(officer):
    item = item_of("EG")
    data = outcome_with(row("First"), row("Second"), action="more_rows", obstacle="Kept obstacle")
    response = officer.post(url(item), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and not ReviewOutcome.objects.exists()
    page = response.content.decode()
    assert 'name="commitments-TOTAL_FORMS" value="4"' in page
    assert "First" in page and "Second" in page and "Kept obstacle" in page
    assert 'name="commitments-3-description"' in page and "errorlist" not in page


@pytest.mark.parametrize("total", ["1000", "lots", "\x00"])
def test_it_answers_a_tampered_row_count_with_400_or_a_clamped_form(officer, total):
    data = outcome_with(row(), total=0)
    data["commitments-TOTAL_FORMS"] = total
    assert officer.post(url(item_of("EG")), data).status_code == 400
    data["action"] = "more_rows"
    assert officer.post(url(item_of("EG")), data).status_code == 200
    assert not ReviewOutcome.objects.exists()


def test_it_skips_rows_where_nothing_was_typed(officer):
    data = outcome_with(row("Only this one"), {"owner": "partner"}, {}, total=3)
    assert officer.post(url(item_of("EG")), data).status_code == 302
    assert list(Commitment.objects.values_list("description", flat=True)) == ["Only this one"]


def test_it_lists_the_items_commitments_with_their_state(officer, secretariat_officer):
    item = item_of("EG")
    agree(item, secretariat_officer, promise("Train officers", days=3), promise("Publish a guide", days=40))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=5), tick=False):
        officer.force_login(secretariat_officer)  # the session would have expired meanwhile
        page = officer.get(url(item), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    listed = page.split('id="commitments"')[1]
    assert listed.index("Train officers") < listed.index("Publish a guide")
    assert listed.count("Late") == 1 and "Egypt" in listed


def test_it_shows_a_reviewer_the_commitments_but_no_form(client, reviewer, secretariat_officer):
    item = item_of("EG")
    agree(item, secretariat_officer, promise("Train officers"))
    client.force_login(reviewer)
    page = client.get(url(item)).content.decode()
    assert "Train officers" in page and "commitments-TOTAL_FORMS" not in page
    assert client.post(url(item), outcome_with(row())).status_code == 403


# --- The summary partial (the lead includes it in the review view and the cycle report) -------------------


def summary_of_a_closed_review(reference, officer_user, egypt_focal_point):
    cycle = review_cycle(reference, "2026-1")
    done, late = agree(item_of("EG", "R1"), officer_user, promise("Done one", days=5), promise("Late one", days=2))
    agree(item_of("JO", "R3"), officer_user, promise("Open one", days=40))
    commitments.mark_done(done, egypt_focal_point, access_for(egypt_focal_point), "Done.")
    close(cycle)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=3), tick=False):
        return commitments.commitment_summary(reference)


def test_the_summary_partial_says_done_open_late_late_first(reference, secretariat_officer, egypt_focal_point):
    summary = summary_of_a_closed_review(reference, secretariat_officer, egypt_focal_point)
    html = render_to_string("review/_commitments.html", {"commitments": summary})
    assert "Commitments from the last review: 1 done, 1 open, 1 late" in html
    by_state = html.split("commitments-by-state")[1].split("</table>")[0]
    assert by_state.index("Egypt") < by_state.index("Jordan") and '<strong class="mark">1</strong>' in by_state
    by_recommendation = html.split("commitments-by-recommendation")[1]
    assert by_recommendation.index("R1") < by_recommendation.index("R3")
    with translation.override("ar"):
        arabic = render_to_string("review/_commitments.html", {"commitments": summary})
    assert "مصر" in arabic and "الأردن" in arabic and "دورة 2026-1" in arabic


def test_the_summary_partial_renders_a_frozen_record_alike(reference, secretariat_officer, egypt_focal_point):

    summary = summary_of_a_closed_review(reference, secretariat_officer, egypt_focal_point)
    frozen = CommitmentSummary.from_record(json.loads(json.dumps(summary.as_record())))
    assert render_to_string("review/_commitments.html", {"commitments": frozen}) == render_to_string(
        "review/_commitments.html", {"commitments": summary}
    )


def test_the_summary_partial_says_when_the_last_review_agreed_nothing(reference):

    assert render_to_string("review/_commitments.html", {"commitments": commitment_summary(reference)}).strip() == ""
    review_cycle(reference, "2026-1", state="closed")
    html = render_to_string("review/_commitments.html", {"commitments": commitment_summary(reference)})
    assert "The last review recorded no commitment." in html


def test_it_refuses_a_nul_character_in_a_row_with_400_not_500(officer):
    with postgresql_refuses_nul():
        response = officer.post(url(item_of("EG")), outcome_with(row(f"Sign{NUL}"), row(due=5) | {"due_date": NUL}))
    assert response.status_code == 400 and not Commitment.objects.exists()


def test_it_lists_the_first_recommendations_late_first_and_says_how_many_more(
    officer, secretariat_officer, reference, monkeypatch
):
    monkeypatch.setattr(commitments, "RECOMMENDATION_ROWS", 1)
    cycle = review_cycle(reference)
    agree(item_of("EG", "R1"), secretariat_officer, cycle=cycle)
    agree(item_of("EG", "R2"), secretariat_officer, promise(days=1), cycle=cycle)
    close(cycle)
    with time_machine.travel(timezone.now() + timedelta(days=3)):  # R2's commitment is late by then
        summary = commitment_summary(reference)
    assert [row.reference for row in summary.recommendations] == ["R2"]
    assert summary.more_recommendations == 1
    assert CommitmentSummary.from_record(summary.as_record()).more_recommendations == 1
    with translation.override("en"):
        html = render_to_string("review/_commitments.html", {"commitments": summary})
    assert "And 1 more recommendation with commitments." in html
