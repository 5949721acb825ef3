"""What another room may ask of the meeting packs. The API offers them too, but rooms never import each other:
it reaches this through the review room's app config (`apps.get_app_config("review").meeting_packs()`), the
house's extension point, the way the reminders offer their panel to the secretariat's dashboard."""

from __future__ import annotations

from tracker.core.models import ReviewCycle
from tracker.review.models import MeetingPack
from tracker.review.pack import FORMATS, LANGUAGES, PackUnavailable, file_name
from tracker.review.pack.jobs import expire_stopped_builds, request_pack


class MeetingPacks:
    Unavailable = PackUnavailable
    languages = LANGUAGES
    formats = tuple(FORMATS)

    def request(self, cycle: ReviewCycle, language: str, fmt: str, user=None) -> MeetingPack:
        """Built at once when small, else queued; raises `Unavailable` while the cycle is being closed."""
        return request_pack(cycle, language, fmt, user=user)

    def find(self, cycle_id: int, pack_id: int) -> MeetingPack | None:
        expire_stopped_builds()
        return MeetingPack.objects.select_related("cycle__body").filter(pk=pack_id, cycle_id=cycle_id).first()

    def download_name(self, pack: MeetingPack) -> str:
        return file_name(pack.cycle, pack.language, pack.format)

    def content_type(self, pack: MeetingPack) -> str:
        return FORMATS[pack.format]
