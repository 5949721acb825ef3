"""An admin export as a job, never built in the request: requested (an AdminExport row with the change list's
filters and search, the resource, columns and format the export form chose), claimed once by the Celery task
`tracker.secretariat.write_export`, written chunk by chunk with its progress recorded, stored as a private file.

The worker rebuilds the change list's queryset through the ModelAdmin itself (get_export_queryset, the same
ChangeList the admin's export uses) from the stored query string, for the user who asked, after checking again
that this user may still export: every filter, search, order and get_queryset() restriction applies as it would
have in the request. Only that user, a superuser, or a secretariat member who may view the model downloads it.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from itertools import islice

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from import_export.formats.base_formats import BINARY_FORMATS

from tracker.core import file_jobs
from tracker.core.permissions import is_secretariat
from tracker.secretariat.export_writers import writer_for
from tracker.secretariat.models import AdminExport

log = logging.getLogger(__name__)
State = AdminExport.State

CHUNK_ROWS = 2000  # rows per database fetch and per write; progress is recorded after each chunk
# A write not finished after this stopped (a worker killed or restarted): the task's hard limit is 30 minutes.
WRITE_LEASE = timedelta(minutes=35)
# An export no worker took in this time was lost on its way (or no worker runs): it fails, and can be asked again.
QUEUE_TIMEOUT = timedelta(hours=1)


class ExportRefused(Exception):
    """The person who asked may no longer export this list: the job fails with this message."""


def request_export(model_admin, request, file_format, export_form=None) -> AdminExport:
    """Record the export the admin's form asked for and queue it once the transaction commits."""
    expire_stopped_exports()
    opts = model_admin.model._meta
    fields = model_admin.get_export_resource_fields_from_form(export_form) if export_form is not None else None
    job = AdminExport.objects.create(
        app_label=opts.app_label,
        model_name=opts.model_name,
        query=request.GET.urlencode(),
        resource=model_admin.get_resource_index(export_form),
        fields=list(fields or []),
        format=file_format.get_extension(),
        language=translation.get_language() or "",
        requested_by=request.user,
    )
    transaction.on_commit(lambda: enqueue(job.pk))
    return job


def enqueue(job_id: int) -> None:
    """Hand the export to a worker; if the broker cannot be reached, the export fails at once with a message
    (rather than waiting for ever) and can be asked for again."""
    from tracker.secretariat.tasks import write_admin_export

    try:
        write_admin_export.apply_async(args=[job_id], retry=False)
    except Exception as error:  # any broker error: the page must answer, never a 500
        log.warning("admin export %s not queued, the broker is unavailable: %r", job_id, error)
        message = _("Not queued: the task queue cannot be reached (%(error)r). Ask again later.")
        _fail(job_id, message % {"error": error})


def claim(job_id: int):
    """Take a queued export to write it (only one worker ever does): (export, mine) or None."""
    return file_jobs.claim(AdminExport.objects.select_related("requested_by"), job_id, working=State.WRITING)


def run(job_id: int) -> bool:
    """Claim, write and store one export; False if it was not ours to write (already claimed, or gone)."""
    claimed = claim(job_id)
    if claimed is None:
        return False
    job, mine = claimed
    with tempfile.TemporaryFile() as stream:
        try:
            with translation.override(job.language or None):
                write(job, stream, progress=lambda rows, percent: mine.update(rows=rows, progress=percent))
        except ExportRefused as error:
            mine.update(state=State.FAILED, error=str(error)[:2000], finished_at=timezone.now())
            return True
        except Exception as error:  # recorded on the job, which the status page shows as failed
            log.exception("admin export %s failed", job.pk)
            mine.update(state=State.FAILED, error=f"{type(error).__name__}: {error}"[:2000], finished_at=timezone.now())
            return True
        _store(job, mine, stream)
    return True


def write(job: AdminExport, stream, progress=lambda rows, percent: None) -> int:
    """Write the job's export to the binary stream; the number of rows written."""
    model_admin = admin.site.get_model_admin(job_model(job))
    request = replayed_request(job)
    if not (model_admin.has_export_permission(request) and model_admin.has_view_or_change_permission(request)):
        raise ExportRefused(_("%(user)s may no longer export this list.") % {"user": request.user})
    queryset = model_admin.get_export_queryset(request)  # the admin's ChangeList: filters, search, order, scope
    file_format = _format(model_admin, job.format)
    resource_class = model_admin.get_export_resource_classes(request)[job.resource]
    resource = resource_class(**model_admin.get_export_resource_kwargs(request))
    selected = job.fields or None
    kwargs = {"export_fields": selected, "force_native_type": type(file_format) in BINARY_FORMATS}
    # As Resource.export(), but a chunk at a time (its after_export hook, which none of ours has, needs the
    # whole dataset in memory and is not called).
    resource.before_export(queryset, **kwargs)
    queryset = resource.filter_export(queryset, **kwargs)
    total = queryset.count()
    writer = writer_for(file_format, resource.get_export_headers(selected_fields=selected), stream)
    rows = resource.iter_queryset(queryset)
    written = 0
    while chunk := list(islice(rows, CHUNK_ROWS)):
        writer.write([resource.export_resource(obj, selected_fields=selected, **kwargs) for obj in chunk])
        written += len(chunk)
        progress(written, min(99, written * 100 // max(total, 1)))
    writer.close()
    return written


def replayed_request(job: AdminExport) -> HttpRequest:
    """The change list's request as the admin saw it: its query string, its user, its language.

    The user signed in to the admin with their second factor to ask for the export (the admin site requires
    it), so the replayed request counts as verified, as django-otp's middleware marked the real one."""
    user = get_user_model().objects.get(pk=job.requested_by_id)
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(job.query)
    request.path = request.path_info = reverse(f"admin:{job.app_label}_{job.model_name}_changelist")
    request.META = {"SERVER_NAME": "worker", "SERVER_PORT": "80", "QUERY_STRING": job.query}
    request.user = user
    request.LANGUAGE_CODE = job.language
    return request


def job_model(job: AdminExport):
    from django.apps import apps

    return apps.get_model(job.app_label, job.model_name)


def _format(model_admin, extension: str):
    for format_class in model_admin.get_export_formats():
        if format_class().get_extension() == extension:
            return format_class()
    raise ExportRefused(_("The format %(format)s is no longer offered.") % {"format": extension})


def _store(job: AdminExport, mine, stream) -> None:
    stream.seek(0)
    file_jobs.store(job, mine, f"{job.model_name}.{job.format}", File(stream))


def _fail(job_id: int, error: str) -> None:
    file_jobs.fail(AdminExport, job_id, error, working=State.WRITING)


def expire_stopped_exports() -> int:
    """Writes that outlived their lease, and exports no worker took, fail (core.file_jobs.expire_stopped)."""
    return file_jobs.expire_stopped(AdminExport, State.WRITING, "export", WRITE_LEASE, QUEUE_TIMEOUT)


def may_see(job: AdminExport, request, model_admin) -> bool:
    """The person who asked, a superuser, or a secretariat member who may view the model's list."""
    user = request.user
    if user.pk == job.requested_by_id or user.is_superuser:
        return True
    return is_secretariat(user) and model_admin.has_view_or_change_permission(request)


def download_name(job: AdminExport) -> str:
    """As the admin names its exports (Model-YYYY-MM-DD.ext), dated on the day it was asked for."""
    model = job_model(job)
    return f"{model.__name__}-{timezone.localdate(job.created_at):%Y-%m-%d}.{job.format}"
