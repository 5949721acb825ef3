"""Issue 15, national validation: where Egypt requires it, its focal points' reports wait for Egypt's national
validator, who approves them (they reach the secretariat and count for the cycle) or returns them with a comment
(back to the shared draft). Jordan, without validation, reports as before."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.focal.helpers import item_of, report_data
from tracker.core import services, validation
from tracker.core.models import FocalPointDesignation, ProgressReport, ReviewCycle, ValidationDecision
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db

pytest_plugins = ["tests.api.support"]


@pytest.fixture
def open_cycle(reference):
    return ReviewCycle.objects.create(
        body=reference,
        name_en="Cycle 2026",
        name_ar="دورة 2026",
        period_start="2026-01-01",
        period_end="2026-12-31",
        report_deadline="2099-12-31",
        state=ReviewCycle.State.OPEN,
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def send(client, item, **overrides):
    return client.post(f"/items/{item.pk}/", report_data(item, **overrides), HTTP_ACCEPT_LANGUAGE="en")


def decide(client, item, decision, comment=""):
    report = ProgressReport.objects.get(implementation=item, state="awaiting_validation")
    data = {"report": report.pk, "revision": report.revision, "decision": decision, "comment": comment}
    return client.post(f"/items/{item.pk}/validation/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_it_sends_for_validation_returns_with_a_comment_then_approves(
    client, egypt_focal_point, egypt_alternate, egypt_validator, egypt_requires_validation, open_cycle
):
    item = item_of("EG")
    page = signed_in(client, egypt_focal_point).get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Send for national validation" in page

    response = send(client, item, narrative="First version")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.awaiting_validation_since is not None and (item.version, item.last_report_cycle) == (1, None)

    signed_in(client, egypt_validator)
    assert "First version" in client.get("/validation/").content.decode()
    assert decide(client, item, "returned").status_code == 400  # a return needs a comment
    assert decide(client, item, "returned", "Add the decree number.").status_code == 302
    draft = ProgressReport.objects.get(implementation=item)
    item.refresh_from_db()
    assert (draft.state, item.awaiting_validation_since) == ("draft", None)

    signed_in(client, egypt_alternate)
    page = client.get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Returned by the national validator" in page and "Add the decree number." in page
    assert send(client, item, narrative="Decree 12/2026 adopted").status_code == 302

    signed_in(client, egypt_validator)
    assert decide(client, item, "approved").status_code == 302
    report = ProgressReport.objects.get(implementation=item)
    item.refresh_from_db()
    assert (report.state, report.cycle, report.narrative) == ("submitted", open_cycle, "Decree 12/2026 adopted")
    assert (item.last_report_cycle, item.version, item.awaiting_validation_since) == (open_cycle, 2, None)
    decisions = list(ValidationDecision.objects.order_by("created_at").values_list("decision", "decided_by"))
    assert decisions == [("returned", egypt_validator.pk), ("approved", egypt_validator.pk)]


def test_it_lets_jordan_without_validation_report_directly(client, jordan_focal_point, egypt_requires_validation):
    item = item_of("JO")
    assert send(signed_in(client, jordan_focal_point), item).status_code == 302
    assert ProgressReport.objects.get(implementation=item).state == "submitted"


def test_it_keeps_the_form_closed_while_a_report_awaits(client, egypt_focal_point, egypt_requires_validation):
    item = item_of("EG")
    signed_in(client, egypt_focal_point)
    send(client, item, narrative="Waiting")
    page = client.get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Report awaiting national validation" in page and 'name="action"' not in page
    item.refresh_from_db()
    response = send(client, item, narrative="Another try", action="draft")
    assert response.status_code == 200 and "awaiting national validation" in response.content.decode()
    assert "Another try" in response.content.decode()  # what was typed comes back
    assert ProgressReport.objects.get(implementation=item).narrative == "Waiting"


def test_it_refuses_the_validator_a_report_and_the_focal_point_a_decision(
    client, egypt_focal_point, egypt_validator, egypt_requires_validation
):
    item = item_of("EG")
    assert send(signed_in(client, egypt_validator), item).status_code == 403
    signed_in(client, egypt_focal_point)
    send(client, item)
    assert decide(client, item, "approved").status_code == 403
    with pytest.raises(PermissionDenied):
        validation.approve(ProgressReport.objects.get(), egypt_focal_point, access_for(egypt_focal_point))


def test_it_refuses_a_decision_on_a_report_that_changed(
    client, egypt_focal_point, egypt_validator, egypt_requires_validation
):
    item = item_of("EG")
    send(signed_in(client, egypt_focal_point), item)
    report = ProgressReport.objects.get()
    stale = {"report": report.pk, "revision": report.revision - 1, "decision": "approved", "comment": ""}
    response = signed_in(client, egypt_validator).post(f"/items/{item.pk}/validation/", stale)
    assert response.status_code == 400
    assert ProgressReport.objects.get().state == "awaiting_validation"
    validation.approve(report, egypt_validator, access_for(egypt_validator))
    with pytest.raises(validation.NotAwaiting):  # a second validator deciding after the first
        validation.return_to_focal_points(report, egypt_validator, access_for(egypt_validator), "Too late")


def test_it_lets_the_secretariat_report_for_the_state_without_validation(
    secretariat_officer, egypt_requires_validation
):
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=20, narrative="From the ministry's letter")
    report = services.submit_report(item, secretariat_officer, access_for(secretariat_officer), data)
    assert report.state == "submitted"


def test_it_counts_awaiting_apart_in_the_review_view(
    client, egypt_focal_point, secretariat_officer, egypt_requires_validation, open_cycle
):
    send(signed_in(client, egypt_focal_point), item_of("EG"))
    page = (
        signed_in(client, secretariat_officer)
        .get(f"/review/?cycle={open_cycle.pk}", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    assert "Awaiting national validation" in page
    egypt_row = page[page.index(">Egypt</a></th>") :].split("</tr>")[0]
    cells = [cell.split("</td>")[0] for cell in egypt_row.split("<td>")[1:]]
    total = item_of("EG").recommendation.__class__.objects.filter(implementations__member_state__iso_code="EG").count()
    assert cells[:3] == [str(total - 1), "1", f"0 / {total}"]  # missing, awaiting, reported


def test_it_makes_a_partners_report_wait_for_validation(api, egypt_requires_validation):
    partner = api("write", ("EG",))
    item = item_of("EG")
    body = {"status": "in_progress", "progress": 40, "narrative": "Draft law sent to parliament."}
    etag = partner.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    response = partner.post(f"/api/v1/implementations/{item.pk}/reports/", body, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 201 and response.json()["state"] == "awaiting_validation"
    item.refresh_from_db()
    assert (item.version, item.progress) == (1, 0)
    etag = partner.get(f"/api/v1/implementations/{item.pk}/")["ETag"]
    again = partner.post(f"/api/v1/implementations/{item.pk}/reports/", body, format="json", HTTP_IF_MATCH=etag)
    assert again.status_code == 400 and "awaiting national validation" in str(again.json())


def test_it_refuses_a_partners_report_beside_the_states_draft(egypt_focal_point, egypt_requires_validation):
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=20, narrative="Draft")
    services.save_draft(item, egypt_focal_point, access_for(egypt_focal_point), data)
    partner_access = access_for(egypt_focal_point).__class__(
        scopes=frozenset({(None, item.member_state_id)}), can_report=True
    )
    with pytest.raises(ValidationError, match="draft of this item"):
        services.submit_report(item, egypt_focal_point, partner_access, data)
    assert ProgressReport.objects.get().state == "draft"


def test_it_lists_only_the_validators_own_state_in_few_queries(
    client,
    egypt_focal_point,
    jordan_focal_point,
    egypt_validator,
    egypt_requires_validation,
    django_assert_max_num_queries,
):
    signed_in(client, egypt_focal_point)
    for reference in ("R1", "R2", "R3"):
        send(client, item_of("EG", reference), narrative=f"Egypt {reference}")
    send(signed_in(client, jordan_focal_point), item_of("JO"), narrative="Jordan R2")
    signed_in(client, egypt_validator)
    FocalPointDesignation.objects.update(summary_seen_at=timezone.now())  # past the first sign-in's summary
    with django_assert_max_num_queries(12):
        page = client.get("/validation/").content.decode()
    assert all(f"Egypt {r}" in page for r in ("R1", "R2", "R3")) and "Jordan R2" not in page
    assert (
        "3 reports are waiting for your national validation"
        in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
