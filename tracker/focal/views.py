"""Focal point pages. Thin: permissions from tracker.core.permissions, rules from models and services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from tracker.core import clarifications, handover, services, validation
from tracker.core import commitments as commitment_rules
from tracker.core import evidence as evidence_rules
from tracker.core.models import (
    Commitment,
    Evidence,
    Implementation,
    MemberState,
    ProgressReport,
    ReminderOptOut,
    ValidationDecision,
)
from tracker.core.permissions import request_access
from tracker.core.querysets import StalledContext, explain_stalled
from tracker.core.reminder_preferences import BadLink, Link, Recipient, ReminderRoles, choices_of
from tracker.focal.dashboard import commitments_page, home_commitments, open_cycles, state_page, states_overview
from tracker.focal.forms import (
    CommitmentDoneForm,
    HomeFilterForm,
    ReminderChoicesForm,
    ReportForm,
    ValidationDecisionForm,
)


@login_required
def home(request):
    if handover.needs_summary(request.user):  # a new designation: first, what the state has in progress
        return redirect("handover_summary")
    access = request_access(request)
    if access.all_states and not request.GET.get("state"):
        return render(request, "focal/states.html", {"states": states_overview(access)})
    form = HomeFilterForm(request.GET)
    filters = form.cleaned()
    state_ids = _chosen_states(access, filters)
    if not state_ids:
        return render(request, "focal/no_designation.html", status=403)
    form.warn_if_ignored(request, "theme", "status", "due")
    listing = state_page(access, state_ids, filters, request.GET.get("page"))
    commitments, more_commitments = home_commitments(access, state_ids)
    return render(
        request,
        "focal/my_state.html",
        {
            **_link_queries(form, access),
            "form": form,
            "summary": listing.summary,
            "page": listing.page,
            "page_range": listing.page_range,
            "rows": listing.rows,
            "cycles": list(listing.cycles.values()),
            "states": MemberState.objects.filter(pk__in=state_ids),
            "today": timezone.localdate(),
            "commitments": commitments,
            "more_commitments": more_commitments,
            "can_report": access.can_report,
            "to_validate": validation.awaiting_for(access).count() if access.is_validator else None,
            "open_clarifications": clarifications.open_for_home(access, state_ids),
        },
    )


@login_required
def commitments(request):
    """Every open commitment of the user's states (or, for the secretariat and reviewers, of `?state=`), paged."""
    access = request_access(request)
    form = HomeFilterForm(request.GET)
    state_ids = _chosen_states(access, form.cleaned())
    if not state_ids:
        return render(request, "focal/no_designation.html", status=403)
    page, rows = commitments_page(access, state_ids, request.GET.get("page"))
    return render(
        request,
        "focal/commitments.html",
        {
            "state_query": _link_queries(form, access)["state_query"],
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1)),
            "commitments": rows,
            "states": MemberState.objects.filter(pk__in=state_ids),
            "can_report": access.can_report,
        },
    )


def _link_queries(form, access):
    """What the page's links carry: the valid filters (page links), or only the chosen state (the summary's
    links, the reset link). A focal point's page is always their own states': no state in their links."""
    query = form.query()
    if not access.all_states:
        query.pop("state", None)
    return {
        "filtered": any(name in query for name in ("theme", "status", "due")),
        "filter_query": urlencode(query),
        "state_query": urlencode({"state": query["state"]}) if "state" in query else "",
    }


def _chosen_states(access, filters):
    """The state chosen in the address (secretariat, reviewers: an unknown one is 404), or the focal point's."""
    if access.all_states:
        state = filters.get("state")
        if state is None:
            raise Http404
        return [state.pk]
    return sorted(access.state_ids)


def _visible_item(request, pk):
    """The item if the caller may see it; 404 otherwise, so other states' items are not even confirmed."""
    access = request_access(request)
    items = (
        Implementation.objects.current()
        .visible_to(access)
        .select_related("recommendation__meeting__body", "member_state")
    )
    return get_object_or_404(items, pk=pk), access


