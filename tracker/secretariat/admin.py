"""The secretariat's admin: every model with the columns that matter, search in Arabic and English,
autocomplete, inlines, actions that go through tracker.core.services, import/export, history. Nothing is deleted.
"""

from axes.models import AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin, ImportExportMixin
from simple_history.admin import SimpleHistoryAdmin

from tracker.core import models, services
from tracker.core.querysets import StalledReason
from tracker.secretariat.export_admin import BackgroundExportMixin, CappedImportMixin
from tracker.secretariat.paging import EstimatedCountPaginator
from tracker.secretariat.resources import FocalPointResource, RecommendationResource
from tracker.secretariat.search import RelatedTextSearchMixin


class SafeHistoryAdmin(SimpleHistoryAdmin):
    """simple-history saves a "revert" POST for anyone who may view history: require the change permission."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class TrackerUserAdmin(UserAdmin):
    """Only a superuser grants superuser status or single permissions, or touches a superuser's account (its
    password included); the secretariat assigns people to the roles."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "user_permissions"]
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # people are deactivated, never deleted: their reports and the logs name them


admin.site.unregister(User)
admin.site.register(User, TrackerUserAdmin)


class ImportIsAWriteMixin:
    """Importing creates and changes rows: it needs both permissions, whoever can open the admin."""

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)


class NoDeleteMixin:
    """Records are archived, ended or closed, never deleted: no delete action, no delete page."""

    def has_delete_permission(self, request, obj=None):
        return False


def make_undeletable(*models_):
    """Third-party admins of records (sign-in logs, the role groups) without their delete action and page."""
    for model in models_:
        registered = type(admin.site._registry[model])
        admin.site.unregister(model)
        admin.site.register(model, type(f"Undeletable{registered.__name__}", (NoDeleteMixin, registered), {}))


make_undeletable(AccessLog, AccessFailureLog, Group)


class LargeTableMixin:
    """Change lists over millions of rows: no full count, an estimated one when unfiltered."""

    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Body)
class BodyAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "acronym_en",
        "name_en",
        "name_ar",
        "stale_after_days",
        "unchanged_cycles",
        "remind_days_before",
    ]
    search_fields = ["code", "acronym_en", "acronym_ar", "name_en", "name_ar"]
    filter_horizontal = ["member_states"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "code",
                    "acronym_en",
                    "acronym_ar",
                    "name_en",
                    "name_ar",
                    "member_states",
                    "secretariat_email",
                    "reviewers_may_ask",
                ]
            },
        ),
        (_("Public overview and open data"), {"fields": ["open_data_licence"]}),
        (_("Stalled items"), {"fields": ["stale_after_days", "unchanged_cycles"]}),
        (
            _("Reminders"),
            {"fields": ["remind_days_before", "overdue_every_days", "overdue_max_reminders", "escalate_after_days"]},
        ),
    ]


@admin.register(models.NationalValidation)
class NationalValidationAdmin(NoDeleteMixin, SafeHistoryAdmin):
    """Which states' reports need national validation: each change is in the history (who turned it on or off)."""

    list_display = ["member_state", "body", "required", "updated_at"]
    list_filter = ["required", "body"]
    list_editable = ["required"]
    search_fields = ["member_state__name_en", "member_state__name_ar", "member_state__iso_code"]
    list_select_related = ["member_state", "body"]
    autocomplete_fields = ["member_state"]


@admin.register(models.MemberState)
class MemberStateAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["iso_code", "name_en", "name_ar"]
    search_fields = ["iso_code", "name_en", "name_ar"]


@admin.register(models.Organisation)
class OrganisationAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["code", "acronym_en", "name_en", "name_ar"]
    search_fields = ["code", "acronym_en", "acronym_ar", "name_en", "name_ar"]


class RecommendationInline(admin.TabularInline):
    model = models.Recommendation
    fields = ["reference", "position", "text_en", "text_ar", "target_date", "is_public", "is_archived"]
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(models.Meeting)
class MeetingAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["code", "title_en", "title_ar", "kind", "body", "start_date", "venue_en"]
    list_filter = ["kind", "body"]
    search_fields = ["code", "title_en", "title_ar", "venue_en", "venue_ar"]
    list_select_related = ["body"]
    autocomplete_fields = ["body"]
    filter_horizontal = ["organisers"]
    inlines = [RecommendationInline]


@admin.register(models.ThematicArea)
class ThematicAreaAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["code", "name_en", "name_ar", "position"]
    search_fields = ["code", "name_en", "name_ar"]


