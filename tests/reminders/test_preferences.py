"""Choosing which reminders one receives (issue 18): the digests may be turned off, from the preferences page or in
one click from the e-mail (RFC 8058), by users and by addresses without an account; deadline and commitment
reminders and the copies of escalated ones cannot. The planner respects the choice, and the sender's re-check
cancels an e-mail planned before it."""

import datetime as dt
from urllib.parse import urlparse

import pytest
import time_machine
from django.core import mail, signing
from django.db import IntegrityError, transaction
from django.test import Client

from tests.reminders.helpers import DEADLINE, local, open_cycle
from tests.reminders.test_commitments import MAILBOX, commit, unhcr
from tests.reminders.test_email_headers import emails_on, on, to
from tests.support.bad_input import NUL
from tracker.core.models import Commitment, ReminderOptOut
from tracker.core.reminder_preferences import SALT, BadLink, Link, Recipient
from tracker.reminders import policy, sending
from tracker.reminders.models import Reminder

pytestmark = pytest.mark.django_db
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
Kind = Reminder.Kind


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://tracker.example.org"


def link_of(message):
    """The path of the e-mail's one-click link (the List-Unsubscribe header's URL)."""
    return urlparse(message.extra_headers["List-Unsubscribe"][1:-1]).path


def kinds_due(day):
    with time_machine.travel(local(day), tick=False):
        rows = policy.due().rows.values()
    return {(row.addressee if isinstance(row.addressee, str) else row.addressee.username, row.kind) for row in rows}


def anonymous():
    """A mail provider's one-click POST: no session, no CSRF cookie (RFC 8058)."""
    return Client(enforce_csrf_checks=True)


# --- the planner respects the choice ------------------------------------------------------------------------------


def test_it_plans_no_monthly_digest_for_a_focal_point_who_turned_it_off(reference, egypt_focal_point, egypt_alternate):
    open_cycle(reference)
    Recipient.of(egypt_focal_point.pk).choose({Kind.STALLED_DIGEST: False})
    due = kinds_due(on(14))
    assert ("fp-egypt", Kind.STALLED_DIGEST) not in due
    assert ("fp-egypt", Kind.OVERDUE) in due  # a deadline reminder: never silenced
    assert ("fp-egypt-alt", Kind.STALLED_DIGEST) in due  # the alternate's own choice


def test_it_cancels_a_planned_digest_when_its_recipient_turns_it_off_before_it_leaves(reference, egypt_focal_point):
    open_cycle(reference)
    with time_machine.travel(local(on(1)), tick=False):
        policy.plan()
        assert Reminder.objects.filter(kind=Kind.STALLED_DIGEST).count() == 1
        Recipient.of(egypt_focal_point.pk).choose({Kind.STALLED_DIGEST: False})
        sending.send_due()
    digest = Reminder.objects.get(kind=Kind.STALLED_DIGEST)
    assert digest.state == Reminder.State.CANCELLED
    assert [m.extra_headers["X-Reminder-Kind"] for m in mail.outbox] == []


def test_it_sends_the_digest_again_once_turned_back_on(reference, egypt_focal_point):
    open_cycle(reference)
    recipient = Recipient.of(egypt_focal_point.pk)
    recipient.choose({Kind.STALLED_DIGEST: False})
    recipient.choose({Kind.STALLED_DIGEST: True})
    assert ("fp-egypt", Kind.STALLED_DIGEST) in kinds_due(on(1))


def test_it_cannot_store_an_opt_out_of_a_deadline_or_commitment_reminder(reference, egypt_focal_point):
    for kind in (Kind.BEFORE_DEADLINE, Kind.OVERDUE, Kind.COMMITMENT_DUE, Kind.COMMITMENT_LATE, "copy"):
        with transaction.atomic(), pytest.raises(IntegrityError):
            ReminderOptOut.objects.create(user=egypt_focal_point, kind=kind)
    assert Recipient.of(egypt_focal_point.pk).turn_off([Kind.OVERDUE, Kind.COMMITMENT_LATE]) == []
    assert not ReminderOptOut.objects.exists()


