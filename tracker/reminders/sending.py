"""Sending exactly once: claim due rows, re-check them, send one e-mail per recipient, mark the rows sent.

- Claim: SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises writers instead) then one UPDATE
  to `sending`, so two workers, two beats or a retried task never hold the same row.
- Each e-mail the backend accepts is noted at once in the send journal (Redis, `journal.py`) and the rows
  are marked sent in the database every `REMINDER_MARK_EVERY` e-mails and at the batch's end; without a
  journal each row is marked in the database as its e-mail leaves. Redis's answer is awaited while the next
  e-mail is composed, and before it leaves (no answer: that row is marked in the database first).
- A worker killed mid-batch leaves its rows in `sending`; after the lease (timing.py: longer than the task's
  hard time limit) another run takes them back, marks as sent those the journal shows were sent, and sends
  only the others.
- What an e-mail says is re-read just before it goes (`FreshContent`): an item reported meanwhile is left out,
  and a reminder with nothing left is cancelled.
- Failures (smtp.py tells them apart): a temporary one puts the row back to `pending` with a back-off kept
  in `due_at` (no Celery countdown) for `REMINDER_RETRY_HOURS`, then `failed` (the admin index shows it); a
  permanent one fails at once; an *unknown* outcome (the server took the message, its answer was lost) is
  resent once after `REMINDER_UNKNOWN_DELAY_SECONDS` or held as `unknown` (`REMINDER_UNKNOWN_OUTCOME`).
  The failing connection is abandoned and the next recipient gets a new one.
"""

import gc
import json
import logging
import smtplib
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.core.models import Commitment, ProgressReport
from tracker.core.related import with_related
from tracker.reminders import journal as send_journal
from tracker.reminders import policy, smtp, timing
from tracker.reminders.compose import BatchContent, compose_messages
from tracker.reminders.models import Reminder
from tracker.reminders.smtp import CannotConnect, UnknownOutcome

log = logging.getLogger(__name__)
State = Reminder.State


def setting(name, default):
    return getattr(settings, name, default)


@dataclass
class Result:
    sent: int = 0  # e-mails
    rows_sent: int = 0
    cancelled: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0  # held for the secretariat: the server may have delivered them
    batches: int = 0
    recovered: int = 0  # rows a dead worker had sent, found in the journal and not sent again
    released: int = 0  # rows handed back unsent because their batch outlasted most of its lease
    more: bool = False
    errors: list = field(default_factory=list)

    def as_dict(self):
        return asdict(self)


