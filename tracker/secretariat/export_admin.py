"""django-import-export in the admin without long requests.

BackgroundExportMixin (before ExportMixin or ImportExportMixin): the export form queues a job
(tracker.secretariat.export_jobs) instead of building the file, and the browser goes to the job's status
page, which refreshes itself until the file is ready to download. Same form, same resources, formats and
columns; the worker applies the change list's filters and search exactly as the admin's export does.

CappedImportMixin (before ImportExportMixin): what is imported (a meeting's recommendations, focal points) comes
tens of rows at a time, so imports stay in the request, capped: a file of more rows than ADMIN_IMPORT_MAX_ROWS (100
by default) is refused with a form error before its dry run, and nothing is written. Measured on PostgreSQL, about
56 ms a recommendation row a step: 100 rows take about 6 s to preview and as long to save (500 took 28 s).
"""

from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tracker.secretariat import export_jobs
from tracker.secretariat.models import AdminExport


class BackgroundExportMixin:
    export_status_template = "admin/tracker/export_status.html"

    def get_urls(self):
        app_label, model_name = self.get_model_info()
        view = self.admin_site.admin_view
        return [
            path("export/<int:pk>/", view(self.export_status_view), name=f"{app_label}_{model_name}_export_status"),
            path(
                "export/<int:pk>/download/",
                view(self.export_download_view),
                name=f"{app_label}_{model_name}_export_download",
            ),
            *super().get_urls(),
        ]

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        """django-import-export's one place that builds the file: the export is queued instead. The queryset
        (the change list's, unevaluated) is rebuilt on the worker from the same query string."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        job = export_jobs.request_export(self, request, file_format, export_form)
        return redirect(self._export_url("export_status", job))

    def export_status_view(self, request, pk):
        export_jobs.expire_stopped_exports()
        job = self._export_job(request, pk)
        app_label, model_name = self.get_model_info()
        changelist = reverse(f"admin:{app_label}_{model_name}_changelist", current_app=self.admin_site.name)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export of %(list)s") % {"list": self.opts.verbose_name_plural},
            "opts": self.opts,
            "job": job,
            "rows_written": ngettext("%(count)s row written", "%(count)s rows written", job.rows) % {"count": job.rows},
            "download_url": self._export_url("export_download", job),
            "changelist_url": f"{changelist}?{job.query}" if job.query else changelist,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.export_status_template, context)

    def export_download_view(self, request, pk):
        job = self._export_job(request, pk)
        if not job.is_ready:
            return redirect(self._export_url("export_status", job))
        try:
            stored = job.file.open("rb")
        except FileNotFoundError:  # removed from the disk by hand: nothing to serve
            raise Http404 from None
        content_type = {f().get_extension(): f().get_content_type() for f in self.get_export_formats()}
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=export_jobs.download_name(job),
            content_type=content_type.get(job.format, "application/octet-stream"),
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def _export_job(self, request, pk):
        opts = self.opts
        job = get_object_or_404(AdminExport, pk=pk, app_label=opts.app_label, model_name=opts.model_name)
        if not export_jobs.may_see(job, request, self):
            raise PermissionDenied
        return job

    def _export_url(self, name, job):
        app_label, model_name = self.get_model_info()
        return reverse(f"admin:{app_label}_{model_name}_{name}", args=[job.pk], current_app=self.admin_site.name)


class ImportTooLarge(ValueError):
    pass


def import_max_rows():
    return settings.ADMIN_IMPORT_MAX_ROWS


@cache
def capped(format_class):
    """The import format, refusing a file of more rows than the cap once read (before any dry run)."""

    def create_dataset(self, in_stream, **kwargs):
        dataset = format_class.create_dataset(self, in_stream, **kwargs)
        if dataset.height > import_max_rows():
            raise ImportTooLarge(
                _(
                    "This file has %(rows)s rows; an import takes at most %(max)s. Split it into smaller files "
                    "and import them one after the other: nothing was imported."
                )
                % {"rows": dataset.height, "max": import_max_rows()}
            )
        return dataset

    return type(format_class.__name__, (format_class,), {"create_dataset": create_dataset, "__module__": __name__})


class CappedImportMixin:
    def get_import_formats(self):
        return [capped(format_class) for format_class in super().get_import_formats()]

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportTooLarge):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)
