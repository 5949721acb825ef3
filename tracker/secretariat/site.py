"""The admin site: translated titles, a dashboard on the index, optional or mandatory TOTP for the secretariat."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm

from tracker.core.permissions import is_secretariat


def otp_required(user):
    return settings.OTP_REQUIRED_FOR_SECRETARIAT and is_secretariat(user)


class TrackerLoginForm(OTPAdminAuthenticationForm):
    """Password, then a TOTP code for accounts that have an authenticator (or must have one)."""

    def clean(self):
        AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and user_has_device(user):
            self.clean_otp(user)
        elif user is not None and otp_required(user):
            raise ValidationError(
                _("Two-factor sign-in is required for secretariat accounts: ask an administrator to register "
                  "an authenticator app for your account."), code="otp_required",
            )
        return self.cleaned_data


class TrackerAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Recommendation tracker — administration")
    site_title = gettext_lazy("Recommendation tracker")
    index_title = gettext_lazy("Secretariat")
    index_template = "admin/tracker_index.html"
    login_form = TrackerLoginForm
    login_template = "otp/admin111/login.html"

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        if otp_required(request.user) or user_has_device(request.user):
            return request.user.is_verified()
        return True

    def get_app_list(self, request, app_label=None):
        """Section and model names through our catalogue too: third-party apps (axes, django-otp) name them
        in English only; `third_party_names` lists them for makemessages."""
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            app["name"] = gettext(str(app["name"]))
            for model in app["models"]:
                model["name"] = gettext(str(model["name"]))
        return app_list

    def index(self, request, extra_context=None):
        from tracker.secretariat.dashboard import dashboard

        return super().index(request, {**dashboard(), **(extra_context or {})})