def _timeline(item, state_side, threads=()):
    """Submitted reports and outcomes; for the state's side (its focal points, validators, and the secretariat
    reporting for it) also the shared draft, the report awaiting validation and the validators' decisions."""
    shown = Q(state=ProgressReport.State.SUBMITTED)
    if state_side:
        shown |= Q(state__in=[ProgressReport.State.DRAFT, ProgressReport.State.AWAITING_VALIDATION])
    reports = (
        item.reports.filter(shown, is_archived=False)
        .select_related("author", "updated_by", "cycle", "sent_for_validation_by")
        .prefetch_related("evidence")
    )
    outcomes = item.outcomes.select_related("recorded_by", "cycle")
    entries = [("report", r.submitted_at or r.sent_for_validation_at or r.updated_at, r) for r in reports]
    entries += [("outcome", o.created_at, o) for o in outcomes]
    if state_side:
        decisions = ValidationDecision.objects.filter(report__implementation=item).select_related("decided_by")
        entries += [("decision", d.created_at, d) for d in decisions]
    entries += [("clarification", thread.created_at, thread) for thread in threads]  # for those who take part
    return sorted(entries, key=lambda e: e[1], reverse=True)


def _awaiting_report(item, access):
    """The report waiting for the state's validator, for the state's side; None otherwise or when none waits."""
    if item.awaiting_validation_since is None or not (access.may_report_on(item) or access.may_validate(item)):
        return None
    return (
        item.reports.filter(state=ProgressReport.State.AWAITING_VALIDATION, is_archived=False)
        .select_related("sent_for_validation_by", "author")
        .prefetch_related("evidence")
        .first()
    )


def _initial(item, draft):
    source = draft or item
    initial = {
        "status": source.status,
        "progress": source.progress,
        "version": item.version,
        "draft_revision": draft.revision if draft else 0,
    }
    if draft:
        initial |= {"narrative": draft.narrative, "obstacles": draft.obstacles, "support_needed": draft.support_needed}
    return initial


def _shared_draft(item, access):
    """The state's one draft of the item, for those who may report on it (its focal points, the secretariat)."""
    return ProgressReport.objects.shared_draft_of(item) if access.may_report_on(item) else None


@login_required
def item_page(request, pk):
    item, access = _visible_item(request, pk)
    draft = _shared_draft(item, access)
    if request.method == "POST":
        if not access.may_report_on(item):
            raise PermissionDenied
        form = ReportForm(request.POST, request.FILES)
        result = _save(request, form, item, access, draft)
        if result:
            return result
    else:
        form = ReportForm(initial=_initial(item, draft))
    return _render_item(request, item, access, form, draft)


def _render_item(
    request, item, access, form, draft, conflict=None, draft_conflict=None, status=200, decision_form=None
):
    context = StalledContext.load()
    annotated = (
        Implementation.objects.filter(pk=item.pk)
        .with_stalled_reasons(context)
        .select_related("recommendation__meeting__body")
        .get()
    )
    cycle = open_cycles().get(item.recommendation.meeting.body_id)
    awaiting = _awaiting_report(item, access)
    may_validate = awaiting is not None and access.may_validate(item)
    threads = clarifications.for_item(item, access)
    return render(
        request,
        "focal/item.html",
        {
            "awaiting": awaiting,
            "may_validate": may_validate,
            "decision_form": decision_form or _decision_form(awaiting, may_validate),
            "sends_for_validation": access.may_report_on(item) and validation.applies_to(item, access),
            "item": item,
            "form": form,
            "draft": draft,
            "conflict": conflict,
            "draft_conflict": draft_conflict,
            "can_report": access.may_report_on(item),
            "timeline": _timeline(item, access.may_report_on(item) or access.may_validate(item), threads.threads),
            "reasons": [text for _, text in explain_stalled(annotated, context)],
            "cycle": cycle,
            "due": item.due_state(cycle, timezone.localdate()),
            "themes": item.recommendation.themes.all(),
            "commitments": _item_commitments(item, access),
            "clarifications": threads,
        },
        status=status,
    )


def _decision_form(awaiting, may_validate):
    """The validator's decision form on the report awaiting validation, bound to the revision they see."""
    if not may_validate:
        return None
    return ValidationDecisionForm(initial={"report": awaiting.pk, "revision": awaiting.revision})


def _item_commitments(item, access):
    """The item's commitments, each marked with whether this user may mark it done (no query per commitment)."""
    rows = list(commitment_rules.item_commitments(item))
    for commitment in rows:
        commitment.implementation = item
        commitment.may_mark = commitment.state == Commitment.State.OPEN and commitment_rules.may_mark_done(
            access, commitment
        )
    return rows


