"""`make bench-api`: throughput of the implementations shapes partners run, each against the raw psycopg baseline
(bench.raw_api_app) answering the same question on the same PostgreSQL data, both under gunicorn, measured in
the same run in alternate slices of a few seconds, with wrk (or a small Python load generator when wrk is not
installed):

- the first page of a full sync, `?page_size=100`;
- an incremental sync page, `?changed_since=<token>&page_size=200`: the token of a full read taken first, then
  TOUCHED items changed, so the page is full and has a next one;
- the same with a time, `?updated_since=<time>&page_size=200`;
- a filtered list, `?member_state=EG,JO&stalled=any&page_size=100` (the sample data has past target dates);
- one item, `/api/v1/implementations/<id>/`.

Where the time went and what was done about it is in the README ("make bench-api").
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tracker.core.models import Body, Implementation, Meeting, Recommendation

ROOT = Path(settings.BASE_DIR)
BENCH_MEETING = "bench-sample-meeting"
LIST = "/api/v1/implementations/"
TOUCHED = 250  # items changed after the full read: a sync page of 200 and a next one
PAST_TARGET = date(2020, 1, 1)


def past_target(position):
    """Three sample recommendations in five are past their target date: a filtered list of stalled items."""
    return PAST_TARGET if position % 5 in (1, 2, 3) else None


def ensure_data(recommendations):
    """Sample recommendations (marked as samples, public) so there are many implementations to page through."""
    body = Body.objects.get(code="aimc")
    meeting, _ = Meeting.objects.get_or_create(
        code=BENCH_MEETING,
        defaults={
            "body": body,
            "kind": Meeting.Kind.STUDY,
            "title_en": "[Benchmark sample data]",
            "title_ar": "[بيانات تجريبية لقياس الأداء]",
        },
    )
    existing = meeting.recommendations.count()
    with transaction.atomic():
        for number in range(existing + 1, recommendations + 1):
            Recommendation.objects.create(
                meeting=meeting,
                reference=f"B{number}",
                position=number,
                is_sample=True,
                is_public=True,
                target_date=past_target(number),
                text_en=f"[Sample item, benchmark] Recommendation {number}.",
                text_ar=f"[بند تجريبي لقياس الأداء] التوصية {number}.",
            )
        # Sample data of earlier runs: made public, with the same target dates (nothing changes when they are).
        for sample in meeting.recommendations.all():
            if (sample.is_public, sample.target_date) != (True, past_target(sample.position)):
                sample.is_public, sample.target_date = True, past_target(sample.position)
                sample.save(update_fields=["is_public", "target_date", "updated_at"])
    return meeting.recommendations.count() * body.member_states.count()


def touch_items():
    """Change TOUCHED sample items (every eighth, in id order) as a write would; returns the time just before."""
    since = timezone.now()
    items = Implementation.objects.filter(recommendation__meeting__code=BENCH_MEETING).order_by("pk")
    ids = list(items.values_list("pk", flat=True))[::8][:TOUCHED]
    Implementation.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    connection.close()  # the servers are separate processes
    return since


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, app, env, workers):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ]
        self.log = open(ROOT / "var" / f"bench-{app.split(':')[0].split('.')[-1]}.log", "wb")
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait(self, path, headers):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                return self.get(path, headers)
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.url}{path} did not answer; see {self.log.name}")

    def get(self, path, headers):
        """(the answer's headers, its JSON)."""
        request = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers, json.loads(response.read())

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def run_wrk(url, headers, duration, connections):
    args = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} error answers from {url}:\n{output}")
    return rate


