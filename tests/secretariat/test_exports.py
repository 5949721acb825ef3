"""The admin's exports run on the worker (issue 19): the form queues a job, the worker writes the change list
as the admin filtered and searched it, with the admin's own columns; the status page shows its progress; only
the person who asked (or a superuser, or the secretariat) downloads it. Imports over a cap are refused."""

import csv
import datetime as dt
import io
import json
from unittest import mock

import openpyxl
import pytest
import time_machine
from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from import_export.admin import ExportMixin

from tests.conftest import make_user
from tests.secretariat.test_work import GOOD_ROWS, csv_upload, import_file
from tracker.core import models
from tracker.core.permissions import SECRETARIAT_GROUP
from tracker.secretariat import export_jobs
from tracker.secretariat.models import AdminExport
from tracker.secretariat.tasks import write_admin_export

pytestmark = pytest.mark.django_db

FORMATS = {"csv": "0", "xlsx": "1", "tsv": "2", "json": "3"}


def model_admin(model):
    return admin.site.get_model_admin(model)


def export_url(model, query=""):
    return reverse(f"admin:tracker_{model._meta.model_name}_export") + (f"?{query}" if query else "")


def every_column(model):
    """The export form's data with every column of the first resource ticked, as the form shows it."""
    found = model_admin(model)
    form = found.get_export_form_class()(found.get_export_formats(), found.get_export_resource_classes(None))
    ticked = {name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)}
    return {**ticked, "resource": "0"}


def ask(client, model, query="", fmt="csv", **extra):
    """Post the admin's export form, the broker mocked: the job stays queued for the test to run."""
    data = {**every_column(model), "format": FORMATS[fmt], **extra}
    with mock.patch("tracker.secretariat.tasks.write_admin_export.apply_async") as publish:
        response = client.post(export_url(model, query), data, HTTP_ACCEPT_LANGUAGE="en")
    return response, publish


def the_admins_own_file(user, model, query, fmt="csv"):
    """What django-import-export built in the request before: its own export of the same change list."""
    found = model_admin(model)
    request = RequestFactory().get(export_url(model, query))
    request.user = user
    user.is_verified = lambda: True
    file_format = next(f() for f in found.get_export_formats() if f().get_extension() == fmt)
    return ExportMixin.get_export_data(found, file_format, request, found.get_export_queryset(request))


def rows_of(data):
    return list(csv.reader(io.StringIO(data.decode() if isinstance(data, bytes) else data)))


@pytest.fixture
def superuser(reference):
    return make_user("root", SECRETARIAT_GROUP, is_staff=True, is_superuser=True)


@pytest.fixture
def egypt(reference):
    return models.MemberState.objects.get(iso_code="EG")


# --- the request queues, the worker writes -------------------------------------------------------


