"""gunicorn's settings for the web service. gunicorn reads this file from its working directory, so every gunicorn
started in the project folder uses it (the Docker image's CMD, docker-compose.yml's `web`); the command line says
where to listen and overrides anything here.

What the pages do decides these settings. A page is a few PostgreSQL queries and a Django template. An API call
also reads and writes Redis (the rate limit, the Idempotency-Key). A password reset waits on SMTP. Long work runs on
Celery: a cycle's close, the meeting pack's PDF, reminders, webhook deliveries. The proxy in front (deploy/nginx)
reads each upload whole and takes each answer whole before passing it on, so a slow client never holds a worker.
"""

import os
import time

from project.env import env_int


def cores():
    """The cores this container may use (its CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# Threads, so that a request waiting on PostgreSQL, Redis or SMTP does not hold a whole process. Each thread has its
# own database connection (kept DB_CONN_MAX_AGE seconds): workers × threads connections for the web service.
worker_class = "gthread"

# One process per core: Python runs one thread at a time per process, and rendering pages is Python work. At least
# two, so that the site still answers while one worker is restarted.
workers = env_int("GUNICORN_WORKERS", max(2, cores()), minimum=1, maximum=64)

# Four threads cover the waits of one process. More only adds database connections and threads that wait for
# their turn at the interpreter.
threads = env_int("GUNICORN_THREADS", 4, minimum=1, maximum=32)

# 60 s: a page takes well under a second, an export or an upload a few seconds; nothing legitimate takes a minute.
# With gthread this is the worker's heartbeat, not a limit on one request: a worker whose main loop is silent this
# long is killed and started again. The limit a client sees is the proxy's: it gives up on a request after the same
# time (proxy_read_timeout, from GUNICORN_TIMEOUT in docker-compose.yml) and answers 504.
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=10, maximum=600)

# On a stop or a reload, requests in progress have this long to finish (docker-compose.yml gives `web` longer).
graceful_timeout = 30

# The heartbeat file in memory: on a container's overlay filesystem a write can stall long enough for the master to
# think the worker is silent.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The client is the proxy's X-Forwarded-For (nginx sets it to the address it saw), and the time taken in
# milliseconds, when the access log is on (--access-logfile -, as the image and docker-compose.yml start it).
access_log_format = '%({x-forwarded-for}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


# How long a worker may spend reading the rest of a body the application did not read (below). Behind the proxy the
# whole body is already at hand (nginx reads it before passing it on), so this is a bound, not a wait.
DRAIN_SECONDS = 10


def post_request(worker, req, environ, resp):
    """Read what the application left of the request's body before the connection closes.

    An answer can come before the body is read: 401 without valid credentials, 429, the API's 413 for an upload over the
    limit (by its Content-Length). gunicorn then reads at most 64 KB more and closes; the rest of the body makes
    the kernel reset the connection while nginx is still sending it, and nginx answers 502 instead of the
    application's answer (tests/core/test_proxy_config.py shows it).
    """
    body, sock = getattr(req, "body", None), getattr(getattr(req, "unreader", None), "sock", None)
    if body is None or sock is None:
        return
    deadline = time.monotonic() + DRAIN_SECONDS
    before = sock.gettimeout()
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if not body.read(64 * 1024):
                break
    except Exception:  # a body that cannot be read to its end (cut, malformed): gunicorn closes the connection
        pass
    finally:
        try:
            sock.settimeout(before)
        except OSError:
            pass
