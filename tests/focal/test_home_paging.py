"""A focal point's "my state" page in pages of 50, filtered by theme, status and due state, due items first;
its summary counted by the database; its size and number of queries whatever the size of the state."""

import gzip
import random
import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import PASSWORD, designate
from tests.focal.test_translations import english_words
from tests.support.browser import screenshot, sign_in
from tracker.core.models import Body, Implementation, Meeting, MemberState, Recommendation, ReviewCycle, ThematicArea
from tracker.focal.dashboard import PAGE_SIZE, open_cycles

pytestmark = pytest.mark.django_db

CARD = 'class="item-card"'
IGNORED = "Some filters were not understood and were ignored."
# A recommendation as long as a real one written out in full, in both languages.
TEXT_EN = (
    "Strengthen national protection systems for refugees, asylum seekers and migrants in mixed movements, "
    "including access to territory, reception, documentation and referral of persons in need of protection."
)
TEXT_AR = (
    "تعزيز أنظمة الحماية الوطنية للاجئين وطالبي اللجوء والمهاجرين في التحركات المختلطة، بما في ذلك الوصول إلى "
    "الإقليم والاستقبال والتوثيق والإحالة للأشخاص المحتاجين إلى الحماية الدولية."
)


def workshop():
    return Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")


def varied(rng, text):
    """The words of `text` shuffled: as many different texts as items, so gzip finds no repeated paragraph."""
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def add_items(count, iso_code="EG", meeting=None, first=100, theme=None, shuffle=False, **fields):
    """`count` more recommendations applying to one state, with its items, in two bulk inserts (three with a
    theme). Positions and references follow from `first`, so the list order is known."""
    meeting = meeting or workshop()
    state = MemberState.objects.get(iso_code=iso_code)
    rng = random.Random(first)
    recommendations = Recommendation.objects.bulk_create(
        Recommendation(
            meeting=meeting,
            reference=f"S{first + n}",
            position=first + n,
            text_en=varied(rng, TEXT_EN) if shuffle else TEXT_EN,
            text_ar=varied(rng, TEXT_AR) if shuffle else TEXT_AR,
        )
        for n in range(count)
    )
    if theme is not None:
        Through = Recommendation.themes.through
        Through.objects.bulk_create(Through(recommendation=r, thematicarea=theme) for r in recommendations)
    return Implementation.objects.bulk_create(
        Implementation(recommendation=r, member_state=state, **fields) for r in recommendations
    )


def open_cycle(body, deadline_in_days, name="Cycle"):
    today = timezone.localdate()
    return ReviewCycle.objects.create(
        body=body,
        name_en=name,
        name_ar="الدورة",
        state="open",
        period_start=today - timedelta(days=100),
        period_end=today + timedelta(days=100),
        report_deadline=today + timedelta(days=deadline_in_days),
    )


def other_body(code, user):
    """A second framework the Egyptian focal point also follows, with one meeting."""
    body = Body.objects.create(code=code, acronym_en=code.upper(), name_en=code, name_ar=code)
    designate(user, "EG", body)
    return Meeting.objects.create(body=body, code=f"{code}-meeting", kind="workshop", title_en=code, title_ar=code)


def listed(content):
    """The references of the list's items (after the open commitments and clarifications, which come first)."""
    section = content.decode().split('id="state-items-title"', 1)[1]
    return re.findall(r'<span class="ref">([^<]+)</span>', section)


def home(client, query="", language="en"):
    return client.get(f"/{query}", HTTP_ACCEPT_LANGUAGE=language)


# --- pages ---------------------------------------------------------------------------------------------------


def test_it_shows_fifty_items_a_page_and_the_rest_on_the_next(client, egypt_focal_point):
    add_items(60)
    client.force_login(egypt_focal_point)
    first, second = home(client), home(client, "?page=2")
    assert first.content.count(CARD.encode()) == PAGE_SIZE
    assert second.content.count(CARD.encode()) == 67 - PAGE_SIZE
    assert not set(listed(first.content)) & set(listed(second.content))
    assert 'rel="next"' in first.content.decode() and 'rel="prev"' in second.content.decode()


def test_it_keeps_the_filters_in_the_page_links(client, egypt_focal_point):
    add_items(60, status="in_progress")
    client.force_login(egypt_focal_point)
    page = home(client, "?status=in_progress&due=none").content.decode()
    assert 'href="?status=in_progress&amp;due=none&amp;page=2"' in page
    second = home(client, "?status=in_progress&due=none&page=2").content.decode()
    assert 'href="?status=in_progress&amp;due=none&amp;page=1"' in second
    assert second.count(CARD) == 10


def test_it_keeps_the_state_the_secretariat_chose_in_the_page_links(client, secretariat_officer):
    add_items(60)
    client.force_login(secretariat_officer)
    page = home(client, "?state=EG").content.decode()
    assert 'href="?state=EG&amp;page=2"' in page
    assert '<input type="hidden" name="state" value="EG">' in page


