from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps  # not the class itself: it would count as a default here
from django.utils.translation import gettext_lazy as _


class SecretariatConfig(AppConfig):
    """The secretariat's admin: the core models' admin classes, import/export and the index dashboard."""

    default = True
    name = "tracker.secretariat"
    label = "secretariat"
    verbose_name = _("Secretariat")


class TrackerAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site (dashboard, two-factor sign-in) as the default site."""

    default = False
    default_site = "tracker.secretariat.site.TrackerAdminSite"
