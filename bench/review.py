"""Measure the review view at scale: first page render time (warm), its SQL queries, our stalled query against
a minimal hand-written SQL query answering the same question on the same data, and the close of a cycle over
every item (what the Celery task runs), in a transaction rolled back so the data stays as it was."""

import os
import statistics
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models.functions import Mod
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from bench import synthetic
from tracker.core import services
from tracker.core.models import Body, CycleSnapshot, Implementation, ReviewCycle
from tracker.core.permissions import SECRETARIAT_GROUP
from tracker.core.querysets import StalledContext

LARGE = 1_000_000
CLOSE_TARGET_S = 10

#: The same question as Implementation.objects.stalled(), written by hand from the tables alone:
#: how many followed-up, unsettled items of the body are stalled for at least one reason.
#: "Unchanged": status and progress last changed before the K-th most recent closed cycle of the body began
#: (K = the body's threshold); a closed cycle began when the previous one closed, the first one when it opened,
#: or, opened before that was recorded, at midnight (TIME_ZONE) of its period's first day.
HAND_WRITTEN = """
WITH closed AS (
  SELECT body_id,
         COALESCE(lag(closed_at) OVER (PARTITION BY body_id ORDER BY closed_at, id), opened_at,
                  period_start::timestamp AT TIME ZONE %(zone)s) AS started,
         row_number() OVER (PARTITION BY body_id ORDER BY closed_at DESC, id DESC) AS recent
  FROM tracker_reviewcycle
  WHERE state = 'closed'
)
SELECT count(*)
FROM tracker_implementation i
JOIN tracker_recommendation r ON r.id = i.recommendation_id
JOIN tracker_meeting m ON m.id = r.meeting_id
JOIN tracker_body b ON b.id = m.body_id
LEFT JOIN tracker_reviewcycle c ON c.body_id = b.id AND c.state = 'open' AND c.report_deadline < %(today)s
LEFT JOIN closed k ON k.body_id = b.id AND k.recent = b.unchanged_cycles
WHERE b.id = %(body)s AND i.applies AND NOT r.is_archived
  AND i.status NOT IN ('implemented', 'not_applicable')
  AND (COALESCE(i.last_reported_at, i.created_at) < %(now)s - b.stale_after_days * interval '1 day'
       OR (c.id IS NOT NULL AND i.last_report_cycle_id IS DISTINCT FROM c.id)
       OR i.status_changed_at < k.started
       OR r.target_date < %(today)s
       OR i.has_open_obstacle
       OR i.open_commitment_due < %(today)s)
"""


def hand_written_params(body, now):
    return {"body": body.pk, "now": now, "today": timezone.localdate(now), "zone": settings.TIME_ZONE}


def count_queries(client, path):
    seen = []

    def record(run, sql, *args):
        seen.append(sql)
        return run(sql, *args)

    with connection.execute_wrapper(record):
        client.get(path)
    return len(seen)