def test_it_queues_the_export_and_builds_nothing_in_the_request(
    client, secretariat_officer, egypt, django_capture_on_commit_callbacks
):
    client.force_login(secretariat_officer)
    query = f"member_state__id__exact={egypt.pk}&q=R1"
    data = {**every_column(models.Implementation), "format": "0"}
    with (
        mock.patch("import_export.resources.Resource.export") as build,
        mock.patch("tracker.secretariat.tasks.write_admin_export.apply_async") as publish,
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(export_url(models.Implementation, query), data)
            publish.assert_not_called()  # published once the transaction commits, for the worker to see the row
    job = AdminExport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracker_implementation_export_status", args=[job.pk])
    build.assert_not_called()
    assert len(callbacks) == 1
    publish.assert_called_once_with(args=[job.pk], retry=False)
    assert (job.state, job.query, job.format, job.requested_by) == ("queued", query, "csv", secretariat_officer)
    assert not job.file


@pytest.mark.parametrize("query", ["", "status__exact=not_started", "q=R1", "member_state__id__exact={eg}&q=R1"])
def test_it_writes_the_filtered_and_searched_list_as_the_admin_did(client, secretariat_officer, egypt, query):
    query = query.format(eg=egypt.pk)
    client.force_login(secretariat_officer)
    ask(client, models.Implementation, query)
    job = AdminExport.objects.get()
    assert write_admin_export.run(job.pk) is True
    job.refresh_from_db()
    written = job.file.read()
    expected = the_admins_own_file(secretariat_officer, models.Implementation, query)
    assert written.decode() == expected  # the same columns, rows and order, byte for byte
    assert (job.state, job.progress, job.rows) == ("ready", 100, len(rows_of(expected)) - 1)


def test_it_narrows_the_export_by_the_filter_and_the_search(client, secretariat_officer, egypt):
    client.force_login(secretariat_officer)
    lists = {}
    for query in ["", f"member_state__id__exact={egypt.pk}", "q=R1", f"member_state__id__exact={egypt.pk}&q=R1"]:
        ask(client, models.Implementation, query)
        job = AdminExport.objects.latest("pk")
        export_jobs.run(job.pk)
        job.refresh_from_db()
        lists[query] = rows_of(job.file.read())
    header = lists[""][0]
    assert header[:3] == ["id", "recommendation", "member_state"]
    state, recommendation = header.index("member_state"), header.index("recommendation")
    r1 = models.Recommendation.objects.get(reference="R1").pk
    assert len(lists[""]) - 1 == 154
    assert {row[state] for row in lists[f"member_state__id__exact={egypt.pk}"][1:]} == {str(egypt.pk)}
    assert len(lists[f"member_state__id__exact={egypt.pk}"]) - 1 == 7
    assert {row[recommendation] for row in lists["q=R1"][1:]} == {str(r1)} and len(lists["q=R1"]) - 1 == 22
    both = lists[f"member_state__id__exact={egypt.pk}&q=R1"][1:]
    assert [(row[recommendation], row[state]) for row in both] == [(str(r1), str(egypt.pk))]


@pytest.mark.parametrize("fmt", ["xlsx", "json", "tsv"])
def test_it_writes_every_format_with_the_admins_columns(client, secretariat_officer, reference, fmt):
    models.Recommendation.objects.filter(reference="R1").update(text_en='=HYPERLINK("http://evil")\nsecond line')
    client.force_login(secretariat_officer)
    ask(client, models.Recommendation, "q=R", fmt=fmt)
    job = AdminExport.objects.get()
    export_jobs.run(job.pk)
    job.refresh_from_db()
    written = job.file.read()
    expected = the_admins_own_file(secretariat_officer, models.Recommendation, "q=R", fmt)
    if fmt == "xlsx":
        read = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(written)).active.iter_rows()]
        want = [[c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(expected)).active.iter_rows()]
        assert read == want and len(read) == 8
        assert '\'=HYPERLINK("http://evil")\nsecond line' in [cell for row in read for cell in row]
    elif fmt == "json":
        assert json.loads(written) == json.loads(expected) and len(json.loads(written)) == 7
        assert written.decode() == expected
    else:
        assert written.decode() == expected and expected.count("\r\n") == 8


