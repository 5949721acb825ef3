"""Synthetic data for measuring the review mechanism at scale (PostgreSQL only, written with COPY).

Everything generated is labelled: meetings `synthetic-*`, recommendations marked as sample items whose
text starts with "[Synthetic data]". `--replace` removes a previous synthetic set first; real data is
never touched.

The set is consistent with itself. Each reported item has a history of submitted reports, one every 90 days
up to its last one, each counted for the cycle that took reports when it was sent; the item's status and
progress are those of its last report and `status_changed_at` is when a report last changed them (never
reported, or never changed from "not started, 0%": its creation), spread so that some items are unchanged
over one, two or more closed cycles. The two closed cycles have a snapshot row per item as it stood at their
close (status, progress, whether it reported in the cycle, last report, last change) with its stalled reasons
then, computed in Python by the same rules, and the frozen `record` a close writes. A few percent of the
unsettled items have an open commitment agreed at the last review (outcome and commitment rows), some late.
"""

import math
import random
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from tracker.core import record
from tracker.core.commitments import commitment_summary
from tracker.core.models import Body, Meeting, ReviewCycle, ThematicArea
from tracker.core.querysets import StalledContext, StalledReason, closed_windows

SIZES = {
    # recommendations per size; every recommendation applies to every member state of the body (22).
    "tiny": 50,
    "default": 5_000,
    "large": 45_500,
}
MEETINGS = 40
REPORTS_PER_ITEM = 3  # on average over the reported items (2 to 5 each): about 3.2 M reports at the large size
REPORT_EVERY = timedelta(days=90)
CREATED_DAYS_AGO = 1100  # before the oldest report
PREFIX = "synthetic-"
STATUSES = [("not_started", 30), ("in_progress", 45), ("implemented", 18), ("not_applicable", 7)]
SETTLED = ("implemented", "not_applicable")
# Closed cycles over which an item should have stayed unchanged (its report history may allow fewer).
UNCHANGED_STREAKS = (0, 0, 0, 1, 2, 3)
COMMITMENT_SHARE = 0.04  # of the unsettled items: an open commitment of the last review, due -150..+120 days
TABLES = (  # vacuumed and analysed after loading: the small ones too (too few rows for autovacuum to analyse)
    "body",
    "meeting",
    "reviewcycle",
    "recommendation",
    "recommendation_themes",
    "implementation",
    "progressreport",
    "cyclesnapshot",
    "reviewoutcome",
    "commitment",
)


