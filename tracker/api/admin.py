"""Admin for partner systems and their tokens: issue (shown once) and revoke."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from knox.models import AuthToken

from tracker.api.models import ApiToken, PartnerSystem
from tracker.api.tokens import ensure_partner, issue_token

# Partners' tokens are issued and revoked as API tokens (below), which keep their scope and history;
# knox's own admin would let anyone delete the underlying token without a trace.
admin.site.unregister(AuthToken)


class PartnerSystemForm(forms.ModelForm):
    class Meta:
        model = PartnerSystem
        fields = [
            "code",
            "name",
            "is_secretariat_level",
            "cleared_for_confidential",
            "contact_email",
            "notes",
            "is_active",
        ]


class TokenInline(admin.TabularInline):
    model = ApiToken
    fields = ["token_key", "label", "scope", "expires_at", "revoked_at", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PartnerSystem)
class PartnerSystemAdmin(admin.ModelAdmin):
    form = PartnerSystemForm
    list_display = ["code", "name", "is_secretariat_level", "cleared_for_confidential", "is_active", "created_at"]
    list_filter = ["is_secretariat_level", "cleared_for_confidential", "is_active"]
    search_fields = ["code", "name", "contact_email"]
    inlines = [TokenInline]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: its tokens stop working and the record stays

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        # A new partner gets its service account: a user without a password who can only use tokens.
        partner = ensure_partner(obj.code, obj.name, secretariat_level=obj.is_secretariat_level)
        for field in ("cleared_for_confidential", "contact_email", "notes", "is_active"):
            setattr(partner, field, getattr(obj, field))
        partner.save()
        obj.pk, obj.service_account = partner.pk, partner.service_account
        obj._state.adding = False


class ApiTokenForm(forms.ModelForm):
    expires_in_days = forms.IntegerField(
        label=_("expires in (days)"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Leave empty for a token that does not expire."),
    )

    class Meta:
        model = ApiToken
        fields = ["partner", "label", "scope", "states"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "partner", "scope", "label", "expires_at", "revoked_at", "created_at"]
    list_filter = ["scope", "partner"]
    search_fields = ["token_key", "label", "partner__code", "partner__name"]
    filter_horizontal = ["states"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "label", "scope", "states", "expires_in_days"]
        return ["partner", "token_key", "label", "scope", "states", "expires_at", "revoked_at", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["partner", "token_key", "expires_at", "revoked_at", "created_at"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays

    def save_model(self, request, obj, form, change):
        if change:
            obj.save()
            return
        token, raw = issue_token(
            form.cleaned_data["partner"],
            form.cleaned_data["scope"],
            states=form.cleaned_data["states"],
            expires_days=form.cleaned_data.get("expires_in_days"),
            label=form.cleaned_data.get("label", ""),
        )
        obj.pk = token.pk
        obj._state.adding = False
        messages.warning(
            request,
            _("The token is shown only this once; copy it now: %(token)s") % {"token": raw},
        )

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()
            count += 1
        self.message_user(
            request, ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count) % {"count": count}
        )
