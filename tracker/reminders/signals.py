"""A submitted report, or a commitment done, dropped or moved, may make pending reminders obsolete: tidy them
up after commit.

Sending re-checks every row anyway; this only makes the admin's reminder log current sooner. If the
broker is down the save still succeeds at once (enqueue logs and returns).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from tracker.core.models import Commitment, ProgressReport
from tracker.reminders.enqueue import enqueue


@receiver(post_save, sender=ProgressReport, dispatch_uid="reminders-report-submitted")
def report_submitted(sender, instance, raw=False, **kwargs):
    if raw or not instance.is_submitted:
        return
    from tracker.reminders.tasks import cancel_stale_reminders

    enqueue(cancel_stale_reminders, instance.implementation.member_state_id)


@receiver(post_save, sender=Commitment, dispatch_uid="reminders-commitment-changed")
def commitment_changed(sender, instance, created=False, raw=False, **kwargs):
    if raw or created:  # a new commitment has no reminder yet
        return
    from tracker.reminders.tasks import cancel_stale_reminders

    enqueue(cancel_stale_reminders, instance.implementation.member_state_id)
