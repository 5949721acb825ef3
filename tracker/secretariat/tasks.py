"""Celery tasks of the secretariat room. Thin: the work is in tracker.secretariat.export_jobs; arguments are ids."""

from celery import shared_task

from tracker.secretariat import export_jobs


@shared_task(
    name="tracker.secretariat.write_export", ignore_result=True, acks_late=True, time_limit=1800, soft_time_limit=1740
)
def write_admin_export(job_id):
    """Write one queued admin export; a second delivery of the same message finds it claimed and does nothing."""
    return export_jobs.run(job_id)
