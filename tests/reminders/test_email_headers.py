"""What every reminder e-mail carries besides its text (issue 18, "The e-mails"): one-click unsubscribe (RFC 2369,
RFC 8058) and a link to the preferences page, a Message-ID of the sender's domain, copies in each reader's
language, subjects that say which digest, body and period they are, Arabic subjects that decode exactly, and
Arabic plain text that reads right to left."""

import datetime as dt
import email
import email.policy
import os
import subprocess
import sys
from collections import defaultdict
from urllib.parse import urlparse

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import signing

from tests.conftest import designate, make_user
from tests.reminders.helpers import DEADLINE, local, open_cycle
from tests.reminders.test_commitments import MAILBOX, commit, unhcr
from tests.support.services import ROOT
from tracker.core.models import Body, Commitment, Meeting, MemberState, Profile, Recommendation, ReviewCycle
from tracker.core.permissions import FOCAL_POINT_GROUP, SECRETARIAT_GROUP
from tracker.reminders import policy
from tracker.reminders.compose import BatchContent, compose, compose_messages
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db
RLM = "\u200f"
SITE = "https://tracker.example.org"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "Recommendation tracker <tracker@aimc.example.org>"


def group_rows(rows):
    groups = defaultdict(list)
    for row in rows:
        groups[(row.recipient_id, row.recipient_email)].append(row)
    return list(groups.values())


def copied(rows, plan):
    """What the sender copies: every address planned for the rows, but the recipient's own."""
    addresses = {address for row in rows for address in plan.planned(row).cc}
    return sorted(addresses - {rows[0].address})


def emails_on(day, kinds=None):
    """Every e-mail due on `day` (of these kinds), composed as the sender does: to each recipient, then the copies."""
    with time_machine.travel(local(day), tick=False):
        plan = policy.due()
        rows = [row for row in plan.rows.values() if kinds is None or row.kind in kinds]
        content = BatchContent(rows, plan)
        return [m for group in group_rows(rows) for m in compose_messages(group, content, copied(group, plan))]


def on(offset):
    return DEADLINE + dt.timedelta(days=offset)


def parsed(message):
    """The message as a receiving client reads it: the raw bytes, parsed by the standard library's modern policy."""
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def text_and_html(message):
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return message.body, html


def to(messages, address):
    return [m for m in messages if m.to == [address]]


@pytest.fixture
def busy_day(reference, egypt_focal_point, egypt_alternate, jordan_focal_point, secretariat_officer):
    """Two weeks overdue (escalated, with the monthly digest and the weekly one) plus commitments of every owner."""
    reference.secretariat_email = MAILBOX
    reference.save()
    open_cycle(reference)
    commit("EG", due=on(14) - dt.timedelta(days=7))  # late, not yet escalated
    commit("JO", owner=Commitment.Owner.PARTNER, organisation=unhcr(language="ar"), due=on(14) + dt.timedelta(days=3))
    return on(14)


# --- 1. List-Unsubscribe, one click, and the footer's link -----------------------------------------------------


def test_it_offers_a_one_click_unsubscribe_and_a_preferences_link_on_every_reminder_email(busy_day):
    messages = emails_on(busy_day)
    kinds = {m.extra_headers["X-Reminder-Kind"] for m in messages}
    assert kinds >= {"overdue", "stalled_digest", "secretariat_digest", "commitment_due"}
    assert any(m.cc for m in messages) and any("X-Reminder-Copy-Of" in m.extra_headers for m in messages)
    for message in messages:
        headers = parsed(message)
        # Folded after the colon when long: RFC 2369 has clients skip whitespace before the "<".
        unsubscribe = headers["List-Unsubscribe"].strip()
        assert unsubscribe.startswith(f"<{SITE}/preferences/") and unsubscribe.endswith("/>"), unsubscribe
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = unsubscribe[1:-1]
        text, html = text_and_html(message)
        assert url in text, message.to
        assert f'href="{url}"' in html, message.to


