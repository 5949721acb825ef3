"""A reminder e-mail as it goes over SMTP: its envelope and its bytes, written directly.

Django's `EmailMessage.message().as_bytes()` builds a tree of MIME objects, then folds every header of every
part through `email.header`: about 2 ms an e-mail, more than composing it, and `sanitize_address` parses each
address again for the envelope. A reminder is always the same shape (text/plain and text/html alternatives
in UTF-8, a handful of headers), so `envelope` writes that shape straight into bytes, with the rules Django
applies: header values on one line (header injection), RFC 2047 words for non-ASCII text, folding past 78
characters, quoted-printable for a body line longer than SMTP's 998 octets. Any other e-mail (attachments,
other alternatives, another charset) goes through Django's path unchanged.

Django's `message()` stays what the other backends and the tests read; tests/reminders/test_wire.py checks
that both read the same.
"""

import re
import secrets
from base64 import b64encode
from email.utils import formatdate, getaddresses, make_msgid
from functools import lru_cache
from quopri import encodestring

from django.conf import settings
from django.core.mail.message import DNS_NAME, BadHeaderError, sanitize_address

MAX_LINE = 78  # RFC 5322's recommended length, which Django's generator folds to
SMTP_LINE_LIMIT = 998  # octets, without the CRLF (RFC 5321)
ADDRESS_HEADERS = ("From", "To", "Cc", "Reply-To")
ENCODED_WORD_OVERHEAD = len("=?utf-8?b??=")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# An ASCII address with no display name, which sanitize_address would give back unchanged.
PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")


def is_lean(message):
    """The shape written here: a UTF-8 text body with one HTML alternative, nothing attached."""
    charset = (message.encoding or settings.DEFAULT_CHARSET).lower()
    alternatives = getattr(message, "alternatives", [])
    return (
        charset in ("utf-8", "utf8")
        and message.content_subtype == "plain"
        and not message.attachments
        and len(alternatives) == 1
        and alternatives[0][1] == "text/html"
        and getattr(message, "alternative_subtype", "alternative") == "alternative"
    )


def envelope(message):
    """(sender, recipients, bytes) for smtplib's sendmail, as Django's SMTP backend would hand them over."""
    sender = envelope_address(message.from_email)
    recipients = [envelope_address(address) for address in message.recipients()]
    if not is_lean(message):
        return sender, recipients, message.message().as_bytes(linesep="\r\n")
    return sender, recipients, as_bytes(message)


def envelope_address(address):
    return address if PLAIN_ADDRESS.fullmatch(address) else _sanitized(address)


@lru_cache(maxsize=64)  # DEFAULT_FROM_EMAIL, on every e-mail
def _sanitized(address):
    return sanitize_address(address, "utf-8")


def as_bytes(message):
    html, _mimetype = message.alternatives[0]
    text_part, html_part = _part("plain", message.body), _part("html", html)
    boundary = _boundary(text_part + html_part)
    head = [f'Content-Type: multipart/alternative; boundary="{boundary}"', "MIME-Version: 1.0"]
    head += [_header(name, value) for name, value in _headers(message)]
    delimiter = f"--{boundary}".encode()
    return b"\r\n".join(
        [
            "\r\n".join(head).encode("ascii"),
            b"",
            delimiter,
            text_part,
            delimiter,
            html_part,
            delimiter + b"--",
            b"",
        ]
    )


def _headers(message):
    """The top-level headers in Django's order, each (name, value)."""
    extra = message.extra_headers
    names = {name.lower() for name in extra}
    yield "Subject", message.subject
    yield "From", extra.get("From", message.from_email)
    for name, values in (("To", message.to), ("Cc", message.cc), ("Reply-To", message.reply_to)):
        value = extra.get(name) or ", ".join(str(v) for v in values)
        if value:
            yield name, value
    if "date" not in names:
        yield "Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
    if "message-id" not in names:
        yield "Message-ID", make_msgid(domain=DNS_NAME)
    for name, value in extra.items():
        if name.lower() not in {"from", "to", "cc", "reply-to"}:
            yield name, value


def _header(name, value):
    value = str(value)
    if "\n" in value or "\r" in value:
        raise BadHeaderError(f"Header values can't contain newlines (got {value!r} for header {name!r})")
    if not value.isascii():
        if name in ADDRESS_HEADERS:
            value = ", ".join(sanitize_address(address, "utf-8") for address in getaddresses([value]))
        else:
            return _encoded_words(name, value)
    return _folded(f"{name}:", value.split(" "))


def _encoded_words(name, value):
    """RFC 2047 words (base64 of whole UTF-8 characters), one a line of at most 78, the first after "Name: ".
    Decoders join adjacent words without a space, so the value (an Arabic subject) decodes exactly; the same
    words as email.header's, which takes 0.3 ms a subject."""
    words, chunk, octets, room = [], [], 0, MAX_LINE - len(name) - 2
    for char in value:
        size = len(char.encode("utf-8"))
        if chunk and ENCODED_WORD_OVERHEAD + 4 * -(-(octets + size) // 3) > room:
            words.append(_encoded_word(chunk))
            chunk, octets, room = [], 0, MAX_LINE - 1
        chunk.append(char)
        octets += size
    words.append(_encoded_word(chunk))
    return f"{name}: " + "\r\n ".join(words)


def _encoded_word(chars):
    return f"=?utf-8?b?{b64encode(''.join(chars).encode('utf-8')).decode('ascii')}?="


def _folded(line, words):
    """ "Name:" and the value's words on lines of at most 78 characters, each further line starting with the space
    it was split at (unfolding restores the value); a word longer than a line gets a line of its own."""
    lines = []
    for word in words:
        if len(line) + 1 + len(word) > MAX_LINE and line.strip():
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    return "\r\n".join([*lines, line])


def _part(subtype, content):
    """One alternative: its headers and its body, 7bit or 8bit as Django sends it, quoted-printable when a line
    would be longer than SMTP allows."""
    body = content.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    if len(body) > SMTP_LINE_LIMIT and max(map(len, body.split(b"\n"))) > SMTP_LINE_LIMIT:
        encoding, body = "quoted-printable", encodestring(body)
    else:
        encoding = "7bit" if content.isascii() else "8bit"
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return head.encode("ascii") + body.replace(b"\n", b"\r\n")


def _boundary(content):
    """A boundary that the content does not contain (random: a clash is all but impossible, but checked)."""
    while True:
        boundary = f"==============={secrets.token_hex(12)}=="
        if boundary.encode() not in content:
            return boundary