def test_it_keeps_only_the_columns_ticked_in_the_form(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    data = {"format": "0", "resource": "0", "recommendationresource_reference": "on"}
    data |= {"recommendationresource_text_ar": "on"}
    with mock.patch("tracker.secretariat.tasks.write_admin_export.apply_async"):
        client.post(export_url(models.Recommendation), data)
    job = AdminExport.objects.get()
    export_jobs.run(job.pk)
    job.refresh_from_db()
    assert rows_of(job.file.read())[0] == ["reference", "text_ar"]


def test_it_applies_the_admins_queryset_restrictions_on_the_worker(client, secretariat_officer, egypt):
    """Whatever get_queryset() hides from the person who asked is not written either."""
    found = model_admin(models.Implementation)
    client.force_login(secretariat_officer)
    ask(client, models.Implementation)
    job = AdminExport.objects.get()
    original = type(found).get_queryset

    def scoped(self, request):
        assert request.user == secretariat_officer
        return original(self, request).filter(member_state=egypt)

    with mock.patch.object(type(found), "get_queryset", scoped):
        export_jobs.run(job.pk)
    job.refresh_from_db()
    assert job.rows == 7


def test_it_records_the_progress_chunk_by_chunk(client, secretariat_officer, reference, monkeypatch):
    monkeypatch.setattr(export_jobs, "CHUNK_ROWS", 50)
    client.force_login(secretariat_officer)
    ask(client, models.Implementation)
    job = AdminExport.objects.get()
    seen = []
    export_jobs.write(job, io.BytesIO(), progress=lambda rows, percent: seen.append((rows, percent)))
    assert seen == [(50, 32), (100, 64), (150, 97), (154, 99)]
    export_jobs.run(job.pk)
    job.refresh_from_db()
    assert (job.rows, job.progress, job.state) == (154, 100, "ready")


# --- the job: claimed once, failed clearly, expired ----------------------------------------------


def test_it_writes_a_queued_export_once_even_when_the_task_runs_twice(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    ask(client, models.ReviewOutcome)
    job = AdminExport.objects.get()
    assert export_jobs.claim(job.pk) is not None
    assert export_jobs.claim(job.pk) is None
    AdminExport.objects.filter(pk=job.pk).update(state="queued")
    assert write_admin_export.run(job.pk) is True
    job.refresh_from_db()
    name = job.file.name
    assert write_admin_export.run(job.pk) is False  # the broker delivered it again
    job.refresh_from_db()
    assert job.file.name == name and job.state == "ready"
    assert name.startswith("exports/") and name.endswith(".csv")


def test_it_fails_the_export_at_once_when_the_broker_is_down(
    client, secretariat_officer, reference, django_capture_on_commit_callbacks
):
    client.force_login(secretariat_officer)
    data = {**every_column(models.ProgressReport), "format": "0"}
    with mock.patch(
        "tracker.secretariat.tasks.write_admin_export.apply_async", side_effect=OSError("connection refused")
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(export_url(models.ProgressReport), data, HTTP_ACCEPT_LANGUAGE="en")
    job = AdminExport.objects.get()
    assert (job.state, job.finished_at is not None) == ("failed", True)
    assert "Not queued: the task queue cannot be reached" in job.error and "connection refused" in job.error
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "could not be written" in page and "the task queue cannot be reached" in page
    assert 'http-equiv="refresh"' not in page


def test_it_records_a_failed_write_on_the_job(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    ask(client, models.Implementation)
    job = AdminExport.objects.get()
    with mock.patch("tracker.secretariat.export_jobs.writer_for", side_effect=OSError("disk full")):
        assert export_jobs.run(job.pk) is True
    job.refresh_from_db()
    assert job.state == "failed" and "disk full" in job.error and not job.file


def test_it_fails_the_export_of_someone_who_may_no_longer_export(client, reviewer, reference):
    client.force_login(reviewer)
    ask(client, models.Implementation)
    job = AdminExport.objects.get()
    reviewer.groups.clear()  # no longer a reviewer: may not view the list any more
    export_jobs.run(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and "may no longer export this list" in job.error and not job.file


def test_it_gives_up_on_exports_that_outlived_their_lease(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    when = timezone.now()  # the session signed in now: no far travel
    with time_machine.travel(when, tick=False):
        ask(client, models.Implementation)
        ask(client, models.ProgressReport)  # never taken by a worker
        stuck = AdminExport.objects.get(model_name="implementation")
        export_jobs.claim(stuck.pk)
    with time_machine.travel(when + dt.timedelta(minutes=30), tick=False):
        assert export_jobs.expire_stopped_exports() == 0
    with time_machine.travel(when + dt.timedelta(hours=2), tick=False):
        assert export_jobs.expire_stopped_exports() == 2
        assert export_jobs.run(stuck.pk) is False  # a late delivery finds it no longer queued
    assert set(AdminExport.objects.values_list("state", flat=True)) == {"failed"}


# --- the pages: progress, download, who may see them ------------------------------------------------


def test_it_refreshes_the_status_page_while_the_export_is_written(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    response, _ = ask(client, models.Implementation)
    job = AdminExport.objects.get()
    AdminExport.objects.filter(pk=job.pk).update(state="writing", progress=40, rows=62)
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page and 'value="40"' in page and "62 rows written" in page
    download = reverse("admin:tracker_implementation_export_download", args=[job.pk])
    assert client.get(download)["Location"] == response["Location"]  # not ready: back to the status


def test_it_shows_the_status_page_right_to_left_in_arabic(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    response, _ = ask(client, models.Implementation)
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in page and 'lang="ar"' in page


def test_it_downloads_the_ready_export_for_the_person_who_asked(client, secretariat_officer, reference):
    client.force_login(secretariat_officer)
    response, _ = ask(client, models.Implementation, fmt="xlsx")
    job = AdminExport.objects.get()
    export_jobs.run(job.pk)
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    download = reverse("admin:tracker_implementation_export_download", args=[job.pk])
    assert download in page and "154 rows written" in page and 'http-equiv="refresh"' not in page
    answer = client.get(download)
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f'filename="Implementation-{timezone.localdate():%Y-%m-%d}.xlsx"' in answer["Content-Disposition"]
    assert "private" in answer["Cache-Control"] and "no-store" in answer["Cache-Control"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    assert sheet.max_row == 155 and sheet.freeze_panes == "A2"


def test_it_keeps_an_export_from_other_people(client, secretariat_officer, reviewer, superuser, reference):
    client.force_login(secretariat_officer)
    ask(client, models.FocalPointDesignation)
    job = AdminExport.objects.get()
    export_jobs.run(job.pk)
    status = reverse("admin:tracker_focalpointdesignation_export_status", args=[job.pk])
    download = reverse("admin:tracker_focalpointdesignation_export_download", args=[job.pk])
    client.force_login(reviewer)  # may export the list too, but this one is not theirs
    assert client.get(status).status_code == 403
    assert client.get(download).status_code == 403
    other_list = reverse("admin:tracker_implementation_export_download", args=[job.pk])
    client.force_login(secretariat_officer)
    assert client.get(other_list).status_code == 404  # a job is reached only through its own list
    for person in (superuser, make_user("officer-2", SECRETARIAT_GROUP, is_staff=True)):
        client.force_login(person)
        assert client.get(download).status_code == 200
    client.logout()
    assert client.get(download).status_code == 302  # to the sign-in page


def test_it_keeps_the_export_from_a_secretariat_member_who_may_not_view_the_list(client, secretariat_officer):
    client.force_login(secretariat_officer)
    ask(client, models.ProgressReport)
    job = AdminExport.objects.get()
    export_jobs.run(job.pk)
    colleague = make_user("officer-3", SECRETARIAT_GROUP, is_staff=True)
    colleague.groups.get().permissions.remove(
        *Permission.objects.filter(codename__in=["view_progressreport", "change_progressreport"])
    )
    client.force_login(colleague)
    assert client.get(reverse("admin:tracker_progressreport_export_download", args=[job.pk])).status_code == 403


# --- imports: capped, in the request ---------------------------------------------------------------


def test_it_refuses_an_import_over_the_row_cap_and_writes_nothing(client, secretariat_officer, reference, settings):
    settings.ADMIN_IMPORT_MAX_ROWS = 1
    client.force_login(secretariat_officer)
    two = GOOD_ROWS + GOOD_ROWS.splitlines()[1].replace(",R8,8,", ",R9,9,") + "\n"
    response = import_file(client, models.Recommendation, csv_upload(two))
    page = response.content.decode()
    assert response.status_code == 200
    assert "This file has 2 rows; an import takes at most 1." in page and "nothing was imported" in page
    assert "Confirm import" not in page
    assert not models.Recommendation.objects.filter(reference__in=["R8", "R9"]).exists()
    settings.ADMIN_IMPORT_MAX_ROWS = 2
    page = import_file(client, models.Recommendation, csv_upload(two)).content.decode()
    assert "Confirm import" in page and "at most" not in page


# --- a real worker -------------------------------------------------------------------------------


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_it_writes_the_export_in_a_real_worker(client, secretariat_officer, egypt):
    from tests.support.services import IN_CI, require_redis, start_worker, subprocess_env, wait_for

    if IN_CI:
        require_redis()
    client.force_login(secretariat_officer)
    query = f"member_state__id__exact={egypt.pk}"
    data = {**every_column(models.Implementation), "format": "0"}
    response = client.post(export_url(models.Implementation, query), data, HTTP_ACCEPT_LANGUAGE="en")
    job = AdminExport.objects.get()
    assert response.status_code == 302 and job.state == "queued"

    def finished():
        job.refresh_from_db()
        return job.state in ("ready", "failed")

    with start_worker(subprocess_env(), name="export-worker") as worker:
        try:
            wait_for(finished, timeout=120, interval=0.1, message="the worker to write the export")
        finally:
            print(worker.output()[-3000:])
    assert (job.state, job.progress, job.rows) == ("ready", 100, 7), job.error
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The export is ready." in page
    download = client.get(reverse("admin:tracker_implementation_export_download", args=[job.pk]))
    written = b"".join(download.streaming_content).decode()
    assert written == the_admins_own_file(secretariat_officer, models.Implementation, query)
