"""What the public may see, as the secretariat records it: each state's agreement to publish its progress (and
its narratives) on a body's public recommendations, and the external frameworks recommendations serve. Every
change of an agreement is in its history (who recorded or withdrew it, and when); the public pages and the
open data follow at once (tracker.core.publication)."""

from django.contrib import admin, messages
from django.db import models
from django.utils.translation import gettext_lazy as _

from tracker.core.models import Framework, FrameworkTarget, PublicationConsent
from tracker.secretariat.admin import NoDeleteMixin, SafeHistoryAdmin


@admin.register(PublicationConsent)
class PublicationConsentAdmin(NoDeleteMixin, SafeHistoryAdmin):
    list_display = [
        "member_state",
        "body",
        "publishes_progress",
        "publishes_narratives",
        "agreed_on",
        "agreed_by",
        "recorded_by",
        "recorded_at",
    ]
    list_filter = ["publishes_progress", "publishes_narratives", "body"]
    search_fields = ["member_state__name_en", "member_state__name_ar", "member_state__iso_code", "agreed_by"]
    list_select_related = ["member_state", "body", "recorded_by"]
    autocomplete_fields = ["member_state", "body"]
    readonly_fields = ["recorded_by", "recorded_at"]
    fields = [
        "body",
        "member_state",
        "publishes_progress",
        "publishes_narratives",
        "agreed_on",
        "agreed_by",
        "recorded_by",
        "recorded_at",
    ]
    actions = ["withdraw"]

    def get_readonly_fields(self, request, obj=None):
        # The pair is the agreement's identity: a change of state or body is a new agreement.
        return [*self.readonly_fields, "body", "member_state"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Withdraw the selected agreements (publish nothing more of these states)"))
    def withdraw(self, request, queryset):
        withdrawn = 0
        for consent in queryset.filter(publishes_progress=True):  # one by one: each withdrawal enters the history
            consent.publishes_progress = consent.publishes_narratives = False
            consent.recorded_by = request.user
            consent.save()
            withdrawn += 1
        self.message_user(request, _("%(count)s agreements withdrawn.") % {"count": withdrawn}, messages.SUCCESS)


# A web address typed without a scheme is read as https (Django 6's default).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class FrameworkTargetInline(admin.TabularInline):
    formfield_overrides = HTTPS_URLS
    model = FrameworkTarget
    extra = 1
    can_delete = False
    fields = ["code", "title_en", "title_ar", "url", "position"]


@admin.register(Framework)
class FrameworkAdmin(NoDeleteMixin, admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["code", "name_en", "name_ar", "position"]
    search_fields = ["code", "name_en", "name_ar"]
    inlines = [FrameworkTargetInline]


@admin.register(FrameworkTarget)
class FrameworkTargetAdmin(NoDeleteMixin, admin.ModelAdmin):
    formfield_overrides = HTTPS_URLS
    list_display = ["__str__", "framework", "code", "title_en", "title_ar"]
    list_filter = ["framework"]
    search_fields = ["code", "title_en", "title_ar", "framework__code", "framework__name_en"]
    list_select_related = ["framework"]
