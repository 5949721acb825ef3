"""The secretariat's everyday work in the admin: cycles, handovers, archiving, import/export, history, 2FA."""

import io
from datetime import timedelta
from unittest import mock

import openpyxl
import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tracker.core import models, services
from tracker.secretariat import export_jobs
from tracker.secretariat.models import AdminExport

pytestmark = pytest.mark.django_db


def changelist(model):
    return reverse(f"admin:tracker_{model._meta.model_name}_changelist")


def act(client, model, action, objs, **extra):
    data = {"action": action, "_selected_action": [o.pk for o in objs], **extra}
    return client.post(changelist(model), data, follow=True, HTTP_ACCEPT_LANGUAGE="en")


def planned_cycle(body, **extra):
    today = timezone.localdate()
    return models.ReviewCycle.objects.create(
        body=body,
        name_en="2027 H1",
        name_ar="النصف الأول 2027",
        period_start=today,
        period_end=today + timedelta(days=180),
        report_deadline=today + timedelta(days=190),
        **extra,
    )


def test_it_moves_a_cycle_through_its_states_and_freezes_a_snapshot(client, secretariat_officer, reference):
    cycle = planned_cycle(reference)
    client.force_login(secretariat_officer)
    for action, state in [("open_cycle", "open"), ("start_review", "under_review"), ("close_cycle", "closing")]:
        act(client, models.ReviewCycle, action, [cycle], confirmed="yes")
        cycle.refresh_from_db()
        assert cycle.state == state
    services.finish_close(cycle.pk)  # what the Celery task runs
    assert models.ReviewCycle.objects.get(pk=cycle.pk).state == "closed"
    assert models.CycleSnapshot.objects.filter(cycle=cycle).count() == 7 * 22


def test_it_asks_to_confirm_a_close_and_says_what_it_freezes(client, secretariat_officer, reference):
    cycle = planned_cycle(reference)
    client.force_login(secretariat_officer)
    act(client, models.ReviewCycle, "open_cycle", [cycle])
    act(client, models.ReviewCycle, "start_review", [cycle])
    page = act(client, models.ReviewCycle, "close_cycle", [cycle]).content.decode()
    cycle.refresh_from_db()
    assert cycle.state == "under_review" and "154 followed-up items, 0 reported in the cycle" in page
    page = act(client, models.ReviewCycle, "close_cycle", [cycle], confirmed="yes").content.decode()
    cycle.refresh_from_db()
    assert cycle.state == "closing" and "its record is being frozen in the background" in page


def test_it_refuses_an_illegal_cycle_move_with_a_clear_message(client, secretariat_officer, reference):
    cycle = planned_cycle(reference)
    client.force_login(secretariat_officer)
    page = act(client, models.ReviewCycle, "close_cycle", [cycle]).content.decode()
    cycle.refresh_from_db()
    assert cycle.state == "planned"
    assert "cannot become Closed" in page


def test_it_hands_over_to_a_new_focal_point_keeping_history(client, secretariat_officer, egypt_focal_point):
    old = models.FocalPointDesignation.objects.get(user=egypt_focal_point)
    client.force_login(secretariat_officer)
    url = reverse("admin:tracker_focalpointdesignation_handover", args=[old.pk])
    with_commit = {
        "email": "new.fp@interior.gov.eg",
        "first_name": "Karim",
        "last_name": "Said",
        "language": "ar",
        "phone": "+20 100",
    }
    response = client.post(url, with_commit)
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.end_date == timezone.localdate()
    new = models.FocalPointDesignation.objects.get(user__email="new.fp@interior.gov.eg")
    assert (new.member_state.iso_code, new.role, new.end_date) == ("EG", "primary", None)
    assert old.history.count() == 2


def test_it_emails_the_new_focal_point_a_link_to_set_a_password(
    client, secretariat_officer, egypt_focal_point, django_capture_on_commit_callbacks
):
    old = models.FocalPointDesignation.objects.get(user=egypt_focal_point)
    client.force_login(secretariat_officer)
    url = reverse("admin:tracker_focalpointdesignation_handover", args=[old.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"email": "new.fp@interior.gov.eg", "language": "en"})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    client.logout()
    page = client.get(link.replace("http://127.0.0.1:8000", ""), follow=True)
    assert page.status_code == 200 and b"id_new_password1" in page.content


