from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "tracker.review"
    label = "review"
    verbose_name = _("Review mechanism")

    def meeting_packs(self):
        """The meeting packs, for the API (rooms meet through app configs, never by importing each other)."""
        from tracker.review.pack.service import MeetingPacks

        return MeetingPacks()