def test_it_signs_the_link_for_the_recipient_and_the_kinds_of_the_email(busy_day, egypt_focal_point):
    [jordan] = to(emails_on(busy_day), "fp-jordan@example.org")
    url = jordan.extra_headers["List-Unsubscribe"][1:-1]
    token = urlparse(url).path.split("/")[2]
    payload = signing.Signer(salt="tracker.reminder-preferences").unsign_object(token)
    assert payload["u"] == User.objects.get(username="fp-jordan").pk
    assert set(payload["k"]) >= {"overdue", "stalled_digest"}
    with pytest.raises(signing.BadSignature):
        signing.Signer(salt="tracker.reminder-preferences").unsign_object(token[:-2] + "xx")
    with pytest.raises(signing.BadSignature):
        signing.Signer().unsign_object(token)  # salted: a token of another feature is never one of these


def test_it_points_the_header_of_an_address_without_an_account_to_that_address(busy_day):
    messages = emails_on(busy_day)
    [mailbox_digest] = [m for m in to(messages, MAILBOX) if m.extra_headers["X-Reminder-Kind"] == "secretariat_digest"]
    [partner] = to(messages, "protection@unhcr.example")
    for message, address in ((mailbox_digest, MAILBOX), (partner, "protection@unhcr.example")):
        token = urlparse(message.extra_headers["List-Unsubscribe"][1:-1]).path.split("/")[2]
        assert signing.Signer(salt="tracker.reminder-preferences").unsign_object(token)["a"] == address


# --- 2. Message-ID and sender -----------------------------------------------------------------------------------


def test_it_names_the_senders_domain_in_the_message_id_and_sends_from_default_from_email(busy_day):
    for message in emails_on(busy_day):
        headers = parsed(message)
        assert headers["Message-ID"].endswith("@aimc.example.org>"), headers["Message-ID"]
        assert headers["From"] == "Recommendation tracker <tracker@aimc.example.org>"
        assert message.from_email == "Recommendation tracker <tracker@aimc.example.org>"


def test_it_gives_each_email_its_own_message_id(busy_day):
    ids = [parsed(m)["Message-ID"] for m in emails_on(busy_day)]
    assert len(ids) == len(set(ids)) > 5


