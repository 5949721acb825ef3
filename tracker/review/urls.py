from django.urls import path

from tracker.review import pack_views, trends_views, views

app_name = "review"
urlpatterns = [
    path("", views.review, name="index"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("report/", views.cycle_report, name="report"),
    path("trends/", trends_views.trends_page, name="trends"),
    path("cycles/move/", views.move, name="move_cycle"),
    path("items/<int:pk>/outcome/", views.outcome, name="outcome"),
    path("pack/", pack_views.pack, name="pack"),
    path("pack/<int:pk>/", pack_views.pack_status, name="pack_status"),
    path("pack/<int:pk>/download/", pack_views.pack_download, name="pack_download"),
]
