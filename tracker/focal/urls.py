from django.urls import path

from tracker.focal import clarification_views, handover_views, views, workbook_views

urlpatterns = [
    path("", views.home, name="home"),
    path("summary/", handover_views.handover_summary, name="handover_summary"),
    path("items/<int:pk>/", views.item_page, name="item"),
    path("items/<int:pk>/validation/", views.decide_validation, name="decide_validation"),
    path("validation/", views.validation_queue, name="validation_queue"),
    path("items/<int:pk>/clarifications/new/", clarification_views.ask, name="ask_clarification"),
    path("clarifications/<int:pk>/", clarification_views.thread, name="clarification"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence"),
    path("workbook/", workbook_views.workbook_page, name="workbook"),
    path("workbook/download/", workbook_views.workbook_download, name="workbook_download"),
    path("workbook/upload/", workbook_views.workbook_upload, name="workbook_upload"),
    path("workbook/uploads/<str:token>/", workbook_views.workbook_preview, name="workbook_preview"),
    path("commitments/", views.commitments, name="commitments"),
    path("commitments/<int:pk>/done/", views.commitment_done, name="commitment_done"),
    path("preferences/", views.reminder_preferences, name="reminder_preferences"),
    path("preferences/<str:token>/", views.reminder_link, name="reminder_link"),
]
