"""Celery tasks of the review room. Thin: the work is in tracker.review.pack.jobs; arguments are ids (JSON)."""

from celery import shared_task

from tracker.review.pack import jobs


@shared_task(name="tracker.review.build_pack", ignore_result=True, acks_late=True, time_limit=900, soft_time_limit=840)
def build_meeting_pack(pack_id):
    """Build one queued meeting pack; a second delivery of the same message finds it claimed and does nothing."""
    return jobs.run(pack_id)
