"""The three roles, as groups with permissions. Used by a data migration and by tests."""

from django.apps.registry import Apps
from django.db.models import Q

from tracker.core.permissions import FOCAL_POINT_GROUP, REVIEWER_GROUP, SECRETARIAT_GROUP

# The app labels of the tracker's own models: the core ("tracker") and the rooms that own models.
TRACKER_APPS = ["tracker", "reminders", "api"]
# What the Secretariat group manages besides: partners' webhook endpoints (not shown to reviewers), accounts and
# roles, sign-in lockouts, authenticators. Not the periodic task schedule (set in settings) nor knox's raw tokens
# (partners' tokens are API tokens).
MANAGED_APPS = [*TRACKER_APPS, "webhooks", "auth", "axes", "otp_totp", "otp_static"]


def ensure_roles(apps: Apps) -> None:
    """Create or refresh the groups: Secretariat (full), Reviewer (view only), Focal point (no admin)."""
    from django.contrib.auth.management import create_permissions

    for config in apps.get_app_configs():
        config.models_module = True  # type: ignore[assignment]  # any true value makes create_permissions run
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    managed = permission_model.objects.filter(content_type__app_label__in=MANAGED_APPS)
    secretariat, _ = group_model.objects.get_or_create(name=SECRETARIAT_GROUP)
    # The roles themselves (groups and their permissions) are a superuser's to change, never the secretariat's.
    roles_and_grants = Q(content_type__app_label="auth") & (
        Q(codename__endswith="_permission") | Q(codename__in=["add_group", "change_group", "delete_group"])
    )
    secretariat.permissions.set(managed.exclude(roles_and_grants))
    reviewer, _ = group_model.objects.get_or_create(name=REVIEWER_GROUP)
    reviewer.permissions.set(managed.filter(codename__startswith="view_", content_type__app_label__in=TRACKER_APPS))
    group_model.objects.get_or_create(name=FOCAL_POINT_GROUP)
