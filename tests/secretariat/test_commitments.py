"""Commitments in the secretariat's admin: every commitment, filtered; confirm, reopen and drop through the services
(reopen and drop ask why on an intermediate page); a read-only page and history; the key columns on a laptop."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import PASSWORD, make_user
from tests.support.bad_input import NUL, postgresql_refuses_nul
from tests.support.browser import screenshot
from tests.support.commitments import agree, item_of, promise, unhcr
from tracker.core import commitments
from tracker.core.models import Commitment, Implementation
from tracker.core.permissions import SECRETARIAT_GROUP, access_for

pytestmark = pytest.mark.django_db

LIST = "/admin/tracker/commitment/"


def act(client, action, objs, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objs], **extra}
    return client.post(LIST, data, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def officer(client, secretariat_officer):
    client.force_login(secretariat_officer)
    return client


@pytest.fixture
def agreed(secretariat_officer, egypt_focal_point):
    """Egypt: one done (due in 3 days), one open due in 2 days, one partner's due in 60; Jordan: one due in 20."""
    done, soon, partners = agree(
        item_of("EG"),
        secretariat_officer,
        promise("Sign the protocol", days=3),
        promise("Train officers", days=2),
        promise("Send two experts", days=60, owner="partner", organisation=unhcr()),
    )
    [jordan] = agree(item_of("JO"), secretariat_officer, promise("Publish the guide", days=20))
    commitments.mark_done(done, egypt_focal_point, access_for(egypt_focal_point), "Signed on 3 May.")
    return done, soon, partners, jordan


