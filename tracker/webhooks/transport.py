"""One POST to an endpoint, with Python's own http.client (nothing else is in the production image).

No redirect is followed (a 3xx is an answer like any other: not delivered), no proxy from the environment is
used, and the connection goes to the address tracker.webhooks.addresses checked, while the TLS certificate and
the Host header are those of the URL's host name.
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from tracker.webhooks.addresses import Refused, resolve

#: The most of an answer that is read (and the start kept in the log): a receiver need say no more than "ok".
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "WorkshopRecommendationTracker-Webhooks/1.0"


@dataclass
class Answer:
    status_code: int | None = None
    response_ms: int | None = None
    error: str = ""
    excerpt: str = ""

    @property
    def delivered(self):
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url, body, headers, timeout):
    """POST `body` (bytes) to `url`: an Answer with the status and the time to the answer, or the error."""
    parts = urlsplit(url)
    started = time.monotonic()
    try:
        host, port, address = resolve(url)
    except Refused as error:
        return Answer(error=str(error))
    connection = _connection(parts.scheme, host, port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers})
        response = connection.getresponse()
        elapsed = _ms_since(started)
        excerpt = _read_some(response, started, timeout)
        return Answer(status_code=response.status, response_ms=elapsed, excerpt=excerpt)
    except TimeoutError:
        return Answer(response_ms=_ms_since(started), error=_("No answer within %(seconds)s s.") % {"seconds": timeout})
    except (OSError, http.client.HTTPException) as error:
        return Answer(response_ms=_ms_since(started), error=f"{type(error).__name__}: {error}"[:1000])
    finally:
        connection.close()


def _connection(scheme, host, port, address, timeout):
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def connect_to_checked_address(_host_and_port, connect_timeout=None, source_address=None):
        return socket.create_connection((address, port), connect_timeout, source_address)

    connection._create_connection = connect_to_checked_address
    return connection


def _read_some(response, started, timeout):
    """The start of the answer's body, read for at most the timeout (a receiver that trickles is cut off)."""
    chunks, size = [], 0
    try:
        while size < MAX_ANSWER_BYTES and time.monotonic() - started < 2 * timeout:
            chunk = response.read1(8192) if hasattr(response, "read1") else response.read(8192)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, http.client.HTTPException):
        pass  # the status is what counts; the body is for the log
    return b"".join(chunks)[:500].decode("utf-8", errors="replace")


def _ms_since(started):
    return int((time.monotonic() - started) * 1000)
