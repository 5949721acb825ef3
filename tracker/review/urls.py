from django.urls import path

from tracker.review import trends_views, views

app_name = "review"
urlpatterns = [
    path("", views.review, name="index"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("report/", views.cycle_report, name="report"),
    path("trends/", trends_views.trends_page, name="trends"),
    path("cycles/move/", views.move, name="move_cycle"),
    path("items/<int:pk>/outcome/", views.outcome, name="outcome"),
]
