"""Commitments on the focal point pages: "my state" lists what the state owes (late first), the item page shows the
item's commitments, and the owner marks one done with a note and evidence; nothing typed is lost on a refusal."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD
from tests.focal.helpers import PDF_BYTES, as_bytes, fake_pdf, pdf
from tests.support.bad_input import NUL, postgresql_refuses_nul
from tests.support.browser import screenshot, sign_in
from tests.support.commitments import agree, item_of, promise, unhcr
from tracker.core import commitments
from tracker.core.models import Commitment, Evidence
from tracker.core.permissions import access_for
from tracker.focal.dashboard import HOME_COMMITMENTS, PAGE_SIZE

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def done_url(commitment):
    return f"/commitments/{commitment.pk}/done/"


def later(days):
    return datetime.now(UTC) + timedelta(days=days)


# --- "My state" -------------------------------------------------------------------------------------------


def test_it_lists_the_states_open_commitments_late_first_and_marked_late(
    client, secretariat_officer, egypt_focal_point
):
    agree(item_of("EG", "R1"), secretariat_officer, promise("Publish the referral guide", days=30))
    agree(item_of("EG", "R3"), secretariat_officer, promise("Train border officers", days=5))
    agree(item_of("JO", "R1"), secretariat_officer, promise("Jordan's own promise", days=5))
    agree(item_of("EG", "R4"), secretariat_officer, promise("Secretariat workshop", days=1, owner="secretariat"))
    with time_machine.travel(later(10), tick=False):
        page = signed_in(client, egypt_focal_point).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.index("Train border officers") < page.index("Publish the referral guide")
    assert "Jordan's own promise" not in page and "Secretariat workshop" not in page
    cards = page.split('class="item-card commitment-card')[1:3]
    assert "commitment-late" in cards[0] and "Late" in cards[0]
    assert "Late" not in cards[1].split("</li>")[0]
    assert page.count('href="/commitments/') == 2


def test_it_leaves_out_commitments_that_are_no_longer_open(client, secretariat_officer, egypt_focal_point):
    done, dropped = agree(item_of("EG"), secretariat_officer, promise("Done one"), promise("Dropped one"))
    commitments.mark_done(done, egypt_focal_point, access_for(egypt_focal_point), "Finished.")
    commitments.drop(dropped, secretariat_officer, access_for(secretariat_officer), "Overtaken.")
    page = signed_in(client, egypt_focal_point).get("/").content.decode()
    assert "Done one" not in page and "Dropped one" not in page and "commitment-card" not in page


def test_it_shows_a_reviewer_the_commitments_without_a_done_link(client, secretariat_officer, reviewer):
    agree(item_of("EG"), secretariat_officer, promise("Adopt the protocol"))
    page = signed_in(client, reviewer).get("/?state=EG").content.decode()
    assert "Adopt the protocol" in page and "/done/" not in page


def test_it_runs_the_same_number_of_queries_whatever_the_number_of_commitments(
    client, secretariat_officer, egypt_focal_point
):
    agree(item_of("EG"), secretariat_officer)
    signed_in(client, egypt_focal_point).get("/")
    with CaptureQueriesContext(connection) as one:
        client.get("/")
    for reference in ("R1", "R3", "R5"):
        agree(item_of("EG", reference), secretariat_officer, promise(), promise(owner="partner", organisation=unhcr()))
    client.get("/")  # the summary kept per state is counted again once after a change (tests/core/test_memo.py)
    with CaptureQueriesContext(connection) as four:
        assert client.get("/").content.count(b"commitment-card") == 4
    assert len(four) == len(one)


# --- The item page ----------------------------------------------------------------------------------------


def test_it_shows_the_items_commitments_with_their_state(client, secretariat_officer, egypt_focal_point):
    item = item_of("EG")
    ours, partners, dropped = agree(
        item,
        secretariat_officer,
        promise("Sign the protocol"),
        promise("Send two experts", owner="partner", organisation=unhcr()),
        promise("Old idea"),
    )
    commitments.drop(dropped, secretariat_officer, access_for(secretariat_officer), "Replaced by the protocol.")
    page = signed_in(client, egypt_focal_point).get(f"/items/{item.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="commitments"' in page
    assert "Sign the protocol" in page and "Send two experts" in page and "UNHCR" in page
    assert "Replaced by the protocol." in page
    assert done_url(ours) in page and done_url(partners) not in page and done_url(dropped) not in page


def test_it_runs_the_same_number_of_queries_on_the_item_page_whatever_the_commitments(
    client, secretariat_officer, egypt_focal_point
):
    item = item_of("EG")
    [first] = agree(item, secretariat_officer)
    signed_in(client, egypt_focal_point)
    commitments.mark_done(first, egypt_focal_point, access_for(egypt_focal_point), "Done.", files=[pdf()])
    with CaptureQueriesContext(connection) as one:
        client.get(f"/items/{item.pk}/")
    for done in agree(item, secretariat_officer, promise(), promise(), promise()):
        commitments.mark_done(done, egypt_focal_point, access_for(egypt_focal_point), "Done.", files=[pdf()])
    with CaptureQueriesContext(connection) as four:
        assert client.get(f"/items/{item.pk}/").content.count(b"commitment-card") == 4
    assert len(four) == len(one)


# --- Marking done -----------------------------------------------------------------------------------------


def test_it_lets_the_focal_point_mark_a_commitment_done_with_evidence(
    client, secretariat_officer, egypt_focal_point, egypt_alternate, jordan_focal_point
):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    form = signed_in(client, egypt_focal_point).get(done_url(commitment))
    assert form.status_code == 200 and b'enctype="multipart/form-data"' in form.content
    response = client.post(done_url(commitment), {"note": "The protocol was signed.", "evidence": [pdf("signed.pdf")]})
    assert response.status_code == 302 and response["Location"].endswith("#commitments")
    commitment.refresh_from_db()
    assert (commitment.state, commitment.done_note, commitment.done_by) == (
        "done",
        "The protocol was signed.",
        egypt_focal_point,
    )
    evidence = Evidence.objects.get(commitment=commitment)
    assert as_bytes(signed_in(client, egypt_alternate).get(f"/evidence/{evidence.pk}/")).startswith(b"%PDF")
    assert signed_in(client, jordan_focal_point).get(f"/evidence/{evidence.pk}/").status_code == 404
    page = signed_in(client, egypt_focal_point).get(f"/items/{commitment.implementation_id}/").content.decode()
    assert "signed.pdf" in page and "The protocol was signed." in page


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"note": "   "}, b"Say what was done."),
        ({"note": "Signed.", "evidence": [fake_pdf()]}, b"is not a PDF, image, Word or Excel file"),
        ({"note": "x" * 20_001}, b"at most 20000 characters"),
    ],
)
def test_it_refuses_a_bad_form_with_a_message_and_keeps_the_text(
    client, secretariat_officer, egypt_focal_point, data, field_error
):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    response = signed_in(client, egypt_focal_point).post(done_url(commitment), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert field_error in response.content.replace(b"20,000", b"20000")
    if data["note"].strip():
        assert data["note"][:50].encode() in response.content
    assert Commitment.objects.get().state == "open" and not Evidence.objects.exists()


def test_it_answers_404_for_another_states_commitment(client, secretariat_officer, jordan_focal_point):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    signed_in(client, jordan_focal_point)
    assert client.get(done_url(commitment)).status_code == 404
    assert client.post(done_url(commitment), {"note": "Done."}).status_code == 404
    assert client.get("/commitments/999999/done/").status_code == 404
    assert Commitment.objects.get().state == "open"


def test_it_answers_403_to_who_may_see_but_not_mark_done(client, secretariat_officer, egypt_focal_point, reviewer):
    ours, states = agree(item_of("EG"), secretariat_officer, promise(owner="secretariat"), promise())
    assert signed_in(client, egypt_focal_point).post(done_url(ours), {"note": "Done."}).status_code == 403
    assert signed_in(client, reviewer).post(done_url(states), {"note": "Done."}).status_code == 403
    assert set(Commitment.objects.values_list("state", flat=True)) == {"open"}


def test_it_sends_back_to_the_item_what_is_no_longer_open(
    client, secretariat_officer, egypt_focal_point, egypt_alternate
):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    signed_in(client, egypt_focal_point)
    stale_form = client.get(done_url(commitment))
    assert stale_form.status_code == 200
    commitments.mark_done(commitment, egypt_alternate, access_for(egypt_alternate), "Done by the alternate.")
    response = client.post(done_url(commitment), {"note": "My own words."}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert b"already marked done" in response.content and b"My own words." in response.content
    assert Commitment.objects.get().done_note == "Done by the alternate."
    again = client.get(done_url(commitment), HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 302 and again["Location"].endswith("#commitments")


def test_it_offers_the_earlier_note_and_the_reason_after_a_reopening(client, secretariat_officer, egypt_focal_point):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Draft signed.")
    commitments.reopen(commitment, secretariat_officer, access_for(secretariat_officer), "Only a draft so far.")
    page = signed_in(client, egypt_focal_point).get(done_url(commitment)).content.decode()
    assert "Draft signed." in page and "Only a draft so far." in page
    assert "Only a draft so far." in client.get("/").content.decode()


# --- On a phone, in Arabic --------------------------------------------------------------------------------


def overflow(page):
    """How far the page reaches past the screen's width (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def serious_accessibility_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        (v["id"], [n["html"][:200] for n in v["nodes"]])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_fits_a_phone_in_arabic_from_my_state_to_marking_done(
    chromium, live_server, secretariat_officer, egypt_focal_point, tmp_path
):
    long_text = "اعتماد ونشر الإجراءات التشغيلية الموحدة الوطنية لإحالة ضحايا الاتجار بالبشر إلى خدمات الحماية"
    [late] = agree(item_of("EG", "R4"), secretariat_officer, promise(long_text, days=1))
    Commitment.objects.filter(pk=late.pk).update(due_date=late.due_date - timedelta(days=10))  # ten days late
    agree(item_of("EG", "R1"), secretariat_officer, promise("تدريب موظفي الحدود على الإحالة", days=30))
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="ar")
    phone = context.new_page()
    try:
        context.add_cookies([{"name": "wrt_language", "value": "ar", "url": live_server.url}])
        sign_in(phone, live_server, "fp-egypt", PASSWORD)
        assert phone.locator("html").get_attribute("dir") == "rtl"
        cards = phone.locator(".commitment-card")
        assert cards.count() == 2 and "commitment-late" in cards.first.get_attribute("class")
        assert overflow(phone) == 0
        screenshot(phone, "commitments-my-state-ar")
        assert serious_accessibility_violations(phone) == []
        cards.first.locator("a.action-link").click()
        phone.wait_for_load_state()
        assert overflow(phone) == 0 and serious_accessibility_violations(phone) == []
        evidence = tmp_path / "محضر-الاعتماد.pdf"
        evidence.write_bytes(PDF_BYTES)
        phone.fill("#id_note", "اعتمدت اللجنة الوطنية الإجراءات ونشرتها في الجريدة الرسمية.")
        phone.set_input_files("#id_evidence", str(evidence))
        screenshot(phone, "commitment-done-form-ar")
        phone.locator("form.stacked button[type=submit]").click()
        phone.wait_for_load_state()
        assert "#commitments" in phone.url and overflow(phone) == 0
        phone.reload()  # without the flash message: base.html's role="status" on its <ul> is a known axe finding
        assert serious_accessibility_violations(phone) == []
        assert "محضر-الاعتماد.pdf" in phone.locator("#commitments").inner_text()
        screenshot(phone, "commitments-item-ar")
    finally:
        context.close()
    assert Commitment.objects.get(pk=late.pk).state == "done"


