from django.contrib.admin.apps import AdminConfig


class TrackerAdminConfig(AdminConfig):
    """The admin with our site (dashboard, two-factor sign-in) as the default site."""

    default_site = "tracker.admin_site.TrackerAdminSite"
