"""The admin's doors: import is a write, designations go through the designation service, no account lifts
itself, and nothing that is a record can be deleted."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.urls import reverse

from tests.secretariat.test_work import FOCAL_HEADER, GOOD_ROWS, csv_upload, import_file, xlsx_upload
from tracker.core import models

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.api.support"]


def test_it_refuses_an_import_from_the_read_only_reviewer(client, reviewer, egypt_focal_point, reference):
    client.force_login(reviewer)
    rows = [FOCAL_HEADER, ["fp-egypt", "fp-egypt@example.org", "JO", "aimc", "alternate", "2026-01-01", None, "en", ""]]
    assert import_file(client, models.FocalPointDesignation, xlsx_upload(rows), file_format="1").status_code == 403
    assert import_file(client, models.Recommendation, csv_upload(GOOD_ROWS)).status_code == 403
    assert not models.FocalPointDesignation.objects.filter(member_state__iso_code="JO").exists()
    page = client.get(reverse("admin:tracker_recommendation_changelist")).content.decode()
    assert "/import/" not in page


def test_it_designates_imported_focal_points_through_the_designation_service(
    client, secretariat_officer, reference, django_capture_on_commit_callbacks
):
    client.force_login(secretariat_officer)
    rows = [FOCAL_HEADER, ["fp-ma", "fp@interieur.gov.ma", "MA", "aimc", "primary", "2026-01-01", None, "ar", "+212"]]
    preview = import_file(client, models.FocalPointDesignation, xlsx_upload(rows), file_format="1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        confirm = preview.context["confirm_form"].initial
        response = client.post(reverse("admin:tracker_focalpointdesignation_process_import"), confirm)
    assert response.status_code == 302
    designation = models.FocalPointDesignation.objects.get(user__email="fp@interieur.gov.ma")
    assert not designation.user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["fp@interieur.gov.ma"]]  # the same welcome link as "Designate"


def test_it_refuses_to_import_a_designation_onto_a_staff_account(client, secretariat_officer, reference):
    admin = User.objects.create_superuser("root", "root@example.org", "a-strong-test-password-2021")
    client.force_login(secretariat_officer)
    rows = [FOCAL_HEADER, ["root", "root@example.org", "JO", "aimc", "primary", "2026-01-01", None, "en", ""]]
    page = import_file(client, models.FocalPointDesignation, xlsx_upload(rows), file_format="1").content.decode()
    assert "staff account" in page
    assert not admin.groups.exists() and not models.FocalPointDesignation.objects.exists()


def test_it_keeps_superusers_out_of_the_secretariats_reach(client, secretariat_officer):
    root = User.objects.create_superuser("root", "root@example.org", "a-strong-test-password-2021")
    client.force_login(secretariat_officer)
    assert client.get(reverse("admin:auth_user_password_change", args=[root.pk])).status_code == 403
    response = client.post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": "Taken-over-2026!", "password2": "Taken-over-2026!"},
    )
    root.refresh_from_db()
    assert response.status_code == 403 and not root.check_password("Taken-over-2026!")
    assert client.get(reverse("admin:auth_user_change", args=[root.pk])).status_code == 403


def test_it_leaves_the_role_groups_to_superusers(client, secretariat_officer):
    client.force_login(secretariat_officer)
    reviewer = Group.objects.get(name="Reviewer")
    granted = reviewer.permissions.count()
    every_permission = list(Permission.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:auth_group_change", args=[reviewer.pk]), {"name": "Reviewer", "permissions": every_permission}
    )
    assert response.status_code == 403 and reviewer.permissions.count() == granted
    assert client.get(reverse("admin:auth_group_add")).status_code == 403


def test_it_deletes_no_people_roles_logs_tokens_or_partners(admin_client, reviewer, api):
    from axes.models import AccessFailureLog, AccessLog

    from tracker.api.models import ApiToken, PartnerSystem

    api("read")  # a partner with a token
    AccessLog.objects.create(username="x", ip_address="127.0.0.1", user_agent="t", path_info="/")
    AccessFailureLog.objects.create(username="x", ip_address="127.0.0.1", user_agent="t", path_info="/")
    for model in (User, Group, AccessLog, AccessFailureLog, ApiToken, PartnerSystem):
        obj = model.objects.filter(pk=reviewer.pk).first() if model is User else model.objects.first()
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_delete", args=[obj.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403, model
        assert model.objects.filter(pk=obj.pk).exists()
