from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from tracker.api import commitments, evidence, pack, views

app_name = "api"

router = DefaultRouter()
router.include_root_view = True
router.register("bodies", views.BodyViewSet, basename="body")
router.register("member-states", views.MemberStateViewSet, basename="member-state")
router.register("themes", views.ThemeViewSet, basename="theme")
router.register("meetings", views.MeetingViewSet, basename="meeting")
router.register("recommendations", views.RecommendationViewSet, basename="recommendation")
router.register("implementations", views.ImplementationViewSet, basename="implementation")
router.register("progress-reports", views.ProgressReportViewSet, basename="progress-report")
router.register("review-cycles", views.ReviewCycleViewSet, basename="review-cycle")
router.register("review-outcomes", views.ReviewOutcomeViewSet, basename="review-outcome")
router.register("focal-points", views.FocalPointViewSet, basename="focal-point")
router.register("commitments", commitments.CommitmentViewSet, basename="commitment")

urlpatterns = [
    path("v1/review-cycles/<int:cycle_id>/pack/", pack.PackCreate.as_view(), name="review-cycle-pack"),
    path("v1/review-cycles/<int:cycle_id>/pack/<int:pk>/", pack.PackStatus.as_view(), name="review-cycle-pack-detail"),
    path("v1/review-cycles/<int:cycle_id>/pack/<int:pk>/file/", pack.PackFile.as_view(), name="review-cycle-pack-file"),
    path(
        "v1/progress-reports/<int:report_id>/evidence/",
        evidence.ReportEvidence.as_view(),
        name="progress-report-evidence",
    ),
    path(
        "v1/progress-reports/<int:report_id>/evidence/<int:evidence_id>/",
        evidence.ReportEvidenceDetail.as_view(),
        name="progress-report-evidence-detail",
    ),
    path(
        "v1/progress-reports/<int:report_id>/evidence/<int:evidence_id>/file/",
        evidence.ReportEvidenceFile.as_view(),
        name="progress-report-evidence-file",
    ),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    # Anything else under /api/ answers in the API's error format, not with an HTML page (a newline in the path too).
    re_path(r"^[\s\S]*$", views.not_found, name="not-found"),
]