def test_it_refuses_a_nul_character_with_400_not_500(client, secretariat_officer, egypt_focal_point):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    signed_in(client, egypt_focal_point)
    with postgresql_refuses_nul():
        response = client.post(done_url(commitment), {"note": f"Signed{NUL}."})
    assert response.status_code == 400 and Commitment.objects.get().state == "open"


# --- Many open commitments: the home page shows the first ones, the commitments page has them all ------------


def many_promises(count, start_day=5):
    return [promise(f"Promise {n:03d}", days=start_day + n) for n in range(count)]


def test_it_shows_the_first_ten_commitments_on_the_home_page_and_links_to_all(
    client, secretariat_officer, egypt_focal_point
):
    agree(item_of("EG"), secretariat_officer, *many_promises(HOME_COMMITMENTS + 1))
    page = signed_in(client, egypt_focal_point).get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert page.count("commitment-card") == HOME_COMMITMENTS
    assert "Promise 000" in page and f"Promise {HOME_COMMITMENTS:03d}" not in page
    assert 'href="/commitments/"' in page and "All open commitments" in page


def test_it_links_to_all_commitments_only_when_more_follow(client, secretariat_officer, egypt_focal_point):
    agree(item_of("EG"), secretariat_officer, *many_promises(HOME_COMMITMENTS))
    page = signed_in(client, egypt_focal_point).get("/").content.decode()
    assert page.count("commitment-card") == HOME_COMMITMENTS and 'href="/commitments/"' not in page


