"""Small helpers of the public templates: the same page in the other language, percentages."""

from django import template
from django.urls import reverse

from tracker.public.charts import percent as format_percent

register = template.Library()

LANGUAGE_NAMES = {"ar": "العربية", "en": "English"}


@register.simple_tag(takes_context=True)
def other_language(context):
    """The address of this very page (filters included) in the other language, for the language switch."""
    request = context["request"]
    match = request.resolver_match
    current = match.kwargs.get("lang", "en")
    other = "en" if current == "ar" else "ar"
    url = reverse(match.view_name, kwargs={**match.kwargs, "lang": other})
    if request.GET:
        url += "?" + request.GET.urlencode()
    return {"code": other, "name": LANGUAGE_NAMES[other], "url": url, "dir": "rtl" if other == "ar" else "ltr"}


@register.filter
def percent(value):
    """60 -> "60%" in the active language's format."""
    return format_percent(value or 0)
