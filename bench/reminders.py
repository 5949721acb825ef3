"""`make bench-reminders`: compose and send the reminders of 10,000 focal points to a local backend.

Runs in a throwaway test database (created and destroyed here), never in the configured one. By default
the e-mails go to Django's in-memory backend; with --smtp they go over TCP to a real SMTP server on
loopback (tests/support/smtp_server.py), and the run also measures what a bare smtplib loop gets from
that server with the same messages: the limit the sender is compared with.
"""

import collections
import cProfile
import datetime as dt
import itertools
import os
import pstats
import smtplib
import string
import sys
import time
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from tests.support.smtp_server import SMTPSink
from tracker.core.models import Body, FocalPointDesignation, Meeting, MemberState, Recommendation, ReviewCycle
from tracker.reminders import journal, policy, sending
from tracker.reminders.models import Reminder

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


class QueryCounter:
    """Counts every SQL statement (CaptureQueriesContext keeps only the last 9,000)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __len__(self):
        return self.count


class Command(BaseCommand):
    help = "Benchmark: plan and send the reminders of N focal points to the in-memory backend (--smtp: over SMTP)."

    def add_arguments(self, parser):
        parser.add_argument("--focal-points", type=int, default=10_000)
        parser.add_argument("--states", type=int, default=500, help="States per body (one primary each).")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--profile", action="store_true", help="Print the top functions of the send phase.")
        parser.add_argument(
            "--smtp",
            action="store_true",
            help="Send to a real SMTP server on 127.0.0.1 (aiosmtpd, in this process) with the reminders' SMTP backend "
            "(tracker/reminders/smtp.py), and compare with a bare smtplib loop sending the same messages to it.",
        )
        parser.add_argument(
            "--no-pipelining",
            action="store_true",
            help="With --smtp: a server that does not offer PIPELINING (RFC 2920), so the sender writes one command "
            "at a time, as smtplib always does (by default it offers it, as Postfix and Exim do).",
        )
        parser.add_argument(
            "--journal",
            default=None,
            help="Redis URL of the send journal, or 'off' to mark each row in the database as its e-mail leaves "
            f"(default: REMINDER_JOURNAL_URL, else {LOCAL_REDIS} when it answers).",
        )

    def handle(self, *args, focal_points, states, batch_size, profile=False, journal=None, smtp=False, **options):
        self.profile, self.smtp, self.pipelining = profile, smtp, not options.get("no_pipelining")
        self.journal_url = self.choose_journal(journal)
        test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            self.stdout.write(f"Throwaway database {test_name}: creating {focal_points} focal points...")
            started = time.perf_counter()
            self.populate(focal_points, states)
            self.stdout.write(f"  data ready in {time.perf_counter() - started:.1f} s")
            self.measure(batch_size)
        finally:
            connection.creation.destroy_test_db(test_name, verbosity=0)

    def choose_journal(self, option):
        if option == "off":
            return ""
        url = option or settings.REMINDER_JOURNAL_URL or LOCAL_REDIS
        if not journal.RedisJournal(url).reachable():
            self.stdout.write(f"No Redis answers at {url}: rows are marked in the database one e-mail at a time.")
            return ""
        return url

    def populate(self, focal_points, per_body):
        codes = ["".join(p) for p in itertools.product(string.ascii_uppercase, repeat=2)][:per_body]
        states = MemberState.objects.bulk_create(
            MemberState(iso_code=c, name_en=f"State {c}", name_ar=f"الدولة {c}") for c in codes
        )
        bodies = -(-focal_points // per_body)
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"fp{i}", email=f"fp{i}@bench.invalid", password="!", first_name=f"FP {i}")
            for i in range(focal_points)
        )
        today = timezone.localdate()
        designations = []
        for number in range(bodies):
            body = Body.objects.create(
                code=f"bench{number}", acronym_en=f"B{number}", name_en=f"Bench body {number}", name_ar=f"هيئة {number}"
            )
            meeting = Meeting.objects.create(
                body=body,
                code=f"bench-{number}",
                kind=Meeting.Kind.WORKSHOP,
                title_en="Bench workshop",
                title_ar="ورشة قياس",
            )
            body.member_states.add(*states)
            for position in (1, 2):  # the post_save signal creates one implementation per state
                Recommendation.objects.create(
                    meeting=meeting,
                    reference=f"R{position}",
                    position=position,
                    text_en=f"Strengthen protection systems, measure {position}.",
                    text_ar=f"تعزيز أنظمة الحماية، الإجراء {position}.",
                )
            ReviewCycle.objects.create(
                body=body,
                name_en=f"Cycle {number}",
                name_ar=f"الدورة {number}",
                period_start=today,
                period_end=today + dt.timedelta(days=90),
                report_deadline=today + dt.timedelta(days=3),
                state=ReviewCycle.State.OPEN,
                opened_at=timezone.now(),
            )
            for index, state in enumerate(states):
                position = number * per_body + index
                if position < len(users):
                    designations.append(
                        FocalPointDesignation(
                            user=users[position],
                            member_state=state,
                            body=body,
                            start_date=today,
                            preferred_language="ar" if position % 2 else "en",
                        )
                    )
        FocalPointDesignation.objects.bulk_create(designations, batch_size=2000)

    def measure(self, batch_size):
        plan_queries = QueryCounter()
        with connection.execute_wrapper(plan_queries):
            started = time.perf_counter()
            self.due_now = policy.due()  # as sending.run(): the send re-checks its rows against this same plan
            created = policy.write(self.due_now)
            plan_seconds = time.perf_counter() - started
        self.stdout.write(
            f"plan:  {created} reminders written in {plan_seconds:.2f} s ({created / plan_seconds:,.0f} rows/s), "
            f"{len(plan_queries)} SQL queries"
        )
        marks = f"send journal at {self.journal_url}" if self.journal_url else "database marks, one per e-mail"
        if self.smtp:
            self.measure_smtp(batch_size, marks)
        else:
            self.measure_locmem(batch_size, marks)

    def measure_locmem(self, batch_size, marks):
        backend = get_connection("django.core.mail.backends.locmem.EmailBackend")
        self.stdout.write(f"send:  to Django's in-memory backend, marking sent rows with the {marks}")
        self.send(batch_size, backend)
        from django.core import mail

        sample = mail.outbox[-1]
        assert sample.alternatives and sample.body, "every e-mail is rendered, text and HTML"
        self.send_again(batch_size, backend)

    def measure_smtp(self, batch_size, marks):
        """The same sending to a real SMTP server on loopback, then the most smtplib gets from that server."""
        sink = SMTPSink(pipelining=self.pipelining)
        with one_cpu() as cpu, sink, override_settings(**sink.django_settings()):
            offers = "offering PIPELINING" if self.pipelining else "not offering PIPELINING"
            self.stdout.write(
                f"send:  over SMTP to {sink.host}:{sink.port} (aiosmtpd in this process, {offers}, on CPU {cpu} only; "
                f"the reminders' SMTP backend, one connection per batch), marking sent rows with the {marks}"
            )
            with LimitTurns(sink) as turns:
                result, seconds, cpu_seconds = self.send(batch_size, turns=turns)  # no connection: as a worker does
            self.check_delivery(turns.delivered, result)
            limit, cpu_limit = turns.rates()
            self.stdout.write(
                f"limit: smtplib alone re-sending the same {len(turns.delivered)} messages (the bytes the sender "
                f"wrote) over one connection, a batch's worth after each batch: {limit:,.0f} e-mails/s, "
                f"{cpu_limit:,.0f} e-mails per CPU-second"
            )
            self.stdout.write(
                f"ratio: {result.sent / seconds / limit:.2f} of the limit (target >= 0.5, one worker); "
                f"{result.sent / cpu_seconds / cpu_limit:.2f} in CPU time"
            )
            self.send_again(batch_size)

    def send(self, batch_size, backend=None, turns=None):
        """Run sending.send_due as a worker would; report its speed and SQL. Returns (result, seconds, CPU seconds),
        without the limit's turns taken between its batches."""
        send_queries = QueryCounter()
        profiler = cProfile.Profile() if self.profile else None
        # DEBUG=False while sending, as a production worker runs: with DEBUG, Django logs every statement and, on
        # SQLite, runs one more to quote its parameters for that log (6% of the run, not the sender's cost).
        measured = override_settings(REMINDER_JOURNAL_URL=self.journal_url, DEBUG=False)
        with measured, connection.execute_wrapper(send_queries):
            started, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            result = sending.send_due(batch_size=batch_size, connection=backend, plan=self.due_now)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if turns is not None:
            seconds, cpu = seconds - turns.seconds, cpu - turns.cpu
        if profiler:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
        self.report(result, seconds, cpu, len(send_queries), batch_size)
        return result, seconds, cpu

    def report(self, result, seconds, cpu, queries, batch_size):
        per_email = queries / max(result.sent, 1)
        per_batch = queries / max(result.batches, 1)
        self.stdout.write(
            f"       {result.sent} e-mails ({result.rows_sent} reminders) in {seconds:.2f} s = "
            f"{result.sent / seconds:,.0f} e-mails/s; {queries} SQL queries in {result.batches} batches "
            f"of {batch_size}: {per_batch:.1f} queries per batch, {per_email:.3f} per e-mail"
        )
        server = " (and of the SMTP server's thread)" if self.smtp else ""
        self.stdout.write(
            f"       CPU time of this process{server} {cpu:.2f} s = {result.sent / cpu:,.0f} e-mails per "
            "CPU-second (the wall-clock figure depends on what else the machine runs)"
        )

    def check_delivery(self, delivered, result):
        """Exactly once, seen from the server: every sent row's recipient received one message."""
        if not result.sent:
            raise CommandError("Nothing was sent (see the errors above): there is nothing to compare.")
        expected = {
            row.address.lower()
            for row in Reminder.objects.filter(state=Reminder.State.SENT).select_related("recipient")
        }
        received = collections.Counter(rcpt.lower() for message in delivered for rcpt in message.rcpt_tos)
        duplicates = sum(n - 1 for n in received.values() if n > 1)
        lost, unexpected = expected - set(received), set(received) - expected
        self.stdout.write(
            f"       the server accepted {len(delivered)} messages for {len(received)} recipients "
            f"(backend said {result.sent}): {duplicates} duplicates, {len(lost)} lost, {len(unexpected)} unexpected"
        )
        if duplicates or lost or unexpected or len(delivered) != result.sent:
            raise CommandError("The SMTP server did not receive each expected recipient's e-mail exactly once.")

    def send_again(self, batch_size, backend=None):
        with override_settings(REMINDER_JOURNAL_URL=self.journal_url):
            again = sending.send_due(batch_size=batch_size, connection=backend)
        self.stdout.write(f"again: {again.sent} e-mails (a second run sends nothing)")


