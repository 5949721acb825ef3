"""Bad input on the review pages: filters in the address are ignored with a notice, outcome texts answer form
errors, and the "back" link never leads to another site."""

import re

import pytest
from django.core.cache import cache

from tests.support.bad_input import NUL, postgresql_refuses_nul
from tracker.core.models import Implementation, ReviewOutcome

pytestmark = pytest.mark.django_db

IGNORED = "Some filters were not understood and were ignored."


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def egypt_item(reference):
    return Implementation.objects.get(recommendation__reference="R1", member_state__iso_code="EG")


BAD_FILTERS = [
    "state=%00",
    "theme=%00",
    "body=%00",
    "cycle=%00",
    "meeting=%00",
    "status=%00",
    "reason=%00",
    "sort=%00",
    "view=%00",
    "page=%00",
    "state=E%00G",
    "theme=" + "9" * 5000,
    "state=99999999999999999999",
]


@pytest.mark.parametrize("page", ["", "export.csv", "export.xlsx", "report/"])
def test_it_ignores_a_bad_filter_value_in_every_review_page(client, reviewer, page):
    client.force_login(reviewer)
    for query in BAD_FILTERS:
        with postgresql_refuses_nul():
            response = client.get(f"/review/{page}?{query}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, query
        if page in ("", "report/"):
            assert IGNORED in response.content.decode(), query


@pytest.mark.parametrize("export", ["export.csv", "export.xlsx"])
def test_it_leaves_no_stale_notice_after_an_export_with_a_bad_filter(client, reviewer, export):
    client.force_login(reviewer)
    assert client.get(f"/review/{export}?state=%00").status_code == 200
    assert IGNORED not in client.get("/review/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_it_ignores_a_nul_in_the_language_of_an_export(client, reviewer):
    client.force_login(reviewer)
    with postgresql_refuses_nul():
        response = client.get("/review/export.csv?lang=%00")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("obstacle", f"a{NUL}b", "Null characters are not allowed."),
        ("solution", f"a{NUL}b", "Null characters are not allowed."),
        ("follow_up_by", f"a{NUL}b", "Null characters are not allowed."),
        ("obstacle", "x" * 20_001, "at most 20000 characters"),
        ("solution", "x" * 20_001, "at most 20000 characters"),
        ("follow_up_by", "x" * 256, "at most 255 characters"),
        ("follow_up_due", f"2027-01-01{NUL}", "Enter a valid date."),
        ("obstacle_category", NUL, "Select a valid choice."),
    ],
)
def test_it_answers_bad_outcome_input_with_a_form_error(client, secretariat_officer, egypt_item, field, value, message):
    client.force_login(secretariat_officer)
    data = {"obstacle_category": "legal", "obstacle": "Budget", **{field: value}}
    with postgresql_refuses_nul():
        response = client.post(f"/review/items/{egypt_item.pk}/outcome/", data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ReviewOutcome.objects.exists()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/",
        "javascript:alert(1)",
        "/\\evil.example",
        f"/review/{NUL}",
    ],
)
def test_it_links_back_only_to_a_page_of_this_site(client, reviewer, egypt_item, target):
    client.force_login(reviewer)
    response = client.get(f"/review/items/{egypt_item.pk}/outcome/", {"next": target})
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<a href="([^"]*)">Back to the review</a>', html).group(1) == "/review/"
    assert "evil.example" not in html.split("</header>")[1] and "javascript:" not in html


def test_it_links_back_to_the_filtered_review_it_came_from(client, reviewer, egypt_item):
    client.force_login(reviewer)
    response = client.get(f"/review/items/{egypt_item.pk}/outcome/", {"next": "/review/?state=1&view=table"})
    assert 'href="/review/?state=1&amp;view=table"' in response.content.decode()


def test_it_redirects_after_an_outcome_only_to_a_page_of_this_site(client, secretariat_officer, egypt_item):
    client.force_login(secretariat_officer)
    response = client.post(
        f"/review/items/{egypt_item.pk}/outcome/", {"obstacle_category": "legal", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/review/"
