"""Querysets: the one place where visibility and the stalled rules are computed, in the database.

The stalled rules read precomputed, indexed columns of Implementation (`last_reported_at`,
`last_report_cycle`, `unchanged_cycles`, `has_open_obstacle`) and a handful of per-body constants
(thresholds, the open cycle) loaded once per query, so a scan over a million items is one indexed query.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StalledReason(models.TextChoices):
    NO_RECENT_REPORT = "no_recent_report", _("No submitted report for too long")
    MISSING_CYCLE_REPORT = "missing_cycle_report", _("Deadline passed without a report for this cycle")
    UNCHANGED = "unchanged", _("No change over several closed cycles")
    PAST_TARGET = "past_target", _("Target date has passed")
    OPEN_OBSTACLE = "open_obstacle", _("Obstacle reported, no solution recorded")


SETTLED = ["implemented", "not_applicable"]
ANNOTATION_PREFIX = "stalled_"


@dataclass
class StalledContext:
    """The constants the rules need: each body's thresholds and its open cycle, if its deadline passed."""

    now: object
    bodies: list = field(default_factory=list)
    overdue_cycles: dict = field(default_factory=dict)  # body id -> open cycle whose deadline has passed

    @classmethod
    def load(cls, now=None):
        from tracker.models import Body, ReviewCycle

        now = now or timezone.now()
        today = timezone.localdate(now)
        bodies = list(Body.objects.only("id", "stale_after_days", "unchanged_cycles"))
        overdue = ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN, report_deadline__lt=today)
        return cls(now=now, bodies=bodies, overdue_cycles={c.body_id: c for c in overdue})

    @property
    def today(self):
        return timezone.localdate(self.now)

    def body(self, body_id):
        return next(body for body in self.bodies if body.pk == body_id)

    def no_recent_report(self):
        condition = Q(pk__in=[])
        for body in self.bodies:
            cutoff = self.now - timedelta(days=body.stale_after_days)
            stale = Q(last_reported_at__lt=cutoff) | Q(last_reported_at__isnull=True, created_at__lt=cutoff)
            condition |= Q(recommendation__meeting__body_id=body.pk) & stale
        return condition

    def missing_cycle_report(self):
        condition = Q(pk__in=[])
        for body_id, cycle in self.overdue_cycles.items():
            not_reported = Q(last_report_cycle__isnull=True) | ~Q(last_report_cycle=cycle.pk)
            condition |= Q(recommendation__meeting__body_id=body_id) & not_reported
        return condition

    def unchanged(self):
        condition = Q(pk__in=[])
        for body in self.bodies:
            condition |= Q(recommendation__meeting__body_id=body.pk, unchanged_cycles__gte=body.unchanged_cycles)
        return condition

    def past_target(self):
        return Q(recommendation__target_date__lt=self.today)

    def open_obstacle(self):
        return Q(has_open_obstacle=True)

    def conditions(self):
        """Each reason with the condition under which it holds for an unsettled item."""
        return {
            StalledReason.NO_RECENT_REPORT: self.no_recent_report(),
            StalledReason.MISSING_CYCLE_REPORT: self.missing_cycle_report(),
            StalledReason.UNCHANGED: self.unchanged(),
            StalledReason.PAST_TARGET: self.past_target(),
            StalledReason.OPEN_OBSTACLE: self.open_obstacle(),
        }


def _flag(condition):
    return ExpressionWrapper(condition, output_field=BooleanField())


class ImplementationQuerySet(models.QuerySet):
    def current(self):
        """Items that are followed up: the state is still concerned and the recommendation not archived."""
        return self.filter(applies=True, recommendation__is_archived=False)

    def unsettled(self):
        return self.exclude(status__in=SETTLED)

    def visible_to(self, access):
        """What a user or partner may see; `access` is a tracker.permissions.Access."""
        if access.all_states:
            return self
        return self.filter(member_state_id__in=access.state_ids)

    def with_stalled_reasons(self, context=None):
        """Annotate `stalled_<reason>` booleans (false for settled items) and `is_stalled`."""
        context = context or StalledContext.load()
        unsettled = ~Q(status__in=SETTLED)
        flags = {
            f"{ANNOTATION_PREFIX}{reason.value}": _flag(unsettled & condition)
            for reason, condition in context.conditions().items()
        }
        any_reason = Q(pk__in=[])
        for condition in context.conditions().values():
            any_reason |= condition
        return self.annotate(**flags, is_stalled=_flag(unsettled & any_reason))

    def stalled(self, reason=None, context=None):
        """Unsettled items for which the given reason (or any reason) holds."""
        context = context or StalledContext.load()
        conditions = context.conditions()
        if reason:
            condition = conditions[StalledReason(reason)]
        else:
            condition = Q(pk__in=[])
            for one in conditions.values():
                condition |= one
        return self.current().unsettled().filter(condition)

    def count_by_reason(self, context=None):
        """{reason: number of stalled items} in one aggregate query."""
        context = context or StalledContext.load()
        aggregates = {
            reason.value: models.Count("pk", filter=condition) for reason, condition in context.conditions().items()
        }
        return self.current().unsettled().aggregate(**aggregates)


def explain_reasons(implementation, context):
    """Each stalled reason of an annotated implementation, in words, with the numbers behind it."""
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    body = context.body(implementation.recommendation.meeting.body_id)
    texts = []
    for reason in stalled_reasons_of(implementation):
        if reason == StalledReason.NO_RECENT_REPORT and implementation.last_reported_at is None:
            texts.append(_("No report has ever been submitted (limit %(limit)s days).")
                         % {"limit": body.stale_after_days})
        elif reason == StalledReason.NO_RECENT_REPORT:
            days = (context.now - implementation.last_reported_at).days
            texts.append(_("No submitted report for %(days)s days (limit %(limit)s).")
                         % {"days": days, "limit": body.stale_after_days})
        elif reason == StalledReason.MISSING_CYCLE_REPORT:
            cycle = context.overdue_cycles[body.pk]
            texts.append(_("The deadline of %(cycle)s passed on %(date)s without a report.")
                         % {"cycle": cycle.name, "date": date_format(cycle.report_deadline)})
        elif reason == StalledReason.UNCHANGED:
            texts.append(_("Status and progress unchanged over %(count)s closed review cycles.")
                         % {"count": implementation.unchanged_cycles})
        elif reason == StalledReason.PAST_TARGET:
            texts.append(_("The target date %(date)s has passed.")
                         % {"date": date_format(implementation.recommendation.target_date)})
        else:
            texts.append(_("An obstacle or support need was reported and no solution has been recorded."))
    return texts


def stalled_reasons_of(implementation):
    """The reasons annotated on an implementation by with_stalled_reasons(), as StalledReason members."""
    return [
        reason for reason in StalledReason if getattr(implementation, f"{ANNOTATION_PREFIX}{reason.value}", False)
    ]


class RecommendationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_archived=False)


class ReportQuerySet(models.QuerySet):
    def submitted(self):
        return self.filter(state="submitted")

    def drafts(self):
        return self.filter(state="draft")


class DesignationQuerySet(models.QuerySet):
    def active(self, today=None):
        """Designations in force: started and not ended. An ended designation loses access at once."""
        today = today or timezone.localdate()
        return self.filter(start_date__lte=today, end_date__isnull=True)


__all__ = [
    "DesignationQuerySet",
    "ImplementationQuerySet",
    "RecommendationQuerySet",
    "ReportQuerySet",
    "StalledContext",
    "StalledReason",
    "stalled_reasons_of",
]
