"""The review view (secretariat and reviewers). Thin: the data comes from tracker.review.data, the
rules from tracker.core.querysets, every change from tracker.core.services."""

import hashlib
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Max, Q
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from tracker.core import clarifications, record
from tracker.core.commitments import (
    commitment_summary,
    item_commitments,
    kept_commitment_summary,
    record_outcome_with_commitments,
)
from tracker.core.models import Commitment, Implementation, ReviewCycle
from tracker.core.permissions import request_access
from tracker.core.querysets import SETTLED, explain_stalled
from tracker.core.services import CYCLE_MOVES, check_cycle_move, closing_summary, move_cycle
from tracker.core.trends import closed_cycles, trends
from tracker.review import exports
from tracker.review.charts import trend_panel
from tracker.review.data import SUMMARY_CACHE_SECONDS, Filters, ReviewData
from tracker.review.forms import CycleMoveForm, OutcomeForm, ReviewFilterForm, commitment_formset, with_more_rows

REPORT_ITEMS_LIMIT = 500
TREND_CYCLES = 6
TREND_CACHE_SECONDS = 24 * 3600


def review_access(view):
    """Signed in, and secretariat or reviewer; anyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request_access(request).can_review:
            raise PermissionDenied(_("The review view is for the secretariat and reviewers."))
        return view(request, *args, **kwargs)

    return wrapper


def language_from(request):
    """?lang=ar or ?lang=en for exports and the printed report; otherwise the active language."""
    lang = request.GET.get("lang")
    return lang if lang in ("ar", "en") else translation.get_language()


def load(request, notice=True):
    """The filter form bound to the address, and the data it selects. With `notice`, a filter that was not
    understood is reported on the page (not on a file download, where it would surface on the next page)."""
    from tracker.core.models import Body

    body_form = ReviewFilterForm(request.GET)
    body = body_form.cleaned().get("body") or Body.objects.order_by("pk").first()
    form = ReviewFilterForm(request.GET or None, body=body)
    values = form.cleaned()
    values["body"] = body
    if notice:
        form.warn_if_ignored(request)
    return form, ReviewData.load(Filters.from_form(values))


def querystring(request, **changes):
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    return query.urlencode()


@review_access
def review(request):
    form, data = load(request)
    if data.filters.body is None:
        return render(request, "review/empty.html")
    access = request_access(request)
    context = {
        "form": form,
        "data": data,
        "filters": data.filters,
        "summary": data.summary(),
        "can_manage": access.can_manage,
        "query": querystring(request, page=None),
        "cycle_moves": cycle_moves(data.filters.cycle) if access.can_manage else [],
        "closing": closing_progress(data.filters.cycle),
        "trend": overview_trend(data.filters),
        "commitments": commitments_for(data),
        "open_clarifications": clarifications.open_for_review(access, data.filters.body, data.filters.state),
    }
    if data.filters.view == "table":
        context["table"] = data.table()
    else:
        context["matrix"] = data.matrix()
    page = data.filters.page
    context["next_query"] = querystring(request, page=page + 1)
    context["previous_query"] = querystring(request, page=page - 1 if page > 1 else None)
    return render(request, "review/review.html", context)


def overview_trend(filters):
    """The region's (or the chosen state's) four measures over the last closed cycles, with a link to the rest."""
    series = cached_overall_trend(filters.body, filters.state)
    if series is None:
        return None
    link = reverse("review:trends") + (f"?state={filters.state.iso_code}" if filters.state else "")
    heading = _("Trends over the last closed cycles")
    return trend_panel(series, "trend-overview", heading=heading, level=2, link=link)


def commitments_for(data):
    """Commitments from the last review, narrowed to the filtered items only when a filter narrows them: the
    whole body's items as a subquery cost a scan of a million rows for nothing."""
    f = data.filters
    if not (f.meeting or f.state or f.theme or f.status):
        return kept_commitment_summary(f.body, before=f.cycle)  # kept in the database between requests
    items = data.base_items()
    # Cached under what it depends on: the filters, today (lateness), and the commitments' last change.
    latest = Commitment.objects.aggregate(changed=Max("updated_at"), count=Count("pk"))
    parts = [f.body.pk, getattr(f.cycle, "pk", None), *data._scope_key(), timezone.localdate(), *latest.values()]
    key = "commitments:" + hashlib.sha256(repr([*parts, translation.get_language()]).encode()).hexdigest()
    summary = cache.get(key)
    if summary is None:
        summary = commitment_summary(f.body, before=f.cycle, items=items)
        cache.set(key, summary, SUMMARY_CACHE_SECONDS)
    return summary


