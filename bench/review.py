"""Measure the review view at scale: first page render time (warm), its SQL queries, and our stalled
query against a minimal hand-written SQL query answering the same question on the same data."""

import statistics
import time

from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from bench import synthetic
from tracker.core.models import Body, Implementation
from tracker.core.permissions import SECRETARIAT_GROUP
from tracker.core.querysets import StalledContext

LARGE = 1_000_000

#: The same question as Implementation.objects.stalled(), written by hand from the tables alone:
#: how many followed-up, unsettled items of the body are stalled for at least one reason.
HAND_WRITTEN = """
SELECT count(*)
FROM tracker_implementation i
JOIN tracker_recommendation r ON r.id = i.recommendation_id
JOIN tracker_meeting m ON m.id = r.meeting_id
JOIN tracker_body b ON b.id = m.body_id
LEFT JOIN tracker_reviewcycle c ON c.body_id = b.id AND c.state = 'open' AND c.report_deadline < %(today)s
WHERE b.id = %(body)s AND i.applies AND NOT r.is_archived
  AND i.status NOT IN ('implemented', 'not_applicable')
  AND (COALESCE(i.last_reported_at, i.created_at) < %(now)s - b.stale_after_days * interval '1 day'
       OR (c.id IS NOT NULL AND i.last_report_cycle_id IS DISTINCT FROM c.id)
       OR i.unchanged_cycles >= b.unchanged_cycles
       OR r.target_date < %(today)s
       OR i.has_open_obstacle)
"""


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


class Command(BaseCommand):
    help = "Benchmark the review view and the stalled query (PostgreSQL, large synthetic data)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate", action="store_true", help="Generate the large synthetic data set first if it is not there."
        )
        parser.add_argument("--runs", type=int, default=7)

    def handle(self, *args, generate, runs, **options):
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
        self.stdout.write(f"Data: {items:,} implementations of {body.code}, about {reports:,} reports.")
        self.bench_page(runs)
        self.bench_stalled(body, runs)

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
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute(HAND_WRITTEN, {"body": body.pk, "now": now, "today": timezone.localdate(now)})
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
