"""The overview's filters: theme, status, external framework target. They travel in the query string, so a
filtered page is a link anyone can share and it answers the same for everyone.

The choices are read from the published recommendations only: a theme or a target that only confidential
recommendations carry is not offered, so not even the list of options reveals them. A value that is not one of
the choices (mistyped, stale, hostile) is ignored: the page shows everything rather than an error.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from tracker.core.models import FrameworkTarget, Implementation, Recommendation, Status, ThematicArea
from tracker.core.publication import published_recommendations

#: The status filter's value for items no report has reached yet (their stored status is only a default).
NO_REPORT = "no_report"


@dataclass(frozen=True)
class Options:
    themes: list[ThematicArea]
    targets: list[FrameworkTarget]

    @property
    def statuses(self) -> list[tuple[str, str]]:
        return [*Status.choices, (NO_REPORT, _("No report yet"))]


@dataclass(frozen=True)
class Filters:
    options: Options
    theme: ThematicArea | None = None
    status: str = ""
    target: FrameworkTarget | None = None

    @property
    def active(self) -> bool:
        return bool(self.theme or self.status or self.target)

    @property
    def query(self) -> str:
        """The filters as a query string (empty when none is set), for links that keep them."""
        chosen = {"theme": self.theme.code if self.theme else "", "status": self.status}
        chosen["target"] = self.target.key if self.target else ""
        return urlencode({name: value for name, value in chosen.items() if value})

    def recommendations(self, recommendations: QuerySet[Recommendation]) -> QuerySet[Recommendation]:
        """Narrow published recommendations by theme and target."""
        if self.theme:
            recommendations = recommendations.filter(themes=self.theme)
        if self.target:
            recommendations = recommendations.filter(framework_targets=self.target)
        return recommendations

    def items(self, items: QuerySet[Implementation]) -> QuerySet[Implementation]:
        """Narrow published items by status (as last reported; "no report yet" for the others)."""
        if self.status == NO_REPORT:
            return items.filter(last_reported_at__isnull=True)
        if self.status:
            return items.filter(last_reported_at__isnull=False, status=self.status)
        return items


def filter_options() -> Options:
    """The themes and targets of the published recommendations (two queries)."""
    published = published_recommendations()
    themes = ThematicArea.objects.filter(recommendations__in=published).distinct()
    targets = FrameworkTarget.objects.filter(recommendations__in=published).select_related("framework").distinct()
    return Options(themes=list(themes), targets=list(targets))


def read_filters(params: QueryDict, options: Options) -> Filters:
    """The filters the query string asks for, among the options; anything else is ignored."""
    themes = {theme.code: theme for theme in options.themes}
    targets = {target.key: target for target in options.targets}
    statuses = {value for value, _label in options.statuses}
    status = params.get("status", "")
    return Filters(
        options=options,
        theme=themes.get(params.get("theme", "")),
        status=status if status in statuses else "",
        target=targets.get(params.get("target", "")),
    )