def is_temporary(exc):
    """SMTP 4xx, a dropped connection or a network error is worth retrying; 5xx and bad addresses are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, OSError | TimeoutError)


def backoff(attempts):
    """Doubling from the base, at most an hour: a mail server back after an outage is tried within the hour."""
    base = setting("REMINDER_RETRY_BASE_SECONDS", 300)
    return timedelta(seconds=min(base * 2 ** min(max(attempts - 1, 0), 16), 3600))


def claim(batch_size, now=None, journal=None, result=None):
    """Take up to `batch_size` due rows (all of a recipient's rows together) and mark them `sending`.

    Rows a dead worker left in `sending` come back after the lease. Those the journal shows as sent are
    marked sent, not claimed; while the journal cannot be read they wait, since nobody can tell.
    """
    now = now or timezone.now()
    takes_back = journal is None or journal.reachable()
    while True:
        ids, recovered = _claim_once(batch_size, now, journal, takes_back)
        if result is not None:
            result.recovered += recovered
        if ids or not recovered:  # a batch made only of recovered rows: look again
            return ids


def past_the_lease(now=None):
    """Rows still `sending` after the lease: their sender died (or the journal could not be read since)."""
    lease = timedelta(seconds=timing.current().lease)
    return Q(state=State.SENDING, claimed_at__lt=(now or timezone.now()) - lease)


def _claim_once(batch_size, now, journal, takes_back):
    due = Q(state=State.PENDING, due_at__lte=now)
    if takes_back:
        due |= past_the_lease(now)
    with transaction.atomic():
        candidates = list(
            Reminder.objects.filter(due)
            .order_by("recipient_id", "recipient_email", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "recipient_id", "recipient_email", "state", "claimed_at", "attempts")[:batch_size]
        )
        candidates = _whole_recipients(candidates, batch_size)
        sent = _sent_by_a_dead_worker(candidates, journal)
        if sent is None:  # Redis went away since the ping: leave the taken-back rows for a later run
            candidates, sent = [c for c in candidates if c[3] == State.PENDING], {}
        write_sent(sent)
        ids = [c[0] for c in candidates if c[0] not in sent]
        if ids:
            Reminder.objects.filter(pk__in=ids).update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if sent:
        journal.forget(list(sent))
    return ids, len(sent)


def _whole_recipients(candidates, batch_size):
    """Leave the last recipient's rows for the next batch, unless it is the only one: one e-mail each."""
    if len(candidates) < batch_size:
        return candidates
    last = candidates[-1][1:3]  # a user, or the address of a recipient without an account
    return [c for c in candidates if c[1:3] != last] or candidates


def _sent_by_a_dead_worker(candidates, journal):
    """{pk: journal entry} of the taken-back rows whose e-mail had left; None when the journal cannot say."""
    claims = {
        pk: send_journal.claim_token(claimed_at, attempts)
        for pk, _, _, state, claimed_at, attempts in candidates
        if state == State.SENDING
    }
    if not claims or journal is None:
        return {}
    try:
        return journal.lookup(claims)
    except send_journal.Unavailable as error:
        log.warning("reminders: cannot read the send journal, taken-back rows wait: %r", error)
        return None


# Rows to mark arrive as one JSON parameter [{"id", "sent_at", "cc"}, ...], whatever the batch size: the
# statement is one short text the database can keep prepared, where a CASE per row (bulk_update) costs
# Python about a second to build for 500 rows.
WRITE_SENT_SQL = {
    "postgresql": (
        "UPDATE {table} AS r SET state = %s, last_error = '', sent_at = v.sent_at, cc = v.cc "
        "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, sent_at timestamptz, cc jsonb) "
        "WHERE r.id = v.id AND r.state = %s"
    ),
    "sqlite": (
        "UPDATE {table} SET state = %s, last_error = '', sent_at = v.sent_at, cc = v.cc "
        "FROM (SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.sent_at') AS sent_at, "
        "json_extract(value, '$.cc') AS cc FROM json_each(%s)) AS v "
        "WHERE {table}.id = v.id AND +{table}.state = %s"  # "+": by primary key, not every `sending` row
    ),
}


def write_sent(entries, durable=True):
    """Mark rows sent, each with its own time and copies, in one statement.

    `durable=False` commits without waiting for the disk: for the marks written every few e-mails while the
    journal still holds them (`SET LOCAL synchronous_commit TO OFF` on PostgreSQL; on SQLite, `Batch.send` runs
    the batch at `synchronous = NORMAL`). The batch's last, durable commit flushes the earlier ones with it (the
    WAL is written in order) before any journal entry is dropped.
    """
    if not entries:
        return
    sql = WRITE_SENT_SQL[db_connection.vendor]  # the two databases DATABASE_URL accepts
    as_stored = db_connection.ops.adapt_datetimefield_value
    values = [{"id": pk, "sent_at": str(as_stored(e.sent_at)), "cc": e.cc} for pk, e in entries.items()]
    statement = sql.format(table=db_connection.ops.quote_name(Reminder._meta.db_table))
    params = [State.SENT, json.dumps(values), State.SENDING]
    if db_connection.vendor == "sqlite":  # one statement is its own transaction: no BEGIN, no COMMIT to send
        with db_connection.cursor() as cursor:
            cursor.execute(statement, params)
        return
    with transaction.atomic(), db_connection.cursor() as cursor:
        if not durable:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(statement, params)


@contextmanager
def sqlite_synchronous(level):
    """SQLite's SET LOCAL synchronous_commit: commits that do not wait for the disk (5 ms an fsync here, every
    few e-mails), for a whole batch (`Batch.send`). SQLite takes it only between transactions: set before, then
    back to the level before (FULL, SQLite's default and the level Django's settings leave). A killed worker
    loses none of these commits, only a crash of the machine could; the batch's last commit, at FULL, writes
    them all to the disk."""
    if db_connection.vendor != "sqlite" or db_connection.in_atomic_block:
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        before = int(cursor.fetchone()[0])  # FULL (2), or NORMAL (1) inside `quick_commits`
        cursor.execute(f"PRAGMA synchronous = {level}")
    try:
        yield
    finally:
        with db_connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous = {before}")


class SentMarks:
    """The "sent" marks of one batch: noted in the journal as each e-mail leaves, and written to the database
    every `REMINDER_MARK_EVERY` e-mails and at the end, so losing Redis's data costs at most that many."""

    def __init__(self, journal):
        self.journal = journal
        self.noted = {}  # noted in the journal, not yet in the database
        self.journaled = []  # every row noted in the journal in this batch: dropped from it at the end
        self.every = setting("REMINDER_MARK_EVERY", 10)
        self.failed_copies = defaultdict(list)  # pk -> ["copy to x: error"]
        self.unconfirmed = None  # (rows, Entry) sent to the journal, its answer not read yet

    def add(self, rows, cc):
        """Note the e-mail of `rows` as sent. The journal's answer is awaited by `confirm()`, which the sender calls
        before the next e-mail leaves: composing that e-mail meanwhile hides Redis's round trip."""
        self.confirm()
        sent_at = timezone.now()
        if self.journal is not None and self.journal.start(rows, sent_at, cc, first=not self.noted):
            self.unconfirmed = (rows, send_journal.Entry(sent_at, cc))
            return
        self._in_the_database(rows, cc)

    def confirm(self):
        """The last e-mail's mark is kept (in Redis, else in the database) before another e-mail leaves."""
        if self.unconfirmed is None:
            return
        (rows, entry), self.unconfirmed = self.unconfirmed, None
        if not self.journal.confirm():
            self._in_the_database(rows, entry.cc)
            return
        self.noted.update(dict.fromkeys([row.pk for row in rows], entry))
        self.journaled += [row.pk for row in rows]
        if len(self.noted) >= self.every:
            write_sent(self.noted, durable=False)
            self.noted = {}

    def _in_the_database(self, rows, cc):
        mark_sent([row.pk for row in rows], cc)  # no journal, or Redis failed: the database, row by row
        self.journal = None  # do not wait on a failing Redis again in this batch

    def note_failed_copy(self, rows, to, error):
        for row in rows:
            self.failed_copies[row.pk].append(f"The copy to {', '.join(to)} was not delivered: {error!r}")

    def flush(self):
        try:
            self.confirm()
        finally:  # even cut short: what the journal confirmed is written
            write_sent(self.noted)
            self._forget()

    def _forget(self):
        self.noted, journaled, self.journaled = {}, self.journaled, []
        if self.journal is not None:
            self.journal.release()
            if journaled:
                self.journal.forget(journaled)
        for pk, notes in self.failed_copies.items():
            Reminder.objects.filter(pk=pk).update(last_error="\n".join(notes)[:2000])
        self.failed_copies.clear()


def _finish(ids, **fields):
    if ids:
        Reminder.objects.filter(pk__in=ids, state=State.SENDING).update(**fields)


def mark_sent(ids, cc):
    """The per-e-mail mark used without a journal, kept lean (it is then the hot path): a plain UPDATE."""
    field = Reminder._meta.get_field("cc")
    placeholders = ", ".join(["%s"] * len(ids))
    sql = (
        f"UPDATE {Reminder._meta.db_table} SET state = %s, sent_at = %s, cc = %s, last_error = '' "
        f"WHERE state = %s AND id IN ({placeholders})"
    )
    params = [
        State.SENT,
        db_connection.ops.adapt_datetimefield_value(timezone.now()),
        field.get_db_prep_value(cc, db_connection),
        State.SENDING,
        *ids,
    ]
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)


