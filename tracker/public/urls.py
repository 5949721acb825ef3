"""The public pages carry their language in the path (/public/ar/..., /public/en/...): a link shared answers the
same for everyone, whatever their browser's language or session, so every page can be cached as it is."""

from django.urls import path, register_converter

from tracker.public import opendata, pages


class LanguageConverter:
    regex = "ar|en"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(LanguageConverter, "lang")

urlpatterns = [
    path("", pages.choose_language, name="public_root"),
    path("<lang:lang>/", pages.overview, name="public_overview"),
    path("<lang:lang>/recommendations/<int:pk>/", pages.recommendation, name="public_recommendation"),
    path("<lang:lang>/states/<str:iso>/", pages.member_state, name="public_state"),
    path("<lang:lang>/data/", opendata.data_page, name="public_data"),
    path("data/published.<str:fmt>", opendata.download, name="public_download"),
    path("data/published-hxl.csv", opendata.hxl_download, name="public_hxl"),
    path("sitemap.xml", opendata.sitemap, name="public_sitemap"),
]
