"""Issue 15, shared drafts: one working draft per item of a state, shared by its active focal points, with who
last changed it; a stale save is refused and loses nothing; a handover keeps the draft."""

import pytest
from django.core.exceptions import PermissionDenied

from tests.conftest import designate, make_user
from tests.focal.helpers import item_of, pdf, report_data
from tracker.core import services
from tracker.core.models import Evidence, FocalPointDesignation, ProgressReport
from tracker.core.permissions import FOCAL_POINT_GROUP, access_for

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def draft_of(item):
    return ProgressReport.objects.drafts().get(implementation=item)


def test_it_lets_the_alternate_see_and_edit_the_primarys_draft(client, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    signed_in(client, egypt_focal_point)
    client.post(f"/items/{item.pk}/", report_data(item, action="draft", narrative="Primary's text", evidence=pdf()))
    signed_in(client, egypt_alternate)
    page = client.get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Primary&#x27;s text" in page and "Draft last changed by Ahmed" in page
    assert client.get(f"/evidence/{Evidence.objects.get().pk}/").status_code == 200

    response = client.post(f"/items/{item.pk}/", report_data(item, action="draft", narrative="Alternate's text"))
    assert response.status_code == 302
    draft = draft_of(item)
    assert (draft.narrative, draft.author, draft.updated_by, draft.revision) == (
        "Alternate's text",
        egypt_focal_point,
        egypt_alternate,
        2,
    )
    assert draft.evidence.count() == 1
    page = signed_in(client, egypt_focal_point).get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Alternate&#x27;s text" in page.content.decode() and "Draft last changed by Mona" in page.content.decode()

    client.post(f"/items/{item.pk}/", report_data(item, narrative="Submitted together"))
    report = ProgressReport.objects.get()
    assert (report.pk, report.is_submitted, report.author) == (draft.pk, True, egypt_focal_point)


def test_it_refuses_the_second_save_of_a_stale_draft_and_loses_nothing(client, egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(f"/items/{item.pk}/", report_data(item, action="draft"))
    opened = report_data(item, action="draft")  # both open the form on revision 1
    signed_in(client, egypt_alternate).post(f"/items/{item.pk}/", {**opened, "narrative": "Mona's version"})

    response = signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", {**opened, "narrative": "Ahmed's version"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else changed this draft after you opened the form" in page
    assert "Ahmed&#x27;s version</textarea>" in page  # what Ahmed typed stays in the form
    assert "Mona&#x27;s version" in page and "Changed by Mona" in page  # the other version is shown
    assert draft_of(item).narrative == "Mona's version"  # nothing overwritten

    # Submitting over the newer draft is refused too; the form now carries the newer revision and goes through.
    assert client.post(f"/items/{item.pk}/", {**opened, "action": "submit"}).status_code == 409
    assert draft_of(item).narrative == "Mona's version"
    again = {
        **opened,
        "narrative": "Ahmed's version",
        "draft_revision": response.context["form"]["draft_revision"].value(),
    }
    assert client.post(f"/items/{item.pk}/", again).status_code == 302
    assert draft_of(item).narrative == "Ahmed's version"


def test_it_refuses_a_second_draft_started_from_an_empty_form(egypt_focal_point, egypt_alternate):
    item = item_of("EG")
    data = services.ReportInput(status="in_progress", progress=10, narrative="First")
    services.save_draft(item, egypt_focal_point, access_for(egypt_focal_point), data, expected_revision=0)
    other = services.ReportInput(status="in_progress", progress=20, narrative="Second")
    with pytest.raises(services.StaleDraft) as stale:
        services.save_draft(item, egypt_alternate, access_for(egypt_alternate), other, expected_revision=0)
    assert stale.value.current.narrative == "First"
    assert ProgressReport.objects.drafts().count() == 1


def test_it_does_not_show_egypts_draft_to_jordan(client, egypt_focal_point, jordan_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", report_data(item, action="draft", narrative="Egypt only", evidence=pdf())
    )
    signed_in(client, jordan_focal_point)
    assert client.get(f"/items/{item.pk}/").status_code == 404
    assert client.get(f"/evidence/{Evidence.objects.get().pk}/").status_code == 404
    assert "Egypt only" not in client.get(f"/items/{item_of('JO').pk}/").content.decode()
    data = services.ReportInput(status="in_progress", progress=10, narrative="Jordan writes")
    with pytest.raises(PermissionDenied):
        services.save_draft(item, jordan_focal_point, access_for(jordan_focal_point), data)
    assert draft_of(item).narrative == "Egypt only"


def test_it_keeps_the_draft_for_the_successor_after_a_handover(client, reference, egypt_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", report_data(item, action="draft", narrative="Handed over")
    )
    old = FocalPointDesignation.objects.get(user=egypt_focal_point)
    new = services.designate_focal_point(
        old.member_state,
        reference,
        "primary",
        services.NewFocalPoint(email="successor@example.org", first_name="Omar"),
        replacing=old,
    )
    assert signed_in(client, egypt_focal_point).get(f"/items/{item.pk}/").status_code == 404
    page = signed_in(client, new.user).get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Handed over" in page and "Draft last changed by Ahmed" in page
    assert client.post(f"/items/{item.pk}/", report_data(item, narrative="Handed over, done")).status_code == 302
    report = ProgressReport.objects.get()
    assert (report.is_submitted, report.author, report.narrative) == (True, new.user, "Handed over, done")


def test_it_shares_the_draft_with_an_alternate_designated_later(client, reference, egypt_focal_point):
    item = item_of("EG")
    signed_in(client, egypt_focal_point).post(
        f"/items/{item.pk}/", report_data(item, action="draft", narrative="Shared")
    )
    late = make_user("fp-egypt-alt2", FOCAL_POINT_GROUP, first_name="Hoda")
    designate(late, "EG", reference, role="alternate")
    assert "Shared" in signed_in(client, late).get(f"/items/{item.pk}/").content.decode()
