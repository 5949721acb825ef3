"""The admin site: translated titles, a dashboard on the index, optional or mandatory TOTP for the secretariat."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.utils.translation import gettext, gettext_lazy
from django_otp import user_has_device
from django_otp.admin import OTPAdminAuthenticationForm

from tracker.core.forms import BoundedSignInMixin
from tracker.core.permissions import needs_second_factor


class TrackerLoginForm(BoundedSignInMixin, OTPAdminAuthenticationForm):
    """Password, then a TOTP code for accounts that have an authenticator. An account that must have one
    and has none signs in with its password and is sent to enrol (tracker.core.views.two_factor)."""

    def clean(self):
        AdminAuthenticationForm.clean(self)
        user = self.get_user()
        if user is not None and user_has_device(user):
            self.clean_otp(user)
        return self.cleaned_data


class TrackerAdminSite(admin.AdminSite):
    site_header = gettext_lazy("Recommendation tracker — administration")
    site_title = gettext_lazy("Recommendation tracker")
    index_title = gettext_lazy("Secretariat")
    index_template = "admin/tracker_index.html"
    # The sidebar repeats the index and took a quarter of a laptop screen from every list.
    enable_nav_sidebar = False
    login_form = TrackerLoginForm
    login_template = "otp/admin111/login.html"

    def has_permission(self, request):
        return super().has_permission(request) and not needs_second_factor(request.user)

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
