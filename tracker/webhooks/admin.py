"""Webhooks in the admin: endpoints (the secret shown once, at creation and rotation; enable again after a
disable) and the delivery log with its attempts, where failed deliveries are replayed. Nothing is deleted."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tracker.core.events import EventType
from tracker.webhooks import delivery as deliveries
from tracker.webhooks.addresses import check_url
from tracker.webhooks.models import Delivery, DeliveryAttempt, Endpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The event types sent to this endpoint."),
    )

    class Meta:
        model = Endpoint
        fields = ["partner", "url", "description", "events", "member_states"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        check_url(url)
        return url


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["url", "partner", "event_list", "is_active", "failure_streak", "disabled_at", "created_at"]
    list_filter = ["is_active", "partner"]
    search_fields = ["url", "description", "partner__code", "partner__name"]
    list_select_related = ["partner"]
    filter_horizontal = ["member_states"]
    actions = ["rotate_secret", "enable", "disable"]
    state_fields = [
        "is_active",
        "disabled_at",
        "disabled_reason",
        "failure_streak",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]

    def get_fields(self, request, obj=None):
        fields = ["partner", "url", "description", "events", "member_states"]
        return fields if obj is None else [*fields, *self.state_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["partner", *self.state_fields]

    def has_delete_permission(self, request, obj=None):
        return False  # disable instead: its deliveries stay in the log

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self._show_secret_once(request, obj, obj.secret)

    def _show_secret_once(self, request, endpoint, secret):
        messages.warning(
            request,
            _("The signing secret of %(url)s is shown only this once; copy it now: %(secret)s")
            % {"url": endpoint.url, "secret": secret},
        )

    @admin.action(description=_("Rotate the signing secret (the old one keeps signing for 24 hours)"))
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            self._show_secret_once(request, endpoint, endpoint.rotate_secret())

    @admin.action(description=_("Enable the selected endpoints again"))
    def enable(self, request, queryset):
        count = 0
        for endpoint in queryset.filter(is_active=False):
            endpoint.enable()
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d endpoint enabled: replay its failed deliveries from the delivery log if they are needed.",
                "%(count)d endpoints enabled: replay their failed deliveries from the delivery log if they are needed.",
                count,
            )
            % {"count": count},
        )

    @admin.action(description=_("Disable the selected endpoints"))
    def disable(self, request, queryset):
        reason = _("Disabled by %(user)s.") % {"user": request.user.get_username()}
        count = sum(deliveries.deactivate(endpoint.pk, str(reason)) for endpoint in queryset)
        self.message_user(
            request, ngettext("%(count)d endpoint disabled.", "%(count)d endpoints disabled.", count) % {"count": count}
        )


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["replay", "number", "started_at", "status_code", "response_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryStateFilter(admin.ChoicesFieldListFilter):
    title = _("delivery state")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: one row per event and endpoint, with every attempt; failed ones can be replayed."""

    list_display = [
        "event_type",
        "endpoint",
        "state",
        "attempts",
        "last_status_code",
        "last_response_ms",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    ]
    list_filter = [("state", DeliveryStateFilter), "event__type", "endpoint__partner", "endpoint"]
    list_select_related = ["event", "endpoint__partner"]
    search_fields = ["endpoint__url", "last_error"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ["replay"]
    fields = [
        "event_type",
        "webhook_id",
        "endpoint",
        "state",
        "attempts",
        "replays",
        "next_attempt_at",
        "last_status_code",
        "last_response_ms",
        "last_error",
        "delivered_at",
        "created_at",
        "payload",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is the record of what was sent

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, obj):
        return obj.event.get_type_display()

    @admin.display(description=_("webhook-id"))
    def webhook_id(self, obj):
        return obj.event.webhook_id

    @admin.display(description=_("payload"))
    def payload(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.event.payload, indent=2, ensure_ascii=False))

    @admin.action(description=_("Replay the selected deliveries"), permissions=["change"])
    def replay(self, request, queryset):
        asked = list(queryset.values_list("pk", flat=True))
        count = deliveries.replay(asked)
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
        if count < len(asked):
            self.message_user(
                request,
                _("Deliveries being sent, or to a disabled endpoint, were not replayed: enable the endpoint first."),
                messages.WARNING,
            )