def _retry_or_fail(rows, error, result, now):
    """Temporary failure: back to pending with back-off while the retry window lasts; otherwise failed."""
    window = timedelta(hours=setting("REMINDER_RETRY_HOURS", 24))
    for row in rows:
        until = row.retry_until or now + window
        if is_temporary(error) and now < until:
            due_at = min(now + backoff(row.attempts), until)  # the last try falls on the window's end
            _finish([row.pk], state=State.PENDING, due_at=due_at, retry_until=until, last_error=repr(error)[:2000])
            result.retried += 1
        else:
            _finish([row.pk], state=State.FAILED, failed_at=now, last_error=repr(error)[:2000])
            log.error("reminders: %s to %s failed for good: %r", row.kind, row.addressee, error)
            result.failed += 1


def _unknown(rows, error, result, now):
    """The server took the message, its answer was lost: resend once after a delay, or hold (a setting)."""
    hold = setting("REMINDER_UNKNOWN_OUTCOME", "resend") == "hold"
    delay = timedelta(seconds=setting("REMINDER_UNKNOWN_DELAY_SECONDS", 1800))
    note = f"The mail server may have delivered it, its answer was lost: {error}"[:2000]
    for row in rows:
        if hold or row.unknown_at:  # a second unknown outcome is never resent blindly
            _finish([row.pk], state=State.UNKNOWN, unknown_at=row.unknown_at or now, last_error=note)
            result.unknown += 1
        else:
            _finish([row.pk], state=State.PENDING, due_at=now + delay, unknown_at=now, last_error=note)
            result.retried += 1


