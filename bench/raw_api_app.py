"""The baseline for `make bench-api`: a minimal WSGI app that answers the first page of the implementations
list (`?page_size=100`, all states) with raw psycopg and one hand-written SQL query, producing the same
`results` JSON as /api/v1/implementations/ (stalled reasons included). No Django, no authentication.

`unchanged_cycles` is derived as the API derives it: the number of the body's closed cycles that began after the
item's status or progress last changed (a closed cycle began when the one before it closed, the first when it
opened, else at midnight of its period's first day); "unchanged" holds when the K-th most recent of those began
after the change (K = the body's `unchanged_cycles`).

Run: DATABASE_URL=postgres://... gunicorn bench.raw_api_app:application
"""

import base64
import json
import os
import zoneinfo
from datetime import UTC, date, datetime
from urllib.parse import urlencode, urlparse

import psycopg

SQL = """
WITH closed AS (
  SELECT body_id, closed_at, id,
         COALESCE(lag(closed_at) OVER (PARTITION BY body_id ORDER BY closed_at, id), opened_at,
                  period_start::timestamp AT TIME ZONE %(zone)s) AS started
  FROM tracker_reviewcycle
  WHERE state = 'closed'
), windows AS (
  SELECT body_id, array_agg(started ORDER BY closed_at DESC, id DESC) AS starts FROM closed GROUP BY body_id
)
SELECT i.id, i.recommendation_id, r.reference, m.code, b.code, s.iso_code, i.applies, i.status, i.progress,
       i.last_reported_at, i.last_report_cycle_id, i.has_open_obstacle,
       (SELECT count(*) FROM unnest(w.starts) AS started WHERE i.status_changed_at < started),
       i.version, r.is_archived, i.created_at, i.updated_at,
       i.status NOT IN ('implemented', 'not_applicable') AS unsettled,
       (i.last_reported_at < %(now)s - make_interval(days => b.stale_after_days)
        OR (i.last_reported_at IS NULL AND i.created_at < %(now)s - make_interval(days => b.stale_after_days))),
       (c.id IS NOT NULL AND (i.last_report_cycle_id IS NULL OR i.last_report_cycle_id <> c.id)),
       i.status_changed_at < w.starts[b.unchanged_cycles],
       r.target_date < %(today)s,
       i.has_open_obstacle,
       i.open_commitment_due < %(today)s
FROM tracker_implementation i
JOIN tracker_recommendation r ON r.id = i.recommendation_id
JOIN tracker_meeting m ON m.id = r.meeting_id
JOIN tracker_body b ON b.id = m.body_id
JOIN tracker_memberstate s ON s.id = i.member_state_id
LEFT JOIN tracker_reviewcycle c ON c.body_id = b.id AND c.state = 'open' AND c.report_deadline < %(today)s
LEFT JOIN windows w ON w.body_id = b.id
WHERE i.applies AND NOT r.is_archived
ORDER BY i.id
LIMIT %(limit)s
"""
REASONS = [
    "no_recent_report",
    "missing_cycle_report",
    "unchanged",
    "past_target",
    "open_obstacle",
    "late_commitment",
]
ZONE = zoneinfo.ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Riyadh"))
_connection = None


def connection():
    """One connection per worker process, kept open (like Django's CONN_MAX_AGE)."""
    global _connection
    if _connection is None or _connection.closed:
        url = urlparse(os.environ["DATABASE_URL"])
        _connection = psycopg.connect(
            host=url.hostname,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            dbname=url.path.lstrip("/"),
            autocommit=True,
            options="-c timezone=UTC",
        )
    return _connection


def encode(value):
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value))


def row_to_item(row):
    (
        pk,
        recommendation,
        reference,
        meeting,
        body,
        state,
        applies,
        status,
        progress,
        last_reported_at,
        last_cycle,
        open_obstacle,
        unchanged,
        version,
        archived,
        created_at,
        updated_at,
        unsettled,
        *flags,
    ) = row
    reasons = [reason for reason, flag in zip(REASONS, flags, strict=True) if unsettled and flag]
    return {
        "id": pk,
        "recommendation": recommendation,
        "reference": reference,
        "meeting_code": meeting,
        "body_code": body,
        "member_state": state,
        "applies": applies,
        "is_archived": archived or not applies,
        "status": status,
        "progress": progress,
        "last_reported_at": last_reported_at,
        "last_report_cycle": last_cycle,
        "has_open_obstacle": open_obstacle,
        "unchanged_cycles": unchanged,
        "is_stalled": bool(reasons),
        "stalled_reasons": reasons,
        "version": version,
        "etag": f'"{version}"',
        "created_at": created_at,
        "updated_at": updated_at,
    }


def application(environ, start_response):
    page_size = 100
    now = datetime.now(UTC)
    params = {"now": now, "today": now.astimezone(ZONE).date(), "zone": ZONE.key, "limit": page_size + 1}
    rows = connection().execute(SQL, params)
    rows = rows.fetchall()
    items = [row_to_item(row) for row in rows[:page_size]]
    next_link = None
    if len(rows) > page_size:
        cursor = base64.b64encode(urlencode({"p": items[-1]["id"]}).encode()).decode()
        host = environ.get("HTTP_HOST", "127.0.0.1")
        next_link = f"http://{host}/api/v1/implementations/?{urlencode({'cursor': cursor, 'page_size': page_size})}"
    body = json.dumps(
        {"next": next_link, "previous": None, "server_time": now, "results": items},
        default=encode,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
