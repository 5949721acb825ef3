"""The reminder log in the admin: filters, "Send due reminders now" and "Resend". Nothing is deleted."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils.translation import gettext_lazy as _

from tracker.core.models import ReminderOptOut
from tracker.reminders import policy, sending
from tracker.reminders.enqueue import publish
from tracker.reminders.models import Reminder
from tracker.reminders.tasks import send_due_reminders


class ReminderStatusFilter(admin.ChoicesFieldListFilter):
    """The reminder's own state, titled "status" so it is not confused with the member state filter."""

    title = _("status")


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """The reminder log: what was due, to whom, and what became of it. Rows are written by the policy only."""

    list_display = [
        "kind",
        "addressee",
        "member_state",
        "cycle",
        "stage",
        "state",
        "attempts",
        "due_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["member_state", "cycle", "kind", ("state", ReminderStatusFilter), "body"]
    search_fields = ["recipient__username", "recipient__email", "recipient_email", "stage", "scope", "last_error"]
    list_select_related = ["recipient", "member_state", "cycle", "body"]
    raw_id_fields = ["recipient", "commitment"]
    date_hierarchy = "created_at"
    actions = ["send_due_now", "resend", "mark_delivered"]
    readonly_fields = [f.name for f in Reminder._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # the log is the proof of what was sent

    @admin.display(description=_("recipient"), ordering="recipient__username")
    def addressee(self, obj):
        """The user, or the address of a recipient without an account (a partner, the secretariat's mailbox)."""
        return obj.addressee

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    def changelist_view(self, request, extra_context=None):
        extra_context = {"subtitle": sending.unknown_outcome_policy(), **(extra_context or {})}
        # "Send due reminders now" works on the whole policy, so it needs no selected rows.
        if request.method == "POST" and request.POST.get("action") == "send_due_now":
            if not request.POST.getlist(ACTION_CHECKBOX_NAME):
                post = request.POST.copy()
                post.setlist(ACTION_CHECKBOX_NAME, ["0"])
                request.POST = post
        return super().changelist_view(request, extra_context)

    @admin.action(description=_("Send due reminders now"), permissions=["change"])
    def send_due_now(self, request, queryset):
        created = policy.plan()
        if publish(send_due_reminders):
            self.message_user(
                request,
                _("%(count)s new reminders are due; the worker is sending them now.") % {"count": created},
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                _(
                    "The task queue cannot be reached: the reminders will go out on its "
                    "next run, or run “manage.py send_reminders”."
                ),
                messages.WARNING,
            )

    @admin.action(description=_("Resend"), permissions=["change"])
    def resend(self, request, queryset):
        count = sending.resend(queryset)
        publish(send_due_reminders)
        self.message_user(
            request,
            _(
                "%(count)s reminders queued again. Each is checked before it is sent: one "
                "that is no longer due is cancelled."
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Mark as delivered (outcome unknown)"), permissions=["change"])
    def mark_delivered(self, request, queryset):
        count = sending.mark_delivered(queryset)
        self.message_user(
            request,
            _("%(count)s reminders marked sent. Only reminders whose outcome was unknown are changed.")
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(ReminderOptOut)
class ReminderOptOutAdmin(admin.ModelAdmin):
    """Who turned off which digest (through /preferences/ or an e-mail's link). Deleting one turns it back on."""

    list_display = ["user", "address", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "user__email", "address"]
    list_select_related = ["user"]
    readonly_fields = ["user", "address", "kind", "created_at"]

    def has_add_permission(self, request):
        return False  # a choice the recipient makes, not the secretariat

    def has_change_permission(self, request, obj=None):
        return False
