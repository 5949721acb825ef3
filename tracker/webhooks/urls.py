"""/api/v1/webhook-endpoints/: included from project/urls.py before the API's own URLs (whose last pattern
answers anything else under /api/ with a 404), so the webhooks room and the API room import nothing of each other."""

from rest_framework.routers import SimpleRouter

from tracker.webhooks.api import EndpointViewSet

app_name = "webhooks"

router = SimpleRouter()
router.register("", EndpointViewSet, basename="endpoint")

urlpatterns = router.urls