class ImplementationInline(ReadOnlyInline):
    model = models.Implementation
    fields = ["member_state", "applies", "status", "progress", "last_reported_at", "has_open_obstacle"]
    readonly_fields = fields
    ordering = ["member_state__name_en"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("member_state")


@admin.register(models.Recommendation)
class RecommendationAdmin(
    NoDeleteMixin, ImportIsAWriteMixin, CappedImportMixin, BackgroundExportMixin, ImportExportMixin, SafeHistoryAdmin
):
    resource_classes = [RecommendationResource]
    list_display = [
        "reference",
        "meeting",
        "text_en",
        "text_ar",
        "target_date",
        "is_public",
        "is_archived",
        "is_sample",
    ]
    list_filter = [
        "meeting",
        "is_public",
        "is_archived",
        "is_sample",
        "arabic_text_status",
        "themes",
        "framework_targets__framework",
    ]
    search_fields = ["reference", "text_en", "text_ar"]
    list_select_related = ["meeting"]
    autocomplete_fields = ["meeting", "framework_targets"]
    filter_horizontal = ["themes", "applies_to"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ImplementationInline]
    actions = ["archive", "unarchive", "mark_public", "mark_confidential"]

    def _set(self, request, queryset, message, **values):
        for recommendation in queryset:  # one by one, so each change enters the history
            for name, value in values.items():
                setattr(recommendation, name, value)
            recommendation.save(update_fields=[*values, "updated_at"])
        self.message_user(request, message % {"count": queryset.count()}, messages.SUCCESS)

    @admin.action(description=_("Archive the selected recommendations"), permissions=["change"])
    def archive(self, request, queryset):
        self._set(request, queryset, _("%(count)s recommendations archived."), is_archived=True)

    @admin.action(description=_("Restore the selected recommendations from the archive"), permissions=["change"])
    def unarchive(self, request, queryset):
        self._set(request, queryset, _("%(count)s recommendations restored."), is_archived=False)

    @admin.action(description=_("Mark the selected recommendations public"), permissions=["change"])
    def mark_public(self, request, queryset):
        self._set(request, queryset, _("%(count)s recommendations marked public."), is_public=True)

    @admin.action(description=_("Mark the selected recommendations confidential"), permissions=["change"])
    def mark_confidential(self, request, queryset):
        self._set(request, queryset, _("%(count)s recommendations marked confidential."), is_public=False)


class ReportInline(ReadOnlyInline):
    model = models.ProgressReport
    fk_name = "implementation"
    fields = ["state", "submitted_at", "author", "status", "progress", "narrative", "obstacles", "is_archived"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class OutcomeInline(ReadOnlyInline):
    model = models.ReviewOutcome
    fields = ["created_at", "cycle", "obstacle_category", "solution", "follow_up_by", "follow_up_due"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("cycle")


@admin.register(models.Implementation)
class ImplementationAdmin(
    NoDeleteMixin, LargeTableMixin, RelatedTextSearchMixin, BackgroundExportMixin, ExportMixin, SafeHistoryAdmin
):
    list_display = [
        "recommendation",
        "member_state",
        "status",
        "progress",
        "last_reported_at",
        "has_open_obstacle",
        "version",
    ]
    list_filter = ["status", "has_open_obstacle", "applies", "member_state", "recommendation__meeting"]
    search_fields = [
        "recommendation__reference",
        "recommendation__text_en",
        "recommendation__text_ar",
        "member_state__name_en",
        "member_state__name_ar",
        "member_state__iso_code",
    ]
    related_search = {  # the same fields, searched in their own tables first (tracker/secretariat/search.py)
        "recommendation": (models.Recommendation, ["reference", "text_en", "text_ar"]),
        "member_state": (models.MemberState, ["name_en", "name_ar", "iso_code"]),
    }
    list_select_related = ["recommendation", "member_state"]
    autocomplete_fields = ["recommendation", "member_state"]
    readonly_fields = [
        "recommendation",
        "member_state",
        "status",
        "progress",
        "version",
        "last_reported_at",
        "last_report_cycle",
        "status_changed_at",
        "has_open_obstacle",
        "open_commitment_due",
        "created_at",
        "updated_at",
    ]
    inlines = [ReportInline, OutcomeInline]
    ordering = ["-pk"]

    def has_add_permission(self, request):
        return False  # created automatically, one per recommendation and applicable state

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.implementation_edited(obj, form.changed_data)


@admin.register(models.ProgressReport)
class ProgressReportAdmin(NoDeleteMixin, LargeTableMixin, BackgroundExportMixin, ExportMixin, admin.ModelAdmin):
    list_display = ["implementation", "state", "status", "progress", "author", "submitted_at", "cycle", "is_archived"]
    list_filter = ["state", "status", "is_archived", "cycle", "implementation__member_state"]
    search_fields = [
        "narrative",
        "obstacles",
        "support_needed",
        "implementation__recommendation__reference",
        "implementation__member_state__name_en",
        "implementation__member_state__name_ar",
    ]
    list_select_related = ["implementation__recommendation", "implementation__member_state", "author", "cycle"]
    readonly_fields = [
        "implementation",
        "cycle",
        "author",
        "state",
        "submitted_at",
        "status",
        "progress",
        "narrative",
        "obstacles",
        "support_needed",
        "based_on_version",
        "revision",
        "updated_by",
        "sent_for_validation_at",
        "sent_for_validation_by",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields, "is_archived"]
    actions = ["archive", "unarchive"]
    # Newest first by primary key: walks the index backwards instead of sorting millions of rows by date.
    ordering = ["-pk"]

    def has_add_permission(self, request):
        return False  # reports come from focal points and partner systems; they are append-only

    @admin.action(description=_("Archive the selected reports"), permissions=["change"])
    def archive(self, request, queryset):
        count = self._set_archived(request, queryset, True)
        self.message_user(request, _("%(count)s reports archived.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Restore the selected reports from the archive"), permissions=["change"])
    def unarchive(self, request, queryset):
        count = self._set_archived(request, queryset, False)
        self.message_user(request, _("%(count)s reports restored.") % {"count": count}, messages.SUCCESS)

    def _set_archived(self, request, queryset, archived):
        """Each report's History page (the admin log) says who archived or restored it, and when."""
        reports = list(queryset.exclude(is_archived=archived))
        if archived and any(report.is_awaiting_validation for report in reports):
            # The item waits for it (awaiting_validation_since): only the state's validator approves or returns it.
            self.message_user(
                request,
                _("Reports awaiting national validation are left as they are: the state's validator decides on them."),
                messages.WARNING,
            )
            reports = [report for report in reports if not report.is_awaiting_validation]
        if not archived:
            # An item has one working draft: an archived draft comes back only where its item has none.
            working = models.ProgressReport.objects.filter(
                state__in=[models.ProgressReport.State.DRAFT, models.ProgressReport.State.AWAITING_VALIDATION],
                is_archived=False,
            )
            busy = set(working.values_list("implementation_id", flat=True))
            restorable = []
            for report in reports:
                if not report.is_submitted:
                    if report.implementation_id in busy:
                        continue
                    busy.add(report.implementation_id)
                restorable.append(report)
            reports = restorable
        models.ProgressReport.objects.filter(pk__in=[r.pk for r in reports]).update(is_archived=archived)
        for report in reports:
            self.log_change(request, report, [{"changed": {"fields": ["is_archived"]}}])
        return len(reports)


@admin.register(models.Evidence)
class EvidenceAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["original_name", "report", "content_type", "size", "uploaded_by", "created_at"]
    search_fields = ["original_name", "sha256"]
    list_select_related = [
        "report__implementation__recommendation",
        "report__implementation__member_state",
        "uploaded_by",
    ]
    readonly_fields = [
        "report",
        "commitment",
        "file",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_by",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False


class DesignationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    first_name = forms.CharField(label=_("First name"), required=False)
    last_name = forms.CharField(label=_("Last name"), required=False)
    username = forms.CharField(
        label=_("Username"),
        required=False,
        help_text=_("For a new account; by default the part of the e-mail before @."),
    )
    language = forms.ChoiceField(label=_("Preferred language"), choices=models.Language.choices)
    phone = forms.CharField(label=_("Phone"), required=False)
    start_date = forms.DateField(label=_("Start date"), required=False, help_text=_("Today if empty."))

    def person(self):
        data = self.cleaned_data
        return services.NewFocalPoint(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            username=data["username"],
            language=data["language"],
            phone=data["phone"],
        )


class NewDesignationForm(DesignationForm):
    member_state = forms.ModelChoiceField(label=_("Member state"), queryset=models.MemberState.objects.all())
    body = forms.ModelChoiceField(label=_("Body"), queryset=models.Body.objects.all())
    role = forms.ChoiceField(label=_("Role"), choices=models.FocalPointDesignation.Role.choices)


@admin.register(models.FocalPointDesignation)
class FocalPointDesignationAdmin(
    NoDeleteMixin, ImportIsAWriteMixin, CappedImportMixin, BackgroundExportMixin, ImportExportMixin, SafeHistoryAdmin
):
    resource_classes = [FocalPointResource]
    list_display = [
        "user",
        "user_email",
        "member_state",
        "body",
        "role",
        "start_date",
        "end_date",
        "preferred_language",
        "handover_link",
    ]
    list_filter = ["role", "body", "member_state", "preferred_language", ("end_date", admin.EmptyFieldListFilter)]
    search_fields = [
        "user__username",
        "user__email",
        "user__first_name",
        "user__last_name",
        "member_state__name_en",
        "member_state__name_ar",
        "member_state__iso_code",
    ]
    list_select_related = ["user", "member_state", "body"]
    autocomplete_fields = ["user", "member_state", "body"]
    readonly_fields = ["created_at"]
    actions = ["end_today"]
    change_list_template = "admin/tracker/focalpointdesignation/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        # Who, for which state and body, is the designation itself: changing it is a handover.
        return [*self.readonly_fields, "user", "member_state", "body"] if obj else self.readonly_fields

    def add_view(self, request, form_url="", extra_context=None):
        """New designations go through the designation service (checks, welcome e-mail), like imports."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return redirect("admin:tracker_focalpointdesignation_designate")

    @admin.display(description=_("e-mail"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description=_("hand over"))
    def handover_link(self, obj):
        from django.utils.html import format_html

        if obj.end_date is not None:
            return "—"
        url = reverse("admin:tracker_focalpointdesignation_handover", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Hand over"))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("designate/", view(self.designate_view), name="tracker_focalpointdesignation_designate"),
            path("<int:pk>/handover/", view(self.handover_view), name="tracker_focalpointdesignation_handover"),
            *super().get_urls(),
        ]

    @admin.action(description=_("End the selected designations today"), permissions=["change"])
    def end_today(self, request, queryset):
        from django.utils import timezone

        count = 0
        for designation in queryset.filter(end_date__isnull=True):
            designation.end_date = timezone.localdate()
            designation.save(update_fields=["end_date"])
            count += 1
        self.message_user(request, _("%(count)s designations ended.") % {"count": count}, messages.SUCCESS)

    def designate_view(self, request):
        return self._designation_form(request, NewDesignationForm, None, _("Designate a focal point"))

    def handover_view(self, request, pk):
        current = get_object_or_404(models.FocalPointDesignation.objects.select_related("member_state"), pk=pk)
        title = _("Hand over from %(user)s") % {"user": current.user}
        return self._designation_form(request, DesignationForm, current, title)

    def _designation_form(self, request, form_class, current, title):
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = form_class(request.POST or None, initial={"language": "ar"})
        if request.method == "POST" and form.is_valid():
            done = self._designate(request, form, current)
            if done:
                return redirect("admin:tracker_focalpointdesignation_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "current": current,
            "opts": self.model._meta,
        }
        return render(request, "admin/tracker/focalpointdesignation/designate.html", context)

    def _designate(self, request, form, current):
        state = current.member_state if current else form.cleaned_data["member_state"]
        body = current.body if current else form.cleaned_data["body"]
        role = current.role if current else form.cleaned_data["role"]
        try:
            designation = services.designate_focal_point(
                state, body, role, form.person(), start_date=form.cleaned_data["start_date"], replacing=current
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
            return None
        self.message_user(
            request,
            _("%(user)s is now a focal point of %(state)s; an e-mail with a link to set a password was sent.")
            % {"user": designation.user, "state": state},
            messages.SUCCESS,
        )
        return designation


def moved_message(cycle):
    if cycle.state == models.ReviewCycle.State.CLOSING:
        return _("Closing %(cycle)s: its record is being frozen in the background.") % {"cycle": cycle}
    return _("%(cycle)s is now %(state)s.") % {"cycle": cycle, "state": cycle.get_state_display()}


@admin.register(models.ReviewCycle)
class ReviewCycleAdmin(NoDeleteMixin, SafeHistoryAdmin):
    list_display = [
        "name_en",
        "name_ar",
        "body",
        "state",
        "period_start",
        "period_end",
        "report_deadline",
        "review_meeting_date",
    ]
    list_filter = ["state", "body"]
    search_fields = ["name_en", "name_ar"]
    list_select_related = ["body"]
    readonly_fields = ["state", "opened_at", "closing_started_at", "closed_at", "closed_by"]
    actions = ["open_cycle", "start_review", "close_cycle"]

    def _move(self, request, queryset, target):
        for cycle in queryset:
            try:
                moved = services.move_cycle(cycle, target, by=request.user)
            except ValidationError as error:
                self.message_user(request, f"{cycle}: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, moved_message(moved), messages.SUCCESS)

    @admin.action(description=_("Open the selected cycle"), permissions=["change"])
    def open_cycle(self, request, queryset):
        self._move(request, queryset, models.ReviewCycle.State.OPEN)

    @admin.action(description=_("Move the selected cycle to review"), permissions=["change"])
    def start_review(self, request, queryset):
        self._move(request, queryset, models.ReviewCycle.State.UNDER_REVIEW)

    def _may_close(self, request, cycle):
        try:
            services.check_cycle_move(cycle, models.ReviewCycle.State.CLOSED)
        except ValidationError as error:
            self.message_user(request, f"{cycle}: {' '.join(error.messages)}", messages.ERROR)
            return False
        return True

    @admin.action(description=_("Close the selected cycle (freezes a snapshot)"), permissions=["change"])
    def close_cycle(self, request, queryset):
        """Closing cannot be undone: an intermediate page says what each close freezes, then closes."""
        if request.POST.get("confirmed") != "yes":
            closable = [cycle for cycle in queryset.select_related("body") if self._may_close(request, cycle)]
            if not closable:
                return None
            cycles = [(cycle, services.closing_summary(cycle)) for cycle in closable]
            context = {
                **self.admin_site.each_context(request),
                "title": _("Close review cycles"),
                "cycles": cycles,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return render(request, "admin/tracker/reviewcycle/confirm_close.html", context)
        self._move(request, queryset, models.ReviewCycle.State.CLOSED)


@admin.register(models.CycleSnapshot)
class CycleSnapshotAdmin(NoDeleteMixin, LargeTableMixin, admin.ModelAdmin):
    list_display = ["cycle", "implementation", "status", "progress", "reported_in_cycle", "stalled_reasons"]
    list_filter = ["cycle", "status", "reported_in_cycle"]
    list_select_related = ["cycle", "implementation__recommendation", "implementation__member_state"]
    readonly_fields = [
        "cycle",
        "implementation",
        "status",
        "progress",
        "reported_in_cycle",
        "stalled_reasons",
        "last_reported_at",
        "status_changed_at",
    ]
    exclude = ["reasons"]

    @admin.display(description=_("stalled reasons at the close"))
    def stalled_reasons(self, snapshot):
        if snapshot.reasons is None:
            return _("not recorded")
        return "; ".join(str(r.label) for r in StalledReason if snapshot.reasons & r.bit) or "–"

    def has_add_permission(self, request):
        return False


@admin.register(models.ReviewOutcome)
class ReviewOutcomeAdmin(NoDeleteMixin, BackgroundExportMixin, ExportMixin, admin.ModelAdmin):
    list_display = [
        "implementation",
        "cycle",
        "obstacle_category",
        "solution",
        "follow_up_by",
        "follow_up_due",
        "recorded_by",
        "created_at",
    ]
    list_filter = ["obstacle_category", "cycle", "implementation__member_state"]
    search_fields = ["obstacle", "solution", "follow_up_by", "implementation__recommendation__reference"]
    list_select_related = ["implementation__recommendation", "implementation__member_state", "cycle", "recorded_by"]
    autocomplete_fields = ["implementation", "cycle"]
    readonly_fields = ["recorded_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
        services.outcome_saved(obj, created=not change)


@admin.register(models.Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]


# The commitments' admin, and the publication agreements' and external frameworks' admin, register themselves.
from tracker.secretariat import commitments_admin, publication_admin  # noqa: E402, F401

# --- Clarification threads (tracker.core.clarifications): read here, written on the site, where they are e-mailed ---


class ClarificationMessageInline(ReadOnlyInline):
    model = models.ClarificationMessage
    fields = ["created_at", "author", "from_state", "language", "text", "notified_at"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


@admin.register(models.Clarification)
class ClarificationAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["implementation", "state", "asked_by", "created_at", "answered_at"]
    list_filter = ["state", "implementation__recommendation__meeting__body", "implementation__member_state"]
    search_fields = ["implementation__recommendation__reference", "implementation__member_state__iso_code"]
    list_select_related = ["implementation__recommendation", "implementation__member_state", "asked_by"]
    fields = ["implementation", "report", "state", "asked_by", "created_at", "answered_at"]
    readonly_fields = fields
    inlines = [ClarificationMessageInline]

    def get_queryset(self, request):
        """Private threads: a reviewer sees those of the bodies that let reviewers ask, as on the site."""
        from tracker.core.clarifications import participant_scope
        from tracker.core.permissions import request_access

        return super().get_queryset(request).filter(participant_scope(request_access(request)))

    def view_on_site(self, obj):
        return reverse("clarification", args=[obj.pk])

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
