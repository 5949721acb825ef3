"""Commitments in the secretariat's admin: every commitment with filters, and the actions "confirm", "reopen" and
"drop" (the last two ask for a reason on an intermediate page), each through tracker.core.commitments. A
commitment's page and history are read-only: it changes only through those services, so `open_commitment_due`
and the history stay right. Commitments are recorded with review outcomes (the review's outcome page)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from tracker.core import commitments
from tracker.core.models import REPORT_TEXT_MAX_LENGTH, Commitment
from tracker.core.permissions import request_access
from tracker.secretariat.admin import LargeTableMixin, NoDeleteMixin, SafeHistoryAdmin


class LateFilter(admin.SimpleListFilter):
    title = _("late")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("yes", _("Late")), ("no", _("Not late"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(commitments.late_condition())
        if self.value() == "no":
            return queryset.exclude(commitments.late_condition())
        return queryset


class DueFilter(admin.SimpleListFilter):
    """Due dates ahead as well as behind (Django's date filter only looks back)."""

    title = _("due by")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("past", _("Before today")),
            ("7", _("In the next 7 days")),
            ("30", _("In the next 30 days")),
            ("later", _("Later than 30 days")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "past":
            return queryset.filter(due_date__lt=today)
        if self.value() in ("7", "30"):
            return queryset.filter(due_date__gte=today, due_date__lte=today + timedelta(days=int(self.value())))
        if self.value() == "later":
            return queryset.filter(due_date__gt=today + timedelta(days=30))
        return queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=REPORT_TEXT_MAX_LENGTH,
        error_messages={"required": _("Say why.")},
    )


@admin.register(Commitment)
class CommitmentAdmin(NoDeleteMixin, LargeTableMixin, SafeHistoryAdmin):
    list_display = ["item", "what", "who", "due_date", "state", "late", "confirmed"]
    list_filter = ["state", LateFilter, "owner", "implementation__member_state", DueFilter]
    search_fields = [
        "description",
        "done_note",
        "implementation__recommendation__reference",
        "implementation__member_state__iso_code",
        "implementation__member_state__name_en",
        "implementation__member_state__name_ar",
        "organisation__acronym_en",
        "organisation__acronym_ar",
    ]
    list_select_related = ["implementation__recommendation", "implementation__member_state", "organisation"]
    fields = [
        "implementation",
        "outcome",
        "description",
        "owner",
        "organisation",
        "due_date",
        "state",
        "done_at",
        "done_by",
        "done_note",
        "evidence_files",
        "confirmed_at",
        "confirmed_by",
        "reopened_reason",
        "dropped_reason",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["confirm", "reopen", "drop"]
    ordering = ["due_date", "pk"]

    def has_add_permission(self, request):
        return False  # recorded with a review outcome, on the review's outcome page

    def has_change_permission(self, request, obj=None):
        # The list's actions need the change permission; a commitment's own page is read-only.
        return obj is None and super().has_change_permission(request)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied  # a revert would bypass the services: the history is for reading
        return super().history_form_view(request, object_id, version_id, extra_context)

    # --- columns ----------------------------------------------------------------------------------------

    @admin.display(description=_("item"), ordering="implementation__recommendation__reference")
    def item(self, obj):
        implementation = obj.implementation
        return f"{implementation.recommendation.reference}\u00a0·\u00a0{implementation.member_state.iso_code}"

    @admin.display(description=_("what is to be done"))
    def what(self, obj):
        return Truncator(obj.description).chars(90)

    @admin.display(description=_("who"), ordering="owner")
    def who(self, obj):
        if obj.owner == Commitment.Owner.PARTNER:
            return str(obj.organisation)
        if obj.owner == Commitment.Owner.STATE:
            return obj.implementation.member_state.name
        return obj.get_owner_display()

    @admin.display(description=_("late"))
    def late(self, obj):
        # Words, not Django's red cross: "not late" is the good case and should not look like an error.
        return _("Late") if obj.is_late() else "—"

    @admin.display(description=_("confirmed"), ordering="confirmed_at")
    def confirmed(self, obj):
        return date_format(timezone.localdate(obj.confirmed_at)) if obj.confirmed_at else "—"

    @admin.display(description=_("evidence files"))
    def evidence_files(self, obj):
        files = [(reverse("evidence", args=[e.pk]), e.download_name) for e in obj.evidence.all()]
        return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a>', files) or "—"

    # --- actions ----------------------------------------------------------------------------------------

    def _apply(self, request, queryset, change, done_message, **arguments):
        access = request_access(request)
        changed = 0
        for commitment in queryset.order_by("pk"):
            try:
                change(commitment, request.user, access, **arguments)
            except (ValidationError, PermissionDenied) as error:
                reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                self.message_user(request, f"{self.item(commitment)}: {reason}", messages.ERROR)
            else:
                changed += 1
        if changed:
            self.message_user(request, done_message % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Confirm the selected commitments are done"), permissions=["change"])
    def confirm(self, request, queryset):
        self._apply(request, queryset, commitments.confirm, _("%(count)s commitments confirmed."))

    @admin.action(description=_("Reopen the selected commitments (asks why)"), permissions=["change"])
    def reopen(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            "reopen",
            commitments.reopen,
            _("Reopen commitments"),
            _("They become open again; their owners see the reason."),
            _("%(count)s commitments reopened."),
        )

    @admin.action(description=_("Drop the selected commitments (asks why)"), permissions=["change"])
    def drop(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            "drop",
            commitments.drop,
            _("Drop commitments"),
            _("Dropped commitments are no longer followed up; the reason is kept with them."),
            _("%(count)s commitments dropped."),
        )

    def _with_reason(self, request, queryset, action, change, title, explanation, done_message):
        """First an intermediate page asks for the reason (kept in each commitment and its history), then the
        service applies it to every selected commitment."""
        form = ReasonForm(request.POST if request.POST.get("apply") == "yes" else None)
        if form.is_bound and form.is_valid():
            self._apply(request, queryset, change, done_message, reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "explanation": explanation,
            "commitments": queryset.select_related(*self.list_select_related),
            "form": form,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return render(request, "admin/tracker/commitment/reason.html", context, status=400 if form.errors else 200)
