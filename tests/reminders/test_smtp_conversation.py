"""The reminders' SMTP conversation (smtp.py) with a real server on loopback, offering PIPELINING or not:
the same replies and exceptions as smtplib's `sendmail`, in fewer round trips where the server allows it."""

import smtplib

import pytest
from django.core.mail import EmailMultiAlternatives

from tests.support.smtp_server import SMTPSink
from tracker.reminders import sending, smtp

FROM, EGYPT, JORDAN = "tracker@example.org", "fp-egypt@example.org", "fp-jordan@example.org"


@pytest.fixture(params=[True, False], ids=["pipelining", "one-command-at-a-time"])
def sink(request):
    with SMTPSink(pipelining=request.param, timeout=5) as server:
        yield server


@pytest.fixture
def backend(sink):
    connection = smtp.EmailBackend(
        host=sink.host, port=sink.port, username="", password="", use_tls=False, use_ssl=False, timeout=5
    )
    yield connection
    connection.abandon()


def reminder(body="R2: no report yet.", to=(EGYPT,), cc=()):
    message = EmailMultiAlternatives("Reminder", body, FROM, list(to), cc=list(cc))
    message.attach_alternative(f"<p>{body}</p>", "text/html")
    return message


def writes_of(backend):
    """Each write of the next conversation (the connection is opened first so that it can be watched)."""
    backend.open()
    backend.connection.ehlo_or_helo_if_needed()
    writes, send = [], backend.connection.send
    backend.connection.send = lambda data: (writes.append(data), send(data))[1]
    return writes


def test_it_hands_mail_rcpt_and_data_over_in_one_write_where_the_server_offers_pipelining(sink, backend):
    writes = writes_of(backend)
    backend.send_one(reminder(to=[EGYPT], cc=[JORDAN]))
    assert sink.count_by_recipient() == {EGYPT: 1, JORDAN: 1}
    # Pipelining: MAIL, both RCPTs and DATA, then the message. Otherwise one write a command, as smtplib does.
    assert len(writes) == (2 if sink.pipelining else 5)
    assert writes[0].startswith(f"MAIL FROM:<{FROM}> SIZE=")


def test_it_keeps_a_line_that_starts_with_a_dot(sink, backend):
    backend.send_one(reminder(body=".R2 first\n..two dots\nlast."))
    [received] = sink.messages
    text = received.get_body(("plain",)).get_content()
    assert text.splitlines() == [".R2 first", "..two dots", "last."]  # the dots doubled on the wire, undone


def test_it_sends_no_data_when_every_recipient_is_refused(sink, backend):
    sink.reject_rcpt(550)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        backend.send_one(reminder())
    assert refused.value.recipients[EGYPT][0] == 550 and not sending.is_temporary(refused.value)
    assert len(sink) == 0


def test_it_delivers_to_the_recipients_accepted_when_one_is_refused(sink, backend):
    sink.reject_rcpt(550, n=1)  # the first RCPT: Egypt's
    backend.send_one(reminder(to=[EGYPT], cc=[JORDAN]))
    assert sink.count_by_recipient() == {JORDAN: 1}


def test_it_calls_a_refusal_at_the_end_of_data_a_temporary_failure_and_goes_on(sink, backend):
    sink.refuse(451, n=1)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        backend.send_one(reminder())
    assert refused.value.smtp_code == 451 and sending.is_temporary(refused.value)
    backend.send_one(reminder(to=[JORDAN]))  # on a new connection: the failed one was abandoned
    assert sink.count_by_recipient() == {JORDAN: 1}


def test_it_calls_a_connection_dropped_after_the_data_an_unknown_outcome(sink, backend):
    sink.drop_after_data()
    with pytest.raises(smtp.UnknownOutcome):
        backend.send_one(reminder())
    assert sink.count_by_recipient() == {EGYPT: 1}  # the server has it: it must not be resent at full speed


def test_it_refuses_an_address_that_would_break_the_command_line(backend):
    message = reminder(to=["fp@example.org>\r\nRCPT TO:<other@example.org"])
    with pytest.raises(ValueError):
        backend.send_one(message)
