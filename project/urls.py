"""The house's front door: the core's shared views, then one include per room (docs/architecture.md)."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from tracker.core.forms import SignInForm
from tracker.core.health import health, worker_health
from tracker.core.views import switch_language, two_factor


def moved_admin(app_label):
    return RedirectView.as_view(url=f"/admin/{app_label}/%(model)s/%(rest)s", permanent=True, query_string=True)


urlpatterns = [
    path("health/", health, name="health"),
    path("health/worker/", worker_health, name="worker_health"),
    path("language/", switch_language, name="switch_language"),
    # Bookmarks from before reminders and API partners moved to their rooms' apps keep working.
    re_path(r"^admin/tracker/(?P<model>reminder)/(?P<rest>.*)$", moved_admin("reminders")),
    re_path(r"^admin/tracker/(?P<model>partnersystem|apitoken)/(?P<rest>.*)$", moved_admin("api")),
    path("admin/", admin.site.urls),
    path("accounts/two-factor/", two_factor, name="two_factor"),
    # Django's sign-in view with our form (a name longer than any account's is a field error, tracker.core.forms).
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("review/", include("tracker.review.urls")),
    # The webhooks room's API resource, before the API's own URLs (they end with a catch-all 404).
    path("api/v1/webhook-endpoints/", include("tracker.webhooks.urls")),
    path("api/", include("tracker.api.urls")),
    path("public/", include("tracker.public.urls")),
    path("", include("tracker.focal.urls")),
]
