"""Sending exactly once: claim due rows, re-check them, send one e-mail per recipient, mark the rows sent.

- Claim: SELECT ... FOR UPDATE SKIP LOCKED (PostgreSQL; SQLite serialises writers instead) then one UPDATE
  to `sending`, so two workers, two beats or a retried task never hold the same row.
- Each e-mail the backend accepts is noted at once in the send journal (Redis, `journal.py`), and the
  batch is marked sent with one statement at its end; without a journal each row is marked in the
  database as its e-mail leaves.
- A worker killed mid-batch leaves its rows in `sending`; after `REMINDER_LEASE_SECONDS` (longer than the
  task time limit) another run takes them back, marks as sent those the journal shows were sent, and sends
  only the others.
- A temporary SMTP failure puts the row back to `pending` with an exponential back-off kept in `due_at`
  (no Celery countdown, so nothing outlives the broker's visibility timeout); after
  `REMINDER_MAX_ATTEMPTS` it is `failed`, visible in the admin with a resend action.
"""

import json
import logging
import smtplib
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tracker.reminders import journal as send_journal
from tracker.reminders import policy
from tracker.reminders.compose import BatchContent, compose
from tracker.reminders.models import Reminder

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
    base = setting("REMINDER_RETRY_BASE_SECONDS", 300)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


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
    lease = timedelta(seconds=setting("REMINDER_LEASE_SECONDS", 900))
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
        "WHERE {table}.id = v.id AND {table}.state = %s"
    ),
}


def write_sent(entries):
    """Mark rows sent, each with its own time and copies, in one statement per batch."""
    if not entries:
        return
    sql = WRITE_SENT_SQL[db_connection.vendor]  # the two databases DATABASE_URL accepts
    as_stored = db_connection.ops.adapt_datetimefield_value
    values = [{"id": pk, "sent_at": str(as_stored(e.sent_at)), "cc": e.cc} for pk, e in entries.items()]
    table = db_connection.ops.quote_name(Reminder._meta.db_table)
    with db_connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), [State.SENT, json.dumps(values), State.SENDING])


class SentMarks:
    """The "sent" marks of one batch: noted in the journal as each e-mail leaves, written in one go at the end."""

    def __init__(self, journal):
        self.journal = journal
        self.noted = {}

    def add(self, rows, cc):
        sent_at = timezone.now()
        if self.journal is not None and self.journal.record(rows, sent_at, cc, first=not self.noted):
            self.noted.update({row.pk: send_journal.Entry(sent_at, cc) for row in rows})
            return
        mark_sent([row.pk for row in rows], cc)  # no journal, or Redis failed: the database, row by row
        self.journal = None  # do not wait on a failing Redis again in this batch

    def flush(self):
        write_sent(self.noted)
        noted, self.noted = list(self.noted), {}
        if noted and self.journal is not None:
            self.journal.forget(noted)


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
    """Temporary failure: back to pending with back-off, or failed once the attempts are used up."""
    limit = setting("REMINDER_MAX_ATTEMPTS", 5)
    for row in rows:
        if is_temporary(error) and row.attempts < limit:
            _finish([row.pk], state=State.PENDING, due_at=now + backoff(row.attempts), last_error=repr(error)[:2000])
            result.retried += 1
        else:
            _finish([row.pk], state=State.FAILED, last_error=repr(error)[:2000])
            result.failed += 1


def _cc_for(rows, plan):
    addresses = set()
    for row in rows:
        planned = plan.planned(row)
        addresses.update(planned.cc if planned else row.cc)
    return sorted(addresses - {rows[0].address})


# A batch stops before its lease runs out (a slow SMTP server, a run without Celery's time limit) and hands
# its unsent rows back, so that no other run can take back rows this one is still sending.
LEASE_SHARE = 0.8


