"""The reminder job without Celery: for cron, or to see what is due while debugging."""

from django.core.management.base import BaseCommand

from tracker.reminders import policy, sending


class Command(BaseCommand):
    help = "Compute the reminders that are due and send them (the same job as the Celery beat task)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List what is due; write and send nothing.")
        parser.add_argument("--plan-only", action="store_true", help="Write due reminders, send nothing.")
        parser.add_argument("--batch-size", type=int, default=None, help="Rows per claimed batch.")

    def handle(self, *args, dry_run=False, plan_only=False, batch_size=None, **options):
        if dry_run:
            due = policy.due().rows.values()
            for row in sorted(due, key=lambda r: (r.kind, r.scope, r.stage, str(r.addressee))):
                cc = f" cc {', '.join(row.cc)}" if row.cc else ""
                self.stdout.write(f"{row.kind} {row.scope} {row.stage} → {row.addressee}{cc}")
            self.stdout.write(f"{len(due)} reminders due (already sent ones included).")
            return
        due_now = policy.due()
        created = policy.write(due_now)
        self.stdout.write(f"{created} new reminders due.")
        if plan_only:
            return
        more = True
        while more:  # run after run (each within REMINDER_RUN_SECONDS), as the Celery task queues follow-ups
            result = sending.send_due(batch_size=batch_size, plan=due_now)
            due_now = None  # a later run works out afresh what is due
            more = result.more
            self.stdout.write(
                f"{result.sent} e-mails sent ({result.rows_sent} reminders), {result.retried} to retry, "
                f"{result.failed} failed, {result.unknown} of unknown outcome held, "
                f"{result.cancelled} cancelled as no longer due."
            )