def start(**env):
    """Start Django with these settings in a fresh process (the settings are read once, at start-up)."""
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    base.pop("DEFAULT_FROM_EMAIL", None)
    production = {"SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "tracker.example.org"}
    full = {**base, **production, "DJANGO_SETTINGS_MODULE": "project.settings", **env}
    check = "import django; django.setup(); from django.conf import settings; print(settings.DEFAULT_FROM_EMAIL)"
    return subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("sender", ["tracker@localhost", "Tracker <tracker@localhost>", "tracker@mailhost"])
def test_it_refuses_a_sender_without_a_real_domain_in_production(sender):
    result = start(DEBUG="false", DEFAULT_FROM_EMAIL=sender)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DEFAULT_FROM_EMAIL" in result.stderr


def test_it_starts_in_production_with_a_real_sender_and_in_development_with_localhost():
    result = start(DEBUG="false", DEFAULT_FROM_EMAIL="Tracker <tracker@aimc.example.org>")
    assert result.returncode == 0, result.stderr
    result = start(DEBUG="true", DEFAULT_FROM_EMAIL="tracker@localhost")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tracker@localhost"


def test_it_sends_from_the_sites_domain_in_production_when_no_sender_is_set():
    """As CI's `check --deploy` and any deployment that sets SITE_URL but not DEFAULT_FROM_EMAIL."""
    result = start(DEBUG="false", SITE_URL="https://tracker.example.org")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tracker@tracker.example.org"


# --- 3. Copies in each reader's language --------------------------------------------------------------------------


def test_it_writes_each_copy_in_its_readers_language(busy_day):
    """Egypt's primary and alternate read Arabic; the secretariat's mailbox reads its officer's language, English."""
    overdue = [m for m in emails_on(busy_day) if m.extra_headers["X-Reminder-Kind"] == "overdue"]
    [first] = to(overdue, "fp-egypt@example.org")
    assert first.cc == ["fp-egypt-alt@example.org"]  # same language: copied on the recipient's own e-mail
    assert '<html lang="ar" dir="rtl">' in text_and_html(first)[1]
    [copy] = to(overdue, MAILBOX)
    assert copy.cc == [] and copy.extra_headers["X-Reminder-Copy-Of"] == "fp-egypt@example.org"
    text, html = text_and_html(copy)
    assert '<html lang="en" dir="ltr">' in html
    assert copy.subject == "Copy: Overdue: progress reports for Review cycle 2026-2"
    assert "This is a copy of the reminder sent to Ahmed (fp-egypt@example.org)." in text
    assert "You receive it as the secretariat" in text
    assert "These items of Egypt still have no submitted progress report:" in text


def test_it_copies_the_secretariat_on_a_partners_reminder_in_its_own_language(busy_day):
    messages = [m for m in emails_on(busy_day) if m.extra_headers["X-Reminder-Kind"] == "commitment_due"]
    [partner] = to(messages, "protection@unhcr.example")
    assert partner.cc == [] and '<html lang="ar" dir="rtl">' in text_and_html(partner)[1]
    [copy] = to(messages, MAILBOX)
    assert copy.extra_headers["X-Reminder-Copy-Of"] == "protection@unhcr.example"
    assert "This is a copy of the reminder sent to UN Refugee Agency (protection@unhcr.example)." in copy.body


def test_it_puts_readers_of_the_same_language_on_one_copy(busy_day, secretariat_officer):
    """No mailbox: the officers are copied, each in their own language; those who read English share one copy."""
    Body.objects.update(secretariat_email="")
    make_user("officer-2", SECRETARIAT_GROUP, is_staff=True)
    Profile.objects.create(user=make_user("officer-ar", SECRETARIAT_GROUP, is_staff=True), language="ar")
    overdue = [m for m in emails_on(busy_day) if m.extra_headers["X-Reminder-Kind"] == "overdue"]
    [first] = to(overdue, "fp-egypt@example.org")
    assert first.cc == ["fp-egypt-alt@example.org", "officer-ar@example.org"]
    [copy] = [m for m in overdue if m.extra_headers.get("X-Reminder-Copy-Of") == "fp-egypt@example.org"]
    assert copy.to == ["officer-2@example.org", "officer@example.org"]
    assert copy.body.startswith("Dear colleagues,")


def test_it_names_the_alternate_on_a_copy_in_their_language(reference, egypt_focal_point, secretariat_officer):
    alternate = make_user("fp-egypt-alt", FOCAL_POINT_GROUP, first_name="Mona")
    designate(alternate, "EG", reference, role="alternate", language="en")
    open_cycle(reference)
    overdue = [m for m in emails_on(on(14)) if m.extra_headers["X-Reminder-Kind"] == "overdue"]
    [copy] = [m for m in overdue if "X-Reminder-Copy-Of" in m.extra_headers]
    assert copy.to == ["fp-egypt-alt@example.org", "officer@example.org"]
    assert "You receive it as an alternate focal point or as the secretariat." in copy.body


def test_it_keeps_compose_returning_the_email_to_the_recipient(busy_day):
    with time_machine.travel(local(busy_day), tick=False):
        plan = policy.due()
        rows = [r for r in plan.rows.values() if r.recipient_id and r.recipient.username == "fp-egypt"]
        content = BatchContent(rows, plan)
        cc = copied(rows, plan)
        message = compose(rows, content, cc)
        first = compose_messages(rows, content, cc)[0]
    assert (message.to, message.cc, message.subject) == (first.to, first.cc, first.subject)


def test_it_composes_fifty_emails_and_their_copies_without_a_query(
    reference, django_assert_num_queries, secretariat_officer
):
    reference.secretariat_email = MAILBOX
    reference.save()
    states = list(reference.member_states.order_by("iso_code"))[:22]
    for index, state in enumerate(states):
        primary = make_user(f"fp-{state.iso_code.lower()}", FOCAL_POINT_GROUP)
        designate(primary, state.iso_code, reference, language="ar" if index % 2 else "en")
        alternate = make_user(f"alt-{state.iso_code.lower()}", FOCAL_POINT_GROUP)
        designate(alternate, state.iso_code, reference, role="alternate", language="en" if index % 3 else "ar")
    for index in range(4):
        make_user(f"officer-{index}", SECRETARIAT_GROUP, is_staff=True)
    open_cycle(reference)
    with time_machine.travel(local(on(14)), tick=False):
        plan = policy.due()
        policy.plan()
        rows = list(Reminder.objects.select_related("recipient", "body", "member_state", "cycle").order_by("pk"))
        content = BatchContent(rows, plan)
        groups = group_rows(rows)
        assert len(groups) >= 50
        with django_assert_num_queries(0):
            messages = [m for group in groups for m in compose_messages(group, content, copied(group, plan))]
            raw = [m.message().as_bytes() for m in messages]
    assert len(raw) > len(groups)  # the copies in other languages too


# --- 4. Subjects that say which digest, body and period ------------------------------------------------------------


def second_body(*iso_codes):
    """Another body, with one recommendation for its states and an open cycle."""
    body = Body.objects.create(code="mena", acronym_en="MENA-RP", name_en="Regional platform", name_ar="المنصة")
    body.member_states.set(MemberState.objects.filter(iso_code__in=iso_codes))
    meeting = Meeting.objects.create(body=body, code="mena-1", kind="workshop", title_en="Workshop", title_ar="ورشة")
    Recommendation.objects.create(meeting=meeting, reference="M1", text_en="Share data.", text_ar="تبادل البيانات.")
    for recommendation in Recommendation.objects.filter(meeting=meeting):
        recommendation.sync_implementations()
    ReviewCycle.objects.create(
        body=body,
        name_en="Platform cycle 1",
        name_ar="الدورة 1",
        period_start=dt.date(2026, 7, 1),
        period_end=dt.date(2026, 12, 31),
        report_deadline=DEADLINE,
        state=ReviewCycle.State.OPEN,
    )
    return body


def test_it_names_the_body_and_the_week_in_the_weekly_digests_subject(
    reference, egypt_focal_point, secretariat_officer
):
    open_cycle(reference)
    [monday] = to(emails_on(on(-20)), "officer@example.org")  # Monday 30 November
    [wednesday] = to(emails_on(on(-25)), "officer@example.org")  # Wednesday 25 November: the week before
    assert monday.subject == "Weekly digest of AIMC, week of Nov. 30, 2026: missing progress reports"
    assert wednesday.subject == "Weekly digest of AIMC, week of Nov. 23, 2026: missing progress reports"


def test_it_tells_the_weekly_digests_of_two_bodies_apart(reference, egypt_focal_point, secretariat_officer):
    second_body("EG", "JO")
    open_cycle(reference)
    [digest] = to(emails_on(on(-20)), "officer@example.org")  # one e-mail, a section per body
    assert digest.subject == "Weekly digest of AIMC, MENA-RP, week of Nov. 30, 2026: missing progress reports"
    assert "== AIMC: progress reports missing in Review cycle 2026-2 ==" in digest.body
    assert "== MENA-RP: progress reports missing in Platform cycle 1 ==" in digest.body


def test_it_names_the_body_and_the_month_in_the_monthly_digests_subject(reference, jordan_focal_point):
    open_cycle(reference)
    [december] = emails_on(on(1), kinds={"stalled_digest"})
    [january] = emails_on(on(12), kinds={"stalled_digest"})  # without the overdue reminder of that day
    assert december.subject == "Monthly digest of AIMC, December 2026: stalled items of Jordan"
    assert january.subject == "Monthly digest of AIMC, January 2027: stalled items of Jordan"


# --- 5. Subjects that decode exactly ------------------------------------------------------------------------------


def test_it_folds_long_subjects_so_they_decode_exactly(busy_day, reference):
    ReviewCycle.objects.update(name_ar="دورة المراجعة الثانية لعام 2026 لمتابعة توصيات ورشة العمل الإقليمية")
    MemberState.objects.filter(iso_code="EG").update(name_ar="جمهورية مصر العربية الشقيقة")
    messages = emails_on(busy_day)
    assert any(len(m.subject) > 60 and not m.subject.isascii() for m in messages)
    for message in messages:
        raw = message.message().as_bytes()
        assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == message.subject, raw[:400]
        assert all(len(line) <= 998 for line in raw.split(b"\n"))


# --- 6. Arabic plain text reads right to left -------------------------------------------------------------------


def test_it_marks_each_arabic_plain_text_line_right_to_left(busy_day):
    messages = emails_on(busy_day)
    [arabic] = [m for m in to(messages, "fp-egypt@example.org")]
    lines = [line for line in arabic.body.split("\n") if line.strip()]
    starting_with_a_reference = [line for line in lines if line.lstrip(RLM + " *").startswith("R")]
    assert starting_with_a_reference and all(line.startswith(RLM) for line in starting_with_a_reference)
    assert all(line.startswith(RLM) for line in lines if "https://" in line)
    assert all(line.startswith(RLM) for line in lines)
    [english] = to(messages, "fp-jordan@example.org")
    assert RLM not in english.body
    assert RLM not in text_and_html(arabic)[1]  # the HTML part has dir="rtl"
