"""The trends page (secretariat and reviewers): the four measures of the region, or of one member state, over
the last closed cycles, then small multiples per member state, thematic area or recommendation. Thin: the
numbers come from tracker.core.trends, the charts from tracker.review.charts."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from tracker.core.trends import GroupBy, closed_cycles, trends
from tracker.review.charts import trend_panel
from tracker.review.trends_forms import read_choice
from tracker.review.views import querystring, review_access

GROUPS_PER_PAGE = 24


@review_access
def trends_page(request):
    form, choice = read_choice(request)
    if choice.body is None:
        return render(request, "review/empty.html")
    cycles = closed_cycles(choice.body, choice.last)
    overall = trends(choice.body, None, cycles=cycles, **choice.scope).overall
    groups = trends(
        choice.body,
        choice.by,
        cycles=cycles,
        order=choice.order,
        limit=GROUPS_PER_PAGE,
        page=choice.page,
        **choice.scope,
    )
    heading = str(choice.state) if choice.state else _("All member states")
    context = {
        "form": form,
        "choice": choice,
        "cycles": cycles,
        "groups": groups,
        "overview": overall and trend_panel(overall, "trend-overview", heading=heading, level=2),
        "panels": [
            trend_panel(s, f"trend-{choice.by}-{s.key}", link=_link(request, choice.by, s)) for s in groups.series
        ],
        "next_query": querystring(request, page=groups.page + 1),
        "previous_query": querystring(request, page=groups.page - 1 if groups.page > 1 else None),
    }
    return render(request, "review/trends.html", context)


def _link(request, by, series):
    """A state's card opens that state's page (its thematic areas); a theme's card narrows the page to it."""
    if by == GroupBy.STATE:
        return "?" + querystring(request, state=series.group.iso_code, by=None, page=None, order=None)
    if by == GroupBy.THEME:
        return "?" + querystring(request, theme=series.group.code, by=None, page=None, order=None)
    return ""