def _save(request, form, item, access, draft):
    """Submit or save a draft; on any refusal return None so the form comes back with what was typed."""
    if not form.is_valid():
        return None
    submit = request.POST.get("action") == "submit"
    try:
        if submit:
            report = services.submit_report(
                item,
                request.user,
                access,
                form.to_input(),
                expected_version=form.cleaned_data["version"],
                files=form.cleaned_data["evidence"],
                expected_draft_revision=form.cleaned_data["draft_revision"],
            )
        else:
            report = services.save_draft(
                item,
                request.user,
                access,
                form.to_input(),
                expected_revision=form.cleaned_data["draft_revision"],
                files=form.cleaned_data["evidence"],
            )
    except services.StaleVersion as stale:
        messages.error(
            request,
            _(
                "Someone reported on this item after you opened the form. Your text is "
                "below: compare it with the newer report, then submit again."
            ),
        )
        form.data = form.data.copy()
        form.data["version"] = stale.current.version
        return _render_item(request, item, access, form, draft, conflict=stale.latest_report, status=409)
    except services.StaleDraft as stale:
        if stale.current is None:
            messages.error(
                request,
                _(
                    "The draft was submitted as a report after you opened the form. Your text is below: compare "
                    "it with the report, then save or submit again."
                ),
            )
        else:
            messages.error(
                request,
                _(
                    "Someone else changed this draft after you opened the form. Their version is shown above the "
                    "form and your text is in the form: compare them, then save or submit again."
                ),
            )
        form.data = form.data.copy()
        form.data["draft_revision"] = stale.current_revision
        return _render_item(request, item, access, form, stale.current, draft_conflict=stale.current, status=409)
    except ValidationError as error:
        form.add_validation_error(error)
        return None
    # "report-saved" tells static/js/keep-draft.js that the server has the text: it drops its copy.
    messages.success(request, _saved_message(submit, report), extra_tags="report-saved")
    return redirect("item", pk=item.pk)


def _saved_message(submit, report):
    if not submit:
        return _("Draft saved.")
    if report.is_awaiting_validation:
        return _("Report sent for national validation. It reaches the secretariat once your validator approves it.")
    return _("Report submitted.")


@login_required
def commitment_done(request, pk):
    """The owner marks a commitment done, with a note and optional evidence: a small form that fits a phone."""
    commitment = get_object_or_404(Commitment.objects.only("pk", "implementation_id"), pk=pk)
    item, access = _visible_item(request, commitment.implementation_id)  # 404 for what the user may not see
    commitment = Commitment.objects.select_related("organisation").get(pk=pk)
    commitment.implementation = item
    if not commitment_rules.may_mark_done(access, commitment):
        raise PermissionDenied(_("You may not mark this commitment done."))
    if request.method != "POST" and commitment.state != Commitment.State.OPEN:
        messages.info(request, _("This commitment is no longer open: %(state)s.") % {"state": _state(commitment)})
        return redirect(reverse("item", args=[item.pk]) + "#commitments")
    form = CommitmentDoneForm(request.POST or None, request.FILES or None, initial={"note": commitment.done_note})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            commitment_rules.mark_done(
                commitment, request.user, access, form.cleaned_data["note"], files=form.cleaned_data["evidence"]
            )
        except commitment_rules.WrongState as error:
            form.add_error(None, error)
            status = 409
        except ValidationError as error:
            form.add_validation_error(error)
        else:
            messages.success(request, _("The commitment is marked done. The secretariat will confirm it."))
            return redirect(reverse("item", args=[item.pk]) + "#commitments")
    if form.errors and status == 200:
        status = 400
    context = {"commitment": commitment, "item": item, "form": form}
    return render(request, "focal/commitment_done.html", context, status=status)


def _state(commitment):
    if commitment.state == Commitment.State.DONE:
        return _("marked done") if commitment.confirmed_at is None else _("done and confirmed")
    return _("dropped")


@login_required
def evidence_download(request, pk):
    """The file, as an attachment, under the type read from its content (name and content type alike)."""
    evidence = get_object_or_404(Evidence.objects.select_related("report", "commitment"), pk=pk)
    if not evidence_rules.may_download(evidence, request_access(request), request.user):
        raise Http404
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.download_name,
        content_type=evidence_rules.file_type(evidence.content_type).mime,
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- which reminder e-mails one receives (rules: tracker.core.reminder_preferences) ---


