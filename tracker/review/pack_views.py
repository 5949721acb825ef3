"""The meeting pack's pages: ask for a pack, follow its progress, download it. Thin: the work is in
tracker.review.pack (jobs, content, writers); who may see it is the review view's rule (secretariat, reviewers).

Buttons elsewhere post to `review:pack` with the fields `cycle` (id), `language` (ar|en), `format` (docx|pdf):
templates/review/_pack_button.html is such a form, ready to include with a `cycle`.
"""

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from tracker.review.models import MeetingPack
from tracker.review.pack import FORMATS, PackUnavailable, file_name
from tracker.review.pack.forms import PackRequestForm
from tracker.review.pack.jobs import expire_stopped_builds, request_pack
from tracker.review.views import review_access

RECENT = 10


@review_access
def pack(request):
    """GET: the form (the cycle preselected with ?cycle=); POST: build or queue the pack, then its status page."""
    if request.method != "POST":
        form = PackRequestForm(initial={"cycle": request.GET.get("cycle"), "language": request.LANGUAGE_CODE[:2]})
        return _form_page(request, form)
    form = PackRequestForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.cleaned_data
    try:
        built = request_pack(data["cycle"], data["language"], data["format"], user=request.user)
    except PackUnavailable as error:
        form.add_error("cycle", str(error))
        return _form_page(request, form, status=409)
    return redirect("review:pack_status", pk=built.pk)


def _form_page(request, form, status=200):
    recent = MeetingPack.objects.select_related("cycle").order_by("-created_at", "-pk")[:RECENT]
    return render(request, "review/pack_request.html", {"form": form, "recent": recent}, status=status)


@review_access
def pack_status(request, pk):
    expire_stopped_builds()
    found = get_object_or_404(MeetingPack.objects.select_related("cycle__body"), pk=pk)
    return render(request, "review/pack_status.html", {"pack": found})


@review_access
def pack_download(request, pk):
    found = get_object_or_404(MeetingPack.objects.select_related("cycle__body"), pk=pk)
    if not found.is_ready:
        return redirect("review:pack_status", pk=found.pk)
    try:
        stored = found.file.open("rb")
    except FileNotFoundError:  # removed from the disk by hand: nothing to serve
        raise Http404 from None
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=file_name(found.cycle, found.language, found.format),
        content_type=FORMATS[found.format],
    )
    response["Cache-Control"] = "private, no-store"
    return response
