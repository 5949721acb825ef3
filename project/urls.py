from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from tracker.health import health

urlpatterns = [
    path("health/", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("review/", include("tracker.review.urls")),
    path("api/", include("tracker.api.urls")),
    path("", include("tracker.urls")),
]