def earlier(status, progress, steps):
    """What a report `steps` reports before the one that set (status, progress) said: something else."""
    if status == "in_progress":
        return "in_progress", max(1, progress - 5 * steps)
    if status == "implemented":
        return "in_progress", max(5, 95 - 15 * steps)
    return "not_started", 0


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
        self.created = self.now - timedelta(days=CREATED_DAYS_AGO)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            self.cursor = cursor
            states = list(body.member_states.order_by("pk").values_list("pk", flat=True))
            author = self.author()
            cycles = self.cycles(body)
            recommendations = self.recommendations(body, SIZES[size])
            items = self.implementations(body, recommendations, states, cycles)
            reports = self.reports(items, author)
            commitments = self.commitments(author, cycles["closed"])
            snapshots = sum(self.snapshots(body, items, cycles[key]) for key in ("older", "closed"))
        with connection.cursor() as cursor:
            for table in TABLES:  # hint bits and statistics now, not during the first benchmark
                cursor.execute(f"VACUUM ANALYZE tracker_{table}")
        self.stdout.write(
            f"{size}: {len(recommendations):,} recommendations, {len(items):,} implementations, "
            f"{reports:,} reports, {commitments:,} open commitments, {snapshots:,} snapshot rows "
            f"in {time.monotonic() - started:.0f} s."
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
        self.taking_reports = sorted(made.values(), key=lambda c: c.opened_at)
        return made

    def cycle_at(self, when):
        """The synthetic cycle a report sent at `when` counted for (None between cycles)."""
        for cycle in self.taking_reports:
            if cycle.opened_at <= when and (cycle.closed_at is None or when <= cycle.closed_at):
                return cycle.pk
        return None

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
        self.targets = {}

        def rows():
            for n, pk in enumerate(ids):
                target = today + timedelta(days=self.rng.randint(-400, 800)) if n % 3 == 0 else None
                self.targets[pk] = target
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

    # --- items and their history -------------------------------------------------------------------

    def history(self, item):
        """The item's submitted reports, oldest first: [(submitted_at, status, progress)].

        item: (id, recommendation, status, progress, last report, reports, change, obstacle); the report
        `change` places before the last one set the current status and progress, the earlier ones said
        something else."""
        _pk, _rec, status, progress, last, count, change, _obstacle = item
        reports = []
        for back in range(count - 1, -1, -1):
            values = (status, progress) if back <= change else earlier(status, progress, back - change)
            reports.append((last - REPORT_EVERY * back, *values))
        return reports

    def as_of(self, reports, moment):
        """(status, progress, last report, last change) after the reports sent up to `moment`."""
        current, last, changed = ("not_started", 0), None, self.created
        for when, status, progress in reports:
            if when > moment:
                break
            if (status, progress) != current:
                current, changed = (status, progress), when
            last = when
        return *current, last, changed

    def implementations(self, body, recommendations, states, cycles):
        """Write the items; returns their parameters [(id, rec, status, progress, last, reports, change,
        obstacle)], from which `history` rebuilds their reports."""
        first = self.next_id("implementation")
        rng, now = self.rng, self.now
        population = [s for s, _ in STATUSES]
        weights = [w for _, w in STATUSES]
        # When each closed cycle began, most recent first: a change before the k-th start is unchanged over k.
        starts = closed_windows().get(body.pk, [])
        today = timezone.localdate(now)
        items = []
        self.due = {}  # item id -> the due date of its open commitment

        def rows():
            pk = first
            for rec in recommendations:
                for state in states:
                    status = rng.choices(population, weights)[0]
                    progress = {"not_started": 0, "implemented": 100, "not_applicable": 0}.get(
                        status, rng.randint(5, 95)
                    )
                    roll = rng.random()
                    count = rng.randint(REPORTS_PER_ITEM - 1, REPORTS_PER_ITEM + 2)
                    if roll < 0.08:
                        last, count = None, 0
                        status, progress = "not_started", 0
                    elif roll < 0.55:
                        last = now - timedelta(days=rng.randint(8, 60))
                    else:
                        last = now - timedelta(days=rng.randint(61, 720))
                    streak = rng.choice(UNCHANGED_STREAKS)
                    change = 0
                    if count and streak and starts:
                        before = starts[min(streak, len(starts)) - 1] - timedelta(seconds=1)
                        change = min(count - 1, max(0, math.ceil((last - before) / REPORT_EVERY)))
                    obstacle = status not in SETTLED and rng.random() < 0.12
                    due = None
                    if status not in SETTLED and rng.random() < COMMITMENT_SHARE:
                        due = today + timedelta(days=rng.randint(-150, 120))
                        self.due[pk] = due
                        obstacle = False  # the review recorded a solution with the commitment
                    item = (pk, rec, status, progress, last, count, change, obstacle)
                    changed = self.as_of(self.history(item), now)[3]
                    items.append(item)
                    cycle = self.cycle_at(last) if last else None
                    yield (
                        pk,
                        rec,
                        state,
                        True,
                        status,
                        progress,
                        last,
                        cycle,
                        obstacle,
                        changed,
                        due,
                        1,
                        self.created,
                        now,
                    )
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
                "status_changed_at",
                "open_commitment_due",
                "version",
                "created_at",
                "updated_at",
            ],
            rows(),
        )
        self.reset_sequence("implementation")
        return items

    def reports(self, items, author):
        """The submitted reports of each item's history."""

        def rows():
            for item in items:
                for when, status, progress in self.history(item):
                    narrative = "Synthetic narrative." if status == "implemented" else ""
                    yield (
                        item[0],
                        self.cycle_at(when),
                        author,
                        "submitted",
                        when,
                        status,
                        progress,
                        narrative,
                        "",
                        "",
                        None,
                        False,
                        when,
                        when,
                        author,  # updated_by: who last changed it (shared drafts)
                        1,  # revision
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
                "updated_by_id",
                "revision",
            ],
            rows(),
        )

    def commitments(self, author, cycle):
        """One review outcome (a solution agreed in `cycle`'s review) and one open commitment per chosen item."""
        recorded = cycle.closed_at - timedelta(days=10)
        first = self.next_id("reviewoutcome")
        chosen = sorted(self.due.items())
        self.copy(
            "reviewoutcome",
            [
                "id",
                "implementation_id",
                "cycle_id",
                "obstacle_category",
                "obstacle",
                "solution",
                "follow_up_by",
                "follow_up_due",
                "recorded_by_id",
                "created_at",
                "updated_at",
            ],
            (
                (
                    first + n,
                    pk,
                    cycle.pk,
                    "coordination",
                    "[Synthetic data] Obstacle.",
                    "[Synthetic data] Solution agreed.",
                    "",
                    due,
                    author,
                    recorded,
                    recorded,
                )
                for n, (pk, due) in enumerate(chosen)
            ),
        )
        self.reset_sequence("reviewoutcome")
        return self.copy(
            "commitment",
            [
                "outcome_id",
                "implementation_id",
                "description",
                "owner",
                "due_date",
                "state",
                "done_note",
                "dropped_reason",
                "reopened_reason",
                "created_by_id",
                "created_at",
                "updated_at",
            ],
            (
                (
                    first + n,
                    pk,
                    "[Synthetic data] Commitment.",
                    "state",
                    due,
                    "open",
                    "",
                    "",
                    "",
                    author,
                    recorded,
                    recorded,
                )
                for n, (pk, due) in enumerate(chosen)
            ),
        )

    def snapshots(self, body, items, cycle):
        """The cycle's snapshot rows as a close at `cycle.closed_at` would have frozen them, and its record.

        Reasons as the freeze computes them, at that moment: no missing cycle report (no cycle was open past
        its deadline then) and no late commitment (the commitments were agreed later); the open-obstacle flag
        is the item's current one."""
        moment = cycle.closed_at
        day = timezone.localdate(moment)
        closed = [c for c in ReviewCycle.objects.filter(body=body, state="closed") if c.closed_at <= moment]
        windows = closed_windows(cycles=closed).get(body.pk, [])
        context = StalledContext(now=moment, bodies=[body], closed_windows={body.pk: windows})
        stale = context.stale_cutoff(body.stale_after_days)
        cutoff = context.unchanged_cutoff(body.pk, body.unchanged_cycles)
        targets = self.targets
        bits = {reason: reason.bit for reason in StalledReason}

        def rows():
            for item in items:
                pk, rec, _status, _progress, _last, _count, _change, obstacle = item
                status, progress, last, changed = self.as_of(self.history(item), moment)
                reasons = 0
                if status not in SETTLED:
                    if (last or self.created) < stale:
                        reasons |= bits[StalledReason.NO_RECENT_REPORT]
                    if cutoff is not None and changed < cutoff:
                        reasons |= bits[StalledReason.UNCHANGED]
                    target = targets[rec]
                    if target is not None and target < day:
                        reasons |= bits[StalledReason.PAST_TARGET]
                    if obstacle:
                        reasons |= bits[StalledReason.OPEN_OBSTACLE]
                reported = last is not None and self.cycle_at(last) == cycle.pk
                yield (cycle.pk, pk, status, progress, reported, reasons, last, changed)

        count = self.copy(
            "cyclesnapshot",
            [
                "cycle_id",
                "implementation_id",
                "status",
                "progress",
                "reported_in_cycle",
                "reasons",
                "last_reported_at",
                "status_changed_at",
            ],
            rows(),
        )
        # What a close keeps in the cycle's record (tracker.core.record.freeze_record), as it was at that moment.
        summary = commitment_summary(body, before=cycle, today=day)
        cycle.record = {**record._constants(cycle, context), "commitments": summary.as_record()}
        cycle.save(update_fields=["record"])
        return count

    def delete_synthetic(self):
        """Remove a previous synthetic set, children first (the foreign keys protect). Each statement is a
        plain semi-join: an `IN (...) OR IN (...)` becomes a subplan that is not hashed at a million rows."""
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            meetings = "SELECT id FROM tracker_meeting WHERE code LIKE 'synthetic-%%'"
            recs = f"SELECT id FROM tracker_recommendation WHERE meeting_id IN ({meetings})"
            items = f"SELECT id FROM tracker_implementation WHERE recommendation_id IN ({recs})"
            cycles = "SELECT id FROM tracker_reviewcycle WHERE name_en LIKE '[Synthetic]%%'"
            commitments = f"SELECT id FROM tracker_commitment WHERE implementation_id IN ({items})"
            for sql in (
                f"DELETE FROM tracker_reminder WHERE commitment_id IN ({commitments})",
                f"DELETE FROM tracker_reminder WHERE cycle_id IN ({cycles})",
                f"DELETE FROM tracker_commitment WHERE implementation_id IN ({items})",
                f"DELETE FROM tracker_progressreport WHERE implementation_id IN ({items})",
                f"DELETE FROM tracker_cyclesnapshot WHERE implementation_id IN ({items})",
                f"DELETE FROM tracker_cyclesnapshot WHERE cycle_id IN ({cycles})",
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