def test_it_stores_one_opt_out_however_often_it_is_asked(reference, egypt_focal_point):
    recipient = Recipient.of(egypt_focal_point.pk)
    for _ in range(3):
        assert recipient.turn_off([Kind.STALLED_DIGEST, Kind.OVERDUE]) == [Kind.STALLED_DIGEST]
    assert ReminderOptOut.objects.count() == 1


# --- one click, from the e-mail ---------------------------------------------------------------------------------


def test_it_unsubscribes_from_the_monthly_digest_in_one_click_without_signing_in(reference, egypt_focal_point):
    open_cycle(reference)
    [digest] = to(emails_on(on(1)), "fp-egypt@example.org")
    assert digest.extra_headers["X-Reminder-Kind"] == Kind.STALLED_DIGEST
    response = anonymous().post(link_of(digest), ONE_CLICK)
    assert response.status_code == 200
    assert Recipient.of(egypt_focal_point.pk).turned_off() == {Kind.STALLED_DIGEST}
    assert ("fp-egypt", Kind.STALLED_DIGEST) not in kinds_due(on(12))  # January's digest is not planned
    assert anonymous().post(link_of(digest), ONE_CLICK).status_code == 200  # again: still done, no error


def test_it_answers_clearly_that_a_deadline_reminder_cannot_be_turned_off(reference, jordan_focal_point):
    open_cycle(reference)
    [before] = to(emails_on(on(-3)), "fp-jordan@example.org")
    response = anonymous().post(link_of(before), ONE_CLICK, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    page = response.content.decode()
    assert "cannot be turned off" in page
    assert not ReminderOptOut.objects.exists()


def test_it_turns_off_only_the_digest_of_an_email_that_also_holds_deadline_reminders(reference, jordan_focal_point):
    open_cycle(reference)
    [both] = to(emails_on(dt.date(2027, 1, 1)), "fp-jordan@example.org")  # overdue and January's digest
    response = anonymous().post(link_of(both), ONE_CLICK, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "cannot be turned off" in response.content.decode()  # and says the overdue reminders still come
    assert Recipient.of(jordan_focal_point.pk).turned_off() == {Kind.STALLED_DIGEST}


def test_it_lets_no_copied_reader_turn_off_the_recipients_digest(reference, egypt_focal_point, egypt_alternate):
    """Escalated in a new month: the overdue reminder and the digest in one e-mail, the alternate copied."""
    open_cycle(reference)
    [first] = to(emails_on(on(14)), "fp-egypt@example.org")
    assert first.cc == ["fp-egypt-alt@example.org"]
    assert "التوصيات المتعثرة في مصر" in first.body  # the monthly digest's section, which the alternate reads too
    assert anonymous().post(link_of(first), ONE_CLICK).status_code == 400
    assert not ReminderOptOut.objects.exists()


def test_it_lets_the_secretariat_mailbox_turn_off_its_weekly_digest_by_its_link(reference, secretariat_officer):
    reference.secretariat_email = MAILBOX
    reference.save()
    open_cycle(reference)
    [digest] = to(emails_on(on(-20)), MAILBOX)
    assert digest.extra_headers["X-Reminder-Kind"] == Kind.SECRETARIAT_DIGEST and digest.cc == []
    assert anonymous().post(link_of(digest), ONE_CLICK).status_code == 200
    assert ReminderOptOut.objects.get().address == MAILBOX
    due = kinds_due(on(-13))
    assert (MAILBOX, Kind.SECRETARIAT_DIGEST) not in due
    assert ("officer", Kind.SECRETARIAT_DIGEST) in due  # the officers chose nothing


def test_it_tells_a_partner_organisation_to_ask_the_secretariat(reference, secretariat_officer):
    commit(owner=Commitment.Owner.PARTNER, organisation=unhcr(language="en"))
    [partner] = to(emails_on(DEADLINE - dt.timedelta(days=3)), "protection@unhcr.example")
    response = anonymous().post(link_of(partner), ONE_CLICK, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "secretariat" in response.content.decode()
    page = anonymous().get(link_of(partner), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and "cannot be turned off" in page.content.decode()


# --- the link's page, without signing in ---------------------------------------------------------------------------


def test_it_shows_the_links_page_in_the_emails_language_right_to_left(reference, egypt_focal_point):
    open_cycle(reference)
    [digest] = to(emails_on(on(1)), "fp-egypt@example.org")
    response = anonymous().get(link_of(digest), HTTP_ACCEPT_LANGUAGE="en")  # the e-mail was Arabic
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert 'name="stalled_digest"' in page and "checked" in page
    assert "/accounts/login/?next=/preferences/" in page  # every choice, after signing in


def test_it_changes_the_choice_from_the_links_page_with_its_form(reference, jordan_focal_point):
    open_cycle(reference)
    [digest] = to(emails_on(on(1)), "fp-jordan@example.org")
    client = anonymous()
    page = client.get(link_of(digest))
    token = page.cookies["csrftoken"].value
    response = client.post(link_of(digest), {"csrfmiddlewaretoken": token}, follow=True)  # box unticked: off
    assert response.status_code == 200
    assert Recipient.of(jordan_focal_point.pk).turned_off() == {Kind.STALLED_DIGEST}
    client.post(link_of(digest), {"csrfmiddlewaretoken": token, Kind.STALLED_DIGEST: "on"})
    assert Recipient.of(jordan_focal_point.pk).turned_off() == set()


def test_it_refuses_the_links_form_without_its_csrf_token(reference, jordan_focal_point):
    open_cycle(reference)
    [digest] = to(emails_on(on(1)), "fp-jordan@example.org")
    assert anonymous().post(link_of(digest), {}).status_code == 403
    assert not ReminderOptOut.objects.exists()


@pytest.mark.parametrize(
    "token",
    ["garbage", "x" * 5000, f"a{NUL}b", "eyJrIjpbXX0:1a2b3c:abc", "%FF%FE", "..", "-"],
)
def test_it_answers_a_bad_or_altered_link_with_400_not_500(reference, token):
    for method in ("get", "post"):
        response = getattr(anonymous(), method)(f"/preferences/{token}/", ONE_CLICK, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, (method, token)
        assert "This link is not valid" in response.content.decode()


def test_it_answers_the_link_of_an_account_that_is_gone_with_400(reference):
    token = Link(Recipient.of(987654), (Kind.STALLED_DIGEST,), "en").token()
    assert anonymous().post(f"/preferences/{token}/", ONE_CLICK).status_code == 400
    assert not ReminderOptOut.objects.exists()


def test_it_answers_an_altered_signature_with_400(reference, egypt_focal_point):
    token = Link(Recipient.of(egypt_focal_point.pk), (Kind.STALLED_DIGEST,), "ar").token()
    payload, signature = token.rsplit(":", 1)
    forged = Link(Recipient.of(egypt_focal_point.pk + 1), (Kind.STALLED_DIGEST,), "ar").token().rsplit(":", 1)[0]
    assert anonymous().post(f"/preferences/{forged}:{signature}/", ONE_CLICK).status_code == 400
    assert anonymous().post(f"/preferences/{token}/", ONE_CLICK).status_code == 200


def test_it_signs_a_link_as_djangos_signer_does_with_the_current_secret_key(reference, egypt_focal_point, settings):
    link = Link(Recipient.of(egypt_focal_point.pk), (Kind.STALLED_DIGEST,), "ar")
    django_signer = signing.Signer(salt=SALT)
    assert link.token() == django_signer.sign_object({"k": [Kind.STALLED_DIGEST], "l": "ar", "u": egypt_focal_point.pk})
    before = link.token()
    settings.SECRET_KEY = "another-secret-key-" + "x" * 50
    assert link.token() != before  # the signer worked out for the old key is not reused
    assert Link.read(link.token()) == link
    with pytest.raises(BadLink):
        Link.read(before)  # the old key is not a fallback here: its links are refused


# --- the preferences page, signed in --------------------------------------------------------------------------------


def test_it_lets_a_primary_focal_point_turn_off_the_monthly_digest_and_says_what_stays(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    page = client.get("/preferences/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="stalled_digest"' in html and 'name="secretariat_digest"' not in html
    assert "Reminders before a report deadline and when reports are overdue" in html
    assert "cannot be turned off" in html
    response = client.post("/preferences/", {})
    assert response.status_code == 302
    assert Recipient.of(egypt_focal_point.pk).turned_off() == {Kind.STALLED_DIGEST}
    client.post("/preferences/", {Kind.STALLED_DIGEST: "on"})
    assert Recipient.of(egypt_focal_point.pk).turned_off() == set()


def test_it_tells_an_alternate_that_escalated_copies_cannot_be_turned_off(client, egypt_alternate):
    client.force_login(egypt_alternate)
    html = client.get("/preferences/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="stalled_digest"' in html
    assert "Copies of escalated reminders" in html


def test_it_lets_the_secretariat_turn_off_its_weekly_digest(client, reference, egypt_focal_point, secretariat_officer):
    open_cycle(reference)
    client.force_login(secretariat_officer)
    html = client.get("/preferences/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="secretariat_digest"' in html and 'name="stalled_digest"' not in html
    client.post("/preferences/", {})
    assert ("officer", Kind.SECRETARIAT_DIGEST) not in kinds_due(on(-20))


def test_it_sends_an_anonymous_visitor_of_the_preferences_page_to_sign_in(client, reference):
    response = client.get("/preferences/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/preferences/")


def test_it_shows_the_preferences_page_in_arabic_right_to_left(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    html = client.get("/preferences/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in html


def test_it_ignores_unknown_fields_and_odd_values_on_the_preferences_page(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    response = client.post("/preferences/", {"overdue": "", "stalled_digest": f"x{NUL}", "kind": "x" * 5000})
    assert response.status_code == 302
    assert Recipient.of(egypt_focal_point.pk).turned_off() == set()  # any value of a ticked box is "on"


# --- in a real browser: no serious accessibility violation, in English and in Arabic ---------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_it_has_no_serious_accessibility_violations_on_the_reminder_pages(
    phone, live_server, reference, egypt_focal_point, language
):
    from axe_playwright_python.sync_playwright import Axe

    from tests.conftest import PASSWORD
    from tests.support.browser import screenshot, sign_in
    from tracker.core.models import Profile

    open_cycle(reference)
    Profile.objects.create(user=egypt_focal_point, language=language)
    [digest] = to(emails_on(on(1)), "fp-egypt@example.org")
    axe, pages = Axe(), []
    phone.goto(f"{live_server.url}{link_of(digest)}")  # anonymous: the e-mail's language, Arabic
    assert phone.locator("html").get_attribute("dir") == "rtl"
    pages.append(("link", axe.run(phone)))
    phone.locator("input[name=stalled_digest]").uncheck()
    phone.locator("main button[type=submit]").click()
    phone.wait_for_load_state()
    assert Recipient.of(egypt_focal_point.pk).turned_off() == {Kind.STALLED_DIGEST}
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.goto(f"{live_server.url}/preferences/")
    assert phone.locator("html").get_attribute("lang") == language
    assert not phone.locator("input[name=stalled_digest]").is_checked()
    pages.append(("preferences", axe.run(phone)))
    screenshot(phone, f"reminder-preferences-{language}")
    for name, results in pages:
        serious = [v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
        assert serious == [], f"{name}: {serious}"
