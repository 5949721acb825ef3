"""The baseline for `make bench-api`: a minimal WSGI app that answers the implementations shapes partners run with
raw psycopg and hand-written SQL, producing the same JSON as /api/v1/implementations/ (stalled reasons and ETags
included). No Django, no authentication. It serves the API's own paths, one handler per shape:

- `?page_size=100`: a page of the current items (the full sync);
- `?changed_since=<token>&page_size=200`: what changed since a sync token (the incremental sync);
- `?updated_since=<time>&page_size=200`: what was updated at or after a time (the older incremental sync);
- `?member_state=EG,JO&stalled=any&page_size=100`: a filtered list;
- `/api/v1/implementations/<id>/`: one item, with its ETag.

Each list answer carries `sync_token` as the API's does, taken before the page is read (or carried in the cursor):
the snapshot's xmin, a lower bound, so two answers need not carry the same one. The items are those of a partner
that sees public recommendations in every member state (the partner `make bench-api` issues its token to).

`unchanged_cycles` is derived as the API derives it: the number of the body's closed cycles that began after the
item's status or progress last changed (a closed cycle began when the one before it closed, the first when it
opened, else at midnight of its period's first day); "unchanged" holds when the K-th most recent of those began
after the change (K = the body's `unchanged_cycles`).

Run: DATABASE_URL=postgres://... gunicorn bench.raw_api_app:application
"""

import base64
import hashlib
import os
import re
import zoneinfo
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlparse

import orjson
import psycopg

# The stalled rules, each true only for a followed-up, unsettled item (the API's FOLLOWED_UP).
FOLLOWED = "(i.applies AND NOT r.is_archived AND i.status NOT IN ('implemented', 'not_applicable'))"
REASONS = {
    "no_recent_report": "(i.last_reported_at < %(now)s - make_interval(days => b.stale_after_days)"
    " OR (i.last_reported_at IS NULL AND i.created_at < %(now)s - make_interval(days => b.stale_after_days)))",
    "missing_cycle_report": "(c.id IS NOT NULL AND i.awaiting_validation_since IS NULL"
    " AND (i.last_report_cycle_id IS NULL OR i.last_report_cycle_id <> c.id))",
    "unchanged": "COALESCE(i.status_changed_at < w.starts[b.unchanged_cycles], false)",
    "past_target": "COALESCE(r.target_date < %(today)s, false)",
    "open_obstacle": "i.has_open_obstacle",
    "late_commitment": "COALESCE(i.open_commitment_due < %(today)s, false)",
}
STALLED_ANY = f"({FOLLOWED} AND ({' OR '.join(REASONS.values())}))"

SELECT = f"""
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
       {FOLLOWED}, {", ".join(REASONS.values())}
FROM tracker_implementation i
JOIN tracker_recommendation r ON r.id = i.recommendation_id
JOIN tracker_meeting m ON m.id = r.meeting_id
JOIN tracker_body b ON b.id = m.body_id
JOIN tracker_memberstate s ON s.id = i.member_state_id
LEFT JOIN tracker_reviewcycle c ON c.body_id = b.id AND c.state = 'open' AND c.report_deadline < %(today)s
LEFT JOIN windows w ON w.body_id = b.id
WHERE r.is_public AND i.id > %(after)s AND {{where}}
ORDER BY i.id
LIMIT %(limit)s
"""
CURRENT = "i.applies AND NOT r.is_archived"  # the plain list leaves archived items out; the syncs mark them
# One statement per shape: the shape's condition in the WHERE clause.
SQL = {
    "first_page": SELECT.replace("{where}", CURRENT),
    "changed_since": SELECT.replace(
        "{where}",
        "(i.change_xid >= %(token)s"
        " OR i.recommendation_id IN (SELECT id FROM tracker_recommendation WHERE change_xid >= %(token)s)"
        " OR m.body_id IN (SELECT id FROM tracker_body WHERE change_xid >= %(token)s))",
    ),
    "updated_since": SELECT.replace("{where}", "(i.updated_at >= %(since)s OR r.updated_at >= %(since)s)"),
    "filtered": SELECT.replace("{where}", f"{CURRENT} AND s.iso_code = ANY(%(states)s) AND {STALLED_ANY}"),
    "item": SELECT.replace("{where}", "i.id = %(id)s"),
}
SYNC_TOKEN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
ITEM_PATH = re.compile(r"/api/v1/implementations/(\d+)/")
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
        followed,
        *flags,
    ) = row
    reasons = [reason for reason, flag in zip(REASONS, flags, strict=True) if followed and flag]
    item = {
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
        "created_at": created_at,
        "updated_at": updated_at,
    }
    item["etag"] = etag(item)
    return item


