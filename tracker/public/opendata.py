"""The open data: the data page, the downloads of what is published (CSV, XLSX, JSON, HXL-tagged CSV) and the
sitemap of the public pages. What is published is decided in tracker.core.publication; the table is built in
tracker.public.dataset and written in tracker.public.formats.

The downloads are the same in every language (both languages are columns), so their addresses carry none.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.core.models import FrameworkTarget, Status, ThematicArea
from tracker.core.publication import published_implementations, published_recommendations, published_states
from tracker.public import formats
from tracker.public.caching import public_answer
from tracker.public.dataset import (
    COLUMNS,
    FILTER_PARAMETERS,
    LIST_SEPARATOR,
    BadFilter,
    Filters,
    absolute,
    data_page_url,
    licences,
    parse_filters,
    published_rows,
)

DOWNLOAD_FORMATS = ("csv", "xlsx", "json")
LANGUAGES = ("en", "ar")


def _problem(bad: BadFilter) -> JsonResponse:
    """A 400 naming each parameter that cannot be read (RFC 9457 problem details)."""
    body = {
        "type": "about:blank",
        "title": _("The download cannot be filtered like this."),
        "status": 400,
        "detail": " ".join(f"{name}: {why}" for name, why in bad.errors.items()),
        "errors": bad.errors,
    }
    return JsonResponse(
        body, status=400, content_type="application/problem+json", json_dumps_params={"ensure_ascii": False}
    )


def _filename(kind: str, extension: str) -> str:
    return f"published-recommendations{kind}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _filters_given(filters: Filters) -> dict[str, list[str]]:
    given = {
        "theme": filters.themes,
        "status": filters.statuses,
        "framework": filters.framework_targets,
        "state": filters.states,
    }
    return {name: list(values) for name, values in given.items() if values}


@public_answer
def download(request, fmt):
    """/public/data/published.<csv|xlsx|json>?theme=&status=&framework=&state= : the published rows."""
    if fmt not in DOWNLOAD_FORMATS:
        raise Http404
    try:
        filters = parse_filters(request.GET)
    except BadFilter as bad:
        return _problem(bad)
    rows = published_rows(filters)
    if fmt == "csv":
        content = formats.as_csv(rows)
    elif fmt == "xlsx":
        content = formats.as_xlsx(rows, licences(), data_page_url(), timezone.now())
    else:
        url = absolute(request.get_full_path())
        found = licences()
        content = formats.as_json(rows, found, data_page_url(), url, timezone.now(), _filters_given(filters))
    return _attachment(content, formats.CONTENT_TYPES[fmt], _filename("", fmt))


@public_answer
def hxl_download(request):
    """/public/data/published-hxl.csv: the same rows with a second header row of HXL hashtags."""
    try:
        filters = parse_filters(request.GET)
    except BadFilter as bad:
        return _problem(bad)
    return _attachment(formats.as_hxl(published_rows(filters)), formats.CONTENT_TYPES["hxl"], _filename("-hxl", "csv"))


def _downloads() -> list[dict[str, str]]:
    return [
        {
            "label": "CSV",
            "url": reverse("public_download", kwargs={"fmt": "csv"}),
            "about": _("Comma-separated values, UTF-8 with a byte-order mark so that Excel shows the Arabic text."),
        },
        {
            "label": "XLSX",
            "url": reverse("public_download", kwargs={"fmt": "xlsx"}),
            "about": _("An Excel workbook: the data, then a sheet about the licence and a sheet about the columns."),
        },
        {
            "label": "JSON",
            "url": reverse("public_download", kwargs={"fmt": "json"}),
            "about": _("One object: the licence, when it was generated, the source, and the rows."),
        },
        {
            "label": "HXL CSV",
            "url": reverse("public_hxl"),
            "about": _(
                "The CSV with a second header row of HXL hashtags, ready for humanitarian data platforms "
                "(UTF-8, no byte-order mark)."
            ),
        },
    ]


@public_answer
def data_page(request, lang):
    """/public/<lang>/data/: what is published, under which licence, the downloads and what their columns mean."""
    recommendations = published_recommendations()
    context = {
        "licences": licences(),
        "rows": published_implementations().count(),
        "recommendations": recommendations.count(),
        "states": list(published_states().order_by("iso_code")),
        "downloads": _downloads(),
        "columns": COLUMNS,
        "separator": LIST_SEPARATOR.strip(),
        "parameters": FILTER_PARAMETERS,
        "themes": ThematicArea.objects.filter(recommendations__in=recommendations).distinct(),
        "targets": FrameworkTarget.objects.filter(recommendations__in=recommendations)
        .select_related("framework")
        .distinct(),
        "statuses": Status.choices,
        "example": reverse("public_download", kwargs={"fmt": "csv"}) + "?status=implemented&state=EG",
    }
    return render(request, "public/data.html", context)


def _page(name: str, **kwargs) -> dict[str, object]:
    """A public page in both languages, for the sitemap: its address in each, to list each with its alternates."""
    return {"addresses": [(lang, absolute(reverse(name, kwargs={"lang": lang, **kwargs}))) for lang in LANGUAGES]}


@public_answer
def sitemap(request):
    """/public/sitemap.xml: the overview, the data page, every published recommendation and every state with
    published progress, in both languages (each address with its other-language alternate)."""
    pages = [_page("public_overview"), _page("public_data")]
    pages += [_page("public_recommendation", pk=pk) for pk in published_recommendations().values_list("pk", flat=True)]
    states = published_states().order_by("iso_code").values_list("iso_code", flat=True)
    pages += [_page("public_state", iso=iso) for iso in states]
    return render(request, "public/sitemap.xml", {"pages": pages}, content_type="application/xml; charset=utf-8")