def _settle(rows, error, result, now):
    """What a failed send means for its rows: unknown, retried later, failed, or (cut before sending) released."""
    if isinstance(error, UnknownOutcome):
        _unknown(rows, error, result, now)
    elif _is_cut(error):
        release(rows, now, result)
    else:
        _retry_or_fail(rows, error, result, now)


def _is_cut(error):
    """Celery's soft time limit: timing.py makes it unreachable mid-send, but a stalled database could."""
    return isinstance(error, SoftTimeLimitExceeded) or isinstance(error.__cause__, SoftTimeLimitExceeded)


def _cc_for(rows, plan):
    addresses = set()
    for row in rows:
        planned = plan.planned(row)
        addresses.update(planned.cc if planned else row.cc)
    return sorted(addresses - {rows[0].address})


def changed_states(since):
    """Member states whose reports or commitments changed since `since` (two indexed queries)."""
    reports = ProgressReport.objects.filter(updated_at__gte=since)
    commitments = Commitment.objects.filter(updated_at__gte=since)
    states = set(reports.values_list("implementation__member_state_id", flat=True))
    return states | set(commitments.values_list("implementation__member_state_id", flat=True))


class FreshContent:
    """A batch's content, loaded again when a report or commitment of one of its states changes mid-batch,
    so what an e-mail says is checked just before it is sent (at most a second old), not when the batch began.
    """

    CHECK_EVERY = 1.0  # seconds: two small queries a second, whatever the sending rate

    def __init__(self, rows, plan):
        self.plan = plan
        self._load(rows)

    def _load(self, rows):
        self.loaded_at, self.checked = timezone.now(), time.monotonic()
        self.content = BatchContent(rows, plan=self.plan)

    def current(self, groups):
        """The content for the rows of `groups` (those left): reloaded if one of their states changed since it was
        loaded. The rows are listed only then, not for every e-mail (that was quadratic in the batch's size)."""
        if time.monotonic() - self.checked >= self.CHECK_EVERY:
            changed, self.checked = changed_states(self.loaded_at), time.monotonic()
            remaining = [row for group in groups for row in group]
            if changed and any(row.member_state_id in changed or row.member_state_id is None for row in remaining):
                self._load(remaining)
        return self.content


def send_batch(ids, plan, result, connection=None, now=None, journal=None, run=None):
    run = run or Run()
    now = now or timezone.now()
    # The body, state and cycle are shared by many rows: each loaded once, not built again for every row.
    rows = Reminder.objects.filter(pk__in=ids).select_related("recipient")
    rows = with_related(rows, "body", "member_state", "cycle", known=plan.known)
    due_rows = [row for row in rows if plan.expects(row)]
    _finish(
        [r.pk for r in rows if not plan.expects(r)],
        state=State.CANCELLED,
        last_error="No longer due when it was to be sent.",
    )
    result.cancelled += len(rows) - len(due_rows)
    no_address = [r.pk for r in due_rows if not r.address]
    _finish(no_address, state=State.FAILED, failed_at=now, last_error="The recipient has no e-mail address.")
    result.failed += len(no_address)
    by_recipient = defaultdict(list)
    for row in due_rows:
        if row.pk not in set(no_address):
            by_recipient[(row.recipient_id, row.recipient_email)].append(row)
    if by_recipient:
        batch = Batch(list(by_recipient.values()), FreshContent(due_rows, plan), plan, result, now)
        batch.send(connection or smtp.connection(), SentMarks(journal), run)


