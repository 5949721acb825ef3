"""Reporting offline with a workbook: the page, the download, the upload, its preview and its confirmation.

Thin: the rules (what the workbook holds, how an upload is read, previewed and applied, where it waits) are in
tracker.core.workbook; every accepted row goes through services.submit_report. An upload waits between its
preview and its confirmation under a random token that is remembered in the uploader's session and bound to
their account, so nobody else can see or confirm it, and nobody has to upload the file twice.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tracker.core import workbook
from tracker.core.models import MemberState
from tracker.core.permissions import request_access
from tracker.focal.forms import StateCodeField

SESSION_KEY = "workbook_uploads"  # the tokens of this session's uploads waiting for confirmation
RESULT_KEY = "workbook_result"  # what the last confirmed upload did, shown once on the page
KEPT_UPLOADS = 5


class DownloadForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language of the workbook"), choices=settings.LANGUAGES, widget=forms.RadioSelect
    )
    state = StateCodeField(
        MemberState.objects.all(),
        to_field_name="iso_code",
        label=gettext_lazy("Member state"),
        empty_label=gettext_lazy("Choose a member state"),
        error_messages={"required": gettext_lazy("Choose a member state.")},
    )

    def __init__(self, *args, choose_state=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not choose_state:  # a focal point downloads the items of their own states
            del self.fields["state"]


class UploadForm(forms.Form):
    workbook = forms.FileField(
        label=gettext_lazy("The filled-in workbook (.xlsx)"),
        error_messages={
            "required": gettext_lazy("Choose the workbook file to upload."),
            "empty": gettext_lazy("The file is empty."),
        },
    )


def _reporter(request):
    """The caller's access if they report progress (focal points, the secretariat); 403 otherwise."""
    access = request_access(request)
    if not access.can_report:
        raise PermissionDenied(_("Only focal points report progress."))
    return access


def _language(request):
    language = get_language() or settings.LANGUAGE_CODE
    return "ar" if language.startswith("ar") else "en"


def _download_form(request, access, data=None):
    chosen = request.GET.get("state", "")
    initial = {"language": _language(request), "state": chosen.upper()}
    return DownloadForm(data, initial=initial, choose_state=access.all_states)


def _page(request, access, upload_form=None, download_form=None, status=200):
    download_form = download_form or _download_form(request, access)
    state_ids = [] if access.all_states else sorted(access.state_ids)
    context = {
        "download_form": download_form,
        "upload_form": upload_form or UploadForm(),
        "states": MemberState.objects.filter(pk__in=state_ids),
        "item_count": len(workbook.reportable_items(access, state_ids)) if state_ids else None,
        "result": request.session.pop(RESULT_KEY, None),
        "max_size": filesizeformat(workbook.MAX_BYTES),
        "max_rows": workbook.MAX_ROWS,
    }
    return render(request, "focal/workbook.html", context, status=status)


@login_required
@require_GET
def workbook_page(request):
    return _page(request, _reporter(request))


@login_required
@require_GET
def workbook_download(request):
    access = _reporter(request)
    form = _download_form(request, access, data=request.GET)
    if not form.is_valid():
        if set(form.errors) - {"language"}:  # no state chosen by the secretariat
            return _page(request, access, download_form=form, status=400)
        language = _language(request)  # no (or an unknown) language: the page's
    else:
        language = form.cleaned_data["language"]
    state = form.cleaned_data.get("state")
    state_ids = [state.pk] if state is not None else sorted(access.state_ids)
    data = workbook.build(access, state_ids, language, user=request.user)
    response = HttpResponse(data, content_type=workbook.XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{workbook.filename(state_ids, language)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def workbook_upload(request):
    access = _reporter(request)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        uploaded = form.cleaned_data["workbook"]
        try:
            rows = workbook.read(uploaded)
        except workbook.WorkbookError as error:
            form.add_error("workbook", error)
        else:
            if not rows:
                form.add_error("workbook", _("This workbook has no rows to report."))
            else:
                kept = workbook.keep(rows, request.user, uploaded.name or "")
                _remember(request, kept.token)
                return redirect("workbook_preview", token=kept.token)
    return _page(request, access, upload_form=form, status=400)


@login_required
def workbook_preview(request, token):
    """GET: what the upload would do (nothing is saved). POST: confirm it (or discard it)."""
    access = _reporter(request)
    if token not in request.session.get(SESSION_KEY, []):
        raise Http404
    if request.method == "POST":
        if request.POST.get("action") == "discard":
            workbook.discard(token, request.user)
            _forget(request, token)
            messages.info(request, _("The upload was discarded: nothing was saved."))
            return redirect("workbook")
        return _confirm(request, access, token)
    if request.method != "GET":
        return HttpResponse(status=405)
    kept = workbook.pending(token, request.user)
    if kept is None:
        _forget(request, token)
        raise Http404
    outcome = workbook.preview(kept.rows, request.user, access)
    return _render_preview(request, kept, outcome)


def _confirm(request, access, token):
    kept = workbook.claim(token, request.user)  # one confirmation per upload, even with a double click
    _forget(request, token)
    if kept is None:
        messages.error(request, _("This upload was already saved or has expired: upload the workbook again."))
        return redirect("workbook")
    outcome = workbook.apply(kept.rows, request.user, access)
    if not outcome.saved:
        if outcome.has_errors:
            return _render_preview(request, kept, outcome, refused=True, status=409)
        messages.info(request, _("Nothing was saved: every row is as it was downloaded."))
        return redirect("workbook")
    messages.success(request, workbook.summary(outcome))
    request.session[RESULT_KEY] = [
        {"number": row.number, "reference": row.reference, "state": row.state, "kind": row.kind, "item": row.item_id}
        for row in outcome.reports
    ]
    return redirect("workbook")


def _render_preview(request, kept, outcome, refused=False, status=200):
    context = {"kept": kept, "outcome": outcome, "refused": refused, "token": kept.token}
    return render(request, "focal/workbook_preview.html", context, status=status)


def _remember(request, token):
    tokens = [*request.session.get(SESSION_KEY, []), token]
    for old in tokens[:-KEPT_UPLOADS]:  # older uploads of this session are dropped
        workbook.discard(old, request.user)
    request.session[SESSION_KEY] = tokens[-KEPT_UPLOADS:]


def _forget(request, token):
    request.session[SESSION_KEY] = [t for t in request.session.get(SESSION_KEY, []) if t != token]
