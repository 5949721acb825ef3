"""The Standard Webhooks headers of one attempt, signed by the maintained `standardwebhooks` library.

`webhook-signature` holds one "v1,<base64 HMAC-SHA256>" per secret, separated by spaces: after a rotation the
previous secret signs too for a day, so a receiver still holding it keeps verifying.
"""

import json
from datetime import UTC, datetime

from standardwebhooks import Webhook


def body_of(payload):
    """The bytes sent: compact JSON, type and timestamp first, the same for every attempt."""
    ordered = {"type": payload["type"], "timestamp": payload["timestamp"], "data": payload["data"]}
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def headers(webhook_id, body, secrets, now):
    """The headers of an attempt made at `now` (any aware datetime)."""
    moment = datetime.fromtimestamp(int(now.timestamp()), tz=UTC)  # the library reads the time as UTC
    text = body.decode("utf-8")
    signatures = [Webhook(secret).sign(webhook_id, moment, text) for secret in secrets]
    return {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
