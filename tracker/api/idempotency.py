"""Idempotency-Key on every POST of the API (draft-ietf-httpapi-idempotency-key-header-06): a POST retried with the
same key is answered as the first time (status, body, ETag, Location) and runs once.

    POST /api/v1/implementations/41/reports/
    Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"

- A key belongs to the client that sent it (its token, or the signed-in user): two partners may use the same key.
- The first request claims the key by inserting its row (tracker.api.models.IdempotencyKey) in a short transaction
  of its own, before it runs: the unique constraint on (client, key) lets one of two racing requests run. A request
  whose key is claimed by one still running is answered 409.
- Once answered, the answer is stored (IdempotencyKeyMiddleware) with a fingerprint of the request: method, path,
  content type, If-Match and a digest of the body: of its bytes, taken as the view reads them (nothing is read
  ahead); of a multipart upload's parts, as the view parsed them, since each try may frame them with another
  boundary. A retry with the same fingerprint gets the stored answer, marked `Idempotent-Replayed: true`; the same
  key on another request is a 422.
- A 5xx answer (and a 429, whose request did not run) is not stored: the key is released, and a retry runs.
- A key is kept API_IDEMPOTENCY_KEY_HOURS (24) from its first use; then it is new again. Expired keys are deleted
  as new ones are claimed. A key whose request never finished (its worker was killed) is free after
  ABANDONED_AFTER.

Where it runs: IdempotencyKeyGate is the last of the API's DEFAULT_THROTTLE_CLASSES. That is the one step DRF takes
for every view, after authentication and permissions and before the handler: every POST endpoint of the API, and
any added later, honours the key, without a line in its view.
"""

import contextlib
import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.throttling import BaseThrottle

from tracker.api.models import IdempotencyKey
from tracker.api.permissions import client_of

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Longer than any request may run (the proxy gives up on one after GUNICORN_TIMEOUT, 60 s): a key still claimed
# after this was abandoned by a killed worker, and a retry may run.
ABANDONED_AFTER = timedelta(minutes=5)
# The headers of an answer that are part of it (the rest are the server's, set again on a replay).
KEPT_HEADERS = ("Content-Type", "ETag", "Location", "Link")
REPLAYED = "Idempotent-Replayed"


class StoredAnswer(Exception):
    """Not an error: the answer to the first request with the key, raised past the view by the gate and sent again
    as it was (tracker.api.exceptions)."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


class InvalidKey(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("Idempotency-Key must be 1 to 255 printable ASCII characters, e.g. a UUID in quotes.")
    default_code = "invalid_idempotency_key"


class KeyInUse(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("A request with this Idempotency-Key is still running: retry it in a moment.")
    default_code = "idempotency_key_in_use"


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was used for a different request: use a new key for a new request.")
    default_code = "idempotency_key_reused"


def key_of(request):
    """The Idempotency-Key: a structured-field string ("..."), or, leniently, the bare value; None without one."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not 0 < len(value) <= MAX_KEY_LENGTH or not all(" " <= char <= "~" for char in value):
        raise InvalidKey()
    return value


def client_name(request):
    client = client_of(request)
    if client.token is not None:
        return f"token:{client.token.pk}"
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return None


class IdempotencyKeyGate(BaseThrottle):
    """Not a rate limit: the gate a keyed POST passes once. Raises what answers a retry instead of running it."""

    def allow_request(self, request, view):
        if request.method != "POST" or over_rate_limit(request):
            return True
        key = key_of(request)
        client = client_name(request) if key is not None else None
        if client is not None:
            request._request.idempotency_claim = claim(client, key, request)
        return True


def over_rate_limit(request):
    """Refused by the rate throttle before this gate: answered 429, the key left alone."""
    standing = getattr(request._request, "api_rate_limit", None)
    return standing is not None and standing.refused


def claim(client, key, request):
    """Claim the key for this request, or raise the answer to a retry: StoredAnswer, KeyReused or KeyInUse."""
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                IdempotencyKey.objects.filter(expires_at__lte=now).delete()  # this key too, if it expired
                row = IdempotencyKey.objects.create(client=client, key=key, started_at=now, expires_at=now + ttl())
        except IntegrityError:
            row = IdempotencyKey.objects.filter(client=client, key=key).first()
        else:
            return Claim(row, request)
        if row is None:  # released since (its answer was a 5xx): claim it again
            continue
        if not row.is_running:
            answer_retry(row, request)
        if take_over_abandoned(row, now):
            return Claim(row, request)
        raise KeyInUse()
    raise KeyInUse()


def ttl():
    return timedelta(hours=settings.API_IDEMPOTENCY_KEY_HOURS)


def take_over_abandoned(row, now):
    """Whether this request took over a claim whose request never finished (one of two racing retries does)."""
    if row.started_at > now - ABANDONED_AFTER:
        return False
    taken = IdempotencyKey.objects.filter(pk=row.pk, status=None, started_at=row.started_at).update(started_at=now)
    return taken == 1