@contextmanager
def one_cpu():
    """Run on one CPU: the server's thread shares the GIL with the sender, and handing the GIL over between
    two cores made both figures vary by up to 1.6x from run to run (on one core they are steady)."""
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(cpus)})  # the server's thread, started next, inherits it
    try:
        yield max(cpus)
    finally:
        os.sched_setaffinity(0, cpus)


class LimitTurns:
    """The limit, measured in turns with the sender: after each of its batches, a bare smtplib loop re-sends that
    batch's messages (the bytes the server received) over one connection kept for the run. Both see the machine
    as it is at that moment; measured one after the other, a shared machine's drift moved the ratio by ±15%.
    The sender's clock is paused meanwhile (`seconds`, `cpu`: the turns' time, taken off by `Command.send`)."""

    def __init__(self, sink):
        self.sink, self.delivered = sink, []
        self.seconds = self.cpu = 0.0
        self.client = None
        self._send_batch = sending.send_batch

    def __enter__(self):
        self.client = smtplib.SMTP(self.sink.host, self.sink.port, local_hostname="bench.invalid", timeout=60)
        sending.send_batch = self._batch_then_limit
        return self

    def __exit__(self, *exc):
        sending.send_batch = self._send_batch
        self.client.quit()

    def _batch_then_limit(self, *args, **kwargs):
        self._send_batch(*args, **kwargs)
        started, cpu = time.perf_counter(), time.process_time()
        batch = self.sink.take()
        for message in batch:
            self.client.sendmail(message.mail_from, list(message.rcpt_tos), message.raw)
        if len(self.sink.take()) != len(batch):
            raise CommandError("smtplib: the server did not accept every message re-sent.")
        self.delivered += batch
        self.seconds += time.perf_counter() - started
        self.cpu += time.process_time() - cpu

    def rates(self):
        """smtplib's e-mails per second and per CPU-second (of this process, the server's thread included)."""
        return len(self.delivered) / self.seconds, len(self.delivered) / self.cpu
