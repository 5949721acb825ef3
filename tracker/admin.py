"""Admin registrations: useful columns and search for every model (the complete admin builds on this)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from tracker import models


@admin.register(models.Body)
class BodyAdmin(admin.ModelAdmin):
    list_display = ["code", "acronym_en", "name_en", "name_ar", "stale_after_days", "unchanged_cycles"]
    search_fields = ["code", "acronym_en", "acronym_ar", "name_en", "name_ar"]
    filter_horizontal = ["member_states"]


@admin.register(models.MemberState)
class MemberStateAdmin(admin.ModelAdmin):
    list_display = ["iso_code", "name_en", "name_ar"]
    search_fields = ["iso_code", "name_en", "name_ar"]


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["code", "acronym_en", "name_en", "name_ar"]
    search_fields = ["code", "acronym_en", "acronym_ar", "name_en", "name_ar"]


@admin.register(models.Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["code", "title_en", "kind", "body", "start_date", "venue_en"]
    list_filter = ["kind", "body"]
    search_fields = ["code", "title_en", "title_ar", "venue_en", "venue_ar"]


@admin.register(models.ThematicArea)
class ThematicAreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name_en", "name_ar", "position"]
    search_fields = ["code", "name_en", "name_ar"]


@admin.register(models.Recommendation)
class RecommendationAdmin(SimpleHistoryAdmin):
    list_display = ["reference", "meeting", "text_en", "target_date", "is_public", "is_archived", "is_sample"]
    list_filter = ["meeting", "is_public", "is_archived", "is_sample", "themes"]
    search_fields = ["reference", "text_en", "text_ar"]
    list_select_related = ["meeting"]
    autocomplete_fields = ["meeting"]
    filter_horizontal = ["themes", "applies_to"]


@admin.register(models.Implementation)
class ImplementationAdmin(SimpleHistoryAdmin):
    list_display = ["recommendation", "member_state", "status", "progress", "last_reported_at", "version"]
    list_filter = ["status", "member_state", "has_open_obstacle"]
    search_fields = ["recommendation__reference", "recommendation__text_en", "recommendation__text_ar",
                     "member_state__name_en", "member_state__name_ar", "member_state__iso_code"]
    list_select_related = ["recommendation", "member_state"]
    readonly_fields = [
        "version", "last_reported_at", "last_report_cycle", "unchanged_cycles", "created_at", "updated_at",
    ]
    raw_id_fields = ["recommendation"]
    show_full_result_count = False


@admin.register(models.ProgressReport)
class ProgressReportAdmin(admin.ModelAdmin):
    list_display = ["implementation", "state", "status", "progress", "author", "submitted_at"]
    list_filter = ["state", "status", "cycle"]
    search_fields = ["narrative", "obstacles", "implementation__recommendation__reference",
                     "implementation__member_state__name_en", "implementation__member_state__name_ar"]
    list_select_related = ["implementation__recommendation", "implementation__member_state", "author"]
    raw_id_fields = ["implementation", "author"]
    show_full_result_count = False


@admin.register(models.Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ["original_name", "report", "content_type", "size", "created_at"]
    search_fields = ["original_name", "sha256"]
    raw_id_fields = ["report", "uploaded_by"]


@admin.register(models.FocalPointDesignation)
class FocalPointDesignationAdmin(SimpleHistoryAdmin):
    list_display = ["user", "member_state", "body", "role", "start_date", "end_date", "preferred_language"]
    list_filter = ["role", "body", "member_state", "preferred_language"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name",
                     "member_state__name_en", "member_state__name_ar"]
    list_select_related = ["user", "member_state", "body"]
    autocomplete_fields = ["user", "member_state"]


@admin.register(models.ReviewCycle)
class ReviewCycleAdmin(SimpleHistoryAdmin):
    list_display = ["name_en", "body", "state", "period_start", "period_end", "report_deadline"]
    list_filter = ["state", "body"]
    search_fields = ["name_en", "name_ar"]


@admin.register(models.CycleSnapshot)
class CycleSnapshotAdmin(admin.ModelAdmin):
    list_display = ["cycle", "implementation", "status", "progress", "reported_in_cycle"]
    list_filter = ["cycle", "status"]
    raw_id_fields = ["implementation"]
    show_full_result_count = False


@admin.register(models.ReviewOutcome)
class ReviewOutcomeAdmin(admin.ModelAdmin):
    list_display = ["implementation", "cycle", "obstacle_category", "follow_up_by", "follow_up_due", "created_at"]
    list_filter = ["obstacle_category", "cycle"]
    search_fields = ["obstacle", "solution", "follow_up_by"]
    raw_id_fields = ["implementation"]


class ReminderStatusFilter(admin.ChoicesFieldListFilter):
    """The reminder's own state, titled "status" so it is not confused with the member state filter."""

    title = _("status")


@admin.register(models.Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """The reminder log: what was due, to whom, and what became of it. Rows are written by the policy only."""

    list_display = ["kind", "recipient", "member_state", "cycle", "stage", "state", "attempts", "due_at", "sent_at",
                    "short_error"]
    list_filter = ["member_state", "cycle", "kind", ("state", ReminderStatusFilter), "body"]
    search_fields = ["recipient__username", "recipient__email", "stage", "scope", "last_error"]
    list_select_related = ["recipient", "member_state", "cycle", "body"]
    raw_id_fields = ["recipient"]
    date_hierarchy = "created_at"
    actions = ["send_due_now", "resend"]
    readonly_fields = [f.name for f in models.Reminder._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is the proof of what was sent

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    def changelist_view(self, request, extra_context=None):
        # "Send due reminders now" works on the whole policy, so it needs no selected rows.
        from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

        if request.method == "POST" and request.POST.get("action") == "send_due_now":
            if not request.POST.getlist(ACTION_CHECKBOX_NAME):
                post = request.POST.copy()
                post.setlist(ACTION_CHECKBOX_NAME, ["0"])
                request.POST = post
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Send due reminders now"), permissions=["change"])
    def send_due_now(self, request, queryset):
        from tracker.reminders import policy
        from tracker.reminders.enqueue import publish
        from tracker.reminders.tasks import send_due_reminders

        created = policy.plan()
        if publish(send_due_reminders):
            self.message_user(request, _("%(count)s new reminders are due; the worker is sending them now.")
                              % {"count": created}, messages.SUCCESS)
        else:
            self.message_user(request, _("The task queue cannot be reached: the reminders will go out on its "
                                         "next run, or run “manage.py send_reminders”."), messages.WARNING)

    @admin.action(description=_("Resend"), permissions=["change"])
    def resend(self, request, queryset):
        from tracker.reminders import sending
        from tracker.reminders.enqueue import publish
        from tracker.reminders.tasks import send_due_reminders

        count = sending.resend(queryset)
        publish(send_due_reminders)
        self.message_user(request, _("%(count)s reminders queued again. Each is checked before it is sent: one "
                                     "that is no longer due is cancelled.") % {"count": count}, messages.SUCCESS)


@admin.register(models.Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    search_fields = ["user__username", "user__email"]
