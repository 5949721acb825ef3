"""What the e-mails say: language, direction, subjects, reasons, links; one e-mail per recipient per run."""

import datetime as dt

import pytest
import time_machine
from django.core import mail

from tests.conftest import designate, make_user
from tests.reminders.helpers import DEADLINE, items_of, local, open_cycle, save_a_draft
from tracker.core.permissions import FOCAL_POINT_GROUP
from tracker.reminders import policy, sending
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db


def html_of(message):
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def run_on(offset):
    with time_machine.travel(local(DEADLINE + dt.timedelta(days=offset)), tick=False):
        return sending.run()


def to(address):
    return [m for m in mail.outbox if m.to == [address]]


def test_it_writes_to_an_arabic_focal_point_in_arabic_right_to_left(reference, egypt_focal_point, settings):
    settings.SITE_URL = "https://tracker.example.org"
    open_cycle(reference)
    save_a_draft(egypt_focal_point)
    run_on(-3)
    [message] = to("fp-egypt@example.org")
    html = html_of(message)
    assert message.subject == "تذكير: تقارير التقدم مطلوبة قبل 20 ديسمبر، 2026"
    assert '<html lang="ar" dir="rtl">' in html
    first = items_of(egypt_focal_point)[0]
    assert f'href="https://tracker.example.org/items/{first.pk}/"' in html
    assert f"https://tracker.example.org/items/{first.pk}/" in message.body
    assert "توجد مسودة محفوظة لكنها لم تُقدَّم بعد" in message.body  # why this item is listed
    assert message.body.count("لم يُقدَّم تقرير تقدم في هذه الدورة") == len(items_of(egypt_focal_point))
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    for part in (message.body, html):  # greeting and footer, translated in both parts
        assert "السيد/السيدة Ahmed، تحية طيبة،" in part
        assert "تصلكم هذه الرسالة بصفتكم نقطة اتصال وطنية معيّنة." in part
        assert "نظام متابعة توصيات ورش العمل" in part


def test_it_escapes_names_in_the_html_part_only(reference, egypt_focal_point):
    egypt_focal_point.first_name = "Ahmed <b>&"
    egypt_focal_point.save()
    open_cycle(reference)
    run_on(-3)
    [message] = to("fp-egypt@example.org")
    assert "Ahmed &lt;b&gt;&amp;" in html_of(message) and "<b>" not in html_of(message)
    assert "Ahmed <b>&" in message.body  # plain text stays plain


def test_it_writes_to_an_english_focal_point_in_english_left_to_right(reference, jordan_focal_point):
    open_cycle(reference)
    run_on(-14)
    [message] = to("fp-jordan@example.org")
    assert message.subject == "Reminder: progress reports due by Dec. 20, 2026"
    assert '<html lang="en" dir="ltr">' in html_of(message)
    assert "These items of Jordan have no submitted progress report in this cycle yet:" in message.body
    assert "Why: No progress report submitted in this cycle" in message.body


def test_it_sends_one_email_per_recipient_per_run_with_a_section_per_reminder(reference, egypt_focal_point):
    open_cycle(reference)
    run_on(8)  # stalled since the deadline: December's digest is due too, and the first overdue round
    mail.outbox.clear()
    Reminder.objects.all().delete()
    with time_machine.travel(local(dt.date(2027, 1, 1)), tick=False):
        sending.run()  # a new month: the stalled digest and the overdue reminder of the same day
    [message] = to("fp-egypt@example.org")
    assert message.subject.startswith("متأخر")  # the most urgent section gives the subject
    assert "الملخص" not in message.subject
    assert "التوصيات المتعثرة في مصر" in message.body
    assert "انقضى الموعد النهائي دون تقرير في هذه الدورة" in message.body  # the stalled reason
    assert set(Reminder.objects.filter(recipient=egypt_focal_point).values_list("kind", "state")) == {
        ("overdue", "sent"),
        ("stalled_digest", "sent"),
    }


def test_it_lists_what_is_missing_state_by_state_for_the_secretariat(
    reference, egypt_focal_point, jordan_focal_point, secretariat_officer
):
    open_cycle(reference)
    run_on(-20)
    [message] = to("officer@example.org")
    assert message.subject == "Weekly digest of AIMC, week of Nov. 30, 2026: missing progress reports"
    assert "Egypt — items without a report: 7" in message.body
    assert "Jordan — items without a report: 7" in message.body
    assert "Member states without an active focal point: Algeria, Bahrain" in message.body
    assert "Egypt" not in message.body.split("without an active focal point")[1]


def test_it_composes_a_batch_with_a_constant_number_of_queries(
    reference, django_assert_max_num_queries, egypt_focal_point, jordan_focal_point
):
    for iso in ["MA", "TN", "IQ", "LB", "OM", "QA"]:
        designate(make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP), iso, reference)
    open_cycle(reference)
    with time_machine.travel(local(DEADLINE - dt.timedelta(days=3)), tick=False):
        policy.plan()
        plan = policy.due()
        ids = sending.claim(500)
        result = sending.Result()
        # 8 e-mails: the batch's loading queries plus one "mark sent" per e-mail, never per item or per row.
        with django_assert_max_num_queries(8 + 8):
            sending.send_batch(ids, plan, result)
    assert result.sent == 8
