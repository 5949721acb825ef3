"""A real HTTP receiver on loopback, partner systems' endpoints and the actions that emit events."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

from tests.support.services import free_port
from tracker.api.tokens import ensure_partner
from tracker.core import services
from tracker.core.models import Implementation
from tracker.core.permissions import access_for
from tracker.webhooks import endpoints

ALL_EVENTS = [
    "report.submitted",
    "report.validated",
    "report.returned",
    "implementation.changed",
    "cycle.moved",
    "outcome.recorded",
    "commitment.due",
    "commitment.late",
]


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float

    def verify(self, secret):
        """What the standardwebhooks library reads from the request; it raises if the signature does not hold."""
        return Webhook(secret).verify(self.body, self.headers)

    @property
    def payload(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """A partner's webhook receiver: http.server on 127.0.0.1 in threads, recording every request it gets.

    `answers` are (status, delay in seconds) for the next requests, in order; then 200 at once."""

    port: int = field(default_factory=free_port)
    requests: list = field(default_factory=list)
    answers: list = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/tracker"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append(Received(self.path, headers, body, time.monotonic()))
                status, delay = receiver.answers.pop(0) if receiver.answers else (200, 0)
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok" if status < 300 else b"not now")
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.requests) >= count

    def of_type(self, event_type):
        return [request for request in self.requests if request.payload["type"] == event_type]


def partner(code="unhcr-partner", secretariat=False, **extra):
    system = ensure_partner(code, code.upper(), secretariat_level=secretariat)
    for name, value in extra.items():
        setattr(system, name, value)
    system.save()
    return system


def endpoint_for(system, url, events=None, states=()):
    """An endpoint registered as the API registers it; limited to `states` (ISO codes) if given."""
    return endpoints.register(system, frozenset(), url=url, events=events or ALL_EVENTS, member_states=list(states))


def item(iso_code, reference="R1"):
    return Implementation.objects.select_related("recommendation__meeting", "member_state").get(
        recommendation__reference=reference, member_state__iso_code=iso_code
    )


def report(user, iso_code, progress=40, reference="R1"):
    data = services.ReportInput(status="in_progress", progress=progress, narrative="Draft law sent to parliament.")
    return services.submit_report(item(iso_code, reference), user, access_for(user), data)