def test_it_leaves_a_bad_filter_out_of_the_page_links(client, egypt_focal_point):
    add_items(60)
    client.force_login(egypt_focal_point)
    page = home(client, "?status=bogus&page=2").content.decode()
    links = re.findall(r'href="(\?[^"]*)"', page)
    assert "?page=1" in links
    assert not [link for link in links if "bogus" in link]


def test_it_answers_a_page_number_out_of_range_with_the_nearest_page(client, egypt_focal_point):
    add_items(60)
    client.force_login(egypt_focal_point)
    for bad in ("abc", "0", "-1", "9" * 5000, "%00", "2.5"):
        response = home(client, f"?page={bad}")
        assert response.status_code == 200, bad
        assert response.content.count(CARD.encode()) in {PAGE_SIZE, 17}, bad
    assert home(client, "?page=99").content.count(CARD.encode()) == 17  # the last page


# --- filters -------------------------------------------------------------------------------------------------


def test_it_filters_by_theme(client, egypt_focal_point):
    rescue = ThematicArea.objects.get(code="search-and-rescue")
    add_items(3, theme=rescue)
    client.force_login(egypt_focal_point)
    assert sorted(listed(home(client, "?theme=search-and-rescue").content)) == ["S100", "S101", "S102"]


def test_it_filters_by_status(client, egypt_focal_point):
    add_items(2, status="implemented", progress=100)
    client.force_login(egypt_focal_point)
    assert sorted(listed(home(client, "?status=implemented").content)) == ["S100", "S101"]
    assert len(listed(home(client, "?status=not_started").content)) == 7


def test_it_filters_by_due_state(client, egypt_focal_point, reference):
    cycle = open_cycle(reference, 60)
    add_items(2, last_report_cycle=cycle)
    add_items(1, first=200, awaiting_validation_since=timezone.now())
    client.force_login(egypt_focal_point)
    assert sorted(listed(home(client, "?due=reported").content)) == ["S100", "S101"]
    assert listed(home(client, "?due=awaiting_validation").content) == ["S200"]
    assert len(listed(home(client, "?due=due").content)) == 7
    assert len(listed(home(client, "?due=to_report").content)) == 7
    assert listed(home(client, "?due=overdue").content) == []


def test_it_combines_the_filters(client, egypt_focal_point, reference):
    cycle = open_cycle(reference, 60)
    add_items(2, status="in_progress", last_report_cycle=cycle)
    add_items(2, first=200, status="in_progress")
    client.force_login(egypt_focal_point)
    assert sorted(listed(home(client, "?status=in_progress&due=to_report").content)) == ["S200", "S201"]


def test_it_shows_the_filters_as_an_accessible_get_form(client, egypt_focal_point):
    client.force_login(egypt_focal_point)
    page = home(client, "?status=in_progress").content.decode()
    form = page.split('<form method="get" class="filters home-filters"', 1)[1].split("</form>", 1)[0]
    for name in ("theme", "status", "due"):
        assert f'<label for="id_{name}">' in form and f'name="{name}" id="id_{name}"' in form
    assert '<option value="in_progress" selected>' in form
    assert "Reset" in form  # a filter is on: the way back to every item


# --- bad filter values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["?status=bogus", "?due=later", "?due=%00", "?status=" + "x" * 5000, "?theme=nope&status=%00&due=x"],
)
def test_it_ignores_a_bad_filter_with_a_notice_and_the_fields_error(client, egypt_focal_point, query):
    client.force_login(egypt_focal_point)
    response = home(client, query)
    page = response.content.decode()
    assert response.status_code == 200
    assert IGNORED in page
    assert 'class="filter-field has-error"' in page and 'aria-invalid="true"' in page
    assert page.count(CARD) == 7  # the bad filter was dropped, not applied


def test_it_keeps_the_good_filters_next_to_a_bad_one(client, egypt_focal_point):
    add_items(2, status="implemented")
    client.force_login(egypt_focal_point)
    page = home(client, "?status=implemented&due=later").content
    assert IGNORED in page.decode()
    assert sorted(listed(page)) == ["S100", "S101"]


def test_it_translates_the_paged_and_filtered_page_with_its_errors(client, egypt_focal_point, reference):
    open_cycle(reference, 5)
    add_items(60)
    client.force_login(egypt_focal_point)
    page = home(client, "?page=2&due=123", language="ar").content.decode()
    assert "الصفحة التالية" not in page and "الصفحة السابقة" in page
    assert english_words(page) == set()


# --- order ---------------------------------------------------------------------------------------------------


def test_it_lists_what_the_cycle_still_expects_first(client, egypt_focal_point, reference):
    """Overdue, due soon, due (each a framework of its own, with its own cycle), then the rest."""
    cycle = open_cycle(reference, 60)  # AIMC: due
    overdue, soon = other_body("late", egypt_focal_point), other_body("soon", egypt_focal_point)
    open_cycle(overdue.body, -3)
    open_cycle(soon.body, 2)  # within the body's reminder days (14,3)
    add_items(1, first=500, last_report_cycle=cycle)
    add_items(1, first=400, awaiting_validation_since=timezone.now())
    add_items(1, first=300, status="implemented")
    add_items(1, first=600, meeting=soon)
    add_items(1, first=700, meeting=overdue)
    client.force_login(egypt_focal_point)
    order = listed(home(client).content)
    assert order == ["S700", "S600", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "S400", "S500", "S300"]