def median_ms(function, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def backend_cpu():
    """CPU seconds used so far by this connection's database backend, if the server runs on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    if connection.settings_dict.get("HOST") not in ("", None, "localhost", "127.0.0.1", "::1"):
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            name, fields = stat.read().split(" (", 1)[1].rsplit(")", 1)
    except (OSError, IndexError):
        return None
    if not name.startswith("postgres"):
        return None
    fields = fields.split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Rollback(Exception):
    """Raised at the end of a measured close so its transaction rolls back."""


class Command(BaseCommand):
    help = "Benchmark the review view, the stalled query and closing a cycle (PostgreSQL, large synthetic data)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate", action="store_true", help="Generate the large synthetic data set first if it is not there."
        )
        parser.add_argument("--runs", type=int, default=7)
        parser.add_argument(
            "--close-runs", type=int, default=3, help="Closes measured (each rolled back); 0 leaves the close out."
        )
        parser.add_argument("--skip-pages", action="store_true", help="Measure only the stalled query and the close.")

    def handle(self, *args, generate, runs, close_runs, skip_pages, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench review needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name.")
        size = self.estimated_items()
        if size < LARGE * 0.95 and generate:
            self.stdout.write(f"About {size:,} implementations: generating the large synthetic set (minutes)...")
            call_command(synthetic.Command(), size="large", replace=True, stdout=self.stdout)
            size = self.estimated_items()
        elif size < LARGE * 0.95:
            self.stderr.write(
                f"Only about {size:,} implementations: the figures below are not at 1,000,000. "
                "Run `python -m bench synthetic --size large` first."
            )
        body = Body.objects.get(code="aimc") if Body.objects.filter(code="aimc").exists() else Body.objects.first()
        items = Implementation.objects.filter(recommendation__meeting__body=body).count()
        reports = self.estimated("tracker_progressreport")
        self.stdout.write(
            f"Data: {items:,} implementations of {body.code}, about {reports:,} reports ({os.cpu_count()} CPU cores)."
        )
        if not skip_pages:
            self.bench_page(runs)
        self.bench_stalled(body, runs)
        if close_runs:
            self.bench_close(body, close_runs)

    def estimated(self, table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
        return max(row[0], 0) if row else 0

    def estimated_items(self):
        return self.estimated("tracker_implementation")

    def bench_page(self, runs):
        user, _ = User.objects.get_or_create(username="bench-secretariat", defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name=SECRETARIAT_GROUP))
        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
            client = Client()
            client.force_login(user)
            for path in ("/review/", "/review/?view=table"):
                for _ in range(2):  # warm: caches, connections, templates
                    response = client.get(path)
                if response.status_code != 200:
                    raise CommandError(f"{path} answered {response.status_code}.")
                queries = count_queries(client, path)
                ms = median_ms(lambda p=path: client.get(p), runs)
                cache.clear()
                cold = median_ms(lambda p=path: client.get(p), 1)
                self.stdout.write(
                    f"{path:<22} first page, warm: {ms:7.1f} ms (median of {runs}), "
                    f"{queries} SQL queries; with the summary cache empty: {cold:.0f} ms"
                )

    def bench_stalled(self, body, runs):
        def ours():
            context = StalledContext.load()
            return Implementation.objects.filter(recommendation__meeting__body=body).stalled(context=context).count()

        def hand():
            with connection.cursor() as cursor:
                cursor.execute(HAND_WRITTEN, hand_written_params(body, timezone.now()))
                return cursor.fetchone()[0]

        a, b = ours(), hand()
        if a != b:
            raise CommandError(f"The two queries disagree: ours {a:,}, hand-written {b:,}.")
        ours_ms, hand_ms = [], []
        for _ in range(runs):  # interleaved, so both see the same cache state
            ours_ms.append(median_ms(ours, 1))
            hand_ms.append(median_ms(hand, 1))
        o, h = statistics.median(ours_ms), statistics.median(hand_ms)
        self.stdout.write(
            f"stalled items: {a:,}. Our query (rules + context load): {o:.1f} ms; "
            f"hand-written SQL: {h:.1f} ms; ratio {o / h:.2f}x (target <= 2x)"
        )

    # --- closing a cycle ---------------------------------------------------------------------------

    def bench_close(self, body, runs):
        """Close the body's cycle under review (its open cycle, moved to review first) as the Celery task
        would: `move_cycle(cycle, "closed")` then `finish_close`, plus the foreign key checks deferred to the
        commit (`SET CONSTRAINTS ALL IMMEDIATE`), all inside a transaction that is then rolled back. The
        tables are vacuumed between runs (not timed) so that each starts from the same state. On a shared
        machine the database backend's CPU time (when the server is local) says more than the wall time."""
        results = []
        for run in range(runs):
            results.append(self.close_once(body))
            move, freeze, checks, rows, cpu = results[-1]
            cpu_text = f", database CPU {cpu:.2f} s" if cpu is not None else ""
            self.stdout.write(
                f"  close run {run + 1}: {move + freeze + checks:.2f} s (move {move * 1000:.0f} ms, "
                f"finish_close {freeze:.2f} s, deferred FK checks {checks:.2f} s{cpu_text}), {rows:,} snapshot rows"
            )
            self.vacuum()
        total = statistics.median(move + freeze + checks for move, freeze, checks, _, _ in results)
        rows = results[-1][3]
        verdict = "met" if total < CLOSE_TARGET_S else "NOT met"
        self.stdout.write(
            f"close at {rows:,} items: {total:.2f} s (target < {CLOSE_TARGET_S} s), median of {runs}: {verdict}; "
            f"{rows:,} snapshot rows written"
        )

    def cycle_to_close(self, body):
        """The body's cycle under review; its open cycle is moved to review first. Without either, a new cycle
        under review that half the items reported in (all of this is rolled back with the close)."""
        cycle = ReviewCycle.objects.filter(body=body, state=ReviewCycle.State.UNDER_REVIEW).first()
        if cycle is not None:
            return cycle
        cycle = ReviewCycle.objects.filter(body=body, state=ReviewCycle.State.OPEN).first()
        if cycle is not None:
            return services.move_cycle(cycle, ReviewCycle.State.UNDER_REVIEW)
        today = timezone.localdate()
        cycle = ReviewCycle.objects.create(
            body=body,
            name_en="[Benchmark] cycle",
            name_ar="[قياس الأداء] دورة",
            period_start=today - timedelta(days=180),
            period_end=today,
            report_deadline=today - timedelta(days=7),
            state=ReviewCycle.State.UNDER_REVIEW,
            opened_at=timezone.now() - timedelta(days=180),
        )
        Implementation.objects.filter(recommendation__meeting__body=body).alias(half=Mod("id", 2)).filter(
            half=0
        ).update(last_report_cycle=cycle)
        return cycle

    def close_once(self, body):
        """(move s, finish_close s, deferred checks s, snapshot rows, database CPU s) of one close, rolled back."""
        outcome = None
        try:
            with transaction.atomic():
                cycle = self.cycle_to_close(body)
                cpu = backend_cpu()
                started = time.perf_counter()
                services.move_cycle(cycle, ReviewCycle.State.CLOSED)
                moved = time.perf_counter()
                closed = services.finish_close(cycle.pk)
                frozen = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what the COMMIT would check
                checked = time.perf_counter()
                cpu = backend_cpu() - cpu if cpu is not None else None
                if closed is None or closed.state != ReviewCycle.State.CLOSED:
                    raise CommandError(f"finish_close did not close cycle {cycle.pk}.")
                rows = CycleSnapshot.objects.filter(cycle=cycle).count()
                outcome = (moved - started, frozen - moved, checked - frozen, rows, cpu)
                raise Rollback
        except Rollback:
            pass
        return outcome

    def vacuum(self):
        with connection.cursor() as cursor:
            for table in ("cyclesnapshot", "implementation", "reviewcycle"):
                cursor.execute(f"VACUUM tracker_{table}")
