"""Synthetic data for measuring the review mechanism at scale (PostgreSQL only, written with COPY).

Everything generated is labelled: meetings `synthetic-*`, recommendations marked as sample items whose
text starts with "[Synthetic data]". `--replace` removes a previous synthetic set first; real data is
never touched.
"""

import random
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from tracker.core.models import Body, Meeting, ReviewCycle, ThematicArea

SIZES = {
    # recommendations per size; every recommendation applies to every member state of the body (22).
    "tiny": 50,
    "default": 5_000,
    "large": 45_500,
}
MEETINGS = 40
REPORTS_PER_ITEM = 3  # on average: 3,000,000 reports at the large size
PREFIX = "synthetic-"
STATUSES = [("not_started", 30), ("in_progress", 45), ("implemented", 18), ("not_applicable", 7)]


class Command(BaseCommand):
    help = "Generate synthetic recommendations, implementations, reports and cycles on PostgreSQL."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="default")
        parser.add_argument("--replace", action="store_true", help="Delete a previous synthetic set first.")
        parser.add_argument("--seed", type=int, default=2021)

    def handle(self, *args, size, replace, seed, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench synthetic needs PostgreSQL (it writes with COPY): "
                "set DATABASE_URL=postgres://user@host:5432/name."
            )
        started = time.monotonic()
        self.rng = random.Random(seed)
        call_command("load_reference_data", verbosity=0)
        body = Body.objects.get(code="aimc")
        if Meeting.objects.filter(code__startswith=PREFIX).exists():
            if not replace:
                raise CommandError("Synthetic data is already loaded; use --replace to generate it again.")
            self.delete_synthetic()
        self.now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            self.cursor = cursor
            states = list(body.member_states.order_by("pk").values_list("pk", flat=True))
            author = self.author()
            cycles = self.cycles(body)
            recommendations = self.recommendations(body, SIZES[size])
            items = self.implementations(recommendations, states, cycles)
            reports = self.reports(items, author, cycles)
            snapshots = self.snapshots(items, cycles["closed"])
        with connection.cursor() as cursor:
            for table in (
                "recommendation",
                "implementation",
                "progressreport",
                "cyclesnapshot",
                "recommendation_themes",
            ):
                cursor.execute(f"ANALYZE tracker_{table}")
        self.stdout.write(
            f"{size}: {len(recommendations):,} recommendations, {len(items):,} implementations, "
            f"{reports:,} reports, {snapshots:,} snapshot rows in {time.monotonic() - started:.0f} s."
        )

    # --- helpers ---------------------------------------------------------------------------------

    def next_id(self, table):
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM tracker_{table}")
        return self.cursor.fetchone()[0]

    def reset_sequence(self, table):
        self.cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('tracker_{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM tracker_{table}))"
        )

    def copy(self, table, columns, rows):
        count = 0
        with self.cursor.copy(f"COPY tracker_{table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def author(self):
        user, _ = User.objects.get_or_create(
            username="synthetic-focal-point", defaults={"first_name": "Synthetic", "is_active": False}
        )
        return user.pk

    def cycles(self, body):
        """Two closed cycles, and an open one whose deadline passed a week ago."""
        today = timezone.localdate()
        ReviewCycle.objects.filter(body=body, state=ReviewCycle.State.OPEN).update(
            state=ReviewCycle.State.CLOSED, closed_at=self.now
        )
        made = {}
        for key, months_ago, state in (("older", 18, "closed"), ("closed", 12, "closed"), ("open", 6, "open")):
            start = today - timedelta(days=30 * months_ago)
            made[key] = ReviewCycle.objects.create(
                body=body,
                name_en=f"[Synthetic] cycle {start:%Y-%m}",
                name_ar=f"[بيانات اصطناعية] دورة {start:%Y-%m}",
                period_start=start,
                period_end=start + timedelta(days=170),
                report_deadline=(today - timedelta(days=7)) if state == "open" else start + timedelta(days=150),
                state=state,
                opened_at=self.now - timedelta(days=30 * months_ago),
                closed_at=(self.now - timedelta(days=30 * months_ago - 175)) if state == "closed" else None,
            )
        return made

    def recommendations(self, body, count):
        themes = list(ThematicArea.objects.values_list("pk", flat=True))
        meetings = [
            Meeting.objects.create(
                body=body,
                code=f"{PREFIX}{n:03d}",
                kind=Meeting.Kind.WORKSHOP,
                title_en=f"[Synthetic data] Meeting {n}",
                title_ar=f"[بيانات اصطناعية] اجتماع {n}",
            ).pk
            for n in range(1, MEETINGS + 1)
        ]
        first = self.next_id("recommendation")
        ids = list(range(first, first + count))
        today = timezone.localdate()

        def rows():
            for n, pk in enumerate(ids):
                target = today + timedelta(days=self.rng.randint(-400, 800)) if n % 3 == 0 else None
                yield (
                    pk,
                    meetings[n % MEETINGS],
                    f"S{n + 1}",
                    n + 1,
                    f"[Synthetic data] Recommendation {n + 1}",
                    f"[بيانات اصطناعية] توصية {n + 1}",
                    "working",
                    target,
                    False,
                    False,
                    True,
                    self.now,
                    self.now,
                )

        self.copy(
            "recommendation",
            [
                "id",
                "meeting_id",
                "reference",
                "position",
                "text_en",
                "text_ar",
                "arabic_text_status",
                "target_date",
                "is_public",
                "is_archived",
                "is_sample",
                "created_at",
                "updated_at",
            ],
            rows(),
        )
        self.reset_sequence("recommendation")
        self.copy(
            "recommendation_themes",
            ["recommendation_id", "thematicarea_id"],
            ((pk, themes[pk % len(themes)]) for pk in ids),
        )
        return ids

    def implementations(self, recommendations, states, cycles):
        """Returns [(id, status, progress, last_reported_at, last_cycle_id)] for the reports to follow."""
        first = self.next_id("implementation")
        rng, now = self.rng, self.now
        population = [s for s, _ in STATUSES]
        weights = [w for _, w in STATUSES]
        items = []

        def rows():
            pk = first
            for rec in recommendations:
                for state in states:
                    status = rng.choices(population, weights)[0]
                    progress = {"not_started": 0, "implemented": 100, "not_applicable": 0}.get(
                        status, rng.randint(5, 95)
                    )
                    roll = rng.random()
                    if roll < 0.08:
                        last, cycle = None, None
                        status, progress = "not_started", 0
                    elif roll < 0.55:
                        last, cycle = now - timedelta(days=rng.randint(8, 60)), cycles["open"].pk
                    else:
                        last, cycle = now - timedelta(days=rng.randint(61, 720)), cycles["closed"].pk
                    obstacle = status in ("not_started", "in_progress") and rng.random() < 0.12
                    unchanged = rng.choice((0, 0, 0, 1, 2, 3))
                    created = now - timedelta(days=800)
                    items.append((pk, status, progress, last, cycle))
                    yield (pk, rec, state, True, status, progress, last, cycle, obstacle, unchanged, 1, created, now)
                    pk += 1

        self.copy(
            "implementation",
            [
                "id",
                "recommendation_id",
                "member_state_id",
                "applies",
                "status",
                "progress",
                "last_reported_at",
                "last_report_cycle_id",
                "has_open_obstacle",
                "unchanged_cycles",
                "version",
                "created_at",
                "updated_at",
            ],
            rows(),
        )
        self.reset_sequence("implementation")
        return items

    def reports(self, items, author, cycles):
        """About REPORTS_PER_ITEM submitted reports per reported item (the last matching the item), some drafts."""
        rng = self.rng
        older = (cycles["older"].pk, cycles["closed"].pk)

        def rows():
            for pk, status, progress, last, cycle in items:
                if last is None:
                    continue
                for back in range(rng.randint(REPORTS_PER_ITEM - 1, REPORTS_PER_ITEM + 2), 0, -1):
                    when = last - timedelta(days=90 * (back - 1))
                    earlier = back > 1
                    st = ("in_progress" if status in ("implemented", "in_progress") else status) if earlier else status
                    pr = min(progress, 90) // back if st == "in_progress" else progress
                    if st == "in_progress" and pr == 0:
                        pr = 5
                    narrative = "Synthetic narrative." if st == "implemented" else ""
                    yield (
                        pk,
                        older[back % 2] if earlier else cycle,
                        author,
                        "submitted",
                        when,
                        st,
                        pr,
                        narrative,
                        "",
                        "",
                        None,
                        False,
                        when,
                        when,
                    )

        return self.copy(
            "progressreport",
            [
                "implementation_id",
                "cycle_id",
                "author_id",
                "state",
                "submitted_at",
                "status",
                "progress",
                "narrative",
                "obstacles",
                "support_needed",
                "based_on_version",
                "is_archived",
                "created_at",
                "updated_at",
            ],
            rows(),
        )

    def snapshots(self, items, cycle):
        rows = ((cycle.pk, pk, status, progress, rc == cycle.pk) for pk, status, progress, _, rc in items)
        return self.copy(
            "cyclesnapshot", ["cycle_id", "implementation_id", "status", "progress", "reported_in_cycle"], rows
        )

    def delete_synthetic(self):
        """Remove a previous synthetic set, children first (the foreign keys protect)."""
        with transaction.atomic(), connection.cursor() as cursor:
            meetings = "SELECT id FROM tracker_meeting WHERE code LIKE 'synthetic-%%'"
            recs = f"SELECT id FROM tracker_recommendation WHERE meeting_id IN ({meetings})"
            items = f"SELECT id FROM tracker_implementation WHERE recommendation_id IN ({recs})"
            cycles = "SELECT id FROM tracker_reviewcycle WHERE name_en LIKE '[Synthetic]%%'"
            for sql in (
                f"DELETE FROM tracker_progressreport WHERE implementation_id IN ({items})",
                f"DELETE FROM tracker_cyclesnapshot WHERE implementation_id IN ({items}) OR cycle_id IN ({cycles})",
                f"DELETE FROM tracker_reviewoutcome WHERE implementation_id IN ({items})",
                f"DELETE FROM tracker_implementation WHERE recommendation_id IN ({recs})",
                f"DELETE FROM tracker_recommendation_themes WHERE recommendation_id IN ({recs})",
                f"DELETE FROM tracker_recommendation_applies_to WHERE recommendation_id IN ({recs})",
                f"DELETE FROM tracker_recommendation WHERE meeting_id IN ({meetings})",
                "DELETE FROM tracker_meeting WHERE code LIKE 'synthetic-%%'",
                "UPDATE tracker_implementation SET last_report_cycle_id = NULL "
                f"WHERE last_report_cycle_id IN ({cycles})",
                f"DELETE FROM tracker_reviewcycle WHERE id IN ({cycles})",
            ):
                cursor.execute(sql)
