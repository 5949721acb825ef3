"""`make bench-api`: throughput of /api/v1/implementations/?page_size=100 against the raw psycopg
baseline (bench.raw_api_app) on the same PostgreSQL data, both under gunicorn, measured in the
same run, alternating, with wrk (or a small Python load generator when wrk is not installed).

Where the time went and what was done about it is in the README ("make bench-api"): server-side binding
and prepared statements, the token look-up and the list pages compiled once per shape
(tracker/compiled.py), no filter form without filters, psycopg's C timestamp loader and orjson.
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
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from tracker.core.models import Body, Meeting, Recommendation

ROOT = Path(settings.BASE_DIR)
BENCH_MEETING = "bench-sample-meeting"


def ensure_data(recommendations):
    """Sample recommendations (marked as samples) so there are many implementations to page through."""
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
                text_en=f"[Sample item, benchmark] Recommendation {number}.",
                text_ar=f"[بند تجريبي لقياس الأداء] التوصية {number}.",
            )
    return meeting.recommendations.count() * body.member_states.count()


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
            try:
                request = urllib.request.Request(self.url + path, headers=headers)
                with urllib.request.urlopen(request, timeout=5) as response:
                    return json.loads(response.read())
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.url}{path} did not answer; see {self.log.name}")

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
            "API_THROTTLE_RATE": "100000000/minute",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def run(raw_token, *, duration, connections, workers, rounds, out=print):
    path = "/api/v1/implementations/?page_size=100"
    headers = {"Authorization": f"Token {raw_token}"}
    load = run_wrk if shutil.which("wrk") else run_python
    out(
        f"load generator: {'wrk' if load is run_wrk else 'Python threads (wrk not installed)'}, "
        f"{connections} connections, {duration}s per measurement, gunicorn --workers {workers}, {rounds} rounds"
    )
    connection.close()  # the servers are separate processes
    env = server_env()
    api = Server("project.wsgi", env, workers)
    raw = Server("bench.raw_api_app:application", env, workers)
    try:
        api_page, raw_page = api.wait(path, headers), raw.wait(path, {})
        if api_page["results"] != raw_page["results"]:
            raise RuntimeError("The raw endpoint and the API disagree on the page; the comparison would be unfair.")
        out(f"same {len(api_page['results'])} items from both endpoints")
        results = {"api": [], "raw": []}
        for _ in range(rounds):
            for name, server, extra in (("raw", raw, {}), ("api", api, headers)):
                load(server.url + path, extra, 2, connections)  # warm up
                results[name].append(load(server.url + path, extra, duration, connections))
                out(f"  {name}: {results[name][-1]:.1f} requests/s")
    finally:
        api.stop()
        raw.stop()
    api_rate = sum(results["api"]) / rounds
    raw_rate = sum(results["raw"]) / rounds
    ratio = api_rate / raw_rate
    out(f"API {api_rate:.1f} req/s, raw psycopg {raw_rate:.1f} req/s: ratio {ratio:.0%} (target ≥ 50%)")
    return api_rate, raw_rate, ratio