def answer_retry(row, request):
    kind = row.fingerprint.partition(":")[0]
    if fingerprint(request, body_digest(request, kind).finish()) != row.fingerprint:
        raise KeyReused()
    raise StoredAnswer(replay(row))


def replay(row):
    answer = HttpResponse(bytes(row.body), status=row.status)
    for name, value in row.headers.items():
        answer[name] = value
    answer[REPLAYED] = "true"
    return answer


def fingerprint(request, body):
    """The request as far as its answer depends on it, prefixed with how its body was digested: `kind:hex`."""
    kind, digest = body
    media_type = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    length = "" if kind == PARTS else request.META.get("CONTENT_LENGTH") or ""
    parts = [request.method, request.path, media_type, length, request.headers.get("If-Match", ""), digest]
    return f"{kind}:{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()}"[:64]


BYTES, PARTS, UNREAD = "bytes", "parts", "unread"


def body_digest(request, kind=None):
    """How the body is digested: by its bytes; a multipart body (whose boundary a client picks anew for each try)
    by its parts, as the view parsed them. One the view answered without reading (a 404, an upload over its limit) is
    not parsed just for this: by its length, and a retry of it too (`kind`, from the first request's fingerprint)."""
    http_request = request._request
    if (request.META.get("CONTENT_TYPE") or "").lower().startswith("multipart/"):
        return Unread() if kind == UNREAD else PartsDigest(request, parse=kind == PARTS)
    if hasattr(http_request, "_body"):  # already read (e.g. by the CSRF check of a signed-in user)
        return BytesDigest.of_bytes(http_request._body)
    return BytesDigest.reading(http_request)


class BytesDigest:
    """A SHA-256 of the body's bytes, taken as they are read: the view reads the body as it always does (nothing
    is read ahead or held). What it leaves unread is read at the end, up to DATA_UPLOAD_MAX_MEMORY_SIZE (a larger
    body is refused 413 unread; its length is in the fingerprint)."""

    def __init__(self, stream):
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    @classmethod
    def reading(cls, http_request):
        digest = cls(http_request._stream)
        http_request._stream = digest
        return digest

    @classmethod
    def of_bytes(cls, body):
        digest = cls(None)
        digest.digest.update(body)
        return digest

    def read(self, *args):
        return self.digested(self.stream.read(*args))

    def readline(self, *args):
        return self.digested(self.stream.readline(*args))

    def digested(self, chunk):
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def close(self):
        if self.stream is not None:
            self.stream.close()

    def finish(self):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        while self.stream is not None and (limit is None or self.size <= limit) and self.read(64 * 1024):
            pass
        return BYTES, self.digest.hexdigest()


class PartsDigest:
    """A SHA-256 of a multipart body's fields and files, as the view parsed them (a retry's: parsed here)."""

    def __init__(self, request, parse):
        self.request, self.parse = request, parse

    def finish(self):
        if self.parse:
            with contextlib.suppress(Exception):  # unparseable: DRF keeps it empty, as for the first request
                _parsed = self.request.data
        if "_full_data" not in self.request.__dict__:  # the view answered without reading the body
            return Unread().finish()
        digest = hashlib.sha256()
        for name, values in sorted(self.request.data.lists()):
            digest.update(repr((name, [value for value in values if not hasattr(value, "chunks")])).encode())
        try:
            for name, uploads in sorted(self.request.FILES.lists()):
                for upload in uploads:
                    digest.update(repr((name, upload.name, upload.size)).encode())
                    for chunk in upload.chunks():
                        digest.update(chunk)
                    upload.seek(0)
        except (OSError, ValueError):  # a file the view moved away and closed: judged by what could be read
            return Unread().finish()
        return PARTS, digest.hexdigest()


class Unread:
    def finish(self):
        return UNREAD, ""


class Claim:
    """A key claimed by the request running now; settled with its answer."""

    def __init__(self, row, request):
        self.row, self.request = row, request
        self.body = body_digest(request)

    def settle(self, response):
        keys = IdempotencyKey.objects.filter(pk=self.row.pk)
        if response.status_code >= 500 or response.status_code == 429 or response.streaming:
            keys.delete()  # not an answer to give again: a retry runs
            return
        keys.update(
            status=response.status_code,
            fingerprint=fingerprint(self.request, self.body.finish()),
            headers={name: response[name] for name in KEPT_HEADERS if response.has_header(name)},
            body=response.content,
        )


class IdempotencyKeyMiddleware:
    """Stores the answer of a request that claimed a key (after the view, whatever answered: the view, its error
    handler, or Django's for an unhandled error). Innermost, so what it stores is what the view answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        claimed = getattr(request, "idempotency_claim", None)
        if claimed is not None:
            try:
                claimed.settle(response)
            except Exception:  # the request ran: its answer must still reach the client
                log.exception("Idempotency-Key %s: the answer could not be stored", claimed.row)
        return response