def send_batch(ids, plan, result, connection=None, now=None, journal=None):
    lease_ends = time.monotonic() + LEASE_SHARE * setting("REMINDER_LEASE_SECONDS", 900)  # claimed just now
    now = now or timezone.now()
    rows = list(Reminder.objects.filter(pk__in=ids).select_related("recipient", "body", "member_state", "cycle"))
    due_rows = [row for row in rows if plan.expects(row)]
    _finish(
        [r.pk for r in rows if not plan.expects(r)],
        state=State.CANCELLED,
        last_error="No longer due when it was to be sent.",
    )
    result.cancelled += len(rows) - len(due_rows)
    content = BatchContent(due_rows, plan)
    empty = [r.pk for r in due_rows if content.is_empty_for(r)]
    _finish(empty, state=State.CANCELLED, last_error="Nothing left to report when it was to be sent.")
    no_address = [r.pk for r in due_rows if r.pk not in set(empty) and not r.address]
    _finish(no_address, state=State.FAILED, last_error="The recipient has no e-mail address.")
    result.cancelled += len(empty)
    result.failed += len(no_address)
    skip = set(empty) | set(no_address)
    by_recipient = defaultdict(list)
    for row in due_rows:
        if row.pk not in skip:
            by_recipient[(row.recipient_id, row.recipient_email)].append(row)
    if by_recipient:
        _send_grouped(by_recipient, content, plan, result, connection, now, SentMarks(journal), lease_ends)


def release(rows, now, result):
    """Hand unsent rows back as due now, without counting the claim as an attempt."""
    ids = [r.pk for r in rows]
    result.released += Reminder.objects.filter(pk__in=ids, state=State.SENDING).update(
        state=State.PENDING, due_at=now, claimed_at=None, attempts=F("attempts") - 1
    )


def _send_grouped(by_recipient, content, plan, result, connection, now, marks, lease_ends):
    connection = connection or get_connection()
    try:
        connection.open()
    except Exception as error:  # the server is down: every row of the batch waits for its retry
        log.warning("reminders: cannot open the e-mail connection: %r", error)
        _retry_or_fail([r for rows in by_recipient.values() for r in rows], error, result, now)
        return
    groups = list(by_recipient.values())
    try:
        for index, rows in enumerate(groups):
            if index and time.monotonic() > lease_ends:  # the first e-mail always goes: each batch progresses
                release([r for group in groups[index:] for r in group], now, result)
                break
            cc = _cc_for(rows, plan)
            message = compose(rows, content, cc)
            try:
                connection.send_messages([message])
            except Exception as error:
                log.warning("reminders: sending to %s failed: %r", rows[0].addressee, error)
                _retry_or_fail(rows, error, result, now)
                continue
            # Noted at once: a worker killed after this line never sends this e-mail again.
            marks.add(rows, cc)
            result.sent += 1
            result.rows_sent += len(rows)
    finally:
        try:
            marks.flush()  # also after a soft time limit or an unexpected error in the loop
        finally:
            connection.close()


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


def send_due(now=None, batch_size=None, budget_seconds=None, connection=None):
    """Send everything due, batch after batch, until none is left or the time budget is spent."""
    batch_size = batch_size or setting("REMINDER_BATCH_SIZE", 500)
    started = time.monotonic()
    plan = policy.due(now)  # one re-check of what is due per run, shared by its batches
    journal = send_journal.current()
    result = Result()
    # With a journal, a batch's marks are few and are committed durably before its entries are dropped.
    with quick_commits() if journal is None else nullcontext():
        while True:
            ids = claim(batch_size, now, journal=journal, result=result)
            if not ids:
                break
            result.batches += 1
            send_batch(ids, plan, result, connection=connection, now=now, journal=journal)
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                result.more = True
                break
    if result.sent or result.failed or result.cancelled or result.recovered:
        log.info("reminders: %s", result.as_dict())
    return result


def run(now=None, batch_size=None, budget_seconds=None, connection=None):
    """The whole job: write what is due, then send it. Celery, cron and the admin all call this."""
    created = policy.plan(now)
    result = send_due(now, batch_size=batch_size, budget_seconds=budget_seconds, connection=connection)
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
        state=State.PENDING, attempts=0, due_at=now or timezone.now(), last_error="", sent_at=None, claimed_at=None
    )