def release(rows, now, result):
    """Hand unsent rows back as due now, without counting the claim as an attempt."""
    ids = [r.pk for r in rows]
    result.released += Reminder.objects.filter(pk__in=ids, state=State.SENDING).update(
        state=State.PENDING, due_at=now, claimed_at=None, attempts=F("attempts") - 1
    )


class Run:
    """One send run's deadline: a recipient's e-mails start only if they can end before the soft time limit."""

    def __init__(self, seconds=None):
        self.timing = timing.current()
        self.deadline = time.monotonic() + (self.timing.run if seconds is None else seconds)
        self.started_any = False

    def may_start(self):
        if self.started_any and time.monotonic() > self.deadline:  # the first always goes: every run progresses
            return False
        self.started_any = True
        return True

    @property
    def over(self):
        return time.monotonic() > self.deadline


class Batch:
    """The claimed rows of one batch, grouped by recipient: one e-mail each (plus copies in other languages)."""

    def __init__(self, groups, fresh, plan, result, now):
        self.groups, self.fresh, self.plan, self.result, self.now = groups, fresh, plan, result, now

    def send(self, connection, marks, run):
        try:
            with sqlite_synchronous("NORMAL"):  # the interim marks and failures; the last mark (`flush`) is durable
                self._send_groups(connection, marks, run)
        finally:
            try:
                marks.flush()  # also after a soft time limit or an unexpected error in the loop
            finally:
                connection.close()

    def _send_groups(self, connection, marks, run):
        for index, rows in enumerate(self.groups):
            if not run.may_start():
                release([r for group in self.groups[index:] for r in group], self.now, self.result)
                self.result.more = True
                return
            try:
                self._send_group(rows, self.groups[index:], connection, marks)
            except Exception as error:
                rest = [r for group in self.groups[index + 1 :] for r in group]
                if _is_cut(error):
                    release(rest, self.now, self.result)
                    if isinstance(error, SoftTimeLimitExceeded):
                        raise
                    raise error.__cause__ from error  # Celery's own exception: the worker reports the limit
                if isinstance(error, CannotConnect):  # the server is down: the whole batch waits its retry
                    _retry_or_fail(rest, error, self.result, self.now)
                    return

    def _send_group(self, rows, remaining, connection, marks):
        content = self.fresh.current(remaining)
        empty = [r for r in rows if content.is_empty_for(r)]
        _finish(
            [r.pk for r in empty], state=State.CANCELLED, last_error="Nothing left to report when it was to be sent."
        )
        self.result.cancelled += len(empty)
        rows = [r for r in rows if r not in empty]
        if not rows:
            return
        cc = _cc_for(rows, self.plan)
        try:
            first, *copies = compose_messages(rows, content, cc)
        except Exception as error:  # a bug, not the mail server: fail these rows visibly, go on with the others
            log.exception("reminders: could not compose the e-mail to %s", rows[0].addressee)
            failure = f"Could not compose: {error!r}"[:2000]
            _finish([r.pk for r in rows], state=State.FAILED, failed_at=self.now, last_error=failure)
            self.result.failed += len(rows)
            return
        try:
            marks.confirm()  # before this e-mail leaves, the last one is marked for good
            smtp.send_one(connection, first)
        except Exception as error:
            log.warning("reminders: sending to %s failed: %r", rows[0].addressee, error)
            _settle(rows, error, self.result, self.now)
            raise
        marks.add(rows, cc)  # noted at once: a worker killed after this line never sends this e-mail again
        self.result.sent += 1
        self.result.rows_sent += len(rows)
        self._send_copies(rows, copies, connection, marks)

    def _send_copies(self, rows, copies, connection, marks):
        """Copies in other languages: courtesy e-mails; one that fails is noted on the row, never resent."""
        for copy in copies:
            try:
                marks.confirm()
                smtp.send_one(connection, copy)
                self.result.sent += 1
            except Exception as error:
                log.warning("reminders: the copy to %s failed: %r", copy.to, error)
                marks.note_failed_copy(rows, copy.to, error)
                if _is_cut(error):
                    raise


