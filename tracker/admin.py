"""Admin registrations: useful columns and search for every model (the complete admin builds on this)."""

from django.contrib import admin
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


@admin.register(models.Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["kind", "recipient", "member_state", "cycle", "stage", "state", "attempts", "sent_at"]
    list_filter = ["kind", "state", "member_state", "cycle"]
    search_fields = ["recipient__username", "recipient__email", "last_error"]
    raw_id_fields = ["recipient"]


@admin.register(models.Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    search_fields = ["user__username", "user__email"]
