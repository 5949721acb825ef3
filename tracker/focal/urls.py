from django.urls import path

from tracker.focal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("items/<int:pk>/", views.item_page, name="item"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence"),
    path("commitments/<int:pk>/done/", views.commitment_done, name="commitment_done"),
    path("preferences/", views.reminder_preferences, name="reminder_preferences"),
    path("preferences/<str:token>/", views.reminder_link, name="reminder_link"),
]