def cached_overall_trend(body, state):
    """Trends read only closed cycles' snapshots, which never change: the answer is cached under the cycles it
    covers (a close makes a new key), so the review view does not aggregate every snapshot on each request."""
    cycles = closed_cycles(body, TREND_CYCLES)
    parts = [body.pk, getattr(state, "pk", None), translation.get_language(), *(c.pk for c in cycles)]
    key = "trend-overview:" + ":".join(str(part) for part in parts)
    series = cache.get(key)
    if series is None:
        series = trends(body, None, state=state, cycles=cycles).overall
        cache.set(key, series, TREND_CACHE_SECONDS)
    return series


def closing_progress(cycle):
    """What the page says while a close runs in the background (it refreshes itself until the cycle is closed)."""
    if cycle is None or cycle.state != ReviewCycle.State.CLOSING:
        return None
    return {"started": cycle.closing_started_at, "items": closing_summary(cycle)["items"]}


def cycle_moves(cycle):
    if cycle is None:
        return []
    return [ReviewCycle.State(target) for target in sorted(CYCLE_MOVES[cycle.state])]


@review_access
def move(request):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request_access(request).can_manage:
        raise PermissionDenied(_("Only the secretariat moves review cycles."))
    form = CycleMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a cycle and a valid state."))
    elif _needs_confirmation(form, request):
        cycle = form.cleaned_data["cycle"]
        return render(
            request,
            "review/confirm_close.html",
            {
                "cycle": cycle,
                "summary": closing_summary(cycle),
                "next": local_path(request, request.POST.get("next")) or reverse("review:index"),
            },
        )
    else:
        cycle = form.cleaned_data["cycle"]
        try:
            moved = move_cycle(cycle, form.cleaned_data["target"], by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if moved.state == ReviewCycle.State.CLOSING:
                messages.success(request, _("Closing %(cycle)s: its record is being frozen.") % {"cycle": moved.name})
                return redirect(f"{reverse('review:index')}?cycle={moved.pk}")
            messages.success(
                request, _("%(cycle)s is now %(state)s.") % {"cycle": moved.name, "state": moved.get_state_display()}
            )
    return redirect(safe_next(request))


def _needs_confirmation(form, request):
    """Closing cannot be undone: a legal close is confirmed on a page that says what it freezes first."""
    if form.cleaned_data["target"] != ReviewCycle.State.CLOSED or request.POST.get("confirmed") == "yes":
        return False
    try:
        check_cycle_move(form.cleaned_data["cycle"], ReviewCycle.State.CLOSED)
    except ValidationError:
        return False  # the move itself says why it is refused
    return True


def local_path(request, target):
    """`target` if it is a path on this site (the "back" links and redirects), else None: never another site,
    a scheme such as javascript:, or a control character."""
    target = target or ""
    if not target.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return target


def safe_next(request):
    return local_path(request, request.POST.get("next")) or "review:index"


@review_access
def outcome(request, pk):
    """Record what the review concluded and, when it agrees a solution, its commitments (what, who, by when)."""
    item = get_object_or_404(Implementation.objects.select_related("recommendation__meeting", "member_state"), pk=pk)
    access = request_access(request)
    form = OutcomeForm(request.POST or None)
    promises = commitment_formset(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not access.can_manage:
            raise PermissionDenied(_("Only the secretariat records review outcomes."))
        if request.POST.get("action") == "more_rows":
            form, promises = with_more_rows(request.POST)
        elif form.is_valid() and (not promises.is_bound or promises.is_valid()):
            try:
                record_outcome_with_commitments(
                    item, request.user, access, promises.inputs() if promises.is_bound else (), **form.cleaned_data
                )
            except ValidationError as error:
                by_field = error.error_dict if hasattr(error, "error_dict") else {None: error.error_list}
                for field, errors in by_field.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The review outcome was recorded."))
                return redirect(safe_next(request))
    context = {
        "item": item,
        "form": form,
        "promises": promises,
        "can_manage": access.can_manage,
        "explanations": explain_stalled(item),
        "outcomes": item.outcomes.select_related("recorded_by", "cycle"),
        "commitments": item_commitments(item),
        "next": local_path(request, request.GET.get("next") or request.POST.get("next")) or "",
    }
    refused = form.errors or (promises.is_bound and not promises.is_valid())
    return render(request, "review/outcome.html", context, status=400 if refused else 200)


@review_access
def export_csv(request):
    with translation.override(language_from(request)):
        _form, data = load(request, notice=False)
        return exports.csv_response(data) if data.filters.body else redirect("review:index")


@review_access
def export_xlsx(request):
    lang = language_from(request)
    with translation.override(lang):
        _form, data = load(request, notice=False)
        if data.filters.body is None:
            return redirect("review:index")
        return exports.xlsx_response(data, rtl=lang == "ar")


@review_access
def cycle_report(request):
    """A printable report for the review meeting of a cycle (print stylesheet), in Arabic or English. A closed
    cycle's report reads only its frozen record, so it prints the same numbers forever."""
    lang = language_from(request)
    with translation.override(lang):
        _form, data = load(request)
        if data.filters.body is None:
            return render(request, "review/empty.html")
        context = {**report_context(data), "data": data, "lang": lang, "rtl": lang == "ar"}
        response = render(request, "review/report.html", context)
        response["Content-Language"] = lang
        return response


def report_context(data):
    cycle = data.filters.cycle
    if data.frozen():
        stalled = record.stalled_items(cycle, data.scope(), limit=REPORT_ITEMS_LIMIT + 1)
        summary = data.frozen_summary()
        reported = frozen_reported(cycle, data)
        outcomes = list(record.outcomes(cycle))
        commitments = record.frozen_commitments(cycle)
    else:
        stalled = list(data.stalled_items()[: REPORT_ITEMS_LIMIT + 1])
        for item in stalled:
            data.decorate(item)
        summary, reported = data.summary(), reported_in_cycle(data, cycle)
        outcomes = list(record.outcomes(cycle)) if cycle is not None else []
        commitments = commitments_for(data)
    return {
        "cycle": cycle,
        "frozen": bool(data.frozen()),
        "summary": summary,
        "stalled": stalled[:REPORT_ITEMS_LIMIT],
        "truncated": len(stalled) > REPORT_ITEMS_LIMIT,
        "limit": REPORT_ITEMS_LIMIT,
        "outcomes": outcomes,
        "reported": reported,
        "commitments": commitments,
    }


def frozen_reported(cycle, data):
    """How many of the unsettled items frozen at the close had reported in the cycle."""
    return (
        record.snapshots(cycle, data.scope(with_reason=False))
        .exclude(status__in=SETTLED)
        .aggregate(expected=Count("pk"), reported=Count("pk", filter=Q(reported_in_cycle=True)))
    )


def reported_in_cycle(data, cycle):
    """How many of the filtered unsettled items have a submitted report in this cycle."""
    if cycle is None:
        return None
    counts = (
        data.base_items()
        .exclude(status__in=SETTLED)
        .aggregate(expected=Count("pk"), reported=Count("pk", filter=Q(last_report_cycle=cycle)))
    )
    return counts
