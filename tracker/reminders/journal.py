"""The send journal: which e-mails of a claimed batch have left, until the batch is marked sent in one UPDATE.

Marking each row `sent` the moment the backend accepts its e-mail costs one SQL statement per e-mail. With a
journal, each accepted e-mail is noted in Redis instead (one HSET and EXPIRE in one round trip), and the
batch is marked with one statement when it ends. A worker killed in between leaves its rows in `sending`;
the run that takes them back after the lease first looks them up here and marks the ones found as sent
instead of sending them again.

An entry names the claim it belongs to (the row's `claimed_at` and `attempts`), so an entry left by another
claim, another database or a restored backup never passes for this one. Without a journal (no Redis, as with
the local filesystem broker), or when Redis fails in the middle of a batch, rows are marked in the database
one e-mail at a time, as before: slower, never less safe.

The journal is as durable as the Redis it lives in: give Redis append-only persistence (docker-compose.yml
does) so that a Redis restart at the same moment as a killed worker cannot make that batch send twice.
"""

import datetime as dt
import itertools
import json
import logging
from dataclasses import dataclass
from functools import cached_property

import redis
from django.conf import settings
from django.db import connection as db_connection

log = logging.getLogger(__name__)

# Long enough for a run after any realistic outage to find a dead worker's entries; cleared after each batch.
ENTRY_TTL_SECONDS = 7 * 24 * 3600
_clients = {}


@dataclass(frozen=True)
class Entry:
    """What the journal knows about one sent row."""

    sent_at: dt.datetime
    cc: list


def claim_token(claimed_at, attempts):
    return f"{claimed_at.isoformat()}#{attempts}"


class Unavailable(Exception):
    """Redis did not answer: whether a dead worker's rows were sent cannot be told now."""


class RedisJournal:
    def __init__(self, url):
        if url not in _clients:
            # Short timeouts: a batch falls back to database marks rather than wait on a dead Redis.
            _clients[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.client = _clients[url]
        self._held = None  # the connection `record` keeps for a batch, until `release`
        self._unread = 0  # answers to read on it (`start` sent the commands, `confirm` reads them)

    @cached_property  # read for every e-mail; a journal lives for one run, on one database
    def key(self):
        """One hash per database, so two deployments (or the tests and a benchmark) sharing a Redis never mix."""
        return f"wrt:reminders:sent:{db_connection.vendor}:{db_connection.settings_dict['NAME']}"

    def record(self, rows, sent_at, cc, first=False):
        """Note that the e-mail of `rows` was accepted; False if Redis failed (the caller marks the database).

        One HSET per e-mail; the first of a batch also renews the hash's expiry (one round trip either way). The
        connection is kept until `release()`.
        """
        return self.start(rows, sent_at, cc, first) and self.confirm()

    def start(self, rows, sent_at, cc, first=False):
        """`record`'s first half: send the note without waiting for Redis's answer, which `confirm()` reads. The
        sender composes the next e-mail meanwhile, and confirms before that e-mail leaves. False if Redis failed."""
        value = {"sent_at": sent_at.isoformat(), "cc": cc}
        mapping = {row.pk: json.dumps({**value, "claim": claim_token(row.claimed_at, row.attempts)}) for row in rows}
        commands = [("HSET", self.key, *itertools.chain.from_iterable(mapping.items()))]
        if first:
            commands.append(("EXPIRE", self.key, ENTRY_TTL_SECONDS))
        return self._unless_unavailable(self._send, commands)

    def confirm(self):
        """Wait for Redis's answers to what `start` sent: True once the note is in Redis, False if Redis failed."""
        return self._unless_unavailable(self._read)

    @staticmethod
    def _unless_unavailable(step, *args):
        try:
            step(*args)
        except redis.RedisError as error:
            log.warning("reminders: the send journal is unavailable, marking rows in the database: %r", error)
            return False
        return True

    def _run(self, commands):
        """The commands in one round trip on the connection kept for the batch: redis-py's command path costs about
        0.15 ms of CPU, taking a connection from the pool 0.05 ms, the bare round trip 0.06 ms (every e-mail)."""
        self._send(commands)
        self._read()

    def _send(self, commands):
        try:
            if self._held is None:
                self._held = self.client.connection_pool.get_connection()
            self._held.send_packed_command(self._held.pack_commands(commands))
            self._unread += len(commands)  # `_read` reads them all, in order
        except BaseException:  # a time limit too: part of the commands may have gone, so the connection is out of step
            self.release(broken=True)
            raise

    def _read(self):
        try:
            while self._unread:
                self._unread -= 1
                self._held.read_response()  # an error reply raises
        except BaseException:  # a time limit too: a reply may be left unread, so the connection is out of step
            self.release(broken=True)
            raise

    def release(self, broken=False):
        """Give the kept connection back to the pool (the sender does after each batch); closed if it failed."""
        held, self._held, unread, self._unread = self._held, None, self._unread, 0
        if held is None:
            return
        if broken or unread:  # answers left unread: out of step for whoever takes it next
            held.disconnect()
        self.client.connection_pool.release(held)

    def lookup(self, claims):
        """{pk: Entry} for the rows of `claims` ({pk: claim token}) that were sent under that very claim."""
        pks = list(claims)
        try:
            values = self.client.hmget(self.key, pks) if pks else []
        except redis.RedisError as error:
            raise Unavailable(error) from error
        found = {}
        for pk, raw in zip(pks, values, strict=True):
            entry = json.loads(raw) if raw else None
            if entry and entry.get("claim") == claims[pk]:
                found[pk] = Entry(dt.datetime.fromisoformat(entry["sent_at"]), entry["cc"])
        return found

    def forget(self, pks):
        """Drop entries whose rows the database now holds as sent (a leftover is harmless and expires)."""
        if not pks:
            return
        try:
            self.client.hdel(self.key, *pks)
        except redis.RedisError as error:
            log.warning("reminders: could not clear %s send journal entries: %r", len(pks), error)

    def reachable(self):
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def current():
    """The configured journal, or None when reminders are marked in the database one e-mail at a time."""
    url = getattr(settings, "REMINDER_JOURNAL_URL", "")
    return RedisJournal(url) if url else None