def run_python(url, headers, duration, connections):
    """A small closed-loop load generator: `connections` threads, each one request at a time."""
    count, failures = [0], [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker():
        while time.monotonic() < stop_at:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
                    response.read()
                    ok = response.status == 200
            except OSError:
                ok = False
            with lock:
                count[0] += ok
                failures[0] += not ok

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures[0]:
        raise RuntimeError(f"{failures[0]} failed requests to {url}")
    return count[0] / duration


def server_env():
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "LOG_LEVEL": "WARNING",
            # Never refused, but counted as in production: the throttle keeps a log of the token's requests over its
            # window, read and written whole at every request. A window of a second keeps it about as long as the
            # default 600/minute lets it grow (a minute's window at these rates: 50 times longer, and the API slower
            # as each measurement goes on).
            "API_THROTTLE_RATE": "100000000/second",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@dataclass
class Shape:
    name: str  # as the table shows it
    path: str
    rows: int  # the rows the answer must have (so each side does the same work)


def full_read(server, headers):
    """A partner's full sync through the API: follow `next` to the end; the last page's sync_token."""
    path, token = f"{LIST}?page_size=500", None
    while path:
        _headers, page = server.get(path, headers)
        token, path = page["sync_token"], page["next"] and page["next"].removeprefix(server.url)
    return token


def shapes(token, since, item):
    """The shapes measured, each with the number of rows it must answer."""
    return [
        Shape("(a) first page ?page_size=100", f"{LIST}?page_size=100", 100),
        Shape("(b) ?changed_since=<token>&page_size=200", f"{LIST}?changed_since={token}&page_size=200", 200),
        Shape(
            "(c) ?updated_since=<time>&page_size=200",
            f"{LIST}?updated_since={quote(since.isoformat())}&page_size=200",
            200,
        ),
        Shape(
            "(d) ?member_state=EG,JO&stalled=any&page_size=100",
            f"{LIST}?member_state=EG,JO&stalled=any&page_size=100",
            100,
        ),
        Shape("(e) single item /implementations/<id>/", f"{LIST}{item}/", 1),
    ]


def token_value(token):
    return int(token.removeprefix("c"))


def check_same(shape, api, raw, headers, since_token):
    """Both endpoints give the same rows (and a single item the same ETag), and each list a sync token of its own
    (a lower bound: the oldest transaction then running, in any database of the server), not before the full
    read's."""
    api_headers, api_answer = api.get(shape.path, headers)
    raw_headers, raw_answer = raw.get(shape.path, {})
    if shape.rows == 1:
        same, count = api_answer == raw_answer and api_headers["ETag"] == raw_headers["ETag"], 1
    else:
        same, count = api_answer["results"] == raw_answer["results"], len(api_answer["results"])
        tokens = [token_value(answer["sync_token"]) for answer in (api_answer, raw_answer)]
        if min(tokens) < since_token:
            raise RuntimeError(f"{shape.name}: a sync token ({tokens}) is before the full read's ({since_token})")
    if not same:
        raise RuntimeError(f"{shape.name}: the raw endpoint and the API disagree; the comparison would be unfair.")
    if count != shape.rows:
        raise RuntimeError(f"{shape.name}: {count} rows, expected {shape.rows}")


SLICE = 2  # seconds: raw and API take turns this often, so that both see the machine as loaded as the other


def measure(load, servers, shape, headers, duration, connections):
    """{"raw": req/s, "api": req/s} over `duration` seconds each, measured in alternate slices."""
    sides = (("raw", servers["raw"], {}), ("api", servers["api"], headers))
    for _name, server, extra in sides:
        load(server.url + shape.path, extra, 1, connections)  # warm up
    slices = max(1, duration // SLICE)
    rates = {name: 0.0 for name, _, _ in sides}
    for _ in range(slices):
        for name, server, extra in sides:
            rates[name] += load(server.url + shape.path, extra, max(1, duration // slices), connections) / slices
    return rates


def table(results, rounds):
    """[(shape, API req/s, raw req/s, ratio)], averaged over the rounds."""
    rows = []
    for shape, rates in results.items():
        api_rate, raw_rate = sum(rates["api"]) / rounds, sum(rates["raw"]) / rounds
        rows.append((shape, api_rate, raw_rate, api_rate / raw_rate))
    return rows


def print_table(rows, out):
    out(f"{'shape':<54} {'API req/s':>10} {'raw req/s':>10} {'ratio':>6}")
    for shape, api_rate, raw_rate, ratio in rows:
        out(f"{shape:<54} {api_rate:>10.1f} {raw_rate:>10.1f} {ratio:>6.0%}")


def run(raw_token, *, duration, connections, workers, rounds, out=print):
    """Measure every shape; returns the table's rows: [(shape, API req/s, raw req/s, ratio)]."""
    headers = {"Authorization": f"Token {raw_token}"}
    load = run_wrk if shutil.which("wrk") else run_python
    out(
        f"load generator: {'wrk' if load is run_wrk else 'Python threads (wrk not installed)'}, "
        f"{connections} connections, {duration}s per measurement, gunicorn --workers {workers}, {rounds} rounds"
    )
    connection.close()  # the servers are separate processes
    env = server_env()
    servers = {
        "api": Server("project.wsgi", env, workers),
        "raw": Server("bench.raw_api_app:application", env, workers),
    }
    try:
        servers["api"].wait(f"{LIST}?page_size=1", headers)
        servers["raw"].wait(f"{LIST}?page_size=1", {})
        token = full_read(servers["api"], headers)
        since = touch_items()
        _headers, filtered = servers["api"].get(f"{LIST}?member_state=EG,JO&stalled=any&page_size=1", headers)
        measured = shapes(token, since, filtered["results"][0]["id"])
        for shape in measured:
            check_same(shape, servers["api"], servers["raw"], headers, token_value(token))
            out(f"same answer from both endpoints ({shape.rows} rows): {shape.path}")
        results = {shape.name: {"api": [], "raw": []} for shape in measured}
        for _ in range(rounds):
            for shape, rates in zip(measured, results.values(), strict=True):
                for name, rate in measure(load, servers, shape, headers, duration, connections).items():
                    rates[name].append(rate)
                out(f"  {shape.name}: API {rates['api'][-1]:.1f}, raw {rates['raw'][-1]:.1f} requests/s")
    finally:
        for server in servers.values():
            server.stop()
    rows = table(results, rounds)
    print_table(rows, out)
    return rows
