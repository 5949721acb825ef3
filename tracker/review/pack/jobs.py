"""Building a meeting pack as a job: requested (a MeetingPack row), claimed once, built with its progress
recorded, stored as a private file. The web page, the API and a Celery worker all go through here.

Small packs are built at once, in the request: a Word document of up to 500 followed-up items (under a second
or two for a region of 22 states and seven recommendations), a PDF of up to 50 (WeasyPrint needs 5 to 15 seconds
for those 154 items with their 46 charts, too long for a page to wait). Anything larger is queued for the
Celery task `tracker.review.build_pack`, and the status page shows its progress. The setting
PACK_INLINE_MAX_ITEMS (a number, for both formats) changes the limits.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from tracker.core import file_jobs
from tracker.core.models import ReviewCycle
from tracker.review.models import MeetingPack
from tracker.review.pack import build_pack, check_available, file_name
from tracker.review.pack.sources import item_count

log = logging.getLogger(__name__)
State = MeetingPack.State

INLINE_MAX_ITEMS = {"docx": 500, "pdf": 50}
# A build not finished after this stopped (a worker killed or restarted): the task's hard limit is 15 minutes.
BUILD_LEASE = timedelta(minutes=20)
# A pack no worker took in this time was lost on its way (or no worker runs): it fails, and can be asked again.
QUEUE_TIMEOUT = timedelta(hours=1)


def inline_limit(fmt: str) -> int:
    return getattr(settings, "PACK_INLINE_MAX_ITEMS", INLINE_MAX_ITEMS[fmt])


def request_pack(cycle: ReviewCycle, language: str, fmt: str, user=None) -> MeetingPack:
    """The pack asked for: one already on its way for the same cycle, language and format, or a new one,
    built now when small, else queued. Raises PackUnavailable while the cycle is being closed."""
    check_available(cycle)
    expire_stopped_builds()
    waiting = MeetingPack.objects.filter(
        cycle=cycle, language=language, format=fmt, state__in=[State.QUEUED, State.BUILDING]
    ).first()
    if waiting is not None:
        return waiting
    pack = MeetingPack.objects.create(cycle=cycle, language=language, format=fmt, requested_by=user)
    if item_count(cycle) <= inline_limit(fmt):
        run(pack.pk)
        pack.refresh_from_db()
    else:
        transaction.on_commit(lambda: enqueue(pack.pk))
    return pack


def enqueue(pack_id: int) -> None:
    """Hand the build to a worker; if the broker cannot be reached, the pack fails at once with a message
    (rather than waiting for ever) and can be requested again."""
    from tracker.review.tasks import build_meeting_pack

    try:
        build_meeting_pack.apply_async(args=[pack_id], retry=False)
    except Exception as error:  # any broker error: the page must answer, never a 500
        log.warning("meeting pack %s not queued, the broker is unavailable: %r", pack_id, error)
        _fail(pack_id, f"not queued: {error!r}")


def claim(pack_id: int):
    """Take a queued pack to build it (only one worker or request ever does): (pack, mine) or None."""
    return file_jobs.claim(MeetingPack.objects.select_related("cycle__body"), pack_id, working=State.BUILDING)


def run(pack_id: int) -> bool:
    """Claim, build and store one pack; False if it was not ours to build (already claimed, or gone)."""
    claimed = claim(pack_id)
    if claimed is None:
        return False
    pack, mine = claimed
    try:
        data = build_pack(pack.cycle, pack.language, pack.format, progress=lambda p: mine.update(progress=p))
    except Exception as error:  # recorded on the pack, which the status page shows as failed
        log.exception("meeting pack %s failed", pack.pk)
        mine.update(state=State.FAILED, error=f"{type(error).__name__}: {error}"[:2000], finished_at=timezone.now())
        return True
    _store(pack, mine, data)
    return True


def _store(pack: MeetingPack, mine, data: bytes) -> None:
    file_jobs.store(pack, mine, file_name(pack.cycle, pack.language, pack.format), ContentFile(data))


def _fail(pack_id: int, error: str) -> None:
    file_jobs.fail(MeetingPack, pack_id, error, working=State.BUILDING)


def expire_stopped_builds() -> int:
    """Builds that outlived their lease, and packs no worker took, fail (core.file_jobs.expire_stopped)."""
    return file_jobs.expire_stopped(MeetingPack, State.BUILDING, "build", BUILD_LEASE, QUEUE_TIMEOUT)