@login_required
def reminder_preferences(request):
    """The signed-in user's choice of the optional reminders, and what always comes whatever they choose."""
    recipient = Recipient.of(request.user.pk)
    data = request.POST if request.method == "POST" else None  # all boxes unticked is an empty, valid POST
    form = ReminderChoicesForm(choices_of(request.user), recipient.turned_off(), data)
    if form.is_bound and form.is_valid():
        recipient.choose(form.receive())
        messages.success(request, _("Your choice of reminders is saved."))
        return redirect("reminder_preferences")
    context = {"form": form, "roles": ReminderRoles.of(request.user)}
    return render(request, "focal/reminder_preferences.html", context)


# The one-click unsubscribe (RFC 8058) is posted by a mail provider without cookies or a CSRF token: the signed
# token in the address is the credential. The page's own form is CSRF-protected like any other (`_link_page`).
@csrf_exempt
def reminder_link(request, token):
    """The link of one reminder e-mail, without signing in: its page (GET), its form, or the one-click POST."""
    try:
        link = Link.read(token)
    except BadLink:
        return render(request, "focal/reminder_link.html", {"invalid": True}, status=400)
    _speak_the_emails_language(request, link)
    if request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click":
        return _one_click(request, link)
    return csrf_protect(_link_page)(request, link)


def _speak_the_emails_language(request, link):
    """Someone who neither signed in nor chose a language reads the page in the language of the e-mail."""
    if request.user.is_authenticated or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    translation.activate(link.language)
    request.LANGUAGE_CODE = link.language


def _one_click(request, link):
    """Turn off what the e-mail held that may be turned off; 400 when nothing could be (the page says why)."""
    turned_off = link.recipient.turn_off(link.optional_kinds) if link.optional_kinds else []
    context = _link_context(link, ReminderChoicesForm([], set()), done=turned_off, one_click=True)
    return render(request, "focal/reminder_link.html", context, status=200 if turned_off else 400)


def _link_page(request, link):
    turned_off = link.recipient.turned_off() if link.may_change else set()
    data = request.POST if request.method == "POST" else None
    form = ReminderChoicesForm(link.optional_kinds, turned_off, data)
    if form.is_bound:
        if not link.optional_kinds:  # a copy, a copied e-mail, or nothing optional in it: nothing to change here
            return render(request, "focal/reminder_link.html", _link_context(link, form, one_click=True), status=400)
        if form.is_valid():
            link.recipient.choose(form.receive())
            messages.success(request, _("Your choice of reminders is saved."))
            return redirect(request.path)
    return render(request, "focal/reminder_link.html", _link_context(link, form))


def _link_context(link, form, done=(), one_click=False):
    return {
        "link": link,
        "form": form,
        "done": [ReminderOptOut.Kind(kind).label for kind in done],
        "one_click": one_click,
        "has_account": link.recipient is None or link.recipient.user_id is not None,
        "is_address": link.recipient is not None and link.recipient.user_id is None,
    }


# --- national validation (rules: tracker.core.validation) ---


@login_required
def validation_queue(request):
    """The reports waiting for this national validator, oldest first."""
    access = request_access(request)
    if not access.is_validator:
        raise PermissionDenied(_("Only a national validator has reports to validate."))
    return render(request, "focal/validation_queue.html", {"reports": list(validation.awaiting_for(access))})


@login_required
def decide_validation(request, pk):
    """A validator approves the item's report awaiting validation, or returns it to the focal points."""
    item, access = _visible_item(request, pk)
    if request.method != "POST" or not access.may_validate(item):
        raise PermissionDenied(_("Only a national validator of this state may approve or return its reports."))
    form = ValidationDecisionForm(request.POST)
    report = _awaiting_report(item, access)
    if form.is_valid() and report is not None and form.matches(report):
        try:
            _decide(request, form, report, access)
        except ValidationError as error:
            form.add_validation_error(error)
        else:
            return redirect("validation_queue")
    elif form.is_valid():
        form.add_error(None, _("This report is no longer awaiting validation, or it changed: reload the page."))
    draft = _shared_draft(item, access)
    return _render_item(request, item, access, None, draft, status=409 if report is None else 400, decision_form=form)


def _decide(request, form, report, access):
    comment = form.cleaned_data["comment"]
    if form.cleaned_data["decision"] == ValidationDecision.Decision.APPROVED:
        validation.approve(report, request.user, access, comment)
        messages.success(request, _("Report approved: it has reached the secretariat."))
    else:
        validation.return_to_focal_points(report, request.user, access, comment)
        messages.success(request, _("Report returned to the focal points with your comment."))
