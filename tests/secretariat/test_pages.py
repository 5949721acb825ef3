"""The secretariat's admin: every page opens, reviewers change nothing, focal points stay out, nothing is deleted."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tracker.core import models
from tracker.core.roles import TRACKER_APPS

pytestmark = pytest.mark.django_db
TRACKER_MODELS = [m for m in admin.site._registry if m._meta.app_label in TRACKER_APPS]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def demo(reference):
    from django.core.management import call_command

    call_command("load_demo_data", verbosity=0)


def test_it_opens_every_change_list_and_change_page_for_the_secretariat(client, secretariat_officer, demo):
    client.force_login(secretariat_officer)
    for model in TRACKER_MODELS:
        for language in ("en", "ar"):
            assert client.get(url(model, "changelist"), HTTP_ACCEPT_LANGUAGE=language).status_code == 200, model
        obj = model.objects.first()
        if obj is not None:
            assert client.get(url(model, "change", obj.pk)).status_code == 200, model
            assert client.get(url(model, "history", obj.pk)).status_code == 200, model


def test_it_shows_the_open_cycle_dashboard_on_the_index(client, secretariat_officer, demo):
    client.force_login(secretariat_officer)
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Review cycle 3 (demo)" in page and "Reports received" in page and "/review/" in page
    assert "Failed reminders: 0" in page and "Target date has passed" in page


def test_it_counts_the_index_once_a_minute_and_again_after_a_change(client, secretariat_officer, demo):
    client.force_login(secretariat_officer)
    first = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").context["stalled_counts"]
    with CaptureQueriesContext(connection) as again:
        assert client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").context["stalled_counts"] == first
    assert not [q for q in again.captured_queries if "COUNT(" in q["sql"] and "tracker_implementation" in q["sql"]]
    item = models.Implementation.objects.current().unsettled().filter(has_open_obstacle=False).first()
    models.Implementation.objects.filter(pk=item.pk).update(has_open_obstacle=True, updated_at=timezone.now())
    after = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").context["stalled_counts"]
    assert after["open_obstacle"] == first["open_obstacle"] + 1


def test_it_speaks_arabic_right_to_left(client, secretariat_officer):
    client.force_login(secretariat_officer)
    page = client.get(url(models.Recommendation, "changelist"), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in page and "التوصيات" in page


def test_it_keeps_focal_points_out_of_the_admin(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("model", TRACKER_MODELS, ids=lambda m: m.__name__)
def test_it_lets_a_reviewer_change_nothing(client, reviewer, model):
    client.force_login(reviewer)
    obj = model.objects.first()
    assert client.get(url(model, "add")).status_code == 403
    if obj is not None:
        before = {f.name: getattr(obj, f.attname) for f in model._meta.concrete_fields}
        client.post(url(model, "change", obj.pk), {})
        obj.refresh_from_db()
        assert {f.name: getattr(obj, f.attname) for f in model._meta.concrete_fields} == before
        assert client.get(url(model, "delete", obj.pk)).status_code == 403


def test_it_hides_the_actions_from_a_reviewer(client, reviewer):
    client.force_login(reviewer)
    page = client.get(url(models.Recommendation, "changelist")).content.decode()
    assert 'name="action"' not in page


def test_it_never_deletes_through_the_admin(client, secretariat_officer, demo):
    client.force_login(secretariat_officer)
    for model in set(TRACKER_MODELS) - {models.Profile}:
        obj = model.objects.first()
        if obj is not None:
            assert client.get(url(model, "delete", obj.pk)).status_code == 403, model
        assert "delete_selected" not in client.get(url(model, "changelist")).content.decode(), model


def test_it_refuses_a_revert_from_a_reviewer(client, reviewer, secretariat_officer):
    recommendation = models.Recommendation.objects.get(reference="R1")
    recommendation.text_en = "Changed by the secretariat"
    recommendation.save()
    first = recommendation.history.earliest()
    client.force_login(reviewer)
    url = reverse("admin:tracker_recommendation_simple_history", args=[recommendation.pk, first.history_id])
    response = client.post(
        url,
        {
            "meeting": recommendation.meeting_id,
            "reference": "R1",
            "text_en": "Reverted",
            "text_ar": "x",
            "arabic_text_status": "working",
            "position": 1,
        },
    )
    assert response.status_code == 403
    recommendation.refresh_from_db()
    assert recommendation.text_en == "Changed by the secretariat"


def test_it_lets_only_a_superuser_grant_superuser_status(client, secretariat_officer, reviewer):
    client.force_login(secretariat_officer)
    page = client.get(reverse("admin:auth_user_change", args=[reviewer.pk])).content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' in page


def test_it_redirects_bookmarks_of_admin_pages_that_moved_to_their_rooms(admin_client):
    response = admin_client.get("/admin/tracker/reminder/?state__exact=failed")
    assert (response.status_code, response["Location"]) == (301, "/admin/reminders/reminder/?state__exact=failed")
    response = admin_client.get("/admin/tracker/apitoken/add/")
    assert (response.status_code, response["Location"]) == (301, "/admin/api/apitoken/add/")


def test_it_keeps_the_schedule_and_raw_tokens_out_of_the_secretariats_admin(client, secretariat_officer):
    client.force_login(secretariat_officer)
    index = client.get(reverse("admin:index")).content.decode()
    assert "/admin/django_celery_beat/" not in index and "/admin/knox/" not in index
    assert "/admin/otp_totp/totpdevice/" in index  # enrolling an authenticator stays theirs
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 403


def test_it_names_third_party_sections_in_arabic(client, secretariat_officer):
    client.force_login(secretariat_officer)
    client.cookies["wrt_language"] = "ar"
    index = client.get(reverse("admin:index")).content.decode()
    assert "TOTP devices" not in index and "Otp_Totp" not in index and "Axes" not in index