def etag(item):
    """The API's ETag: a digest of the item's JSON with sorted keys (tracker.api.rows.content_etag)."""
    canonical = orjson.dumps(item, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    return '"' + hashlib.blake2b(canonical, digest_size=12).hexdigest() + '"'


def base_params(now):
    return {"now": now, "today": now.astimezone(ZONE).date(), "zone": ZONE.key, "after": 0, "limit": None}


def list_shape(query):
    """(statement, its own parameters) for the list shape the query string asks for."""
    if "changed_since" in query:
        return "changed_since", {"token": int(query["changed_since"][0].lstrip("c"))}
    if "updated_since" in query:
        return "updated_since", {"since": datetime.fromisoformat(query["updated_since"][0].replace("Z", "+00:00"))}
    if "member_state" in query or "stalled" in query:
        assert query.get("stalled", ["any"]) == ["any"], "the raw endpoint answers stalled=any only"
        states = [code.strip().upper() for code in query["member_state"][0].split(",") if code.strip()]
        return "filtered", {"states": states}
    return "first_page", {}


def read_cursor(query):
    """(position, sync token) from the cursor of a `next` link, or (0, None)."""
    if "cursor" not in query:
        return 0, None
    fields = parse_qs(base64.b64decode(query["cursor"][0]).decode())
    return int(fields["p"][0]), fields.get("t", [None])[0]


def answer_list(environ, query, now):
    db = connection()
    page_size = int(query.get("page_size", ["50"])[0])
    position, token = read_cursor(query)
    if token is None:
        token = f"c{db.execute(SYNC_TOKEN).fetchone()[0]}"  # before the page is read, as the API takes it
    shape, own = list_shape(query)
    params = {**base_params(now), **own, "after": position, "limit": page_size + 1}
    rows = db.execute(SQL[shape], params).fetchall()
    items = [row_to_item(row) for row in rows[:page_size]]
    next_link = None
    if len(rows) > page_size:
        cursor = base64.b64encode(urlencode({"p": items[-1]["id"], "t": token}).encode()).decode()
        host = environ.get("HTTP_HOST", "127.0.0.1")
        kept = [(name, values[0]) for name, values in query.items() if name != "cursor"]
        next_link = f"http://{host}/api/v1/implementations/?{urlencode([('cursor', cursor), *kept])}"
    page = {"next": next_link, "previous": None, "server_time": now, "results": items, "sync_token": token}
    return "200 OK", page, []


def answer_item(pk, now):
    rows = connection().execute(SQL["item"], {**base_params(now), "id": pk}).fetchall()
    if not rows:
        return "404 Not Found", {"detail": "Not found."}, []
    item = row_to_item(rows[0])
    return "200 OK", item, [("ETag", item["etag"])]


def application(environ, start_response):
    now = datetime.now(UTC)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    item = ITEM_PATH.fullmatch(environ.get("PATH_INFO", ""))
    status, data, headers = answer_item(int(item.group(1)), now) if item else answer_list(environ, query, now)
    body = orjson.dumps(data, option=orjson.OPT_UTC_Z)
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers])
    return [body]