def listed(client, **query):
    page = client.get(LIST, query, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    return {c.description for c in page.context["cl"].result_list}


def test_it_lists_every_commitment_with_its_filters(officer, agreed, secretariat_officer):
    egypt = Implementation.objects.get(pk=agreed[0].implementation_id).member_state_id
    assert len(listed(officer)) == 4
    assert listed(officer, state="done") == {"Sign the protocol"}
    assert listed(officer, owner="partner") == {"Send two experts"}
    assert len(listed(officer, implementation__member_state__id__exact=egypt)) == 3
    assert listed(officer, due="7") == {"Sign the protocol", "Train officers"}
    assert listed(officer, due="later") == {"Send two experts"}
    with time_machine.travel(datetime.now(UTC) + timedelta(days=25), tick=False):
        officer.force_login(secretariat_officer)  # the session would have expired meanwhile
        assert listed(officer, late="yes") == {"Train officers", "Publish the guide"}
        assert listed(officer, due="past") == {"Sign the protocol", "Train officers", "Publish the guide"}


def test_it_runs_the_same_number_of_queries_whatever_the_number_of_commitments(officer, agreed, secretariat_officer):
    with CaptureQueriesContext(connection) as few:
        officer.get(LIST)
    for iso_code in ("MA", "TN", "IQ"):
        agree(item_of(iso_code), secretariat_officer, promise(), promise(owner="partner", organisation=unhcr()))
    with CaptureQueriesContext(connection) as many:
        assert len(officer.get(LIST).context["cl"].result_list) == 10
    assert len(many) == len(few)


def test_it_confirms_done_commitments_and_says_which_it_could_not(officer, agreed):
    done, soon, *_ = agreed
    page = act(officer, "confirm", [done, soon])
    assert page.status_code == 302
    assert Commitment.objects.get(pk=done.pk).confirmed_at is not None
    assert Commitment.objects.get(pk=soon.pk).confirmed_at is None
    shown = [str(m) for m in officer.get(LIST, HTTP_ACCEPT_LANGUAGE="en").context["messages"]]
    assert "1 commitments confirmed." in shown
    assert any("Only a commitment marked done can be confirmed." in m for m in shown)


def test_it_asks_why_before_reopening_and_keeps_the_reason(officer, agreed):
    done = agreed[0]
    question = act(officer, "reopen", [done])
    assert question.status_code == 200 and b'name="reason"' in question.content
    assert Commitment.objects.get(pk=done.pk).state == "done"
    refused = act(officer, "reopen", [done], apply="yes", reason="  ")
    assert refused.status_code == 400 and Commitment.objects.get(pk=done.pk).state == "done"
    assert act(officer, "reopen", [done], apply="yes", reason="Only a draft was signed.").status_code == 302
    reopened = Commitment.objects.get(pk=done.pk)
    assert (reopened.state, reopened.reopened_reason) == ("open", "Only a draft was signed.")
    assert reopened.history.first().history_change_reason == "reopened"


def test_it_asks_why_before_dropping_and_keeps_the_item_right(officer, agreed):
    _, soon, partners, _ = agreed
    assert act(officer, "drop", [soon]).status_code == 200
    assert act(officer, "drop", [soon], apply="yes", reason="Replaced by the training plan.").status_code == 302
    dropped = Commitment.objects.get(pk=soon.pk)
    assert (dropped.state, dropped.dropped_reason) == ("dropped", "Replaced by the training plan.")
    item = Implementation.objects.get(pk=soon.implementation_id)
    assert item.open_commitment_due == partners.due_date


def test_it_shows_a_commitment_read_only_with_its_evidence_and_history(officer, agreed, secretariat_officer):
    done = agreed[0]
    change_url = reverse("admin:tracker_commitment_change", args=[done.pk])
    page = officer.get(change_url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert b"Signed on 3 May." in page.content and b'name="_save"' not in page.content
    officer.post(change_url, {"description": "Changed behind the services' back"})
    assert Commitment.objects.get(pk=done.pk).description == "Sign the protocol"
    history = reverse("admin:tracker_commitment_history", args=[done.pk])
    assert officer.get(history).status_code == 200
    version = done.history.last().history_id
    revert = reverse("admin:tracker_commitment_simple_history", args=[done.pk, version])
    assert officer.post(revert, {}).status_code == 403
    assert Commitment.objects.get(pk=done.pk).state == "done"
    assert officer.get(reverse("admin:tracker_commitment_add")).status_code == 403


def test_it_lets_a_reviewer_read_but_not_act(client, reviewer, agreed):
    client.force_login(reviewer)
    assert len(listed(client)) == 4
    act(client, "confirm", [agreed[0]])
    assert Commitment.objects.get(pk=agreed[0].pk).confirmed_at is None


def test_it_shows_the_organisations_contact_for_reminders(officer, reference):
    page = officer.get(reverse("admin:tracker_organisation_change", args=[unhcr().pk]))
    assert b'name="email"' in page.content and b'name="language"' in page.content


# --- On a laptop ------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_it_shows_every_key_column_on_a_laptop(chromium, live_server, reference, language):
    officer = make_user("officer", SECRETARIAT_GROUP, is_staff=True)
    long_text = "Adopt and publish the national standard operating procedures for the referral of victims " * 2
    for iso_code in ("EG", "JO", "MA"):
        agree(item_of(iso_code), officer, promise(long_text), promise(owner="partner", organisation=unhcr()))
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    try:
        context.add_cookies([{"name": "wrt_language", "value": language, "url": live_server.url}])
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "officer")
        page.fill("#id_password", PASSWORD)
        page.locator("input[type=submit]").click()
        page.goto(f"{live_server.url}{LIST}")
        edges = page.evaluate(
            "[...document.querySelectorAll('#result_list thead th')].map(th => th.getBoundingClientRect())"
            ".map(r => [Math.round(r.left), Math.round(r.right)])"
        )
        assert len(edges) == 8 and all(left >= 0 and right <= 1280 for left, right in edges), (language, edges)
        screenshot(page, f"admin-commitment-{language}")
    finally:
        context.close()


def test_it_refuses_a_nul_character_in_a_reason_with_400_not_500(officer, agreed):
    with postgresql_refuses_nul():
        response = act(officer, "drop", [agreed[1]], apply="yes", reason=f"Gone{NUL}")
    assert response.status_code == 400 and Commitment.objects.get(pk=agreed[1].pk).state == "open"
