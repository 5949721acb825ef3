"""The loopback SMTP server of the fault tests and the benchmark does what each fault says, seen by smtplib."""

import smtplib
import time
from email.message import EmailMessage

import pytest

from tests.support.smtp_server import SMTPSink


def message(to="fp@example.org", subject="Reminder"):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "tracker@example.org", to, subject
    mail.set_content("تذكير: a report is due.")
    return mail


def client(sink, timeout=2.0):
    return smtplib.SMTP(sink.host, sink.port, local_hostname="client.invalid", timeout=timeout)


@pytest.fixture
def sink():
    with SMTPSink() as server:
        yield server


def test_it_accepts_and_records_each_message_with_its_envelope(sink):
    with client(sink) as smtp:
        smtp.send_message(message("FP@Example.org"))
        smtp.send_message(message("other@example.org", subject="Second"))
    assert sink.count_by_recipient() == {"fp@example.org": 1, "other@example.org": 1}
    assert [m["Subject"] for m in sink.messages] == ["Reminder", "Second"]
    assert "تذكير" in sink.messages[0].get_content()
    assert sink.received[0].rcpt_tos == ("FP@Example.org",)


def test_it_delays_the_answer_after_recording_so_a_short_client_timeout_expires(sink):
    sink.delay(1.0)
    smtp = client(sink, timeout=0.3)
    # smtplib reports a reply that does not come in time as a disconnection caused by the socket's timeout.
    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out") as lost:
        smtp.send_message(message())
    assert isinstance(lost.value.__context__, TimeoutError)
    assert sink.count_by_recipient() == {"fp@example.org": 1}, "delivered, though the client gave up"


def test_it_drops_the_connection_after_data_of_the_next_message_only(sink):
    sink.drop_after_data()
    with client(sink) as smtp, pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.send_message(message())
    with client(sink) as smtp:
        smtp.send_message(message("next@example.org"))
    assert sink.count_by_recipient() == {"fp@example.org": 1, "next@example.org": 1}


def test_it_answers_late_only_the_next_n_messages(sink):
    sink.answer_late(0.4, n=1)
    with client(sink) as smtp:
        started = time.monotonic()
        smtp.send_message(message("late@example.org"))
        late = time.monotonic() - started
        started = time.monotonic()
        smtp.send_message(message("prompt@example.org"))
        prompt = time.monotonic() - started
    assert late >= 0.4 > prompt
    assert len(sink) == 2


def test_it_refuses_at_the_end_of_data_without_recording_until_cleared(sink):
    sink.refuse(451)
    with client(sink) as smtp:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.send_message(message())
            assert refused.value.smtp_code == 451
        sink.clear()
        smtp.send_message(message("after@example.org"))
    assert sink.count_by_recipient() == {"after@example.org": 1}


def test_it_rejects_recipients_at_rcpt(sink):
    sink.reject_rcpt(550, n=1)
    with client(sink) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.send_message(message("nobody@example.org"))
        assert refused.value.recipients["nobody@example.org"][0] == 550
        smtp.send_message(message())
    assert sink.count_by_recipient() == {"fp@example.org": 1}


def test_it_goes_down_and_comes_back_up_on_the_same_port(sink):
    port = sink.port
    sink.down()
    with pytest.raises(ConnectionRefusedError):
        client(sink, timeout=1)
    sink.up()
    assert sink.port == port
    with client(sink) as smtp:
        smtp.send_message(message())
    assert len(sink) == 1


def test_it_cuts_open_connections_when_going_down(sink):
    smtp = client(sink)
    sink.down()
    with pytest.raises(smtplib.SMTPServerDisconnected):
        smtp.send_message(message())
    smtp.close()
    sink.up()
    assert len(sink) == 0


def test_it_simulates_a_slow_server_from_the_constructor():
    with SMTPSink(per_message_seconds=0.3) as sink, client(sink) as smtp:
        started = time.monotonic()
        smtp.send_message(message())
        assert time.monotonic() - started >= 0.3
        sink.clear()
        started = time.monotonic()
        smtp.send_message(message())
        assert time.monotonic() - started < 0.3


def test_it_points_django_at_itself(sink, settings):
    from django.core.mail import send_mail

    sink.settings(settings)
    send_mail("Subject", "Body", "tracker@example.org", ["fp@example.org"])
    assert sink.count_by_recipient() == {"fp@example.org": 1}
    assert sink.env()["EMAIL_PORT"] == str(sink.port)


def test_it_stops_its_thread_even_when_stopped_twice():
    sink = SMTPSink().start()
    thread = sink._controller._thread
    sink.stop()
    sink.stop()
    assert not thread.is_alive() and not sink.running


def test_it_hands_over_what_it_received_and_forgets_it(sink):
    with client(sink) as smtp:
        smtp.send_message(message("fp@example.org"))
        [taken] = sink.take()
        smtp.send_message(message("other@example.org"))
    assert taken.rcpt_tos == ("fp@example.org",)
    assert sink.count_by_recipient() == {"other@example.org": 1}  # only what came after


@pytest.mark.parametrize("pipelining", [True, False])
def test_it_offers_pipelining_unless_told_not_to(pipelining):
    with SMTPSink(pipelining=pipelining) as server, client(server) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("pipelining") == pipelining
