"""Counts kept in the database between requests, used while nothing they counted has changed.

Counting a million items for the review's summary takes most of a second, and the Django cache is empty
after a restart or an eviction. The counts are kept (`CountMemo`) with two marks of what makes them stale:

- `token`: the change token of incremental sync (tracker.core.sync), taken before checking and counting.
  Every write to an item, a recommendation or a commitment stamps its row's `change_xid` at or above the
  token of any count that could have missed it, whatever path wrote it (a database trigger), so "changed
  since" is one indexed range lookup, and a change still in flight while counting is caught next time:
  a count is never stale, at worst counted again.
- `valid_through`: the last moment the time rules give the same answer (the end of the local day for the
  rules on dates, and for "no recent report" the moment the next item passes its limit).

What else the counts depend on (the scope, the thresholds, the cycles) is in the memo's key (`memo_key`).
`per_state` keeps one memo per member state and counts again only the states a change touched;
`kept` keeps a whole answer and counts it again on any change to the tables it reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from tracker.core import sync
from tracker.core.models import CountMemo, Implementation, Recommendation
from tracker.core.querysets import StalledContext, end_of

Row = dict[str, Any]
WHOLE = 0  # the `state` of the memo that stands for the whole scope: its token covers states without items
UNIQUE, UPDATED = ["name", "key", "state"], ["counts", "token", "valid_through", "computed_at"]
FORGET_AFTER = timedelta(days=2)  # memos of keys no longer asked for (a threshold changed, a cycle closed)


def memo_key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def rule_parts(context: StalledContext) -> list[object]:
    """What the stalled rules depend on besides the rows and the clock: thresholds, overdue and closed cycles."""
    return [
        sorted((b.pk, b.stale_after_days, b.unchanged_cycles) for b in context.bodies),
        sorted((b, c.pk, c.report_deadline.isoformat()) for b, c in context.overdue_cycles.items()),
        sorted((b, [start.isoformat() for start in starts]) for b, starts in context.closed_windows.items()),
    ]


def end_of_day(now: datetime) -> datetime:
    """The last moment of `now`'s local day: the rules on dates (targets, commitments, deadlines) move at midnight."""
    return end_of(timezone.localdate(now))


def token_value() -> int:
    return sync.parse_token(sync.current_token())


# --- per member state --------------------------------------------------------------------------------


def per_state(name: str, key: str, now: datetime, count: Callable[[list[int] | None], list[Row]]) -> list[Row]:
    """The rows of `count(state_ids)` (None: every state), one per member state (`member_state_id`), each with
    a `valid_through` (None: no time rule moves it). Kept per state: only the states whose items changed, or
    whose time ran out, are counted again; a change to a recommendation counts them all again."""
    memos = {memo.state: memo for memo in CountMemo.objects.filter(name=name, key=key)}
    whole = memos.pop(WHOLE, None)
    if whole is None:
        return _count_all(name, key, count)
    # The token comes with the check, in one snapshot: every change older than it is visible to the check.
    token, changed, recommendations_changed = _changed_states(whole.token)
    if recommendations_changed:
        return _count_all(name, key, count, token)
    stale = {s for s, memo in memos.items() if memo.valid_through is not None and now > memo.valid_through}
    stale |= changed
    kept = [memo.counts for s, memo in memos.items() if s not in stale]
    if not stale:
        return kept
    return kept + _count_states(name, key, count, sorted(stale), token)


def _changed_states(since: int) -> tuple[int, set[int], bool]:
    """A new token; the member states with an item written at or after the token `since`; whether a
    recommendation was."""
    items, recommendations = Implementation._meta.db_table, Recommendation._meta.db_table
    sql = (
        f"SELECT -2, {sync.token_sql()} "
        f"UNION ALL SELECT DISTINCT member_state_id, 0 FROM {items} WHERE change_xid >= %s "
        f"UNION ALL SELECT -1, 0 WHERE EXISTS (SELECT 1 FROM {recommendations} WHERE change_xid >= %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, since])
        rows = dict(cursor.fetchall())
    token = rows.pop(-2)
    return token, set(rows) - {-1}, -1 in rows


def _count_all(
    name: str, key: str, count: Callable[[list[int] | None], list[Row]], token: int | None = None
) -> list[Row]:
    token = token_value() if token is None else token
    rows = count(None)
    whole = {"member_state_id": WHOLE, "valid_through": None}  # its token: no other state had items then
    with transaction.atomic():
        _store(name, key, [*rows, whole], token)
        CountMemo.objects.filter(name=name, key=key).exclude(
            state__in=[row["member_state_id"] for row in rows]
        ).exclude(state=WHOLE).delete()
        forgotten = CountMemo.objects.filter(name=name, computed_at__lt=timezone.now() - FORGET_AFTER)
        forgotten.exclude(key=key).delete()
    return [_plain(row) for row in rows]


def _count_states(
    name: str, key: str, count: Callable[[list[int] | None], list[Row]], states: list[int], token: int
) -> list[Row]:
    """Count `states` again; every other memo of the key was checked unchanged up to `token`, which they take."""
    rows = count(states)
    counted = {row["member_state_id"] for row in rows}
    with transaction.atomic():
        memos = CountMemo.objects.filter(name=name, key=key)
        memos.filter(token__lt=token).update(token=token)
        memos.filter(state__in=set(states) - counted).delete()  # no item left to count
        _store(name, key, rows, token)
    return [_plain(row) for row in rows]


def _store(name: str, key: str, rows: list[Row], token: int) -> None:
    """Upsert: two requests counting at once both write a true (counts, token) pair; neither fails."""
    CountMemo.objects.bulk_create(
        [_memo(name, key, row, token) for row in rows],
        update_conflicts=True,
        unique_fields=UNIQUE,
        update_fields=UPDATED,
    )


def _memo(name: str, key: str, row: Row, token: int) -> CountMemo:
    counts = _plain(row)
    return CountMemo(
        name=name, key=key, state=row["member_state_id"], counts=counts, token=token, valid_through=row["valid_through"]
    )


def _plain(row: Row) -> Row:
    return {name: value for name, value in row.items() if name != "valid_through"}


# --- whole answers -------------------------------------------------------------------------------------


def kept(
    name: str, key: str, compute: Callable[[], Any], *, reads: Iterable[type], valid_through: datetime | None
) -> Any:
    """`compute()`'s answer (plain JSON), kept until a row of one of the synced models it `reads` changes or
    `valid_through` passes (None: no time rule; nothing read: it never changes)."""
    memo = CountMemo.objects.filter(name=name, key=key, state=WHOLE).first()
    if memo is not None and _in_time(memo) and not _changed(reads, memo.token):
        return memo.counts
    token = token_value()  # before computing: a change committed meanwhile is seen as one next time
    answer = compute()
    memo = CountMemo(name=name, key=key, state=WHOLE, counts=answer, token=token, valid_through=valid_through)
    CountMemo.objects.bulk_create([memo], update_conflicts=True, unique_fields=UNIQUE, update_fields=UPDATED)
    return answer


def _in_time(memo: CountMemo) -> bool:
    return memo.valid_through is None or timezone.now() <= memo.valid_through


def _changed(models: Iterable[type], since: int) -> bool:
    tables = [model._meta.db_table for model in models]  # type: ignore[attr-defined]
    if not tables:
        return False
    sql = " UNION ALL ".join(
        f"SELECT 1 WHERE EXISTS (SELECT 1 FROM {table} WHERE change_xid >= %s)" for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [since] * len(tables))
        return cursor.fetchone() is not None
