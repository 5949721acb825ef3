"""The bytes the reminders' SMTP backend writes itself (tracker/reminders/wire.py) read exactly as Django's: same
headers, same parts, same envelope, whatever the language, the length of the subject or of a line."""

import email
import email.policy

import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import BadHeaderError, sanitize_address

from tests.reminders.test_email_headers import busy_day, emails_on, site  # noqa: F401 (fixtures)
from tracker.core.models import MemberState, ReviewCycle
from tracker.reminders import wire
from tracker.reminders.compose import ReminderEmail

pytestmark = pytest.mark.django_db
DIFFER = {"date", "content-type"}  # the time it was written; the boundary, random


def read(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def headers(message):
    return [(name.lower(), str(value)) for name, value in message.items() if name.lower() not in DIFFER]


def parts(message):
    return [(part.get_content_type(), part.get_content()) for part in message.iter_parts()]


def assert_reads_like_django(message):
    sender, recipients, raw = wire.envelope(message)
    lean, django = read(raw), read(message.message().as_bytes(linesep="\r\n"))
    assert headers(lean) == headers(django)
    assert lean.get_content_type() == "multipart/alternative"
    assert parts(lean) == parts(django)
    assert sender == sanitize_address(message.from_email, "utf-8")
    assert recipients == [sanitize_address(a, "utf-8") for a in message.recipients()]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    return lean


def test_it_writes_every_email_of_a_busy_day_as_django_would(busy_day):  # noqa: F811
    ReviewCycle.objects.update(name_ar="دورة المراجعة الثانية لعام 2026 لمتابعة توصيات ورشة العمل الإقليمية")
    MemberState.objects.filter(iso_code="EG").update(name_ar="جمهورية مصر العربية الشقيقة")
    messages = emails_on(busy_day)
    assert any(not m.subject.isascii() for m in messages) and any(m.cc for m in messages)
    for message in messages:
        lean = assert_reads_like_django(message)
        assert lean["Subject"] == message.subject
        assert lean["List-Unsubscribe"].strip() == message.extra_headers["List-Unsubscribe"]


def reminder(body="Hello.\n", html="<p>Hello.</p>\n", **kwargs):
    kwargs.setdefault("headers", {})["Message-ID"] = "<1@aimc.example.org>"
    message = ReminderEmail(
        kwargs.pop("subject", "Reminder"), body, "Tracker <tracker@aimc.example.org>", ["fp@example.org"], **kwargs
    )
    message.attach_alternative(html, "text/html")
    return message


def test_it_quotes_a_line_longer_than_smtp_allows_and_it_decodes_the_same():
    long_line = "تذكير " * 400  # 2,400 octets in UTF-8
    message = reminder(body=f"Dear all,\n{long_line}\n")
    lean = assert_reads_like_django(message)
    [text, _html] = lean.iter_parts()
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content().replace("\r\n", "\n") == f"Dear all,\n{long_line}\n"  # hard breaks: CRLF


def test_it_names_a_sender_and_copied_people_with_non_ascii_names():
    message = reminder(cc=["أحمد <ahmed@example.org>", "mona@example.org"], subject="Rappel : échéance")
    message.from_email = "المتتبع <tracker@aimc.example.org>"
    lean = assert_reads_like_django(message)
    assert lean["From"].addresses[0].display_name == "المتتبع"
    assert [a.addr_spec for a in lean["Cc"].addresses] == ["ahmed@example.org", "mona@example.org"]


def test_it_refuses_a_header_value_with_a_line_break_as_django_does():
    message = reminder(headers={"X-Reminder-Kind": "overdue\r\nBcc: everyone@example.org"})
    with pytest.raises(BadHeaderError):
        wire.envelope(message)


def test_it_leaves_any_other_shape_of_email_to_django():
    message = EmailMultiAlternatives("Report", "See attached.", "tracker@aimc.example.org", ["fp@example.org"])
    message.attach("report.csv", "a,b\n1,2\n", "text/csv")
    assert not wire.is_lean(message)
    _sender, _recipients, raw = wire.envelope(message)
    assert read(raw).get_content_type() == "multipart/mixed"


def test_it_builds_the_preferences_link_as_reverse_does(settings):
    from django.urls import reverse

    from tracker.core.reminder_preferences import Link, Recipient
    from tracker.reminders.compose import preferences_url

    token = Link(Recipient.of(None, "fp@example.org"), ("overdue",), "ar").token()
    assert preferences_url(token) == f"{settings.SITE_URL}{reverse('reminder_link', kwargs={'token': token})}"