def test_it_orders_each_rank_by_the_recommendations_place_then_the_item(client, egypt_focal_point):
    add_items(3, first=10)  # positions 10-12, after the workshop's own 1-7
    Recommendation.objects.filter(reference="S10").update(position=0)
    client.force_login(egypt_focal_point)
    assert listed(home(client).content) == ["S10", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "S11", "S12"]


def test_it_counts_the_due_state_in_the_database_as_the_item_page_does(egypt_focal_point, reference):
    """The SQL of with_due_state() and Implementation.due_state() agree on every kind of item."""
    cycle = open_cycle(reference, 2)
    late = other_body("late", egypt_focal_point)
    open_cycle(late.body, -1)
    quiet = other_body("quiet", egypt_focal_point)  # no open cycle: nothing due
    add_items(1, first=100, last_report_cycle=cycle)
    add_items(1, first=200, awaiting_validation_since=timezone.now())
    add_items(1, first=300, status="not_applicable")
    add_items(2, first=400, meeting=late)
    add_items(1, first=500, meeting=late, status="implemented")
    add_items(1, first=600, meeting=quiet)
    cycles, today = open_cycles(), timezone.localdate()
    items = Implementation.objects.with_due_state(cycles.values(), today).select_related("recommendation__meeting")
    seen = {item.due_code for item in items}
    for item in items:
        assert item.due_code == item.due_state(cycles.get(item.recommendation.meeting.body_id), today), item
    assert {"reported", "awaiting_validation", "none", "overdue", "due_soon"} <= seen


# --- summary, queries, size ----------------------------------------------------------------------------------


def test_it_counts_the_summary_over_every_item_not_only_the_page(client, egypt_focal_point, reference):
    cycle = open_cycle(reference, 60)
    add_items(60, last_report_cycle=cycle)
    client.force_login(egypt_focal_point)
    page = home(client, "?page=2&status=implemented").content.decode()
    summary = page.split('class="home-summary"', 1)[1].split("</section>", 1)[0]
    numbers = dict(re.findall(r"<dt>([^<]+)</dt><dd>(?:<a [^>]+>)?(\d+)", summary))
    assert numbers["Recommendations followed up"] == "67"
    assert numbers["Reported in this cycle"] == "60"
    assert numbers["Reports still due"] == "7"
    assert 'href="?due=reported"' in summary


def test_it_runs_the_same_number_of_queries_for_10_or_60_items(client, egypt_focal_point, reference):
    open_cycle(reference, 5)
    client.force_login(egypt_focal_point)
    client.get("/")
    add_items(3)  # 10 items
    home(client)  # the summary kept per state is counted again once after a change (tests/core/test_memo.py)
    with CaptureQueriesContext(connection) as ten:
        assert home(client).content.count(CARD.encode()) == 10
    add_items(50, first=200)  # 60 items
    home(client)
    with CaptureQueriesContext(connection) as sixty:
        assert home(client).content.count(CARD.encode()) == PAGE_SIZE
    assert len(ten) == len(sixty)
    with CaptureQueriesContext(connection) as filtered:
        home(client, "?page=2&status=not_started&due=to_report")
    assert len(filtered) == len(ten) + 1  # filtered, the list is counted; unfiltered, the summary's total is its count


def test_it_keeps_the_first_page_of_5000_items_small(client, egypt_focal_point, reference):
    open_cycle(reference, 5)
    add_items(4993, shuffle=True)  # with the workshop's 7: 5,000 items, each with a text of its own
    client.force_login(egypt_focal_point)
    content = home(client, language="ar").content
    compressed = len(gzip.compress(content))
    print(f"first page of 5,000 items: {len(content)} bytes, {compressed} gzipped")
    assert content.count(CARD.encode()) == PAGE_SIZE
    assert compressed < 100_000
    assert "5000" in content.decode()  # the summary counts them all


# --- in a browser --------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_fits_the_filters_on_a_phone_in_arabic_with_no_serious_accessibility_violation(
    phone, live_server, egypt_focal_point, reference
):
    open_cycle(reference, 5)
    add_items(60)
    sign_in(phone, live_server, "fp-egypt", PASSWORD)
    phone.locator("form.language-switch button").click()
    phone.wait_for_load_state()
    phone.select_option("#id_due", "to_report")
    phone.locator("form.home-filters button[type=submit]").click()
    phone.wait_for_url("**/?*due=to_report*")
    assert phone.locator("html").get_attribute("dir") == "rtl"
    phone.locator("nav.home-pager a[rel=next]").click()
    phone.wait_for_url("**page=2*")
    assert phone.input_value("#id_due") == "to_report"  # the filter survived the page link
    form = phone.locator("form.home-filters")
    assert form.evaluate("f => f.scrollWidth <= f.clientWidth")
    assert phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    screenshot(phone, "my-state-page-2-ar")
    results = Axe().run(phone)
    serious = [v["id"] for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert serious == []
