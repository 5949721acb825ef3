"""The public pages: an overview per body and meeting, one page per published recommendation, one per member state
that agreed to publish. What they show comes from tracker.core.publication (through tracker.public.content);
each answer is the same for everyone, so `public_answer` caches it and revalidates it with its ETag.

The pages read neither the user nor the session (the templates extend public/base.html, which touches neither),
so an answer carries no cookie and no per-user content and a shared cache may keep it.
"""

from django.shortcuts import redirect, render
from django.utils import translation

from tracker.public import content
from tracker.public.caching import public_answer
from tracker.public.filters import filter_options, read_filters


def choose_language(request):
    language = "ar" if (translation.get_language() or "").startswith("ar") else "en"
    return redirect("public_overview", lang=language)


@public_answer
def overview(request, lang):
    filters = read_filters(request.GET, filter_options())
    context = {"lang": lang, "filters": filters, "bodies": content.overview(filters)}
    return render(request, "public/overview.html", context)


@public_answer
def recommendation(request, lang, pk):
    return render(request, "public/recommendation.html", {"lang": lang, "page": content.recommendation_page(pk)})


@public_answer
def member_state(request, lang, iso):
    return render(request, "public/state.html", {"lang": lang, "page": content.state_page(iso)})