def test_it_designates_a_new_focal_point_from_the_admin(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    jordan = models.MemberState.objects.get(iso_code="JO")
    response = client.post(
        reverse("admin:tracker_focalpointdesignation_designate"),
        {
            "email": "fp@moi.gov.jo",
            "language": "en",
            "member_state": jordan.pk,
            "body": reference.pk,
            "role": "alternate",
        },
    )
    assert response.status_code == 302
    assert models.FocalPointDesignation.objects.filter(member_state=jordan, role="alternate").exists()


def test_it_refuses_a_second_active_primary_with_a_message(client, secretariat_officer, egypt_focal_point, reference):
    client.force_login(secretariat_officer)
    egypt = models.MemberState.objects.get(iso_code="EG")
    response = client.post(
        reverse("admin:tracker_focalpointdesignation_designate"),
        {
            "email": "second@moi.gov.eg",
            "language": "ar",
            "member_state": egypt.pk,
            "body": reference.pk,
            "role": "primary",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "already has an active primary focal point" in response.content.decode()
    assert models.FocalPointDesignation.objects.filter(member_state=egypt).count() == 1


def test_it_archives_and_publishes_recommendations_with_history(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    recommendation = models.Recommendation.objects.get(reference="R1")
    act(client, models.Recommendation, "archive", [recommendation])
    act(client, models.Recommendation, "mark_confidential", [recommendation])
    recommendation.refresh_from_db()
    assert recommendation.is_archived and not recommendation.is_public
    latest = recommendation.history.first()
    assert latest.history_user == secretariat_officer


def test_it_shows_who_changed_what_in_the_history(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    recommendation = models.Recommendation.objects.get(reference="R1")
    act(client, models.Recommendation, "archive", [recommendation])
    url = reverse("admin:tracker_recommendation_history", args=[recommendation.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "officer" in page and "Archived" in page


def csv_upload(text, name="recommendations.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def import_file(client, model, upload, file_format="0"):
    url = reverse(f"admin:tracker_{model._meta.model_name}_import")
    return client.post(url, {"import_file": upload, "format": file_format, "resource": "0"}, HTTP_ACCEPT_LANGUAGE="en")


GOOD_ROWS = (
    "meeting,reference,position,text_en,text_ar,arabic_text_status,themes,applies_to,target_date,"
    "is_public,is_archived\n"
    "2021-sharm-el-sheikh-workshop,R8,8,Train border officials,تدريب موظفي الحدود,official,"
    "access-to-territory,EG;JO,2027-06-30,1,0\n"
)


def test_it_previews_an_import_before_saving_anything(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    response = import_file(client, models.Recommendation, csv_upload(GOOD_ROWS))
    assert response.status_code == 200
    assert "Confirm import" in response.content.decode() or "confirm" in response.content.decode().lower()
    assert not models.Recommendation.objects.filter(reference="R8").exists()


def test_it_refuses_a_bad_file_with_row_level_messages_and_changes_nothing(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    bad = GOOD_ROWS + "no-such-meeting,R9,9,x,س,official,,,,1,0\n2021-sharm-el-sheikh-workshop,,10,,,,,,,1,0\n"
    page = import_file(client, models.Recommendation, csv_upload(bad)).content.decode()
    assert "No meeting with code “no-such-meeting”" in page
    assert "Some rows failed to validate" in page and "This field cannot be blank" in page
    assert not models.Recommendation.objects.filter(reference__in=["R8", "R9"]).exists()


def test_it_exports_with_formulas_escaped(client, secretariat_officer, reference):
    models.Recommendation.objects.filter(reference="R1").update(text_en='=HYPERLINK("http://evil")')
    client.force_login(secretariat_officer)
    url = reverse("admin:tracker_recommendation_export")
    with mock.patch("tracker.secretariat.tasks.write_admin_export.apply_async"):
        response = client.post(
            url,
            {
                "format": "1",
                "resource": "0",
                **{f"recommendationresource_{f}": "on" for f in ["meeting", "reference", "text_en", "text_ar"]},
            },
        )
    assert response.status_code == 302  # to the export's status page: the worker writes it (test_exports.py)
    export_jobs.run(AdminExport.objects.get().pk)
    download = client.get(response["Location"].rstrip("/") + "/download/")
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    values = [cell.value for row in workbook.active.iter_rows() for cell in row]
    assert '\'=HYPERLINK("http://evil")' in values
    assert '=HYPERLINK("http://evil")' not in values


def test_it_keeps_the_change_list_queries_constant(
    client, secretariat_officer, reference, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(secretariat_officer)
    for model in (models.Implementation, models.ProgressReport):
        with CaptureQueriesContext(connection) as short:
            client.get(changelist(model) + "?p=1")
        with CaptureQueriesContext(connection) as long:
            client.get(changelist(model) + "?p=2")
        assert len(long) <= len(short) + 1, model


def test_it_requires_a_totp_code_when_the_deployment_makes_it_mandatory(client, secretariat_officer, settings):
    from tests.conftest import PASSWORD

    settings.OTP_REQUIRED_FOR_SECRETARIAT = True
    client.post("/admin/login/?next=/admin/", {"username": "officer", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en")
    response = client.get("/admin/")  # the password alone opens nothing: the account must enrol first
    assert (response.status_code, response["Location"]) == (302, "/accounts/two-factor/?next=/admin/")


def test_it_signs_in_with_a_totp_code_once_an_authenticator_is_registered(client, secretariat_officer, settings):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.conftest import PASSWORD

    settings.OTP_REQUIRED_FOR_SECRETARIAT = True
    device = TOTPDevice.objects.create(user=secretariat_officer, name="phone", confirmed=True)
    token = str(totp(device.bin_key)).zfill(6)
    client.post(
        "/admin/login/?next=/admin/",
        {"username": "officer", "password": PASSWORD, "otp_device": device.persistent_id, "otp_token": token},
    )
    assert client.get("/admin/").status_code == 200


def test_it_lets_secretariat_without_2fa_in_when_it_is_optional(client, secretariat_officer, settings):
    from tests.conftest import PASSWORD

    settings.OTP_REQUIRED_FOR_SECRETARIAT = False
    client.post("/admin/login/?next=/admin/", {"username": "officer", "password": PASSWORD})
    assert client.get("/admin/").status_code == 200


def xlsx_upload(rows, name="focal-points.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/vnd.ms-excel")


FOCAL_HEADER = [
    "username",
    "email",
    "member_state",
    "body",
    "role",
    "start_date",
    "end_date",
    "preferred_language",
    "phone",
]


def test_it_previews_focal_points_from_xlsx_and_lists_bad_rows(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    rows = [
        FOCAL_HEADER,
        ["fp-ma", "fp@interieur.gov.ma", "MA", "aimc", "primary", "2026-01-01", None, "ar", "+212"],
        ["fp-xx", "fp@nowhere.example", "XX", "aimc", "primary", "2026-01-01", None, "ar", ""],
    ]
    page = import_file(client, models.FocalPointDesignation, xlsx_upload(rows), file_format="1").content.decode()
    assert "No member state with iso_code “XX”" in page
    assert not models.FocalPointDesignation.objects.exists()
    from django.contrib.auth.models import User

    assert not User.objects.filter(username__in=["fp-ma", "fp-xx"]).exists()


def test_it_imports_focal_points_after_the_preview_is_confirmed(client, secretariat_officer, reference):
    from django.contrib.auth.models import User

    client.force_login(secretariat_officer)
    rows = [FOCAL_HEADER, ["fp-ma", "fp@interieur.gov.ma", "MA", "aimc", "primary", "2026-01-01", None, "ar", "+212"]]
    preview = import_file(client, models.FocalPointDesignation, xlsx_upload(rows), file_format="1")
    assert not User.objects.filter(username="fp-ma").exists()  # the dry run saved nothing
    confirm = preview.context["confirm_form"].initial
    response = client.post(reverse("admin:tracker_focalpointdesignation_process_import"), confirm)
    assert response.status_code == 302
    designation = models.FocalPointDesignation.objects.get(user__username="fp-ma")
    assert (designation.member_state.iso_code, designation.role) == ("MA", "primary")
    assert designation.user.groups.filter(name="Focal point").exists()


def test_it_imports_recommendations_in_both_languages(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    preview = import_file(client, models.Recommendation, csv_upload(GOOD_ROWS))
    client.post(reverse("admin:tracker_recommendation_process_import"), preview.context["confirm_form"].initial)
    recommendation = models.Recommendation.objects.get(reference="R8")
    assert recommendation.text_ar == "تدريب موظفي الحدود"
    assert sorted(recommendation.applies_to.values_list("iso_code", flat=True)) == ["EG", "JO"]
    assert recommendation.implementations.filter(applies=True).count() == 2