def test_it_pages_every_open_commitment_of_the_state_earliest_due_first(client, secretariat_officer, egypt_focal_point):
    agree(item_of("EG"), secretariat_officer, *many_promises(PAGE_SIZE + 3))
    agree(item_of("JO"), secretariat_officer, promise("Jordan's own promise", days=1))
    signed_in(client, egypt_focal_point)
    first = client.get("/commitments/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    second = client.get("/commitments/?page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert first.count("commitment-card") == PAGE_SIZE and second.count("commitment-card") == 3
    assert first.index("Promise 000") < first.index("Promise 001") and "Promise 052" in second
    assert f"{PAGE_SIZE + 3} open commitments" in first and 'href="?page=2"' in first
    assert "Jordan's own promise" not in first + second


def test_it_pages_the_commitments_in_the_same_number_of_queries(client, secretariat_officer, egypt_focal_point):
    agree(item_of("EG"), secretariat_officer, promise())
    signed_in(client, egypt_focal_point).get("/commitments/")
    with CaptureQueriesContext(connection) as one:
        client.get("/commitments/")
    agree(item_of("EG", "R3"), secretariat_officer, *many_promises(PAGE_SIZE + 3))
    with CaptureQueriesContext(connection) as many:
        assert client.get("/commitments/").content.count(b"commitment-card") == PAGE_SIZE
    assert len(many) == len(one)


def test_it_shows_the_secretariat_a_chosen_states_commitments_and_refuses_no_state(
    client, secretariat_officer, reviewer
):
    agree(item_of("EG"), secretariat_officer, *many_promises(HOME_COMMITMENTS + 1))
    signed_in(client, reviewer)
    home = client.get("/?state=EG").content.decode()
    assert 'href="/commitments/?state=EG"' in home
    listing = client.get("/commitments/?state=EG")
    assert listing.status_code == 200 and listing.content.count(b"commitment-card") == HOME_COMMITMENTS + 1
    assert b"/done/" not in listing.content
    assert client.get("/commitments/").status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_pages_the_commitments_on_a_phone_in_arabic(chromium, live_server, secretariat_officer, egypt_focal_point):
    agree(item_of("EG"), secretariat_officer, *many_promises(PAGE_SIZE + 1))
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="ar")
    phone = context.new_page()
    try:
        context.add_cookies([{"name": "wrt_language", "value": "ar", "url": live_server.url}])
        sign_in(phone, live_server, "fp-egypt", PASSWORD)
        phone.locator("section.commitments a.action-link[href='/commitments/']").click()
        phone.wait_for_url("**/commitments/")
        assert phone.locator("html").get_attribute("dir") == "rtl"
        assert phone.locator(".commitment-card").count() == PAGE_SIZE
        phone.locator("nav.home-pager a[rel=next]").click()
        phone.wait_for_url("**/commitments/?page=2")
        assert phone.locator(".commitment-card").count() == 1
        assert overflow(phone) == 0 and serious_accessibility_violations(phone) == []
        screenshot(phone, "commitments-page-2-ar")
    finally:
        context.close()
