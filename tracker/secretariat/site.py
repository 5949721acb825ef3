"""The admin site: translated titles, a dashboard on the index, optional or mandatory TOTP for the secretariat."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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

    def index(self, request, extra_context=None):
        from tracker.secretariat.dashboard import dashboard

        return super().index(request, {**dashboard(), **(extra_context or {})})