@contextmanager
def quick_commits():
    """Commit the per-e-mail "sent" marks (used without a journal) without waiting for the disk flush.

    The mark is still committed and visible at once and survives a killed worker (the case that matters
    for exactly-once); only a crash of the database server itself in the next fraction of a second could
    lose it, and then that e-mail would be sent again. Restored afterwards: nothing else is affected.
    """
    vendor = db_connection.vendor
    statements = {
        "postgresql": ("SET synchronous_commit TO OFF", "SET synchronous_commit TO DEFAULT"),
        "sqlite": ("PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL"),
    }.get(vendor)
    if statements is None or db_connection.in_atomic_block:
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute(statements[0])
    try:
        yield
    finally:
        with db_connection.cursor() as cursor:
            cursor.execute(statements[1])


@contextmanager
def already_alive_left_out_of_gc():
    """Python's full garbage collections skip what was alive when the run began (the plan and what it was computed
    from: some 100,000 objects for 10,000 reminders), each of which walked them all: three a run, 0.3 s each
    (`make bench-reminders`). Back in the collector's care afterwards, so whatever of it became garbage is
    collected as usual (most of it is freed by reference counting at once anyway)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def send_due(now=None, batch_size=None, budget_seconds=None, connection=None, plan=None):
    """Send everything due, batch after batch, until none is left or the run's time is up (timing.py).

    `plan`: what is due now, when the caller has just worked it out (`run` writes and sends from one plan).
    """
    batch_size = batch_size or setting("REMINDER_BATCH_SIZE", 500)
    run = Run(budget_seconds)
    if plan is None:
        plan = policy.due(now)  # one re-check of what is due per run, shared by its batches
    journal = send_journal.current()
    result = Result()
    # With a journal, a batch's marks are few and are committed durably before its entries are dropped.
    with quick_commits() if journal is None else nullcontext(), already_alive_left_out_of_gc():
        while not result.more:
            ids = claim(batch_size, now, journal=journal, result=result)
            if not ids:
                break
            result.batches += 1
            send_batch(ids, plan, result, connection=connection, now=now, journal=journal, run=run)
            result.more = result.more or run.over
    if result.sent or result.failed or result.cancelled or result.recovered or result.unknown:
        log.info("reminders: %s", result.as_dict())
    return result


def run(now=None, batch_size=None, budget_seconds=None, connection=None):
    """The whole job: write what is due, then send it. Celery, cron and the admin all call this."""
    due_now = policy.due(now)  # the rows to write and the sender's re-check: one plan, worked out once
    created = policy.write(due_now)
    result = send_due(now, batch_size, budget_seconds, connection, plan=due_now)
    return created, result


def cancel_stale(member_state_id=None, now=None):
    """Cancel pending rows that are no longer due (called after a report is submitted or a commitment changes)."""
    plan = policy.due(now)
    pending = Reminder.objects.filter(state=State.PENDING)
    if member_state_id is not None:
        pending = pending.filter(member_state_id=member_state_id)
    stale = [
        row.pk
        for row in pending.only("pk", "recipient_id", "recipient_email", "scope", "kind", "stage")
        if not plan.expects(row)
    ]
    return Reminder.objects.filter(pk__in=stale, state=State.PENDING).update(
        state=State.CANCELLED, last_error="No longer due."
    )


def resend(queryset, now=None):
    """Put sent, failed or cancelled rows back in the queue; they are re-checked like any other row."""
    return queryset.exclude(state__in=[State.PENDING, State.SENDING]).update(
        state=State.PENDING,
        attempts=0,
        due_at=now or timezone.now(),
        last_error="",
        sent_at=None,
        claimed_at=None,
        failed_at=None,
        retry_until=None,
        unknown_at=None,
    )


def mark_delivered(queryset, now=None):
    """The secretariat confirmed an e-mail of unknown outcome arrived: it is sent (at the time it was handed over)."""
    return queryset.filter(state=State.UNKNOWN).update(
        state=State.SENT, sent_at=F("unknown_at"), last_error="Marked delivered by the secretariat."
    )


def unknown_outcome_policy():
    """What the sender does with an e-mail whose outcome is unknown, in words for the admin."""
    if setting("REMINDER_UNKNOWN_OUTCOME", "resend") == "hold":
        return _("An e-mail whose outcome is unknown is held here: mark it sent, or resend it.")
    minutes = setting("REMINDER_UNKNOWN_DELAY_SECONDS", 1800) // 60
    return _(
        "An e-mail whose outcome is unknown (the mail server took it, its answer was lost) is sent once more "
        "after %(minutes)s minutes; if that fails the same way, it is held here: mark it sent, or resend it."
    ) % {"minutes": minutes}
